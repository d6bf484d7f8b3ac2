/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshbuf.h"

int ecl_sshbuf_get_raw(struct ecl_sshbuf *b, size_t n, const uint8_t **p) {
        if (b->len < n)
                return -EBADMSG;
        if (p)
                *p = b->p;
        b->p += n;
        b->len -= n;
        return 0;
}

int ecl_sshbuf_get_u8(struct ecl_sshbuf *b, uint8_t *v) {
        const uint8_t *p;
        int r = ecl_sshbuf_get_raw(b, 1, &p);
        if (r < 0)
                return r;
        *v = p[0];
        return 0;
}

int ecl_sshbuf_get_u32(struct ecl_sshbuf *b, uint32_t *v) {
        const uint8_t *p;
        int r = ecl_sshbuf_get_raw(b, 4, &p);
        if (r < 0)
                return r;
        *v = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
        return 0;
}

int ecl_sshbuf_get_u64(struct ecl_sshbuf *b, uint64_t *v) {
        const uint8_t *p;
        int r = ecl_sshbuf_get_raw(b, 8, &p);
        if (r < 0)
                return r;
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
                x = x << 8 | p[i];
        *v = x;
        return 0;
}

int ecl_sshbuf_get_string(struct ecl_sshbuf *b, const uint8_t **p, size_t *len) {
        struct ecl_sshbuf save = *b;
        uint32_t n;
        const uint8_t *d;
        if (ecl_sshbuf_get_u32(b, &n) < 0 || ecl_sshbuf_get_raw(b, n, &d) < 0) {
                *b = save;
                return -EBADMSG;
        }
        if (p)
                *p = d;
        if (len)
                *len = n;
        return 0;
}

int ecl_sshbuf_get_sub(struct ecl_sshbuf *b, struct ecl_sshbuf *sub) {
        const uint8_t *p;
        size_t n;
        int r = ecl_sshbuf_get_string(b, &p, &n);
        if (r < 0)
                return r;
        *sub = ecl_sshbuf_init(p, n);
        return 0;
}

int ecl_sshbuf_get_cstring(struct ecl_sshbuf *b, char **ret) {
        struct ecl_sshbuf save = *b;
        const uint8_t *p;
        size_t n;
        int r = ecl_sshbuf_get_string(b, &p, &n);
        if (r < 0)
                return r;
        if (memchr(p, '\0', n)) {
                *b = save;
                return -EBADMSG;
        }
        char *s = malloc(n + 1);
        if (!s) {
                *b = save;
                return -ENOMEM;
        }
        if (n)
                memcpy(s, p, n);
        s[n] = '\0';
        *ret = s;
        return 0;
}

int ecl_sshbuf_get_string_eq(struct ecl_sshbuf *b, const char *s) {
        struct ecl_sshbuf save = *b;
        const uint8_t *p;
        size_t n;
        int r = ecl_sshbuf_get_string(b, &p, &n);
        if (r < 0)
                return r;
        if (n == strlen(s) && memcmp(p, s, n) == 0)
                return 1;
        *b = save;
        return 0;
}

int ecl_sshbuf_get_mpint(struct ecl_sshbuf *b, const uint8_t **p, size_t *len) {
        struct ecl_sshbuf save = *b;
        const uint8_t *d;
        size_t n;
        int r = ecl_sshbuf_get_string(b, &d, &n);
        if (r < 0)
                return r;
        if ((n > 0 && (d[0] & 0x80)) || n > ECL_SSHBUF_MAX_MPINT ||
            (n == ECL_SSHBUF_MAX_MPINT && d[0] != 0)) {
                *b = save;
                return -EBADMSG;
        }
        while (n > 0 && d[0] == 0)
                d++, n--;
        *p = d;
        *len = n;
        return 0;
}

static void reserve(struct ecl_sshbuf_w *w, size_t n) {
        if (w->error)
                return;
        if (n > SIZE_MAX / 2 - w->len) {
                w->error = -ENOMEM;
                return;
        }
        if (w->len + n <= w->cap)
                return;
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
                cap *= 2;
        uint8_t *d = realloc(w->data, cap);
        if (!d) {
                w->error = -ENOMEM;
                return;
        }
        w->data = d;
        w->cap = cap;
}

void ecl_sshbuf_w_put_raw(struct ecl_sshbuf_w *w, const void *p, size_t n) {
        reserve(w, n);
        if (w->error || n == 0)
                return;
        memcpy(w->data + w->len, p, n);
        w->len += n;
}

void ecl_sshbuf_w_put_u8(struct ecl_sshbuf_w *w, uint8_t v) {
        ecl_sshbuf_w_put_raw(w, &v, 1);
}

void ecl_sshbuf_w_put_u32(struct ecl_sshbuf_w *w, uint32_t v) {
        uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};
        ecl_sshbuf_w_put_raw(w, b, 4);
}

void ecl_sshbuf_w_put_string(struct ecl_sshbuf_w *w, const void *p, size_t n) {
        if (n > UINT32_MAX) {
                if (!w->error)
                        w->error = -E2BIG;
                return;
        }
        ecl_sshbuf_w_put_u32(w, (uint32_t) n);
        ecl_sshbuf_w_put_raw(w, p, n);
}

void ecl_sshbuf_w_put_cstring(struct ecl_sshbuf_w *w, const char *s) {
        ecl_sshbuf_w_put_string(w, s, strlen(s));
}

void ecl_sshbuf_w_put_mpint(struct ecl_sshbuf_w *w, const uint8_t *p, size_t n) {
        while (n > 0 && p[0] == 0)
                p++, n--;
        bool pad = n > 0 && (p[0] & 0x80);
        ecl_sshbuf_w_put_u32(w, (uint32_t) (n + pad));
        if (pad)
                ecl_sshbuf_w_put_u8(w, 0);
        ecl_sshbuf_w_put_raw(w, p, n);
}

void ecl_sshbuf_w_free(struct ecl_sshbuf_w *w) {
        free(w->data);
        *w = (struct ecl_sshbuf_w){0};
}

uint8_t *ecl_sshbuf_w_steal(struct ecl_sshbuf_w *w, size_t *len) {
        uint8_t *d = w->data;
        if (len)
                *len = w->len;
        *w = (struct ecl_sshbuf_w){0};
        return d;
}

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

static bool b64_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int ecl_sshbuf_b64decode(const char *s, size_t n, uint8_t **ret, size_t *len) {
        _cleanup_free_ uint8_t *out = malloc(n / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        size_t o = 0, i = 0;
        unsigned state = 0, acc = 0;
        for (; i < n; i++) {
                char c = s[i];
                if (b64_space(c))
                        continue;
                if (c == '=')
                        break;
                int v = b64_value(c);
                if (v < 0)
                        return -EBADMSG;
                acc = (acc << 6) | (unsigned) v;
                if (++state == 4) {
                        out[o++] = (uint8_t) (acc >> 16);
                        out[o++] = (uint8_t) (acc >> 8);
                        out[o++] = (uint8_t) acc;
                        state = 0;
                        acc = 0;
                }
        }
        if (i < n) {
                /* Padding: "xx==" or "xxx=", then only whitespace. */
                if (state < 2)
                        return -EBADMSG;
                unsigned pads_needed = 4 - state, pads = 0;
                for (; i < n; i++) {
                        if (b64_space(s[i]))
                                continue;
                        if (s[i] != '=' || ++pads > pads_needed)
                                return -EBADMSG;
                }
                if (pads != pads_needed)
                        return -EBADMSG;
                if (state == 2) {
                        if (acc & 0xf)
                                return -EBADMSG;
                        out[o++] = (uint8_t) (acc >> 4);
                } else {
                        if (acc & 0x3)
                                return -EBADMSG;
                        out[o++] = (uint8_t) (acc >> 10);
                        out[o++] = (uint8_t) (acc >> 2);
                }
        } else if (state != 0) {
                return -EBADMSG;
        }
        *ret = TAKE_PTR(out);
        *len = o;
        return 0;
}
