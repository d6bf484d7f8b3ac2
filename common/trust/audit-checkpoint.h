/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * An audit checkpoint names a prefix of the log by its length and the hash
 * of its last record.  Its text form is exactly
 *
 *   ecluse-audit-checkpoint v1\n
 *   records N\n
 *   head <64 hex digits>\n
 *
 * and is what officers sign:  ssh-keygen -Y sign -f KEY -n ecluse-audit FILE.
 * Because every record's hash covers the previous one, a log whose record N
 * still has that hash has the same first N records as when the checkpoint
 * was taken: nothing in that prefix was changed, removed, inserted or moved,
 * and the log was not cut below N records.  (The chain alone cannot show
 * that the *last* records were removed; a signed checkpoint can.)
 */
#include <stddef.h>
#include <stdint.h>

#include "audit-record.h"

#define ECL_AUDIT_CHECKPOINT_NAMESPACE "ecluse-audit"
#define ECL_AUDIT_CHECKPOINT_MAX 4096

struct ecl_audit_checkpoint {
        uint64_t records;
        char head[ECL_AUDIT_HASH_LEN + 1]; /* ECL_AUDIT_GENESIS when records is 0 */
};

/* The text form above, NUL-terminated.  0 or -ENOMEM. */
int ecl_audit_checkpoint_format(const struct ecl_audit_checkpoint *cp, char **ret);

/* Parse the exact text form.  0 or -EBADMSG (no message). */
int ecl_audit_checkpoint_parse(const char *text, size_t len, struct ecl_audit_checkpoint *ret);

/*
 * Read and parse a checkpoint file (O_NOFOLLOW, regular, at most
 * ECL_AUDIT_CHECKPOINT_MAX bytes); the exact bytes read are returned in
 * *ret_text and *ret_len if not NULL, for a signature check over the same data.
 * 0 or a negative errno and *ret_reason (if not NULL), a message naming path.
 */
int ecl_audit_checkpoint_load(const char *path, struct ecl_audit_checkpoint *ret, char **ret_text, size_t *ret_len,
                              char **ret_reason);
