/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offload headers (issue 7): a guest that drives its virtio-net device itself
 * sends a non-GSO frame with VIRTIO_NET_HDR_F_NEEDS_CSUM and its own
 * csum_start/csum_offset.  When the tap carries virtio-net headers
 * (IFF_VNET_HDR), the tun driver turns that into a CHECKSUM_PARTIAL skb
 * (tun_get_user -> virtio_net_hdr_to_skb -> skb_partial_csum_set, which only
 * checks that the offsets lie inside the frame).  The nftables netdev hook
 * sees the frame as sent; the checksum is written later, on transmit by a
 * device without checksum offload (validate_xmit_skb -> skb_checksum_help) or
 * by a NIC with NETIF_F_HW_CSUM, at csum_start + csum_offset: here on the UDP
 * destination port, after the policy accepted port 5000.
 *
 * Topology, all inside the namespaces of policy-netns.h: a bridge in the host
 * namespace with two ports, the stack's tap (policy of stack "tap") and the
 * veth "ecl-t" with transmit checksumming switched off (ETHTOOL_STXCSUM, what
 * `ethtool -K ecl-t tx off` does), whose peer "gst" in the far namespace is
 * the allowed peer 10.77.0.2 (udp 5000 open, 6000 not).
 *
 * test_kernel_writes_guest_checksum_offsets is the premise: with a tap opened
 * the way libvirt opens a tap for a virtio model (IFF_VNET_HDR) and QEMU's
 * virtio-net passing the guest's header on unchanged (virtio_net_flush_tx),
 * the frame the policy accepted for port 5000 reaches port 6000 on this
 * kernel.  If a kernel ever refuses such headers, that test fails and says so.
 *
 * test_ecluse_tap_never_takes_guest_headers is the fix: the tap ecluse makes
 * (shim_tap_create) for the interface its domain XML describes (shim_domain_build),
 * opened as libvirt 9.0 opens it (qemuInterfaceEthernetConnect:
 * IFF_VNET_HDR for a vnet-compatible model, IFF_MULTI_QUEUE when the
 * interface has queues > 1), and written as QEMU writes (header only when
 * TUNGETIFF reports IFF_VNET_HDR, tap_probe_vnet_hdr).  Nothing rewritten may
 * reach the far side.  Checked to fail without the fix: with shim/tap.c
 * creating a single-queue IFF_VNET_HDR tap (the code before this change) the
 * libvirt open keeps IFF_VNET_HDR, the header reaches the kernel and the
 * datagram arrives on port 6000 (assertion "rewritten datagram on 6000").
 */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domain.h"
#include "policy-netns.h"
#include "tap.h"

#define BRIDGE "ecl-obr"
#define STACK_TAP "ecl-tap" /* shim_tap_name("tap", 0) */
#define STACK4 "10.77.0.3"
#define FAR4 GUEST4 /* the far host: "gst" in the second namespace */
#define ALLOWED 5000
#define FORBIDDEN 6000

static const uint8_t stack_mac[6] = {0x52, 0x54, 0x00, 0x0f, 0xf1, 0x0d};
static const uint8_t far_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/*
 * The attack frame: IPv4 UDP STACK4:40000 -> FAR4:ALLOWED, UDP checksum 0
 * (none), payload "offload" and a fix-up word chosen so that the ones'
 * complement checksum from the destination port to the end of the frame is
 * FORBIDDEN: with csum_start at the destination port and csum_offset 0,
 * skb_checksum_help writes exactly that value there.
 */
static size_t attack_frame(uint8_t *f) {
        static const char payload[] = "offload-"; /* even length: the fix-up word is 16-bit aligned */
        size_t plen = sizeof payload - 1 + 2, ulen = 8 + plen, tlen = 20 + ulen;
        memset(f, 0, 14 + tlen);
        memcpy(f, far_mac, 6);
        memcpy(f + 6, stack_mac, 6);
        f[12] = 0x08, f[13] = 0x00;
        uint8_t *ip = f + 14;
        ip[0] = 0x45, ip[2] = (uint8_t) (tlen >> 8), ip[3] = (uint8_t) tlen, ip[6] = 0x40, ip[8] = 64, ip[9] = 17;
        assert_int_equal(inet_pton(AF_INET, STACK4, ip + 12), 1);
        assert_int_equal(inet_pton(AF_INET, FAR4, ip + 16), 1);
        uint16_t c = (uint16_t) ~fold(sum16(ip, 20, 0));
        ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
        uint8_t *udp = ip + 20;
        udp[0] = 40000 >> 8, udp[1] = 40000 & 0xff, udp[2] = ALLOWED >> 8, udp[3] = ALLOWED & 0xff;
        udp[4] = (uint8_t) (ulen >> 8), udp[5] = (uint8_t) ulen;
        memcpy(udp + 8, payload, plen - 2);
        /* want ~(S + fix) == FORBIDDEN, so fix = ~FORBIDDEN - S (ones' complement) */
        uint16_t s = fold(sum16(udp + 2, ulen - 2, 0));
        uint16_t fix = fold((uint32_t) (uint16_t) ~FORBIDDEN + (uint16_t) ~s);
        udp[ulen - 2] = (uint8_t) (fix >> 8), udp[ulen - 1] = (uint8_t) fix;
        assert_int_equal((uint16_t) ~fold(sum16(udp + 2, ulen - 2, 0)), FORBIDDEN);
        return 14 + tlen;
}

/* What the guest puts in front of it: checksum "offload" onto the destination port. */
static const struct virtio_net_hdr attack_hdr = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_NONE,
        .csum_start = 14 + 20 + 2, /* the UDP destination port (little endian: x86 tun default) */
        .csum_offset = 0,
};

/* Bridge with the far veth end, transmit checksumming off on it; the far side listens. */
static void topology(struct env *e) {
        sh(e, false, "ip link add name " BRIDGE " type bridge");
        sh(e, false, "ip link set dev " TAP " master " BRIDGE);
        sh(e, false, "ip link set dev " BRIDGE " up");
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(s >= 0);
        struct ethtool_value v = {.cmd = ETHTOOL_STXCSUM, .data = 0};
        struct ifreq ifr = {.ifr_data = (void *) &v};
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", TAP);
        assert_int_equal(ioctl(s, SIOCETHTOOL, &ifr), 0);
        v = (struct ethtool_value){.cmd = ETHTOOL_GTXCSUM};
        assert_int_equal(ioctl(s, SIOCETHTOOL, &ifr), 0);
        assert_int_equal(v.data, 0); /* the far port has no checksum offload: skb_checksum_help on transmit */
        close(s);
}

/* The stack's manifest: its MAC and address, udp to FAR4:5000 only. */
static struct ecl_manifest stack_manifest(struct env *e, struct ecl_cidr *addr, struct ecl_rule *egress) {
        struct ecl_manifest m = e->m;
        m.stack = (char *) "tap";
        memcpy(m.network.mac, stack_mac, 6);
        cidr(addr, STACK4, 32);
        *egress = (struct ecl_rule){.proto = ECL_PROTO_UDP, .ports = &e->p5000, .n_ports = 1};
        cidr(&egress->net, FAR4, 32);
        m.network.addresses = addr, m.network.n_addresses = 1;
        m.network.egress = egress, m.network.n_egress = 1;
        m.network.n_ingress = 0;
        m.network.bridge = (char *) BRIDGE;
        return m;
}

struct far {
        int allowed, forbidden, pkt;
};

static struct far listen_far(struct env *e) {
        struct far f = {sock_in(e, true, AF_INET, SOCK_DGRAM), sock_in(e, true, AF_INET, SOCK_DGRAM),
                        sock_in(e, true, AF_PACKET, SOCK_RAW)};
        do_bind(f.allowed, FAR4, ALLOWED);
        do_bind(f.forbidden, FAR4, FORBIDDEN);
        enter(e, true);
        struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                                 .sll_ifindex = (int) if_nametoindex(GUEST_IF)};
        enter(e, false);
        assert_true(ll.sll_ifindex > 0);
        assert_int_equal(bind(f.pkt, (struct sockaddr *) &ll, sizeof ll), 0);
        return f;
}

/* Did a frame from the stack with destination port `port` reach the far interface (within 2 s)? */
static bool far_saw_port(int pkt, uint16_t port) {
        bool seen = false;
        for (int i = 0; i < 20 && !seen; i++) {
                struct pollfd p = {.fd = pkt, .events = POLLIN};
                if (poll(&p, 1, 100) != 1)
                        continue;
                uint8_t buf[2048];
                ssize_t n;
                while ((n = recv(pkt, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                        if (n >= 42 && buf[12] == 0x08 && buf[13] == 0x00 && buf[23] == 17 &&
                            memcmp(buf + 6, stack_mac, 6) == 0 && (buf[36] << 8 | buf[37]) == port)
                                seen = true;
        }
        return seen;
}

static void far_close(struct far *f) {
        close(f->allowed);
        close(f->forbidden);
        close(f->pkt);
}

/* Write one frame as QEMU's virtio-net does: the guest's header first when the tap takes one. */
static void qemu_write(int fd, bool vnet_hdr) {
        uint8_t frame[128], buf[sizeof attack_hdr + sizeof frame];
        size_t n = attack_frame(frame), off = 0;
        if (vnet_hdr) {
                memcpy(buf, &attack_hdr, sizeof attack_hdr);
                off = sizeof attack_hdr;
        }
        memcpy(buf + off, frame, n);
        assert_int_equal(write(fd, buf, off + n), (ssize_t) (off + n));
}

/*
 * The stack resolves the far host first, as a guest does: the policy sends
 * unicast frames only to a MAC that answered as a neighbour.  Written with a
 * plain (all-zero) virtio header when the tap takes one.
 */
static void resolve_far(const int *fds, size_t n_fds, bool vnet_hdr) {
        int fd = fds[0];
        uint8_t buf[sizeof(struct virtio_net_hdr) + 42] = {0}, *f = buf;
        if (vnet_hdr)
                f += sizeof(struct virtio_net_hdr);
        memset(f, 0xff, 6);
        memcpy(f + 6, stack_mac, 6);
        f[12] = 0x08, f[13] = 0x06;
        uint8_t *a = f + 14;
        a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1;
        memcpy(a + 8, stack_mac, 6);
        assert_int_equal(inet_pton(AF_INET, STACK4, a + 14), 1);
        assert_int_equal(inet_pton(AF_INET, FAR4, a + 24), 1);
        size_t n = (size_t) (f - buf) + 42;
        assert_int_equal(write(fd, buf, n), (ssize_t) n);
        bool answered = false;
        /* The answer comes on whichever queue the tap picks. */
        for (int i = 0; i < 20 && !answered; i++) {
                struct pollfd p[2];
                for (size_t q = 0; q < n_fds; q++)
                        p[q] = (struct pollfd){.fd = fds[q], .events = POLLIN};
                if (poll(p, (nfds_t) n_fds, 100) < 1)
                        continue;
                for (size_t q = 0; q < n_fds; q++) {
                        uint8_t rb[256];
                        ssize_t k;
                        if ((p[q].revents & POLLIN) && (k = read(fds[q], rb, sizeof rb)) > 0) {
                                const uint8_t arp_reply[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02};
                                answered |= memmem(rb, (size_t) k, arp_reply, sizeof arp_reply) != NULL;
                        }
                }
        }
        assert_true(answered);
}

/* The stack's uplink, as run.c makes it: inner end beside the tap, outer end on the bridge. */
static void uplink(struct env *e, const char *stack) {
        char inner[IFNAMSIZ], outer[IFNAMSIZ];
        shim_uplink_names(stack, inner, outer);
        sh(e, false, "ip link add name %s type veth peer name %s", inner, outer);
        sh(e, false, "ip link set dev %s master " BRIDGE, outer);
        sh(e, false, "ip link set dev %s up", outer);
        sh(e, false, "ip link set dev %s up", inner);
}

static void test_kernel_writes_guest_checksum_offsets(void **state) {
        struct env *e = *state;
        topology(e);
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "no /dev/net/tun: %s\n", strerror(errno));
                skip();
        }
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
        snprintf(ifr.ifr_name, IFNAMSIZ, STACK_TAP);
        assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
        sh(e, false, "ip link set dev " STACK_TAP " up");
        struct ecl_cidr addr;
        struct ecl_rule egress;
        struct ecl_manifest m = stack_manifest(e, &addr, &egress);
        uplink(e, m.stack);
        assert_int_equal(shim_policy_load(&m, NULL), 0);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&m, &problem), 0);
        struct far far = listen_far(e);
        usleep(200 * 1000); /* bridge port forwarding */
        resolve_far(&fd, 1, true);

        qemu_write(fd, true);
        char buf[64];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        /* The policy saw udp/5000 and let it pass; the far port's transmit wrote the checksum onto the port. */
        ssize_t got = recv_wait(far.forbidden, buf, sizeof buf, &from, &fl);
        if (got < 0)
                fprintf(stderr, "this kernel did not write the guest's checksum offset: see whether it refuses "
                                "the header now, and turn this premise into an assertion of the refusal\n");
        assert_int_equal(got, 10);
        assert_memory_equal(buf, "offload-", 8);
        assert_true(recv(far.allowed, buf, sizeof buf, MSG_DONTWAIT) < 0);
        far_close(&far);
        assert_int_equal(shim_policy_remove("tap", NULL), 0);
        close(fd);
}

/* What libvirt asks of the tap for the interface ecluse's domain XML describes. */
static int libvirt_tap_flags(const struct ecl_manifest *m) {
        struct ecl_manifest dm = *m;
        dm.vm.vcpus = 1, dm.vm.memory_mib = 64;
        dm.vm.kernel = (char *) "/vmlinuz", dm.vm.initrd = NULL, dm.vm.cmdline = NULL, dm.vm.n_disks = 0;
        struct shim_domain_opts o = {.root = "", .accel = ECL_ACCEL_TCG};
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        assert_int_equal(shim_domain_build(&dm, &o, &doc, NULL), 0);
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        assert_non_null(ctx);
        xmlXPathObjectPtr model = xmlXPathEvalExpression((const xmlChar *) "string(//interface/model/@type)", ctx);
        xmlXPathObjectPtr queues =
                xmlXPathEvalExpression((const xmlChar *) "number(//interface/driver/@queues)", ctx);
        assert_non_null(model);
        assert_non_null(queues);
        const char *type = (const char *) model->stringval;
        /* qemuInterfaceIsVnetCompatModel (libvirt 9.0) */
        bool vnet = strncmp(type, "virtio", 6) == 0 || streq(type, "e1000e") || streq(type, "igb") ||
                    streq(type, "vmxnet3");
        /* virNetDevTapCreate: IFF_MULTI_QUEUE when it opens more than one queue */
        bool mq = queues->floatval > 1;
        xmlXPathFreeObject(model);
        xmlXPathFreeObject(queues);
        xmlXPathFreeContext(ctx);
        return IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) | (mq ? IFF_MULTI_QUEUE : 0);
}

static void test_ecluse_tap_never_takes_guest_headers(void **state) {
        struct env *e = *state;
        topology(e);
        struct ecl_cidr addr;
        struct ecl_rule egress;
        struct ecl_manifest m = stack_manifest(e, &addr, &egress);
        char name[IFNAMSIZ];
        shim_tap_name(m.stack, 0, name);
        assert_string_equal(name, STACK_TAP);

        /* ecluse: the tap, then the policy on it */
        int hold = -1;
        struct shim_tap_opts to = {.owner = (uid_t) -1, .group = (gid_t) -1, .bridge = NULL, .hold = &hold};
        assert_int_equal(shim_tap_create(STACK_TAP, &to, NULL), 0);
        uplink(e, m.stack);
        assert_int_equal(shim_policy_load(&m, NULL), 0);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&m, &problem), 0);

        /* libvirt: opens it by name for the domain ecluse defines (every queue; the test writes on the first) */
        int flags = libvirt_tap_flags(&m);
        int fds[2] = {-1, -1};
        for (int q = 0; q < ((flags & IFF_MULTI_QUEUE) ? 2 : 1); q++) {
                fds[q] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
                assert_true(fds[q] >= 0);
                struct ifreq ifr = {.ifr_flags = (short) flags};
                snprintf(ifr.ifr_name, IFNAMSIZ, STACK_TAP);
                if (ioctl(fds[q], TUNSETIFF, &ifr) < 0)
                        fail_msg("libvirt's open of %s (flags 0x%x) fails: %s", STACK_TAP, flags, strerror(errno));
        }
        /* QEMU: tap_probe_vnet_hdr */
        struct ifreq ifr = {0};
        assert_int_equal(ioctl(fds[0], TUNGETIFF, &ifr), 0);
        bool vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
        /* ecluse's own check before it resumes the guest agrees with the device */
        assert_int_equal(shim_tap_vnet_hdr(STACK_TAP, NULL), vnet_hdr ? 1 : 0);

        struct far far = listen_far(e);
        usleep(200 * 1000);
        resolve_far(fds, (flags & IFF_MULTI_QUEUE) ? 2 : 1, vnet_hdr);
        qemu_write(fds[0], vnet_hdr);
        char buf[64];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recv_wait(far.allowed, buf, sizeof buf, &from, &fl);
        if (recv(far.forbidden, buf, sizeof buf, MSG_DONTWAIT) >= 0)
                fail_msg("rewritten datagram on %d: the guest's checksum offset was applied after the policy",
                         FORBIDDEN);
        assert_false(far_saw_port(far.pkt, FORBIDDEN));
        assert_false(vnet_hdr);
        /* the frame as the policy saw it is what arrives */
        assert_int_equal(n, 10);
        far_close(&far);

        for (int q = 0; q < 2; q++)
                if (fds[q] >= 0)
                        close(fds[q]);
        if (hold >= 0)
                close(hold);
        assert_int_equal(shim_policy_remove("tap", NULL), 0);
        assert_int_equal(shim_tap_delete(STACK_TAP, NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kernel_writes_guest_checksum_offsets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ecluse_tap_never_takes_guest_headers, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
