/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic through the policy in a real kernel, between two network
 * namespaces the test creates (policy-netns.h): allowed flows and their
 * replies, drops and their records, spoofed MAC, source address and neighbour
 * advertisements, non-IP frames, counters, and a real tap device.
 */
#include "output.h"
#include "policy-netns.h"

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
        char *line = strstr(res.out, "\negress " GUEST4 " ");
        if (!line)
                line = strstr(res.out, "\negress  " GUEST4 " "); /* DIR as wide as "ingress" */
        assert_non_null(line);
        char *end = strchr(line + 1, '\n');
        assert_non_null(end);
        *end = '\0';
        assert_non_null(strstr(line, HOST4));
        assert_non_null(strstr(line, " udp "));
        assert_non_null(strstr(line, " 6000 "));
        assert_true(ecl_output_text_width(line + 1) <= ECL_OUTPUT_WIDTH);
        *end = '\n';
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
        /* Its ARP from the spoofed address would be dropped first: the guest skips it. */
        sh(e, true, "ip neigh replace " HOST4 " lladdr " HOST_MAC " dev " GUEST_IF " nud permanent");
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
        sh(e, true, "ip neigh flush dev " GUEST_IF);
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
        int hops = 255, off = 0;
        assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops), 0);
        /* As the kernel's own ND: flow label 0 (a socket's automatic label is no ND the tap admits). */
        assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, &off, sizeof off), 0);
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
        uint16_t c = (uint16_t) ~fold(sum16(ip, 20, 0));
        ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
        uint8_t *udp = ip + 20;
        udp[0] = (uint8_t) (sport >> 8), udp[1] = (uint8_t) sport, udp[2] = (uint8_t) (dport >> 8), udp[3] = (uint8_t) dport;
        udp[4] = (uint8_t) (ulen >> 8), udp[5] = (uint8_t) ulen;
        memcpy(udp + 8, payload, plen);
        return 14 + tlen;
}

/* An ARP request from the guest (its MAC, src) for dst, broadcast, at ARP's exact length. */
static size_t arp_request(uint8_t *f, const char *src, const char *dst) {
        memset(f, 0, 42);
        memset(f, 0xff, 6);
        memcpy(f + 6, guest_mac, 6);
        f[12] = 0x08, f[13] = 0x06;
        uint8_t *a = f + 14;
        a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1; /* Ethernet, IPv4, request */
        memcpy(a + 8, guest_mac, 6);
        assert_int_equal(inet_pton(AF_INET, src, a + 14), 1);
        assert_int_equal(inet_pton(AF_INET, dst, a + 24), 1);
        return 42;
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

/* True when "probe" sent by the guest to HOST4:5000 arrives within a second. */
static bool udp_gets_through(struct env *e) {
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 5000);
        do_bind(g, GUEST4, 0);
        send_to(g, HOST4, 5000, "probe");
        struct pollfd p = {.fd = h, .events = POLLIN};
        bool got = poll(&p, 1, 1000) == 1;
        close(h);
        close(g);
        return got;
}

/*
 * Nothing but the policy joins tap and uplink (netns.h): with the table
 * flushed away, made dormant or deleted, even an allowed flow has no path.
 * The guest keeps its neighbour entry, so only the missing path can stop it.
 */
static void test_no_table_no_path(void **state) {
        struct env *e = *state;
        const char *breakers[] = {"nft flush ruleset", ("nft add table netdev " TABLE " { flags dormant ; }"),
                                  ("nft delete table netdev " TABLE)};
        for (size_t i = 0; i < ELEMENTSOF(breakers); i++) {
                load(e);
                udp_roundtrip(e, HOST4, GUEST4, AF_INET);
                assert_true(udp_gets_through(e));
                sh(e, false, "%s", breakers[i]);
                if (udp_gets_through(e))
                        fail_msg("after \"%s\" an allowed flow still passes: something but the policy joins tap and uplink",
                                 breakers[i]);
                (void) shim_policy_remove("t", NULL);
        }
}

/* Send frame f on device dev of the host side with a packet socket; true if the kernel took it. */
static bool send_on(struct env *e, const char *dev, const uint8_t *f, size_t n) {
        int fd = sock_in(e, false, AF_PACKET, SOCK_RAW);
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int) if_nametoindex(dev), .sll_halen = 6};
        memcpy(sll.sll_addr, f, 6);
        bool ok = sendto(fd, f, n, 0, (struct sockaddr *) &sll, sizeof sll) == (ssize_t) n;
        close(fd);
        return ok;
}

/*
 * Only what the policy forwarded leaves tap and uplink (the guard chains):
 * a frame a host process sends on the tap does not reach the guest, one sent
 * on the uplink does not reach the bridge side, although both would be
 * allowed had they come the right way.
 */
static void test_only_forwarded_frames_leave(void **state) {
        struct env *e = *state;
        static const uint8_t host_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01}; /* HOST_MAC */
        load(e);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET); /* both sides resolved, the flow tracked */
        int g = sock_in(e, true, AF_INET, SOCK_DGRAM), h = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(g, GUEST4, 7000);
        do_bind(h, HOST4, 5000);
        uint8_t f[128];
        /* to the guest, straight onto the tap: as if from its peer, to a port it did not open */
        size_t n = udp_frame(f, guest_mac, HOST4, GUEST4, 5000, 7000, "ontap");
        memcpy(f + 6, host_mac, 6);
        (void) send_on(e, TAP, f, n);
        /* to the host, straight onto the uplink: as if from the guest's allowed flow */
        n = udp_frame(f, host_mac, GUEST4, HOST4, 40000, 5000, "onuplink");
        (void) send_on(e, UPLINK, f, n);
        struct pollfd p[] = {{.fd = g, .events = POLLIN}, {.fd = h, .events = POLLIN}};
        assert_int_equal(poll(p, 2, 1000), 0);
        /* counted where they were stopped */
        json_t *root = nft_json("table");
        const char *guards[] = {"guard_tap", "guard_uplink"};
        for (size_t i = 0; i < 2; i++) {
                json_int_t dropped = 0;
                size_t k, j;
                json_t *it, *x;
                json_array_foreach(json_object_get(root, "nftables"), k, it) {
                        json_t *r = json_object_get(it, "rule");
                        const char *chain = json_string_value(json_object_get(r, "chain"));
                        json_t *expr = json_object_get(r, "expr");
                        if (!chain || strcmp(chain, guards[i]) != 0 || json_array_size(expr) != 2)
                                continue; /* the final "counter drop" */
                        json_array_foreach(expr, j, x) if (json_object_get(x, "counter")) dropped =
                                json_integer_value(json_object_get(json_object_get(x, "counter"), "packets"));
                }
                if (dropped < 1)
                        fail_msg("%s counted no drop", guards[i]);
        }
        json_decref(root);
        close(g);
        close(h);
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
        /* Its uplink, whose outer end holds the host's address. */
        sh(e, false, "ip link add name ecu-tap type veth peer name lan-tap");
        assert_int_equal(shim_netns_harden_device("ecl-tap", NULL), 0);
        sh(e, false, "ip link set dev lan-tap address 52:54:00:00:00:02");
        sh(e, false, "ip addr add 10.78.0.1/24 dev lan-tap");
        sh(e, false, "ip link set dev ecl-tap up");
        sh(e, false, "ip link set dev ecu-tap up");
        sh(e, false, "ip link set dev lan-tap up");
        sh(e, false, "ip neigh replace 10.78.0.2 lladdr 52:54:00:12:34:56 dev lan-tap nud permanent");
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
        assert_int_equal(shim_policy_load(&m, NULL), 0);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&m, &problem), 0);

        int h = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(h, "10.78.0.1", 5000);
        uint8_t f[128];
        /* The guest resolves its peer first: only a MAC that answered is a destination. */
        size_t n = arp_request(f, "10.78.0.2", "10.78.0.1");
        assert_int_equal(write(fd, f, n), (ssize_t) n);
        bool answered = false;
        for (int i = 0; i < 30 && !answered; i++) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                uint8_t rb[128];
                if (poll(&p, 1, 100) == 1 && read(fd, rb, sizeof rb) >= 42)
                        answered = rb[12] == 0x08 && rb[13] == 0x06 && rb[21] == 2;
        }
        assert_true(answered);
        n = udp_frame(f, tap_mac, "10.78.0.2", "10.78.0.1", 40000, 5000, "allowed");
        assert_int_equal(write(fd, f, n), (ssize_t) n);
        char buf[32];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        assert_int_equal(recv_wait(h, buf, sizeof buf, &from, &fl), 7);
        /* The reply reaches the guest through the uplink's chain... */
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
                assert_int_equal(shim_policy_blocked("tap", &b, &nb, NULL), 0);
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
        assert_int_equal(shim_policy_remove("tap", NULL), 0);
        close(fd); /* the tap goes with its descriptor */
}

/* The example manifests, through the real loader: both forms load, verify passes, remove cleans up. */

int main(void) {
        const struct CMUnitTest tests[] = {
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
                cmocka_unit_test(test_real_tap),
                cmocka_unit_test(test_no_table_no_path),
                cmocka_unit_test(test_only_forwarded_frames_leave),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
