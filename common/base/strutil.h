/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Small string helpers with no side effects: control characters and the
 * name tables of enums.
 *
 * A control character is a byte below 0x20 or 0x7f (DEL).  Text that ecluse
 * takes from outside (manifests, signatures, QEMU, the guest) is refused or
 * made printable with these, so that one line of output stays one line.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether byte c is a control character. */
static inline bool ecl_is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

/* Whether s[0..len) (NUL-terminated s when len is (size_t) -1) has one. */
bool ecl_str_has_control(const char *s, size_t len);

/*
 * Replace each control character of s, and each C1 control in UTF-8
 * (U+0080..U+009F, two bytes), by one '?', in place (s may get shorter);
 * returns s.
 */
char *ecl_str_make_printable(char *s);

/* Replace each byte outside printable ASCII (0x20..0x7e) by '?', in place; returns s. */
char *ecl_str_make_ascii(char *s);

/* Write s to f with each control character, C1 controls included, as '?'. */
void ecl_fput_printable(FILE *f, const char *s);

/*
 * Name tables of enums, `static const char *const names[] = {[A] = "a", ...}`:
 * the name of v, or NULL when v is outside the table or has no name.
 */
const char *ecl_enum_name(const char *const *names, size_t n, int v);
#define ECL_ENUM_NAME(names, v) ecl_enum_name((names), sizeof(names) / sizeof((names)[0]), (int) (v))

/* The value whose name is s, or -EINVAL. */
int ecl_enum_from_name(const char *const *names, size_t n, const char *s);
#define ECL_ENUM_FROM_NAME(names, s) ecl_enum_from_name((names), sizeof(names) / sizeof((names)[0]), (s))
