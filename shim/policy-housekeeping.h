/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The housekeeping a guest needs on its link, in its minimal form (internal
 * to the policy builder): ARP and IPv6 neighbour discovery in both
 * directions, and ICMP "too big" errors for the guest's peers.  DESIGN.md invariant 2: no accepted housekeeping frame
 * has room for data, and none reaches or comes from a host the manifest does
 * not name.
 */
#include "manifest.h"
#include "policy-builder.h"

/* What the housekeeping rules compare with, derived from the manifest once. */
struct pb_guest {
        uint8_t mac[6];
        struct ecl_cidr own4[ECL_ADDRESSES_MAX], own6[ECL_ADDRESSES_MAX + 1]; /* own6 ends with the link-local */
        size_t n_own4, n_own6;
        /*
         * On-link hosts it may resolve and answer: network.neighbours and every
         * rule's network.  nbr4 holds only network.neighbours: ARP looks up
         * the rules' networks in their own sets (pb_arp_nbr); any_nbr4 says
         * whether there is any.
         */
        struct ecl_cidr *nbr4, *nbr6;
        size_t n_nbr4, n_nbr6;
        bool any_nbr4;
        /* Every rule's network (ICMP errors). */
        struct ecl_cidr *peer4, *peer6;
        size_t n_peer4, n_peer6;
};

int pb_guest_init(struct pb_guest *g, const struct ecl_manifest *m);
void pb_guest_done(struct pb_guest *g);

/* Learned MACs of the neighbours that answered (the only unicast destinations the guest may send to). */
#define PB_NBR_MACS "nbr_macs"
#define PB_NBR_MACS_TIMEOUT 3600
#define PB_NBR_MACS_SIZE 4096

/* The sets these rules use (guest_addrs4/6, nbr4/6, nbr_macs). */
void pb_housekeeping_sets(struct builder *b, const struct pb_guest *g);
/* The chains arp_out, nd_out (from the guest) and arp_in, nd_in (to it), each ending in its drop chain. */
void pb_arp_out(struct builder *b, const struct pb_guest *g);
void pb_nd_out(struct builder *b, const struct pb_guest *g);
void pb_arp_in(struct builder *b, const struct pb_guest *g);
/*
 * Sets of the rules' networks per direction and family ("out4_N", "in4_N";
 * policy-build.c makes them).
 */
#define PB_NET_SET_OUT4 "out4_"
#define PB_NET_SET_IN4 "in4_"
/*
 * arp_nbr_out and arp_nbr_in, jumped to by those ARP rules of arp_out and
 * arp_in that are left only the neighbour's address to check: one rule per
 * set holding neighbours (nbr4, then every out4_N and in4_N; call it after
 * they are made), accepting (in: learning the sender's MAC); no match
 * returns to the rule after the jump.  One lookup per set instead of a
 * copy of every network in nbr4 (10,000 entries: 16,081 elements fewer for
 * the kernel to insert, 9,000 networks fewer for libnftables to evaluate).
 * A side effect: an ARP packet for a rule's network also counts on that
 * network's element counter in out4_N / in4_N.
 */
void pb_arp_nbr(struct builder *b, const struct pb_guest *g);
/*
 * nd_nbr_out and nd_nbr_in, the same for the ND rules whose target may be
 * any neighbour: one rule each, with nbr6 as raw targets (a raw field
 * cannot look up a typed set), instead of a copy in each such rule.
 */
void pb_nd_nbr(struct builder *b, const struct pb_guest *g);
void pb_nd_in(struct builder *b, const struct pb_guest *g);
/*
 * In guest_in: "fragmentation needed" / "packet too big" about a packet the
 * guest sent to a peer, from a peer or a neighbour.  IPv4 jumps to
 * too_big_in, which pb_icmp_too_big_src fills with the source lookups (one
 * per set holding IPv4 neighbours, as pb_arp_nbr: call it after the sets
 * are made).
 */
void pb_icmp_too_big_in(struct builder *b, const struct pb_guest *g);
void pb_icmp_too_big_src(struct builder *b, const struct pb_guest *g);
