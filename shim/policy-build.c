/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifest -> intermediate rule list (policy-ir.h).
 *
 * guest_out (hook ingress on the tap: what the guest sends), in order:
 *   frames from another MAC, and anything but untagged IPv4, IPv6, ARP -> drop_out
 *   IPv4 with options, IPv6 with an extension header but a fragment header -> drop_out
 *   ARP -> arp_out; neighbour discovery -> nd_out (policy-housekeeping.c:
 *   the minimal forms are accepted, the rest goes to drop_out; the
 *   neighbour's address is checked last, in arp_nbr_out and nd_nbr_out,
 *   against the sets that hold it already)
 *   packets from an address not in network.addresses (or its link-local),
 *   or to a MAC that did not answer as a neighbour -> drop_out
 *   packets of tracked flows (flows_out/in4/6, peers_out/in4/6: refreshed) -> accept
 *   break-glass grants (@grant_out4/6 and replies to @grant_in4/6, empty
 *   until granted) -> accept
 *   non-first fragments to a peer of a live UDP flow (frag4/6) -> accept
 *   the manifest's egress, grouped by (protocol, ports), destinations in
 *   address sets with a counter per element -> track, accept
 *   everything else -> drop_out
 * guest_in (hook ingress on the uplink: what is sent to the guest): the same frame checks,
 *   arp_in, nd_in, then only frames for its MAC and addresses, from a MAC
 *   that answered as a neighbour; tracked
 *   flows, grants, "too big" errors about its flows (from a peer or a
 *   neighbour: too_big_in), fragments of a live
 *   UDP flow's peer, the manifest's ingress, else drop_in.
 * drop_out/drop_in record the packet (source, destination, protocol, port;
 *   ethertype for non-IP) in blk_* sets and drop it.
 * Every "accept" above is emitted as a forward to the other side (fwd to the
 * uplink out, to the tap in): tap and uplink are joined by nothing else.
 *
 * Flows are tracked per direction of opening (flows_out: opened by the
 * guest, flows_in: by a peer), so peers that fill their set cannot stop the
 * guest's own connections, and a TCP flow gets the long timeout only from a
 * packet without SYN, RST or FIN (half-open, refused and closing flows go
 * after two minutes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "names.h"
#include "policy-builder.h"
#include "policy-housekeeping.h"
#include "policy-build.h"
#include "policy-ir.h"

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

/* ---- port normalisation ---- */

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
        return c ? c : pb_cidr_cmp(&x->net, &y->net);
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


/* The tracked-flow sets of a family and direction of opening. */
static void flow_sets(bool v4, bool opened_by_guest, char flows[static POL_NAME_MAX], char peers[static POL_NAME_MAX]) {
        snprintf(flows, POL_NAME_MAX, "flows_%s%s", opened_by_guest ? "out" : "in", v4 ? "4" : "6");
        snprintf(peers, POL_NAME_MAX, "peers_%s%s", opened_by_guest ? "out" : "in", v4 ? "4" : "6");
}

/* The fields of a flow key as a packet of this chain carries them: peer, guest, proto, peer port, guest port. */
struct flow_fields {
        enum pol_field peer, guest, pport, gport;
};

static struct flow_fields flow_fields(bool v4, bool egress) {
        struct flow_fields f;
        if (v4)
                f.peer = egress ? PF_IP_DADDR : PF_IP_SADDR, f.guest = egress ? PF_IP_SADDR : PF_IP_DADDR;
        else
                f.peer = egress ? PF_IP6_DADDR : PF_IP6_SADDR, f.guest = egress ? PF_IP6_SADDR : PF_IP6_DADDR;
        f.pport = egress ? PF_TH_DPORT : PF_TH_SPORT;
        f.gport = egress ? PF_TH_SPORT : PF_TH_DPORT;
        return f;
}

static struct pol_key flow_key(struct flow_fields f) {
        return k5(f.peer, f.guest, PF_META_L4PROTO, f.pport, f.gport);
}

static struct pol_key peer_key(struct flow_fields f) {
        return k3(f.peer, f.guest, PF_META_L4PROTO);
}

/*
 * One rule per (family, protocol, ports) of a direction; its addresses in a
 * set "DIR4_N" / "DIR6_N" with a counter per element.  A packet it accepts
 * opens a flow (two minutes until it is seen established).
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
                        r = ecl_reason(b->reason, -EBADMSG, "policy: rule %zu has no address family", i + 1);
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
                /* PB_NET_SET_OUT4 / PB_NET_SET_IN4 for IPv4: ARP looks its neighbours up in them */
                snprintf(set, sizeof set, "%s%s_%u", dir, v4 ? "4" : "6", v4 ? group4++ : group6++);
                struct ecl_cidr *nets = calloc(j - i, sizeof *nets);
                if (!nets) {
                        r = -ENOMEM;
                        goto out;
                }
                for (size_t k = i; k < j; k++)
                        nets[k - i] = e[k].net;
                size_t before = b->t->n_sets;
                pb_add_addr_set(b, set, e[i].family, nets, j - i);
                free(nets);
                if (b->t->n_sets > before)
                        b->t->sets[b->t->n_sets - 1].counter = true;

                struct pol_rule *ru = pb_rule(b, chain);
                bool ported = e[i].proto == ECL_PROTO_TCP || e[i].proto == ECL_PROTO_UDP;
                pb_match(ru, k1(PF_META_L4PROTO), false, v_sym(proto_sym(e[i].proto)));
                if (e[i].n_ports == 1 && e[i].ports[0].first == e[i].ports[0].last)
                        pb_match(ru, k1(PF_TH_DPORT), false, v_num(e[i].ports[0].first));
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
                        pb_match_vals(b, ru, k1(PF_TH_DPORT), false, pv, e[i].n_ports);
                        free(pv);
                }
                /* Egress: the peer is the destination; ingress: the source. */
                struct flow_fields f = flow_fields(v4, egress);
                pb_match_ref(ru, k1(f.peer), false, set);
                char flows[POL_NAME_MAX], peers[POL_NAME_MAX];
                flow_sets(v4, egress, flows, peers);
                if (ported)
                        pb_set_stmt(ru, true, flows, flow_key(f), POL_FLOW_TIMEOUT_OTHER);
                else
                        pb_set_stmt(ru, true, peers, peer_key(f), POL_FLOW_TIMEOUT_OTHER);
                pb_verdict(ru, "accept", NULL);
                i = j;
        }
out:
        entries_free(e, n_rules);
        return r;
}

/*
 * Tracked flows, either direction: the key is always peer . guest . proto .
 * peer port . guest port, so a packet of a flow and its replies find the same
 * element.  Every packet refreshes it (as conntrack would): a TCP packet
 * without SYN, RST or FIN for an hour, the rest for two minutes.
 */
static void build_tracked(struct builder *b, bool egress) {
        const char *chain = egress ? "guest_out" : "guest_in";
        for (int v4 = 1; v4 >= 0; v4--)
                for (int by_guest = 1; by_guest >= 0; by_guest--) {
                        struct flow_fields f = flow_fields(v4, egress);
                        char flows[POL_NAME_MAX], peers[POL_NAME_MAX];
                        flow_sets(v4, by_guest, flows, peers);
                        struct pol_rule *r = pb_rule(b, chain);
                        pb_match(r, k1(PF_META_L4PROTO), false, v_sym("tcp"));
                        pb_match(r, k1(PF_TCP_CTL), false, v_num(0));
                        pb_match_ref(r, flow_key(f), false, flows);
                        pb_set_stmt(r, true, flows, flow_key(f), POL_FLOW_TIMEOUT_TCP);
                        pb_verdict(r, "accept", NULL);
                        /* UDP: its peer may also send (and be sent) the non-first fragments of a datagram. */
                        r = pb_rule(b, chain);
                        pb_match(r, k1(PF_META_L4PROTO), false, v_sym("udp"));
                        pb_match_ref(r, flow_key(f), false, flows);
                        pb_set_stmt(r, true, flows, flow_key(f), POL_FLOW_TIMEOUT_OTHER);
                        pb_set_stmt(r, true, v4 ? "frag4" : "frag6", peer_key(f), POL_FLOW_TIMEOUT_OTHER);
                        pb_verdict(r, "accept", NULL);
                        r = pb_rule(b, chain);
                        pb_match_ref(r, flow_key(f), false, flows);
                        pb_set_stmt(r, true, flows, flow_key(f), POL_FLOW_TIMEOUT_OTHER);
                        pb_verdict(r, "accept", NULL);
                        r = pb_rule(b, chain);
                        pb_match_ref(r, peer_key(f), false, peers);
                        pb_set_stmt(r, true, peers, peer_key(f), POL_FLOW_TIMEOUT_OTHER);
                        pb_verdict(r, "accept", NULL);
                }
}

/*
 * Break-glass grants (DESIGN.md "access"): elements peer . proto . port with
 * their own timeout, added to grant_out4/6 (the peer's port) or grant_in4/6
 * (the guest's port).  Matched without tracking, in both directions, so a
 * grant closes exactly when its element expires, open connections included.
 */
static void build_grants(struct builder *b, bool egress) {
        const char *chain = egress ? "guest_out" : "guest_in";
        for (int v4 = 1; v4 >= 0; v4--) {
                enum pol_field peer = flow_fields(v4, egress).peer;
                char own[POL_NAME_MAX], other[POL_NAME_MAX];
                snprintf(own, sizeof own, "grant_%s%s", egress ? "out" : "in", v4 ? "4" : "6");
                snprintf(other, sizeof other, "grant_%s%s", egress ? "in" : "out", v4 ? "4" : "6");
                /* A packet of this direction to the granted port ... */
                struct pol_rule *r = pb_rule(b, chain);
                pb_match_ref(r, k3(peer, PF_META_L4PROTO, PF_TH_DPORT), false, own);
                pb_verdict(r, "accept", NULL);
                /* ... or a reply from the port granted the other way. */
                r = pb_rule(b, chain);
                pb_match_ref(r, k3(peer, PF_META_L4PROTO, PF_TH_SPORT), false, other);
                pb_verdict(r, "accept", NULL);
        }
}

/*
 * Non-first fragments carry no port: they pass between the guest and a peer
 * with which it has a live UDP flow (frag4/6, fed by that flow's packets).
 * The first fragment carries the ports and goes through the flow rules.
 */
static void build_fragments(struct builder *b, bool egress) {
        const char *chain = egress ? "guest_out" : "guest_in";
        for (int v4 = 1; v4 >= 0; v4--) {
                struct flow_fields f = flow_fields(v4, egress);
                struct pol_rule *r = pb_rule(b, chain);
                pb_match(r, k1(v4 ? PF_IP_FRAGOFF : PF_IP6_FRAGOFF), true, v_num(0));
                pb_match_ref(r, peer_key(f), false, v4 ? "frag4" : "frag6");
                pb_verdict(r, "accept", NULL);
        }
}

static const char *const nd_types[] = {"nd-router-solicit", "nd-router-advert", "nd-neighbor-solicit",
                                       "nd-neighbor-advert", "nd-redirect"};

/*
 * The frame checks both directions start with, then ARP and ND to their
 * chains.  Only untagged IPv4, IPv6 and ARP frames pass: the kernel moves an
 * 802.1Q/802.1ad tag into metadata before the netdev hooks run, so every
 * later match would see the inner packet and a tagged copy of an allowed flow
 * would reach another VLAN through the bridge.  `ether type` reads the frame
 * as sent, tag included.
 */
static void build_frame_checks(struct builder *b, const struct pb_guest *g, bool egress) {
        static const char *const l3[] = {"ip", "ip6", "arp"};
        static const char *const l4_6[] = {"tcp", "udp", "ipv6-icmp", "ipv6-frag"}; /* the fragment header last */
        const char *chain = egress ? "guest_out" : "guest_in", *drop = egress ? "drop_out" : "drop_in";
        struct pol_rule *r;
        if (egress) {
                r = pb_rule(b, chain);
                pb_match(r, k1(PF_ETHER_SADDR), true, v_mac(g->mac));
                pb_verdict(r, "goto", drop);
        }
        r = pb_rule(b, chain);
        pb_match_syms(b, r, k1(PF_ETHER_TYPE), true, l3, ELEMENTSOF(l3));
        pb_verdict(r, "goto", drop);
        r = pb_rule(b, chain);
        pb_match(r, k1(PF_META_PROTOCOL), false, v_sym("arp"));
        pb_verdict(r, "goto", egress ? "arp_out" : "arp_in");
        r = pb_rule(b, chain);
        pb_match(r, k1(PF_META_L4PROTO), false, v_sym("ipv6-icmp"));
        pb_match_syms(b, r, k1(PF_ICMPV6_TYPE), false, nd_types, ELEMENTSOF(nd_types));
        pb_verdict(r, "goto", egress ? "nd_out" : "nd_in");
        /*
         * No IPv4 options and no IPv6 extension header but a fragment header:
         * a source route (LSRR/SSRR, a routing header) would take an allowed
         * packet on from its peer to a host the manifest does not name, and
         * the other options are room for data no peer needs.
         */
        r = pb_rule(b, chain);
        pb_match(r, k1(PF_IP_HDRLENGTH), true, v_num(5));
        pb_verdict(r, "goto", drop);
        r = pb_rule(b, chain);
        pb_match_syms(b, r, k1(PF_IP6_NEXTHDR), true, l4_6, ELEMENTSOF(l4_6));
        pb_verdict(r, "goto", drop);
        r = pb_rule(b, chain);
        pb_match(r, k1(PF_IP6_NEXTHDR), false, v_sym("ipv6-frag"));
        pb_match_syms(b, r, k1(PF_IP6_FRAG_NEXT), true, l4_6, ELEMENTSOF(l4_6) - 1);
        pb_verdict(r, "goto", drop);
        if (egress) {
                /* From its own addresses only, to a neighbour that answered. */
                r = pb_rule(b, chain);
                pb_match_ref(r, k1(PF_IP_SADDR), true, "guest_addrs4");
                pb_verdict(r, "goto", drop);
                r = pb_rule(b, chain);
                pb_match_ref(r, k1(PF_IP6_SADDR), true, "guest_addrs6");
                pb_verdict(r, "goto", drop);
                r = pb_rule(b, chain);
                pb_match_ref(r, k1(PF_ETHER_DADDR), true, PB_NBR_MACS);
                pb_verdict(r, "goto", drop);
        } else {
                /* For its MAC and its addresses only: a flooded frame for another host is not its. */
                r = pb_rule(b, chain);
                pb_match(r, k1(PF_ETHER_DADDR), true, v_mac(g->mac));
                pb_verdict(r, "goto", drop);
                r = pb_rule(b, chain);
                pb_match_ref(r, k1(PF_IP_DADDR), true, "guest_addrs4");
                pb_verdict(r, "goto", drop);
                r = pb_rule(b, chain);
                pb_match_ref(r, k1(PF_IP6_DADDR), true, "guest_addrs6");
                pb_verdict(r, "goto", drop);
                /* From a neighbour that answered: no one else on the bridge poses as a peer. */
                r = pb_rule(b, chain);
                pb_match_ref(r, k1(PF_ETHER_SADDR), true, PB_NBR_MACS);
                pb_verdict(r, "goto", drop);
        }
}

static int build_direction(struct builder *b, const struct ecl_manifest *m, const struct pb_guest *g, bool egress) {
        const char *chain = egress ? "guest_out" : "guest_in";
        build_frame_checks(b, g, egress);
        build_tracked(b, egress);
        build_grants(b, egress);
        if (!egress)
                pb_icmp_too_big_in(b, g);
        build_fragments(b, egress);
        int r = egress ? build_flows(b, m->network.egress, m->network.n_egress, true)
                       : build_flows(b, m->network.ingress, m->network.n_ingress, false);
        if (r < 0)
                return r;
        struct pol_rule *ru = pb_rule(b, chain);
        pb_verdict(ru, "goto", egress ? "drop_out" : "drop_in");
        return 0;
}

/* The drop chain of a direction: record (first seen, last seen + counter), then drop. */
static void build_drop(struct builder *b, const char *dir) {
        static const char *const ported[] = {"tcp", "udp", "sctp", "udplite", "dccp"};
        static const char *const t_p4[] = {"ipv4_addr", "ipv4_addr", "inet_proto", "inet_service"};
        static const char *const t_n4[] = {"ipv4_addr", "ipv4_addr", "inet_proto"};
        static const char *const t_p6[] = {"ipv6_addr", "ipv6_addr", "inet_proto", "inet_service"};
        static const char *const t_n6[] = {"ipv6_addr", "ipv6_addr", "inet_proto"};
        static const char *const t_a4[] = {"ipv4_addr", "ipv4_addr", "ether_type"};
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
                /* ARP: who asked (or answered) for whom, so a refused neighbour shows by its address */
                {"a4", t_a4, 3, k3(PF_ARP_SADDR_IP, PF_ARP_DADDR_IP, PF_ETHER_TYPE), false},
                {"l2", t_l2, 3, k3(PF_ETHER_SADDR, PF_ETHER_DADDR, PF_ETHER_TYPE), false},
        };
        char chain[POL_NAME_MAX];
        snprintf(chain, sizeof chain, "drop_%s", dir);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                char first[POL_NAME_MAX], last[POL_NAME_MAX];
                snprintf(first, sizeof first, POL_BLOCKED_PREFIX "%s_%s_first", dir, kinds[i].kind);
                snprintf(last, sizeof last, POL_BLOCKED_PREFIX "%s_%s_last", dir, kinds[i].kind);
                pb_add_set(b, first, kinds[i].type, kinds[i].n_type, PSF_TIMEOUT | PSF_DYNAMIC, POL_BLOCKED_TIMEOUT,
                           POL_BLOCKED_SET_SIZE, false);
                pb_add_set(b, last, kinds[i].type, kinds[i].n_type, PSF_TIMEOUT | PSF_DYNAMIC, POL_BLOCKED_TIMEOUT,
                           POL_BLOCKED_SET_SIZE, true);
                struct pol_rule *ru = pb_rule(b, chain);
                /* The IP kinds need their network protocol; "ip saddr" implies it. */
                if (kinds[i].ports)
                        pb_match_syms(b, ru, k1(PF_META_L4PROTO), false, ported, ELEMENTSOF(ported));
                /* add keeps the first timestamp, update refreshes the last one and counts. */
                pb_set_stmt(ru, false, first, kinds[i].key, 0);
                pb_set_stmt(ru, true, last, kinds[i].key, 0);
                pb_verdict(ru, "drop", NULL);
        }
        /* Reached only when a record set is full: still counted, still dropped. */
        struct pol_rule *ru = pb_rule(b, chain);
        pb_verdict(ru, "drop", NULL);
}

static void build_sets(struct builder *b, const struct pb_guest *g) {
        static const char *const t_flow4[] = {"ipv4_addr", "ipv4_addr", "inet_proto", "inet_service", "inet_service"};
        static const char *const t_flow6[] = {"ipv6_addr", "ipv6_addr", "inet_proto", "inet_service", "inet_service"};
        static const char *const t_peer4[] = {"ipv4_addr", "ipv4_addr", "inet_proto"};
        static const char *const t_peer6[] = {"ipv6_addr", "ipv6_addr", "inet_proto"};
        static const char *const t_grant4[] = {"ipv4_addr", "inet_proto", "inet_service"};
        static const char *const t_grant6[] = {"ipv6_addr", "inet_proto", "inet_service"};
        pb_housekeeping_sets(b, g);
        for (int by_guest = 1; by_guest >= 0; by_guest--)
                for (int v4 = 1; v4 >= 0; v4--) {
                        char flows[POL_NAME_MAX], peers[POL_NAME_MAX];
                        flow_sets(v4, by_guest, flows, peers);
                        pb_add_set(b, flows, v4 ? t_flow4 : t_flow6, 5, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER,
                                   POL_DYN_SET_SIZE, false);
                        pb_add_set(b, peers, v4 ? t_peer4 : t_peer6, 3, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER,
                                   POL_DYN_SET_SIZE, false);
                }
        pb_add_set(b, "frag4", t_peer4, 3, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER, POL_DYN_SET_SIZE, false);
        pb_add_set(b, "frag6", t_peer6, 3, PSF_TIMEOUT | PSF_DYNAMIC, POL_FLOW_TIMEOUT_OTHER, POL_DYN_SET_SIZE, false);
        /* Break-glass grants add elements with their own timeout (DESIGN.md "access"). */
        const char *grants[] = {"grant_out4", "grant_out6", "grant_in4", "grant_in6"};
        for (size_t i = 0; i < ELEMENTSOF(grants); i++)
                pb_add_set(b, grants[i], i % 2 ? t_grant6 : t_grant4, 3, PSF_INTERVAL | PSF_TIMEOUT, 0, 0, true);
}

/*
 * Nothing is accepted to go its own way: the tap and the uplink are not
 * bridged, what passes is forwarded by the rule that let it pass (netns.h).
 * So a table flushed, deleted or made dormant leaves no path at all.
 */
static int forward_accepted(struct pol_table *t, char **ret_reason) {
        for (size_t i = 0; i < t->n_rules; i++) {
                struct pol_rule *ru = &t->rules[i];
                size_t n = strlen(ru->chain);
                bool out = n > 4 && streq(ru->chain + n - 4, "_out"), in = n > 3 && streq(ru->chain + n - 3, "_in");
                if ((!out && !in) || ru->n == 0)
                        continue;
                struct pol_stmt *v = &ru->s[ru->n - 1];
                if (v->kind != PS_VERDICT || !streq(v->verdict, "accept"))
                        continue;
                if (ru->n >= POL_RULE_STMTS_MAX)
                        return ecl_reason(ret_reason, -EBADMSG, "rule %s of chain %s has no room for its mark",
                                          ru->comment, ru->chain);
                /* ... counter, meta mark set M, fwd to DEV: the guard chains let only that out */
                ru->s[ru->n] = *v;
                ru->s[ru->n - 1] = (struct pol_stmt){.kind = PS_MARK, .mark = POL_FWD_MARK};
                v = &ru->s[ru->n++];
                v->verdict = "fwd";
                snprintf(v->target, sizeof v->target, "%s", out ? t->uplink : t->device);
        }
        return 0;
}

/*
 * On the egress of tap and uplink: out goes only what one of our rules
 * forwarded (its mark, cleared here so it goes no further); anything else
 * sent on them is counted and dropped.
 */
static void build_guards(struct builder *b) {
        const char *guards[] = {"guard_tap", "guard_uplink"};
        for (size_t i = 0; i < ELEMENTSOF(guards); i++) {
                struct pol_rule *r = pb_rule(b, guards[i]);
                pb_match(r, k1(PF_META_MARK), false, v_num(POL_FWD_MARK));
                if (r && r->n < POL_RULE_STMTS_MAX)
                        r->s[r->n++] = (struct pol_stmt){.kind = PS_MARK, .mark = 0};
                pb_verdict(r, "accept", NULL);
                r = pb_rule(b, guards[i]);
                pb_verdict(r, "drop", NULL);
        }
}

int pol_build(const struct ecl_manifest *m, struct pol_table **ret, char **ret_reason) {
        if (!m->has_network)
                return ecl_reason(ret_reason, -EBADMSG, "stack %s has no network: there is no tap to filter", m->stack);
        if (m->network.n_addresses == 0)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "stack %s has no network.addresses: the tap would admit any source", m->stack);
        _cleanup_pol_table_ struct pol_table *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        _cleanup_free_ char *name = NULL;
        if (shim_nft_table_name(m->stack, &name) < 0)
                return -ENOMEM;
        if (strlen(name) >= sizeof t->name)
                return ecl_reason(ret_reason, -EBADMSG, "table name %s too long", name);
        strcpy(t->name, name);
        shim_tap_name(m->stack, 0, t->device);
        char outer[IFNAMSIZ];
        shim_uplink_names(m->stack, t->uplink, outer);

        static const struct pol_chain chains[] = {
                {"guest_out", "ingress", -500, true, false}, {"guest_in", "ingress", -500, true, true},
                {"arp_out", NULL, 0, false, false},          {"nd_out", NULL, 0, false, false},
                {"arp_in", NULL, 0, false, false},           {"nd_in", NULL, 0, false, false},
                {"arp_nbr_out", NULL, 0, false, false},      {"arp_nbr_in", NULL, 0, false, false},
                {"nd_nbr_out", NULL, 0, false, false},       {"nd_nbr_in", NULL, 0, false, false},
                {"too_big_in", NULL, 0, false, false},
                {"drop_out", NULL, 0, false, false},         {"drop_in", NULL, 0, false, false},
                {"guard_tap", "egress", -500, true, false},  {"guard_uplink", "egress", -500, true, true},
        };
        t->chains = calloc(ELEMENTSOF(chains), sizeof *t->chains);
        if (!t->chains)
                return -ENOMEM;
        memcpy(t->chains, chains, sizeof chains);
        t->n_chains = ELEMENTSOF(chains);

        struct pb_guest g;
        int r = pb_guest_init(&g, m);
        if (r < 0)
                return r;
        struct builder b = {.t = t, .reason = ret_reason};
        build_sets(&b, &g);
        r = build_direction(&b, m, &g, true);
        if (r >= 0)
                r = build_direction(&b, m, &g, false);
        if (r >= 0) {
                pb_arp_out(&b, &g);
                pb_nd_out(&b, &g);
                pb_arp_in(&b, &g);
                pb_arp_nbr(&b, &g);
                pb_icmp_too_big_src(&b, &g);
                pb_nd_nbr(&b, &g);
                pb_nd_in(&b, &g);
                build_drop(&b, "out");
                build_drop(&b, "in");
                build_guards(&b);
                r = b.err;
        }
        if (r >= 0)
                r = forward_accepted(t, ret_reason);
        for (size_t j = 0; j < b.scratch.n; j++)
                free(b.scratch.s[j].vals);
        pb_guest_done(&g);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
