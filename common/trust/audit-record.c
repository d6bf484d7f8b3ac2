/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "audit-json.h"
#include "audit-record.h"
#include "reason.h"
#include "strutil.h"

struct ecl_audit_hasher {
        EVP_MD *md;
        EVP_MD_CTX *ctx;
};

int ecl_audit_hasher_new(struct ecl_audit_hasher **ret) {
        struct ecl_audit_hasher *h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->ctx = EVP_MD_CTX_new();
        if (!h->md || !h->ctx) {
                ecl_audit_hasher_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

void ecl_audit_hasher_free(struct ecl_audit_hasher *h) {
        if (!h)
                return;
        EVP_MD_CTX_free(h->ctx);
        EVP_MD_free(h->md);
        free(h);
}

int ecl_audit_hasher_line(struct ecl_audit_hasher *h, const char *line, size_t hashed_len,
                          char out[static ECL_AUDIT_HASH_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char md[32];
        unsigned n = 0;
        if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, line, hashed_len) != 1 ||
            EVP_DigestUpdate(h->ctx, "}", 1) != 1 || EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
                return -EIO;
        for (unsigned i = 0; i < 32; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[ECL_AUDIT_HASH_LEN] = 0;
        return 0;
}

/* Expect the literal lit at *p; advance past it. */
static bool expect(const char **p, const char *end, const char *lit, size_t n) {
        if ((size_t) (end - *p) < n || memcmp(*p, lit, n) != 0)
                return false;
        *p += n;
        return true;
}
#define EXPECT(p, end, lit) expect(&(p), (end), "" lit, sizeof(lit) - 1)

static bool is_hex64(const char *p, const char *end) {
        if (end - p < ECL_AUDIT_HASH_LEN)
                return false;
        for (size_t i = 0; i < ECL_AUDIT_HASH_LEN; i++)
                if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
                        return false;
        return true;
}

static bool valid_event(const char *s, size_t len) {
        if (len < 1 || len > ECL_AUDIT_EVENT_MAX || s[0] < 'a' || s[0] > 'z')
                return false;
        for (size_t i = 1; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* A canonical JSON string without control characters, decoded length in [min, max]. */
static const char *scan_text(const char *p, const char *end, size_t min, size_t max, struct ecl_audit_span *span,
                             const char **why, const char *what) {
        struct ecl_audit_json_str info;
        const char *q = ecl_audit_json_scan_string(p, end, NULL, &info, why);
        if (!q)
                return NULL;
        if (info.has_control || info.decoded_len < min || info.decoded_len > max) {
                *why = what;
                return NULL;
        }
        *span = (struct ecl_audit_span){p, (size_t) (q - p)};
        return q;
}

int ecl_audit_line_scan(const char *line, size_t len, struct ecl_audit_line *ret, const char **why) {
        const char *p = line, *end = line + len;
        struct ecl_audit_line l = {0};
        if (len >= ECL_AUDIT_LINE_MAX) {
                *why = "line too long";
                return -EBADMSG;
        }
        if (!EXPECT(p, end, "{\"seq\":")) {
                *why = "not a record (expected {\"seq\":)";
                return -EBADMSG;
        }
        if (p >= end || *p < '1' || *p > '9') {
                *why = "bad seq";
                return -EBADMSG;
        }
        for (unsigned digits = 0; p < end && *p >= '0' && *p <= '9'; p++) {
                if (++digits > 16) {
                        *why = "bad seq";
                        return -EBADMSG;
                }
                l.seq = l.seq * 10 + (uint64_t) (*p - '0');
        }
        if (l.seq > ECL_AUDIT_SEQ_MAX) {
                *why = "bad seq";
                return -EBADMSG;
        }
        if (!EXPECT(p, end, ",\"time\":\"") || end - p < ECL_RFC3339_LEN + 1 ||
            !ecl_rfc3339_is_utc_seconds(p, ECL_RFC3339_LEN) || p[ECL_RFC3339_LEN] != '"') {
                *why = "bad time (expected \"YYYY-MM-DDTHH:MM:SSZ\")";
                return -EBADMSG;
        }
        l.time = (struct ecl_audit_span){p, ECL_RFC3339_LEN};
        p += ECL_RFC3339_LEN + 1;
        if (!EXPECT(p, end, ",\"actor\":")) {
                *why = "expected \"actor\"";
                return -EBADMSG;
        }
        p = scan_text(p, end, 1, ECL_AUDIT_ACTOR_MAX, &l.actor, why, "bad actor");
        if (!p)
                return -EBADMSG;
        if (!EXPECT(p, end, ",\"event\":\"")) {
                *why = "expected \"event\"";
                return -EBADMSG;
        }
        const char *q = memchr(p, '"', (size_t) (end - p));
        if (!q || !valid_event(p, (size_t) (q - p))) {
                *why = "bad event";
                return -EBADMSG;
        }
        l.event = (struct ecl_audit_span){p - 1, (size_t) (q - p) + 2};
        p = q + 1;
        if (!EXPECT(p, end, ",\"subject\":")) {
                *why = "expected \"subject\"";
                return -EBADMSG;
        }
        p = scan_text(p, end, 0, ECL_AUDIT_SUBJECT_MAX, &l.subject, why, "bad subject");
        if (!p)
                return -EBADMSG;
        if (!EXPECT(p, end, ",\"details\":") || p >= end || *p != '{') {
                *why = "expected \"details\" object";
                return -EBADMSG;
        }
        q = ecl_audit_json_scan_value(p, end, why);
        if (!q)
                return -EBADMSG;
        if ((size_t) (q - p) > ECL_AUDIT_DETAILS_MAX) {
                *why = "details too long";
                return -EBADMSG;
        }
        l.details = (struct ecl_audit_span){p, (size_t) (q - p)};
        p = q;
        if (!EXPECT(p, end, ",\"prev\":\"") || !is_hex64(p, end)) {
                *why = "bad prev (expected 64 lowercase hex digits)";
                return -EBADMSG;
        }
        l.prev = p;
        p += ECL_AUDIT_HASH_LEN;
        l.hashed_len = (size_t) (p + 1 - line);
        if (!EXPECT(p, end, "\",\"hash\":\"") || !is_hex64(p, end)) {
                *why = "bad hash (expected 64 lowercase hex digits)";
                return -EBADMSG;
        }
        l.hash = p;
        p += ECL_AUDIT_HASH_LEN;
        if (!EXPECT(p, end, "\"}") || p != end) {
                *why = "trailing data after the record";
                return -EBADMSG;
        }
        if (ret)
                *ret = l;
        return 0;
}

void ecl_audit_record_done(struct ecl_audit_record *rec) {
        free(rec->actor);
        free(rec->event);
        free(rec->subject);
        free(rec->details);
        *rec = (struct ecl_audit_record){0};
}

static int decode(const struct ecl_audit_span *span, char **ret) {
        const char *why;
        char *s = malloc(span->len + 1);
        if (!s)
                return -ENOMEM;
        struct ecl_audit_json_str info;
        if (!ecl_audit_json_scan_string(span->s, span->s + span->len, s, &info, &why)) {
                free(s);
                return -EBADMSG; /* cannot happen after a successful scan */
        }
        s[info.decoded_len] = 0;
        *ret = s;
        return 0;
}

int ecl_audit_record_parse(const char *line, size_t len, struct ecl_audit_record *ret, const char **why) {
        struct ecl_audit_line l;
        int r = ecl_audit_line_scan(line, len, &l, why);
        if (r < 0)
                return r;
        struct ecl_audit_record rec = {.seq = l.seq};
        memcpy(rec.time, l.time.s, ECL_RFC3339_LEN);
        memcpy(rec.prev, l.prev, ECL_AUDIT_HASH_LEN);
        memcpy(rec.hash, l.hash, ECL_AUDIT_HASH_LEN);
        if ((r = decode(&l.actor, &rec.actor)) < 0 || (r = decode(&l.event, &rec.event)) < 0 ||
            (r = decode(&l.subject, &rec.subject)) < 0 || !(rec.details = strndup(l.details.s, l.details.len))) {
                ecl_audit_record_done(&rec);
                *why = "out of memory";
                return r < 0 ? r : -ENOMEM;
        }
        *ret = rec;
        return 0;
}

static int check_text(const char *field, const char *s, size_t min, size_t max, char **ret_reason) {
        size_t n = strlen(s);
        if (n < min || n > max)
                return ecl_reason(ret_reason, -EBADMSG, "audit %s must be %zu to %zu bytes long", field, min, max);
        if (ecl_audit_json_check_utf8(s, n) < 0)
                return ecl_reason(ret_reason, -EILSEQ, "audit %s is not valid UTF-8", field);
        if (ecl_str_has_control(s, (size_t) -1))
                return ecl_reason(ret_reason, -EBADMSG, "audit %s contains a control character", field);
        return 0;
}

static void bufp(char **p) {
        free(*p);
}

int ecl_audit_format_line(struct ecl_audit_hasher *h, uint64_t seq, const char *time,
                          const char prev[static ECL_AUDIT_HASH_LEN], const char *actor, const char *event,
                          const char *subject, const json_t *details, char **ret_line, size_t *ret_len,
                          char ret_hash[static ECL_AUDIT_HASH_LEN + 1], char **ret_reason) {
        int r;
        if (seq < 1 || seq > ECL_AUDIT_SEQ_MAX)
                return ecl_reason(ret_reason, -ERANGE, "audit log is full (seq %llu)", (unsigned long long) seq);
        if (!ecl_rfc3339_is_utc_seconds(time, strlen(time)))
                return ecl_reason(ret_reason, -EBADMSG, "bad audit time '%s'", time);
        if (!valid_event(event, strlen(event)))
                return ecl_reason(ret_reason, -EBADMSG, "bad audit event name (expected ^[a-z][a-z0-9._-]{0,63}$)");
        if ((r = check_text("actor", actor, 1, ECL_AUDIT_ACTOR_MAX, ret_reason)) < 0 ||
            (r = check_text("subject", subject ? subject : "", 0, ECL_AUDIT_SUBJECT_MAX, ret_reason)) < 0)
                return r;
        if (details && !json_is_object(details))
                return ecl_reason(ret_reason, -EBADMSG, "audit details must be a JSON object");

        _cleanup_(bufp) char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        fprintf(f, "{\"seq\":%llu,\"time\":\"%s\",\"actor\":", (unsigned long long) seq, time);
        r = ecl_audit_json_write_string(f, actor, strlen(actor));
        if (r >= 0) {
                fprintf(f, ",\"event\":\"%s\",\"subject\":", event);
                r = ecl_audit_json_write_string(f, subject ? subject : "", subject ? strlen(subject) : 0);
        }
        if (r >= 0) {
                fputs(",\"details\":", f);
                if (details)
                        r = ecl_audit_json_write_value(f, details);
                else
                        fputs("{}", f);
        }
        if (r >= 0)
                fprintf(f, ",\"prev\":\"%.64s\"", prev);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r == -EDOM)
                return ecl_reason(ret_reason, r, "audit details may hold only integers up to 2^53-1, not fractions");
        if (r == -EILSEQ)
                return ecl_reason(ret_reason, r, "audit details contain a string that is not valid UTF-8 or has a NUL");
        if (r == -E2BIG)
                return ecl_reason(ret_reason, r, "audit details nested too deeply or too many members");
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot format audit record: %s", strerror(-r));

        /* size is the hashed prefix; the line adds ,"hash":"…"}\n */
        size_t hashed_len = size;
        char *line = realloc(buf, size + sizeof(",\"hash\":\"\"}\n") - 1 + ECL_AUDIT_HASH_LEN + 1);
        if (!line)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        buf = line;
        r = ecl_audit_hasher_line(h, buf, hashed_len, ret_hash);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot hash audit record: %s", strerror(-r));
        size_t len = hashed_len;
        len += (size_t) sprintf(buf + len, ",\"hash\":\"%s\"}\n", ret_hash);

        /* Whatever we write must read back: the scanner is the judge. */
        const char *why;
        struct ecl_audit_line l;
        if (ecl_audit_line_scan(buf, len - 1, &l, &why) < 0)
                return ecl_reason(ret_reason, -E2BIG, "audit record not written: %s", why);
        if (l.hashed_len != hashed_len)
                return ecl_reason(ret_reason, -EBADMSG, "audit record not written: internal format mismatch");
        *ret_line = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}
