/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The stack's tap device: a persistent tap that ecluse creates before the
 * domain exists (so the nftables netdev policy can hook on it before the
 * guest runs) and that libvirt opens by name (<interface type="ethernet">
 * with <target dev="..." managed="no"/>).  Created with TUNSETIFF +
 * TUNSETPERSIST, owned by QEMU's user, given an MTU, enslaved to the
 * operator's bridge (SIOCBRADDIF) and brought up; deleted through rtnetlink.
 */
#include <stdbool.h>
#include <sys/types.h>

struct shim_tap_opts {
        uid_t owner;            /* (uid_t) -1: no owner (root only) */
        gid_t group;            /* (gid_t) -1: no group */
        unsigned mtu;           /* 0: leave the kernel's default */
        const char *bridge;     /* NULL: not enslaved */
};

/*
 * Create tap `name` (single queue, no packet information, vnet header
 * allowed).  -EEXIST if a network device of that name exists already (ecluse
 * never takes over a device it did not make), -ENODEV if the bridge does not
 * exist, another negative errno otherwise.  On failure nothing is left behind.
 */
int shim_tap_create(const char *name, const struct shim_tap_opts *o);

/* Delete network device `name`.  -ENODEV if there is none. */
int shim_tap_delete(const char *name);

/* 1 if a tap (tun device in tap mode) named `name` exists, 0 if no device, -ENOTTY if another kind. */
int shim_tap_exists(const char *name);
