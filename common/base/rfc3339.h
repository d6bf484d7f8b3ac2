/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * RFC 3339 timestamps.  ecluse writes the UTC form with whole seconds,
 * "2026-11-23T18:56:05Z" (exactly ECL_RFC3339_LEN characters); it reads
 * any RFC 3339 date-time (fractional seconds are dropped, offsets applied).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ECL_RFC3339_LEN 20

/* out receives "YYYY-MM-DDTHH:MM:SSZ" and a NUL.  -ERANGE if t is not in years 0000-9999. */
int ecl_rfc3339_format(time_t t, char out[static ECL_RFC3339_LEN + 1]);

/* For messages: t as ecl_rfc3339_format() writes it, or "@SECONDS" when it
 * is outside years 0000-9999 (as OpenSSH's far-future valid-before). */
#define ECL_RFC3339_TEXT_MAX 24
const char *ecl_rfc3339_text(uint64_t t, char out[static ECL_RFC3339_TEXT_MAX]);

/* Parse s[0..len) strictly (no leading/trailing text); 0 or -EINVAL. */
int ecl_rfc3339_parse(const char *s, size_t len, time_t *ret);

/* True when s[0..len) is exactly the form ecl_rfc3339_format() writes, with a valid date. */
bool ecl_rfc3339_is_utc_seconds(const char *s, size_t len);
