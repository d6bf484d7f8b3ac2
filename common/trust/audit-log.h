/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The audit log file: append-only, one record per line (audit-record.h),
 * each chained to the one before.
 *
 * Appending opens the file O_APPEND|O_NOFOLLOW, takes flock(LOCK_EX), reads
 * only the tail to learn the last seq and hash (and re-checks that record's
 * hash), writes the new line with one write(), fsyncs, sends the line to
 * syslog (LOG_AUTHPRIV|LOG_NOTICE) and unlocks.  Writers in any number of
 * processes therefore never interleave or lose records.
 *
 * A crash during write() can leave a last line without its '\n' (a "torn
 * tail").  That is not tampering: the next append truncates it under the
 * lock and first records the recovery itself (event "audit.recovered",
 * details {"truncated_bytes", "offset", "sha256"} of the removed bytes).
 * A last line that is a whole record chaining onto the one before, only its
 * '\n' missing, is no torn tail: the next append completes it (appends the
 * '\n') and chains onto it.  Either repair is handed back to the caller
 * (struct ecl_audit_repair) to print or send on; nothing here prints.
 * Verification reports an unterminated last line as torn without failing.  A complete line that
 * is wrong, anywhere, is tampering and fails verification at that record.
 *
 * What the chain proves: changing, removing, inserting or moving any record
 * but the last breaks it at that record or the next one.  Removing the last
 * records (or rewriting the whole chain) does not; a checkpoint signed by
 * officers (audit-checkpoint.h) does.
 */
#include <jansson.h>
#include <stdint.h>

#include "audit-checkpoint.h"
#include "audit-record.h"

/* Actor of the records the log writes about itself. */
#define ECL_AUDIT_SELF_ACTOR "ecluse"

/* What an append repaired in the tail of the log before it wrote its record. */
enum ecl_audit_repair_kind {
        ECL_AUDIT_REPAIR_NONE,
        ECL_AUDIT_REPAIR_CUT,       /* a torn last line was removed; record seq "audit.recovered" says so */
        ECL_AUDIT_REPAIR_COMPLETED, /* the whole last record, seq, lacked its '\n', which was added */
};
struct ecl_audit_repair {
        enum ecl_audit_repair_kind kind;
        uint64_t offset; /* where the last line started */
        uint64_t bytes;  /* its length */
        uint64_t seq;    /* CUT: the audit.recovered record (0 if it could not be written); COMPLETED: that record */
        char text[160];  /* what happened, one line without the path ("" for NONE) */
};

/*
 * Append one record to the log at path (created 0640 if missing; its
 * directory must exist).  details: a JSON object or NULL (see
 * ecl_audit_format_line() for what is refused).  On success *ret (if not
 * NULL) holds the record as written; free it with ecl_audit_record_done().
 * *ret_repair (if not NULL) says what was repaired, also when the append
 * then fails.  Returns 0 or a negative errno, *ret_reason (if not NULL) a
 * whole message naming path; nothing is printed.  Refused input (-EINVAL,
 * -EILSEQ, -EDOM, -E2BIG) leaves the file untouched, not even created;
 * -EBADMSG when the last complete record in the file is not intact (then
 * nothing is changed either, a torn tail included).
 */
int ecl_audit_append(const char *path, const char *actor, const char *event, const char *subject, const json_t *details,
                     struct ecl_audit_record *ret, struct ecl_audit_repair *ret_repair, char **ret_reason);

/*
 * Open the log for reading: O_NOFOLLOW, regular file; *ret_size is the size
 * taken under a brief shared lock, so that it ends at a record boundary or a
 * torn tail and never inside a concurrent append.  0 or a negative errno
 * and *ret_reason (if not NULL), a message naming path.
 */
int ecl_audit_open_read(const char *path, int *ret_fd, uint64_t *ret_size, char **ret_reason);

/*
 * Call cb for each complete line (without '\n') of fd in [0, size), reading
 * sequentially in large blocks.  A line longer than ECL_AUDIT_LINE_MAX is
 * passed cut to ECL_AUDIT_LINE_MAX bytes (so it fails ecl_audit_line_scan()).
 * Stops when cb returns non-zero and returns that value.  *ret_torn
 * receives the size of an unterminated last line (0 if none).
 */
typedef int (*ecl_audit_line_cb)(const char *line, size_t len, uint64_t lineno, uint64_t offset, void *userdata);
int ecl_audit_foreach_line(int fd, uint64_t size, ecl_audit_line_cb cb, void *userdata, uint64_t *ret_torn);

struct ecl_audit_verify {
        uint64_t records;                  /* intact records */
        char head[ECL_AUDIT_HASH_LEN + 1]; /* hash of the last intact record, ECL_AUDIT_GENESIS if none */
        uint64_t size;                     /* bytes examined */
        uint64_t torn_bytes;               /* unterminated last line (a crash artifact), 0 if none */
        bool checkpoint_ok;                /* a checkpoint was given and matched */
        /* When the chain is broken (-EBADMSG with bad_record != 0): */
        uint64_t bad_record;               /* 1-based record (= line) number, 0 if none */
        uint64_t bad_offset;               /* byte offset of that line */
        char reason[256];                  /* the chain: what is wrong, without the record number;
                                              any other failure: the whole message */
};

/*
 * Walk the whole chain in one pass.  If cp is not NULL, record cp->records
 * must exist and have hash cp->head.  Returns 0, or -EBADMSG with
 * ret->reason and ret->bad_record when the chain is broken, or another
 * failure with ret->reason and bad_record 0 (ecl_audit_verify() returns
 * -EBADMSG so when path is not a regular file).  Nothing is printed.
 */
int ecl_audit_verify_fd(int fd, uint64_t size, const struct ecl_audit_checkpoint *cp, struct ecl_audit_verify *ret);
int ecl_audit_verify(const char *path, const struct ecl_audit_checkpoint *cp, struct ecl_audit_verify *ret);
