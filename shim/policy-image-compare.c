/* SPDX-License-Identifier: Apache-2.0 */
/* The comparison of two policy images (policy-image.h): the first difference, named. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy-image-compare.h"
#include "policy-image-internal.h"
#include "reason.h"
#include "strparse.h"

/* "element 0a000001 : 0 [end]" as an address when the set holds single addresses, else as printed. */
static void elem_text(const struct img_set *s, const char *e, char *buf, size_t size) {
        int family = s->decl && streq(s->decl, "type ipv4_addr") ? AF_INET
                     : s->decl && strncmp(s->decl, "type ipv4_addr;", 15) == 0 ? AF_INET
                     : s->decl && (streq(s->decl, "type ipv6_addr") || strncmp(s->decl, "type ipv6_addr;", 15) == 0)
                             ? AF_INET6
                             : 0;
        uint32_t words[4];
        size_t want = family == AF_INET ? 1 : 4, got = 0;
        const char *p = e + strlen("element ");
        while (family && got < want) {
                const char *end;
                uint64_t v;
                if (ecl_parse_hex_prefix(p, &v, &end) < 0 || end - p != 8)
                        break;
                words[got++] = (uint32_t) v; /* printed from memory as host words: the bytes in order again */
                p = end + strspn(end, " ");
        }
        if (family && got == want && inet_ntop(family, words, buf, (socklen_t) size))
                return;
        snprintf(buf, size, "%s", e);
}

static bool has_elem(const struct img_set *s, const char *e) {
        return s->n_elems > 0 && bsearch(&e, s->elems, s->n_elems, sizeof *s->elems, pol_image_strcmp_p) != NULL;
}

/* The first element of a that b lacks, a start of an interval if there is one ("... : 0 ..."). */
static const char *first_missing(const struct img_set *a, const struct img_set *b) {
        const char *found = NULL;
        for (size_t i = 0; i < a->n_elems; i++)
                if (!has_elem(b, a->elems[i])) {
                        if (strstr(a->elems[i], " : 0 "))
                                return a->elems[i];
                        if (!found)
                                found = a->elems[i];
                }
        return found;
}

static int compare_elems(const struct img_set *w, const struct img_set *h, char **ret_problem) {
        size_t n = h ? h->n_elems : 0;
        if (w->grant) {
                /* What the shim granted: nothing, until grants are made through the supervisor. */
                if (n > w->n_elems)
                        return ecl_reason(ret_problem, -ESRCH, "grant set %s holds %zu element%s the shim did not grant", w->name,
                                       n - w->n_elems, n - w->n_elems == 1 ? "" : "s");
        }
        struct img_set empty = {0};
        const char *extra = first_missing(h ? h : &empty, w), *lack = first_missing(w, h ? h : &empty);
        char buf[128];
        if (extra) {
                elem_text(w, extra, buf, sizeof buf);
                return ecl_reason(ret_problem, -ESRCH, "set %s holds %s, which is not the policy's", w->name, buf);
        }
        if (lack) {
                elem_text(w, lack, buf, sizeof buf);
                return ecl_reason(ret_problem, -ESRCH, "set %s lacks %s", w->name, buf);
        }
        if (n != w->n_elems)
                return ecl_reason(ret_problem, -ESRCH, "set %s has %zu elements, expected %zu", w->name, n, w->n_elems);
        return 0;
}

/* The rule's comment ("ecluse N") from its userdata line, or "no comment". */
static void rule_comment(const struct img_rule *r, char *buf, size_t size) {
        const char *p = strstr(r->expr, "userdata = ");
        p = p ? strstr(p, POL_RULE_COMMENT_PREFIX) : NULL;
        if (!p) {
                snprintf(buf, size, "no comment");
                return;
        }
        size_t n = strcspn(p, "\\\n");
        snprintf(buf, size, "\"%.*s\"", (int) n, p);
}

/* The first line where a and b differ, in one problem. */
static int rule_differs(const char *chain, const struct img_rule *w, const struct img_rule *h, char **ret_problem) {
        const char *a = w->expr, *b = h->expr;
        while (*a && *a == *b) {
                const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
                size_t la = na ? (size_t) (na - a) : strlen(a), lb = nb ? (size_t) (nb - b) : strlen(b);
                if (la != lb || memcmp(a, b, la) != 0)
                        break;
                a += la + (na ? 1 : 0);
                b += lb + (nb ? 1 : 0);
        }
        char cw[64], ch[64];
        rule_comment(w, cw, sizeof cw);
        rule_comment(h, ch, sizeof ch);
        int la = (int) strcspn(a, "\n"), lb = (int) strcspn(b, "\n");
        return ecl_reason(ret_problem, -ESRCH, "chain %s, rule %s%s%s%s: expression differs: the kernel has \"%.*s\", the policy \"%.*s\"",
                       chain, cw, streq(cw, ch) ? "" : " (the kernel's: ", streq(cw, ch) ? "" : ch,
                       streq(cw, ch) ? "" : ")", lb, *b ? b : "(end)", la, *a ? a : "(end)");
}

static int compare_rules(const struct pol_image *want, const struct pol_image *have, char **ret_problem) {
        for (size_t c = 0; c < want->n_chains; c++) {
                const char *chain = want->chains[c].name;
                size_t nw = 0, nh = 0;
                for (size_t i = 0; i < want->n_rules; i++)
                        nw += streq(want->rules[i].chain, chain);
                for (size_t i = 0; i < have->n_rules; i++)
                        nh += streq(have->rules[i].chain, chain);
                if (nw != nh)
                        return ecl_reason(ret_problem, -ESRCH, "chain %s has %zu rules, expected %zu", chain, nh, nw);
                for (size_t i = 0, j = 0; i < want->n_rules; i++) {
                        if (!streq(want->rules[i].chain, chain))
                                continue;
                        while (!streq(have->rules[j].chain, chain))
                                j++;
                        if (!streq(want->rules[i].expr, have->rules[j].expr))
                                return rule_differs(chain, &want->rules[i], &have->rules[j], ret_problem);
                        j++;
                }
        }
        return 0;
}

int pol_image_compare(const struct pol_image *want, const struct pol_image *have, char **ret_problem) {
        *ret_problem = NULL;
        if (have->table_extra)
                return strncmp(have->table_extra, "flags", 5) == 0
                               ? ecl_reason(ret_problem, -ESRCH, "the table has \"%s\" (made dormant: no chain hooked)", have->table_extra)
                               : ecl_reason(ret_problem, -ESRCH, "the table has \"%s\", which is not the policy's", have->table_extra);
        for (size_t i = 0; i < want->n_chains; i++) {
                const struct img_chain *w = &want->chains[i], *h = pol_image_find_chain(have, w->name);
                if (!h)
                        return ecl_reason(ret_problem, -ESRCH, "chain %s is missing", w->name);
                if (streq(w->header, h->header))
                        continue;
                const char *dev = strstr(w->header, "device \"");
                _cleanup_free_ char *d = dev ? strndup(dev, strcspn(dev + 8, "\"") + 9) : NULL;
                if (dev && !d)
                        return -ENOMEM;
                if (dev && !strstr(h->header, d))
                        return ecl_reason(ret_problem, -ESRCH, "chain %s is not on device %.*s (\"%s\")", w->name,
                                       (int) strcspn(dev + 8, "\""), dev + 8, h->header);
                return ecl_reason(ret_problem, -ESRCH, "chain %s is \"%s\", the policy's is \"%s\"", w->name, h->header,
                               w->header);
        }
        for (size_t i = 0; i < have->n_chains; i++)
                if (!pol_image_find_chain(want, have->chains[i].name))
                        return ecl_reason(ret_problem, -ESRCH, "chain %s is not the policy's%s%s%s", have->chains[i].name,
                                       *have->chains[i].header ? " (" : "", have->chains[i].header,
                                       *have->chains[i].header ? ")" : "");
        for (size_t i = 0; i < want->n_sets; i++) {
                const struct img_set *w = &want->sets[i];
                if (w->anon)
                        continue;
                const struct img_set *h = pol_image_find_set(have, w->name);
                if (!h || !h->decl)
                        return ecl_reason(ret_problem, -ESRCH, "set %s is missing", w->name);
                if (!streq(w->decl, h->decl))
                        return ecl_reason(ret_problem, -ESRCH, "set %s is \"%s\", the policy's is \"%s\"", w->name, h->decl,
                                       w->decl);
        }
        for (size_t i = 0; i < have->n_sets; i++)
                if (!have->sets[i].anon && !pol_image_find_set(want, have->sets[i].name))
                        return ecl_reason(ret_problem, -ESRCH, "set %s is not the policy's", have->sets[i].name);
        for (size_t i = 0; i < want->n_sets; i++) {
                const struct img_set *w = &want->sets[i];
                if (w->anon || !w->compare)
                        continue;
                int r = compare_elems(w, pol_image_find_set(have, w->name), ret_problem);
                if (r < 0)
                        return r;
        }
        return compare_rules(want, have, ret_problem);
}
