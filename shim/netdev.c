/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netdev.h"
#include "reason.h"

int shim_netdev_open(void) {
        int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (s < 0)
                return negative_errno();
        return s;
}

int shim_netdev_name_ok(const char *name, char **ret_reason) {
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' ') || streq(name, ".") || streq(name, ".."))
                return ecl_reason(ret_reason, -EINVAL, "invalid network device name '%s'", name ? name : "");
        return 0;
}

/* An rtnetlink request being built: header, ifinfomsg, attributes (nested ones closed by rt_end). */
struct rtreq {
        _Alignas(struct nlmsghdr) char buf[1024];
        size_t len;
        bool overflow;
};

static struct ifinfomsg *rt_init(struct rtreq *q, uint16_t type, uint16_t flags, int ifindex) {
        memset(q, 0, sizeof *q);
        struct nlmsghdr *h = (struct nlmsghdr *) q->buf;
        h->nlmsg_type = type;
        h->nlmsg_flags = (uint16_t) (NLM_F_REQUEST | flags);
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        q->len = NLMSG_LENGTH(sizeof *ifi);
        return ifi;
}

static struct rtattr *rt_put(struct rtreq *q, uint16_t type, const void *data, size_t n) {
        size_t at = RTA_ALIGN(q->len), need = at + RTA_SPACE(n);
        if (need > sizeof q->buf) {
                q->overflow = true;
                return NULL;
        }
        struct rtattr *a = (struct rtattr *) (q->buf + at);
        a->rta_type = type;
        a->rta_len = (unsigned short) RTA_LENGTH(n);
        if (n)
                memcpy(RTA_DATA(a), data, n);
        q->len = need;
        return a;
}

static void rt_end(struct rtreq *q, struct rtattr *nest) {
        if (nest)
                nest->rta_len = (unsigned short) (q->buf + q->len - (char *) nest);
}

const struct rtattr *shim_netdev_rta_find(const void *p, size_t len, unsigned short type) {
        int n = (int) len;
        for (const struct rtattr *a = p; RTA_OK(a, n); a = RTA_NEXT(a, n))
                if ((a->rta_type & NLA_TYPE_MASK) == type)
                        return a;
        return NULL;
}

/*
 * Send a request (its header's length set) and read the answers to it: each
 * message goes to each() (when given), which returns 1 to stop there, 0 for
 * more.  Returns the kernel's error (0 for an acknowledgement or the end of a
 * dump), 0 when each() stopped, or a negative errno.
 */
static int nl_transact(int nl, void *req, size_t len, int (*each)(const struct nlmsghdr *h, void *ud), void *ud) {
        _cleanup_close_ int own = -1;
        if (nl < 0) {
                own = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
                if (own < 0)
                        return negative_errno();
                nl = own;
        }
        static const uint32_t seq = 0x65636c; /* any: one request at a time on a socket */
        ((struct nlmsghdr *) req)->nlmsg_seq = seq;
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        if (sendto(nl, req, len, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return negative_errno();
        _Alignas(struct nlmsghdr) char buf[16384];
        for (;;) {
                ssize_t n = recv(nl, buf, sizeof buf, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR)
                                return ((const struct nlmsgerr *) NLMSG_DATA(h))->error;
                        if (h->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (each && each(h, ud) > 0)
                                return 0;
                }
        }
}

static int rt_call(int nl, struct rtreq *q, int (*each)(const struct nlmsghdr *h, void *ud), void *ud) {
        if (q->overflow)
                return -ENOBUFS;
        ((struct nlmsghdr *) q->buf)->nlmsg_len = (uint32_t) q->len;
        return nl_transact(nl, q->buf, q->len, each, ud);
}

/* An RTM_NEWLINK answer into a struct shim_netdev_info. */
static int link_parse(const struct nlmsghdr *h, void *ud) {
        struct shim_netdev_info *info = ud;
        if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                return 0;
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        *info = (struct shim_netdev_info){.index = ifi->ifi_index};
        const void *attrs = IFLA_RTA(ifi);
        size_t len = IFLA_PAYLOAD(h);
        const struct rtattr *a = shim_netdev_rta_find(attrs, len, IFLA_MTU);
        if (a && RTA_PAYLOAD(a) >= 4)
                memcpy(&info->mtu, RTA_DATA(a), 4);
        a = shim_netdev_rta_find(attrs, len, IFLA_MASTER);
        if (a && RTA_PAYLOAD(a) >= 4)
                memcpy(&info->master, RTA_DATA(a), 4);
        a = shim_netdev_rta_find(attrs, len, IFLA_IFALIAS);
        if (a)
                snprintf(info->alias, sizeof info->alias, "%.*s", (int) strnlen(RTA_DATA(a), RTA_PAYLOAD(a)),
                         (const char *) RTA_DATA(a));
        const struct rtattr *x = shim_netdev_rta_find(attrs, len, IFLA_XDP);
        const struct rtattr *at = x ? shim_netdev_rta_find(RTA_DATA(x), RTA_PAYLOAD(x), IFLA_XDP_ATTACHED) : NULL;
        info->xdp = at && RTA_PAYLOAD(at) >= 1 && *(const uint8_t *) RTA_DATA(at) != XDP_ATTACHED_NONE;
        const struct rtattr *li = shim_netdev_rta_find(attrs, len, IFLA_LINKINFO);
        const struct rtattr *k = li ? shim_netdev_rta_find(RTA_DATA(li), RTA_PAYLOAD(li), IFLA_INFO_KIND) : NULL;
        if (k)
                memcpy(info->kind, RTA_DATA(k), RTA_PAYLOAD(k) < 15 ? RTA_PAYLOAD(k) : 15);
        const struct rtattr *d = li ? shim_netdev_rta_find(RTA_DATA(li), RTA_PAYLOAD(li), IFLA_INFO_DATA) : NULL;
        const struct rtattr *v = d ? shim_netdev_rta_find(RTA_DATA(d), RTA_PAYLOAD(d), IFLA_TUN_VNET_HDR) : NULL;
        if (v && RTA_PAYLOAD(v) >= 1) {
                info->vnet_hdr_known = true;
                info->vnet_hdr = *(const uint8_t *) RTA_DATA(v) != 0;
        }
        return 1;
}

int shim_netdev_info(int nl, const char *name, struct shim_netdev_info *ret, char **ret_reason) {
        int r = shim_netdev_name_ok(name, ret_reason);
        if (r < 0)
                return r;
        struct rtreq q;
        rt_init(&q, RTM_GETLINK, 0, 0);
        rt_put(&q, IFLA_IFNAME, name, strlen(name) + 1);
        *ret = (struct shim_netdev_info){0};
        r = rt_call(nl, &q, link_parse, ret);
        if (r >= 0 && ret->index == 0)
                r = -EIO; /* an acknowledgement without the device */
        if (r == -ENODEV)
                return ecl_reason(ret_reason, r, "network device %s does not exist", name);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read network device %s", name);
        return 0;
}

/* Change one device: RTM_NEWLINK on its index with the attributes the caller puts. */
static int link_index(int nl, const char *name, int *ret, char **ret_reason) {
        struct shim_netdev_info info;
        int r = shim_netdev_info(nl, name, &info, ret_reason);
        if (r < 0)
                return r;
        *ret = info.index;
        return 0;
}

int shim_netdev_set_mtu(int nl, const char *name, unsigned mtu, char **ret_reason) {
        int idx, r = link_index(nl, name, &idx, ret_reason);
        if (r < 0)
                return r;
        struct rtreq q;
        rt_init(&q, RTM_NEWLINK, NLM_F_ACK, idx);
        uint32_t v = mtu;
        rt_put(&q, IFLA_MTU, &v, sizeof v);
        r = rt_call(nl, &q, NULL, NULL);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot set MTU %u on %s", mtu, name);
        return 0;
}

int shim_netdev_set_up(int nl, const char *name, char **ret_reason) {
        int idx, r = link_index(nl, name, &idx, ret_reason);
        if (r < 0)
                return r;
        struct rtreq q;
        struct ifinfomsg *ifi = rt_init(&q, RTM_NEWLINK, NLM_F_ACK, idx);
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        r = rt_call(nl, &q, NULL, NULL);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot bring %s up", name);
        return 0;
}

int shim_netdev_enslave(int nl, const char *name, const char *bridge, char **ret_reason) {
        int idx, r = link_index(nl, name, &idx, ret_reason);
        if (r < 0)
                return r;
        struct shim_netdev_info br;
        r = shim_netdev_name_ok(bridge, ret_reason);
        if (r >= 0)
                r = shim_netdev_info(nl, bridge, &br, ret_reason);
        if (r == -ENODEV || (r >= 0 && !streq(br.kind, "bridge")))
                return ecl_reason(ret_reason, -ENODEV,
                                  "bridge %s does not exist (create it first, e.g. with ip link add %s type bridge)",
                                  bridge, bridge);
        if (r < 0)
                return r;
        struct rtreq q;
        rt_init(&q, RTM_NEWLINK, NLM_F_ACK, idx);
        uint32_t m = (uint32_t) br.index;
        rt_put(&q, IFLA_MASTER, &m, sizeof m);
        r = rt_call(nl, &q, NULL, NULL);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot add %s to bridge %s", name, bridge);
        return 0;
}

int shim_netdev_set_alias(int nl, const char *name, const char *alias, char **ret_reason) {
        size_t n = strlen(alias);
        if (n >= sizeof((struct shim_netdev_info){0}.alias))
                return ecl_reason(ret_reason, -EINVAL, "alias for %s too long: %s", name, alias);
        int idx, r = link_index(nl, name, &idx, ret_reason);
        if (r < 0)
                return r;
        struct rtreq q;
        rt_init(&q, RTM_NEWLINK, NLM_F_ACK, idx);
        rt_put(&q, IFLA_IFALIAS, alias, n + 1);
        r = rt_call(nl, &q, NULL, NULL);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot mark %s as \"%s\"", name, alias);
        return 0;
}

int shim_netdev_delete_marked_veth(int nl, const char *name, const char *alias, char **ret_reason) {
        struct shim_netdev_info info;
        int r = shim_netdev_info(nl, name, &info, ret_reason);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!streq(info.kind, "veth") || !streq(info.alias, alias))
                return ecl_reason(ret_reason, -EEXIST,
                                  "network device %s exists and is not marked \"%s\": refusing to touch it "
                                  "(remove it if it is left over)",
                                  name, alias);
        r = shim_netdev_delete(nl, name, ret_reason);
        return r == -ENODEV ? 0 : r < 0 ? r : 1;
}

int shim_netdev_delete(int nl, const char *name, char **ret_reason) {
        struct shim_netdev_info info;
        int r = shim_netdev_info(nl, name, &info, ret_reason);
        if (r < 0)
                return r;
        struct rtreq q;
        rt_init(&q, RTM_DELLINK, NLM_F_ACK, info.index);
        r = rt_call(nl, &q, NULL, NULL);
        if (r == -ENODEV)
                return ecl_reason(ret_reason, r, "network device %s does not exist", name);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot delete %s", name);
        return 0;
}

int shim_netdev_veth_create(int nl, const char *name, const char *peer, int peer_netns, unsigned mtu,
                            char **ret_reason) {
        int r = shim_netdev_name_ok(name, ret_reason);
        if (r >= 0)
                r = shim_netdev_name_ok(peer, ret_reason);
        if (r < 0)
                return r;
        struct rtreq q;
        rt_init(&q, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0);
        uint32_t v = mtu;
        rt_put(&q, IFLA_IFNAME, name, strlen(name) + 1);
        if (mtu)
                rt_put(&q, IFLA_MTU, &v, sizeof v);
        struct rtattr *li = rt_put(&q, IFLA_LINKINFO, NULL, 0);
        rt_put(&q, IFLA_INFO_KIND, "veth", 5);
        struct rtattr *data = rt_put(&q, IFLA_INFO_DATA, NULL, 0);
        /* VETH_INFO_PEER carries an ifinfomsg, then the peer's own attributes. */
        struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
        struct rtattr *pa = rt_put(&q, VETH_INFO_PEER, &pifi, sizeof pifi);
        rt_put(&q, IFLA_IFNAME, peer, strlen(peer) + 1);
        if (mtu)
                rt_put(&q, IFLA_MTU, &v, sizeof v);
        if (peer_netns >= 0) {
                uint32_t fd = (uint32_t) peer_netns;
                rt_put(&q, IFLA_NET_NS_FD, &fd, sizeof fd);
        }
        rt_end(&q, pa);
        rt_end(&q, data);
        rt_end(&q, li);
        r = rt_call(nl, &q, NULL, NULL);
        if (r == -EEXIST)
                return ecl_reason(ret_reason, r,
                                  "cannot create veth %s/%s: a device of that name exists already (left over "
                                  "from an earlier run?)",
                                  name, peer);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot create veth %s/%s", name, peer);
        return 0;
}

struct qdisc_scan {
        int ifindex;
        bool ingress;
};

static int qdisc_seen(const struct nlmsghdr *h, void *ud) {
        struct qdisc_scan *q = ud;
        if (h->nlmsg_type != RTM_NEWQDISC || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
                return 0;
        const struct tcmsg *t = NLMSG_DATA(h);
        if (t->tcm_ifindex == q->ifindex && (t->tcm_parent == TC_H_INGRESS || t->tcm_parent == TC_H_CLSACT))
                q->ingress = true;
        return 0; /* read the dump to its end */
}

/* A dump of the qdiscs: does one on ifindex hang off ingress or clsact? 1, 0, or a negative errno. */
static int has_ingress_qdisc(int nl, int ifindex) {
        struct {
                struct nlmsghdr nh;
                struct tcmsg tc;
        } req = {
                .nh = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETQDISC, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
                .tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex},
        };
        struct qdisc_scan q = {.ifindex = ifindex};
        int r = nl_transact(nl, &req, sizeof req, qdisc_seen, &q);
        return r < 0 ? r : q.ingress;
}

int shim_netdev_check_unhooked(int nl, const char *name, char **ret_what) {
        *ret_what = NULL;
        struct shim_netdev_info info;
        int r = shim_netdev_info(nl, name, &info, ret_what);
        if (r < 0)
                return r;
        if (info.xdp)
                return ecl_reason(ret_what, -EPERM, "an XDP program is attached to %s", name);
        r = has_ingress_qdisc(nl, info.index);
        if (r < 0)
                return ecl_reason_errno(ret_what, r, "cannot list the qdiscs of %s", name);
        if (r > 0)
                return ecl_reason(ret_what, -EPERM, "%s has an ingress tc qdisc (tc filters run before the policy)",
                                  name);
        return 0;
}
