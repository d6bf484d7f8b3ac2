/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Outside changes to what filters the stack, as they happen (DESIGN.md
 * invariant 3: "caught at once, not at the next poll").  Two netlink
 * sockets in the stack's network namespace, opened once the policy is
 * loaded:
 *
 *   nftables (NFNLGRP_NFTABLES): every committed transaction ends with a
 *   NEWGEN message carrying the generation it made; one that is not the
 *   shim's own (told by generation, see shim_watch_own_begin(), not by the
 *   pid NEWGEN names, which is the initial pid namespace's: a unit with
 *   PrivatePIDs= has another) (a rule rewritten, an element added, a table made dormant or
 *   flushed, another table with a chain on the tap) is an outside change
 *   when the namespace is the stack's own.  In a shared one (qemu:///system:
 *   libvirtd's) other programs change their own tables: there a foreign
 *   transaction that named the stack's table in any of its messages is a
 *   change, any other one means "check the policy now" (another table may
 *   have hooked the tap).  The kernel's own updates of dynamic sets are no
 *   transaction and say nothing.
 *
 *   rtnetlink (links, tc): a tc qdisc, filter or chain on the tap or the
 *   uplink (tc runs before the netdev hook and could steal frames), an XDP
 *   program attached to either, either of them enslaved or moved, or (when
 *   the namespace is the stack's own) any other device appearing.
 *
 * What is an outside change is decided from the message alone; the caller
 * then checks the whole policy again and holds the domain.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct shim_watch {
        int nft, rtnl;         /* -1 when closed */
        int tap, uplink;       /* interface indexes watched */
        bool own_netns;        /* the namespace is the stack's alone: any new device is foreign */
        char table[64];        /* the stack's nftables table */
        bool table_touched;    /* a message of the transaction being read named it */
        bool own_open;         /* between shim_watch_own_begin() and _end() */
        uint32_t own_before;   /* the generation at shim_watch_own_begin() */
        uint32_t own[4];       /* generations of the shim's own transactions not seen yet (0: none) */
};

/*
 * Open both sockets in the calling thread's namespace, for the tap, uplink
 * and table named.  Like every function here it prints nothing: a failure
 * returns a negative errno with *ret_reason (may be NULL; caller frees).
 */
int shim_watch_open(struct shim_watch *w, const char *tap, const char *uplink, const char *table, bool own_netns,
                    char **ret_reason);
void shim_watch_close(struct shim_watch *w);

/*
 * Around a transaction of the shim's own (a reload of the policy) while
 * the watch is open: begin reads the generation (NFT_MSG_GETGEN), end reads
 * it again.  When exactly one generation passed in between it was this
 * transaction, and its NEWGEN is not reported.  When more passed, another
 * process committed meanwhile and none is taken for the shim's (fail
 * closed: reported as an outside change).  Both in the watch's namespace.
 */
int shim_watch_own_begin(struct shim_watch *w, char **ret_reason);
int shim_watch_own_end(struct shim_watch *w, char **ret_reason);
/* The current nftables generation of the calling thread's namespace. */
int shim_watch_nft_generation(uint32_t *ret, char **ret_reason);

/*
 * Read everything queued on fd (one of w's two sockets) without blocking.
 * Returns SHIM_WATCH_CHANGED with *ret_what (one line, caller frees) when an
 * outside change was seen (an overflowed socket, ENOBUFS, counts: events
 * were lost), SHIM_WATCH_RECHECK when nftables changed in a shared
 * namespace, 0 when nothing concerns the stack, a negative errno when the
 * socket failed (*ret_what then says how).
 */
#define SHIM_WATCH_CHANGED 1
#define SHIM_WATCH_RECHECK 2
int shim_watch_read(struct shim_watch *w, int fd, char **ret_what);
