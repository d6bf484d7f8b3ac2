/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "blocked.h"
#include "log.h"
#include "policy-ir.h"

#define MAX_TIMEOUT ((json_int_t) 10 * 366 * 24 * 3600)

struct rec {
        enum shim_blocked_direction dir;
        char kind[4];
        char *key; /* the element's value as compact JSON: joins first and last */
        json_t *val;
        bool last;
        json_int_t age; /* seconds since touched */
        uint64_t count;
};

static int rec_cmp(const void *a, const void *b) {
        const struct rec *x = a, *y = b;
        if (x->dir != y->dir)
                return (int) x->dir - (int) y->dir;
        int c = strcmp(x->kind, y->kind);
        return c ? c : strcmp(x->key, y->key);
}

static int entry_cmp(const void *a, const void *b) {
        const struct shim_blocked_entry *x = a, *y = b;
        if (x->last != y->last)
                return x->last > y->last ? -1 : 1;
        return strcmp(x->dst, y->dst);
}

/* A string or a number of a concatenation, as text. */
static void item_text(json_t *v, char *buf, size_t size) {
        if (json_is_string(v))
                snprintf(buf, size, "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
                snprintf(buf, size, "?");
}

/* "blk_out_p4_last" -> out, p4, last. */
static bool parse_set_name(const char *name, struct rec *r) {
        if (strncmp(name, POL_BLOCKED_PREFIX, strlen(POL_BLOCKED_PREFIX)) != 0)
                return false;
        name += strlen(POL_BLOCKED_PREFIX);
        if (strncmp(name, "out_", 4) == 0)
                r->dir = SHIM_BLOCKED_EGRESS, name += 4;
        else if (strncmp(name, "in_", 3) == 0)
                r->dir = SHIM_BLOCKED_INGRESS, name += 3;
        else
                return false;
        static const char *const kinds[] = {"p4", "n4", "p6", "n6", "a4", "l2"};
        size_t k;
        for (k = 0; k < ELEMENTSOF(kinds); k++)
                if (strncmp(name, kinds[k], 2) == 0 && name[2] == '_')
                        break;
        if (k == ELEMENTSOF(kinds))
                return false;
        memcpy(r->kind, kinds[k], 3);
        name += 3;
        if (strcmp(name, "first") == 0)
                r->last = false;
        else if (strcmp(name, "last") == 0)
                r->last = true;
        else
                return false;
        return true;
}

static void recs_free(struct rec *r, size_t n) {
        for (size_t i = 0; r && i < n; i++)
                free(r[i].key);
        free(r);
}

/* Collect the elements of every blk_* set. */
static int collect(json_t *items, struct rec **ret, size_t *ret_n) {
        struct rec *recs = NULL;
        size_t n = 0, cap = 0;
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
                json_t *set = json_object_get(it, "set");
                const char *name = json_string_value(json_object_get(set, "name"));
                struct rec proto = {0};
                if (!name || !parse_set_name(name, &proto))
                        continue;
                json_int_t set_timeout = json_integer_value(json_object_get(set, "timeout"));
                size_t j;
                json_t *el;
                json_array_foreach(json_object_get(set, "elem"), j, el) {
                        json_t *e = json_object_get(el, "elem");
                        json_t *val = json_object_get(e, "val");
                        json_t *expires = json_object_get(e, "expires");
                        if (!json_is_object(val) || !json_is_array(json_object_get(val, "concat")) ||
                            !json_is_integer(expires))
                                continue;
                        json_t *to = json_object_get(e, "timeout");
                        json_int_t timeout = json_is_integer(to) ? json_integer_value(to) : set_timeout;
                        json_int_t left = json_integer_value(expires);
                        /* nftables caps timeouts far below this; anything else is not a record of ours. */
                        if (timeout <= 0 || timeout > MAX_TIMEOUT || left < 0 || left > timeout)
                                continue;
                        if (n == cap) {
                                size_t c = cap ? cap * 2 : 64;
                                struct rec *p = reallocarray(recs, c, sizeof *p);
                                if (!p)
                                        goto oom;
                                recs = p, cap = c;
                        }
                        struct rec *r = &recs[n];
                        *r = proto;
                        r->val = json_object_get(val, "concat");
                        r->key = json_dumps(r->val, JSON_COMPACT);
                        if (!r->key)
                                goto oom;
                        n++;
                        r->age = timeout - left;
                        json_t *pk = json_object_get(json_object_get(e, "counter"), "packets");
                        r->count = json_is_integer(pk) ? (uint64_t) json_integer_value(pk) : 0;
                }
        }
        *ret = recs, *ret_n = n;
        return 0;
oom:
        recs_free(recs, n);
        return -ENOMEM;
}

static void fill_entry(struct shim_blocked_entry *e, const struct rec *r) {
        json_t *v = r->val;
        bool ip = r->kind[0] != 'l';
        e->direction = r->dir;
        item_text(json_array_get(v, 0), e->src, sizeof e->src);
        item_text(json_array_get(v, 1), e->dst, sizeof e->dst);
        json_t *proto = json_array_get(v, 2);
        if (!ip && json_is_integer(proto)) /* an ethertype without a name: hex, as usual */
                snprintf(e->proto, sizeof e->proto, "0x%04x", (unsigned) (json_integer_value(proto) & 0xffff));
        else
                item_text(proto, e->proto, sizeof e->proto);
        e->port = 0;
        if (ip && r->kind[0] == 'p' && json_is_integer(json_array_get(v, 3)))
                e->port = (uint16_t) json_integer_value(json_array_get(v, 3));
}

/* The records of a listing's items ("nftables" array). */
static int parse_entries(json_t *items, time_t now, struct shim_blocked_entry **ret, size_t *ret_n) {
        struct rec *recs = NULL;
        size_t n = 0;
        int r = collect(items, &recs, &n);
        if (r < 0)
                return -ENOMEM;
        if (n > 1)
                qsort(recs, n, sizeof *recs, rec_cmp);
        struct shim_blocked_entry *out = calloc(n ? n : 1, sizeof *out);
        if (!out) {
                recs_free(recs, n);
                return -ENOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < n;) {
                size_t j = i;
                struct shim_blocked_entry *e = &out[k++];
                fill_entry(e, &recs[i]);
                bool have_first = false, have_last = false;
                for (; j < n && rec_cmp(&recs[i], &recs[j]) == 0; j++) {
                        if (recs[j].last) {
                                e->last = now - (time_t) recs[j].age;
                                e->count = recs[j].count;
                                have_last = true;
                        } else {
                                e->first = now - (time_t) recs[j].age;
                                have_first = true;
                        }
                }
                /* One of the pair missing (a full set, or its element expired first): use the other. */
                if (!have_first)
                        e->first = e->last;
                if (!have_last)
                        e->last = e->first;
                if (e->first > e->last)
                        e->first = e->last;
                i = j;
        }
        recs_free(recs, n);
        qsort(out, k, sizeof *out, entry_cmp);
        *ret = out, *ret_n = k;
        return 0;
}

/* The "nftables" array of a listing; *ret_root to json_decref.  -EBADMSG for the caller to explain. */
static int load_items(const char *json, json_t **ret_root, json_t **ret_items) {
        json_error_t err;
        json_t *root = json_loads(json, 0, &err);
        if (!root) {
                log_debug("cannot parse the nftables listing: %s", err.text);
                return -EBADMSG;
        }
        json_t *items = json_object_get(root, "nftables");
        if (!json_is_array(items)) {
                json_decref(root);
                log_debug("nftables listing has no \"nftables\" array");
                return -EBADMSG;
        }
        *ret_root = root, *ret_items = items;
        return 0;
}

int shim_blocked_parse(const char *json, time_t now, struct shim_blocked_entry **ret, size_t *ret_n) {
        json_t *root, *items;
        int r = load_items(json, &root, &items);
        if (r < 0)
                return r;
        r = parse_entries(items, now, ret, ret_n);
        json_decref(root);
        return r;
}

/* ---- what could not be recorded ------------------------------------------ */

bool shim_blocked_set_direction(const char *name, enum shim_blocked_direction *ret) {
        struct rec r = {0};
        if (!name || !parse_set_name(name, &r))
                return false;
        if (ret)
                *ret = r.dir;
        return true;
}

static int chain_direction(const char *name) {
        if (name && streq(name, "drop_out"))
                return SHIM_BLOCKED_EGRESS;
        if (name && streq(name, "drop_in"))
                return SHIM_BLOCKED_INGRESS;
        return -1;
}

/* The packets of a rule's anonymous counter, if it has one. */
static bool rule_counter(json_t *rule, uint64_t *ret) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(rule, "expr"), i, x) {
                json_t *c = json_object_get(x, "counter");
                json_t *pk = json_object_get(c, "packets");
                if (json_is_object(c) && json_is_integer(pk) && json_integer_value(pk) >= 0) {
                        *ret = (uint64_t) json_integer_value(pk);
                        return true;
                }
        }
        return false;
}

/* A bare "counter drop": nothing but an anonymous counter and the drop verdict (no match, no set statement). */
static bool rule_is_final(json_t *rule, uint64_t *ret) {
        json_t *expr = json_object_get(rule, "expr");
        if (!json_is_array(expr))
                return false;
        bool counter = false, drop = false;
        size_t i;
        json_t *x;
        json_array_foreach(expr, i, x) {
                if (!json_is_object(x) || json_object_size(x) != 1)
                        return false;
                if (json_object_get(x, "drop"))
                        drop = true;
                else if (json_is_object(json_object_get(x, "counter")))
                        counter = true;
                else
                        return false;
        }
        return counter && drop && rule_counter(rule, ret);
}

static int strv_add_sorted_unique(char ***v, const char *s) {
        size_t n = 0, at = 0;
        for (; *v && (*v)[n]; n++)
                if (strcmp((*v)[n], s) < 0)
                        at = n + 1;
                else if (streq((*v)[n], s))
                        return 0;
        char **p = reallocarray(*v, n + 2, sizeof *p);
        if (!p)
                return -ENOMEM;
        *v = p;
        p[n] = NULL; /* still a valid vector */
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        memmove(&p[at + 1], &p[at], (n - at + 1) * sizeof *p);
        p[at] = d;
        return 0;
}

static int unrecorded_items(json_t *items, bool elements, struct shim_blocked_unrecorded *u) {
        json_t *last[2] = {NULL, NULL};
        uint64_t entered[2] = {0, 0};
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
                json_t *rule = json_object_get(it, "rule");
                if (json_is_object(rule)) {
                        int d = chain_direction(json_string_value(json_object_get(rule, "chain")));
                        uint64_t pk;
                        if (d < 0)
                                continue;
                        /* Every packet in a drop chain ends at one rule (each ends in counter drop). */
                        if (rule_counter(rule, &pk))
                                entered[d] += pk;
                        last[d] = rule; /* listed in the chain's order: the last one seen is the last rule */
                        continue;
                }
                json_t *set = json_object_get(it, "set");
                const char *name = json_string_value(json_object_get(set, "name"));
                enum shim_blocked_direction d;
                if (!shim_blocked_set_direction(name, &d))
                        continue;
                json_t *size = json_object_get(set, "size");
                if (!json_is_integer(size) || json_integer_value(size) <= 0)
                        continue; /* no size: not one of ours, and never full */
                uint64_t sz = (uint64_t) json_integer_value(size);
                if (u->min_size[d] == 0 || sz < u->min_size[d])
                        u->min_size[d] = sz;
                json_t *elem = json_object_get(set, "elem");
                if (elements && json_array_size(elem) >= sz && strv_add_sorted_unique(&u->full_sets, name) < 0)
                        return -ENOMEM;
        }
        for (int d = 0; d < 2; d++) {
                if (!last[d])
                        continue; /* this listing does not show the chain's rules */
                u->entered[d] = entered[d];
                u->known[d] = rule_is_final(last[d], &u->packets[d]);
                if (!u->known[d])
                        u->packets[d] = 0;
        }
        return 0;
}

int shim_blocked_unrecorded_parse(const char *json, bool elements, struct shim_blocked_unrecorded *u) {
        json_t *root, *items;
        int r = load_items(json, &root, &items);
        if (r < 0)
                return r;
        r = unrecorded_items(items, elements, u);
        json_decref(root);
        return r;
}

int shim_blocked_report_parse(const char *json, time_t now, struct shim_blocked_entry **ret, size_t *n,
                              struct shim_blocked_unrecorded *u) {
        json_t *root, *items;
        int r = load_items(json, &root, &items);
        if (r < 0)
                return r;
        r = unrecorded_items(items, true, u);
        if (r >= 0)
                r = parse_entries(items, now, ret, n);
        json_decref(root);
        if (r < 0)
                shim_blocked_unrecorded_done(u);
        return r;
}

void shim_blocked_unrecorded_done(struct shim_blocked_unrecorded *u) {
        strv_free(u->full_sets);
        u->full_sets = NULL;
}

json_t *shim_blocked_unrecorded_counts_json(const struct shim_blocked_unrecorded *u) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        if (json_object_set_new(o, "egress",
                                u->known[SHIM_BLOCKED_EGRESS] ? json_integer((json_int_t) u->packets[SHIM_BLOCKED_EGRESS])
                                                              : json_null()) < 0 ||
            json_object_set_new(o, "ingress",
                                u->known[SHIM_BLOCKED_INGRESS] ? json_integer((json_int_t) u->packets[SHIM_BLOCKED_INGRESS])
                                                               : json_null()) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *shim_blocked_full_sets_json(const struct shim_blocked_unrecorded *u, int dir) {
        json_t *a = json_array();
        if (!a)
                return NULL;
        for (char **s = u->full_sets; s && *s; s++) {
                enum shim_blocked_direction d;
                if (!shim_blocked_set_direction(*s, &d) || (dir >= 0 && (int) d != dir))
                        continue;
                if (json_array_append_new(a, json_string(*s)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

void shim_blocked_entries_free(struct shim_blocked_entry *e) {
        free(e);
}
