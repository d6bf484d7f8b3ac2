/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * OpenSSH allowed_signers files (ssh-keygen(1), "ALLOWED SIGNERS"):
 *
 *         principals [options] keytype base64-key [comment]
 *
 * principals is a comma-separated pattern list (may be quoted); options are
 * comma-separated: namespaces="pattern-list", valid-after="TIME",
 * valid-before="TIME" (TIME is YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS,
 * local time, or UTC with a "Z" or "UTC" suffix, as ssh-keygen).  Option
 * names are case-insensitive.  "#" comments and blank lines are skipped.
 *
 * Unlike ssh-keygen, which skips lines it cannot use, the whole file is
 * refused when any line is malformed, and every problem is reported as
 * FILE:LINE:COL.  cert-authority lines are refused: ecluse does not
 * implement OpenSSH certificates.
 *
 * Matching follows sshsig.c: the first line whose key equals the signing key,
 * whose principals match the requested principal, whose namespaces (if any)
 * match the signature's namespace and whose validity interval contains the
 * verification time wins.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "macro.h"
#include "sshkey.h"

/* Size limit for a signers file. */
#define ECL_ALLOWED_SIGNERS_MAX_SIZE (1024 * 1024)

struct ecl_allowed_signer {
        char *principals;  /* pattern list as written (quotes removed) */
        struct ecl_sshkey *key;
        char *namespaces;  /* pattern list, NULL when any namespace is allowed */
        uint64_t valid_after;  /* seconds since the epoch; 0 when not set */
        uint64_t valid_before; /* 0 when not set */
        unsigned line;
};

struct ecl_allowed_signers {
        char *file; /* name used in reasons and diagnostics */
        struct ecl_allowed_signer *items;
        size_t n;
};

/*
 * Parse text (len bytes) read from file (a name for messages, may be NULL).
 * Every problem is added to diags; returns 0, -EBADMSG when there was any,
 * or -ENOMEM.
 */
int ecl_allowed_signers_parse(const char *text, size_t len, const char *file,
                              struct ecl_allowed_signers **ret, struct ecl_diags *diags);
/* Open path (O_NOFOLLOW, regular file, at most ECL_ALLOWED_SIGNERS_MAX_SIZE,
 * read through one descriptor) and parse it.  Open/read failures (-ENOENT,
 * -ELOOP, -EFBIG...) are logged; syntax problems go to diags (-EBADMSG). */
int ecl_allowed_signers_load(const char *path, struct ecl_allowed_signers **ret, struct ecl_diags *diags);
void ecl_allowed_signers_free(struct ecl_allowed_signers *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_allowed_signers *, ecl_allowed_signers_free);

/*
 * Find the line that allows key to sign in namespace at time now (seconds
 * since the epoch), for principal (NULL: any principal of the line).
 * Returns 0 and *ret, or a refusal with reason:
 *   -ENOKEY       the key is not listed (for that principal)
 *   -EKEYREJECTED the key is listed but not for this namespace
 *   -EKEYEXPIRED  the key is listed but not valid at now (not yet, or expired)
 */
int ecl_allowed_signers_find(const struct ecl_allowed_signers *s, const struct ecl_sshkey *key,
                             const char *principal, const char *namespace, uint64_t now,
                             const struct ecl_allowed_signer **ret, char **ret_reason);

/* OpenSSH's match_pattern(): '*' and '?' wildcards, whole-string match. */
bool ecl_allowed_signers_match_pattern(const char *s, const char *pattern);
/* OpenSSH's match_pattern_list(): comma-separated patterns, '!' negates.
 * 1 when a positive pattern matches and no negated one does, -1 when a
 * negated pattern matches, 0 otherwise. */
int ecl_allowed_signers_match_list(const char *s, const char *list);
/* Parse a valid-after/valid-before value as ssh-keygen does; -EINVAL if bad. */
int ecl_allowed_signers_parse_time(const char *s, uint64_t *ret);
