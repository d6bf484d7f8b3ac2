/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"

int ecl_rfc3339_format(time_t t, char out[static ECL_RFC3339_LEN + 1]) {
        struct tm tm;
        if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
                return -ERANGE;
        if (strftime(out, ECL_RFC3339_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != ECL_RFC3339_LEN)
                return -ERANGE;
        return 0;
}

const char *ecl_rfc3339_text(uint64_t t, char out[static ECL_RFC3339_TEXT_MAX]) {
        if (t > (uint64_t) INT64_MAX || ecl_rfc3339_format((time_t) t, out) < 0)
                snprintf(out, ECL_RFC3339_TEXT_MAX, "@%llu", (unsigned long long) t);
        return out;
}

static bool digits(const char *s, size_t n, int *ret) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

static int days_in_month(int year, int month) {
        static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return month == 2 && leap ? 29 : d[month - 1];
}

/* "YYYY-MM-DDTHH:MM:SS" (19 characters) into tm; false if malformed or out of range. */
static bool parse_base(const char *s, struct tm *tm) {
        int Y, M, D, h, m, sec;
        if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
            !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
            s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
                return false;
        if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 59)
                return false;
        *tm = (struct tm){.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                          .tm_hour = h, .tm_min = m, .tm_sec = sec};
        return true;
}

int ecl_rfc3339_parse(const char *s, size_t len, time_t *ret) {
        struct tm tm;
        if (len < ECL_RFC3339_LEN || !parse_base(s, &tm))
                return -EINVAL;
        size_t i = 19;
        if (s[i] == '.') {
                i++;
                size_t start = i;
                while (i < len && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == start)
                        return -EINVAL;
        }
        long offset = 0;
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
                i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
                int oh, om;
                if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
                    !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
                        return -EINVAL;
                offset = (oh * 60L + om) * 60L * (s[i] == '+' ? 1 : -1);
                i += 6;
        } else
                return -EINVAL;
        if (i != len)
                return -EINVAL;
        time_t t = timegm(&tm);
        *ret = t - offset;
        return 0;
}

bool ecl_rfc3339_is_utc_seconds(const char *s, size_t len) {
        struct tm tm;
        return len == ECL_RFC3339_LEN && s[10] == 'T' && s[19] == 'Z' && parse_base(s, &tm);
}
