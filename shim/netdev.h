/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Network device wrappers over rtnetlink.  Each function acts through `nl`,
 * an rtnetlink socket from shim_netdev_open(): a socket keeps the network
 * namespace it was opened in, so one opened before leaving the host's
 * namespace keeps acting there, with no setns() and no CAP_SYS_ADMIN.  -1
 * means a fresh socket in the calling thread's namespace.  Every function
 * returns 0 or a negative errno and prints nothing: on failure *ret_reason
 * (may be NULL; caller frees) is one line naming the device (reason.h).
 */
#include <stdbool.h>
#include <stddef.h>

struct rtattr;
/* The attribute of `type` among those in [p, p+len) (nested ones: RTA_DATA/RTA_PAYLOAD of the outer); NULL if absent. */
const struct rtattr *shim_netdev_rta_find(const void *p, size_t len, unsigned short type);

/* An rtnetlink socket in the calling thread's namespace, or a negative errno (socket(2)'s). */
int shim_netdev_open(void);

/* -EINVAL (and *ret_reason) unless `name` is a valid network device name. */
int shim_netdev_name_ok(const char *name, char **ret_reason);

struct shim_netdev_info {
        int index;
        unsigned mtu;
        int master;     /* the bridge's index, 0 for none */
        char kind[16];  /* "tun", "veth", "bridge"...; "" for a plain device */
        bool xdp;       /* an XDP program is attached */
        bool vnet_hdr_known, vnet_hdr; /* a tun device: whether it takes virtio-net headers (IFF_VNET_HDR) */
        char alias[64]; /* IFLA_IFALIAS ("" for none; a longer one is cut) */
};
/* What the kernel says of `name`: -ENODEV if there is no such device. */
int shim_netdev_info(int nl, const char *name, struct shim_netdev_info *ret, char **ret_reason);

int shim_netdev_set_mtu(int nl, const char *name, unsigned mtu, char **ret_reason);
int shim_netdev_set_up(int nl, const char *name, char **ret_reason);
/* Make `name` a port of `bridge`: -ENODEV (and what to do) when there is no such bridge. */
int shim_netdev_enslave(int nl, const char *name, const char *bridge, char **ret_reason);
/* Delete network device `name` (and a veth's peer, wherever it is).  -ENODEV if there is none. */
int shim_netdev_delete(int nl, const char *name, char **ret_reason);
/* Set the device's alias (IFLA_IFALIAS, at most 63 bytes here): how ecluse marks the devices it made. */
int shim_netdev_set_alias(int nl, const char *name, const char *alias, char **ret_reason);
/*
 * Delete `name` only if it is a veth that carries `alias` (one made by this
 * program for that purpose, left by an earlier run): 1 when deleted, 0 when
 * there is none; -EEXIST when a device of that name is something else,
 * which is then left alone.
 */
int shim_netdev_delete_marked_veth(int nl, const char *name, const char *alias, char **ret_reason);
/*
 * Whether anything on `name` could take frames before the netdev hooks: an
 * XDP program attached, or an ingress/clsact qdisc (where tc filters and
 * redirects hang).  0 when nothing; -EPERM with *ret_what (one line, caller
 * frees) when something is; another negative errno (and *ret_what) when the
 * kernel cannot be asked.  (tcx programs attached through bpf links are not listed over
 * rtnetlink and need bpf(2), which the shim's filter refuses: not seen.)
 */
int shim_netdev_check_unhooked(int nl, const char *name, char **ret_what);

/*
 * Create a veth pair: `name` in nl's namespace, its peer `peer` in the
 * network namespace `peer_netns` (an fd of an ns/net file; -1: beside it),
 * both with `mtu` (0: the kernel's default).  -EEXIST when a name is taken.
 */
int shim_netdev_veth_create(int nl, const char *name, const char *peer, int peer_netns, unsigned mtu,
                            char **ret_reason);
