/* SPDX-License-Identifier: Apache-2.0 */
/* The policy builder: manifest -> intermediate rule list (shim/policy-build.c). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "policy-build.h"
#include "policy-ir.h"
#include "policy.h"
#include "testlib.h"

static struct ecl_cidr cidr(const char *addr, unsigned prefix) {
        struct ecl_cidr c = {.family = strchr(addr, ':') ? AF_INET6 : AF_INET, .prefix = (uint8_t) prefix};
        assert_int_equal(inet_pton(c.family, addr, c.addr), 1);
        return c;
}

static struct ecl_rule flow(const char *addr, unsigned prefix, enum ecl_proto proto, struct ecl_port_range *ports,
                            size_t n_ports) {
        return (struct ecl_rule){.net = cidr(addr, prefix), .proto = proto, .ports = ports, .n_ports = n_ports};
}

/* The guest's address: a manifest with a network must name at least one. */
static struct ecl_cidr guest_addr[] = {{.family = AF_INET, .addr = {192, 0, 2, 2}, .prefix = 32}};

static struct ecl_manifest manifest(struct ecl_rule *egress, size_t n_egress, struct ecl_rule *ingress, size_t n_ingress) {
        struct ecl_manifest m = {.stack = (char *) "office", .has_network = true};
        m.network.addresses = guest_addr, m.network.n_addresses = 1;
        m.network.egress = egress, m.network.n_egress = n_egress;
        m.network.ingress = ingress, m.network.n_ingress = n_ingress;
        return m;
}

static const struct pol_set *find_set(const struct pol_table *t, const char *name) {
        for (size_t i = 0; i < t->n_sets; i++)
                if (strcmp(t->sets[i].name, name) == 0)
                        return &t->sets[i];
        return NULL;
}

static size_t rules_in(const struct pol_table *t, const char *chain, const struct pol_rule **first,
                       const struct pol_rule **last) {
        size_t n = 0;
        for (size_t i = 0; i < t->n_rules; i++)
                if (strcmp(t->rules[i].chain, chain) == 0) {
                        if (n++ == 0 && first)
                                *first = &t->rules[i];
                        if (last)
                                *last = &t->rules[i];
                }
        return n;
}

/* The rule accepting traffic to/from a set (the manifest's flow rules). */
static const struct pol_rule *rule_using(const struct pol_table *t, const char *set) {
        for (size_t i = 0; i < t->n_rules; i++)
                for (size_t j = 0; j < t->rules[i].n; j++)
                        if (t->rules[i].s[j].kind == PS_MATCH && t->rules[i].s[j].rhs == PR_SET_REF &&
                            strcmp(t->rules[i].s[j].set, set) == 0)
                                return &t->rules[i];
        return NULL;
}

static void test_chains_default_drop_on_the_tap(void **state) {
        (void) state;
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        assert_string_equal(t->name, "ecluse-office");
        char tap[IFNAMSIZ];
        shim_tap_name("office", 0, tap);
        assert_string_equal(t->device, tap);
        bool out = false, in = false;
        int guards = 0;
        for (size_t i = 0; i < t->n_chains; i++) {
                const struct pol_chain *c = &t->chains[i];
                if (strcmp(c->name, "guest_out") == 0) {
                        out = true;
                        assert_string_equal(c->hook, "ingress");
                        assert_false(c->on_uplink);
                        assert_true(c->policy_drop);
                } else if (strcmp(c->name, "guest_in") == 0) {
                        /* on the uplink: what comes in from the bridge, before it can reach the tap */
                        in = true;
                        assert_string_equal(c->hook, "ingress");
                        assert_true(c->on_uplink);
                        assert_true(c->policy_drop);
                } else if (strncmp(c->name, "guard_", 6) == 0) {
                        /* what leaves tap and uplink: only what the policy forwarded */
                        guards++;
                        assert_string_equal(c->hook, "egress");
                        assert_int_equal(c->on_uplink, strcmp(c->name, "guard_uplink") == 0);
                        assert_true(c->policy_drop);
                } else
                        assert_null(c->hook);
        }
        assert_true(out && in);
        assert_int_equal(guards, 2);
}

static void test_every_rule_counts_and_ends_in_a_verdict(void **state) {
        (void) state;
        struct ecl_port_range p = {443, 443};
        struct ecl_rule eg[] = {flow("192.0.2.10", 32, ECL_PROTO_TCP, &p, 1), flow("2001:db8::1", 128, ECL_PROTO_ICMPV6, NULL, 0)};
        struct ecl_rule in[] = {flow("198.51.100.0", 24, ECL_PROTO_TCP, &p, 1)};
        struct ecl_manifest m = manifest(eg, 2, in, 1);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                assert_true(r->n >= 2);
                /* counter, then the verdict; what is forwarded gets its mark in between */
                bool fwd = r->s[r->n - 1].kind == PS_VERDICT && strcmp(r->s[r->n - 1].verdict, "fwd") == 0;
                if (fwd) {
                        assert_int_equal(r->s[r->n - 2].kind, PS_MARK);
                        assert_int_equal(r->s[r->n - 2].mark, POL_FWD_MARK);
                }
                assert_int_equal(r->s[r->n - 2 - fwd].kind, PS_COUNTER);
                assert_int_equal(r->s[r->n - 1].kind, PS_VERDICT);
                /* nothing is accepted to go its own way: only the guards accept (transmit) */
                if (strcmp(r->s[r->n - 1].verdict, "accept") == 0)
                        assert_int_equal(strncmp(r->chain, "guard_", 6), 0);
                /* comments are unique: verify recognises each rule by it */
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(t->rules[j].comment, r->comment);
        }
        /* Whatever is not accepted ends in the drop chains, which record and drop. */
        const struct pol_rule *last;
        rules_in(t, "guest_out", NULL, &last);
        assert_string_equal(last->s[last->n - 1].verdict, "goto");
        assert_string_equal(last->s[last->n - 1].target, "drop_out");
        rules_in(t, "guest_in", NULL, &last);
        assert_string_equal(last->s[last->n - 1].target, "drop_in");
        const char *drops[] = {"drop_out", "drop_in"};
        for (size_t d = 0; d < 2; d++) {
                rules_in(t, drops[d], NULL, &last);
                assert_int_equal(last->n, 2); /* plain "counter drop": nothing escapes */
                assert_string_equal(last->s[1].verdict, "drop");
                for (size_t i = 0; i < t->n_rules; i++)
                        if (strcmp(t->rules[i].chain, drops[d]) == 0)
                                assert_string_equal(t->rules[i].s[t->rules[i].n - 1].verdict, "drop");
        }
}

static void test_spoofed_mac_goes_first(void **state) {
        (void) state;
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_rule *first;
        rules_in(t, "guest_out", &first, NULL);
        uint8_t mac[6];
        shim_guest_mac(&m, mac); /* derived from the stack name when the manifest gives none */
        assert_int_equal(first->s[0].key.f[0], PF_ETHER_SADDR);
        assert_true(first->s[0].negate);
        assert_memory_equal(first->s[0].val.mac, mac, 6);
        assert_string_equal(first->s[first->n - 1].target, "drop_out");
        /* Locally administered unicast, outside libvirt's 52:54:00. */
        assert_int_equal(mac[0] & 0x03, 0x02);
        assert_false(mac[0] == 0x52 && mac[1] == 0x54 && mac[2] == 0x00);
}

static void test_no_addresses_refused(void **state) {
        (void) state;
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        m.network.n_addresses = 0;
        struct pol_table *t = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(pol_build(&m, &t, &why), -EBADMSG);
        assert_null(t);
        assert_non_null(strstr(why, "has no network.addresses: the tap would admit any source"));
}

/* A VLAN tag is stripped to metadata before the hook: tagged frames must be refused by ether type. */
static void test_tagged_frames_dropped_both_ways(void **state) {
        (void) state;
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(shim_policy_render(&m, &text, NULL), 0);
        const char *out = strstr(text, "ether type != { ip, ip6, arp } counter goto drop_out");
        const char *in = strstr(text, "ether type != { ip, ip6, arp } counter goto drop_in");
        assert_non_null(out);
        assert_non_null(in);
        /* Before anything in its chain accepts: right after the MAC check out, first in. */
        const char *first_accept_out = strstr(strstr(text, "chain guest_out"), "fwd to");
        const char *first_accept_in = strstr(strstr(text, "chain guest_in"), "fwd to");
        assert_non_null(first_accept_out);
        assert_non_null(first_accept_in);
        assert_true(out < first_accept_out);
        assert_true(in < first_accept_in);
}

/* IPv4 options and IPv6 extension headers (a source route among them) are dropped before anything accepts. */
static void test_ip_options_and_extension_headers_dropped(void **state) {
        (void) state;
        struct ecl_port_range https = {443, 443};
        struct ecl_rule eg[] = {flow("10.1.2.3", 32, ECL_PROTO_TCP, &https, 1)};
        struct ecl_manifest m = manifest(eg, 1, eg, 1);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(shim_policy_render(&m, &text, NULL), 0);
        const char *dirs[] = {"out", "in"};
        for (size_t d = 0; d < 2; d++) {
                char chain[32], want[3][128];
                snprintf(chain, sizeof chain, "chain guest_%s", dirs[d]);
                snprintf(want[0], sizeof want[0], "ip hdrlength != 5 counter goto drop_%s", dirs[d]);
                snprintf(want[1], sizeof want[1], "ip6 nexthdr != { tcp, udp, ipv6-icmp, ipv6-frag } counter goto drop_%s",
                         dirs[d]);
                snprintf(want[2], sizeof want[2],
                         "ip6 nexthdr ipv6-frag frag nexthdr != { tcp, udp, ipv6-icmp } counter goto drop_%s", dirs[d]);
                const char *start = strstr(text, chain), *accept = strstr(start, "fwd to");
                assert_non_null(accept);
                for (size_t i = 0; i < 3; i++) {
                        const char *at = strstr(start, want[i]);
                        if (!at)
                                fprintf(stderr, "missing: %s\n", want[i]);
                        assert_non_null(at);
                        assert_true(at < accept);
                }
        }
}

/* The requests whose target is any host of a network are rate-limited, and only those. */
static void test_network_solicitations_rate_limited(void **state) {
        (void) state;
        struct ecl_port_range https = {443, 443};
        struct ecl_rule eg[] = {flow("10.1.2.0", 24, ECL_PROTO_TCP, &https, 1), flow("2001:db8::", 64, ECL_PROTO_TCP, &https, 1)};
        struct ecl_manifest m = manifest(eg, 2, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        size_t limited = 0;
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                bool limit = false, bcast = false, nd_net = false;
                for (size_t j = 0; j < r->n; j++) {
                        const struct pol_stmt *s = &r->s[j];
                        limit |= s->kind == PS_LIMIT;
                        bcast |= s->kind == PS_MATCH && s->key.f[0] == PF_ETHER_DADDR && s->rhs == PR_VALUE &&
                                 memcmp(s->val.mac, "\xff\xff\xff\xff\xff\xff", 6) == 0;
                        nd_net |= s->kind == PS_MATCH && s->key.f[0] == PF_ETHER_DST_OUI;
                }
                const struct pol_stmt *v = &r->s[r->n - 1];
                bool to_nbr = v->kind == PS_VERDICT && strcmp(v->verdict, "jump") == 0 &&
                              (strcmp(v->target, "arp_nbr_out") == 0 || strcmp(v->target, "nd_nbr_out") == 0);
                bool want = to_nbr && (bcast || nd_net);
                assert_int_equal(limit, want);
                limited += limit;
        }
        assert_int_equal(limited, 2);
}

/*
 * Neighbour discovery never reaches the tracked flows, the grants or an
 * icmpv6 opening: it goes to its own chain, which accepts only the minimal
 * forms and sends everything else (router advertisements, redirects) to drop.
 */
static void test_nd_never_an_opening(void **state) {
        (void) state;
        struct ecl_rule eg[] = {flow("2001:db8::", 32, ECL_PROTO_ICMPV6, NULL, 0)};
        struct ecl_manifest m = manifest(eg, 1, NULL, 0);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(shim_policy_render(&m, &text, NULL), 0);
        const char *to_nd = strstr(text, "icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, "
                                         "nd-neighbor-advert, nd-redirect } counter goto nd_out");
        assert_non_null(to_nd);
        const char *peers = strstr(text, "@peers_out6 update @peers_out6");
        const char *grants = strstr(text, "@grant_out6 counter meta mark set 0x65636c75 fwd to \"ecu-office\"");
        assert_non_null(peers);
        assert_non_null(grants);
        assert_true(to_nd < peers);
        assert_true(to_nd < grants);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_rule *last = NULL;
        assert_true(rules_in(t, "nd_out", NULL, &last) > 1);
        assert_non_null(last);
        assert_int_equal(last->n, 2);
        assert_string_equal(last->s[1].target, "drop_out");
        /* No ND rule accepts a router advertisement or a redirect, or anything not at hop limit 255. */
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                if (strcmp(r->chain, "nd_out") != 0 || r == last)
                        continue;
                bool hop255 = false, len = false;
                for (size_t j = 0; j < r->n; j++) {
                        const struct pol_stmt *st = &r->s[j];
                        if (st->kind == PS_MATCH && st->key.f[0] == PF_ICMPV6_TYPE)
                                assert_true(strcmp(st->val.sym, "nd-router-advert") != 0 &&
                                            strcmp(st->val.sym, "nd-redirect") != 0);
                        hop255 |= st->kind == PS_MATCH && st->key.f[0] == PF_IP6_HOPLIMIT && st->val.lo == 255;
                        len |= st->kind == PS_MATCH && st->key.f[0] == PF_META_LEN && st->rhs == PR_VALUE;
                }
                assert_true(hop255);
                assert_true(len); /* an exact length: no room for a payload */
        }
}

static void test_source_addresses_restricted_when_given(void **state) {
        (void) state;
        struct ecl_cidr addrs[] = {cidr("192.0.2.2", 32), cidr("2001:db8::2", 128), cidr("192.0.2.3", 32)};
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        m.network.has_mac = true;
        memcpy(m.network.mac, "\x52\x54\x00\x12\x34\x56", 6);
        m.network.addresses = addrs, m.network.n_addresses = 3;
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_set *a4 = find_set(t, "guest_addrs4"), *a6 = find_set(t, "guest_addrs6");
        assert_non_null(a4);
        assert_non_null(a6);
        assert_int_equal(a4->n_elems, 2);
        assert_int_equal(a6->n_elems, 2); /* and its link-local address */
        assert_memory_equal(a6->elems[0].addr, addrs[1].addr, 16);
        assert_memory_equal(a6->elems[1].addr, "\xfe\x80\0\0\0\0\0\0\x50\x54\x00\xff\xfe\x12\x34\x56", 16);
        /* IPv4 and IPv6 senders are checked against them ... */
        bool ip4 = false, ip6 = false;
        size_t arp_accepts = 0;
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                const struct pol_stmt *s = &r->s[0];
                if (strcmp(r->chain, "arp_out") == 0 && strcmp(r->s[r->n - 1].verdict, "fwd") == 0) {
                        /* ... and every ARP packet it may send has one of them (or 0.0.0.0, a probe) as sender. */
                        bool sender = false;
                        for (size_t j = 0; j < r->n; j++)
                                if (r->s[j].kind == PS_MATCH && r->s[j].key.f[0] == PF_ARP_SADDR_IP)
                                        sender = r->s[j].rhs == PR_SET_REF ? strcmp(r->s[j].set, "guest_addrs4") == 0
                                                                           : r->s[j].val.cidr.addr[0] == 0;
                        assert_true(sender);
                        arp_accepts++;
                }
                if (s->kind != PS_MATCH || s->rhs != PR_SET_REF || !s->negate)
                        continue;
                ip4 |= s->key.f[0] == PF_IP_SADDR && strcmp(s->set, "guest_addrs4") == 0;
                ip6 |= s->key.f[0] == PF_IP6_SADDR && strcmp(s->set, "guest_addrs6") == 0;
                if (strcmp(r->chain, "guest_out") == 0)
                        assert_string_equal(r->s[r->n - 1].target, "drop_out");
        }
        assert_true(ip4 && ip6);
        assert_true(arp_accepts >= 1);
        const struct pol_rule *first;
        rules_in(t, "guest_out", &first, NULL);
        assert_memory_equal(first->s[0].val.mac, "\x52\x54\x00\x12\x34\x56", 6);
}

/* The ARP neighbours are looked up in the sets that hold them already: nbr4 keeps network.neighbours only. */
static void test_arp_neighbours_in_the_rules_sets(void **state) {
        (void) state;
        struct ecl_port_range https = {443, 443};
        struct ecl_rule eg[] = {flow("10.1.2.3", 32, ECL_PROTO_TCP, &https, 1), flow("2001:db8::", 64, ECL_PROTO_TCP, &https, 1)};
        struct ecl_rule in[] = {flow("198.51.100.0", 24, ECL_PROTO_TCP, &https, 1)};
        struct ecl_cidr nbr[] = {cidr("192.0.2.1", 32)};
        struct ecl_manifest m = manifest(eg, 2, in, 1);
        m.network.neighbours = nbr, m.network.n_neighbours = 1;
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_set *n4 = find_set(t, "nbr4");
        assert_non_null(n4);
        assert_int_equal(n4->n_elems, 1);
        assert_memory_equal(n4->elems[0].addr, nbr[0].addr, 4);
        const char *sets[] = {"nbr4", "out4_0", "in4_0"};
        const char *chains[] = {"arp_nbr_out", "arp_nbr_in"};
        for (size_t c = 0; c < 2; c++) {
                assert_int_equal(rules_in(t, chains[c], NULL, NULL), 3);
                size_t k = 0;
                for (size_t i = 0; i < t->n_rules; i++) {
                        const struct pol_rule *r = &t->rules[i];
                        if (strcmp(r->chain, chains[c]) != 0)
                                continue;
                        assert_int_equal(r->s[0].kind, PS_MATCH);
                        assert_int_equal(r->s[0].key.f[0], c ? PF_ARP_SADDR_IP : PF_ARP_DADDR_IP);
                        assert_string_equal(r->s[0].set, sets[k++]);
                        assert_string_equal(r->s[r->n - 1].verdict, "fwd");
                        /* in: the answer's sender MAC is learned, and only then */
                        assert_int_equal(r->s[1].kind, c ? PS_SET : PS_COUNTER);
                        if (c)
                                assert_string_equal(r->s[1].set, "nbr_macs");
                }
        }
        /* Only rules that checked everything else jump there; nothing else reaches it. */
        size_t jumps = 0;
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                const struct pol_stmt *v = &r->s[r->n - 1];
                if (v->kind != PS_VERDICT || strcmp(v->verdict, "jump") != 0)
                        continue;
                if (strncmp(v->target, "nd_nbr_", 7) == 0) {
                        /* ND: the target is all that is left, in one copy of nbr6 per direction */
                        bool nd_out = strcmp(v->target, "nd_nbr_out") == 0;
                        assert_string_equal(r->chain, nd_out ? "nd_out" : "nd_in");
                        for (size_t j = 0; j < r->n; j++)
                                assert_false(r->s[j].kind == PS_MATCH && r->s[j].key.f[0] == PF_ND_TARGET);
                        const struct pol_rule *only = NULL;
                        assert_int_equal(rules_in(t, v->target, &only, NULL), 1);
                        assert_int_equal(only->s[0].key.f[0], PF_ND_TARGET);
                        assert_int_equal(only->s[0].rhs, PR_ANON_SET);
                        assert_int_equal(only->s[1].kind, nd_out ? PS_COUNTER : PS_SET);
                        continue;
                }
                if (strcmp(v->target, "too_big_in") == 0) {
                        /* "too big" about a flow, from a host in a set that holds IPv4 neighbours */
                        assert_string_equal(r->chain, "guest_in");
                        assert_int_equal(rules_in(t, v->target, NULL, NULL), 3);
                        size_t k = 0;
                        for (size_t j = 0; j < t->n_rules; j++)
                                if (strcmp(t->rules[j].chain, "too_big_in") == 0) {
                                        assert_int_equal(t->rules[j].s[0].key.f[0], PF_IP_SADDR);
                                        assert_string_equal(t->rules[j].s[0].set, sets[k++]);
                                        assert_string_equal(t->rules[j].s[t->rules[j].n - 1].target, "ecl-office");
                                }
                        continue;
                }
                bool out = strcmp(v->target, "arp_nbr_out") == 0;
                assert_true(out || strcmp(v->target, "arp_nbr_in") == 0);
                assert_string_equal(r->chain, out ? "arp_out" : "arp_in");
                bool sender = false, target = false;
                for (size_t j = 0; j < r->n; j++) {
                        const struct pol_stmt *s = &r->s[j];
                        if (s->kind == PS_MATCH && s->rhs == PR_SET_REF && strcmp(s->set, "guest_addrs4") == 0)
                                sender |= s->key.f[0] == (out ? PF_ARP_SADDR_IP : PF_ARP_DADDR_IP);
                        target |= s->kind == PS_MATCH && s->key.f[0] == (out ? PF_ARP_DADDR_IP : PF_ARP_SADDR_IP);
                }
                assert_true(sender);
                assert_false(target);
                jumps++;
        }
        assert_int_equal(jumps, 3 + 4);
}

static void test_flows_grouped_and_networks_deduplicated(void **state) {
        (void) state;
        struct ecl_port_range https = {443, 443};
        struct ecl_port_range https2 = {443, 443};
        struct ecl_rule eg[] = {
                flow("10.1.2.3", 32, ECL_PROTO_TCP, &https, 1),
                flow("10.0.0.0", 8, ECL_PROTO_TCP, &https2, 1), /* contains the first */
                flow("192.0.2.0", 24, ECL_PROTO_TCP, &https, 1),
                flow("10.1.2.3", 32, ECL_PROTO_UDP, &https, 1), /* another protocol: another group */
        };
        struct ecl_manifest m = manifest(eg, 4, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_set *tcp = find_set(t, "out4_0"), *udp = find_set(t, "out4_1");
        assert_non_null(tcp);
        assert_non_null(udp);
        assert_null(find_set(t, "out4_2"));
        assert_true(tcp->flags & PSF_INTERVAL);
        assert_true(tcp->counter);
        assert_int_equal(tcp->n_elems, 2); /* 10.0.0.0/8 and 192.0.2.0/24; 10.1.2.3 is inside the /8 */
        assert_int_equal(tcp->elems[0].prefix, 8);
        assert_int_equal(tcp->elems[1].prefix, 24);
        assert_int_equal(udp->n_elems, 1);
        const struct pol_rule *r = rule_using(t, "out4_0");
        assert_non_null(r);
        assert_string_equal(r->chain, "guest_out");
        assert_string_equal(r->s[0].val.sym, "tcp");
        assert_int_equal(r->s[1].key.f[0], PF_TH_DPORT);
        assert_int_equal(r->s[1].val.lo, 443);
        assert_int_equal(r->s[2].key.f[0], PF_IP_DADDR);
        /* Tracked so its replies come back: peer . guest . proto . peer port . guest port. */
        assert_int_equal(r->s[3].kind, PS_SET);
        assert_true(r->s[3].update);
        assert_string_equal(r->s[3].set, "flows_out4");
        assert_int_equal(r->s[3].key.n, 5);
        assert_int_equal(r->s[3].key.f[0], PF_IP_DADDR);
        assert_int_equal(r->s[3].key.f[1], PF_IP_SADDR);
        assert_int_equal(r->s[3].key.f[3], PF_TH_DPORT);
        assert_int_equal(r->s[3].key.f[4], PF_TH_SPORT);
        /* Short until a packet without SYN is seen: a half-open flow does not stay an hour. */
        assert_int_equal(r->s[3].timeout_s, POL_FLOW_TIMEOUT_OTHER);
        assert_string_equal(r->s[r->n - 1].verdict, "fwd");
        assert_string_equal(r->s[r->n - 1].target, "ecu-office");
}

static void test_ports_sorted_and_merged(void **state) {
        (void) state;
        struct ecl_port_range ports[] = {{8000, 8080}, {443, 443}, {8050, 9000}, {444, 444}};
        struct ecl_port_range all[] = {{0, 100}, {101, 65535}};
        struct ecl_rule eg[] = {flow("192.0.2.1", 32, ECL_PROTO_UDP, ports, 4), flow("192.0.2.2", 32, ECL_PROTO_TCP, all, 2)};
        struct ecl_manifest m = manifest(eg, 2, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_rule *tcp = rule_using(t, "out4_0"), *udp = rule_using(t, "out4_1");
        assert_non_null(tcp);
        assert_non_null(udp);
        /* Every port: no port match at all. */
        assert_int_equal(tcp->s[1].key.f[0], PF_IP_DADDR);
        assert_int_equal(udp->s[1].rhs, PR_ANON_SET);
        assert_int_equal(udp->s[1].n_vals, 2);
        assert_int_equal(udp->s[1].vals[0].kind, PV_RANGE);
        assert_int_equal(udp->s[1].vals[0].lo, 443);
        assert_int_equal(udp->s[1].vals[0].hi, 444);
        assert_int_equal(udp->s[1].vals[1].lo, 8000);
        assert_int_equal(udp->s[1].vals[1].hi, 9000);
        assert_int_equal(udp->s[3].timeout_s, POL_FLOW_TIMEOUT_OTHER);
}

static void test_icmp_and_ingress(void **state) {
        (void) state;
        struct ecl_port_range ssh = {22, 22};
        struct ecl_rule eg[] = {flow("2001:db8::", 32, ECL_PROTO_ICMPV6, NULL, 0)};
        struct ecl_rule in[] = {flow("198.51.100.0", 24, ECL_PROTO_TCP, &ssh, 1)};
        struct ecl_manifest m = manifest(eg, 1, in, 1);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const struct pol_rule *icmp = rule_using(t, "out6_0");
        assert_non_null(icmp);
        assert_string_equal(icmp->s[0].val.sym, "ipv6-icmp");
        assert_int_equal(icmp->s[1].key.f[0], PF_IP6_DADDR); /* no port */
        assert_string_equal(icmp->s[2].set, "peers_out6");
        const struct pol_rule *r = rule_using(t, "in4_0");
        assert_non_null(r);
        assert_string_equal(r->chain, "guest_in");
        assert_int_equal(r->s[2].key.f[0], PF_IP_SADDR); /* the peer is the source */
        /* same flow key layout as egress: peer . guest . proto . peer port . guest port, its own set */
        assert_string_equal(r->s[3].set, "flows_in4");
        assert_int_equal(r->s[3].key.f[0], PF_IP_SADDR);
        assert_int_equal(r->s[3].key.f[1], PF_IP_DADDR);
        assert_int_equal(r->s[3].key.f[3], PF_TH_SPORT);
        assert_int_equal(r->s[3].key.f[4], PF_TH_DPORT);
}

static void test_grant_and_record_sets_exist(void **state) {
        (void) state;
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        const char *grants[] = {"grant_out4", "grant_out6", "grant_in4", "grant_in6"};
        for (size_t i = 0; i < ELEMENTSOF(grants); i++) {
                const struct pol_set *s = find_set(t, grants[i]);
                assert_non_null(s);
                assert_int_equal(s->flags & (PSF_INTERVAL | PSF_TIMEOUT), PSF_INTERVAL | PSF_TIMEOUT);
                assert_int_equal(s->n_elems, 0);
                assert_non_null(rule_using(t, grants[i]));
        }
        const char *kinds[] = {"p4", "n4", "p6", "n6", "a4", "l2"};
        for (int d = 0; d < 2; d++)
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        char first[64], last[64];
                        snprintf(first, sizeof first, "blk_%s_%s_first", d ? "in" : "out", kinds[k]);
                        snprintf(last, sizeof last, "blk_%s_%s_last", d ? "in" : "out", kinds[k]);
                        const struct pol_set *f = find_set(t, first), *l = find_set(t, last);
                        assert_non_null(f);
                        assert_non_null(l);
                        assert_false(f->counter);
                        assert_true(l->counter);
                        assert_int_equal(f->timeout_s, POL_BLOCKED_TIMEOUT);
                        assert_int_equal(l->timeout_s, POL_BLOCKED_TIMEOUT);
                }
        /* add keeps the first-seen timestamp, update refreshes last seen. */
        for (size_t i = 0; i < t->n_rules; i++)
                for (size_t j = 0; j < t->rules[i].n; j++) {
                        const struct pol_stmt *s = &t->rules[i].s[j];
                        if (s->kind == PS_SET && strncmp(s->set, "blk_", 4) == 0)
                                assert_int_equal(s->update, strstr(s->set, "_last") != NULL);
                }
}

static void test_neighbour_advertisements_claim_only_own_addresses(void **state) {
        (void) state;
        struct ecl_cidr addrs[] = {cidr("2001:db8::2", 128), cidr("192.0.2.2", 32)};
        struct ecl_rule eg[] = {flow("2001:db8::1", 128, ECL_PROTO_ICMPV6, NULL, 0)};
        struct ecl_manifest m = manifest(eg, 1, NULL, 0);
        m.network.has_mac = true;
        memcpy(m.network.mac, "\x52\x54\x00\x12\x34\x56", 6);
        m.network.addresses = addrs, m.network.n_addresses = 2;
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        size_t n_na = 0;
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                if (strcmp(r->chain, "nd_out") != 0)
                        continue;
                bool na = false;
                const struct pol_stmt *target = NULL;
                for (size_t j = 0; j < r->n; j++) {
                        na |= r->s[j].kind == PS_MATCH && r->s[j].key.f[0] == PF_ICMPV6_TYPE &&
                              strcmp(r->s[j].val.sym, "nd-neighbor-advert") == 0;
                        if (r->s[j].kind == PS_MATCH && r->s[j].key.f[0] == PF_ND_TARGET)
                                target = &r->s[j];
                }
                if (!na)
                        continue;
                n_na++;
                /* The target is one of its own: the listed address or its link-local, nothing else. */
                assert_non_null(target);
                assert_false(target->negate);
                assert_int_equal(target->n_vals, 2);
                assert_int_equal(target->vals[0].kind, PV_HEX);
                assert_memory_equal(target->vals[0].cidr.addr, addrs[0].addr, 16);
                assert_int_equal(target->vals[1].cidr.addr[0], 0xfe);
                assert_int_equal(target->vals[1].cidr.prefix, 128);
        }
        assert_int_equal(n_na, 3); /* solicited with and without the option, unsolicited */
}

static void test_tracked_flows_refresh(void **state) {
        (void) state;
        struct ecl_manifest m = manifest(NULL, 0, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        size_t found = 0;
        for (size_t i = 0; i < t->n_rules; i++) {
                const struct pol_rule *r = &t->rules[i];
                for (size_t j = 0; j < r->n; j++) {
                        const struct pol_stmt *s = &r->s[j];
                        if (s->kind != PS_MATCH || s->rhs != PR_SET_REF || strncmp(s->set, "flows_", 6) != 0)
                                continue;
                        /* every lookup is followed by an update of the same set with the same key */
                        const struct pol_stmt *u = &r->s[j + 1];
                        assert_int_equal(u->kind, PS_SET);
                        assert_true(u->update);
                        assert_string_equal(u->set, s->set);
                        assert_int_equal(u->key.n, s->key.n);
                        assert_memory_equal(u->key.f, s->key.f, s->key.n * sizeof s->key.f[0]);
                        bool tcp = j > 0 && r->s[0].rhs == PR_VALUE && r->s[0].val.kind == PV_SYM &&
                                   strcmp(r->s[0].val.sym, "tcp") == 0;
                        assert_int_equal(u->timeout_s, tcp ? POL_FLOW_TIMEOUT_TCP : POL_FLOW_TIMEOUT_OTHER);
                        found++;
                }
        }
        /* {tcp, other} x {v4, v6} x {opened by the guest, by a peer} x {guest_out, guest_in} */
        assert_int_equal(found, 24); /* and a UDP rule each, feeding the fragment sets */
}

static void test_no_network_refused(void **state) {
        (void) state;
        struct ecl_manifest m = {.stack = (char *) "office"};
        struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), -EBADMSG);
        assert_null(t);
}

static void test_ten_thousand_flows(void **state) {
        (void) state;
        size_t n = 10000;
        struct ecl_rule *eg = calloc(n, sizeof *eg);
        struct ecl_port_range p[3] = {{443, 443}, {80, 80}, {8000, 8100}};
        assert_non_null(eg);
        for (size_t i = 0; i < n; i++) {
                eg[i].net.family = AF_INET;
                eg[i].net.addr[0] = 10, eg[i].net.addr[1] = (uint8_t) (i >> 8), eg[i].net.addr[2] = (uint8_t) i;
                eg[i].net.prefix = 32;
                eg[i].proto = ECL_PROTO_TCP;
                eg[i].ports = &p[i % 3];
                eg[i].n_ports = 1;
        }
        struct ecl_manifest m = manifest(eg, n, NULL, 0);
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&m, &t, NULL), 0);
        size_t total = 0;
        for (size_t i = 0; i < t->n_sets; i++)
                if (strncmp(t->sets[i].name, "out4_", 5) == 0)
                        total += t->sets[i].n_elems;
        assert_int_equal(total, n);
        assert_non_null(find_set(t, "out4_2"));
        assert_null(find_set(t, "out4_3"));
        free(eg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chains_default_drop_on_the_tap),
                cmocka_unit_test(test_every_rule_counts_and_ends_in_a_verdict),
                cmocka_unit_test(test_spoofed_mac_goes_first),
                cmocka_unit_test(test_no_addresses_refused),
                cmocka_unit_test(test_tagged_frames_dropped_both_ways),
                cmocka_unit_test(test_network_solicitations_rate_limited),
                cmocka_unit_test(test_ip_options_and_extension_headers_dropped),
                cmocka_unit_test(test_nd_never_an_opening),
                cmocka_unit_test(test_source_addresses_restricted_when_given),
                cmocka_unit_test(test_flows_grouped_and_networks_deduplicated),
                cmocka_unit_test(test_arp_neighbours_in_the_rules_sets),
                cmocka_unit_test(test_ports_sorted_and_merged),
                cmocka_unit_test(test_icmp_and_ingress),
                cmocka_unit_test(test_grant_and_record_sets_exist),
                cmocka_unit_test(test_neighbour_advertisements_claim_only_own_addresses),
                cmocka_unit_test(test_tracked_flows_refresh),
                cmocka_unit_test(test_no_network_refused),
                cmocka_unit_test(test_ten_thousand_flows),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
