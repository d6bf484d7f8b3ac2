/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The network policy of a stack (DESIGN.md invariants 2 and 4): one nftables
 * table of the netdev family, "ecluse-STACK", with two base chains:
 *
 *   guest_out  hook ingress on the tap (everything the guest sends), policy drop
 *   guest_in   hook ingress on the uplink's inner end (everything sent to the
 *              guest), policy drop
 *
 * What a chain accepts it forwards itself to the other side (`fwd`): tap and
 * uplink are no bridge ports and the namespace around them routes nothing
 * (netns.h), so without the table, or with it dormant, nothing passes.
 *
 * Only the manifest's flows, their replies (tracked in timed sets, there is
 * no conntrack in netdev), and ARP and IPv6 neighbour discovery in their
 * minimal form with the guest's neighbours (policy-housekeeping.c) pass.
 * Frames from another MAC than the guest's, packets from a source address not
 * in network.addresses (or its link-local), unicast frames to a MAC that did
 * not answer as a neighbour, and frames to the guest from one that did not,
 * are dropped.  Every dropped packet goes
 * through a drop chain that records it in kernel sets (first seen, last seen
 * with a counter), so the record survives the shim.  DHCP is not opened:
 * manifests use static addressing.
 *
 * The rules live in the kernel: if the shim dies they stay (fail closed).
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "manifest.h"

/*
 * Every function here prints nothing: a failure is a negative errno with
 * *ret_reason (or *ret_problem), if not NULL, saying why in one line for the
 * caller to print or record.
 */

/*
 * nft text of the table, what `render --policy` prints (loadable with
 * `nft -f`; the same rule list as shim_policy_load loads).  A manifest
 * without a network gets a one-line comment saying so.  Returns 0, -ENOMEM,
 * or -EINVAL for a policy that cannot be built.
 */
int shim_policy_render(const struct ecl_manifest *m, char **ret_text, char **ret_reason);

/*
 * Create (or replace, delete+add in one transaction, so there is never a
 * gap) the stack's table.  The tap shim_tap_name(stack, 0) and the uplink shim_uplink_names() must exist.
 * Returns 0; -ENODEV when the tap is missing or nftables refuses; -EINVAL
 * for a manifest without network or a bad stack name; -ENOMEM.  Each failure
 * has its reason.  Drop records and tracked flows start afresh.
 * shim_policy_load_image (below) also keeps what was loaded.
 */
int shim_policy_load(const struct ecl_manifest *m, char **ret_reason);

/*
 * What a load put in the kernel (policy-image.h), for verify to compare the
 * kernel's table with: shim_policy_load_image keeps it in *ret_image (NULL:
 * not wanted; caller frees with shim_policy_image_free), captured from
 * libnftables' own netlink form of the commands it sent.
 */
struct pol_image;
int shim_policy_load_image(const struct ecl_manifest *m, struct pol_image **ret_image, char **ret_reason);
void shim_policy_image_free(struct pol_image *img);

/*
 * Read the table back from the kernel and check it holds exactly the policy
 * (DESIGN.md invariant 2): the table without flags (not dormant), every chain
 * with its type, hook, device, priority and policy and no other chain, every
 * set with its declaration and no other set, the fixed sets' elements, the
 * grant sets holding what the shim granted (nothing yet: grants have no
 * caller), every rule's whole expression list in order (libnftables' netlink
 * form, compared with what the load sent), and no chain of another table (any
 * family) hooked on the tap or the uplink.  The elements of the sets the
 * packet path fills (flows, drop records, learned MACs) are not compared.
 * loaded: the image of shim_policy_load_image; NULL rebuilds it from the
 * manifest (a dry run of the load: as slow as a load).  Returns 0; -ESRCH with
 * *ret_problem set (one line naming the first difference, caller frees) when
 * it is not in place; another failure (nftables cannot be asked, its
 * output of the rebuild cannot be read) with *ret_problem saying so too.
 */
int shim_policy_verify_image(const struct ecl_manifest *m, const struct pol_image *loaded, char **ret_problem);
/* shim_policy_verify_image(m, NULL, ret_problem). */
int shim_policy_verify(const struct ecl_manifest *m, char **ret_problem);

/* Delete the stack's table; succeeds when there is none. */
int shim_policy_remove(const char *stack, char **ret_reason);

enum shim_blocked_direction {
        SHIM_BLOCKED_EGRESS,  /* sent by the guest */
        SHIM_BLOCKED_INGRESS, /* sent to the guest */
};

#define SHIM_BLOCKED_ADDR_MAX 48

/* One kind of dropped traffic: source, destination, protocol, port. */
struct shim_blocked_entry {
        enum shim_blocked_direction direction;
        char src[SHIM_BLOCKED_ADDR_MAX];   /* IP address, or MAC for non-IP frames */
        char dst[SHIM_BLOCKED_ADDR_MAX];
        char proto[24];                   /* "tcp", "udp", "icmp", "ipv6-icmp", ...; ethertype for non-IP */
        uint16_t port;                    /* destination port; 0 without ports (icmp, non-IP) */
        uint64_t count;                   /* packets */
        time_t first, last;               /* seconds since the epoch */
};

/*
 * Every blocked record of the stack, sorted by last seen (newest first).
 * Records live in the kernel for 7 days after their last drop.  -ENOENT
 * when no policy is loaded.
 */
int shim_policy_blocked(const char *stack, struct shim_blocked_entry **ret, size_t *n, char **ret_reason);

struct shim_blocked_unrecorded; /* blocked.h */

/*
 * For `blocked`: the records and what could not be recorded, from one
 * listing of the stack's table.  -ENOENT when no policy is loaded.  *u is
 * filled (zeroed first); release it with shim_blocked_unrecorded_done.
 */
int shim_policy_blocked_report(const char *stack, struct shim_blocked_entry **ret, size_t *n,
                               struct shim_blocked_unrecorded *u, char **ret_reason);

/*
 * For `status`: what could not be recorded, at a bounded cost.  One terse
 * listing of the table (rules and their counters, set sizes, no elements);
 * then the elements of a direction's blk_ sets only when its drop chain has
 * counted at least as many packets as the smallest of them holds (fewer
 * cannot have filled any).  -ENOENT when no policy is loaded.
 */
int shim_policy_unrecorded_read(const char *stack, struct shim_blocked_unrecorded *u, char **ret_reason);

/*
 * Room for break-glass access (DESIGN.md "access"): open one flow for a
 * bounded time by adding an element with its own timeout to the table's
 * grant set; the kernel removes it when the time is up, whether or not any
 * ecluse process runs.  Egress: the guest may reach net at ports (and get the
 * replies); ingress: net may reach the guest at ports (and get the replies).
 * TCP and UDP only.  Matched without tracking, so open connections close with
 * the grant.
 */
struct shim_grant {
        bool ingress;
        struct ecl_cidr net;
        enum ecl_proto proto;           /* ECL_PROTO_TCP or ECL_PROTO_UDP */
        struct ecl_port_range ports;    /* the peer's port(s) for egress, the guest's for ingress */
        uint32_t timeout_s;             /* 1 s .. 7 days */
};
/* Returns 0, -EINVAL for a grant outside the rules above, -ENODEV when nftables refuses (no table). */
int shim_policy_grant(const char *stack, const struct shim_grant *g, char **ret_reason);
/* Close a grant before its time: -ENOENT when there is no such element. */
int shim_policy_grant_revoke(const char *stack, const struct shim_grant *g, char **ret_reason);
