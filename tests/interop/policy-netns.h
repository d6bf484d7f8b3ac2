/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Shared by the policy interop tests (test_policy_nft.c, test_policy_traffic.c).
 * The test process moves into a network namespace of its own
 * (unshare(CLONE_NEWNET), as root) and makes a second one for the "guest"; a
 * veth pair stands for the tap: "ecl-t" stays on the host side and carries the
 * policy, its peer "gst" is the guest's interface.  The stack's uplink is the
 * veth pair it is in production (netns.h): "ecu-t" beside the tap, where the
 * policy forwards what it accepts, and "lan", its outer end, which holds the
 * host's addresses (or, in the housekeeping tests, is the port of a bridge
 * that does).  So what reaches "lan" passed the policy, and nothing joins tap
 * and uplink but the policy.  All traffic goes between the namespaces, to
 * the test's own addresses.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blocked.h"
#include "names.h"
#include "netns.h"
#include "policy.h"
#include "testlib.h"

#define TAP "ecl-t"
#define GUEST_IF "gst"
#define UPLINK "ecu-t"
#define LAN_IF "lan"
#define TABLE "ecluse-t"
#define HOST4 "10.77.0.1"
#define GUEST4 "10.77.0.2"
#define SPOOF4 "10.77.0.99"
#define HOST6 "fd77::1"
#define GUEST6 "fd77::2"
#define HOST_MAC "52:54:00:00:00:01"
static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct env {
        int host_ns, guest_ns;
        struct ecl_manifest m;
        struct ecl_cidr addrs[2];
        struct ecl_rule egress[3], ingress[1];
        struct ecl_port_range p5000, p5001, p2222;
};

/* The Internet checksum (RFC 1071): 16-bit big-endian words added into s, then folded (not complemented). */
static _unused_ uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
        for (size_t i = 0; i + 1 < n; i += 2)
                s += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n & 1)
                s += (uint32_t) p[n - 1] << 8;
        return s;
}

static _unused_ uint16_t fold(uint32_t s) {
        while (s >> 16)
                s = (s & 0xffff) + (s >> 16);
        return (uint16_t) s;
}

static _unused_ void cidr(struct ecl_cidr *c, const char *addr, unsigned prefix) {
        c->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(c->family, addr, c->addr), 1);
        c->prefix = (uint8_t) prefix;
}

static _unused_ void enter(const struct env *e, bool guest) {
        assert_int_equal(setns(guest ? e->guest_ns : e->host_ns, CLONE_NEWNET), 0);
}

/* Run a command (words separated by spaces; test constants only) in one of the namespaces. */
static void sh(const struct env *e, bool guest, const char *fmt, ...) _printf_(3, 4);
static _unused_ void sh(const struct env *e, bool guest, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *line = NULL;
        assert_true(vasprintf(&line, fmt, ap) >= 0);
        va_end(ap);
        char *argv[32];
        size_t n = 0;
        for (char *save = NULL, *w = strtok_r(line, " ", &save); w && n < 31; w = strtok_r(NULL, " ", &save))
                argv[n++] = w;
        argv[n] = NULL;
        enter(e, guest);
        struct tl_result res;
        tl_run(argv, &res);
        enter(e, false);
        if (res.status != 0)
                fprintf(stderr, "%s failed: %s%s", argv[0], res.out, res.err);
        assert_int_equal(res.status, 0);
        tl_result_free(&res);
        free(line);
}

static _unused_ int setup(void **state) {
        if (geteuid() != 0) {
                fprintf(stderr, "policy interop tests need root (network namespaces, nftables)\n");
                return -1;
        }
        struct env *e = calloc(1, sizeof *e);
        assert_non_null(e);
        /* Our own namespace for the host side, a second one for the guest. */
        assert_int_equal(unshare(CLONE_NEWNET), 0);
        e->host_ns = open("/proc/self/ns/net", O_RDONLY);
        assert_true(e->host_ns >= 0);
        assert_int_equal(unshare(CLONE_NEWNET), 0);
        e->guest_ns = open("/proc/self/ns/net", O_RDONLY);
        assert_true(e->guest_ns >= 0);
        enter(e, false);

        sh(e, false, "ip link add name " TAP " type veth peer name " GUEST_IF);
        sh(e, false, "ip link set dev " GUEST_IF " netns /proc/%d/fd/%d", (int) getpid(), e->guest_ns);
        sh(e, false, "ip link add name " UPLINK " type veth peer name " LAN_IF);
        assert_int_equal(shim_netns_harden_device(TAP, NULL), 0);
        assert_int_equal(shim_netns_harden_device(UPLINK, NULL), 0);
        sh(e, false, "ip addr add " HOST4 "/24 dev " LAN_IF);
        sh(e, false, "ip -6 addr add " HOST6 "/64 dev " LAN_IF " nodad");
        sh(e, false, "ip link set dev " LAN_IF " address " HOST_MAC);
        sh(e, false, "ip link set dev " TAP " up");
        sh(e, false, "ip link set dev " UPLINK " up");
        sh(e, false, "ip link set dev " LAN_IF " up");
        sh(e, true, "ip link set dev lo up");
        sh(e, true, "ip link set dev " GUEST_IF " address 52:54:00:12:34:56");
        sh(e, true, "ip addr add " GUEST4 "/24 dev " GUEST_IF);
        sh(e, true, "ip -6 addr add " GUEST6 "/64 dev " GUEST_IF " nodad");
        sh(e, true, "ip link set dev " GUEST_IF " up");

        /* The manifest, by hand: stack t, its MAC and addresses, three egress flows, one ingress. */
        e->m.stack = (char *) "t";
        e->m.has_network = true;
        e->m.network.has_mac = true;
        memcpy(e->m.network.mac, guest_mac, 6);
        cidr(&e->addrs[0], GUEST4, 32);
        cidr(&e->addrs[1], GUEST6, 128);
        e->m.network.addresses = e->addrs;
        e->m.network.n_addresses = 2;
        e->p5000 = (struct ecl_port_range){5000, 5000};
        e->p5001 = (struct ecl_port_range){5001, 5001};
        e->p2222 = (struct ecl_port_range){2222, 2222};
        cidr(&e->egress[0].net, HOST4, 32);
        e->egress[0].proto = ECL_PROTO_UDP, e->egress[0].ports = &e->p5000, e->egress[0].n_ports = 1;
        cidr(&e->egress[1].net, HOST4, 32);
        e->egress[1].proto = ECL_PROTO_TCP, e->egress[1].ports = &e->p5001, e->egress[1].n_ports = 1;
        cidr(&e->egress[2].net, HOST6, 128);
        e->egress[2].proto = ECL_PROTO_UDP, e->egress[2].ports = &e->p5000, e->egress[2].n_ports = 1;
        cidr(&e->ingress[0].net, "10.77.0.0", 24);
        e->ingress[0].proto = ECL_PROTO_TCP, e->ingress[0].ports = &e->p2222, e->ingress[0].n_ports = 1;
        e->m.network.egress = e->egress;
        e->m.network.n_egress = 3;
        e->m.network.ingress = e->ingress;
        e->m.network.n_ingress = 1;
        *state = e;
        return 0;
}

static _unused_ int teardown(void **state) {
        struct env *e = *state;
        close(e->host_ns);
        close(e->guest_ns); /* the guest namespace goes with its last reference */
        free(e);
        return 0;
}

/* A socket living in the guest's or the host's namespace (a socket keeps the one it was made in). */
static _unused_ int sock_in(const struct env *e, bool guest, int domain, int type) {
        enter(e, guest);
        int fd = socket(domain, type | SOCK_CLOEXEC, 0);
        enter(e, false);
        assert_true(fd >= 0);
        return fd;
}

static _unused_ void sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
        memset(ss, 0, sizeof *ss);
        if (strchr(addr, ':')) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(port);
                assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
                *len = sizeof *s6;
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
                s4->sin_family = AF_INET;
                s4->sin_port = htons(port);
                assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
                *len = sizeof *s4;
        }
}

static _unused_ void do_bind(int fd, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_of(addr, port, &ss, &len);
        assert_int_equal(bind(fd, (struct sockaddr *) &ss, len), 0);
}

static _unused_ void send_to(int fd, const char *addr, uint16_t port, const char *msg) {
        struct sockaddr_storage ss;
        socklen_t len;
        sockaddr_of(addr, port, &ss, &len);
        assert_int_equal(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &ss, len), (ssize_t) strlen(msg));
}

/* Wait up to 5 s for a datagram; returns its length or -1. */
static _unused_ ssize_t recv_wait(int fd, char *buf, size_t size, struct sockaddr_storage *from, socklen_t *from_len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
                return -1;
        return recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *) from, from_len);
}

/* Wait up to 5 s for a blocked record counting at least min packets; returns its count (0: none). */
static _unused_ uint64_t wait_blocked(enum shim_blocked_direction dir, const char *src, const char *dst, const char *proto,
                             uint16_t port, uint64_t min, struct shim_blocked_entry *found) {
        uint64_t c = 0;
        for (int i = 0; i < 100; i++) {
                struct shim_blocked_entry *e = NULL;
                size_t n = 0;
                assert_int_equal(shim_policy_blocked("t", &e, &n, NULL), 0);
                for (size_t k = 0; k < n; k++)
                        if (e[k].direction == dir && (!src || strcmp(e[k].src, src) == 0) &&
                            strcmp(e[k].dst, dst) == 0 && strcmp(e[k].proto, proto) == 0 && e[k].port == port) {
                                c = e[k].count;
                                if (found)
                                        *found = e[k];
                        }
                if (c < min && i == 99)
                        for (size_t k = 0; k < n; k++)
                                fprintf(stderr, "blocked: %s %s %s %u count %llu\n", e[k].src, e[k].dst, e[k].proto,
                                        e[k].port, (unsigned long long) e[k].count);
                shim_blocked_entries_free(e);
                if (c >= min)
                        return c;
                usleep(50 * 1000);
        }
        return c;
}

static _unused_ void load(struct env *e) {
        /*
         * A new table has learned no neighbour yet: the guest must resolve its
         * peers again (as after a boot), so no stale cache entry skips that.
         */
        sh(e, true, "ip neigh flush dev " GUEST_IF);
        sh(e, false, "ip neigh flush dev " LAN_IF);
        assert_int_equal(shim_policy_load(&e->m, NULL), 0);
        char *problem = NULL;
        int r = shim_policy_verify(&e->m, &problem);
        if (r < 0)
                fprintf(stderr, "verify: %s\n", problem ? problem : "?");
        assert_int_equal(r, 0);
        assert_null(problem);
}

static _unused_ json_t *nft_json(const char *what) {
        char *argv[] = {(char *) "nft", (char *) "-j", (char *) "list", (char *) what, (char *) "netdev",
                        (char *) TABLE, NULL};
        if (strcmp(what, "ruleset") == 0)
                argv[4] = NULL;
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        json_error_t err;
        json_t *j = json_loads(res.out, 0, &err);
        assert_non_null(j);
        tl_result_free(&res);
        return j;
}

static _unused_ json_t *find_chain(json_t *root, const char *name) {
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(root, "nftables"), i, it) {
                json_t *c = json_object_get(it, "chain");
                if (c && strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
                        return c;
        }
        return NULL;
}

/* Packets counted by the rule with this comment. */
static _unused_ json_int_t rule_packets(json_t *root, const char *comment) {
        size_t i, j;
        json_t *it, *x;
        json_array_foreach(json_object_get(root, "nftables"), i, it) {
                json_t *r = json_object_get(it, "rule");
                const char *c = json_string_value(json_object_get(r, "comment"));
                if (!c || strcmp(c, comment) != 0)
                        continue;
                json_array_foreach(json_object_get(r, "expr"), j, x) {
                        json_t *counter = json_object_get(x, "counter");
                        if (counter)
                                return json_integer_value(json_object_get(counter, "packets"));
                }
        }
        return -1;
}

static _unused_ void udp_roundtrip_port(struct env *e, const char *host, const char *guest, int family, uint16_t port) {
        int h = sock_in(e, false, family, SOCK_DGRAM), g = sock_in(e, true, family, SOCK_DGRAM);
        do_bind(h, host, port);
        do_bind(g, guest, 0);
        send_to(g, host, port, "hello");
        char buf[64];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recv_wait(h, buf, sizeof buf, &from, &fl);
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "hello", 5);
        /* The reply is admitted only because the flow was tracked. */
        assert_int_equal(sendto(h, "world", 5, 0, (struct sockaddr *) &from, fl), 5);
        fl = sizeof from;
        n = recv_wait(g, buf, sizeof buf, &from, &fl);
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "world", 5);
        close(h);
        close(g);
}

static _unused_ void udp_roundtrip(struct env *e, const char *host, const char *guest, int family) {
        udp_roundtrip_port(e, host, guest, family, 5000);
}

static _unused_ bool tcp_exchange(struct env *e, bool listener_in_guest, const char *laddr, uint16_t port, const char *caddr) {
        int l = sock_in(e, listener_in_guest, AF_INET, SOCK_STREAM);
        do_bind(l, laddr, port);
        assert_int_equal(listen(l, 4), 0);
        int c = sock_in(e, !listener_in_guest, AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
        do_bind(c, caddr, 0);
        struct sockaddr_storage ss;
        socklen_t len;
        sockaddr_of(laddr, port, &ss, &len);
        int r = connect(c, (struct sockaddr *) &ss, len);
        assert_true(r == 0 || errno == EINPROGRESS);
        struct pollfd p = {.fd = l, .events = POLLIN};
        bool ok = false;
        if (poll(&p, 1, 3000) == 1) {
                int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                struct pollfd pc = {.fd = c, .events = POLLOUT};
                if (a >= 0 && poll(&pc, 1, 3000) == 1 && write(c, "ping", 4) == 4) {
                        char buf[8];
                        struct pollfd pa = {.fd = a, .events = POLLIN};
                        if (poll(&pa, 1, 3000) == 1 && read(a, buf, sizeof buf) == 4 && write(a, "pong", 4) == 4) {
                                pc.events = POLLIN;
                                ok = poll(&pc, 1, 3000) == 1 && read(c, buf, sizeof buf) == 4 &&
                                     memcmp(buf, "pong", 4) == 0;
                        }
                }
                if (a >= 0)
                        close(a);
        }
        close(c);
        close(l);
        return ok;
}

