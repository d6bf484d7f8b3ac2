/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Outside changes to what filters the stack, as they happen (DESIGN.md
 * invariant 3: "caught at once, not at the next poll").  Two netlink
 * sockets in the stack's network namespace, opened once the policy is
 * loaded:
 *
 *   nftables (NFNLGRP_NFTABLES): every committed transaction ends with a
 *   NEWGEN message naming the process that made it; one that is not this
 *   process (a rule rewritten, an element added, a table made dormant or
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
#include <sys/types.h>

struct shim_watch {
        int nft, rtnl;         /* -1 when closed */
        int tap, uplink;       /* interface indexes watched */
        bool own_netns;        /* the namespace is the stack's alone: any new device is foreign */
        pid_t self;
        char table[64];        /* the stack's nftables table */
        bool table_touched;    /* a message of the transaction being read named it */
};

/* Open both sockets in the calling thread's namespace, for the tap, uplink and table named. */
int shim_watch_open(struct shim_watch *w, const char *tap, const char *uplink, const char *table, bool own_netns);
void shim_watch_close(struct shim_watch *w);

/*
 * Read everything queued on fd (one of w's two sockets) without blocking.
 * Returns SHIM_WATCH_CHANGED with *ret_what (one line, caller frees) when an
 * outside change was seen (an overflowed socket, ENOBUFS, counts: events
 * were lost), SHIM_WATCH_RECHECK when nftables changed in a shared
 * namespace, 0 when nothing concerns the stack, a negative errno when the
 * socket failed.
 */
#define SHIM_WATCH_CHANGED 1
#define SHIM_WATCH_RECHECK 2
int shim_watch_read(struct shim_watch *w, int fd, char **ret_what);
