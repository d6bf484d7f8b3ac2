/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The housekeeping routes a hostile guest tries (shim/policy-housekeeping.c),
 * as raw frames through AF_PACKET in network namespaces the test creates
 * (policy-netns.h), and what a guest legitimately needs: path MTU discovery
 * and fragmented UDP answers.  "Reaches a host" means a packet socket on the
 * host side of the tap (or behind the host, routed) sees the frame.
 */
#include <netinet/icmp6.h>

#include "policy-ir.h"
#include "policy-netns.h"

#define VENDOR6 "fd78::99"   /* off-link, behind the host as a router */
#define VENDOR4 "10.79.0.99"
#define OTHER6 "fd77::99"    /* on the link, no neighbour of the guest */
#define NONPEER4 "10.88.0.9" /* no network of the manifest */
#define MARK "ECLUSE-COVERT-MARK"

static const uint8_t host_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* A namespace of the test behind the host: veth "vnd"/"rtr", the host routes to it. */
static int vendor_ns(struct env *e) {
        int self = open("/proc/self/ns/net", O_RDONLY);
        assert_true(self >= 0);
        assert_int_equal(unshare(CLONE_NEWNET), 0);
        int ns = open("/proc/self/ns/net", O_RDONLY);
        assert_true(ns >= 0);
        assert_int_equal(setns(self, CLONE_NEWNET), 0);
        close(self);
        enter(e, false);
        sh(e, false, "ip link add name rtr type veth peer name vnd");
        sh(e, false, "ip link set dev vnd netns /proc/%d/fd/%d", (int) getpid(), ns);
        sh(e, false, "ip addr add 10.79.0.1/24 dev rtr");
        sh(e, false, "ip -6 addr add fd78::1/64 dev rtr nodad");
        sh(e, false, "ip link set dev rtr up");
        /* The host routes (the test runs in the host's namespace: /proc/sys/net is that namespace's). */
        const char *fwd[] = {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"};
        for (size_t i = 0; i < ELEMENTSOF(fwd); i++) {
                int fd = open(fwd[i], O_WRONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, "1", 1), 1);
                close(fd);
        }
        assert_int_equal(setns(ns, CLONE_NEWNET), 0);
        struct tl_result res;
        char *const cmds[][12] = {
                {"ip", "link", "set", "dev", "lo", "up", NULL},
                {"ip", "addr", "add", VENDOR4 "/24", "dev", "vnd", NULL},
                {"ip", "-6", "addr", "add", VENDOR6 "/64", "dev", "vnd", "nodad", NULL},
                {"ip", "link", "set", "dev", "vnd", "up", NULL},
                {"ip", "route", "add", "default", "via", "10.79.0.1", NULL},
                {"ip", "-6", "route", "add", "default", "via", "fd78::1", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
                tl_run(cmds[i], &res);
                assert_int_equal(res.status, 0);
                tl_result_free(&res);
        }
        enter(e, false);
        return ns;
}

static void vendor_ns_done(struct env *e, int ns) {
        sh(e, false, "ip link del dev rtr");
        close(ns);
}

/*
 * A packet socket on the tap's host side sees frames before the netdev
 * ingress hook, so "passed the policy" is read where it matters: the
 * uplink's outer end is a port of a bridge that holds the host's addresses,
 * and the sniffer sits on the bridge (what the host received) or behind it
 * (routed).
 */
static void bridge_up(struct env *e) {
        char *del[] = {(char *) "ip", (char *) "link", (char *) "del", (char *) "dev", (char *) "br-t", NULL};
        struct tl_result res;
        tl_run(del, &res); /* left by a failed test */
        tl_result_free(&res);
        sh(e, false, "ip link add name br-t type bridge mcast_snooping 0");
        sh(e, false, "ip addr flush dev " LAN_IF);
        sh(e, false, "ip link set dev " LAN_IF " master br-t");
        sh(e, false, "ip link set dev br-t address " HOST_MAC);
        sh(e, false, "ip addr add " HOST4 "/24 dev br-t");
        sh(e, false, "ip -6 addr add " HOST6 "/64 dev br-t nodad");
        sh(e, false, "ip link set dev br-t up");
}

static void bridge_down(struct env *e) {
        sh(e, false, "ip link del dev br-t");
        sh(e, false, "ip addr add " HOST4 "/24 dev " LAN_IF);
        sh(e, false, "ip -6 addr add " HOST6 "/64 dev " LAN_IF " nodad");
}

/* A packet socket on ifname in the namespace ns (or the host's/guest's when ns < 0). */
static int sniffer(const struct env *e, int ns, bool guest, const char *ifname) {
        if (ns >= 0)
                assert_int_equal(setns(ns, CLONE_NEWNET), 0);
        else
                enter(e, guest);
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
        unsigned idx = if_nametoindex(ifname);
        enter(e, false);
        assert_true(fd >= 0);
        assert_true(idx > 0);
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int) idx};
        assert_int_equal(bind(fd, (struct sockaddr *) &sll, sizeof sll), 0);
        return fd;
}

/* Frames seen within ms milliseconds that contain needle (len bytes). */
static int seen(int fd, const void *needle, size_t len, int ms) {
        int n = 0;
        for (int waited = 0; waited < ms; waited += 20) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 20) != 1)
                        continue;
                uint8_t buf[2048];
                ssize_t k;
                struct sockaddr_ll from;
                socklen_t fl = sizeof from;
                /* What arrived, not what this namespace sent itself. */
                while ((k = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &from, &fl)) > 0) {
                        if (from.sll_pkttype != PACKET_OUTGOING)
                                n += memmem(buf, (size_t) k, needle, len) != NULL;
                        fl = sizeof from;
                }
        }
        return n;
}

/* Frames within ms from the guest's MAC that claim addr: an ARP sender or an NA target (not its own traffic). */
static int seen_arp(int fd, const char *addr, size_t arp_off, int ms) {
        uint8_t a[16];
        int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(family, addr, a), 1);
        int n = 0;
        for (int waited = 0; waited < ms; waited += 20) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 20) != 1)
                        continue;
                uint8_t buf[2048];
                ssize_t k;
                while ((k = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                        if (k < 42 || memcmp(buf + 6, guest_mac, 6) != 0)
                                continue;
                        if (family == AF_INET && buf[12] == 0x08 && buf[13] == 0x06)
                                n += memcmp(buf + arp_off, a, 4) == 0;
                        else if (family == AF_INET6 && k >= 78 && buf[12] == 0x86 && buf[13] == 0xdd && buf[54] == 136)
                                n += memcmp(buf + 62, a, 16) == 0;
                }
        }
        return n;
}

static int seen_claims(int fd, const char *addr, int ms) {
        return seen_arp(fd, addr, 28, ms); /* ARP sender address, or an NA's target */
}

/* ARP frames from the guest asking for addr (target protocol address). */
static int seen_arp_for(int fd, const char *addr, int ms) {
        return seen_arp(fd, addr, 38, ms);
}

/* What reached the guest from the host's MAC: ARP frames from sender spa of this length, IPv6 from src6. */
static int seen_at_guest(int fd, const char *spa, size_t len, const char *src6, int ms) {
        uint8_t a4[4] = {0}, a6[16] = {0};
        if (spa)
                assert_int_equal(inet_pton(AF_INET, spa, a4), 1);
        if (src6)
                assert_int_equal(inet_pton(AF_INET6, src6, a6), 1);
        int n = 0;
        for (int waited = 0; waited < ms; waited += 20) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 20) != 1)
                        continue;
                uint8_t buf[2048];
                ssize_t k;
                while ((k = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                        if (k < 42 || memcmp(buf + 6, host_mac, 6) != 0)
                                continue;
                        if (spa && buf[12] == 0x08 && buf[13] == 0x06 && (size_t) k == len)
                                n += memcmp(buf + 28, a4, 4) == 0;
                        if (src6 && k >= 54 && buf[12] == 0x86 && buf[13] == 0xdd)
                                n += memcmp(buf + 22, a6, 16) == 0;
                }
        }
        return n;
}

/* Send a frame from the namespace's interface (the guest's or the host's tap side). */
static void inject(const struct env *e, bool guest, const uint8_t *f, size_t n) {
        int fd = sock_in(e, guest, AF_PACKET, SOCK_RAW);
        enter(e, guest);
        unsigned idx = if_nametoindex(guest ? GUEST_IF : LAN_IF);
        enter(e, false);
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int) idx, .sll_halen = 6};
        memcpy(sll.sll_addr, f, 6);
        ssize_t k = sendto(fd, f, n, 0, (struct sockaddr *) &sll, sizeof sll);
        /* (From the uplink's outer end a drop happens on the receive side: no error here.) */
        if (k < 0 && errno == ENOBUFS && !guest)
                k = (ssize_t) n;
        if (k < 0)
                fprintf(stderr, "inject from the %s side: %s\n", guest ? "guest" : "host", strerror(errno));
        assert_int_equal(k, (ssize_t) n);
        close(fd);
}

/* Ethernet + IPv6 + ICMPv6 (body starting at the type byte; the checksum is filled in). */
static size_t icmp6_frame(uint8_t *f, const uint8_t src_mac[6], const uint8_t dst_mac[6], const char *src,
                          const char *dst, const uint8_t *body, size_t len) {
        memcpy(f, dst_mac, 6);
        memcpy(f + 6, src_mac, 6);
        f[12] = 0x86, f[13] = 0xdd;
        uint8_t *ip = f + 14;
        memset(ip, 0, 40);
        ip[0] = 0x60, ip[4] = (uint8_t) (len >> 8), ip[5] = (uint8_t) len, ip[6] = 58, ip[7] = 255;
        assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
        assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
        memcpy(ip + 40, body, len);
        ip[42] = ip[43] = 0;
        uint8_t ph[8] = {0, 0, (uint8_t) (len >> 8), (uint8_t) len, 0, 0, 0, 58};
        uint32_t s = sum16(ip + 8, 32, 0);
        s = sum16(ph, 8, s);
        s = sum16(ip + 40, len, s);
        uint16_t c = (uint16_t) ~fold(s);
        ip[42] = (uint8_t) (c >> 8), ip[43] = (uint8_t) c;
        return 14 + 40 + len;
}

/* Ethernet + IPv4 with optlen bytes of options (a multiple of 4), then body; the header checksum filled in. */
static size_t ip4_frame(uint8_t *f, const uint8_t src_mac[6], const uint8_t dst_mac[6], const char *src, const char *dst,
                        uint8_t proto, const uint8_t *opts, size_t optlen, const uint8_t *body, size_t len) {
        memcpy(f, dst_mac, 6);
        memcpy(f + 6, src_mac, 6);
        f[12] = 0x08, f[13] = 0x00;
        uint8_t *ip = f + 14;
        size_t hl = 20 + optlen, tot = hl + len;
        memset(ip, 0, hl);
        ip[0] = (uint8_t) (0x40 | hl / 4), ip[2] = (uint8_t) (tot >> 8), ip[3] = (uint8_t) tot, ip[8] = 64, ip[9] = proto;
        assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
        assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
        if (optlen)
                memcpy(ip + 20, opts, optlen);
        uint16_t c = (uint16_t) ~fold(sum16(ip, hl, 0));
        ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
        memcpy(ip + hl, body, len);
        return 14 + tot;
}

/* Ethernet + IPv6 whose first next header is nexthdr, then body (no checksum: the policy reads headers). */
static size_t ip6_frame(uint8_t *f, const uint8_t src_mac[6], const uint8_t dst_mac[6], const char *src, const char *dst,
                        uint8_t nexthdr, const uint8_t *body, size_t len) {
        memcpy(f, dst_mac, 6);
        memcpy(f + 6, src_mac, 6);
        f[12] = 0x86, f[13] = 0xdd;
        uint8_t *ip = f + 14;
        memset(ip, 0, 40);
        ip[0] = 0x60, ip[4] = (uint8_t) (len >> 8), ip[5] = (uint8_t) len, ip[6] = nexthdr, ip[7] = 64;
        assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
        assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
        memcpy(ip + 40, body, len);
        return 14 + 40 + len;
}

/* A UDP header from sport to dport, then the mark: the body of a datagram of an allowed flow. */
static size_t udp_mark(uint8_t *b, uint16_t sport, uint16_t dport) {
        size_t len = 8 + strlen(MARK);
        memset(b, 0, 8);
        b[0] = (uint8_t) (sport >> 8), b[1] = (uint8_t) sport, b[2] = (uint8_t) (dport >> 8), b[3] = (uint8_t) dport;
        b[5] = (uint8_t) len;
        memcpy(b + 8, MARK, strlen(MARK));
        return len;
}

/* A neighbour solicitation body for target, with an option carrying the MAC, then `extra` bytes of "options". */
static size_t ns_body(uint8_t *b, const char *target, const uint8_t mac[6], size_t extra) {
        memset(b, 0, 32 + extra);
        b[0] = 135;
        assert_int_equal(inet_pton(AF_INET6, target, b + 8), 1);
        b[24] = 1, b[25] = 1;
        memcpy(b + 26, mac, 6);
        for (size_t i = 0; i + 8 <= extra; i += 8) {
                b[32 + i] = 200, b[33 + i] = 1; /* an unknown option of 8 bytes, which receivers skip */
                memcpy(b + 34 + i, MARK, 6);
        }
        return 32 + extra;
}

/* ARP: op, sender, target; len bytes after the Ethernet header (28 or more), the rest the mark. */
static size_t arp_frame(uint8_t *f, const uint8_t src_mac[6], const uint8_t dst_mac[6], int op, const char *spa,
                        const char *tpa, size_t len, uint8_t hlen) {
        memset(f, 0, 14 + len);
        memcpy(f, dst_mac, 6);
        memcpy(f + 6, src_mac, 6);
        f[12] = 0x08, f[13] = 0x06;
        uint8_t *a = f + 14;
        a[1] = 1, a[2] = 0x08, a[4] = hlen, a[5] = 4, a[7] = (uint8_t) op;
        memcpy(a + 8, src_mac, 6);
        assert_int_equal(inet_pton(AF_INET, spa, a + 14), 1);
        assert_int_equal(inet_pton(AF_INET, tpa, a + 24), 1);
        for (size_t i = 28; i + strlen(MARK) <= len; i += strlen(MARK))
                memcpy(a + i, MARK, strlen(MARK));
        return 14 + len;
}

/* The route the issue found first: NS with 1,400 bytes of options from the guest's own address, routed away. */
static void test_nd_with_payload_to_an_off_link_host_is_dropped(void **state) {
        struct env *e = *state;
        bridge_up(e);
        load(e);
        int vns = vendor_ns(e);
        int at_vendor = sniffer(e, vns, false, "vnd"), at_host = sniffer(e, -1, false, "br-t");
        uint8_t body[1500], f[1600];
        size_t n = icmp6_frame(f, guest_mac, host_mac, GUEST6, VENDOR6, body, ns_body(body, VENDOR6, guest_mac, 1400));
        for (int i = 0; i < 5; i++)
                inject(e, true, f, n);
        assert_int_equal(seen(at_vendor, MARK, 6, 300), 0);
        assert_int_equal(seen(at_host, MARK, 6, 10), 0);
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST6, VENDOR6, "ipv6-icmp", 0, 5, NULL) >= 5);
        close(at_vendor), close(at_host);
        vendor_ns_done(e, vns);
        bridge_down(e);
}

/* NS, NA and RS to a unicast address that is no neighbour of the guest, on the link or off it. */
static void test_nd_to_unicast_non_neighbours_is_dropped(void **state) {
        struct env *e = *state;
        bridge_up(e);
        load(e);
        sh(e, false, "ip -6 addr add " OTHER6 "/64 dev br-t nodad");
        int at_host = sniffer(e, -1, false, "br-t");
        uint8_t body[64], f[128];
        const char *dsts[] = {OTHER6, VENDOR6};
        for (size_t d = 0; d < ELEMENTSOF(dsts); d++) {
                /* A well-formed NS for the address itself (with the guest's MAC as option). */
                size_t n = icmp6_frame(f, guest_mac, host_mac, GUEST6, dsts[d], body, ns_body(body, dsts[d], guest_mac, 0));
                inject(e, true, f, n);
                /* An NA of its own address, solicited, to the non-neighbour. */
                ns_body(body, GUEST6, guest_mac, 0);
                body[0] = 136, body[4] = 0x60, body[24] = 2;
                n = icmp6_frame(f, guest_mac, host_mac, GUEST6, dsts[d], body, 32);
                inject(e, true, f, n);
                /* An RS, unicast. */
                memset(body, 0, 16);
                body[0] = 133, body[8] = 1, body[9] = 1;
                memcpy(body + 10, guest_mac, 6);
                n = icmp6_frame(f, guest_mac, host_mac, GUEST6, dsts[d], body, 16);
                inject(e, true, f, n);
        }
        /* Nothing of it reached the host: no frame naming either address. */
        uint8_t needle[16];
        assert_int_equal(inet_pton(AF_INET6, OTHER6, needle), 1);
        assert_int_equal(seen(at_host, needle, 16, 300), 0);
        assert_int_equal(inet_pton(AF_INET6, VENDOR6, needle), 1);
        assert_int_equal(seen(at_host, needle, 16, 10), 0);
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST6, OTHER6, "ipv6-icmp", 0, 3, NULL) >= 3);
        /* The control: a well-formed NS to the neighbour's solicited-node group passes. */
        size_t n = icmp6_frame(f, guest_mac, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, GUEST6, "ff02::1:ff00:1", body,
                               ns_body(body, HOST6, guest_mac, 0));
        inject(e, true, f, n);
        assert_int_equal(inet_pton(AF_INET6, "ff02::1:ff00:1", needle), 1);
        assert_true(seen(at_host, needle, 16, 300) >= 1);
        close(at_host);
        bridge_down(e);
}

static void test_padded_and_malformed_arp_is_dropped(void **state) {
        struct env *e = *state;
        bridge_up(e);
        load(e);
        int at_host = sniffer(e, -1, false, "br-t");
        uint8_t f[1600];
        /* A request padded to 1,500 bytes, and one padded to the shortest frame: the padding is the carrier. */
        size_t lens[] = {1500, 46};
        for (size_t i = 0; i < ELEMENTSOF(lens); i++)
                inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 1, GUEST4, HOST4, lens[i], 6));
        /* Wrong hardware length (the MARK lands in the addresses), and operations that are no request or reply. */
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 1, GUEST4, HOST4, 64, 8));
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 3, GUEST4, HOST4, 64, 6));
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 9, GUEST4, HOST4, 64, 6));
        assert_int_equal(seen(at_host, MARK, 6, 300), 0);
        /* A request for a host the manifest does not name, at the exact length. */
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 1, GUEST4, NONPEER4, 28, 6));
        assert_int_equal(seen_arp_for(at_host, NONPEER4, 200), 0);
        /* The control: the same request at ARP's exact length, for the host, passes and is answered. */
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 1, GUEST4, HOST4, 28, 6));
        assert_true(seen_arp_for(at_host, HOST4, 300) >= 1);
        close(at_host);
        bridge_down(e);
}

/*
 * Which host of an opened network a broadcast request asks for is the
 * guest's choice (8 bits a request for the /24 here): at most 20 a second
 * get out (a burst of 60), the rest are dropped and recorded.
 */
static void test_requests_for_a_network_are_rate_limited(void **state) {
        struct env *e = *state;
        bridge_up(e);
        load(e);
        int at_host = sniffer(e, -1, false, "br-t");
        uint8_t f[64];
        char tpa[16];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int fd = sock_in(e, true, AF_PACKET, SOCK_RAW);
        enter(e, true);
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int) if_nametoindex(GUEST_IF), .sll_halen = 6};
        enter(e, false);
        memcpy(sll.sll_addr, bcast_mac, 6);
        for (unsigned i = 0; i < 200; i++) {
                snprintf(tpa, sizeof tpa, "10.77.0.%u", 3 + i);
                size_t len = arp_frame(f, guest_mac, bcast_mac, 1, GUEST4, tpa, 28, 6);
                assert_int_equal(sendto(fd, f, len, 0, (struct sockaddr *) &sll, sizeof sll), (ssize_t) len);
        }
        close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        int n = 0;
        for (int waited = 0; waited < 300; waited += 20) {
                struct pollfd p = {.fd = at_host, .events = POLLIN};
                if (poll(&p, 1, 20) != 1)
                        continue;
                uint8_t buf[2048];
                ssize_t k;
                while ((k = recv(at_host, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                        n += k >= 42 && memcmp(buf + 6, guest_mac, 6) == 0 && buf[12] == 0x08 && buf[13] == 0x06 &&
                             buf[21] == 1;
        }
        /* the burst, then the rate over the time they took to send (and a margin) */
        int most = 60 + (int) (20 * (secs + 0.3)) + 20;
        fprintf(stderr, "%d of 200 requests got out in %.2f s (at most %d may)\n", n, secs, most);
        assert_true(n >= 40);
        assert_true(n <= most);
        assert_true(most < 150);
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, "10.77.0.202", "arp", 0, 1, NULL) >= 1);
        close(at_host);
        bridge_down(e);
}

/* ARP and ND from a host the manifest does not name never reach the guest, nor padded ones from a peer. */
static void test_inbound_arp_and_nd_from_non_peers_is_dropped(void **state) {
        struct env *e = *state;
        load(e);
        int at_guest = sniffer(e, -1, true, GUEST_IF);
        uint8_t f[1600], body[64];
        inject(e, false, f, arp_frame(f, host_mac, bcast_mac, 1, NONPEER4, GUEST4, 28, 6));
        inject(e, false, f, arp_frame(f, host_mac, guest_mac, 2, NONPEER4, GUEST4, 28, 6));
        /* From a peer, but padded with data. */
        inject(e, false, f, arp_frame(f, host_mac, bcast_mac, 1, HOST4, GUEST4, 46, 6));
        /* NS from an address that is no neighbour, for the guest's address. */
        size_t n = icmp6_frame(f, host_mac, guest_mac, OTHER6, GUEST6, body, ns_body(body, GUEST6, host_mac, 0));
        inject(e, false, f, n);
        /* NA from a neighbour claiming an address that is none (the guest would learn a route to it). */
        ns_body(body, OTHER6, host_mac, 0);
        body[0] = 136, body[4] = 0x60, body[24] = 2;
        inject(e, false, f, icmp6_frame(f, host_mac, guest_mac, HOST6, GUEST6, body, 32));
        assert_int_equal(seen_at_guest(at_guest, NONPEER4, 42, OTHER6, 300), 0);
        assert_int_equal(seen_at_guest(at_guest, HOST4, 60, NULL, 10), 0);
        /* The NA (from a neighbour) for a non-neighbour target: nothing from the host's IPv6 address arrived. */
        assert_int_equal(seen_at_guest(at_guest, NULL, 0, HOST6, 10), 0);
        /* The control: the peer's request at the exact length reaches it. */
        inject(e, false, f, arp_frame(f, host_mac, bcast_mac, 1, HOST4, GUEST4, 28, 6));
        assert_true(seen_at_guest(at_guest, HOST4, 42, NULL, 300) >= 1);
        close(at_guest);
}

/* Claiming another host's address: gratuitous ARP and an unsolicited NA for it. */
static void test_gratuitous_arp_and_na_for_another_address_are_dropped(void **state) {
        struct env *e = *state;
        bridge_up(e);
        load(e);
        int at_host = sniffer(e, -1, false, "br-t");
        uint8_t f[128], body[64];
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 1, HOST4, HOST4, 28, 6));
        inject(e, true, f, arp_frame(f, guest_mac, bcast_mac, 2, SPOOF4, SPOOF4, 28, 6));
        ns_body(body, HOST6, guest_mac, 0);
        body[0] = 136, body[4] = 0x20, body[24] = 2;
        inject(e, true, f, icmp6_frame(f, guest_mac, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, GUEST6, "ff02::1", body, 32));
        assert_int_equal(seen_claims(at_host, HOST4, 300), 0);
        assert_int_equal(seen_claims(at_host, SPOOF4, 10), 0);
        assert_int_equal(seen_claims(at_host, HOST6, 10), 0);
        /* Its own address, announced, passes. */
        ns_body(body, GUEST6, guest_mac, 0);
        body[0] = 136, body[4] = 0x20, body[24] = 2;
        inject(e, true, f, icmp6_frame(f, guest_mac, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}, GUEST6, "ff02::1", body, 32));
        assert_true(seen_claims(at_host, GUEST6, 300) >= 1);
        close(at_host);
        bridge_down(e);
}

/* An allowed source fills the set of flows opened towards the guest; the guest's own flows still work. */
static void test_full_ingress_flow_set_leaves_egress_working(void **state) {
        struct env *e = *state;
        load(e);
        /*
         * The guest and the host resolve each other once (the host's MAC is then
         * a neighbour's); then SYNs to the allowed port 2222, one per source port.
         */
        udp_roundtrip(e, HOST4, GUEST4, AF_INET);
        sh(e, false, "ip neigh replace " GUEST4 " lladdr 52:54:00:12:34:56 dev " LAN_IF " nud permanent");
        int fd = sock_in(e, false, AF_PACKET, SOCK_RAW);
        unsigned idx = if_nametoindex(LAN_IF);
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int) idx, .sll_halen = 6};
        memcpy(sll.sll_addr, guest_mac, 6);
        uint8_t f[64] = {0};
        memcpy(f, guest_mac, 6), memcpy(f + 6, host_mac, 6);
        f[12] = 0x08;
        uint8_t *ip = f + 14, *tcp = f + 34;
        ip[0] = 0x45, ip[3] = 40, ip[8] = 64, ip[9] = 6;
        assert_int_equal(inet_pton(AF_INET, GUEST4, ip + 16), 1);
        tcp[2] = 2222 >> 8, tcp[3] = 2222 & 0xff, tcp[12] = 0x50, tcp[13] = 0x02; /* SYN */
        size_t sent = 0;
        for (unsigned src = 10; src <= 11; src++) {
                char a[16];
                snprintf(a, sizeof a, "10.77.0.%u", src);
                assert_int_equal(inet_pton(AF_INET, a, ip + 12), 1);
                ip[10] = ip[11] = 0;
                uint16_t c = (uint16_t) ~fold(sum16(ip, 20, 0));
                ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
                for (unsigned port = 1; port <= 40000; port++) {
                        tcp[0] = (uint8_t) (port >> 8), tcp[1] = (uint8_t) port;
                        /* the policy runs on the uplink's receive side: a drop is not the sender's error */
                        assert_int_equal(sendto(fd, f, 54, 0, (struct sockaddr *) &sll, sizeof sll), 54);
                        sent++;
                }
        }
        close(fd);
        assert_int_equal(sent, 80000); /* more than POL_DYN_SET_SIZE (65,536) */
        /* The set of flows opened towards the guest is full: one more is refused (and reported) ... */
        assert_int_equal(inet_pton(AF_INET, "10.77.0.12", ip + 12), 1);
        ip[10] = ip[11] = 0;
        uint16_t c = (uint16_t) ~fold(sum16(ip, 20, 0));
        ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
        fd = sock_in(e, false, AF_PACKET, SOCK_RAW);
        assert_int_equal(sendto(fd, f, 54, 0, (struct sockaddr *) &sll, sizeof sll), 54);
        close(fd);
        assert_true(wait_blocked(SHIM_BLOCKED_INGRESS, "10.77.0.12", GUEST4, "tcp", 2222, 1, NULL) >= 1);
        /* ... and the guest's own flows, in their own set, still work, both protocols. */
        sh(e, false, "ip neigh flush dev " LAN_IF);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET);
        assert_true(tcp_exchange(e, false, HOST4, 5001, GUEST4));
}

/*
 * Path MTU discovery for an allowed TCP flow: the guest sends to a peer
 * behind the host, whose link to it has a smaller MTU.  Without the host's
 * "fragmentation needed" / "packet too big" the transfer stalls.
 */
static void test_pmtud_for_an_allowed_tcp_flow(void **state) {
        struct env *e = *state;
        int vns = vendor_ns(e);
        sh(e, false, "ip link set dev rtr mtu 1280");
        sh(e, true, "ip route replace default via " HOST4);
        sh(e, true, "ip -6 route replace default via " HOST6);
        struct ecl_manifest m = e->m;
        struct ecl_rule eg[2] = {e->egress[0], e->egress[1]};
        cidr(&eg[0].net, VENDOR4, 32);
        cidr(&eg[1].net, VENDOR6, 128);
        eg[0].proto = eg[1].proto = ECL_PROTO_TCP;
        eg[0].ports = eg[1].ports = &e->p5001, eg[0].n_ports = eg[1].n_ports = 1;
        struct ecl_cidr nb[2];
        cidr(&nb[0], HOST4, 32);
        cidr(&nb[1], HOST6, 128);
        m.network.egress = eg, m.network.n_egress = 2;
        m.network.neighbours = nb, m.network.n_neighbours = 2;
        sh(e, true, "ip neigh flush dev " GUEST_IF);
        sh(e, false, "ip neigh flush dev " LAN_IF);
        assert_int_equal(shim_policy_load(&m, NULL), 0);
        const char *dst[] = {VENDOR4, VENDOR6};
        for (int v = 0; v < 2; v++) {
                int family = v ? AF_INET6 : AF_INET;
                assert_int_equal(setns(vns, CLONE_NEWNET), 0);
                int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                enter(e, false);
                assert_true(l >= 0);
                do_bind(l, dst[v], 5001);
                assert_int_equal(listen(l, 1), 0);
                int c = sock_in(e, true, family, SOCK_STREAM);
                struct sockaddr_storage ss;
                socklen_t len;
                sockaddr_of(dst[v], 5001, &ss, &len);
                assert_int_equal(connect(c, (struct sockaddr *) &ss, len), 0);
                int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                assert_true(a >= 0);
                /* 64 KiB in full-size segments: only a lowered path MTU gets them through. */
                static char buf[65536];
                memset(buf, 'x', sizeof buf);
                struct timeval tv = {.tv_sec = 8};
                assert_int_equal(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
                assert_int_equal(write(c, buf, sizeof buf), (ssize_t) sizeof buf);
                size_t got = 0;
                ssize_t k;
                while (got < sizeof buf && (k = read(a, buf, sizeof buf)) > 0)
                        got += (size_t) k;
                assert_int_equal(got, sizeof buf);
                close(a), close(c), close(l);
        }
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        sh(e, true, "ip route del default");
        sh(e, true, "ip -6 route del default");
        vendor_ns_done(e, vns);
}

/*
 * "Fragmentation needed" / "packet too big" quoting a flow of the guest,
 * from a host the manifest does not name: the quoted "packet" after the
 * header is whatever its sender wants (500 bytes of it over IPv4, 1,100
 * over IPv6), so only a peer or a neighbour may send one.
 */
static void test_too_big_only_from_peers_and_neighbours(void **state) {
        struct env *e = *state;
        load(e);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET); /* the host's MAC is a neighbour's */
        udp_roundtrip(e, HOST6, GUEST6, AF_INET6);
        int at_guest = sniffer(e, -1, true, GUEST_IF);
        uint8_t body[1300], f[1400];
        for (int v6 = 0; v6 <= 1; v6++) {
                const char *srcs[] = {v6 ? VENDOR6 : VENDOR4, v6 ? HOST6 : HOST4};
                for (int from_peer = 0; from_peer <= 1; from_peer++) {
                        size_t n;
                        memset(body, 0, sizeof body);
                        if (!v6) {
                                /* type 3 code 4, MTU 1200, quoting GUEST4:40000 -> HOST4:5001 tcp, then 520 bytes */
                                body[0] = 3, body[1] = 4, body[6] = 1200 >> 8, body[7] = 1200 & 0xff;
                                uint8_t *in = body + 8;
                                in[0] = 0x45, in[2] = 0x05, in[3] = 0xdc, in[8] = 63, in[9] = 6;
                                assert_int_equal(inet_pton(AF_INET, GUEST4, in + 12), 1);
                                assert_int_equal(inet_pton(AF_INET, HOST4, in + 16), 1);
                                in[20] = 40000 >> 8, in[21] = 40000 & 0xff, in[22] = 5001 >> 8, in[23] = 5001 & 0xff;
                                for (size_t i = 28; i + strlen(MARK) <= 548 - 8; i += strlen(MARK))
                                        memcpy(in + i, MARK, strlen(MARK));
                                uint16_t c = (uint16_t) ~fold(sum16(body, 548, 0));
                                body[2] = (uint8_t) (c >> 8), body[3] = (uint8_t) c;
                                n = ip4_frame(f, host_mac, guest_mac, srcs[from_peer], GUEST4, 1, NULL, 0, body, 548);
                        } else {
                                /* packet too big, MTU 1280, quoting GUEST6:40000 -> HOST6:5000 udp, then 1,100 bytes */
                                body[0] = 2, body[6] = 1280 >> 8, body[7] = 1280 & 0xff;
                                uint8_t *in = body + 8;
                                in[0] = 0x60, in[4] = 0x05, in[5] = 0xb4, in[6] = 17, in[7] = 63;
                                assert_int_equal(inet_pton(AF_INET6, GUEST6, in + 8), 1);
                                assert_int_equal(inet_pton(AF_INET6, HOST6, in + 24), 1);
                                in[40] = 40000 >> 8, in[41] = 40000 & 0xff, in[42] = 5000 >> 8, in[43] = 5000 & 0xff;
                                for (size_t i = 48; i + strlen(MARK) <= 1232 - 8; i += strlen(MARK))
                                        memcpy(in + i, MARK, strlen(MARK));
                                n = icmp6_frame(f, host_mac, guest_mac, srcs[from_peer], GUEST6, body, 1232);
                                f[14 + 7] = 64; /* routed: not a hop limit of 255 */
                        }
                        inject(e, false, f, n);
                        int got = seen(at_guest, MARK, strlen(MARK), 300);
                        if (from_peer)
                                assert_true(got >= 1); /* the control: from the peer (a router of the guest) */
                        else
                                assert_int_equal(got, 0);
                }
        }
        assert_true(wait_blocked(SHIM_BLOCKED_INGRESS, VENDOR4, GUEST4, "icmp", 0, 1, NULL) >= 1);
        assert_true(wait_blocked(SHIM_BLOCKED_INGRESS, VENDOR6, GUEST6, "ipv6-icmp", 0, 1, NULL) >= 1);
        close(at_guest);
}

/*
 * A datagram of an allowed flow with a loose source route (IPv4 option,
 * IPv6 routing header) would go on from the peer to a host the manifest
 * does not name; options and extension headers are dropped both ways.
 */
static void test_source_routes_and_extension_headers_are_dropped(void **state) {
        struct env *e = *state;
        bridge_up(e);
        load(e);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET);
        udp_roundtrip(e, HOST6, GUEST6, AF_INET6);
        int at_host = sniffer(e, -1, false, "br-t"), at_guest = sniffer(e, -1, true, GUEST_IF);
        uint8_t body[256], f[512], udp[64];
        size_t ulen = udp_mark(udp, 40000, 5000);
        /* LSRR via the host to the vendor (type 131, length 7, pointer 4), then end of options. */
        uint8_t lsrr[8] = {131, 7, 4, 0, 0, 0, 0, 0};
        assert_int_equal(inet_pton(AF_INET, VENDOR4, lsrr + 3), 1);
        inject(e, true, f, ip4_frame(f, guest_mac, host_mac, GUEST4, HOST4, 17, lsrr, 8, udp, ulen));
        /* A padded "no operation" option alone. */
        const uint8_t nops[4] = {1, 1, 1, 0};
        inject(e, true, f, ip4_frame(f, guest_mac, host_mac, GUEST4, HOST4, 17, nops, 4, udp, ulen));
        /* IPv6: a routing header (one segment left: the vendor), a hop-by-hop header, a fragment header then a routing header. */
        const uint8_t rt[24] = {17, 2, 0, 1}, hbh[8] = {17, 0, 1, 4}, frag_rt[8] = {43};
        struct {
                uint8_t first;
                const uint8_t *pre;
                size_t n_pre;
                const uint8_t *hdr;
                size_t n_hdr;
        } v6[] = {{43, NULL, 0, rt, 24}, {0, NULL, 0, hbh, 8}, {44, frag_rt, 8, rt, 24}};
        for (size_t i = 0; i < ELEMENTSOF(v6); i++) {
                size_t len = 0;
                if (v6[i].pre)
                        memcpy(body, v6[i].pre, v6[i].n_pre), len += v6[i].n_pre;
                memcpy(body + len, v6[i].hdr, v6[i].n_hdr);
                if (v6[i].hdr == rt)
                        assert_int_equal(inet_pton(AF_INET6, VENDOR6, body + len + 8), 1);
                len += v6[i].n_hdr;
                memcpy(body + len, udp, ulen);
                inject(e, true, f, ip6_frame(f, guest_mac, host_mac, GUEST6, HOST6, v6[i].first, body, len + ulen));
        }
        assert_int_equal(seen(at_host, MARK, strlen(MARK), 300), 0);
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 5000, 2, NULL) >= 2);
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST6, HOST6, "udp", 5000, 3, NULL) >= 3);
        /* The control: the same datagram without the option passes (and opens its flow) ... */
        inject(e, true, f, ip4_frame(f, guest_mac, host_mac, GUEST4, HOST4, 17, NULL, 0, udp, ulen));
        assert_true(seen(at_host, MARK, strlen(MARK), 300) >= 1);
        /* ... and inbound, a datagram of that live flow is dropped with an option, passes without. */
        udp_mark(udp, 5000, 40000);
        inject(e, false, f, ip4_frame(f, host_mac, guest_mac, HOST4, GUEST4, 17, nops, 4, udp, ulen));
        assert_int_equal(seen(at_guest, MARK, strlen(MARK), 300), 0);
        inject(e, false, f, ip4_frame(f, host_mac, guest_mac, HOST4, GUEST4, 17, NULL, 0, udp, ulen));
        assert_true(seen(at_guest, MARK, strlen(MARK), 300) >= 1);
        close(at_host), close(at_guest);
        bridge_down(e);
}

/* A UDP answer larger than the MTU arrives in fragments; the non-first ones carry no port. */
static void test_fragmented_allowed_udp_answer(void **state) {
        struct env *e = *state;
        load(e);
        for (int v = 0; v < 2; v++) {
                int family = v ? AF_INET6 : AF_INET;
                const char *host = v ? HOST6 : HOST4, *guest = v ? GUEST6 : GUEST4;
                int h = sock_in(e, false, family, SOCK_DGRAM), g = sock_in(e, true, family, SOCK_DGRAM);
                do_bind(h, host, 5000);
                do_bind(g, guest, 0);
                send_to(g, host, 5000, "query");
                char buf[8192];
                struct sockaddr_storage from;
                socklen_t fl = sizeof from;
                assert_int_equal(recv_wait(h, buf, sizeof buf, &from, &fl), 5);
                memset(buf, 'a', 4000);
                assert_int_equal(sendto(h, buf, 4000, 0, (struct sockaddr *) &from, fl), 4000);
                fl = sizeof from;
                assert_int_equal(recv_wait(g, buf, sizeof buf, &from, &fl), 4000);
                /* And the guest's own large datagram to the peer. */
                memset(buf, 'b', 3000);
                send_to(g, host, 5000, "");
                fl = sizeof from;
                assert_int_equal(recv_wait(h, buf, sizeof buf, &from, &fl), 0);
                memset(buf, 'b', 3000);
                struct sockaddr_storage ss;
                socklen_t len;
                sockaddr_of(host, 5000, &ss, &len);
                assert_int_equal(sendto(g, buf, 3000, 0, (struct sockaddr *) &ss, len), 3000);
                fl = sizeof from;
                assert_int_equal(recv_wait(h, buf, sizeof buf, &from, &fl), 3000);
                close(h), close(g);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nd_with_payload_to_an_off_link_host_is_dropped),
                cmocka_unit_test(test_nd_to_unicast_non_neighbours_is_dropped),
                cmocka_unit_test(test_padded_and_malformed_arp_is_dropped),
                cmocka_unit_test(test_requests_for_a_network_are_rate_limited),
                cmocka_unit_test(test_inbound_arp_and_nd_from_non_peers_is_dropped),
                cmocka_unit_test(test_gratuitous_arp_and_na_for_another_address_are_dropped),
                cmocka_unit_test(test_full_ingress_flow_set_leaves_egress_working),
                cmocka_unit_test(test_pmtud_for_an_allowed_tcp_flow),
                cmocka_unit_test(test_fragmented_allowed_udp_answer),
                cmocka_unit_test(test_too_big_only_from_peers_and_neighbours),
                cmocka_unit_test(test_source_routes_and_extension_headers_are_dropped),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
