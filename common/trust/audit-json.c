/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "audit-json.h"
#include "strutil.h"

/* Length of the valid, shortest-form UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq_len(const unsigned char *p, const unsigned char *end) {
        unsigned char c = p[0];
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f; /* no UTF-16 surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f; /* nothing above U+10FFFF */
        } else
                return 0;
        if ((size_t) (end - p) < n)
                return 0;
        if (p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return n;
}

int ecl_audit_json_check_utf8(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s, *end = p + len;
        while (p < end) {
                if (*p == 0)
                        return -EILSEQ;
                if (*p < 0x80) {
                        p++;
                        continue;
                }
                size_t n = utf8_seq_len(p, end);
                if (n == 0)
                        return -EILSEQ;
                p += n;
        }
        return 0;
}

int ecl_audit_json_write_string(FILE *f, const char *s, size_t len) {
        int r = ecl_audit_json_check_utf8(s, len);
        if (r < 0)
                return r;
        static const char hex[] = "0123456789abcdef";
        fputc('"', f);
        const char *run = s;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                const char *esc = NULL;
                char u[7];
                if (c == '"')
                        esc = "\\\"";
                else if (c == '\\')
                        esc = "\\\\";
                else if (c == '\b')
                        esc = "\\b";
                else if (c == '\t')
                        esc = "\\t";
                else if (c == '\n')
                        esc = "\\n";
                else if (c == '\f')
                        esc = "\\f";
                else if (c == '\r')
                        esc = "\\r";
                else if (ecl_is_control(c)) {
                        memcpy(u, "\\u00", 4);
                        u[4] = hex[c >> 4];
                        u[5] = hex[c & 15];
                        u[6] = 0;
                        esc = u;
                }
                if (!esc)
                        continue;
                fwrite(run, 1, (size_t) (s + i - run), f);
                fputs(esc, f);
                run = s + i + 1;
        }
        fwrite(run, 1, (size_t) (s + len - run), f);
        fputc('"', f);
        return ferror(f) ? -EIO : 0;
}

static int write_value(FILE *f, const json_t *v, unsigned depth) {
        int r;
        if (depth > ECL_AUDIT_JSON_MAX_DEPTH)
                return -E2BIG;
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                if (json_object_size(v) > ECL_AUDIT_JSON_MAX_MEMBERS)
                        return -E2BIG;
                fputc('{', f);
                bool first = true;
                /* jansson (>= 2.8) iterates in insertion order, which jq keeps too. */
                for (void *it = json_object_iter((json_t *) v); it;
                     it = json_object_iter_next((json_t *) v, it)) {
                        if (!first)
                                fputc(',', f);
                        first = false;
                        r = ecl_audit_json_write_string(f, json_object_iter_key(it),
                                                        json_object_iter_key_len(it));
                        if (r < 0)
                                return r;
                        fputc(':', f);
                        r = write_value(f, json_object_iter_value(it), depth + 1);
                        if (r < 0)
                                return r;
                }
                fputc('}', f);
                break;
        }
        case JSON_ARRAY: {
                size_t n = json_array_size(v);
                if (n > ECL_AUDIT_JSON_MAX_MEMBERS)
                        return -E2BIG;
                fputc('[', f);
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                fputc(',', f);
                        r = write_value(f, json_array_get(v, i), depth + 1);
                        if (r < 0)
                                return r;
                }
                fputc(']', f);
                break;
        }
        case JSON_STRING:
                r = ecl_audit_json_write_string(f, json_string_value(v), json_string_length(v));
                if (r < 0)
                        return r;
                break;
        case JSON_INTEGER: {
                json_int_t n = json_integer_value(v);
                if (n > ECL_AUDIT_JSON_INT_MAX || n < -ECL_AUDIT_JSON_INT_MAX)
                        return -EDOM;
                fprintf(f, "%" JSON_INTEGER_FORMAT, n);
                break;
        }
        case JSON_REAL:
                return -EDOM;
        case JSON_TRUE:
                fputs("true", f);
                break;
        case JSON_FALSE:
                fputs("false", f);
                break;
        case JSON_NULL:
                fputs("null", f);
                break;
        default:
                return -EINVAL;
        }
        return ferror(f) ? -EIO : 0;
}

int ecl_audit_json_write_value(FILE *f, const json_t *v) {
        if (!v)
                return -EINVAL;
        return write_value(f, v, 1);
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1; /* uppercase is not canonical */
}

const char *ecl_audit_json_scan_string(const char *p, const char *end, char *out,
                                       struct ecl_audit_json_str *info, const char **why) {
        struct ecl_audit_json_str dummy;
        if (!info)
                info = &dummy;
        *info = (struct ecl_audit_json_str){0};
        if (p >= end || *p != '"') {
                *why = "expected a string";
                return NULL;
        }
        p++;
        size_t o = 0;
        while (p < end) {
                const char *run = p;
                /* Fast path: plain printable ASCII. */
                while (p < end && (unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f && *p != '"' &&
                       *p != '\\')
                        p++;
                if (out && p > run) {
                        memcpy(out + o, run, (size_t) (p - run));
                }
                o += (size_t) (p - run);
                if (p >= end)
                        break;
                unsigned char c = (unsigned char) *p;
                if (c == '"') {
                        info->decoded_len = o;
                        return p + 1;
                }
                if (c == '\\') {
                        if (end - p < 2)
                                break;
                        char d;
                        switch (p[1]) {
                        case '"':
                        case '\\':
                                d = p[1];
                                p += 2;
                                break;
                        case 'b':
                                d = '\b';
                                goto ctl;
                        case 'f':
                                d = '\f';
                                goto ctl;
                        case 'n':
                                d = '\n';
                                goto ctl;
                        case 'r':
                                d = '\r';
                                goto ctl;
                        case 't':
                                d = '\t';
                        ctl:
                                info->has_control = true;
                                p += 2;
                                break;
                        case 'u': {
                                if (end - p < 6 || p[2] != '0' || p[3] != '0') {
                                        *why = "non-canonical \\u escape";
                                        return NULL;
                                }
                                int h = hexval(p[4]), l = hexval(p[5]);
                                if (h < 0 || l < 0) {
                                        *why = "non-canonical \\u escape";
                                        return NULL;
                                }
                                unsigned v = (unsigned) (h << 4 | l);
                                if (v == 0) {
                                        *why = "NUL in a string";
                                        return NULL;
                                }
                                if ((v >= 0x20 && v != 0x7f) || v == '\b' || v == '\f' || v == '\n' ||
                                    v == '\r' || v == '\t') {
                                        *why = "non-canonical \\u escape";
                                        return NULL;
                                }
                                d = (char) v;
                                info->has_control = true;
                                p += 6;
                                break;
                        }
                        default:
                                *why = "non-canonical escape in a string";
                                return NULL;
                        }
                        if (out)
                                out[o] = d;
                        o++;
                        continue;
                }
                if (ecl_is_control(c)) {
                        *why = "unescaped control character in a string";
                        return NULL;
                }
                size_t n = utf8_seq_len((const unsigned char *) p, (const unsigned char *) end);
                if (n == 0) {
                        *why = "invalid UTF-8 in a string";
                        return NULL;
                }
                if (out)
                        memcpy(out + o, p, n);
                o += n;
                p += n;
        }
        *why = "unterminated string";
        return NULL;
}

static const char *scan_number(const char *p, const char *end, const char **why) {
        bool neg = false;
        if (p < end && *p == '-') {
                neg = true;
                p++;
        }
        if (p >= end || *p < '0' || *p > '9') {
                *why = "bad number";
                return NULL;
        }
        if (*p == '0') {
                if (neg) {
                        *why = "non-canonical number -0";
                        return NULL;
                }
                p++;
        } else {
                uint64_t v = 0;
                unsigned digits = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                        if (++digits > 16) {
                                *why = "integer out of range";
                                return NULL;
                        }
                        v = v * 10 + (uint64_t) (*p - '0');
                        p++;
                }
                if (v > (uint64_t) ECL_AUDIT_JSON_INT_MAX) {
                        *why = "integer out of range";
                        return NULL;
                }
        }
        if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))) {
                *why = "non-canonical number (only integers without leading zeros)";
                return NULL;
        }
        return p;
}

static const char *scan_literal(const char *p, const char *end, const char *lit, const char **why) {
        size_t n = strlen(lit);
        if ((size_t) (end - p) < n || memcmp(p, lit, n) != 0) {
                *why = "unexpected character";
                return NULL;
        }
        return p + n;
}

struct span {
        const char *s;
        size_t len;
};

static const char *scan_value(const char *p, const char *end, unsigned depth, const char **why);

static const char *scan_object(const char *p, const char *end, unsigned depth, const char **why) {
        struct span keys[ECL_AUDIT_JSON_MAX_MEMBERS];
        size_t n = 0;
        p++; /* '{' */
        if (p < end && *p == '}')
                return p + 1;
        for (;;) {
                const char *k = p;
                p = ecl_audit_json_scan_string(p, end, NULL, NULL, why);
                if (!p)
                        return NULL;
                if (n >= ECL_AUDIT_JSON_MAX_MEMBERS) {
                        *why = "too many members in an object";
                        return NULL;
                }
                /* Canonical escaping is one-to-one: equal bytes iff equal keys. */
                struct span key = {k + 1, (size_t) (p - k - 2)};
                for (size_t i = 0; i < n; i++)
                        if (keys[i].len == key.len && memcmp(keys[i].s, key.s, key.len) == 0) {
                                *why = "duplicate key in an object";
                                return NULL;
                        }
                keys[n++] = key;
                if (p >= end || *p != ':') {
                        *why = "expected ':'";
                        return NULL;
                }
                p = scan_value(p + 1, end, depth + 1, why);
                if (!p)
                        return NULL;
                if (p < end && *p == ',') {
                        p++;
                        continue;
                }
                if (p < end && *p == '}')
                        return p + 1;
                *why = "expected ',' or '}'";
                return NULL;
        }
}

static const char *scan_array(const char *p, const char *end, unsigned depth, const char **why) {
        size_t n = 0;
        p++; /* '[' */
        if (p < end && *p == ']')
                return p + 1;
        for (;;) {
                if (++n > ECL_AUDIT_JSON_MAX_MEMBERS) {
                        *why = "too many items in an array";
                        return NULL;
                }
                p = scan_value(p, end, depth + 1, why);
                if (!p)
                        return NULL;
                if (p < end && *p == ',') {
                        p++;
                        continue;
                }
                if (p < end && *p == ']')
                        return p + 1;
                *why = "expected ',' or ']'";
                return NULL;
        }
}

static const char *scan_value(const char *p, const char *end, unsigned depth, const char **why) {
        if (depth > ECL_AUDIT_JSON_MAX_DEPTH) {
                *why = "nested too deeply";
                return NULL;
        }
        if (p >= end) {
                *why = "unexpected end of line";
                return NULL;
        }
        switch (*p) {
        case '{':
                return scan_object(p, end, depth, why);
        case '[':
                return scan_array(p, end, depth, why);
        case '"':
                return ecl_audit_json_scan_string(p, end, NULL, NULL, why);
        case 't':
                return scan_literal(p, end, "true", why);
        case 'f':
                return scan_literal(p, end, "false", why);
        case 'n':
                return scan_literal(p, end, "null", why);
        default:
                return scan_number(p, end, why);
        }
}

const char *ecl_audit_json_scan_value(const char *p, const char *end, const char **why) {
        return scan_value(p, end, 1, why);
}
