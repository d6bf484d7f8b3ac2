/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * SHA-256 of a file through a descriptor the caller already holds, so that
 * what is hashed is the file that is used (no path looked up again).  Shared
 * by the release staging (release.h), which hashes each staged copy read back
 * from its own descriptor, and whatever else must hash a file it has open.
 */
#include <stdint.h>

#define AGENT_SHA256_LEN 32
#define AGENT_SHA256_HEX_LEN 64
#define AGENT_SHA256_BLOCK (1024 * 1024) /* bytes read at a time */

/*
 * Hash the whole file fd refers to, from offset 0 to its end (pread, so the
 * file offset is neither used nor moved; fd must be readable and seekable),
 * in blocks of AGENT_SHA256_BLOCK.  *ret_size (may be NULL) = the bytes
 * hashed.  0, or a negative errno with *ret_reason ("cannot read: ...",
 * "out of memory"; the caller names the file).
 */
int agent_sha256_fd(int fd, uint8_t out[AGENT_SHA256_LEN], uint64_t *ret_size, char **ret_reason);

/* The digest as AGENT_SHA256_HEX_LEN lowercase hex digits and a NUL. */
void agent_sha256_hex(const uint8_t digest[AGENT_SHA256_LEN], char out[AGENT_SHA256_HEX_LEN + 1]);
