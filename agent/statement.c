/* SPDX-License-Identifier: Apache-2.0 */
/* The approval statement: one writer and its strict inverse, sharing the checks of every field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bundle-meta.h"
#include "hex.h"
#include "manifest.h" /* ECL_LICENSOR_MAX */
#include "reason.h"
#include "rfc3339.h"
#include "stack-name.h"
#include "statement.h"
#include "strutil.h"
#include "yaml-doc.h" /* ecl_utf8_unsafe_char */

static const char *const decision_names[] = {
        [AGENT_DECISION_APPLY] = "apply",
        [AGENT_DECISION_DOWNGRADE] = "downgrade",
};

const char *agent_decision_to_string(enum agent_decision d) {
        return ECL_ENUM_NAME(decision_names, d) ?: "?";
}

int agent_decision_from_string(const char *s, enum agent_decision *ret) {
        int v = ECL_ENUM_FROM_NAME(decision_names, s);
        if (v < 0)
                return -EINVAL;
        *ret = (enum agent_decision) v;
        return 0;
}

/* ---- the checks of each field: NULL when good, else what is wrong ---- */

static const char *licensor_problem(const char *s, size_t len) {
        if (len == 0 || strspn(s, " ") == len)
                return "empty licensor";
        if (len > ECL_LICENSOR_MAX)
                return "licensor too long";
        if (memchr(s, 0, len))
                return "licensor contains a NUL character";
        for (size_t i = 0; i < len; i++)
                if (ecl_utf8_unsafe_char(s + i, len - i))
                        return "licensor contains a line break, control or bidirectional character";
        return NULL;
}

static const char *version_problem(const char *s) {
        struct agent_version v;
        return agent_version_parse(s, &v, NULL) < 0 ? "invalid version" : NULL;
}

static bool nonce_valid(const char *s, size_t len) {
        uint8_t raw[AGENT_NONCE_LEN / 2];
        return ecl_hex_decode(s, len, raw, sizeof raw);
}

/* ---- format ---- */

static int format_time(uint64_t t, char out[static ECL_RFC3339_LEN + 1]) {
        if (t > INT64_MAX)
                return -ERANGE;
        return ecl_rfc3339_format((time_t) t, out);
}

int agent_statement_format(const struct agent_statement *s, char **ret_text, char **ret_reason) {
        const char *decision = ECL_ENUM_NAME(decision_names, s->decision);
        if (!decision)
                return ecl_reason(ret_reason, -EINVAL, "invalid decision %d", (int) s->decision);
        if (!s->stack || !ecl_stack_name_valid(s->stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        const char *why = s->licensor ? licensor_problem(s->licensor, strlen(s->licensor)) : "no licensor";
        if (why)
                return ecl_reason(ret_reason, -EINVAL, "%s", why);
        why = s->version ? version_problem(s->version) : "no version";
        if (why)
                return ecl_reason(ret_reason, -EINVAL, "%s", why);
        if (!nonce_valid(s->nonce, strnlen(s->nonce, sizeof s->nonce)))
                return ecl_reason(ret_reason, -EINVAL, "the nonce is not %d lowercase hex digits", AGENT_NONCE_LEN);
        char imported[ECL_RFC3339_LEN + 1], expires[ECL_RFC3339_LEN + 1], bundle[65];
        if (format_time(s->imported, imported) < 0 || format_time(s->approval_expires, expires) < 0)
                return ecl_reason(ret_reason, -EINVAL, "a time is outside the years 1970-9999");
        ecl_hex_encode(s->bundle, sizeof s->bundle, bundle);
        char *text = NULL;
        if (asprintf(&text,
                     AGENT_STATEMENT_HEADER "\n"
                                            "decision: %s\n"
                                            "stack: %s\n"
                                            "licensor: %s\n"
                                            "version: %s\n"
                                            "bundle: sha256:%s\n"
                                            "imported: %s\n"
                                            "nonce: %s\n"
                                            "approval-expires: %s\n",
                     decision, s->stack, s->licensor, s->version, bundle, imported, s->nonce, expires) < 0)
                return -ENOMEM;
        *ret_text = text;
        return 0;
}

/* ---- parse ---- */

enum { K_DECISION, K_STACK, K_LICENSOR, K_VERSION, K_BUNDLE, K_IMPORTED, K_NONCE, K_EXPIRES, K_N };
static const char *const keys[K_N] = {
        [K_DECISION] = "decision", [K_STACK] = "stack",
        [K_LICENSOR] = "licensor", [K_VERSION] = "version",
        [K_BUNDLE] = "bundle",     [K_IMPORTED] = "imported",
        [K_NONCE] = "nonce",       [K_EXPIRES] = "approval-expires",
};

static int parse_time(const char *v, size_t len, uint64_t *ret) {
        time_t t;
        if (!ecl_rfc3339_is_utc_seconds(v, len) || ecl_rfc3339_parse(v, len, &t) < 0 || t < 0)
                return -EINVAL;
        *ret = (uint64_t) t;
        return 0;
}

/* Check and store the value v[0..len) of key k (NUL-terminated at len); NULL or what is wrong. */
static const char *parse_value(struct agent_statement *s, unsigned k, const char *v, size_t len) {
        switch (k) {
        case K_DECISION:
                return agent_decision_from_string(v, &s->decision) < 0 ? "invalid decision" : NULL;
        case K_STACK:
                if (!ecl_stack_name_valid(v))
                        return "invalid stack name";
                return (s->stack = strdup(v)) ? NULL : "";
        case K_LICENSOR: {
                const char *why = licensor_problem(v, len);
                if (why)
                        return why;
                return (s->licensor = strdup(v)) ? NULL : "";
        }
        case K_VERSION: {
                const char *why = version_problem(v);
                if (why)
                        return why;
                return (s->version = strdup(v)) ? NULL : "";
        }
        case K_BUNDLE:
                if (len < 7 || memcmp(v, "sha256:", 7) != 0 || !ecl_hex_decode(v + 7, len - 7, s->bundle, 32))
                        return "the bundle is not sha256: and 64 lowercase hex digits";
                return NULL;
        case K_IMPORTED:
                return parse_time(v, len, &s->imported) < 0 ? "invalid time (YYYY-MM-DDTHH:MM:SSZ)" : NULL;
        case K_NONCE:
                if (!nonce_valid(v, len))
                        return "the nonce is not 32 lowercase hex digits";
                memcpy(s->nonce, v, len + 1);
                return NULL;
        case K_EXPIRES:
                return parse_time(v, len, &s->approval_expires) < 0 ? "invalid time (YYYY-MM-DDTHH:MM:SSZ)" : NULL;
        }
        return "unknown key";
}

int agent_statement_parse(const char *text, size_t len, struct agent_statement *ret, char **ret_reason) {
        if (len > AGENT_STATEMENT_MAX)
                return ecl_reason(ret_reason, -EFBIG, "statement too large (%zu bytes, at most %d)", len,
                                  AGENT_STATEMENT_MAX);
        if (memchr(text, 0, len))
                return ecl_reason(ret_reason, -EBADMSG, "the statement contains a NUL byte");
        _cleanup_free_ char *copy = strndup(text, len);
        if (!copy)
                return -ENOMEM;
        _cleanup_(agent_statement_clear) struct agent_statement s = {0};
        char *p = copy, *end = copy + len;
        for (unsigned line = 1; line <= K_N + 1; line++) {
                if (p == end) {
                        if (line == 1)
                                return ecl_reason(ret_reason, -EBADMSG, "empty statement");
                        return ecl_reason(ret_reason, -EBADMSG, "line %u: missing '%s'", line, keys[line - 2]);
                }
                char *nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        return ecl_reason(ret_reason, -EBADMSG, "line %u: no newline at its end", line);
                *nl = 0;
                if (line == 1) {
                        if (!streq(p, AGENT_STATEMENT_HEADER))
                                return ecl_reason(ret_reason, -EBADMSG, "line 1: not '" AGENT_STATEMENT_HEADER "'");
                } else {
                        unsigned k = line - 2;
                        size_t klen = strlen(keys[k]);
                        if (strncmp(p, keys[k], klen) != 0 || p[klen] != ':' || p[klen + 1] != ' ') {
                                for (unsigned o = 0; o < K_N; o++)
                                        if (o != k && strncmp(p, keys[o], strlen(keys[o])) == 0 &&
                                            p[strlen(keys[o])] == ':')
                                                return ecl_reason(ret_reason, -EBADMSG,
                                                                  "line %u: '%s' where '%s' belongs", line, keys[o],
                                                                  keys[k]);
                                return ecl_reason(ret_reason, -EBADMSG, "line %u: expected '%s: '", line, keys[k]);
                        }
                        const char *v = p + klen + 2;
                        const char *why = parse_value(&s, k, v, (size_t) (nl - v));
                        if (why && !*why)
                                return -ENOMEM;
                        if (why)
                                return ecl_reason(ret_reason, -EBADMSG, "line %u: %s", line, why);
                }
                p = nl + 1;
        }
        if (p != end)
                return ecl_reason(ret_reason, -EBADMSG, "line %u: text after '%s'", K_N + 2, keys[K_EXPIRES]);
        *ret = s;
        s = (struct agent_statement){0};
        return 0;
}

void agent_statement_clear(struct agent_statement *s) {
        free(s->stack);
        free(s->licensor);
        free(s->version);
        *s = (struct agent_statement){0};
}

int agent_nonce_new(char ret[static AGENT_NONCE_LEN + 1], char **ret_reason) {
        uint8_t raw[AGENT_NONCE_LEN / 2];
        size_t got = 0;
        while (got < sizeof raw) {
                ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ecl_reason_errno(ret_reason, -errno, "getrandom");
                got += (size_t) n;
        }
        ecl_hex_encode(raw, sizeof raw, ret);
        return 0;
}
