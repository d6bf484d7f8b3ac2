/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netdev.h"
#include "reason.h"
#include "watch.h"

static int nl_open(int proto, const unsigned *groups, size_t n, char **ret_reason) {
        _cleanup_close_ int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
        if (s < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open a netlink socket");
        struct sockaddr_nl a = {.nl_family = AF_NETLINK};
        if (bind(s, (struct sockaddr *) &a, sizeof a) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot bind a netlink socket");
        for (size_t i = 0; i < n; i++)
                if (setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof groups[i]) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot listen to netlink group %u",
                                                groups[i]);
        /* Room for a burst: a lost message (ENOBUFS) is treated as a change anyway. */
        int sz = 1 << 20;
        (void) setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        return TAKE_FD(s);
}

int shim_watch_open(struct shim_watch *w, const char *tap, const char *uplink, const char *table, bool own_netns,
                    char **ret_reason) {
        *w = (struct shim_watch){.nft = -1, .rtnl = -1, .own_netns = own_netns};
        snprintf(w->table, sizeof w->table, "%s", table);
        w->tap = (int) if_nametoindex(tap);
        w->uplink = (int) if_nametoindex(uplink);
        if (w->tap == 0 || w->uplink == 0)
                return ecl_reason(ret_reason, -ENODEV, "cannot watch %s and %s: no such device", tap, uplink);
        static const unsigned nft_groups[] = {NFNLGRP_NFTABLES};
        /* Addresses and routes only in the stack's own namespace: elsewhere they are others' business (and churn). */
        static const unsigned rt_groups[] = {RTNLGRP_LINK, RTNLGRP_TC, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                             RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE};
        w->nft = nl_open(NETLINK_NETFILTER, nft_groups, 1, ret_reason);
        if (w->nft < 0)
                return w->nft;
        w->rtnl = nl_open(NETLINK_ROUTE, rt_groups, own_netns ? sizeof rt_groups / sizeof *rt_groups : 2, ret_reason);
        if (w->rtnl < 0) {
                int r = w->rtnl;
                shim_watch_close(w);
                return r;
        }
        return 0;
}

void shim_watch_close(struct shim_watch *w) {
        if (w->nft >= 0)
                close(w->nft);
        if (w->rtnl >= 0)
                close(w->rtnl);
        w->nft = w->rtnl = -1;
}

int shim_watch_nft_generation(uint32_t *ret, char **ret_reason) {
        _cleanup_close_ int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (s < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open a netlink socket");
        struct {
                struct nlmsghdr nh;
                struct nfgenmsg g;
        } req = {
                .nh = {.nlmsg_len = sizeof req, .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN,
                       .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1},
                .g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0},
        };
        struct sockaddr_nl k = {.nl_family = AF_NETLINK};
        if (sendto(s, &req, sizeof req, 0, (struct sockaddr *) &k, sizeof k) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot ask nftables for its generation");
        _Alignas(struct nlmsghdr) char buf[4096];
        for (;;) {
                ssize_t n = recv(s, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return ecl_reason_errno(ret_reason, n < 0 ? negative_errno() : -EIO,
                                                "cannot read the nftables generation");
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                return ecl_reason_errno(ret_reason, e->error ? e->error : -EIO,
                                                        "nftables refused to tell its generation");
                        }
                        if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN) ||
                            h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
                                continue;
                        const void *attrs = (const char *) NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
                        size_t len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
                        const struct rtattr *id = shim_netdev_rta_find(attrs, len, NFTA_GEN_ID);
                        if (!id || RTA_PAYLOAD(id) < 4)
                                return ecl_reason(ret_reason, -EIO, "nftables told no generation");
                        uint32_t g;
                        memcpy(&g, RTA_DATA(id), 4);
                        *ret = ntohl(g);
                        return 0;
                }
        }
}

int shim_watch_own_begin(struct shim_watch *w, char **ret_reason) {
        w->own_open = false;
        int r = shim_watch_nft_generation(&w->own_before, ret_reason);
        if (r >= 0)
                w->own_open = true;
        return r;
}

int shim_watch_own_end(struct shim_watch *w, char **ret_reason) {
        if (!w->own_open)
                return 0;
        w->own_open = false;
        uint32_t now;
        int r = shim_watch_nft_generation(&now, ret_reason);
        if (r < 0)
                return r;
        if (now != w->own_before + 1)
                return 0; /* none, or others' too: nothing is taken for ours */
        size_t i = 0;
        while (i < ELEMENTSOF(w->own) - 1 && w->own[i] != 0)
                i++;
        w->own[i] = now; /* (the oldest unseen one is overwritten when all are taken) */
        return 0;
}

/* Was generation g the shim's own?  Each is taken once. */
static bool own_generation(struct shim_watch *w, uint32_t g) {
        for (size_t i = 0; i < ELEMENTSOF(w->own); i++)
                if (g != 0 && w->own[i] == g) {
                        w->own[i] = 0;
                        return true;
                }
        return false;
}

static int said(char **ret_what, const char *fmt, ...) _printf_(2, 3);
static int said(char **ret_what, const char *fmt, ...) {
        if (*ret_what)
                return 1;
        _cleanup_free_ char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (text)
                (void) ecl_reason(ret_what, 0, "%s", text); /* printable: it quotes names from the kernel */
        return 1;
}

/*
 * The messages of a transaction, then its NEWGEN naming who committed it.
 * Every object message carries its table's name as attribute 1
 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE, NFTA_FLOWTABLE_TABLE).
 */
static int nft_message(struct shim_watch *w, const struct nlmsghdr *h, char **ret_what) {
        if (NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return 0;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
                return 0;
        const void *attrs = (const char *) NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        size_t len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
        if (NFNL_MSG_TYPE(h->nlmsg_type) != NFT_MSG_NEWGEN) {
                const struct rtattr *t = shim_netdev_rta_find(attrs, len, 1);
                size_t n = strlen(w->table);
                if (t && RTA_PAYLOAD(t) >= n && memcmp(RTA_DATA(t), w->table, n) == 0 &&
                    (RTA_PAYLOAD(t) == n || ((const char *) RTA_DATA(t))[n] == '\0'))
                        w->table_touched = true;
                return 0;
        }
        bool touched = w->table_touched;
        w->table_touched = false;
        const struct rtattr *gen = shim_netdev_rta_find(attrs, len, NFTA_GEN_ID);
        const struct rtattr *pid = shim_netdev_rta_find(attrs, len, NFTA_GEN_PROC_PID);
        const struct rtattr *name = shim_netdev_rta_find(attrs, len, NFTA_GEN_PROC_NAME);
        uint32_t g = 0, p = 0;
        if (gen && RTA_PAYLOAD(gen) >= 4) {
                memcpy(&g, RTA_DATA(gen), 4);
                g = ntohl(g);
        }
        if (pid && RTA_PAYLOAD(pid) >= 4) {
                memcpy(&p, RTA_DATA(pid), 4);
                p = ntohl(p);
        }
        if (gen && own_generation(w, g))
                return 0;
        char who[32] = "?";
        if (name && RTA_PAYLOAD(name) > 0)
                snprintf(who, sizeof who, "%.*s", (int) RTA_PAYLOAD(name), (const char *) RTA_DATA(name));
        said(ret_what, "nftables changed by another process (pid %u, %s)%s", p, who,
             touched ? ", in the stack's table" : "");
        return w->own_netns || touched ? SHIM_WATCH_CHANGED : SHIM_WATCH_RECHECK;
}

static bool ours(const struct shim_watch *w, int ifindex) {
        return ifindex == w->tap || ifindex == w->uplink;
}

static int link_message(const struct shim_watch *w, const struct nlmsghdr *h, char **ret_what) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                return 0;
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        const void *attrs = IFLA_RTA(ifi);
        size_t len = IFLA_PAYLOAD(h);
        if (!ours(w, ifi->ifi_index)) {
                if (w->own_netns && h->nlmsg_type == RTM_NEWLINK && ifi->ifi_index != 1 /* lo */)
                        return said(ret_what, "a network device (index %d) appeared in the stack's namespace",
                                    ifi->ifi_index);
                return 0;
        }
        if (h->nlmsg_type == RTM_DELLINK)
                return said(ret_what, "interface %d of the stack was deleted or moved away", ifi->ifi_index);
        const struct rtattr *m = shim_netdev_rta_find(attrs, len, IFLA_MASTER);
        if (m && RTA_PAYLOAD(m) >= 4 && *(const uint32_t *) RTA_DATA(m) != 0)
                return said(ret_what, "interface %d of the stack was enslaved (index %u)", ifi->ifi_index,
                            *(const uint32_t *) RTA_DATA(m));
        const struct rtattr *x = shim_netdev_rta_find(attrs, len, IFLA_XDP);
        const struct rtattr *at = x ? shim_netdev_rta_find(RTA_DATA(x), RTA_PAYLOAD(x), IFLA_XDP_ATTACHED) : NULL;
        if (at && RTA_PAYLOAD(at) >= 1 && *(const uint8_t *) RTA_DATA(at) != XDP_ATTACHED_NONE)
                return said(ret_what, "an XDP program was attached to interface %d of the stack", ifi->ifi_index);
        return 0;
}

static int tc_message(const struct shim_watch *w, const struct nlmsghdr *h, char **ret_what) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
                return 0;
        const struct tcmsg *t = NLMSG_DATA(h);
        if (!ours(w, t->tcm_ifindex) && !w->own_netns)
                return 0;
        if (h->nlmsg_type == RTM_NEWQDISC) {
                /* A root qdisc without filters shapes but cannot steal: libvirt may set "noqueue". */
                if (t->tcm_parent != TC_H_INGRESS && t->tcm_parent != TC_H_CLSACT)
                        return 0;
                return said(ret_what, "an ingress tc qdisc was added to interface %d", t->tcm_ifindex);
        }
        if (h->nlmsg_type == RTM_NEWTFILTER || h->nlmsg_type == RTM_NEWCHAIN)
                return said(ret_what, "a tc filter was added to interface %d", t->tcm_ifindex);
        return 0;
}

static int addr_message(const struct shim_watch *w, const struct nlmsghdr *h, char **ret_what) {
        if (!w->own_netns)
                return 0;
        if (h->nlmsg_type == RTM_NEWADDR)
                return said(ret_what, "an address was added in the stack's namespace");
        if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
                const struct rtmsg *rt = NLMSG_DATA(h);
                if (rt->rtm_table == RT_TABLE_LOCAL || rt->rtm_type == RTN_LOCAL || rt->rtm_type == RTN_MULTICAST)
                        return 0; /* the kernel's own, for lo */
                return said(ret_what, "a route was added in the stack's namespace");
        }
        return 0;
}

int shim_watch_read(struct shim_watch *w, int fd, char **ret_what) {
        assert(w);
        *ret_what = NULL;
        int changed = 0;
        _Alignas(struct nlmsghdr) char buf[32768];
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return changed;
                        if (errno == ENOBUFS) {
                                free(*ret_what);
                                *ret_what = NULL;
                                return said(ret_what, "netlink events were lost (socket overflow)");
                        }
                        return ecl_reason_errno(ret_what, negative_errno(), "cannot read netlink events");
                }
                if (n == 0)
                        return changed;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        int k = 0;
                        if (fd == w->nft)
                                k = nft_message(w, h, ret_what);
                        else if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
                                k = link_message(w, h, ret_what);
                        else if (h->nlmsg_type == RTM_NEWQDISC || h->nlmsg_type == RTM_NEWTFILTER ||
                                 h->nlmsg_type == RTM_NEWCHAIN)
                                k = tc_message(w, h, ret_what);
                        else
                                k = addr_message(w, h, ret_what);
                        /* a change outranks a recheck */
                        if (k == SHIM_WATCH_CHANGED || (k == SHIM_WATCH_RECHECK && changed == 0))
                                changed = k;
                }
        }
}
