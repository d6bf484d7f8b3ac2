/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The stack's tap device: a persistent tap that ecluse creates before the
 * domain exists (so the nftables netdev policy can hook on it before the
 * guest runs) and that libvirt opens by name (<interface type="ethernet">
 * with <target dev="..." managed="no"/>).  Created with TUNSETIFF +
 * TUNSETPERSIST, owned by QEMU's user, given an MTU and brought up; deleted
 * through rtnetlink.  `run` makes it no bridge port (its uplink is: netns.h);
 * the bridge option serves tests that need a plain bridged tap.
 *
 * The tap never carries virtio-net headers (IFF_VNET_HDR).  With them, a
 * guest driving its virtio-net device itself hands the kernel its own
 * checksum-offload offsets (NEEDS_CSUM, csum_start, csum_offset: QEMU passes
 * the guest's header on unchanged), and the checksum is written at that
 * offset after the netdev policy accepted the frame, on transmit by a device
 * without checksum offload or by the NIC: onto the destination port or
 * address (issue 7, tests/interop/test_tap_offload.c).  Every opener's
 * TUNSETIFF sets the device's IFF_VNET_HDR afresh, and libvirt asks for it
 * for a virtio model; but on a multi-queue tap the flags are set only while
 * a single queue is attached (tun_set_iff: "no need to initialize the device
 * again").  So the tap is multi-queue, made without IFF_VNET_HDR, and ecluse
 * keeps its own queue attached, disabled (TUNSETQUEUE IFF_DETACH_QUEUE: no
 * traffic goes to it), for as long as the tap lives: libvirt's queues
 * (the domain's interface has queues='2', so libvirt opens with
 * IFF_MULTI_QUEUE; a single-queue open is refused) then find the device
 * initialised, QEMU's probe (TUNGETIFF) sees no vnet header, and virtio-net
 * strips the guest's header itself (host_hdr_len 0) and offers the guest no
 * checksum or segmentation offload.  shim_tap_vnet_hdr() reads the flag back
 * from the kernel so the supervisor can check it before the guest runs.
 */
#include <stdbool.h>
#include <sys/types.h>

struct shim_tap_opts {
        uid_t owner;            /* (uid_t) -1: no owner (root only) */
        gid_t group;            /* (gid_t) -1: no group */
        unsigned mtu;           /* 0: the bridge's (the kernel's default without a bridge) */
        const char *bridge;     /* NULL: not enslaved */
        /* Out: ecluse's own (disabled) queue, which keeps the device's flags
         * as made; the caller closes it when the tap goes.  NULL: closed at
         * once (the next opener then sets the flags, IFF_VNET_HDR included). */
        int *hold;
};

/*
 * Create tap `name` (multi-queue, no packet information, no vnet header; see
 * above).  -EEXIST if a network device of that name exists already (ecluse
 * never takes over a device it did not make), -ENODEV if the bridge does not
 * exist, another negative errno otherwise, each with *ret_reason (may be
 * NULL; caller frees: reason.h).  On failure nothing is left behind.
 */
int shim_tap_create(const char *name, const struct shim_tap_opts *o, char **ret_reason);

/* Delete network device `name`.  -ENODEV if there is none (and *ret_reason for any failure). */
int shim_tap_delete(const char *name, char **ret_reason);

/* 1 if a tap (tun device in tap mode) named `name` exists, 0 if no device, -ENOTTY if another kind. */
int shim_tap_exists(const char *name);

/*
 * Whether tun device `name` takes virtio-net headers now (IFF_VNET_HDR, as
 * the kernel reports it over rtnetlink: IFLA_TUN_VNET_HDR): 1 or 0,
 * -ENODEV if there is no such device, -ENOTTY if it is no tun device,
 * another negative errno; *ret_reason says which.
 */
int shim_tap_vnet_hdr(const char *name, char **ret_reason);
