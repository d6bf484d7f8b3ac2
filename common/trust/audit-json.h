/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The canonical JSON subset of the audit log.  A value is canonical when it
 * is exactly what `jq -c` prints for it, so that an auditor can recompute a
 * record's hash with jq and sha256sum:
 *
 *   - no whitespace outside strings; objects keep their member order and
 *     have no duplicate keys; members "k":v separated by ',';
 *   - strings are valid UTF-8 without NUL; '"' and '\' are written \" and
 *     \\; U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r; every
 *     other byte below 0x20 and 0x7f as \u00xx (lowercase hex); everything
 *     else, including non-ASCII, as raw UTF-8 (no other escape is canonical);
 *   - numbers are integers -?(0|[1-9][0-9]*) with |n| <= 2^53-1, no "-0",
 *     no fraction or exponent (jq would rewrite those);
 *   - true, false, null; nesting depth at most ECL_AUDIT_JSON_MAX_DEPTH,
 *     at most ECL_AUDIT_JSON_MAX_MEMBERS members/items per object/array.
 *
 * The writer turns a jansson value into that form (or refuses it); the
 * scanner accepts exactly that form and nothing else, without building a DOM.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define ECL_AUDIT_JSON_MAX_DEPTH 16
#define ECL_AUDIT_JSON_MAX_MEMBERS 256
#define ECL_AUDIT_JSON_INT_MAX 9007199254740991LL /* 2^53 - 1 */

/* 0 when s[0..len) is valid UTF-8 (shortest forms, no surrogates, no NUL), else -EILSEQ. */
int ecl_audit_json_check_utf8(const char *s, size_t len);

/* Write s[0..len) as a canonical JSON string.  -EILSEQ for invalid UTF-8 or NUL, -EIO on a write error. */
int ecl_audit_json_write_string(FILE *f, const char *s, size_t len);

/*
 * Write a jansson value canonically.  -EDOM for a real number or an integer
 * beyond 2^53-1, -EILSEQ for bad UTF-8, -E2BIG beyond the depth or member
 * limits, -EIO on a write error.
 */
int ecl_audit_json_write_value(FILE *f, const json_t *v);

struct ecl_audit_json_str {
        bool has_control; /* it contains an escaped control character (below 0x20 or 0x7f) */
        size_t decoded_len;
};

/*
 * Scan a canonical string starting at p (which must point at '"'), not
 * beyond end.  If out is not NULL it receives the decoded bytes (never more
 * than end - p) without a terminator.  Returns the position after the closing
 * quote, or NULL with *why set.
 */
const char *ecl_audit_json_scan_string(const char *p, const char *end, char *out,
                                       struct ecl_audit_json_str *info, const char **why);

/* Scan one canonical value at p; returns the position after it, or NULL with *why set. */
const char *ecl_audit_json_scan_value(const char *p, const char *end, const char **why);
