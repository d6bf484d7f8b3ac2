/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy's image (policy-image.h): two parsers of libnftables' output
 * (the comparison is policy-image-compare.c).
 *
 * libnftables 1.0.6 prints, with NFT_DEBUG_NETLINK, for the commands that
 * load a table:
 *   netdev (null) (null) use 0 ...              a chain
 *   NAME TABLE FLAGS [timeout Nms] [size N]     a set ("__set%d" anonymous)
 *   NAME TABLE 0                                a batch of its elements,
 *   \telement 0a000001  : 0 [end]\telement ...  on one line
 *   netdev TABLE CHAIN                          a rule, then its expressions:
 *     [ payload load 4b @ network header + 12 => reg 1 ]
 *     userdata = { ... }                        (the comment)
 * and for `list table`, before the text listing ("table netdev TABLE {"):
 *   netdev TABLE @NAME                          a set ("__setN" anonymous)
 *   \telement 0a000001  : 0 [end]               one element a line
 *   netdev TABLE CHAIN HANDLE                   a rule, then its expressions
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "policy-image-internal.h"


void pol_image_free(struct pol_image *img) {
        if (!img)
                return;
        free(img->table_extra);
        for (size_t i = 0; i < img->n_chains; i++) {
                free(img->chains[i].name);
                free(img->chains[i].header);
        }
        for (size_t i = 0; i < img->n_sets; i++) {
                free(img->sets[i].name);
                free(img->sets[i].decl);
                for (size_t k = 0; k < img->sets[i].n_elems; k++)
                        free(img->sets[i].elems[k]);
                free(img->sets[i].elems);
        }
        for (size_t i = 0; i < img->n_rules; i++) {
                free(img->rules[i].chain);
                free(img->rules[i].expr);
        }
        free(img->chains);
        free(img->sets);
        free(img->rules);
        free(img);
}

/* Room for one more of *n items of size bytes in *p. */
static int grow(void *p, size_t *cap, size_t n, size_t size) {
        void **pp = p;
        if (n < *cap)
                return 0;
        size_t c = *cap ? *cap * 2 : 16;
        void *q = reallocarray(*pp, c, size);
        if (!q)
                return -ENOMEM;
        memset((char *) q + *cap * size, 0, (c - *cap) * size);
        *pp = q;
        *cap = c;
        return 0;
}

static struct img_set *add_set(struct pol_image *img, const char *name) {
        if (grow(&img->sets, &img->cap_sets, img->n_sets, sizeof *img->sets) < 0)
                return NULL;
        struct img_set *s = &img->sets[img->n_sets];
        s->name = strdup(name);
        if (!s->name)
                return NULL;
        s->anon = strncmp(name, "__set", 5) == 0;
        img->n_sets++;
        return s;
}

struct img_set *pol_image_find_set(const struct pol_image *img, const char *name) {
        for (size_t i = 0; i < img->n_sets; i++)
                if (streq(img->sets[i].name, name))
                        return &img->sets[i];
        return NULL;
}

struct img_chain *pol_image_find_chain(const struct pol_image *img, const char *name) {
        for (size_t i = 0; i < img->n_chains; i++)
                if (streq(img->chains[i].name, name))
                        return &img->chains[i];
        return NULL;
}

static int add_chain(struct pol_image *img, const char *name, const char *header) {
        if (grow(&img->chains, &img->cap_chains, img->n_chains, sizeof *img->chains) < 0)
                return -ENOMEM;
        struct img_chain *c = &img->chains[img->n_chains];
        c->name = strdup(name);
        c->header = strdup(header);
        img->n_chains++;
        return c->name && c->header ? 0 : -ENOMEM;
}

static struct img_rule *add_rule(struct pol_image *img, const char *chain) {
        if (grow(&img->rules, &img->cap_rules, img->n_rules, sizeof *img->rules) < 0)
                return NULL;
        struct img_rule *r = &img->rules[img->n_rules];
        r->chain = strdup(chain);
        r->expr = strdup("");
        img->n_rules++;
        return r->chain && r->expr ? r : NULL;
}

static int append(char **s, size_t *len, const char *add, size_t n) {
        char *q = realloc(*s, *len + n + 1);
        if (!q)
                return -ENOMEM;
        memcpy(q + *len, add, n);
        *len += n;
        q[*len] = '\0';
        *s = q;
        return 0;
}

/* One element, its blanks collapsed: "element 0a000001 : 0 [end]". */
static int add_elem(struct img_set *s, const char *e, size_t n) {
        if (grow(&s->elems, &s->cap_elems, s->n_elems, sizeof *s->elems) < 0)
                return -ENOMEM;
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return -ENOMEM;
        bool blank = false;
        for (size_t i = 0; i < n; i++) {
                if (e[i] == ' ' || e[i] == '\t') {
                        blank = o != out;
                        continue;
                }
                if (blank)
                        *o++ = ' ';
                blank = false;
                *o++ = e[i];
        }
        *o = '\0';
        s->elems[s->n_elems++] = out;
        return 0;
}

/* Every "element ..." in a line (tab-separated at load, one a line in listings). */
static int add_elems(struct img_set *s, const char *line) {
        for (const char *p = strstr(line, "element "); p;) {
                const char *next = strstr(p + 8, "element ");
                size_t n = next ? (size_t) (next - p) : strlen(p);
                int r = add_elem(s, p, n);
                if (r < 0)
                        return r;
                p = next;
        }
        return 0;
}

int pol_image_strcmp_p(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void normalise_elems(struct img_set *s);

/* The elements joined ("{ e, e }"), sorted, for an anonymous set in its rule. */
static int anon_text(struct img_set *s, char **ret) {
        normalise_elems(s);
        char *t = strdup("{ ");
        size_t len = t ? 2 : 0;
        int r = t ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < s->n_elems; i++) {
                r = append(&t, &len, s->elems[i], strlen(s->elems[i]));
                if (r >= 0)
                        r = append(&t, &len, i + 1 < s->n_elems ? ", " : " }", 2);
        }
        if (r >= 0 && s->n_elems == 0)
                r = append(&t, &len, "}", 1);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

/* Remove every " WORD" equal to cut from line (in place). */
static void cut_word(char *line, const char *cut) {
        size_t n = strlen(cut);
        for (char *p = line; (p = strstr(p, cut));) {
                if (p[n] == ' ' || p[n] == '\0')
                        memmove(p, p + n, strlen(p + n) + 1);
                else
                        p += n;
        }
}

/* "pkts 12 bytes 3400" -> "" (counters count). */
static void cut_counts(char *line) {
        for (char *p = line; (p = strstr(p, " pkts "));) {
                char *q = p + 6;
                q += strspn(q, "0123456789");
                if (strncmp(q, " bytes ", 7) != 0) {
                        p++;
                        continue;
                }
                q += 7;
                q += strspn(q, "0123456789");
                memmove(p, q, strlen(q) + 1);
        }
}

/*
 * One expression line of a rule, normalised, appended: counter values and
 * the defaults one side prints and the other not ("lookup ... 0x0", "dynset
 * ... timeout 0ms") go; an anonymous set's name is replaced by its elements
 * (anon: the next one of the rule, found by the caller).
 */
static int rule_line(struct img_rule *r, const char *line, struct img_set *(*anon)(void *ud, const char *name),
                     void *ud, char **ret_reason) {
        _cleanup_free_ char *l = strdup(line);
        if (!l)
                return -ENOMEM;
        while (*l && (l[strlen(l) - 1] == ' ' || l[strlen(l) - 1] == '\t'))
                l[strlen(l) - 1] = '\0';
        cut_counts(l);
        if (strstr(l, "[ lookup ")) {
                size_t n = strlen(l);
                if (n > 6 && streq(l + n - 6, " 0x0 ]"))
                        memmove(l + n - 6, " ]", 3);
        }
        if (strstr(l, "[ dynset "))
                cut_word(l, " timeout 0ms");
        char *set = strstr(l, " set __set");
        if (set) {
                set += 5;
                size_t n = strcspn(set, " ]");
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int) n, set);
                struct img_set *s = anon(ud, name);
                if (!s)
                        return ecl_reason(ret_reason, -EBADMSG, "nftables output: rule refers to unknown set %s", name);
                _cleanup_free_ char *elems = NULL;
                int k = anon_text(s, &elems);
                if (k < 0)
                        return k;
                size_t head = (size_t) (set - l);
                int w = append(&r->expr, &r->len, l, head);
                if (w >= 0)
                        w = append(&r->expr, &r->len, elems, strlen(elems));
                if (w >= 0)
                        w = append(&r->expr, &r->len, set + n, strlen(set + n));
                return w < 0 ? w : append(&r->expr, &r->len, "\n", 1);
        }
        int w = append(&r->expr, &r->len, l, strlen(l));
        return w < 0 ? w : append(&r->expr, &r->len, "\n", 1);
}

/* The first n words of a line, into w (each up to 63 characters); returns how many it has. */
static size_t words(const char *line, char w[][64], size_t n) {
        size_t k = 0;
        for (const char *p = line; k < n;) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                size_t len = strcspn(p, " \t");
                snprintf(w[k++], 64, "%.*s", (int) len, p);
                p += len;
        }
        return k;
}

/* nft's way of printing a duration: "1h", "2m", "7d", "1h30m". */
static void print_duration(char *buf, size_t size, uint32_t s) {
        static const struct {
                uint32_t unit;
                const char *sfx;
        } u[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(u); i++)
                if (s >= u[i].unit) {
                        len += (size_t) snprintf(buf + len, size - len, "%u%s", s / u[i].unit, u[i].sfx);
                        s %= u[i].unit;
                        if (len >= size)
                                return;
                }
}

/* A declaration as nft's terse listing prints it, its lines joined by "; ". */
static int set_decl(const struct pol_set *s, char **ret) {
        char type[256] = "", timeout[32] = "";
        size_t len = 0;
        for (size_t i = 0; i < s->n_type && len < sizeof type; i++)
                len += (size_t) snprintf(type + len, sizeof type - len, "%s%s", i ? " . " : "", s->type[i]);
        char flags[64] = "";
        len = 0;
        if (s->flags & PSF_DYNAMIC)
                len += (size_t) snprintf(flags + len, sizeof flags - len, "%sdynamic", len ? "," : "");
        if (s->flags & PSF_INTERVAL)
                len += (size_t) snprintf(flags + len, sizeof flags - len, "%sinterval", len ? "," : "");
        if (s->flags & PSF_TIMEOUT)
                len += (size_t) snprintf(flags + len, sizeof flags - len, "%stimeout", len ? "," : "");
        if (s->timeout_s)
                print_duration(timeout, sizeof timeout, s->timeout_s);
        char size[32] = "";
        if (s->size)
                snprintf(size, sizeof size, "; size %u", s->size);
        return asprintf(ret, "type %s%s%s%s%s%s%s", type, size, *flags ? "; flags " : "", flags,
                        s->counter ? "; counter" : "", *timeout ? "; timeout " : "", timeout) < 0
                       ? -ENOMEM
                       : 0;
}

/*
 * Sorted elements (compared with bsearch, in an order that does not depend on
 * the listing's), each once: the kernel holds a key once, libnftables 1.0.6
 * sends some interval ends twice (10,000 entries: 16,085 elements of nbr4
 * sent, 16,081 held, none other).
 */
static void normalise_elems(struct img_set *s) {
        if (s->n_elems == 0)
                return;
        qsort(s->elems, s->n_elems, sizeof *s->elems, pol_image_strcmp_p);
        size_t k = 1;
        for (size_t i = 1; i < s->n_elems; i++) {
                if (streq(s->elems[i], s->elems[k - 1])) {
                        free(s->elems[i]);
                        continue;
                }
                s->elems[k++] = s->elems[i];
        }
        s->n_elems = k;
}

static void sort_elems(struct pol_image *img) {
        for (size_t i = 0; i < img->n_sets; i++)
                if (!img->sets[i].anon)
                        normalise_elems(&img->sets[i]);
}

/* ---- the expected image ---- */

struct expect_ctx {
        struct pol_image *img;
        size_t anon_next; /* the index in img->sets of the rule's next anonymous set */
};

static struct img_set *expect_anon(void *ud, const char *name) {
        struct expect_ctx *c = ud;
        (void) name; /* "__set%d" at load: the anonymous sets come in the order the rule uses them */
        while (c->anon_next < c->img->n_sets && !c->img->sets[c->anon_next].anon)
                c->anon_next++;
        return c->anon_next < c->img->n_sets ? &c->img->sets[c->anon_next++] : NULL;
}

int pol_image_expect(const struct pol_table *t, const char *load_debug, struct pol_image **ret, char **ret_reason) {
        _cleanup_pol_image_ struct pol_image *img = calloc(1, sizeof *img);
        if (!img)
                return -ENOMEM;
        for (size_t k = 0; k < t->n_chains; k++) {
                const struct pol_chain *c = &t->chains[k];
                _cleanup_free_ char *h = NULL;
                if (c->hook && asprintf(&h, "type filter hook %s device \"%s\" priority %d; policy %s;", c->hook,
                                        c->on_uplink ? t->uplink : t->device, c->prio,
                                        c->policy_drop ? "drop" : "accept") < 0)
                        return -ENOMEM;
                if (add_chain(img, c->name, h ? h : "") < 0)
                        return -ENOMEM;
        }
        for (size_t k = 0; k < t->n_sets; k++) {
                struct img_set *s = add_set(img, t->sets[k].name);
                if (!s || set_decl(&t->sets[k], &s->decl) < 0)
                        return -ENOMEM;
                s->grant = strncmp(s->name, "grant_", 6) == 0;
                s->compare = !(t->sets[k].flags & PSF_TIMEOUT) || s->grant;
        }
        _cleanup_free_ char *buf = strdup(load_debug);
        if (!buf)
                return -ENOMEM;
        struct expect_ctx ctx = {.img = img};
        struct img_set *cur_set = NULL;
        struct img_rule *cur_rule = NULL;
        for (char *line = buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                int r = 0;
                if (strstr(line, "\telement ")) {
                        if (!cur_set)
                                return ecl_reason(ret_reason, -EBADMSG, "nftables output: elements of no set");
                        r = add_elems(cur_set, line);
                } else if (strncmp(line, "  [", 3) == 0 || strncmp(line, "  userdata", 10) == 0) {
                        if (!cur_rule)
                                return ecl_reason(ret_reason, -EBADMSG, "nftables output: expressions of no rule");
                        r = rule_line(cur_rule, line, expect_anon, &ctx, ret_reason);
                } else {
                        char w[4][64];
                        size_t n = words(line, w, 4);
                        if (n == 0)
                                continue;
                        cur_set = NULL;
                        cur_rule = NULL;
                        if (n >= 2 && streq(w[0], "netdev") && streq(w[1], "(null)"))
                                continue; /* a chain: the IR has them */
                        if (n == 3 && streq(w[0], "netdev") && streq(w[1], t->name)) {
                                /* a new rule: its anonymous sets were the ones declared since the last */
                                cur_rule = add_rule(img, w[2]);
                                if (!cur_rule)
                                        return -ENOMEM;
                                continue;
                        }
                        if (n >= 3 && streq(w[1], t->name)) {
                                if (streq(w[0], "__set%d")) {
                                        if (streq(w[2], "0")) { /* elements of the last one */
                                                for (size_t i = img->n_sets; i-- > 0 && !cur_set;)
                                                        if (img->sets[i].anon)
                                                                cur_set = &img->sets[i];
                                        } else {
                                                cur_set = add_set(img, "__set%d");
                                                if (!cur_set)
                                                        return -ENOMEM;
                                        }
                                } else {
                                        cur_set = pol_image_find_set(img, w[0]);
                                }
                                if (!cur_set)
                                        return ecl_reason(ret_reason, -EBADMSG,
                                                          "nftables output: set %s not in the policy", w[0]);
                                continue;
                        }
                        return ecl_reason(ret_reason, -EBADMSG, "nftables output: unexpected line: %.80s", line);
                }
                if (r < 0)
                        return r;
        }
        sort_elems(img);
        *ret = TAKE_PTR(img);
        return 0;
}

/* ---- the kernel's image ---- */

static struct img_set *listing_anon(void *ud, const char *name) {
        return pol_image_find_set(ud, name);
}

/* Whether the listing's elements of this set are kept: want compares them, or it is anonymous. */
static bool keep_elems(const struct pol_image *want, const char *name) {
        if (strncmp(name, "__set", 5) == 0)
                return true;
        const struct img_set *w = pol_image_find_set(want, name);
        return w && w->compare;
}

int pol_image_parse_listing(const struct pol_image *want, const char *listing, struct pol_image **ret,
                            char **ret_reason) {
        _cleanup_pol_image_ struct pol_image *img = calloc(1, sizeof *img);
        if (!img)
                return -ENOMEM;
        _cleanup_free_ char *buf = strdup(listing);
        if (!buf)
                return -ENOMEM;
        char *line = buf, *next;
        /* The debug part: sets' elements and rules. */
        struct img_set *cur_set = NULL;
        bool skip_elems = false;
        size_t rule_start = 0;
        struct {
                size_t rule;
                char *line;
        } *pending = NULL;
        size_t n_pending = 0, cap_pending = 0;
        int r = 0;
        for (; line && *line && strncmp(line, "table ", 6) != 0; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, "\telement ", 9) == 0) {
                        if (skip_elems)
                                continue;
                        if (!cur_set) {
                                r = ecl_reason(ret_reason, -EBADMSG, "nftables listing: elements of no set");
                                break;
                        }
                        r = add_elem(cur_set, line + 1, strlen(line + 1));
                } else if (strncmp(line, "  [", 3) == 0 || strncmp(line, "  userdata", 10) == 0) {
                        if (img->n_rules == rule_start) {
                                r = ecl_reason(ret_reason, -EBADMSG, "nftables listing: expressions of no rule");
                                break;
                        }
                        /* kept for later: the anonymous sets are all listed, but keep it simple and exact */
                        r = grow(&pending, &cap_pending, n_pending, sizeof *pending);
                        if (r >= 0) {
                                pending[n_pending].rule = img->n_rules - 1;
                                pending[n_pending++].line = line;
                        }
                } else {
                        char w[4][64];
                        size_t n = words(line, w, 4);
                        cur_set = NULL;
                        skip_elems = false;
                        if (n == 3 && streq(w[0], "netdev") && w[2][0] == '@') {
                                if (keep_elems(want, w[2] + 1)) {
                                        cur_set = pol_image_find_set(img, w[2] + 1);
                                        if (!cur_set && !(cur_set = add_set(img, w[2] + 1)))
                                                r = -ENOMEM;
                                } else
                                        skip_elems = true;
                        } else if (n == 4 && streq(w[0], "netdev")) {
                                if (!add_rule(img, w[2]))
                                        r = -ENOMEM;
                        } else if (n > 0) {
                                r = ecl_reason(ret_reason, -EBADMSG, "nftables listing: unexpected line: %.80s", line);
                        }
                }
                if (r < 0)
                        break;
        }
        for (size_t i = 0; r >= 0 && i < n_pending; i++)
                r = rule_line(&img->rules[pending[i].rule], pending[i].line, listing_anon, img, ret_reason);
        free(pending);
        if (r < 0)
                return r;
        /* The text part: what the table has, the chains' headers, the sets' declarations. */
        enum { TOP, IN_SET, IN_CHAIN } where = TOP;
        struct img_set *decl_set = NULL;
        size_t decl_len = 0;
        bool header_seen = false;
        bool in_table = false;
        for (; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char w[3][64];
                size_t n = words(line, w, 3);
                if (n == 0)
                        continue;
                if (!in_table) {
                        if (!streq(w[0], "table"))
                                return ecl_reason(ret_reason, -EBADMSG, "nftables listing: unexpected line: %.80s",
                                                  line);
                        in_table = true;
                        continue;
                }
                if (where == TOP) {
                        if (streq(w[0], "}"))
                                break;
                        if (n == 3 && streq(w[0], "set") && streq(w[2], "{")) {
                                decl_set = pol_image_find_set(img, w[1]);
                                if (!decl_set && !(decl_set = add_set(img, w[1])))
                                        return -ENOMEM;
                                free(decl_set->decl);
                                decl_set->decl = strdup("");
                                if (!decl_set->decl)
                                        return -ENOMEM;
                                decl_len = 0;
                                where = IN_SET;
                        } else if (n == 3 && streq(w[0], "chain") && streq(w[2], "{")) {
                                if (add_chain(img, w[1], "") < 0)
                                        return -ENOMEM;
                                header_seen = false;
                                where = IN_CHAIN;
                        } else if (!img->table_extra) {
                                img->table_extra = strdup(line + strspn(line, " \t"));
                                if (!img->table_extra)
                                        return -ENOMEM;
                        }
                        continue;
                }
                if (streq(w[0], "}") && line[0] == '\t' && line[1] == '}') {
                        where = TOP;
                        continue;
                }
                const char *text = line + strspn(line, " \t");
                if (where == IN_SET) {
                        if (streq(w[0], "elements"))
                                continue;
                        if ((decl_len && append(&decl_set->decl, &decl_len, "; ", 2) < 0) ||
                            append(&decl_set->decl, &decl_len, text, strlen(text)) < 0)
                                return -ENOMEM;
                } else if (!header_seen) {
                        header_seen = true; /* a base chain's header comes first, or none */
                        if (streq(w[0], "type")) {
                                struct img_chain *c = &img->chains[img->n_chains - 1];
                                free(c->header);
                                c->header = strdup(text);
                                if (!c->header)
                                        return -ENOMEM;
                        }
                }
        }
        sort_elems(img);
        *ret = TAKE_PTR(img);
        return 0;
}
