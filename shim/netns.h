/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The stack's own network namespace (issue 13, DESIGN.md invariant 3).
 *
 * Under the embedded driver the supervisor leaves the host's network
 * namespace for a new one before libvirt starts any thread, so the QEMU it
 * forks lives there too.  That namespace holds the tap, the inner end of the
 * stack's uplink (a veth pair whose outer end is the port on the operator's
 * bridge, in the host's namespace) and the nftables table; nothing else:
 * no address, no route, no forwarding, IPv6 off, ARP never answered.  The
 * policy forwards what it accepts between tap and uplink itself (nftables
 * `fwd`), so without the table (flushed, made dormant, deleted, or never
 * loaded) there is no path at all: the second line holds whether the shim is
 * alive or not, and a `nft flush ruleset` in the host's namespace does not
 * reach it.
 *
 * The namespace is pinned by a bind mount at ROOT/run/ecluse/STACK.netns so
 * that `blocked` (and an operator's `nsenter --net=PIN nft list ruleset`)
 * can look inside, even after the shim died; `run` removes a stale pin,
 * `stop` the pin of a stack that has stopped.  A mount is seen only in the
 * mount namespace it was made in and those it propagates to (`ip netns
 * exec` and a unit with PrivateMounts= make their own): under it the file
 * holds the supervisor's pid, and `blocked` joins /proc/PID/ns/net then.
 *
 * Nothing here prints: a failure returns a negative errno with *ret_reason
 * (may be NULL; caller frees), one line naming the path (reason.h).
 */
#include <stdbool.h>

/* ROOT/run/ecluse/STACK.netns: 0 or -ENOMEM. */
int shim_netns_pin_path(const char *root, const char *stack, char **ret);

/*
 * Move the calling thread into a new network namespace, harden it (see above),
 * pin it at `pin` (its directory must exist).  *ret_host: an fd of the
 * namespace left behind (for the uplink's outer end).  Needs CAP_SYS_ADMIN;
 * call it while the process has a single thread.  On failure the thread is
 * back where it was and nothing is pinned.
 */
int shim_netns_create(const char *pin, int *ret_host, char **ret_reason);

/*
 * Join the namespace pinned at `pin`: 0, or -ENOENT when there is no pin
 * (the stack runs in the current namespace, e.g. under qemu:///system).
 */
int shim_netns_join_pinned(const char *pin, char **ret_reason);

/* Remove the pin (lazy unmount, then the file): 0 also when there is none. */
int shim_netns_unpin(const char *pin, char **ret_reason);

/*
 * Which pin is at `pin` now, so that `stop` removes the pin of the run it
 * stopped and not that of a run started meanwhile: the file's device and
 * inode as seen (the namespace's when the mount is seen), the mount's id
 * (one the kernel never reuses where it has one, Linux 6.8), and the pid
 * under it where the mount is not seen.  present is false when there is none.
 */
struct shim_netns_pin_id {
        bool present;
        unsigned long long dev, ino, mnt_id;
        int pid;
};
int shim_netns_pin_identify(const char *pin, struct shim_netns_pin_id *ret, char **ret_reason);
/*
 * Remove the pin only if it is still `id`: 0 when removed (or there is
 * none), 1 when another is there now (left alone: the caller says so).
 */
int shim_netns_unpin_if_same(const char *pin, const struct shim_netns_pin_id *id, char **ret_reason);

/*
 * Per-device hardening for a tap or uplink that lives in a namespace with
 * other devices (qemu:///system): no IPv6, no IPv4 forwarding from it, strict
 * reverse-path filter, ARP never answered on it.  So a guest whose frames
 * reach the host's stack (no table) is routed nowhere and answered by nothing.
 */
int shim_netns_harden_device(const char *dev, char **ret_reason);
