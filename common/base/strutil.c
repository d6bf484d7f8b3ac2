/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "strutil.h"

bool ecl_str_has_control(const char *s, size_t len) {
        if (len == (size_t) -1)
                len = strlen(s);
        for (size_t i = 0; i < len; i++)
                if (ecl_is_control((unsigned char) s[i]))
                        return true;
        return false;
}

char *ecl_str_make_printable(char *s) {
        for (char *p = s; *p; p++)
                if (ecl_is_control((unsigned char) *p))
                        *p = '?';
        return s;
}

char *ecl_str_make_ascii(char *s) {
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
                        *p = '?';
        return s;
}

void ecl_fput_printable(FILE *f, const char *s) {
        for (; *s; s++)
                fputc(ecl_is_control((unsigned char) *s) ? '?' : *s, f);
}

const char *ecl_enum_name(const char *const *names, size_t n, int v) {
        if (v < 0 || (size_t) v >= n)
                return NULL;
        return names[v];
}

int ecl_enum_from_name(const char *const *names, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}
