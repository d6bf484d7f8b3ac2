/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "allowed-signers.h"
#include "fileio.h"
#include "log.h"
#include "reason.h"
#include "rfc3339.h"


bool ecl_allowed_signers_match_pattern(const char *s, const char *p) {
        /* Iterative glob: on a mismatch, let the last '*' absorb one more
         * character.  Same answers as OpenSSH's recursive match_pattern(),
         * in O(len(s) * len(p)) time whatever the input. */
        const char *star = NULL, *resume = NULL;
        while (*s) {
                if (*p == '*') {
                        star = ++p;
                        resume = s;
                } else if (*p && (*p == '?' || *p == *s)) {
                        p++;
                        s++;
                } else if (star) {
                        p = star;
                        s = ++resume;
                } else {
                        return false;
                }
        }
        while (*p == '*')
                p++;
        return *p == '\0';
}

int ecl_allowed_signers_match_list(const char *s, const char *list) {
        char sub[1024];
        bool positive = false;
        size_t len = strlen(list), i = 0;
        while (i < len) {
                bool negated = list[i] == '!';
                if (negated)
                        i++;
                size_t n = 0;
                while (i < len && n < sizeof sub - 1 && list[i] != ',')
                        sub[n++] = list[i++];
                if (n >= sizeof sub - 1)
                        return 0; /* as OpenSSH: an overlong pattern never matches */
                if (i < len && list[i] == ',')
                        i++;
                sub[n] = '\0';
                if (ecl_allowed_signers_match_pattern(s, sub)) {
                        if (negated)
                                return -1;
                        positive = true;
                }
        }
        return positive;
}

int ecl_allowed_signers_parse_time(const char *s, uint64_t *ret) {
        char buf[32];
        const char *fmt;
        size_t l = strlen(s);
        bool utc = false;
        if (l > 1 && strcasecmp(s + l - 1, "Z") == 0) {
                utc = true;
                l--;
        } else if (l > 3 && strcasecmp(s + l - 3, "UTC") == 0) {
                utc = true;
                l -= 3;
        }
        switch (l) {
        case 8:
                fmt = "%Y-%m-%d";
                snprintf(buf, sizeof buf, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
                break;
        case 12:
                fmt = "%Y-%m-%dT%H:%M";
                snprintf(buf, sizeof buf, "%.4s-%.2s-%.2sT%.2s:%.2s", s, s + 4, s + 6, s + 8, s + 10);
                break;
        case 14:
                fmt = "%Y-%m-%dT%H:%M:%S";
                snprintf(buf, sizeof buf, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", s, s + 4, s + 6, s + 8, s + 10,
                         s + 12);
                break;
        default:
                return -EINVAL;
        }
        struct tm tm = {0};
        const char *end = strptime(buf, fmt, &tm);
        if (!end || *end)
                return -EINVAL;
        time_t t = utc ? timegm(&tm) : mktime(&tm);
        if (t <= 0)
                return -EINVAL;
        *ret = (uint64_t) t;
        return 0;
}

static void signer_clear(struct ecl_allowed_signer *a) {
        free(a->principals);
        free(a->namespaces);
        ecl_sshkey_free(a->key);
}

void ecl_allowed_signers_free(struct ecl_allowed_signers *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                signer_clear(&s->items[i]);
        free(s->items);
        free(s->file);
        free(s);
}

struct line_ctx {
        const char *file;
        unsigned line;
        const char *start; /* the line, for columns */
        struct ecl_diags *diags;
        int error;
};

static void problem(struct line_ctx *c, const char *at, const char *hint, const char *what) {
        struct ecl_pos pos = {c->line, (unsigned) (at - c->start) + 1};
        int r = ecl_diags_add(c->diags, c->file, pos, hint, "%s", what);
        if (!c->error)
                c->error = r < 0 ? r : -EBADMSG;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

/* namespaces="..." style value: quoted, \" escapes a quote. */
static char *dequote(const char **pp, const char **err) {
        const char *p = *pp;
        if (*p != '"') {
                *err = "missing start quote";
                return NULL;
        }
        p++;
        char *out = malloc(strlen(p) + 1);
        if (!out) {
                *err = "out of memory";
                return NULL;
        }
        size_t n = 0;
        for (; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1] == '"')
                        p++;
                out[n++] = *p;
        }
        if (*p != '"') {
                free(out);
                *err = "missing end quote";
                return NULL;
        }
        out[n] = '\0';
        *pp = p + 1;
        return out;
}

static bool opt_name(const char **pp, const char *name) {
        size_t n = strlen(name);
        if (strncasecmp(*pp, name, n) == 0 && (*pp)[n] == '=') {
                *pp += n + 1;
                return true;
        }
        return false;
}

/* Options in [p, end); end points at whitespace (or NUL). */
static void parse_options(struct line_ctx *c, char *p, struct ecl_allowed_signer *a) {
        const char *o = p;
        while (*o && !is_space(*o)) {
                const char *at = o, *err = NULL;
                char *v = NULL;
                uint64_t *t = NULL;
                const char *tname = NULL;
                if (strncasecmp(o, "cert-authority", 14) == 0) {
                        problem(c, at, "ecluse does not implement certificates; list each signer's own key",
                                "cert-authority lines are not supported");
                        return;
                } else if (opt_name(&o, "namespaces")) {
                        if (a->namespaces) {
                                problem(c, at, NULL, "multiple \"namespaces\" options");
                                return;
                        }
                        if (!(a->namespaces = dequote(&o, &err))) {
                                problem(c, o, "write namespaces=\"NS1,NS2\"", err);
                                return;
                        }
                } else if (opt_name(&o, "valid-after")) {
                        t = &a->valid_after;
                        tname = "valid-after";
                } else if (opt_name(&o, "valid-before")) {
                        t = &a->valid_before;
                        tname = "valid-before";
                } else {
                        problem(c, at, "known options: namespaces=, valid-after=, valid-before=",
                                "unknown option");
                        return;
                }
                if (t) {
                        char what[64];
                        if (*t) {
                                snprintf(what, sizeof what, "multiple \"%s\" options", tname);
                                problem(c, at, NULL, what);
                                return;
                        }
                        const char *vat = o;
                        if (!(v = dequote(&o, &err))) {
                                problem(c, vat, "write e.g. valid-after=\"20250101Z\"", err);
                                return;
                        }
                        int r = ecl_allowed_signers_parse_time(v, t);
                        free(v);
                        if (r < 0) {
                                snprintf(what, sizeof what, "invalid \"%s\" time", tname);
                                problem(c, vat, "YYYYMMDD[HHMM[SS]] with an optional Z or UTC suffix", what);
                                return;
                        }
                }
                if (!*o || is_space(*o))
                        break;
                if (*o != ',') {
                        problem(c, o, NULL, "unexpected text after option (options are separated by commas)");
                        return;
                }
                o++;
                if (!*o || is_space(*o)) {
                        problem(c, o, NULL, "unexpected end of options after ','");
                        return;
                }
        }
        if (a->valid_after && a->valid_before && a->valid_before <= a->valid_after)
                problem(c, p, NULL, "\"valid-before\" is not after \"valid-after\"");
}

static int parse_line(struct line_ctx *c, char *line, struct ecl_allowed_signers *s) {
        char *p = line + strspn(line, " \t\r");
        if (*p == '#' || *p == '\0')
                return 0;

        /* Principals: up to whitespace; a '"' starts a quoted part (as
         * OpenSSH's strdelimw). */
        char *pstart = p, *q = p;
        size_t plen = strcspn(p, " \t\r\"");
        if (p[plen] == '"') {
                char *close = strchr(p + plen + 1, '"');
                if (!close) {
                        problem(c, p + plen, NULL, "unterminated quote in principals");
                        return 0;
                }
                memmove(p + plen, p + plen + 1, (size_t) (close - (p + plen + 1)));
                plen = (size_t) (close - p) - 1;
                q = close + 1;
        } else {
                q = p + plen;
        }
        _cleanup_free_ char *principals = strndup(pstart, plen);
        if (!principals)
                return -ENOMEM;
        if (!*principals) {
                problem(c, pstart, NULL, "empty principals");
                return 0;
        }
        q += strspn(q, " \t\r");
        if (!*q) {
                problem(c, q, "format: PRINCIPALS [OPTIONS] KEYTYPE BASE64 [COMMENT]", "missing key");
                return 0;
        }

        struct ecl_allowed_signer a = {.line = c->line};
        char *keyat = q;
        if (!ecl_sshkey_text_is_key(q)) {
                /* Options: up to unquoted whitespace. */
                char *o = q;
                bool quoted = false;
                for (; *o && (quoted || !is_space(*o)); o++) {
                        if (*o == '\\' && o[1] == '"')
                                o++;
                        else if (*o == '"')
                                quoted = !quoted;
                }
                if (quoted) {
                        problem(c, q, NULL, "unterminated quote in options");
                        return 0;
                }
                char *after = o + strspn(o, " \t\r");
                if (!*after) {
                        problem(c, after, "format: PRINCIPALS [OPTIONS] KEYTYPE BASE64 [COMMENT]", "missing key");
                        return 0;
                }
                int before = c->error;
                c->error = 0;
                parse_options(c, q, &a);
                bool bad = c->error != 0;
                if (!c->error)
                        c->error = before;
                if (bad) {
                        free(a.namespaces);
                        return 0;
                }
                keyat = after;
                if (!ecl_sshkey_text_is_key(keyat)) {
                        free(a.namespaces);
                        problem(c, keyat, "e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa",
                                "unknown key type");
                        return 0;
                }
        }
        _cleanup_free_ char *why = NULL;
        int r = ecl_sshkey_from_text(keyat, &a.key, NULL, &why);
        if (r == -ENOMEM) {
                free(a.namespaces);
                return r;
        }
        if (r < 0) {
                free(a.namespaces);
                problem(c, keyat, NULL, why ? why : "invalid key");
                return 0;
        }
        a.principals = TAKE_PTR(principals);
        struct ecl_allowed_signer *items = reallocarray(s->items, s->n + 1, sizeof *items);
        if (!items) {
                signer_clear(&a);
                return -ENOMEM;
        }
        s->items = items;
        s->items[s->n++] = a;
        return 0;
}

int ecl_allowed_signers_parse(const char *text, size_t len, const char *file,
                              struct ecl_allowed_signers **ret, struct ecl_diags *diags) {
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = calloc(1, sizeof *s);
        if (!s || !(s->file = strdup(file ? file : "<allowed signers>")))
                return -ENOMEM;
        struct line_ctx c = {.file = s->file, .diags = diags};
        size_t off = 0;
        while (off < len) {
                const char *nl = memchr(text + off, '\n', len - off);
                size_t n = nl ? (size_t) (nl - (text + off)) : len - off;
                _cleanup_free_ char *line = strndup(text + off, n);
                if (!line)
                        return -ENOMEM;
                c.line++;
                c.start = line;
                if (strlen(line) != n) {
                        problem(&c, line + strlen(line), NULL, "NUL byte in allowed signers file");
                } else {
                        int r = parse_line(&c, line, s);
                        if (r < 0)
                                return r;
                }
                off += n + (nl ? 1 : 0);
        }
        if (c.error)
                return c.error;
        *ret = TAKE_PTR(s);
        return 0;
}

int ecl_allowed_signers_load(const char *path, struct ecl_allowed_signers **ret, struct ecl_diags *diags) {
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len = 0;
        int r = ecl_file_read(path, ECL_ALLOWED_SIGNERS_MAX_SIZE, &buf, &len, &why);
        if (r < 0) {
                if (ecl_diags_add(diags, path, (struct ecl_pos){0, 0}, NULL, "allowed signers file: %s",
                                  why ? why : strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        return ecl_allowed_signers_parse(buf, len, path, ret, diags);
}

int ecl_allowed_signers_find(const struct ecl_allowed_signers *s, const struct ecl_sshkey *key,
                             const char *principal, const char *namespace, uint64_t now,
                             const struct ecl_allowed_signer **ret, char **ret_reason) {
        /* Keep the most telling refusal: a line with the key but another
         * principal < wrong namespace < outside the validity interval. */
        int rank = 0, err = -ENOKEY;
        const struct ecl_allowed_signer *why_line = NULL;
        for (size_t i = 0; i < s->n; i++) {
                const struct ecl_allowed_signer *a = &s->items[i];
                if (!ecl_sshkey_equal(a->key, key))
                        continue;
                if (principal && ecl_allowed_signers_match_list(principal, a->principals) != 1) {
                        if (rank < 1)
                                rank = 1, why_line = a, err = -ENOKEY;
                        continue;
                }
                if (a->namespaces && ecl_allowed_signers_match_list(namespace, a->namespaces) != 1) {
                        if (rank < 2)
                                rank = 2, why_line = a, err = -EKEYREJECTED;
                        continue;
                }
                if ((a->valid_after && now < a->valid_after) || (a->valid_before && now > a->valid_before)) {
                        if (rank < 3)
                                rank = 3, why_line = a, err = -EKEYEXPIRED;
                        continue;
                }
                *ret = a;
                return 0;
        }
        char t1[ECL_RFC3339_TEXT_MAX], t2[ECL_RFC3339_TEXT_MAX];
        switch (rank) {
        case 0:
                if (principal)
                        return ecl_reason(ret_reason, err, "key %s is not an allowed signer for \"%.100s\" in %s", key->fingerprint,
                                 principal, s->file);
                return ecl_reason(ret_reason, err, "key %s is not an allowed signer in %s", key->fingerprint, s->file);
        case 1:
                return ecl_reason(ret_reason, err, "key %s belongs to \"%.80s\", not to \"%.80s\" (%s:%u)", key->fingerprint,
                         why_line->principals, principal, s->file, why_line->line);
        case 2:
                return ecl_reason(ret_reason, err, "key %s of \"%.80s\" is not allowed to sign in namespace \"%.80s\" (%s:%u allows \"%.80s\")",
                         key->fingerprint, why_line->principals, namespace, s->file, why_line->line,
                         why_line->namespaces);
        default:
                ecl_rfc3339_text(now, t1);
                if (why_line->valid_after && now < why_line->valid_after) {
                        ecl_rfc3339_text(why_line->valid_after, t2);
                        return ecl_reason(ret_reason, err, "key %s of \"%.80s\" is not yet valid: %s is before valid-after %s (%s:%u)",
                                 key->fingerprint, why_line->principals, t1, t2, s->file, why_line->line);
                }
                ecl_rfc3339_text(why_line->valid_before, t2);
                return ecl_reason(ret_reason, err, "key %s of \"%.80s\" has expired: %s is after valid-before %s (%s:%u)",
                         key->fingerprint, why_line->principals, t1, t2, s->file, why_line->line);
        }
}
