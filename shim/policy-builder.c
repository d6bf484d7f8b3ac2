/* SPDX-License-Identifier: Apache-2.0 */
/* The rule-list builder's toolkit (policy-builder.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-builder.h"

#define GROW(arr, n, cap)                                                          \
        ({                                                                         \
                int _r = 0;                                                        \
                if ((n) == (cap)) {                                                \
                        size_t _c = (cap) ? (cap) * 2 : 16;                        \
                        void *_p = reallocarray((arr), _c, sizeof(*(arr)));        \
                        if (_p) {                                                  \
                                (arr) = _p;                                        \
                                (cap) = _c;                                        \
                        } else                                                     \
                                _r = -ENOMEM;                                      \
                }                                                                  \
                _r;                                                                \
        })

static void fail(struct builder *b, int r) {
        if (b->err == 0)
                b->err = r;
}

void pb_add_set(struct builder *b, const char *name, const char *const *type, size_t n_type, unsigned flags,
                uint32_t timeout_s, uint32_t size, bool counter) {
        if (GROW(b->t->sets, b->t->n_sets, b->cap_sets) < 0)
                return fail(b, -ENOMEM);
        struct pol_set *s = &b->t->sets[b->t->n_sets++];
        *s = (struct pol_set){.flags = flags, .timeout_s = timeout_s, .size = size, .counter = counter};
        snprintf(s->name, sizeof s->name, "%s", name);
        for (size_t i = 0; i < n_type && i < POL_KEY_MAX; i++)
                s->type[i] = type[i];
        s->n_type = n_type;
}

void pb_add_addr_set(struct builder *b, const char *name, int family, const struct ecl_cidr *elems, size_t n) {
        static const char *const t4[] = {"ipv4_addr"}, *const t6[] = {"ipv6_addr"};
        size_t before = b->t->n_sets;
        pb_add_set(b, name, family == AF_INET ? t4 : t6, 1, PSF_INTERVAL, 0, 0, false);
        if (b->t->n_sets == before || n == 0)
                return;
        struct pol_set *s = &b->t->sets[b->t->n_sets - 1];
        s->elems = calloc(n, sizeof *s->elems);
        if (!s->elems)
                return fail(b, -ENOMEM);
        memcpy(s->elems, elems, n * sizeof *elems);
        s->n_elems = pb_cidrs_normalise(s->elems, n);
}

static void rule_clear(struct pol_rule *r) {
        for (size_t j = 0; j < r->n; j++)
                free(r->s[j].vals);
        *r = (struct pol_rule){0};
}

struct pol_rule *pb_rule(struct builder *b, const char *chain) {
        if (b->err || GROW(b->t->rules, b->t->n_rules, b->cap_rules) < 0) {
                fail(b, -ENOMEM);
                rule_clear(&b->scratch);
                return &b->scratch;
        }
        struct pol_rule *r = &b->t->rules[b->t->n_rules];
        *r = (struct pol_rule){0};
        snprintf(r->chain, sizeof r->chain, "%s", chain);
        snprintf(r->comment, sizeof r->comment, POL_RULE_COMMENT_PREFIX "%zu", b->t->n_rules + 1);
        b->t->n_rules++;
        return r;
}

static struct pol_stmt *stmt(struct pol_rule *r, enum pol_stmt_kind kind) {
        /* The builder never makes longer rules; a bug here must not go unnoticed. */
        if (r->n >= POL_RULE_STMTS_MAX)
                abort();
        struct pol_stmt *s = &r->s[r->n++];
        *s = (struct pol_stmt){.kind = kind};
        return s;
}

void pb_match(struct pol_rule *r, struct pol_key k, bool negate, struct pol_val v) {
        struct pol_stmt *s = stmt(r, PS_MATCH);
        s->key = k, s->negate = negate, s->rhs = PR_VALUE, s->val = v;
}

void pb_match_ref(struct pol_rule *r, struct pol_key k, bool negate, const char *set) {
        struct pol_stmt *s = stmt(r, PS_MATCH);
        s->key = k, s->negate = negate, s->rhs = PR_SET_REF;
        snprintf(s->set, sizeof s->set, "%s", set);
}

void pb_match_vals(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate, const struct pol_val *vals,
                   size_t n) {
        struct pol_val *v = calloc(n ? n : 1, sizeof *v);
        if (!v)
                return fail(b, -ENOMEM);
        if (n == 0) {
                /* An empty anonymous set is no nft syntax: the model never asks for one. */
                free(v);
                return fail(b, -EINVAL);
        }
        memcpy(v, vals, n * sizeof *v);
        struct pol_stmt *s = stmt(r, PS_MATCH);
        s->key = k, s->negate = negate, s->rhs = PR_ANON_SET, s->vals = v, s->n_vals = n;
}

void pb_match_syms(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate, const char *const *syms,
                   size_t n) {
        struct pol_val v[16];
        if (n > 16)
                return fail(b, -EINVAL);
        for (size_t i = 0; i < n; i++)
                v[i] = v_sym(syms[i]);
        pb_match_vals(b, r, k, negate, v, n);
}

static void match_cidrs_as(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate,
                           const struct ecl_cidr *c, size_t n, size_t hex_bytes) {
        struct pol_val *v = calloc(n ? n : 1, sizeof *v);
        if (!v)
                return fail(b, -ENOMEM);
        for (size_t i = 0; i < n; i++) {
                v[i] = v_cidr(&c[i]);
                if (hex_bytes) {
                        v[i].kind = PV_HEX;
                        if (v[i].cidr.prefix > hex_bytes * 8)
                                v[i].cidr.prefix = (uint8_t) (hex_bytes * 8);
                }
        }
        pb_match_vals(b, r, k, negate, v, n);
        free(v);
}

void pb_match_cidrs(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate, const struct ecl_cidr *c,
                    size_t n) {
        match_cidrs_as(b, r, k, negate, c, n, 0);
}

void pb_match_hex_cidrs(struct builder *b, struct pol_rule *r, struct pol_key k, const struct ecl_cidr *c, size_t n,
                        size_t bytes) {
        match_cidrs_as(b, r, k, false, c, n, bytes);
}

void pb_set_stmt(struct pol_rule *r, bool update, const char *set, struct pol_key k, uint32_t timeout_s) {
        struct pol_stmt *s = stmt(r, PS_SET);
        s->update = update, s->key = k, s->timeout_s = timeout_s;
        snprintf(s->set, sizeof s->set, "%s", set);
}

void pb_limit(struct pol_rule *r, uint32_t rate, uint32_t burst) {
        struct pol_stmt *s = stmt(r, PS_LIMIT);
        s->rate = rate, s->burst = burst;
}

void pb_verdict(struct pol_rule *r, const char *verdict, const char *target) {
        stmt(r, PS_COUNTER);
        struct pol_stmt *s = stmt(r, PS_VERDICT);
        s->verdict = verdict;
        if (target)
                snprintf(s->target, sizeof s->target, "%s", target);
}

int pb_cidr_cmp(const void *a, const void *b) {
        const struct ecl_cidr *x = a, *y = b;
        int c = memcmp(x->addr, y->addr, 16);
        return c ? c : (int) x->prefix - (int) y->prefix;
}

static bool cidr_contains(const struct ecl_cidr *outer, const struct ecl_cidr *inner) {
        if (outer->family != inner->family || outer->prefix > inner->prefix)
                return false;
        unsigned full = outer->prefix / 8, rest = outer->prefix % 8;
        if (memcmp(outer->addr, inner->addr, full) != 0)
                return false;
        if (rest == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff << (8 - rest));
        return (outer->addr[full] & mask) == (inner->addr[full] & mask);
}

/*
 * Networks nest or are disjoint, so after sorting by address (container
 * first) one pass leaves disjoint intervals.
 */
size_t pb_cidrs_normalise(struct ecl_cidr *c, size_t n) {
        if (n == 0)
                return 0;
        qsort(c, n, sizeof *c, pb_cidr_cmp);
        size_t k = 0;
        for (size_t i = 1; i < n; i++)
                if (!cidr_contains(&c[k], &c[i]))
                        c[++k] = c[i];
        return k + 1;
}
