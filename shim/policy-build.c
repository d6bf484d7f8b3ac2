/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifest -> intermediate rule list (policy-ir.h).
 *
 * guest_out (hook ingress on the tap: what the guest sends), in order:
 *   frames from another MAC; ARP with another sender MAC or IPv4 address;
 *   IPv6 neighbour discovery from link-local/unspecified sources; packets from
 *   addresses not in network.addresses -> drop_out
 *   neighbour discovery (RS/NS/NA, never RA) -> accept
 *   packets of tracked flows (@flows4/6, @peers4/6: refreshed) -> accept
 *   break-glass grants (@grant_out4/6 and replies to @grant_in4/6, empty
 *   until granted) -> accept
 *   the manifest's egress, grouped by (protocol, ports), destinations in
 *   address sets with a counter per element -> track, accept
 *   everything else -> drop_out
 * guest_in (hook egress: what is sent to the guest): ARP, ND (no RA),
 *   tracked flows, grants, the manifest's ingress, else drop_in.
 * drop_out/drop_in record the packet (source, destination, protocol, port;
 *   ethertype for non-IP) in blk_* sets and drop it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "policy-ir.h"

struct builder {
        struct pol_table *t;
        size_t cap_sets, cap_rules;
};

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

void pol_table_free(struct pol_table *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_sets; i++)
                free(t->sets[i].elems);
        free(t->sets);
        free(t->chains);
        for (size_t i = 0; i < t->n_rules; i++)
                for (size_t j = 0; j < t->rules[i].n; j++)
                        free(t->rules[i].s[j].vals);
        free(t->rules);
        free(t);
}

/* ---- small constructors ---- */

static struct pol_key k1(enum pol_field a) {
        return (struct pol_key){{a}, 1};
}
static struct pol_key k2(enum pol_field a, enum pol_field b) {
        return (struct pol_key){{a, b}, 2};
}
static struct pol_key k3(enum pol_field a, enum pol_field b, enum pol_field c) {
        return (struct pol_key){{a, b, c}, 3};
}
static struct pol_key k4(enum pol_field a, enum pol_field b, enum pol_field c, enum pol_field d) {
        return (struct pol_key){{a, b, c, d}, 4};
}
static struct pol_val v_sym(const char *s) {
        return (struct pol_val){.kind = PV_SYM, .sym = s};
}
static struct pol_val v_num(uint32_t n) {
        return (struct pol_val){.kind = PV_NUM, .lo = n, .hi = n};
}
static struct pol_val v_mac(const uint8_t mac[static 6]) {
        struct pol_val v = {.kind = PV_MAC};
        memcpy(v.mac, mac, 6);
        return v;
}
static struct pol_val v_cidr(int family, const char *bytes, uint8_t prefix) {
        struct pol_val v = {.kind = PV_CIDR};
        v.cidr.family = family;
        memcpy(v.cidr.addr, bytes, family == AF_INET ? 4 : 16);
        v.cidr.prefix = prefix;
        return v;
}

static int add_set(struct builder *b, const char *name, const char *const *type, size_t n_type, unsigned flags,
                   uint32_t timeout_s, uint32_t size, bool counter) {
        if (GROW(b->t->sets, b->t->n_sets, b->cap_sets) < 0)
                return -ENOMEM;
        struct pol_set *s = &b->t->sets[b->t->n_sets++];
        *s = (struct pol_set){.flags = flags, .timeout_s = timeout_s, .size = size, .counter = counter};
        snprintf(s->name, sizeof s->name, "%s", name);
        for (size_t i = 0; i < n_type; i++)
                s->type[i] = type[i];
        s->n_type = n_type;
        return 0;
}

static struct pol_rule *rule(struct builder *b, const char *chain) {
        if (GROW(b->t->rules, b->t->n_rules, b->cap_rules) < 0)
                return NULL;
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

static void match(struct pol_rule *r, struct pol_key k, bool negate, struct pol_val v) {
        struct pol_stmt *s = stmt(r, PS_MATCH);
        s->key = k, s->negate = negate, s->rhs = PR_VALUE, s->val = v;
}
static void match_ref(struct pol_rule *r, struct pol_key k, bool negate, const char *set) {
        struct pol_stmt *s = stmt(r, PS_MATCH);
        s->key = k, s->negate = negate, s->rhs = PR_SET_REF;
        snprintf(s->set, sizeof s->set, "%s", set);
}
/* Takes ownership of vals. */
static void match_anon(struct pol_rule *r, struct pol_key k, struct pol_val *vals, size_t n) {
        struct pol_stmt *s = stmt(r, PS_MATCH);
        s->key = k, s->rhs = PR_ANON_SET, s->vals = vals, s->n_vals = n;
}
static int match_syms(struct pol_rule *r, struct pol_key k, const char *const *syms, size_t n) {
        struct pol_val *v = calloc(n, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                v[i] = v_sym(syms[i]);
        match_anon(r, k, v, n);
        return 0;
}
static void set_stmt(struct pol_rule *r, bool update, const char *set, struct pol_key k, uint32_t timeout_s) {
        struct pol_stmt *s = stmt(r, PS_SET);
        s->update = update, s->key = k, s->timeout_s = timeout_s;
        snprintf(s->set, sizeof s->set, "%s", set);
}
static void counter_verdict(struct pol_rule *r, const char *verdict, const char *target) {
        stmt(r, PS_COUNTER);
        struct pol_stmt *s = stmt(r, PS_VERDICT);
        s->verdict = verdict;
        if (target)
                snprintf(s->target, sizeof s->target, "%s", target);
}

/* ---- address and port normalisation ---- */

static int cidr_cmp(const void *a, const void *b) {
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
 * Sort and drop networks inside another of the list: networks nest or are
 * disjoint, so after sorting by address (container first) one pass leaves
 * disjoint intervals, which an interval set needs.
 */
static size_t cidrs_normalise(struct ecl_cidr *c, size_t n) {
        if (n == 0)
                return 0;
        qsort(c, n, sizeof *c, cidr_cmp);
        size_t k = 0;
        for (size_t i = 1; i < n; i++)
                if (!cidr_contains(&c[k], &c[i]))
                        c[++k] = c[i];
        return k + 1;
}

static int range_cmp(const void *a, const void *b) {
        const struct ecl_port_range *x = a, *y = b;
        return x->first != y->first ? (int) x->first - (int) y->first : (int) x->last - (int) y->last;
}

/* Sorted, overlapping and adjacent ranges merged; 0 ranges or 0-65535 both mean every port (n=0). */
static int ports_normalise(const struct ecl_port_range *in, size_t n, struct ecl_port_range **ret, size_t *ret_n) {
        *ret = NULL, *ret_n = 0;
        if (n == 0)
                return 0;
        struct ecl_port_range *p = calloc(n, sizeof *p);
        if (!p)
                return -ENOMEM;
        memcpy(p, in, n * sizeof *p);
        qsort(p, n, sizeof *p, range_cmp);
        size_t k = 0;
        for (size_t i = 1; i < n; i++) {
                if ((uint32_t) p[i].first <= (uint32_t) p[k].last + 1) {
                        if (p[i].last > p[k].last)
                                p[k].last = p[i].last;
                } else
                        p[++k] = p[i];
        }
        n = k + 1;
        if (n == 1 && p[0].first == 0 && p[0].last == 65535) {
                free(p);
                return 0;
        }
        *ret = p, *ret_n = n;
        return 0;
}

struct entry {
        int family;
        enum ecl_proto proto;
        struct ecl_port_range *ports; /* normalised, owned */
        size_t n_ports;
        struct ecl_cidr net;
};

static int entry_group_cmp(const struct entry *x, const struct entry *y) {
        if (x->family != y->family)
                return x->family - y->family;
        if (x->proto != y->proto)
                return (int) x->proto - (int) y->proto;
        if (x->n_ports != y->n_ports)
                return x->n_ports < y->n_ports ? -1 : 1;
        for (size_t i = 0; i < x->n_ports; i++) {
                int c = range_cmp(&x->ports[i], &y->ports[i]);
                if (c)
                        return c;
        }
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        const struct entry *x = a, *y = b;
        int c = entry_group_cmp(x, y);
        return c ? c : cidr_cmp(&x->net, &y->net);
}

static void entries_free(struct entry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++)
                free(e[i].ports);
        free(e);
}

static const char *proto_sym(enum ecl_proto p) {
        switch (p) {
        case ECL_PROTO_TCP:
                return "tcp";
        case ECL_PROTO_UDP:
                return "udp";
        case ECL_PROTO_ICMP:
                return "icmp";
        case ECL_PROTO_ICMPV6:
                return "ipv6-icmp";
        }
        return "tcp";
}

static const char *const addr_type4[] = {"ipv4_addr"};
static const char *const addr_type6[] = {"ipv6_addr"};

/*
 * One rule per (family, protocol, ports) of a direction; its addresses in a
 * set "DIR4_N" / "DIR6_N" with a counter per element.
 */
static int build_flows(struct builder *b, const struct ecl_rule *rules, size_t n_rules, bool egress) {
        const char *dir = egress ? "out" : "in";
        const char *chain = egress ? "guest_out" : "guest_in";
        struct entry *e = calloc(n_rules ? n_rules : 1, sizeof *e);
        if (!e)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; i < n_rules; i++) {
                e[i].family = rules[i].net.family;
                e[i].proto = rules[i].proto;
                e[i].net = rules[i].net;
                if (rules[i].proto == ECL_PROTO_TCP || rules[i].proto == ECL_PROTO_UDP)
                        r = ports_normalise(rules[i].ports, rules[i].n_ports, &e[i].ports, &e[i].n_ports);
                if (r < 0)
                        goto out;
                if (e[i].family != AF_INET && e[i].family != AF_INET6) {
                        r = log_error_errno(EINVAL, "policy: rule %zu has no address family", i + 1);
                        goto out;
                }
        }
        qsort(e, n_rules, sizeof *e, entry_cmp);

        unsigned group4 = 0, group6 = 0;
        for (size_t i = 0; i < n_rules;) {
                size_t j = i + 1;
                while (j < n_rules && entry_group_cmp(&e[i], &e[j]) == 0)
                        j++;
                bool v4 = e[i].family == AF_INET;
                char set[POL_NAME_MAX];
                snprintf(set, sizeof set, "%s%s_%u", dir, v4 ? "4" : "6", v4 ? group4++ : group6++);
                r = add_set(b, set, v4 ? addr_type4 : addr_type6, 1, PSF_INTERVAL, 0, 0, true);
                if (r < 0)
                        goto out;
                struct pol_set *s = &b->t->sets[b->t->n_sets - 1];
                s->elems = calloc(j - i, sizeof *s->elems);
                if (!s->elems) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t k = i; k < j; k++)
                        s->elems[s->n_elems++] = e[k].net;
                s->n_elems = cidrs_normalise(s->elems, s->n_elems);

                struct pol_rule *ru = rule(b, chain);
                if (!ru) {
                        r = -ENOMEM;
                        goto out;
                }
                bool ported = e[i].proto == ECL_PROTO_TCP || e[i].proto == ECL_PROTO_UDP;
                match(ru, k1(PF_META_L4PROTO), false, v_sym(proto_sym(e[i].proto)));
                if (e[i].n_ports == 1 && e[i].ports[0].first == e[i].ports[0].last)
                        match(ru, k1(PF_TH_DPORT), false, v_num(e[i].ports[0].first));
                else if (e[i].n_ports > 0) {
                        struct pol_val *pv = calloc(e[i].n_ports, sizeof *pv);
                        if (!pv) {
                                r = -ENOMEM;
                                goto out;
                        }
                        for (size_t k = 0; k < e[i].n_ports; k++)
                                pv[k] = (struct pol_val){.kind = e[i].ports[k].first == e[i].ports[k].last ? PV_NUM : PV_RANGE,
                                                         .lo = e[i].ports[k].first,
                                                         .hi = e[i].ports[k].last};
                        match_anon(ru, k1(PF_TH_DPORT), pv, e[i].n_ports);
                }
                /* Egress: the peer is the destination; ingress: the source. */
                enum pol_field peer = v4 ? (egress ? PF_IP_DADDR : PF_IP_SADDR) : (egress ? PF_IP6_DADDR : PF_IP6_SADDR);
                match_ref(ru, k1(peer), false, set);
                if (ported) {
                        /* flows: peer . proto . peer port . guest port */
                        enum pol_field pport = egress ? PF_TH_DPORT : PF_TH_SPORT;
                        enum pol_field gport = egress ? PF_TH_SPORT : PF_TH_DPORT;
                        set_stmt(ru, true, v4 ? "flows4" : "flows6", k4(peer, PF_META_L4PROTO, pport, gport),
                                 e[i].proto == ECL_PROTO_TCP ? POL_FLOW_TIMEOUT_TCP : POL_FLOW_TIMEOUT_OTHER);
                } else
                        set_stmt(ru, true, v4 ? "peers4" : "peers6", k2(peer, PF_META_L4PROTO), POL_FLOW_TIMEOUT_OTHER);
                counter_verdict(ru, "accept", NULL);
                i = j;
        }
out:
        entries_free(e, n_rules);
        return r;
}

/*
 * Tracked flows, either direction: the key is always peer . proto . peer port
 * . guest port, so a flow opened by the guest and one opened towards it share
 * the set.  Every packet of a tracked flow refreshes its timeout (as conntrack
 * would), TCP for an hour, the rest for two minutes.
 */
static int build_tracked(struct builder *b, bool egress) {
        const char *chain = egress ? "guest_out" : "guest_in";
        for (int v4 = 1; v4 >= 0; v4--) {
                enum pol_field peer = v4 ? (egress ? PF_IP_DADDR : PF_IP_SADDR) : (egress ? PF_IP6_DADDR : PF_IP6_SADDR);
                enum pol_field pport = egress ? PF_TH_DPORT : PF_TH_SPORT;
                enum pol_field gport = egress ? PF_TH_SPORT : PF_TH_DPORT;
                const char *flows = v4 ? "flows4" : "flows6", *peers = v4 ? "peers4" : "peers6";
                struct pol_key key = k4(peer, PF_META_L4PROTO, pport, gport);
                struct pol_rule *r;
                if (!(r = rule(b, chain)))
                        return -ENOMEM;
                match(r, k1(PF_META_L4PROTO), false, v_sym("tcp"));
                match_ref(r, key, false, flows);
                set_stmt(r, true, flows, key, POL_FLOW_TIMEOUT_TCP);
                counter_verdict(r, "accept", NULL);
                if (!(r = rule(b, chain)))
                        return -ENOMEM;
                match_ref(r, key, false, flows);
                set_stmt(r, true, flows, key, POL_FLOW_TIMEOUT_OTHER);
                counter_verdict(r, "accept", NULL);
                if (!(r = rule(b, chain)))
                        return -ENOMEM;
                match_ref(r, k2(peer, PF_META_L4PROTO), false, peers);
                set_stmt(r, true, peers, k2(peer, PF_META_L4PROTO), POL_FLOW_TIMEOUT_OTHER);
                counter_verdict(r, "accept", NULL);
        }
        return 0;
}

/*
 * Break-glass grants (DESIGN.md "access"): elements peer . proto . port with
 * their own timeout, added to grant_out4/6 (the peer's port) or grant_in4/6
 * (the guest's port).  Matched without tracking, in both directions, so a
 * grant closes exactly when its element expires, open connections included.
 */
static int build_grants(struct builder *b, bool egress) {
        const char *chain = egress ? "guest_out" : "guest_in";
        for (int v4 = 1; v4 >= 0; v4--) {
                enum pol_field peer = v4 ? (egress ? PF_IP_DADDR : PF_IP_SADDR) : (egress ? PF_IP6_DADDR : PF_IP6_SADDR);
                char own[POL_NAME_MAX], other[POL_NAME_MAX];
                snprintf(own, sizeof own, "grant_%s%s", egress ? "out" : "in", v4 ? "4" : "6");
                snprintf(other, sizeof other, "grant_%s%s", egress ? "in" : "out", v4 ? "4" : "6");
                struct pol_rule *r;
                /* A packet of this direction to the granted port ... */
                if (!(r = rule(b, chain)))
                        return -ENOMEM;
                match_ref(r, k3(peer, PF_META_L4PROTO, PF_TH_DPORT), false, own);
                counter_verdict(r, "accept", NULL);
                /* ... or a reply from the port granted the other way. */
                if (!(r = rule(b, chain)))
                        return -ENOMEM;
                match_ref(r, k3(peer, PF_META_L4PROTO, PF_TH_SPORT), false, other);
                counter_verdict(r, "accept", NULL);
        }
        return 0;
}

static const char *const nd_from_guest[] = {"nd-router-solicit", "nd-neighbor-solicit", "nd-neighbor-advert"};
static const char *const nd_to_guest[] = {"nd-neighbor-solicit", "nd-neighbor-advert"};
static const uint8_t ip6_linklocal[16] = {0xfe, 0x80};
static const uint8_t ip6_unspecified[16] = {0};
static const uint8_t ip4_unspecified[4] = {0};

/*
 * Only untagged IPv4, IPv6 and ARP frames, in either direction.  The kernel
 * moves an 802.1Q/802.1ad tag into metadata before the netdev hooks run, so
 * every later match (meta protocol, addresses, ports) sees the inner packet:
 * without this rule a tagged copy of an allowed flow would pass and reach
 * another VLAN through the bridge.  `ether type` reads the frame as sent,
 * tag included.
 */
static int drop_not_plain_l3(struct builder *b, const char *chain, const char *drop_chain) {
        static const char *const l3[] = {"ip", "ip6", "arp"};
        struct pol_rule *r = rule(b, chain);
        if (!r || match_syms(r, k1(PF_ETHER_TYPE), l3, ELEMENTSOF(l3)) < 0)
                return -ENOMEM;
        r->s[r->n - 1].negate = true;
        counter_verdict(r, "goto", drop_chain);
        return 0;
}

static int build_guest_out(struct builder *b, const struct ecl_manifest *m) {
        const struct ecl_network *net = &m->network;
        uint8_t mac[6];
        shim_guest_mac(m, mac);
        bool restrict_src = net->n_addresses > 0;
        struct pol_rule *r;

        /* Another source MAC: spoofed. */
        if (!(r = rule(b, "guest_out")))
                return -ENOMEM;
        match(r, k1(PF_ETHER_SADDR), true, v_mac(mac));
        counter_verdict(r, "goto", "drop_out");
        if (drop_not_plain_l3(b, "guest_out", "drop_out") < 0)
                return -ENOMEM;

        /* ARP: the guest's own MAC as sender; its own IPv4 addresses (or 0.0.0.0, probes). */
        if (!(r = rule(b, "guest_out")))
                return -ENOMEM;
        match(r, k1(PF_ARP_SADDR_ETHER), true, v_mac(mac));
        counter_verdict(r, "goto", "drop_out");
        if (restrict_src) {
                if (!(r = rule(b, "guest_out")))
                        return -ENOMEM;
                match(r, k1(PF_ARP_SADDR_IP), false, v_cidr(AF_INET, (const char *) ip4_unspecified, 32));
                counter_verdict(r, "accept", NULL);
                if (!(r = rule(b, "guest_out")))
                        return -ENOMEM;
                match_ref(r, k1(PF_ARP_SADDR_IP), true, "guest_addrs4");
                counter_verdict(r, "goto", "drop_out");
        }
        if (!(r = rule(b, "guest_out")))
                return -ENOMEM;
        match(r, k1(PF_META_PROTOCOL), false, v_sym("arp"));
        counter_verdict(r, "accept", NULL);

        /*
         * With addresses given, a neighbour advertisement may only claim the
         * guest's own addresses (or a link-local one): otherwise it could
         * take another host's IPv6 address on the link, as ARP could for IPv4.
         */
        if (restrict_src) {
                if (!(r = rule(b, "guest_out")))
                        return -ENOMEM;
                match(r, k1(PF_META_L4PROTO), false, v_sym("ipv6-icmp"));
                match(r, k1(PF_ICMPV6_TYPE), false, v_sym("nd-neighbor-advert"));
                match(r, k1(PF_ND_TARGET_LL), true, v_num(0x3fa));
                size_t n6 = 0;
                for (size_t i = 0; i < net->n_addresses; i++)
                        n6 += net->addresses[i].family == AF_INET6 && net->addresses[i].prefix == 128;
                if (n6 > 0) {
                        struct pol_val *v = calloc(n6, sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        size_t k = 0;
                        for (size_t i = 0; i < net->n_addresses; i++)
                                if (net->addresses[i].family == AF_INET6 && net->addresses[i].prefix == 128)
                                        v[k++] = (struct pol_val){.kind = PV_HEX, .cidr = net->addresses[i]};
                        struct pol_stmt *st = stmt(r, PS_MATCH);
                        st->key = k1(PF_ND_TARGET), st->negate = true, st->rhs = PR_ANON_SET, st->vals = v, st->n_vals = n6;
                }
                counter_verdict(r, "goto", "drop_out");
        }

        /* Neighbour discovery from link-local or (DAD) unspecified sources; never router advertisements. */
        const uint8_t *nd_src[] = {ip6_linklocal, ip6_unspecified};
        const uint8_t nd_len[] = {10, 128};
        for (size_t i = 0; i < 2; i++) {
                if (!(r = rule(b, "guest_out")))
                        return -ENOMEM;
                match(r, k1(PF_IP6_SADDR), false, v_cidr(AF_INET6, (const char *) nd_src[i], nd_len[i]));
                match(r, k1(PF_META_L4PROTO), false, v_sym("ipv6-icmp"));
                if (match_syms(r, k1(PF_ICMPV6_TYPE), nd_from_guest, ELEMENTSOF(nd_from_guest)) < 0)
                        return -ENOMEM;
                match(r, k1(PF_IP6_HOPLIMIT), false, v_num(255));
                counter_verdict(r, "accept", NULL);
        }

        /* Only the manifest's source addresses. */
        if (restrict_src) {
                if (!(r = rule(b, "guest_out")))
                        return -ENOMEM;
                match_ref(r, k1(PF_IP_SADDR), true, "guest_addrs4");
                counter_verdict(r, "goto", "drop_out");
                if (!(r = rule(b, "guest_out")))
                        return -ENOMEM;
                match_ref(r, k1(PF_IP6_SADDR), true, "guest_addrs6");
                counter_verdict(r, "goto", "drop_out");
        }
        if (!(r = rule(b, "guest_out")))
                return -ENOMEM;
        match(r, k1(PF_META_L4PROTO), false, v_sym("ipv6-icmp"));
        if (match_syms(r, k1(PF_ICMPV6_TYPE), nd_from_guest, ELEMENTSOF(nd_from_guest)) < 0)
                return -ENOMEM;
        match(r, k1(PF_IP6_HOPLIMIT), false, v_num(255));
        counter_verdict(r, "accept", NULL);

        /*
         * Neighbour discovery not accepted above is never an opening: an icmpv6
         * rule of the manifest must not let the guest advertise itself as a
         * router or redirect its neighbours.
         */
        static const char *const nd_never[] = {"nd-router-advert", "nd-redirect", "nd-router-solicit",
                                               "nd-neighbor-solicit", "nd-neighbor-advert"};
        if (!(r = rule(b, "guest_out")))
                return -ENOMEM;
        match(r, k1(PF_META_L4PROTO), false, v_sym("ipv6-icmp"));
        if (match_syms(r, k1(PF_ICMPV6_TYPE), nd_never, ELEMENTSOF(nd_never)) < 0)
                return -ENOMEM;
        counter_verdict(r, "goto", "drop_out");

        int rr = build_tracked(b, true);
        if (rr >= 0)
                rr = build_grants(b, true);
        if (rr < 0)
                return rr;
        rr = build_flows(b, net->egress, net->n_egress, true);
        if (rr < 0)
                return rr;
        if (!(r = rule(b, "guest_out")))
                return -ENOMEM;
        counter_verdict(r, "goto", "drop_out");
        return 0;
}

static int build_guest_in(struct builder *b, const struct ecl_manifest *m) {
        struct pol_rule *r;
        if (drop_not_plain_l3(b, "guest_in", "drop_in") < 0)
                return -ENOMEM;
        if (!(r = rule(b, "guest_in")))
                return -ENOMEM;
        match(r, k1(PF_META_PROTOCOL), false, v_sym("arp"));
        counter_verdict(r, "accept", NULL);
        if (!(r = rule(b, "guest_in")))
                return -ENOMEM;
        match(r, k1(PF_META_L4PROTO), false, v_sym("ipv6-icmp"));
        if (match_syms(r, k1(PF_ICMPV6_TYPE), nd_to_guest, ELEMENTSOF(nd_to_guest)) < 0)
                return -ENOMEM;
        match(r, k1(PF_IP6_HOPLIMIT), false, v_num(255));
        counter_verdict(r, "accept", NULL);
        int rr = build_tracked(b, false);
        if (rr >= 0)
                rr = build_grants(b, false);
        if (rr < 0)
                return rr;
        rr = build_flows(b, m->network.ingress, m->network.n_ingress, false);
        if (rr < 0)
                return rr;
        if (!(r = rule(b, "guest_in")))
                return -ENOMEM;
        counter_verdict(r, "goto", "drop_in");
        return 0;
}

/* The drop chain of a direction: record (first seen, last seen + counter), then drop. */
static int build_drop(struct builder *b, const char *dir) {
        static const char *const ported[] = {"tcp", "udp", "sctp", "udplite", "dccp"};
        static const char *const t_p4[] = {"ipv4_addr", "ipv4_addr", "inet_proto", "inet_service"};
        static const char *const t_n4[] = {"ipv4_addr", "ipv4_addr", "inet_proto"};
        static const char *const t_p6[] = {"ipv6_addr", "ipv6_addr", "inet_proto", "inet_service"};
        static const char *const t_n6[] = {"ipv6_addr", "ipv6_addr", "inet_proto"};
        static const char *const t_l2[] = {"ether_addr", "ether_addr", "ether_type"};
        const struct {
                const char *kind;
                const char *const *type;
                size_t n_type;
                struct pol_key key;
                bool ports;
        } kinds[] = {
                {"p4", t_p4, 4, k4(PF_IP_SADDR, PF_IP_DADDR, PF_META_L4PROTO, PF_TH_DPORT), true},
                {"n4", t_n4, 3, k3(PF_IP_SADDR, PF_IP_DADDR, PF_META_L4PROTO), false},
                {"p6", t_p6, 4, k4(PF_IP6_SADDR, PF_IP6_DADDR, PF_META_L4PROTO, PF_TH_DPORT), true},
                {"n6", t_n6, 3, k3(PF_IP6_SADDR, PF_IP6_DADDR, PF_META_L4PROTO), false},
                {"l2", t_l2, 3, k3(PF_ETHER_SADDR, PF_ETHER_DADDR, PF_ETHER_TYPE), false},
        };
        char chain[POL_NAME_MAX];
        snprintf(chain, sizeof chain, "drop_%s", dir);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                char first[POL_NAME_MAX], last[POL_NAME_MAX];
                snprintf(first, sizeof first, POL_BLOCKED_PREFIX "%s_%s_first", dir, kinds[i].kind);
                snprintf(last, sizeof last, POL_BLOCKED_PREFIX "%s_%s_last", dir, kinds[i].kind);
                int r = add_set(b, first, kinds[i].type, kinds[i].n_type, PSF_TIMEOUT | PSF_DYNAMIC,
                                POL_BLOCKED_TIMEOUT, POL_BLOCKED_SET_SIZE, false);
                if (r < 0)
                        return r;
                r = add_set(b, last, kinds[i].type, kinds[i].n_type, PSF_TIMEOUT | PSF_DYNAMIC, POL_BLOCKED_TIMEOUT,
                            POL_BLOCKED_SET_SIZE, true);
                if (r < 0)
                        return r;
                struct pol_rule *ru = rule(b, chain);
                if (!ru)
                        return -ENOMEM;
                /* The IP kinds need their network protocol; "ip saddr" implies it. */
                if (kinds[i].ports && match_syms(ru, k1(PF_META_L4PROTO), ported, ELEMENTSOF(ported)) < 0)
                        return -ENOMEM;
                /* add keeps the first timestamp, update refreshes the last one and counts. */
                set_stmt(ru, false, first, kinds[i].key, 0);
                set_stmt(ru, true, last, kinds[i].key, 0);
                counter_verdict(ru, "drop", NULL);
        }
        /* Reached only when a record set is full: still counted, still dropped. */
        struct pol_rule *ru = rule(b, chain);
        if (!ru)
                return -ENOMEM;
        counter_verdict(ru, "drop", NULL);
        return 0;
}

static int build_sets(struct builder *b, const struct ecl_manifest *m) {
        static const char *const t_flow4[] = {"ipv4_addr", "inet_proto", "inet_service", "inet_service"};
        static const char *const t_flow6[] = {"ipv6_addr", "inet_proto", "inet_service", "inet_service"};
        static const char *const t_peer4[] = {"ipv4_addr", "inet_proto"};
        static const char *const t_peer6[] = {"ipv6_addr", "inet_proto"};
        static const char *const t_grant4[] = {"ipv4_addr", "inet_proto", "inet_service"};
        static const char *const t_grant6[] = {"ipv6_addr", "inet_proto", "inet_service"};
        int r;
        const struct ecl_network *net = &m->network;
        if (net->n_addresses > 0) {
                for (int v4 = 1; v4 >= 0; v4--) {
                        r = add_set(b, v4 ? "guest_addrs4" : "guest_addrs6", v4 ? addr_type4 : addr_type6, 1,
                                    PSF_INTERVAL, 0, 0, false);
                        if (r < 0)
                                return r;
                        struct pol_set *s = &b->t->sets[b->t->n_sets - 1];
                        s->elems = calloc(net->n_addresses, sizeof *s->elems);
                        if (!s->elems)
                                return -ENOMEM;
                        for (size_t i = 0; i < net->n_addresses; i++)
                                if (net->addresses[i].family == (v4 ? AF_INET : AF_INET6))
                                        s->elems[s->n_elems++] = net->addresses[i];
                        s->n_elems = cidrs_normalise(s->elems, s->n_elems);
                }
        }
        if ((r = add_set(b, "flows4", t_flow4, 4, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER, POL_DYN_SET_SIZE, false)) < 0 ||
            (r = add_set(b, "flows6", t_flow6, 4, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER, POL_DYN_SET_SIZE, false)) < 0 ||
            (r = add_set(b, "peers4", t_peer4, 2, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER, POL_DYN_SET_SIZE, false)) < 0 ||
            (r = add_set(b, "peers6", t_peer6, 2, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER, POL_DYN_SET_SIZE, false)) < 0)
                return r;
        /* Break-glass grants add elements with their own timeout (DESIGN.md "access"). */
        const char *grants[] = {"grant_out4", "grant_out6", "grant_in4", "grant_in6"};
        for (size_t i = 0; i < ELEMENTSOF(grants); i++)
                if ((r = add_set(b, grants[i], i % 2 ? t_grant6 : t_grant4, 3, PSF_INTERVAL | PSF_TIMEOUT, 0, 0, true)) < 0)
                        return r;
        return 0;
}

int pol_build(const struct ecl_manifest *m, struct pol_table **ret) {
        if (!m->has_network)
                return log_error_errno(EINVAL, "stack %s has no network: there is no tap to filter", m->stack);
        _cleanup_pol_table_ struct pol_table *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        _cleanup_free_ char *name = NULL;
        if (shim_nft_table_name(m->stack, &name) < 0)
                return -ENOMEM;
        if (strlen(name) >= sizeof t->name)
                return log_error_errno(EINVAL, "table name %s too long", name);
        strcpy(t->name, name);
        shim_tap_name(m->stack, 0, t->device);

        t->chains = calloc(4, sizeof *t->chains);
        if (!t->chains)
                return -ENOMEM;
        t->chains[0] = (struct pol_chain){"guest_out", "ingress", -500, true};
        t->chains[1] = (struct pol_chain){"guest_in", "egress", -500, true};
        t->chains[2] = (struct pol_chain){"drop_out", NULL, 0, false};
        t->chains[3] = (struct pol_chain){"drop_in", NULL, 0, false};
        t->n_chains = 4;

        struct builder b = {.t = t};
        int r = build_sets(&b, m);
        if (r >= 0)
                r = build_guest_out(&b, m);
        if (r >= 0)
                r = build_guest_in(&b, m);
        if (r >= 0)
                r = build_drop(&b, "out");
        if (r >= 0)
                r = build_drop(&b, "in");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
