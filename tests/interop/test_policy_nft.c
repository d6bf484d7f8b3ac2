/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy in a real kernel.  The test process moves into a network
 * namespace of its own (unshare(CLONE_NEWNET), as root) and makes a second
 * one for the "guest"; a veth pair stands for the tap: "ecl-t" stays on the
 * host side and carries the policy, its peer "gst" is the guest's interface.
 * All traffic goes between the two namespaces, to the test's own addresses.
 * Rules are read back with the real `nft` and with shim_policy_verify.
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
#include "policy.h"
#include "testlib.h"

#define TAP "ecl-t"
#define GUEST_IF "gst"
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

static void cidr(struct ecl_cidr *c, const char *addr, unsigned prefix) {
        c->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(c->family, addr, c->addr), 1);
        c->prefix = (uint8_t) prefix;
}

static void enter(const struct env *e, bool guest) {
        assert_int_equal(setns(guest ? e->guest_ns : e->host_ns, CLONE_NEWNET), 0);
}

/* Run a command (words separated by spaces; test constants only) in one of the namespaces. */
static void sh(const struct env *e, bool guest, const char *fmt, ...) _printf_(3, 4);
static void sh(const struct env *e, bool guest, const char *fmt, ...) {
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

static int setup(void **state) {
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
        sh(e, false, "ip addr add " HOST4 "/24 dev " TAP);
        sh(e, false, "ip -6 addr add " HOST6 "/64 dev " TAP " nodad");
        sh(e, false, "ip link set dev " TAP " address " HOST_MAC);
        sh(e, false, "ip link set dev " TAP " up");
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

static int teardown(void **state) {
        struct env *e = *state;
        close(e->host_ns);
        close(e->guest_ns); /* the guest namespace goes with its last reference */
        free(e);
        return 0;
}

/* A socket living in the guest's or the host's namespace (a socket keeps the one it was made in). */
static int sock_in(const struct env *e, bool guest, int domain, int type) {
        enter(e, guest);
        int fd = socket(domain, type | SOCK_CLOEXEC, 0);
        enter(e, false);
        assert_true(fd >= 0);
        return fd;
}

static void sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
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

static void do_bind(int fd, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_of(addr, port, &ss, &len);
        assert_int_equal(bind(fd, (struct sockaddr *) &ss, len), 0);
}

static void send_to(int fd, const char *addr, uint16_t port, const char *msg) {
        struct sockaddr_storage ss;
        socklen_t len;
        sockaddr_of(addr, port, &ss, &len);
        assert_int_equal(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &ss, len), (ssize_t) strlen(msg));
}

/* Wait up to 5 s for a datagram; returns its length or -1. */
static ssize_t recv_wait(int fd, char *buf, size_t size, struct sockaddr_storage *from, socklen_t *from_len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
                return -1;
        return recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *) from, from_len);
}

/* Wait up to 5 s for a blocked record counting at least min packets; returns its count (0: none). */
static uint64_t wait_blocked(enum shim_blocked_direction dir, const char *src, const char *dst, const char *proto,
                             uint16_t port, uint64_t min, struct shim_blocked_entry *found) {
        uint64_t c = 0;
        for (int i = 0; i < 100; i++) {
                struct shim_blocked_entry *e = NULL;
                size_t n = 0;
                assert_int_equal(shim_policy_blocked("t", &e, &n), 0);
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

static void load(struct env *e) {
        assert_int_equal(shim_policy_load(&e->m), 0);
        char *problem = NULL;
        int r = shim_policy_verify(&e->m, &problem);
        if (r < 0)
                fprintf(stderr, "verify: %s\n", problem ? problem : "?");
        assert_int_equal(r, 0);
        assert_null(problem);
}

static json_t *nft_json(const char *what) {
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

static json_t *find_chain(json_t *root, const char *name) {
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
static json_int_t rule_packets(json_t *root, const char *comment) {
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

static void test_load_verify_and_read_back_with_nft(void **state) {
        struct env *e = *state;
        load(e);
        /* The real nft sees both base chains with policy drop, on the tap. */
        json_t *root = nft_json("table");
        json_t *out = find_chain(root, "guest_out"), *in = find_chain(root, "guest_in");
        assert_non_null(out);
        assert_non_null(in);
        assert_string_equal(json_string_value(json_object_get(out, "hook")), "ingress");
        assert_string_equal(json_string_value(json_object_get(in, "hook")), "egress");
        assert_string_equal(json_string_value(json_object_get(out, "policy")), "drop");
        assert_string_equal(json_string_value(json_object_get(in, "policy")), "drop");
        /* Every rule has a counter. */
        size_t i, j, rules = 0;
        json_t *it, *x;
        json_array_foreach(json_object_get(root, "nftables"), i, it) {
                json_t *r = json_object_get(it, "rule");
                if (!r)
                        continue;
                rules++;
                bool counter = false;
                json_array_foreach(json_object_get(r, "expr"), j, x) counter |= json_object_get(x, "counter") != NULL;
                assert_true(counter);
        }
        assert_true(rules > 20);
        json_decref(root);
        char *argv[] = {(char *) "nft", (char *) "list", (char *) "table", (char *) "netdev", (char *) TABLE, NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "hook ingress device \"" TAP "\" priority -500; policy drop;"));
        assert_non_null(strstr(res.out, "hook egress device \"" TAP "\" priority -500; policy drop;"));
        tl_result_free(&res);
}

static void udp_roundtrip_port(struct env *e, const char *host, const char *guest, int family, uint16_t port) {
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

static void udp_roundtrip(struct env *e, const char *host, const char *guest, int family) {
        udp_roundtrip_port(e, host, guest, family, 5000);
}

static void test_allowed_udp_and_reply_v4(void **state) {
        struct env *e = *state;
        load(e);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET);
}

static void test_allowed_udp_and_reply_v6(void **state) {
        struct env *e = *state;
        load(e);
        udp_roundtrip(e, HOST6, GUEST6, AF_INET6);
}

/* connect() from `from` to `to`:port, exchange a line; returns true when it worked. */
static bool tcp_exchange(struct env *e, bool listener_in_guest, const char *laddr, uint16_t port, const char *caddr) {
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

static void test_allowed_tcp_both_directions(void **state) {
        struct env *e = *state;
        load(e);
        assert_true(tcp_exchange(e, false, HOST4, 5001, GUEST4)); /* egress flow */
        assert_true(tcp_exchange(e, true, GUEST4, 2222, HOST4));  /* ingress flow */
}

static void test_blocked_egress_is_dropped_and_recorded(void **state) {
        struct env *e = *state;
        load(e);
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6000);
        do_bind(g, GUEST4, 0);
        send_to(g, HOST4, 6000, "one");
        send_to(g, HOST4, 6000, "two");
        struct shim_blocked_entry b;
        time_t before = time(NULL);
        uint64_t count = wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 6000, 2, &b);
        assert_true(count >= 2);
        /* Recorded at the tap, so already dropped: nothing arrived. */
        char buf[16];
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);
        assert_true(b.first <= b.last);
        assert_true(b.last <= time(NULL) + 1 && b.first >= before - 2);
        close(h);
        close(g);

        /* The command reports it too, as JSON with the keys of DESIGN.md. */
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", (char *) "--json", NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        json_error_t err;
        json_t *a = json_loads(res.out, 0, &err);
        assert_true(json_is_array(a));
        bool seen = false;
        size_t i;
        json_t *o;
        json_array_foreach(a, i, o) {
                const char *keys[] = {"dst", "proto", "port", "count", "first", "last"};
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        assert_non_null(json_object_get(o, keys[k]));
                const char *first = json_string_value(json_object_get(o, "first"));
                assert_int_equal(strlen(first), 20);
                assert_int_equal(first[19], 'Z');
                if (strcmp(json_string_value(json_object_get(o, "dst")), HOST4) == 0 &&
                    json_integer_value(json_object_get(o, "port")) == 6000 &&
                    strcmp(json_string_value(json_object_get(o, "proto")), "udp") == 0)
                        seen = json_integer_value(json_object_get(o, "count")) >= 2;
        }
        assert_true(seen);
        json_decref(a);
        tl_result_free(&res);

        /* And as a table for people. */
        char *argv2[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", NULL};
        tl_run(argv2, &res);
        assert_int_equal(res.status, 0);
        assert_memory_equal(res.out, "DIR ", 4);
        assert_non_null(strstr(res.out, "DESTINATION"));
        char *line = strstr(res.out, "\negress   " GUEST4);
        assert_non_null(line);
        assert_non_null(strstr(line, HOST4));
        assert_non_null(strstr(line, " udp "));
        assert_non_null(strstr(line, " 6000 "));
        tl_result_free(&res);
}

static void test_blocked_ingress_is_dropped_and_recorded(void **state) {
        struct env *e = *state;
        load(e);
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(g, GUEST4, 7000);
        do_bind(h, HOST4, 0);
        send_to(h, GUEST4, 7000, "knock");
        assert_true(wait_blocked(SHIM_BLOCKED_INGRESS, HOST4, GUEST4, "udp", 7000, 1, NULL) >= 1);
        char buf[16];
        assert_true(recv(g, buf, sizeof buf, MSG_DONTWAIT) < 0);
        close(h);
        close(g);
}

static void test_spoofed_source_address_is_dropped(void **state) {
        struct env *e = *state;
        load(e);
        sh(e, true, "ip addr add " SPOOF4 "/24 dev " GUEST_IF);
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 5000);
        do_bind(g, SPOOF4, 0);
        send_to(g, HOST4, 5000, "spoof"); /* an allowed flow, from an address not in the manifest */
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, SPOOF4, HOST4, "udp", 5000, 1, NULL) >= 1);
        char buf[16];
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);
        close(h);
        close(g);
        sh(e, true, "ip addr del " SPOOF4 "/24 dev " GUEST_IF);
}

static void test_spoofed_mac_is_dropped(void **state) {
        struct env *e = *state;
        load(e);
        sh(e, true, "ip link set dev " GUEST_IF " address 52:54:00:66:66:66");
        /* Changing the MAC flushes the neighbours; the test's ARP would be dropped (and recorded) first. */
        sh(e, true, "ip neigh replace " HOST4 " lladdr " HOST_MAC " dev " GUEST_IF " nud permanent");
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 5000);
        do_bind(g, GUEST4, 0);
        json_t *root = nft_json("table");
        json_int_t before = rule_packets(root, "ecluse 1");
        json_decref(root);
        send_to(g, HOST4, 5000, "spoof");
        /* The allowed 5-tuple, from another MAC: dropped by the first rule, recorded. */
        uint64_t count = wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 5000, 1, NULL);
        char buf[16];
        ssize_t got = recv(h, buf, sizeof buf, MSG_DONTWAIT);
        root = nft_json("table");
        json_int_t after = rule_packets(root, "ecluse 1");
        json_decref(root);
        close(h);
        close(g);
        sh(e, true, "ip link set dev " GUEST_IF " address 52:54:00:12:34:56");
        sh(e, true, "ip neigh flush dev " GUEST_IF); /* the MAC change dropped the entry already */
        assert_true(count >= 1);
        assert_true(got < 0);
        assert_true(after > before);
}

static void test_non_ip_frame_is_recorded_by_ethertype(void **state) {
        struct env *e = *state;
        load(e);
        int p = sock_in(e, true, AF_PACKET, SOCK_RAW);
        enter(e, true);
        unsigned ifindex = if_nametoindex(GUEST_IF);
        enter(e, false);
        assert_true(ifindex > 0);
        uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        memcpy(frame + 6, guest_mac, 6);
        frame[12] = 0x88, frame[13] = 0xb5; /* IEEE local experimental ethertype */
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int) ifindex, .sll_halen = 6};
        memset(sll.sll_addr, 0xff, 6);
        assert_int_equal(sendto(p, frame, sizeof frame, 0, (struct sockaddr *) &sll, sizeof sll), (ssize_t) sizeof frame);
        close(p);
        struct shim_blocked_entry b;
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, "52:54:00:12:34:56", "ff:ff:ff:ff:ff:ff", "0x88b5", 0, 1, &b) >= 1);
}

/* A neighbour advertisement from the guest's own address, claiming `target`. */
static void send_na(struct env *e, const char *target) {
        enter(e, true);
        int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6); /* the kernel fills in the checksum */
        enter(e, false);
        assert_true(fd >= 0);
        int hops = 255;
        assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops), 0);
        do_bind(fd, GUEST6, 0);
        uint8_t na[32] = {136, 0, 0, 0, 0x60 /* solicited, override */};
        assert_int_equal(inet_pton(AF_INET6, target, na + 8), 1);
        na[24] = 2, na[25] = 1; /* target link-layer address option */
        memcpy(na + 26, guest_mac, 6);
        struct sockaddr_storage ss;
        socklen_t len;
        sockaddr_of(HOST6, 0, &ss, &len);
        assert_int_equal(sendto(fd, na, sizeof na, 0, (struct sockaddr *) &ss, len), (ssize_t) sizeof na);
        close(fd);
}

static void test_neighbour_advertisement_for_another_address_is_dropped(void **state) {
        struct env *e = *state;
        load(e);
        send_na(e, GUEST6); /* its own address: passes */
        send_na(e, HOST6);  /* the host's: dropped and recorded */
        assert_int_equal(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST6, HOST6, "ipv6-icmp", 0, 1, NULL), 1);
}

static void test_counters_count(void **state) {
        struct env *e = *state;
        load(e);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET);
        json_t *root = nft_json("table");
        /* The egress rule of the manifest's UDP flow and its address element counted the packet. */
        size_t i;
        json_t *it;
        bool elem_counted = false;
        json_array_foreach(json_object_get(root, "nftables"), i, it) {
                json_t *s = json_object_get(it, "set");
                const char *name = json_string_value(json_object_get(s, "name"));
                if (!name || strncmp(name, "out4_", 5) != 0)
                        continue;
                size_t j;
                json_t *el;
                json_array_foreach(json_object_get(s, "elem"), j, el) {
                        json_t *c = json_object_get(json_object_get(el, "elem"), "counter");
                        elem_counted |= json_integer_value(json_object_get(c, "packets")) > 0;
                }
        }
        assert_true(elem_counted);
        json_decref(root);
}

static void test_verify_detects_tampering(void **state) {
        struct env *e = *state;
        load(e);
        char *problem = NULL;
        sh(e, false, "nft insert rule netdev " TABLE " guest_out accept");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(problem);
        free(problem), problem = NULL;

        load(e);
        sh(e, false, "nft add chain netdev " TABLE " guest_in { type filter hook egress device " TAP
                     " priority -500 ; policy accept ; }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "policy"));
        free(problem), problem = NULL;

        load(e);
        sh(e, false, "nft delete element netdev " TABLE " guest_addrs4 { " GUEST4 " }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "guest_addrs4"));
        free(problem), problem = NULL;
        sh(e, false, "nft add element netdev " TABLE " guest_addrs4 { " SPOOF4 " }"); /* same count, other address */
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, SPOOF4));
        free(problem), problem = NULL;

        assert_int_equal(shim_policy_remove("t"), 0);
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "does not exist"));
        free(problem);
}

/*
 * Drop what differs between two loads of the same ruleset: handles, counter
 * values and the elements of the sets the packet path fills (stray IPv6
 * neighbour/multicast traffic of the interfaces hits the rules meanwhile).
 */
static void strip_volatile(json_t *j) {
        if (json_is_object(j)) {
                json_object_del(j, "handle");
                const char *name = json_string_value(json_object_get(j, "name"));
                if (name && (strncmp(name, "blk_", 4) == 0 || strncmp(name, "flows", 5) == 0 ||
                             strncmp(name, "peers", 5) == 0))
                        json_object_del(j, "elem");
                if (json_is_object(json_object_get(j, "counter")))
                        json_object_set_new(j, "counter", json_null());
                const char *k;
                json_t *v;
                json_object_foreach(j, k, v) strip_volatile(v);
        } else if (json_is_array(j)) {
                size_t i;
                json_t *v;
                json_array_foreach(j, i, v) strip_volatile(v);
        }
}

static void test_text_and_json_forms_load_alike(void **state) {
        struct env *e = *state;
        load(e);
        json_t *a = nft_json("table");
        assert_int_equal(shim_policy_remove("t"), 0);
        char *text = NULL;
        assert_int_equal(shim_policy_render(&e->m, &text), 0);
        char *dir = tl_mkdtemp();
        char *path = tl_strf("%s/policy.nft", dir);
        tl_write_file(path, text, strlen(text));
        sh(e, false, "nft -f %s", path);
        json_t *b = nft_json("table");
        strip_volatile(a);
        strip_volatile(b);
        char *sa = json_dumps(a, JSON_SORT_KEYS | JSON_INDENT(1)), *sb = json_dumps(b, JSON_SORT_KEYS | JSON_INDENT(1));
        if (strcmp(sa, sb) != 0)
                fprintf(stderr, "JSON-loaded:\n%s\ntext-loaded:\n%s\n", sa, sb);
        assert_string_equal(sa, sb);
        /* What the text loaded passes verification too. */
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
        free(sa), free(sb), free(text), free(path);
        json_decref(a), json_decref(b);
        tl_rm_rf(dir);
        free(dir);
}

static size_t grant_elements(const char *set) {
        char *argv[] = {(char *) "nft", (char *) "-j", (char *) "list", (char *) "set", (char *) "netdev",
                        (char *) TABLE, (char *) set, NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        json_error_t err;
        json_t *j = json_loads(res.out, 0, &err);
        assert_non_null(j);
        size_t n = json_array_size(json_object_get(json_object_get(json_array_get(json_object_get(j, "nftables"), 1), "set"), "elem"));
        json_decref(j);
        tl_result_free(&res);
        return n;
}

static void test_grant_opens_one_flow_for_a_bounded_time(void **state) {
        struct env *e = *state;
        load(e);
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6100);
        do_bind(g, GUEST4, 0);
        send_to(g, HOST4, 6100, "before");
        assert_int_equal(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 6100, 1, NULL), 1);
        char buf[16];
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);

        struct shim_grant grant = {.proto = ECL_PROTO_UDP, .ports = {6100, 6100}, .timeout_s = 2};
        cidr(&grant.net, HOST4, 32);
        assert_int_equal(shim_policy_grant("t", &grant), 0);
        close(h);
        udp_roundtrip_port(e, HOST4, GUEST4, AF_INET, 6100); /* request and reply pass */
        /* The kernel closes it by itself. */
        for (int i = 0; i < 100 && grant_elements("grant_out4") > 0; i++)
                usleep(100 * 1000);
        assert_int_equal(grant_elements("grant_out4"), 0);
        h = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6100);
        send_to(g, HOST4, 6100, "after");
        assert_int_equal(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 6100, 2, NULL), 2);
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);
        close(h);
        close(g);

        /* Ingress, a port range, revoked before its time. */
        struct shim_grant in = {.ingress = true, .proto = ECL_PROTO_TCP, .ports = {2300, 2310}, .timeout_s = 600};
        cidr(&in.net, "10.77.0.0", 24);
        assert_false(tcp_exchange(e, true, GUEST4, 2305, HOST4));
        assert_int_equal(shim_policy_grant("t", &in), 0);
        assert_true(tcp_exchange(e, true, GUEST4, 2305, HOST4));
        assert_int_equal(shim_policy_grant_revoke("t", &in), 0);
        assert_int_equal(grant_elements("grant_in4"), 0);
        assert_false(tcp_exchange(e, true, GUEST4, 2305, HOST4));
        assert_int_equal(shim_policy_grant_revoke("t", &in), -ENOENT);

        struct shim_grant bad = {.proto = ECL_PROTO_ICMP, .timeout_s = 60};
        cidr(&bad.net, HOST4, 32);
        assert_int_equal(shim_policy_grant("t", &bad), -EINVAL);
}

static void test_rules_outlive_the_loader(void **state) {
        struct env *e = *state;
        assert_int_equal(shim_policy_remove("t"), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(shim_policy_load(&e->m) == 0 ? 0 : 1);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
}

static uint16_t ip_checksum(const uint8_t *p, size_t n) {
        uint32_t sum = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* An Ethernet/IPv4/UDP frame from the guest (checksum of UDP left out, as IPv4 allows). */
static size_t udp_frame(uint8_t *f, const uint8_t dst_mac[6], const char *src, const char *dst, uint16_t sport,
                        uint16_t dport, const char *payload) {
        size_t plen = strlen(payload), ulen = 8 + plen, tlen = 20 + ulen;
        memset(f, 0, 14 + tlen);
        memcpy(f, dst_mac, 6);
        memcpy(f + 6, guest_mac, 6);
        f[12] = 0x08, f[13] = 0x00;
        uint8_t *ip = f + 14;
        ip[0] = 0x45, ip[2] = (uint8_t) (tlen >> 8), ip[3] = (uint8_t) tlen, ip[6] = 0x40, ip[8] = 64, ip[9] = 17;
        assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
        assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
        uint16_t c = ip_checksum(ip, 20);
        ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
        uint8_t *udp = ip + 20;
        udp[0] = (uint8_t) (sport >> 8), udp[1] = (uint8_t) sport, udp[2] = (uint8_t) (dport >> 8), udp[3] = (uint8_t) dport;
        udp[4] = (uint8_t) (ulen >> 8), udp[5] = (uint8_t) ulen;
        memcpy(udp + 8, payload, plen);
        return 14 + tlen;
}

/* Wait up to 3 s for a frame on the tap carrying payload; true when it came. */
static bool tap_read_payload(int fd, const char *payload) {
        for (int i = 0; i < 30; i++) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 100) != 1)
                        continue;
                uint8_t buf[2048];
                ssize_t n = read(fd, buf, sizeof buf);
                if (n > 42 && memmem(buf + 42, (size_t) n - 42, payload, strlen(payload)))
                        return true;
        }
        return false;
}

/* A real tap, as QEMU uses it: the test writes the guest's frames into it and reads what reaches the guest. */
static void test_real_tap(void **state) {
        struct env *e = *state;
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
                fprintf(stderr, "no /dev/net/tun: %s\n", strerror(errno));
                skip();
        }
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "ecl-tap");
        assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
        sh(e, false, "ip link set dev ecl-tap address 52:54:00:00:00:02");
        sh(e, false, "ip addr add 10.78.0.1/24 dev ecl-tap");
        sh(e, false, "ip link set dev ecl-tap up");
        sh(e, false, "ip neigh replace 10.78.0.2 lladdr 52:54:00:12:34:56 dev ecl-tap nud permanent");
        const uint8_t tap_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x02};

        struct ecl_manifest m = e->m;
        struct ecl_cidr addr, host;
        cidr(&addr, "10.78.0.2", 32);
        cidr(&host, "10.78.0.1", 32);
        struct ecl_rule egress = {.net = host, .proto = ECL_PROTO_UDP, .ports = &e->p5000, .n_ports = 1};
        m.stack = (char *) "tap";
        m.network.addresses = &addr, m.network.n_addresses = 1;
        m.network.egress = &egress, m.network.n_egress = 1;
        m.network.n_ingress = 0;
        assert_int_equal(shim_policy_load(&m), 0);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&m, &problem), 0);

        int h = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(h, "10.78.0.1", 5000);
        uint8_t f[128];
        size_t n = udp_frame(f, tap_mac, "10.78.0.2", "10.78.0.1", 40000, 5000, "allowed");
        assert_int_equal(write(fd, f, n), (ssize_t) n);
        char buf[32];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        assert_int_equal(recv_wait(h, buf, sizeof buf, &from, &fl), 7);
        /* The reply reaches the guest through the egress hook... */
        assert_int_equal(sendto(h, "reply", 5, 0, (struct sockaddr *) &from, fl), 5);
        assert_true(tap_read_payload(fd, "reply"));
        /* ... a packet that is no reply does not. */
        int h2 = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(h2, "10.78.0.1", 5001);
        assert_int_equal(sendto(h2, "unasked", 7, 0, (struct sockaddr *) &from, fl), 7);
        assert_false(tap_read_payload(fd, "unasked"));

        n = udp_frame(f, tap_mac, "10.78.0.2", "10.78.0.1", 40000, 6000, "blocked");
        assert_int_equal(write(fd, f, n), (ssize_t) n);
        n = udp_frame(f, tap_mac, "10.78.0.9", "10.78.0.1", 40000, 5000, "spoofed");
        assert_int_equal(write(fd, f, n), (ssize_t) n);
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);

        struct shim_blocked_entry *b = NULL;
        size_t nb = 0;
        bool blocked = false, spoofed = false, unasked = false;
        for (int i = 0; i < 50 && !(blocked && spoofed && unasked); i++) {
                assert_int_equal(shim_policy_blocked("tap", &b, &nb), 0);
                for (size_t k = 0; k < nb; k++) {
                        blocked |= b[k].direction == SHIM_BLOCKED_EGRESS && strcmp(b[k].dst, "10.78.0.1") == 0 &&
                                   b[k].port == 6000;
                        spoofed |= b[k].direction == SHIM_BLOCKED_EGRESS && strcmp(b[k].src, "10.78.0.9") == 0;
                        unasked |= b[k].direction == SHIM_BLOCKED_INGRESS && strcmp(b[k].src, "10.78.0.1") == 0 &&
                                   b[k].port == 40000;
                }
                shim_blocked_entries_free(b);
                usleep(100 * 1000);
        }
        assert_true(blocked);
        assert_true(spoofed);
        assert_true(unasked);
        close(h);
        close(h2);
        assert_int_equal(shim_policy_remove("tap"), 0);
        close(fd); /* the tap goes with its descriptor */
}

/* The example manifests, through the real loader: both forms load, verify passes, remove cleans up. */
static void test_example_manifests(void **state) {
        struct env *e = *state;
        const char *files[] = {"office.yaml", "test-guest.yaml", "minimal.yaml"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char *path = tl_strf("%s/manifests/%s", ECLUSE_SOURCE_DIR, files[i]);
                struct ecl_diags diags = {0};
                struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(path, &m, &diags);
                ecl_diags_print(&diags, stderr);
                ecl_diags_clear(&diags);
                assert_int_equal(r, 0);
                char *text = NULL;
                assert_int_equal(shim_policy_render(m, &text), 0);
                if (!m->has_network) {
                        assert_non_null(strstr(text, "no network"));
                        assert_int_equal(shim_policy_load(m), -EINVAL);
                } else {
                        char tap[IFNAMSIZ];
                        shim_tap_name(m->stack, 0, tap);
                        assert_int_equal(shim_policy_load(m), -ENODEV); /* no tap yet */
                        sh(e, false, "ip link add name %s type veth peer name eclpeer", tap);
                        char *dir = tl_mkdtemp(), *file = tl_strf("%s/policy.nft", dir);
                        tl_write_file(file, text, strlen(text));
                        sh(e, false, "nft -c -f %s", file); /* the text form is valid nft */
                        tl_rm_rf(dir);
                        free(dir), free(file);
                        assert_int_equal(shim_policy_load(m), 0);
                        char *problem = NULL;
                        r = shim_policy_verify(m, &problem);
                        if (r < 0)
                                fprintf(stderr, "%s: %s\n", files[i], problem);
                        assert_int_equal(r, 0);
                        assert_int_equal(shim_policy_remove(m->stack), 0);
                        sh(e, false, "ip link del dev %s", tap);
                }
                free(text);
                free(path);
                ecl_manifest_free(m);
        }
}

static void test_replace_then_remove_leaves_nothing(void **state) {
        struct env *e = *state;
        load(e);
        load(e); /* replacing is one transaction: the table is never absent */
        json_t *root = nft_json("ruleset");
        size_t i, tables = 0;
        json_t *it;
        json_array_foreach(json_object_get(root, "nftables"), i, it) tables += json_object_get(it, "table") != NULL;
        assert_int_equal(tables, 1);
        json_decref(root);
        assert_int_equal(shim_policy_remove("t"), 0);
        root = nft_json("ruleset");
        assert_int_equal(json_array_size(json_object_get(root, "nftables")), 1); /* metainfo only */
        json_decref(root);
        assert_int_equal(shim_policy_remove("t"), 0); /* removing nothing is fine */
        struct shim_blocked_entry *b = NULL;
        size_t n;
        assert_int_equal(shim_policy_blocked("t", &b, &n), -ENOENT);
        /* The command: no policy is missing input (66), no stack a usage error (64). */
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 66);
        assert_non_null(strstr(res.err, "error: no policy loaded for stack t"));
        tl_result_free(&res);
        argv[2] = NULL;
        tl_run(argv, &res);
        assert_int_equal(res.status, 64);
        tl_result_free(&res);
        char *bad[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "../x", NULL};
        tl_run(bad, &res);
        assert_int_equal(res.status, 64); /* not a stack name */
        tl_result_free(&res);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_verify_and_read_back_with_nft),
                cmocka_unit_test(test_allowed_udp_and_reply_v4),
                cmocka_unit_test(test_allowed_udp_and_reply_v6),
                cmocka_unit_test(test_allowed_tcp_both_directions),
                cmocka_unit_test(test_blocked_egress_is_dropped_and_recorded),
                cmocka_unit_test(test_blocked_ingress_is_dropped_and_recorded),
                cmocka_unit_test(test_spoofed_source_address_is_dropped),
                cmocka_unit_test(test_spoofed_mac_is_dropped),
                cmocka_unit_test(test_non_ip_frame_is_recorded_by_ethertype),
                cmocka_unit_test(test_neighbour_advertisement_for_another_address_is_dropped),
                cmocka_unit_test(test_counters_count),
                cmocka_unit_test(test_verify_detects_tampering),
                cmocka_unit_test(test_text_and_json_forms_load_alike),
                cmocka_unit_test(test_grant_opens_one_flow_for_a_bounded_time),
                cmocka_unit_test(test_rules_outlive_the_loader),
                cmocka_unit_test(test_real_tap),
                cmocka_unit_test(test_example_manifests),
                cmocka_unit_test(test_replace_then_remove_leaves_nothing),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
