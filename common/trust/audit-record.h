/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * One audit record = one line of audit.log, in this exact canonical form
 * (members in this order, no whitespace, see audit-json.h for strings and
 * numbers), followed by '\n':
 *
 *   {"seq":N,"time":"YYYY-MM-DDTHH:MM:SSZ","actor":A,"event":E,"subject":S,
 *    "details":{...},"prev":"<64 hex>","hash":"<64 hex>"}
 *
 *   seq      1 for the first record, then +1 per record
 *   time     UTC, whole seconds (RFC 3339)
 *   actor    1..ECL_AUDIT_ACTOR_MAX bytes of UTF-8, no control characters
 *   event    ^[a-z][a-z0-9._-]{0,63}$
 *   subject  0..ECL_AUDIT_SUBJECT_MAX bytes of UTF-8, no control characters
 *   details  a JSON object (canonical, at most ECL_AUDIT_DETAILS_MAX bytes)
 *   prev     the previous record's hash; 64 '0' for the first record
 *   hash     lowercase hex SHA-256 of the record without its "hash" member,
 *            i.e. of the line's bytes up to (not including) ',"hash":"'
 *            followed by a single '}'.
 *
 * Because the line is exactly what `jq -c` prints, an auditor recomputes a
 * record's hash with standard tools:
 *
 *   sed -n 5p audit.log | jq -cj 'del(.hash)' | sha256sum
 *
 * and checks it against `jq -r .hash` of the same line and `.prev` of the
 * next one.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "rfc3339.h"

#define ECL_AUDIT_HASH_LEN 64
#define ECL_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define ECL_AUDIT_ACTOR_MAX 256
#define ECL_AUDIT_EVENT_MAX 64
#define ECL_AUDIT_SUBJECT_MAX 1024
#define ECL_AUDIT_DETAILS_MAX (64 * 1024)
/* Longest line, '\n' included; every record that can be written fits. */
#define ECL_AUDIT_LINE_MAX (96 * 1024)
#define ECL_AUDIT_SEQ_MAX 9007199254740991ULL

struct ecl_audit_span {
        const char *s;
        size_t len;
};

/* A line checked in place (no allocation); spans point into the line. */
struct ecl_audit_line {
        uint64_t seq;
        struct ecl_audit_span time;    /* the timestamp, without quotes */
        struct ecl_audit_span actor;   /* JSON string, quotes included */
        struct ecl_audit_span event;   /* JSON string, quotes included */
        struct ecl_audit_span subject; /* JSON string, quotes included */
        struct ecl_audit_span details; /* JSON object text */
        const char *prev;              /* ECL_AUDIT_HASH_LEN hex digits */
        const char *hash;              /* ECL_AUDIT_HASH_LEN hex digits */
        size_t hashed_len;             /* bytes hashed before the closing '}' */
};

/*
 * Check that line[0..len) (without '\n') is a canonical record.  0, or
 * -EBADMSG with *why set to a static reason.  The hash is not checked here.
 */
int ecl_audit_line_scan(const char *line, size_t len, struct ecl_audit_line *ret, const char **why);

/* A decoded record, for display. */
struct ecl_audit_record {
        uint64_t seq;
        char time[ECL_RFC3339_LEN + 1];
        char *actor;
        char *event;
        char *subject;
        char *details; /* canonical JSON object text */
        char prev[ECL_AUDIT_HASH_LEN + 1];
        char hash[ECL_AUDIT_HASH_LEN + 1];
};
void ecl_audit_record_done(struct ecl_audit_record *rec);

/* ecl_audit_line_scan() and decode.  0, -EBADMSG (with *why) or -ENOMEM. */
int ecl_audit_record_parse(const char *line, size_t len, struct ecl_audit_record *ret, const char **why);

/* Reusable SHA-256 state for hashing many records. */
struct ecl_audit_hasher;
int ecl_audit_hasher_new(struct ecl_audit_hasher **ret);
void ecl_audit_hasher_free(struct ecl_audit_hasher *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_audit_hasher *, ecl_audit_hasher_free);

/* out = hex SHA-256 of line[0..hashed_len) + "}" (the rule above), NUL-terminated. */
int ecl_audit_hasher_line(struct ecl_audit_hasher *h, const char *line, size_t hashed_len,
                          char out[static ECL_AUDIT_HASH_LEN + 1]);

/*
 * Build the canonical line (with '\n') of the record that follows prev.
 * details may be NULL (an empty object) or a JSON object.  Untrusted strings
 * are checked: -EINVAL (bad actor/event/subject/details shape), -EILSEQ (bad
 * UTF-8 or NUL), -EDOM (non-integer or too large number), -E2BIG (too long,
 * too deep).  *ret_reason (if not NULL) names the field; nothing is printed.
 */
int ecl_audit_format_line(struct ecl_audit_hasher *h, uint64_t seq, const char *time,
                          const char prev[static ECL_AUDIT_HASH_LEN], const char *actor, const char *event,
                          const char *subject, const json_t *details, char **ret_line, size_t *ret_len,
                          char ret_hash[static ECL_AUDIT_HASH_LEN + 1], char **ret_reason);
