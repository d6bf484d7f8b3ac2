/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The image's structures, shared by its parsers (policy-image.c) and its
 * comparison (policy-image-compare.c); nothing else includes this.
 */
#include <stdbool.h>
#include <stddef.h>

#include "policy-image.h"

struct img_set {
        char *name;
        char *decl;   /* "type T; size N; flags F; counter; timeout T" (NULL: not declared) */
        bool compare; /* (want) its elements are the policy's */
        bool grant;   /* (want) a grant set: its elements are what the shim granted */
        bool anon;
        char **elems; /* normalised, sorted by pol_image_* before comparing */
        size_t n_elems, cap_elems;
};

struct img_rule {
        char *chain;
        char *expr; /* the normalised expression lines, each ending in '\n' */
        size_t len;
};

struct img_chain {
        char *name;
        char *header; /* "" for a regular chain */
};

struct pol_image {
        char *table_extra; /* the first line of the table that is no set or chain */
        struct img_chain *chains;
        size_t n_chains, cap_chains;
        struct img_set *sets;
        size_t n_sets, cap_sets;
        struct img_rule *rules;
        size_t n_rules, cap_rules;
        bool sorted;
};

/* The set or chain NAME of img, NULL if it has none. */
struct img_set *pol_image_find_set(const struct pol_image *img, const char *name);
struct img_chain *pol_image_find_chain(const struct pol_image *img, const char *name);
/* qsort/bsearch order of the elements (char * against char *). */
int pol_image_strcmp_p(const void *a, const void *b);
