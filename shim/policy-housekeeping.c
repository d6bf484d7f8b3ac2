/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ARP, neighbour discovery and ICMP "too big", in their minimal form
 * (policy-housekeeping.h).
 *
 * Every field of an accepted ARP or ND packet is fixed or drawn from the
 * manifest: the sender is the guest's own MAC and address, the target a host
 * the manifest names (network.neighbours or a rule's network), the length
 * the protocol's own (no padding, no options but the one link-layer address,
 * which must be the guest's), reserved bits zero.  Unicast frames from the
 * guest go only to MACs that answered as neighbours (nbr_macs).  So the
 * guest has no field left to carry data in, and nothing from a host the
 * manifest does not name reaches it.  The only freedom left is which
 * neighbour the guest asks for, within the networks the manifest opened
 * (and, for a network's ND, which solicited-node group it asks at), at
 * most PB_SOLICIT_RATE times a second.
 *
 * Both base chains hook ingress (guest_out on the tap, guest_in on the
 * uplink), where "meta length" is the length from the network header on:
 * a frame padded to Ethernet's minimum by a NIC is 14 bytes shorter there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "policy-housekeeping.h"

#define ETH_HDR 14
#define ARP_LEN 28      /* Ethernet/IPv4 ARP */
#define ETH_MIN_FRAME 60 /* the shortest Ethernet frame (without FCS): an ARP packet padded with 18 bytes */
#define IP6_HDR 40
#define ND_LEN 24       /* NS or NA without options */
#define RS_LEN 8
#define LLA_OPT 8       /* a link-layer address option of an Ethernet interface */
/*
 * Up to this many IPv6 neighbour hosts get a solicitation rule each (group,
 * MAC and target agreeing); beyond it one rule for all, where the low 24 bits
 * of the group are the guest's choice: rules stay few for a manifest of
 * thousands of openings.
 */
#define PB_ND_EXACT_MAX 32
/*
 * Broadcast ARP requests and multicast solicitations whose target may be any
 * host of a network the manifest opened: the target's host bits (and, for
 * ND, the low 24 bits of the group and its MAC, which nft cannot tie to the
 * target) are the guest's to choose, so they are limited to this many a
 * second (a burst of three times as many).  Beyond it they go to drop_out,
 * recorded.  A host resolving its peers sends a few; Linux retries an
 * unanswered one three times, a second apart.
 */
#define PB_SOLICIT_RATE 20
#define PB_SOLICIT_BURST 60

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6] = {0};

/* The rules' networks of a family (rules), and network.neighbours (neighbours). */
static size_t collect(const struct ecl_manifest *m, int family, bool rules, bool neighbours, struct ecl_cidr **ret) {
        const struct ecl_network *n = &m->network;
        size_t cap = n->n_egress + n->n_ingress + n->n_neighbours, k = 0;
        struct ecl_cidr *c = calloc(cap ? cap : 1, sizeof *c);
        *ret = c;
        if (!c)
                return 0;
        const struct ecl_rule *lists[] = {n->egress, n->ingress};
        const size_t counts[] = {n->n_egress, n->n_ingress};
        for (size_t l = 0; rules && l < 2; l++)
                for (size_t i = 0; i < counts[l]; i++)
                        if (lists[l][i].net.family == family)
                                c[k++] = lists[l][i].net;
        for (size_t i = 0; neighbours && i < n->n_neighbours; i++)
                if (n->neighbours[i].family == family)
                        c[k++] = n->neighbours[i];
        return pb_cidrs_normalise(c, k);
}

int pb_guest_init(struct pb_guest *g, const struct ecl_manifest *m) {
        *g = (struct pb_guest){0};
        shim_guest_mac(m, g->mac);
        for (size_t i = 0; i < m->network.n_addresses && i < ECL_ADDRESSES_MAX; i++) {
                const struct ecl_cidr *a = &m->network.addresses[i];
                if (a->family == AF_INET)
                        g->own4[g->n_own4++] = *a;
                else
                        g->own6[g->n_own6++] = *a;
        }
        struct ecl_cidr ll = {.family = AF_INET6, .prefix = 128};
        shim_guest_linklocal(g->mac, ll.addr);
        bool listed = false;
        for (size_t i = 0; i < g->n_own6; i++)
                listed |= memcmp(g->own6[i].addr, ll.addr, 16) == 0;
        if (!listed)
                g->own6[g->n_own6++] = ll;
        g->n_nbr4 = collect(m, AF_INET, false, true, &g->nbr4);
        g->n_nbr6 = collect(m, AF_INET6, true, true, &g->nbr6);
        g->n_peer4 = collect(m, AF_INET, true, false, &g->peer4);
        g->n_peer6 = collect(m, AF_INET6, true, false, &g->peer6);
        g->any_nbr4 = g->n_nbr4 > 0 || g->n_peer4 > 0;
        if (!g->nbr4 || !g->nbr6 || !g->peer4 || !g->peer6) {
                pb_guest_done(g);
                return -ENOMEM;
        }
        return 0;
}

void pb_guest_done(struct pb_guest *g) {
        free(g->nbr4), free(g->nbr6), free(g->peer4), free(g->peer6);
        *g = (struct pb_guest){0};
}

void pb_housekeeping_sets(struct builder *b, const struct pb_guest *g) {
        static const char *const t_mac[] = {"ether_addr"};
        pb_add_addr_set(b, "guest_addrs4", AF_INET, g->own4, g->n_own4);
        pb_add_addr_set(b, "guest_addrs6", AF_INET6, g->own6, g->n_own6);
        pb_add_addr_set(b, "nbr4", AF_INET, g->nbr4, g->n_nbr4);
        pb_add_addr_set(b, "nbr6", AF_INET6, g->nbr6, g->n_nbr6);
        pb_add_set(b, PB_NBR_MACS, t_mac, 1, PSF_TIMEOUT | PSF_DYNAMIC, PB_NBR_MACS_TIMEOUT, PB_NBR_MACS_SIZE, false);
}

/* ---- ARP ---- */

/* Ethernet/IPv4 ARP of this operation: the fixed header fields. */
static void arp_header(struct builder *b, struct pol_rule *r, const char *op) {
        (void) b;
        pb_match(r, k1(PF_ARP_HTYPE), false, v_num(1));
        pb_match(r, k1(PF_ARP_PTYPE), false, v_sym("ip"));
        pb_match(r, k1(PF_ARP_HLEN), false, v_num(6));
        pb_match(r, k1(PF_ARP_PLEN), false, v_num(4));
        pb_match(r, k1(PF_ARP_OP), false, v_sym(op));
}

void pb_arp_out(struct builder *b, const struct pb_guest *g) {
        struct pol_rule *r;
        if (g->n_own4 > 0) {
                /*
                 * A request for a neighbour, broadcast or (re-validating it) to its
                 * MAC, or for itself (an announcement).  A neighbour's address is
                 * looked up by arp_nbr_out, in the sets that already hold it.
                 */
                for (int k = 0; k < 3; k++) {
                        if (k < 2 && !g->any_nbr4)
                                continue;
                        r = pb_rule(b, "arp_out");
                        pb_match(r, k1(PF_META_LEN), false, v_num(ARP_LEN));
                        arp_header(b, r, "request");
                        pb_match(r, k1(PF_ARP_SADDR_ETHER), false, v_mac(g->mac));
                        pb_match_ref(r, k1(PF_ARP_SADDR_IP), false, "guest_addrs4");
                        pb_match(r, k1(PF_ARP_DADDR_ETHER), false, v_mac(zero_mac));
                        if (k == 2)
                                pb_match_ref(r, k1(PF_ARP_DADDR_IP), false, "guest_addrs4");
                        if (k == 1)
                                pb_match_ref(r, k1(PF_ETHER_DADDR), false, PB_NBR_MACS);
                        else
                                pb_match(r, k1(PF_ETHER_DADDR), false, v_mac(bcast));
                        if (k == 0)
                                pb_limit(r, PB_SOLICIT_RATE, PB_SOLICIT_BURST);
                        if (k < 2)
                                pb_verdict(r, "jump", "arp_nbr_out");
                        else
                                pb_verdict(r, "accept", NULL);
                }
                /* A probe before taking an address (RFC 5227): sender 0.0.0.0, target its own. */
                struct ecl_cidr any4 = {.family = AF_INET, .prefix = 32};
                r = pb_rule(b, "arp_out");
                pb_match(r, k1(PF_META_LEN), false, v_num(ARP_LEN));
                arp_header(b, r, "request");
                pb_match(r, k1(PF_ARP_SADDR_ETHER), false, v_mac(g->mac));
                pb_match(r, k1(PF_ARP_SADDR_IP), false, v_cidr(&any4));
                pb_match(r, k1(PF_ARP_DADDR_ETHER), false, v_mac(zero_mac));
                pb_match_ref(r, k1(PF_ARP_DADDR_IP), false, "guest_addrs4");
                pb_match(r, k1(PF_ETHER_DADDR), false, v_mac(bcast));
                pb_verdict(r, "accept", NULL);
                /* A reply to a neighbour that asked (its MAC was learned from the request). */
                if (g->any_nbr4) {
                        r = pb_rule(b, "arp_out");
                        pb_match(r, k1(PF_META_LEN), false, v_num(ARP_LEN));
                        arp_header(b, r, "reply");
                        pb_match(r, k1(PF_ARP_SADDR_ETHER), false, v_mac(g->mac));
                        pb_match_ref(r, k1(PF_ARP_SADDR_IP), false, "guest_addrs4");
                        pb_match_ref(r, k1(PF_ARP_DADDR_ETHER), false, PB_NBR_MACS);
                        pb_match_ref(r, k1(PF_ETHER_DADDR), false, PB_NBR_MACS);
                        pb_verdict(r, "jump", "arp_nbr_out");
                }
        }
        r = pb_rule(b, "arp_out");
        pb_verdict(r, "goto", "drop_out");
}

void pb_arp_in(struct builder *b, const struct pb_guest *g) {
        struct pol_rule *r;
        if (g->n_own4 > 0 && g->any_nbr4) {
                const struct pol_val req_tha[] = {v_mac(zero_mac), v_mac(g->mac)};
                const struct pol_val req_dst[] = {v_mac(bcast), v_mac(g->mac)};
                uint8_t zero16[16] = {0};
                for (int reply = 0; reply <= 1; reply++)
                        for (int padded = 0; padded <= 1; padded++) {
                                r = pb_rule(b, "arp_in");
                                if (padded) {
                                        /* Padded to the shortest frame by a NIC: with zeros only. */
                                        pb_match(r, k1(PF_META_LEN), false, v_num(ETH_MIN_FRAME - ETH_HDR));
                                        pb_match(r, k1(PF_ARP_PAD1), false, v_hex(zero16, 16));
                                        pb_match(r, k1(PF_ARP_PAD2), false, v_hex(zero16, 2));
                                } else
                                        pb_match(r, k1(PF_META_LEN), false, v_num(ARP_LEN));
                                arp_header(b, r, reply ? "reply" : "request");
                                pb_match_ref(r, k1(PF_ARP_DADDR_IP), false, "guest_addrs4");
                                if (reply) {
                                        pb_match(r, k1(PF_ARP_DADDR_ETHER), false, v_mac(g->mac));
                                        pb_match(r, k1(PF_ETHER_DADDR), false, v_mac(g->mac));
                                } else {
                                        pb_match_vals(b, r, k1(PF_ARP_DADDR_ETHER), false, req_tha, 2);
                                        pb_match_vals(b, r, k1(PF_ETHER_DADDR), false, req_dst, 2);
                                }
                                /* Never a group address: arp_nbr_in learns the frame's source. */
                                pb_match(r, k1(PF_ETHER_SRC_GROUP), false, v_num(0));
                                pb_verdict(r, "jump", "arp_nbr_in");
                        }
        }
        r = pb_rule(b, "arp_in");
        pb_verdict(r, "goto", "drop_in");
}

/* The fixed IPv4 sets a neighbour's address is in: nbr4 (network.neighbours) and every rule's set. */
static bool nbr4_set(const char *name) {
        return streq(name, "nbr4") || strncmp(name, PB_NET_SET_OUT4, strlen(PB_NET_SET_OUT4)) == 0 ||
               strncmp(name, PB_NET_SET_IN4, strlen(PB_NET_SET_IN4)) == 0;
}

/* For each set holding IPv4 neighbours, a rule of chain: field @set, [learn the source MAC,] accept. */
static void nbr4_lookups(struct builder *b, const struct pb_guest *g, const char *chain, enum pol_field field,
                         bool learn) {
        for (size_t i = 0; i < b->t->n_sets; i++) {
                const char *set = b->t->sets[i].name;
                if (!nbr4_set(set) || (streq(set, "nbr4") && g->n_nbr4 == 0))
                        continue;
                struct pol_rule *r = pb_rule(b, chain);
                pb_match_ref(r, k1(field), false, set);
                if (learn)
                        pb_set_stmt(r, true, PB_NBR_MACS, k1(PF_ETHER_SADDR), 0);
                pb_verdict(r, "accept", NULL);
        }
}

void pb_arp_nbr(struct builder *b, const struct pb_guest *g) {
        if (g->n_own4 == 0 || !g->any_nbr4)
                return;
        nbr4_lookups(b, g, "arp_nbr_out", PF_ARP_DADDR_IP, false);
        nbr4_lookups(b, g, "arp_nbr_in", PF_ARP_SADDR_IP, true);
}

/* ---- neighbour discovery ---- */

/* ff02::1:ffXX:XXXX, the solicited-node group of an address (RFC 4291 2.7.1). */
static struct ecl_cidr solicited_node(const struct ecl_cidr *a) {
        struct ecl_cidr s = {.family = AF_INET6, .prefix = 128};
        s.addr[0] = 0xff, s.addr[1] = 0x02, s.addr[11] = 0x01, s.addr[12] = 0xff;
        memcpy(s.addr + 13, a->addr + 13, 3);
        if (a->prefix < 104) /* a network: any of its hosts' groups */
                s.prefix = 104, memset(s.addr + 13, 0, 3);
        return s;
}

/* Its Ethernet group 33:33:ff:XX:XX:XX. */
static struct pol_val solicited_node_mac(const struct ecl_cidr *a) {
        uint8_t m[6] = {0x33, 0x33, 0xff, a->addr[13], a->addr[14], a->addr[15]};
        return v_mac(m);
}

/*
 * The fixed part of an ND message from the guest: version 6 with traffic
 * class and flow label zero, the payload length the packet has (meta length,
 * checked by each rule, is what it carries), no extension header, hop limit
 * 255, code 0.
 */
static void nd_header_out(struct pol_rule *r, const char *type, unsigned icmp_len) {
        pb_match(r, k1(PF_IP6_VTCFL), false, v_hex32(0x60000000));
        pb_match(r, k1(PF_IP6_LENGTH), false, v_num(icmp_len));
        pb_match(r, k1(PF_META_LEN), false, v_num(IP6_HDR + icmp_len));
        pb_match(r, k1(PF_IP6_NEXTHDR), false, v_sym("ipv6-icmp"));
        pb_match(r, k1(PF_IP6_HOPLIMIT), false, v_num(255));
        pb_match(r, k1(PF_ICMPV6_TYPE), false, v_sym(type));
        pb_match(r, k1(PF_ICMPV6_CODE), false, v_num(0));
}

/* The fixed part of an ND message to the guest: no extension header, hop limit 255, code 0. */
static void nd_header(struct pol_rule *r, const char *type) {
        pb_match(r, k1(PF_IP6_NEXTHDR), false, v_sym("ipv6-icmp"));
        pb_match(r, k1(PF_IP6_HOPLIMIT), false, v_num(255));
        pb_match(r, k1(PF_ICMPV6_TYPE), false, v_sym(type));
        pb_match(r, k1(PF_ICMPV6_CODE), false, v_num(0));
}

/* The one link-layer address option, of this type (1 source, 2 target), holding the guest's MAC. */
static void nd_guest_lla(struct pol_rule *r, const struct pb_guest *g, uint16_t type) {
        pb_match(r, k1(PF_ND_OPT_HDR), false, v_hex16((uint16_t) (type << 8 | 1)));
        pb_match(r, k1(PF_ND_OPT_MAC), false, v_hex(g->mac, 6));
}

static struct pol_val mac_of_group(uint8_t last) {
        uint8_t m[6] = {0x33, 0x33, 0, 0, 0, last};
        return v_mac(m);
}

void pb_nd_out(struct builder *b, const struct pb_guest *g) {
        struct pol_rule *r;
        struct ecl_cidr ll = g->own6[g->n_own6 - 1], any6 = {.family = AF_INET6, .prefix = 128};
        struct ecl_cidr all_routers = {.family = AF_INET6, .prefix = 128, .addr = {0xff, 0x02, [15] = 0x02}};
        struct ecl_cidr all_nodes = {.family = AF_INET6, .prefix = 128, .addr = {0xff, 0x02, [15] = 0x01}};
        const uint8_t sol_oui[3] = {0x33, 0x33, 0xff};

        /* Router solicitation from its link-local address, with its MAC, or from :: without; to all routers. */
        for (int unspec = 0; unspec <= 1; unspec++) {
                r = pb_rule(b, "nd_out");
                pb_match(r, k1(PF_ETHER_DADDR), false, mac_of_group(0x02));
                pb_match(r, k1(PF_IP6_SADDR), false, v_cidr(unspec ? &any6 : &ll));
                pb_match(r, k1(PF_IP6_DADDR), false, v_cidr(&all_routers));
                nd_header_out(r, "nd-router-solicit", RS_LEN + (unspec ? 0 : LLA_OPT));
                pb_match(r, k1(PF_TH_WORD1), false, v_hex32(0));
                if (!unspec) {
                        pb_match(r, k1(PF_RS_OPT_HDR), false, v_hex16(0x0101));
                        pb_match(r, k1(PF_RS_OPT_MAC), false, v_hex(g->mac, 6));
                }
                pb_verdict(r, "accept", NULL);
        }
        /* Duplicate address detection: from ::, for one of its own addresses, to that address's group, no option. */
        for (size_t i = 0; i < g->n_own6; i++) {
                struct ecl_cidr grp = solicited_node(&g->own6[i]);
                r = pb_rule(b, "nd_out");
                pb_match(r, k1(PF_ETHER_DADDR), false, solicited_node_mac(&g->own6[i]));
                pb_match(r, k1(PF_IP6_SADDR), false, v_cidr(&any6));
                pb_match(r, k1(PF_IP6_DADDR), false, v_cidr(&grp));
                nd_header_out(r, "nd-neighbor-solicit", ND_LEN);
                pb_match(r, k1(PF_TH_WORD1), false, v_hex32(0));
                pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), &g->own6[i], 1, 16);
                pb_verdict(r, "accept", NULL);
        }

        /*
         * A solicitation for a neighbour, to its solicited-node group (and that
         * group's MAC): one rule per neighbour host, so daddr, MAC and target
         * agree; for a network of the manifest, any host of it.
         */
        size_t hosts = 0;
        for (size_t i = 0; i < g->n_nbr6; i++)
                hosts += g->nbr6[i].prefix == 128;
        bool exact = hosts <= PB_ND_EXACT_MAX, networks = !exact;
        for (size_t i = 0; i < g->n_nbr6; i++) {
                if (g->nbr6[i].prefix < 128 || !exact) {
                        networks |= g->nbr6[i].prefix < 128;
                        continue;
                }
                struct ecl_cidr grp = solicited_node(&g->nbr6[i]);
                r = pb_rule(b, "nd_out");
                pb_match(r, k1(PF_ETHER_DADDR), false, solicited_node_mac(&g->nbr6[i]));
                pb_match_ref(r, k1(PF_IP6_SADDR), false, "guest_addrs6");
                pb_match(r, k1(PF_IP6_DADDR), false, v_cidr(&grp));
                nd_header_out(r, "nd-neighbor-solicit", ND_LEN + LLA_OPT);
                pb_match(r, k1(PF_TH_WORD1), false, v_hex32(0));
                nd_guest_lla(r, g, 1);
                pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), &g->nbr6[i], 1, 16);
                pb_verdict(r, "accept", NULL);
        }
        if (networks) {
                struct ecl_cidr any_grp = {.family = AF_INET6, .prefix = 104, .addr = {0xff, 0x02, [11] = 0x01, [12] = 0xff}};
                r = pb_rule(b, "nd_out");
                pb_match(r, k1(PF_ETHER_DST_OUI), false, v_hex(sol_oui, 3));
                pb_match_ref(r, k1(PF_IP6_SADDR), false, "guest_addrs6");
                pb_match(r, k1(PF_IP6_DADDR), false, v_cidr(&any_grp));
                nd_header_out(r, "nd-neighbor-solicit", ND_LEN + LLA_OPT);
                pb_match(r, k1(PF_TH_WORD1), false, v_hex32(0));
                nd_guest_lla(r, g, 1);
                pb_limit(r, PB_SOLICIT_RATE, PB_SOLICIT_BURST);
                pb_verdict(r, "jump", "nd_nbr_out"); /* the target, a neighbour */
        }
        if (g->n_nbr6 > 0) {
                /* Re-validating a neighbour: unicast to it, at a MAC that answered. */
                r = pb_rule(b, "nd_out");
                pb_match_ref(r, k1(PF_ETHER_DADDR), false, PB_NBR_MACS);
                pb_match_ref(r, k1(PF_IP6_SADDR), false, "guest_addrs6");
                pb_match_ref(r, k1(PF_IP6_DADDR), false, "nbr6");
                nd_header_out(r, "nd-neighbor-solicit", ND_LEN + LLA_OPT);
                pb_match(r, k1(PF_TH_WORD1), false, v_hex32(0));
                nd_guest_lla(r, g, 1);
                pb_verdict(r, "jump", "nd_nbr_out"); /* the target, a neighbour */
                /*
                 * An advertisement of one of its own addresses: solicited, to the
                 * neighbour that asked (with the option when the question was
                 * multicast, without when it was unicast, as Linux answers).
                 */
                const struct pol_val solicited[] = {v_hex32(0x40000000), v_hex32(0x60000000)};
                for (int opt = 0; opt <= 1; opt++) {
                        r = pb_rule(b, "nd_out");
                        pb_match_ref(r, k1(PF_ETHER_DADDR), false, PB_NBR_MACS);
                        pb_match_ref(r, k1(PF_IP6_SADDR), false, "guest_addrs6");
                        pb_match_ref(r, k1(PF_IP6_DADDR), false, "nbr6");
                        nd_header_out(r, "nd-neighbor-advert", ND_LEN + (opt ? LLA_OPT : 0));
                        pb_match_vals(b, r, k1(PF_TH_WORD1), false, solicited, ELEMENTSOF(solicited));
                        if (opt)
                                nd_guest_lla(r, g, 2);
                        pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), g->own6, g->n_own6, 16);
                        pb_verdict(r, "accept", NULL);
                }
        }
        /* Unsolicited, to all nodes (after a MAC change), with the option. */
        const struct pol_val unsolicited[] = {v_hex32(0), v_hex32(0x20000000)};
        r = pb_rule(b, "nd_out");
        pb_match(r, k1(PF_ETHER_DADDR), false, mac_of_group(0x01));
        pb_match_ref(r, k1(PF_IP6_SADDR), false, "guest_addrs6");
        pb_match(r, k1(PF_IP6_DADDR), false, v_cidr(&all_nodes));
        nd_header_out(r, "nd-neighbor-advert", ND_LEN + LLA_OPT);
        pb_match_vals(b, r, k1(PF_TH_WORD1), false, unsolicited, ELEMENTSOF(unsolicited));
        nd_guest_lla(r, g, 2);
        pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), g->own6, g->n_own6, 16);
        pb_verdict(r, "accept", NULL);

        /* Router advertisements, redirects and everything else: never. */
        r = pb_rule(b, "nd_out");
        pb_verdict(r, "goto", "drop_out");
}

void pb_nd_in(struct builder *b, const struct pb_guest *g) {
        struct pol_rule *r;
        if (g->n_nbr6 > 0) {
                struct ecl_cidr grp[ECL_ADDRESSES_MAX + 1];
                struct pol_val grp_mac[ECL_ADDRESSES_MAX + 1];
                for (size_t i = 0; i < g->n_own6; i++) {
                        grp[i] = solicited_node(&g->own6[i]);
                        grp_mac[i] = solicited_node_mac(&g->own6[i]);
                }
                /* A neighbour's solicitation for one of its addresses: to the group, or unicast. */
                for (int unicast = 0; unicast <= 1; unicast++)
                        for (int opt = unicast ? 0 : 1; opt <= 1; opt++) {
                                r = pb_rule(b, "nd_in");
                                pb_match_ref(r, k1(PF_IP6_SADDR), false, "nbr6");
                                if (unicast) {
                                        pb_match_ref(r, k1(PF_IP6_DADDR), false, "guest_addrs6");
                                        pb_match(r, k1(PF_ETHER_DADDR), false, v_mac(g->mac));
                                } else {
                                        pb_match_cidrs(b, r, k1(PF_IP6_DADDR), false, grp, g->n_own6);
                                        pb_match_vals(b, r, k1(PF_ETHER_DADDR), false, grp_mac, g->n_own6);
                                }
                                nd_header(r, "nd-neighbor-solicit");
                                pb_match(r, k1(PF_TH_WORD1), false, v_hex32(0));
                                pb_match(r, k1(PF_META_LEN), false, v_num(IP6_HDR + ND_LEN + (opt ? LLA_OPT : 0)));
                                if (opt)
                                        pb_match(r, k1(PF_ND_OPT_HDR), false, v_hex16(0x0101));
                                pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), g->own6, g->n_own6, 16);
                                pb_match(r, k1(PF_ETHER_SRC_GROUP), false, v_num(0));
                                pb_set_stmt(r, true, PB_NBR_MACS, k1(PF_ETHER_SADDR), 0);
                                pb_verdict(r, "accept", NULL);
                        }
                /* A neighbour's solicited advertisement of itself (a router may say so). */
                const struct pol_val flags[] = {v_hex32(0x40000000), v_hex32(0x60000000), v_hex32(0xc0000000),
                                                v_hex32(0xe0000000)};
                for (int opt = 0; opt <= 1; opt++) {
                        r = pb_rule(b, "nd_in");
                        pb_match_ref(r, k1(PF_IP6_SADDR), false, "nbr6");
                        pb_match_ref(r, k1(PF_IP6_DADDR), false, "guest_addrs6");
                        pb_match(r, k1(PF_ETHER_DADDR), false, v_mac(g->mac));
                        nd_header(r, "nd-neighbor-advert");
                        pb_match_vals(b, r, k1(PF_TH_WORD1), false, flags, ELEMENTSOF(flags));
                        pb_match(r, k1(PF_META_LEN), false, v_num(IP6_HDR + ND_LEN + (opt ? LLA_OPT : 0)));
                        if (opt)
                                pb_match(r, k1(PF_ND_OPT_HDR), false, v_hex16(0x0201));
                        pb_match(r, k1(PF_ETHER_SRC_GROUP), false, v_num(0));
                        pb_verdict(r, "jump", "nd_nbr_in"); /* the target, a neighbour; learnt there */
                }
        }
        r = pb_rule(b, "nd_in");
        pb_verdict(r, "goto", "drop_in");
}

void pb_nd_nbr(struct builder *b, const struct pb_guest *g) {
        if (g->n_nbr6 == 0)
                return;
        struct pol_rule *r = pb_rule(b, "nd_nbr_out");
        pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), g->nbr6, g->n_nbr6, 16);
        pb_verdict(r, "accept", NULL);
        r = pb_rule(b, "nd_nbr_in");
        pb_match_hex_cidrs(b, r, k1(PF_ND_TARGET), g->nbr6, g->n_nbr6, 16);
        pb_set_stmt(r, true, PB_NBR_MACS, k1(PF_ETHER_SADDR), 0);
        pb_verdict(r, "accept", NULL);
}

/* ---- ICMP errors ---- */

/*
 * "Too big" is accepted only from a host the manifest names (a peer, or a
 * neighbour: the routers), never from anyone on the path: from anyone it
 * would be a way in for 500 bytes of quoted "payload" a packet.  Linux
 * routers quote up to 576 (IPv4) or 1280 (IPv6) bytes, so the length is
 * bounded, not exact.  A router further away is not heard: the guest's
 * TCP falls back to MTU probing, or the operator names the router in
 * network.neighbours.
 */
void pb_icmp_too_big_in(struct builder *b, const struct pb_guest *g) {
        struct pol_rule *r;
        if (g->n_own4 > 0 && g->n_peer4 > 0) {
                /* Fragmentation needed, quoting an option-less IPv4 header from the guest to a peer. */
                r = pb_rule(b, "guest_in");
                pb_match(r, k1(PF_ICMP_TYPE), false, v_sym("destination-unreachable"));
                pb_match(r, k1(PF_ICMP_CODE), false, v_num(4));
                pb_match(r, k1(PF_ICMP_UNUSED), false, v_hex16(0));
                pb_match(r, k1(PF_META_LEN), false, v_range(20 + 8 + 28, 576));
                pb_match(r, k1(PF_ICMP_INNER_VIHL), false, v_hex((const uint8_t[]){0x45}, 1));
                pb_match_vals(b, r, k1(PF_ICMP_INNER_PROTO), false, (const struct pol_val[]){v_hex((const uint8_t[]){6}, 1), v_hex((const uint8_t[]){17}, 1)}, 2);
                pb_match_hex_cidrs(b, r, k1(PF_ICMP_INNER_SADDR), g->own4, g->n_own4, 4);
                pb_match_hex_cidrs(b, r, k1(PF_ICMP_INNER_DADDR), g->peer4, g->n_peer4, 4);
                pb_verdict(r, "jump", "too_big_in"); /* from a peer or a neighbour */
        }
        if (g->n_peer6 > 0) {
                r = pb_rule(b, "guest_in");
                pb_match_ref(r, k1(PF_IP6_SADDR), false, "nbr6"); /* the rules' networks and the neighbours */
                pb_match(r, k1(PF_IP6_NEXTHDR), false, v_sym("ipv6-icmp"));
                pb_match(r, k1(PF_ICMPV6_TYPE), false, v_sym("packet-too-big"));
                pb_match(r, k1(PF_ICMPV6_CODE), false, v_num(0));
                pb_match(r, k1(PF_META_LEN), false, v_range(IP6_HDR + 8 + 48, 1280));
                pb_match_vals(b, r, k1(PF_ICMPV6_INNER_NEXT), false, (const struct pol_val[]){v_hex((const uint8_t[]){6}, 1), v_hex((const uint8_t[]){17}, 1)}, 2);
                pb_match_hex_cidrs(b, r, k1(PF_ICMPV6_INNER_SADDR), g->own6, g->n_own6, 16);
                pb_match_hex_cidrs(b, r, k1(PF_ICMPV6_INNER_DADDR), g->peer6, g->n_peer6, 16);
                pb_verdict(r, "accept", NULL);
        }
}

void pb_icmp_too_big_src(struct builder *b, const struct pb_guest *g) {
        if (g->n_own4 > 0 && g->n_peer4 > 0)
                nbr4_lookups(b, g, "too_big_in", PF_IP_SADDR, false);
}
