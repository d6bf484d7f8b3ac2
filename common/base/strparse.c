/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "strparse.h"

/* Leading decimal digits of s into *ret (no leading zeros); returns how many were read, 0 if none. */
static size_t parse_digits(const char *s, uint64_t *ret, bool *overflow) {
        size_t n = 0;
        uint64_t v = 0;
        *overflow = false;
        while (s[n] >= '0' && s[n] <= '9') {
                unsigned d = (unsigned) (s[n] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        *overflow = true;
                else
                        v = v * 10 + d;
                n++;
        }
        if (n > 1 && s[0] == '0')
                return 0; /* leading zero: not strictly decimal */
        *ret = v;
        return n;
}

/* The optionally negative decimal at s: its digits' end, or NULL when there are none. */
static const char *parse_signed(const char *s, bool *neg, uint64_t *v, bool *overflow) {
        *neg = *s == '-';
        const char *p = s + *neg;
        size_t n = parse_digits(p, v, overflow);
        return n == 0 ? NULL : p + n;
}

static int int_in_range(bool neg, uint64_t v, bool overflow, int64_t min, int64_t max, int64_t *ret) {
        if (overflow || v > (uint64_t) INT64_MAX)
                return -ERANGE;
        int64_t x = neg ? -(int64_t) v : (int64_t) v;
        if (x < min || x > max)
                return -ERANGE;
        *ret = x;
        return 0;
}

int ecl_parse_int_prefix(const char *s, int64_t min, int64_t max, int64_t *ret, const char **ret_end) {
        bool neg, overflow;
        uint64_t v;
        const char *end = parse_signed(s, &neg, &v, &overflow);
        if (!end)
                return -EINVAL;
        int r = int_in_range(neg, v, overflow, min, max, ret);
        if (r == 0 && ret_end)
                *ret_end = end;
        return r;
}

int ecl_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret) {
        bool neg, overflow;
        uint64_t v;
        const char *end = parse_signed(s, &neg, &v, &overflow);
        if (!end || *end != '\0')
                return -EINVAL;
        return int_in_range(neg, v, overflow, min, max, ret);
}

static int hex_digit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int ecl_parse_hex_prefix(const char *s, uint64_t *ret, const char **ret_end) {
        uint64_t v = 0;
        size_t n = 0;
        for (int d; (d = hex_digit(s[n])) >= 0; n++)
                v = v << 4 | (uint64_t) d;
        if (n == 0)
                return -EINVAL;
        if (n > 16)
                return -ERANGE;
        *ret = v;
        if (ret_end)
                *ret_end = s + n;
        return 0;
}

int ecl_parse_size_mib(const char *s, uint64_t *ret) {
        bool overflow;
        uint64_t v;
        size_t n = parse_digits(s, &v, &overflow);
        if (n == 0)
                return -EINVAL;
        uint64_t mult;
        if (strcmp(s + n, "MiB") == 0)
                mult = 1;
        else if (strcmp(s + n, "GiB") == 0)
                mult = 1024;
        else
                return -EINVAL;
        if (overflow || v > UINT64_MAX / mult)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

int ecl_parse_duration(const char *s, uint64_t max_s, uint64_t *ret) {
        static const struct {
                char unit;
                uint64_t seconds;
        } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
        size_t next = 0; /* index of the smallest unit still allowed */
        uint64_t total = 0;
        bool range = false;
        if (!*s)
                return -EINVAL;
        while (*s) {
                bool overflow;
                uint64_t v;
                size_t n = parse_digits(s, &v, &overflow);
                if (n == 0)
                        return -EINVAL;
                s += n;
                size_t u = next;
                while (u < sizeof units / sizeof units[0] && units[u].unit != *s)
                        u++;
                if (u == sizeof units / sizeof units[0])
                        return -EINVAL; /* missing, unknown or out-of-order unit */
                s++;
                next = u + 1;
                if (overflow || v > max_s / units[u].seconds)
                        range = true;
                else
                        total += v * units[u].seconds;
                if (total > max_s)
                        range = true;
        }
        if (range || total == 0)
                return -ERANGE;
        *ret = total;
        return 0;
}

char *ecl_format_duration(uint64_t seconds, char *buf, unsigned size) {
        static const struct {
                char unit;
                uint64_t seconds;
        } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
        size_t off = 0;
        if (seconds == 0)
                return snprintf(buf, size, "0s") < (int) size ? buf : NULL;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
                uint64_t v = seconds / units[i].seconds;
                if (v == 0)
                        continue;
                seconds %= units[i].seconds;
                int r = snprintf(buf + off, size - off, "%llu%c", (unsigned long long) v, units[i].unit);
                if (r < 0 || (size_t) r >= size - off)
                        return NULL;
                off += (size_t) r;
        }
        return buf;
}
