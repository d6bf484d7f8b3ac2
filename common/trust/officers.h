/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The officers file (/etc/ecluse/officers): an allowed_signers file
 * (allowed-signers.h) whose lines are grouped into officers, the persons a
 * quorum counts (quorum.h).
 *
 * An officer is not a line of the file.  Two lines belong to the same
 * officer when they share a principal (`alice` on one line and
 * `alice,alice@corp` on another) or a key (the same public key, by
 * ecl_sshkey_equal(), listed under two names); the relation is transitive
 * (union-find), so an officer is a connected group of lines.  Two distinct
 * officers therefore never share a principal nor a key, and counting
 * approvals once per officer counts them once by principal and once by key.
 *
 * Since a principal must name one person, pattern characters ('*', '?',
 * '!' anywhere in a principal) and empty principals ("alice,,bob", a
 * trailing ',') are refused: each one is a diagnostic FILE:LINE:COL (the
 * column of the principal in the line as written) and the whole file is
 * refused (-EBADMSG), as for any other malformed line.  Everything else of
 * a line (namespaces=, valid-after=, valid-before=) is kept and applies
 * when an approval is verified against signers.
 *
 * Each officer has an index (0 .. n_officers-1, in the order of its first
 * line in the file) and a display name: the lexicographically first
 * (strcmp) of its principals, for messages and audit records.
 */
#include <stddef.h>

#include "allowed-signers.h"
#include "diag.h"
#include "macro.h"
#include "sshkey.h"

struct ecl_officers {
        struct ecl_allowed_signers *signers; /* the file, to verify approvals against */
        size_t *officer_of_line;             /* officer index of signers->items[i] */
        char **names;                        /* display name of each officer */
        size_t n_officers;
};

/*
 * Parse text (len bytes) from file (a name for messages, may be NULL) as
 * ecl_allowed_signers_parse() does, then check the principals and group the
 * lines.  Every problem goes to diags; returns 0, -EBADMSG or -ENOMEM.
 */
int ecl_officers_parse(const char *text, size_t len, const char *file, struct ecl_officers **ret,
                       struct ecl_diags *diags);
/* Read path as ecl_allowed_signers_load() does (O_NOFOLLOW, regular file, at
 * most ECL_ALLOWED_SIGNERS_MAX_SIZE, one descriptor) and parse it; open and
 * read failures are a diagnostic at line 0 and their negative errno. */
int ecl_officers_load(const char *path, struct ecl_officers **ret, struct ecl_diags *diags);
void ecl_officers_free(struct ecl_officers *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_officers *, ecl_officers_free);

/* The officer whose line lists key (on any line, whatever its namespaces
 * or validity): its index, or -ENOKEY when no line has that key. */
int ecl_officers_of_key(const struct ecl_officers *o, const struct ecl_sshkey *key, size_t *ret);
