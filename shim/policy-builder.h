/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The rule-list builder's toolkit (internal to policy-build.c and
 * policy-housekeeping.c): constructors for keys, values, sets, rules and
 * statements of the intermediate list (policy-ir.h), and address-list
 * normalisation.
 *
 * Allocation failures do not have to be checked at every call: the first one
 * is kept in b->err, later calls do nothing useful but stay safe (a rule that
 * could not be added is a scratch rule), and the builder returns b->err at
 * the end.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy-ir.h"

struct builder {
        struct pol_table *t;
        size_t cap_sets, cap_rules;
        int err;                 /* the first failure (-ENOMEM, -EINVAL) */
        char **reason;           /* where a failure says why (NULL: not wanted) */
        struct pol_rule scratch; /* where statements go when a rule could not be added */
};

static inline struct pol_key k1(enum pol_field a) {
        return (struct pol_key){{a}, 1};
}
static inline struct pol_key k2(enum pol_field a, enum pol_field b) {
        return (struct pol_key){{a, b}, 2};
}
static inline struct pol_key k3(enum pol_field a, enum pol_field b, enum pol_field c) {
        return (struct pol_key){{a, b, c}, 3};
}
static inline struct pol_key k4(enum pol_field a, enum pol_field b, enum pol_field c, enum pol_field d) {
        return (struct pol_key){{a, b, c, d}, 4};
}
static inline struct pol_key k5(enum pol_field a, enum pol_field b, enum pol_field c, enum pol_field d,
                                enum pol_field e) {
        return (struct pol_key){{a, b, c, d, e}, 5};
}
static inline struct pol_val v_sym(const char *s) {
        return (struct pol_val){.kind = PV_SYM, .sym = s};
}
static inline struct pol_val v_num(uint32_t n) {
        return (struct pol_val){.kind = PV_NUM, .lo = n, .hi = n};
}
static inline struct pol_val v_range(uint32_t lo, uint32_t hi) {
        return (struct pol_val){.kind = PV_RANGE, .lo = lo, .hi = hi};
}
static inline struct pol_val v_mac(const uint8_t mac[static 6]) {
        struct pol_val v = {.kind = PV_MAC};
        memcpy(v.mac, mac, 6);
        return v;
}
static inline struct pol_val v_cidr(const struct ecl_cidr *c) {
        return (struct pol_val){.kind = PV_CIDR, .cidr = *c};
}
/* A raw value: the first `bytes` bytes of p, exact (a field of that width). */
static inline struct pol_val v_hex(const void *p, size_t bytes) {
        struct pol_val v = {.kind = PV_HEX};
        memcpy(v.cidr.addr, p, bytes);
        v.cidr.prefix = (uint8_t) (bytes * 8);
        return v;
}
/* A raw 32-bit value. */
static inline struct pol_val v_hex32(uint32_t n) {
        uint8_t b[4] = {(uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n};
        return v_hex(b, 4);
}
static inline struct pol_val v_hex16(uint16_t n) {
        uint8_t b[2] = {(uint8_t) (n >> 8), (uint8_t) n};
        return v_hex(b, 2);
}

void pb_add_set(struct builder *b, const char *name, const char *const *type, size_t n_type, unsigned flags,
                uint32_t timeout_s, uint32_t size, bool counter);
/* A fixed address set holding a copy of the (normalised) list. */
void pb_add_addr_set(struct builder *b, const char *name, int family, const struct ecl_cidr *elems, size_t n);
struct pol_rule *pb_rule(struct builder *b, const char *chain);

void pb_match(struct pol_rule *r, struct pol_key k, bool negate, struct pol_val v);
void pb_match_ref(struct pol_rule *r, struct pol_key k, bool negate, const char *set);
/* key { vals }: copies vals. */
void pb_match_vals(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate, const struct pol_val *vals,
                   size_t n);
void pb_match_syms(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate, const char *const *syms,
                   size_t n);
/* key { networks }, as addresses (typed fields) or as raw numbers of `bytes` bytes (raw payload fields). */
void pb_match_cidrs(struct builder *b, struct pol_rule *r, struct pol_key k, bool negate, const struct ecl_cidr *c,
                    size_t n);
void pb_match_hex_cidrs(struct builder *b, struct pol_rule *r, struct pol_key k, const struct ecl_cidr *c, size_t n,
                        size_t bytes);
void pb_set_stmt(struct pol_rule *r, bool update, const char *set, struct pol_key k, uint32_t timeout_s);
/* limit rate RATE/second burst BURST packets: beyond it the rule does not match. */
void pb_limit(struct pol_rule *r, uint32_t rate, uint32_t burst);
/* counter, then accept | drop | goto target. */
void pb_verdict(struct pol_rule *r, const char *verdict, const char *target);

/* Sort and drop networks inside another: disjoint intervals, as an interval set needs. Returns the new count. */
size_t pb_cidrs_normalise(struct ecl_cidr *c, size_t n);
/* qsort order of struct ecl_cidr: by address, then the container (shorter prefix) first. */
int pb_cidr_cmp(const void *a, const void *b);
