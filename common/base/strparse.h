/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Strict parsers for the textual values of configuration files: decimal
 * integers (no sign games, no hex, no leading zeros), sizes with a binary
 * unit, durations.  Each returns 0, or -EINVAL when the text is malformed
 * and -ERANGE when it is well formed but out of range.
 */
#include <stdint.h>

/* "0" or [1-9][0-9]*, optionally preceded by '-'; value within [min, max]. */
int ecl_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret);

/*
 * The same number at the start of s, for a field inside a line: *ret_end
 * (when not NULL) points after its digits and the caller judges what follows.
 */
int ecl_parse_int_prefix(const char *s, int64_t min, int64_t max, int64_t *ret, const char **ret_end);

/* 1 to 16 hex digits (no "0x", no sign) at the start of s; *ret_end as above. */
int ecl_parse_hex_prefix(const char *s, uint64_t *ret, const char **ret_end);

/* "512MiB", "2GiB": a decimal integer and a unit (MiB or GiB), in MiB. */
int ecl_parse_size_mib(const char *s, uint64_t *ret);

/*
 * "4h", "30m", "1h30m", "2d", "90s": components d, h, m, s in that order,
 * each at most once, in seconds.  -ERANGE beyond max_s or for zero.
 */
int ecl_parse_duration(const char *s, uint64_t max_s, uint64_t *ret);

/* "1h30m", "7d", "0s": the shortest such text for a duration. */
#define ECL_DURATION_STRLEN 32
char *ecl_format_duration(uint64_t seconds, char *buf, unsigned size);
