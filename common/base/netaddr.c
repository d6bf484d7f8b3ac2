/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "strparse.h"

int ecl_ip_parse(const char *s, struct ecl_cidr *ret) {
        struct ecl_cidr c = {0};
        if (strchr(s, ':')) {
                if (inet_pton(AF_INET6, s, c.addr) != 1)
                        return -EINVAL;
                c.family = AF_INET6;
                c.prefix = 128;
        } else {
                /* glibc's inet_pton takes only dotted quads, without leading zeros. */
                if (inet_pton(AF_INET, s, c.addr) != 1)
                        return -EINVAL;
                c.family = AF_INET;
                c.prefix = 32;
        }
        *ret = c;
        return 0;
}

void ecl_cidr_mask(struct ecl_cidr *c) {
        unsigned bytes = c->family == AF_INET ? 4 : 16;
        for (unsigned i = 0; i < bytes; i++) {
                unsigned bit = i * 8;
                if (bit >= c->prefix)
                        c->addr[i] = 0;
                else if (bit + 8 > c->prefix)
                        c->addr[i] &= (uint8_t) (0xff << (8 - (c->prefix - bit)));
        }
        memset(c->addr + bytes, 0, sizeof c->addr - bytes);
}

bool ecl_cidr_equal(const struct ecl_cidr *a, const struct ecl_cidr *b) {
        return a->family == b->family && a->prefix == b->prefix && memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

int ecl_cidr_parse(const char *s, struct ecl_cidr *ret) {
        const char *slash = strchr(s, '/');
        if (!slash)
                return ecl_ip_parse(s, ret);
        size_t alen = (size_t) (slash - s);
        char addr[INET6_ADDRSTRLEN];
        if (alen == 0 || alen >= sizeof addr)
                return -EINVAL;
        memcpy(addr, s, alen);
        addr[alen] = '\0';
        struct ecl_cidr c;
        int r = ecl_ip_parse(addr, &c);
        if (r < 0)
                return r;
        int64_t prefix;
        r = ecl_parse_int(slash + 1, 0, 128, &prefix);
        if (r == -EINVAL || slash[1] == '-')
                return -EINVAL;
        if (r < 0 || prefix > (c.family == AF_INET ? 32 : 128))
                return -ERANGE;
        c.prefix = (uint8_t) prefix;
        struct ecl_cidr masked = c;
        ecl_cidr_mask(&masked);
        *ret = masked;
        if (memcmp(masked.addr, c.addr, sizeof c.addr) != 0)
                return -EADDRNOTAVAIL;
        return 0;
}

int ecl_port_parse_number(int64_t n, struct ecl_port_range *ret) {
        if (n < ECL_PORT_MIN || n > ECL_PORT_MAX)
                return -ERANGE;
        *ret = (struct ecl_port_range){(uint16_t) n, (uint16_t) n};
        return 0;
}

static int port_text(const char *s, size_t len, int64_t *ret) {
        char buf[16];
        if (len == 0 || len >= sizeof buf)
                return len == 0 ? -EINVAL : (strspn(s, "0123456789") >= len ? -ERANGE : -EINVAL);
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (buf[0] == '-')
                return -EINVAL;
        int r = ecl_parse_int(buf, 0, INT64_MAX, ret);
        if (r == -ERANGE)
                *ret = INT64_MAX;
        return r == -EINVAL ? r : 0;
}

int ecl_port_range_parse(const char *s, struct ecl_port_range *ret) {
        const char *dash = strchr(s, '-');
        int64_t a, b;
        int r = port_text(s, dash ? (size_t) (dash - s) : strlen(s), &a);
        if (r < 0)
                return r;
        if (dash) {
                r = port_text(dash + 1, strlen(dash + 1), &b);
                if (r < 0)
                        return r;
        } else
                b = a;
        if (a < ECL_PORT_MIN || a > ECL_PORT_MAX || b < ECL_PORT_MIN || b > ECL_PORT_MAX)
                return -ERANGE;
        if (a > b)
                return -EDOM;
        *ret = (struct ecl_port_range){(uint16_t) a, (uint16_t) b};
        return 0;
}

bool ecl_port_ranges_overlap(const struct ecl_port_range *a, const struct ecl_port_range *b) {
        return a->first <= b->last && b->first <= a->last;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int ecl_mac_parse(const char *s, uint8_t mac[static 6]) {
        uint8_t m[6];
        if (strlen(s) != 17)
                return -EINVAL;
        for (unsigned i = 0; i < 6; i++) {
                int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
                if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
                        return -EINVAL;
                m[i] = (uint8_t) (hi << 4 | lo);
        }
        static const uint8_t zero[6];
        if ((m[0] & 1) || memcmp(m, zero, 6) == 0)
                return -EADDRNOTAVAIL;
        memcpy(mac, m, 6);
        return 0;
}

bool ecl_ifname_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

char *ecl_cidr_format(const struct ecl_cidr *c, char *buf, size_t size) {
        char addr[INET6_ADDRSTRLEN];
        if (!inet_ntop(c->family, c->addr, addr, sizeof addr))
                return NULL;
        if (snprintf(buf, size, "%s/%u", addr, c->prefix) >= (int) size)
                return NULL;
        return buf;
}
