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

/* A C1 control in UTF-8 ("\xc2\x80".."\xc2\x9f"): U+009B is a CSI to some terminals. */
static bool is_c1(const char *p) {
        return (unsigned char) p[0] == 0xc2 && (unsigned char) p[1] >= 0x80 && (unsigned char) p[1] <= 0x9f;
}

char *ecl_str_make_printable(char *s) {
        char *w = s;
        for (const char *p = s; *p; p++) {
                if (is_c1(p)) {
                        *w++ = '?';
                        p++;
                        continue;
                }
                *w++ = ecl_is_control((unsigned char) *p) ? '?' : *p;
        }
        *w = '\0';
        return s;
}

char *ecl_str_make_ascii(char *s) {
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
                        *p = '?';
        return s;
}

void ecl_fput_printable(FILE *f, const char *s) {
        for (; *s; s++) {
                if (is_c1(s)) {
                        fputc('?', f);
                        s++;
                        continue;
                }
                fputc(ecl_is_control((unsigned char) *s) ? '?' : *s, f);
        }
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
