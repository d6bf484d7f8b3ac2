/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The policy as a typed intermediate list (internal to the policy modules).
 * One builder (policy-build.c) turns a manifest into it; two emitters
 * (policy-emit.c) print it as libnftables JSON, for loading, and as nft text,
 * for display.  Both print the same list, so they cannot disagree.  No value
 * in here is a string from the manifest: addresses are bytes, ports numbers,
 * every symbol comes from this program.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

#define POL_NAME_MAX 48

/* The fields rules look at (payload or meta expressions). */
enum pol_field {
        PF_ETHER_SADDR,
        PF_ETHER_DADDR,
        PF_ETHER_TYPE,
        PF_META_PROTOCOL,
        PF_META_L4PROTO,
        PF_ARP_SADDR_ETHER,
        PF_ARP_SADDR_IP,
        PF_IP_SADDR,
        PF_IP_DADDR,
        PF_IP6_SADDR,
        PF_IP6_DADDR,
        PF_IP6_HOPLIMIT,
        PF_ICMPV6_TYPE,
        PF_TH_SPORT,
        PF_TH_DPORT,
        PF_META_LEN,        /* ingress hook: the L3 length; egress hook: the whole frame */
        PF_ARP_HTYPE,
        PF_ARP_PTYPE,
        PF_ARP_HLEN,
        PF_ARP_PLEN,
        PF_ARP_OP,
        PF_ARP_DADDR_ETHER,
        PF_ARP_DADDR_IP,
        PF_IP_FRAGOFF,      /* ip frag-off & 0x1fff: non-zero for a non-first fragment */
        PF_IP6_NEXTHDR,
        PF_IP6_FRAGOFF,     /* the fragment header's offset (exthdr frag frag-off) */
        PF_ICMP_TYPE,
        PF_ICMP_CODE,
        PF_ICMPV6_CODE,
        PF_TCP_CTL,         /* tcp flags & (fin|syn|rst): zero on a packet of an established flow */
        /* Raw payload (a number of the field's width, values PV_HEX). */
        PF_TH_WORD1,        /* @th,32,32: the reserved word of NS/RS, NA's flags and reserved bits */
        PF_ND_TARGET,       /* @th,64,128: the target address of a neighbour solicitation/advertisement */
        PF_ND_OPT_HDR,      /* @th,192,16: the first option's type and length (NS/NA) */
        PF_ND_OPT_MAC,      /* @th,208,48: its link-layer address */
        PF_RS_OPT_HDR,      /* @th,64,16: a router solicitation's first option */
        PF_RS_OPT_MAC,      /* @th,80,48 */
        PF_ICMP_INNER_VIHL, /* @th,64,8: version and header length of the packet an ICMP error quotes */
        PF_ICMP_INNER_PROTO,   /* @th,136,8 */
        PF_ICMP_INNER_SADDR,   /* @th,160,32 */
        PF_ICMP_INNER_DADDR,   /* @th,192,32 */
        PF_ICMPV6_INNER_NEXT,  /* @th,112,8 */
        PF_ICMPV6_INNER_SADDR, /* @th,128,128 */
        PF_ICMPV6_INNER_DADDR, /* @th,256,128 */
        PF_ARP_PAD1,        /* @nh,224,128: the first 16 bytes of padding after an ARP packet */
        PF_ARP_PAD2,        /* @nh,352,16: the last 2 (a frame of 60 bytes) */
        PF_IP6_VTCFL,       /* @nh,0,32: version, traffic class, flow label */
        PF_IP6_LENGTH,      /* ip6 length: the payload length the header claims */
        PF_ETHER_SRC_GROUP, /* @ll,48,8 & 1: the group bit of the source MAC */
        PF_ETHER_DST_OUI,   /* @ll,0,24: the first 3 bytes of the destination MAC */
        PF_META_MARK,       /* meta mark: set by the rule that forwards a packet (POL_FWD_MARK) */
        PF_IP_HDRLENGTH,    /* ip hdrlength: 5 for a header without options */
        PF_IP6_FRAG_NEXT,   /* frag nexthdr: the header after an IPv6 fragment header */
        PF_ICMP_UNUSED,     /* @th,32,16: the unused half of "fragmentation needed"'s second word (RFC 1191) */
};

#define POL_KEY_MAX 5

/* A field or a concatenation of fields. */
struct pol_key {
        enum pol_field f[POL_KEY_MAX];
        size_t n;
};

enum pol_val_kind {
        PV_MAC,   /* mac */
        PV_CIDR,  /* cidr (a plain address when the prefix is full) */
        PV_NUM,   /* lo */
        PV_RANGE, /* lo-hi */
        PV_SYM,   /* sym: a symbol constant of this program ("tcp", "arp", "nd-neighbor-solicit") */
        PV_HEX,   /* cidr.addr as one number of the field's width (raw payload); a range when cidr.prefix is shorter */
};

struct pol_val {
        enum pol_val_kind kind;
        uint8_t mac[6];
        struct ecl_cidr cidr;
        uint32_t lo, hi;
        const char *sym;
};

enum pol_stmt_kind {
        PS_MATCH,   /* key OP value | key OP { values } | key OP @set */
        PS_SET,     /* add/update @set { key [timeout T] } */
        PS_COUNTER, /* counter */
        PS_VERDICT, /* accept | drop | goto chain | fwd to device */
        PS_MARK,    /* meta mark set MARK */
        PS_LIMIT,   /* limit rate RATE/second burst BURST packets: no match beyond it */
};

enum pol_rhs_kind { PR_VALUE, PR_ANON_SET, PR_SET_REF };

struct pol_stmt {
        enum pol_stmt_kind kind;
        struct pol_key key;
        /* PS_MATCH */
        bool negate;
        enum pol_rhs_kind rhs;
        struct pol_val val;        /* PR_VALUE */
        struct pol_val *vals;      /* PR_ANON_SET, owned */
        size_t n_vals;
        char set[POL_NAME_MAX];    /* PR_SET_REF, PS_SET */
        /* PS_SET */
        bool update;               /* update (refreshes timeout) or add (keeps it) */
        uint32_t timeout_s;        /* 0: the set's */
        /* PS_MARK */
        uint32_t mark;
        /* PS_LIMIT */
        uint32_t rate, burst;
        /* PS_VERDICT */
        const char *verdict;       /* "accept", "drop", "goto", "fwd" */
        char target[POL_NAME_MAX]; /* goto target; fwd: the device */
};

#define POL_RULE_STMTS_MAX 22

struct pol_rule {
        char chain[POL_NAME_MAX];
        char comment[POL_NAME_MAX]; /* "ecluse N": how verify names a rule that differs */
        struct pol_stmt s[POL_RULE_STMTS_MAX];
        size_t n;
};

enum pol_set_flags {
        PSF_INTERVAL = 1 << 0,
        PSF_TIMEOUT = 1 << 1,
        PSF_DYNAMIC = 1 << 2, /* updated from the packet path (text form only; JSON infers it) */
};

struct pol_set {
        char name[POL_NAME_MAX];
        const char *type[POL_KEY_MAX]; /* nft datatypes, concatenated */
        size_t n_type;
        unsigned flags;
        uint32_t timeout_s;  /* 0: none */
        uint32_t size;       /* 0: default */
        bool counter;        /* a counter on every element */
        struct ecl_cidr *elems; /* owned; single-field address sets only (fixed sets) */
        size_t n_elems;
};

struct pol_chain {
        char name[POL_NAME_MAX];
        const char *hook; /* "ingress", "egress", or NULL for a regular chain */
        int prio;
        bool policy_drop;
        bool on_uplink;   /* hooked on the uplink instead of the tap */
};

struct pol_table {
        char name[POL_NAME_MAX];   /* "ecluse-STACK" */
        char device[16];           /* the tap */
        char uplink[16];           /* the inner end of the stack's uplink (netns.h) */
        struct pol_set *sets;
        size_t n_sets;
        struct pol_chain *chains;
        size_t n_chains;
        struct pol_rule *rules;    /* in order; each names its chain */
        size_t n_rules;
};

/*
 * What the policy forwards carries this mark from the rule that accepted it
 * to the guard chains on the egress of tap and uplink, which transmit only
 * what carries it (and clear it): nothing else sent on either device (by a
 * host process bound to it, a tc redirect, a QEMU that got out) leaves.
 */
#define POL_FWD_MARK 0x65636c75u /* "eclu" */

/* Names of the drop-record sets: "blk_" DIR "_" KIND "_" ("first"|"last"). */
#define POL_BLOCKED_PREFIX "blk_"
#define POL_RULE_COMMENT_PREFIX "ecluse "

/* Flow-tracking timeouts (seconds): TCP flows idle out after an hour, others after two minutes. */
#define POL_FLOW_TIMEOUT_TCP 3600
#define POL_FLOW_TIMEOUT_OTHER 120
/* Drop records are kept for a week after the last (or first) drop. */
#define POL_BLOCKED_TIMEOUT (7 * 24 * 3600)
/* Tracked flows per family and direction kind. */
#define POL_DYN_SET_SIZE 65536
/*
 * Distinct drop records per set (24 sets).  A guest spraying distinct
 * destinations fills them (bounded kernel memory, a few MB per set); further
 * drops are still dropped and counted by the drop chains' last rule.
 */
#define POL_BLOCKED_SET_SIZE 16384
