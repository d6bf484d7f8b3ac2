/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * High-water marks of security-key signature counters, so that a replayed
 * signature, or one from a cloned token, is refused.
 *
 * The store is a directory (created 0700 if missing) holding one small file
 * per key, named after the key's SHA256 fingerprint ("SHA256:abc/+..." is
 * stored as "sha256-abc_-..."), containing the highest counter accepted so
 * far as a decimal line.  An update takes an exclusive lock on the directory
 * (flock), reads the mark, writes a temporary file, fsyncs it, renames it over
 * the old one and fsyncs the directory: a crash leaves the old or the new
 * mark, and concurrent verifiers cannot both accept the same counter.
 *
 * Rule (as WebAuthn's signCount): a counter is accepted when it is strictly
 * greater than the mark, or when both are 0 (a token without a counter; such
 * tokens cannot be protected against replay).  A key never seen before
 * accepts any counter.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Accept counter for the key with fingerprint (ssh-keygen form "SHA256:...")
 * and raise the mark to it.  Returns 0, -EKEYREVOKED (with reason) when
 * counter is not above the mark, -EINVAL for a malformed fingerprint, or
 * another negative errno on I/O failure (with reason).  *previous (if not
 * NULL) receives the former mark, 0 when none.
 */
int ecl_sk_counter_advance(const char *dir, const char *fingerprint, uint32_t counter, uint32_t *previous,
                           char **ret_reason);
/* Read the mark without changing it; *found false when the key has none. */
int ecl_sk_counter_get(const char *dir, const char *fingerprint, uint32_t *mark, bool *found);
