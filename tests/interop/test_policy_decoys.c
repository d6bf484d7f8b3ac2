/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoys cannot hide an attempt (DESIGN.md invariant 4), between two network
 * namespaces the test creates (policy-netns.h).  The guest fills its egress
 * drop-record sets with decoys, crafted through AF_PACKET and all addressed to
 * the test's own host side (or to made-up MACs on the veth): distinct ports of
 * HOST4 fill p4, distinct (spoofed) sources fill n4, distinct destination
 * MACs of a non-IP ethertype fill l2, the three kinds an IPv4 packet falls
 * through.  A real attempt after that cannot be recorded, so it must be
 * counted as unrecorded: exactly its packets, by `blocked` (table and JSON)
 * and by what `status` reads, with the full sets named.
 */
#include "policy-netns.h"

#define DECOY_SLACK 64 /* sent beyond a set's size: some of them counted as unrecorded already */

static const uint8_t host_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};

static uint16_t ip_checksum(const uint8_t *p, size_t n) {
        uint32_t sum = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* Ethernet/IPv4 from the guest's MAC: UDP to dport when proto is 17 (no UDP checksum, as IPv4 allows). */
static size_t ip_frame(uint8_t *f, uint32_t src, const char *dst, uint8_t proto, uint16_t dport) {
        size_t l4 = proto == 17 ? 8 + 4 : 4, tlen = 20 + l4;
        memset(f, 0, 60);
        memcpy(f, host_mac, 6);
        memcpy(f + 6, guest_mac, 6);
        f[12] = 0x08, f[13] = 0x00;
        uint8_t *ip = f + 14;
        ip[0] = 0x45, ip[2] = (uint8_t) (tlen >> 8), ip[3] = (uint8_t) tlen, ip[6] = 0x40, ip[8] = 64, ip[9] = proto;
        uint32_t s = htonl(src);
        memcpy(ip + 12, &s, 4);
        assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
        uint16_t c = ip_checksum(ip, 20);
        ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
        uint8_t *l = ip + 20;
        if (proto == 17) {
                l[0] = 0x9c, l[1] = 0x40; /* 40000 */
                l[2] = (uint8_t) (dport >> 8), l[3] = (uint8_t) dport;
                l[4] = 0, l[5] = (uint8_t) l4;
                memcpy(l + 8, "real", 4);
        } else {
                memcpy(l, "nope", 4);
        }
        return 60;
}

struct raw {
        int fd;
        unsigned ifindex;
};

static struct raw raw_open(struct env *e) {
        struct raw r = {.fd = sock_in(e, true, AF_PACKET, SOCK_RAW)};
        enter(e, true);
        r.ifindex = if_nametoindex(GUEST_IF);
        enter(e, false);
        assert_true(r.ifindex > 0);
        int big = 4 << 20;
        setsockopt(r.fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        return r;
}

static void raw_send(const struct raw *r, const uint8_t *f, size_t n) {
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int) r->ifindex, .sll_halen = 6};
        memcpy(sll.sll_addr, f, 6);
        for (int tries = 0;; tries++) {
                ssize_t k = sendto(r->fd, f, n, 0, (struct sockaddr *) &sll, sizeof sll);
                if (k == (ssize_t) n)
                        return;
                assert_true(k < 0 && (errno == ENOBUFS || errno == EAGAIN) && tries < 1000);
                usleep(1000);
        }
}

enum decoy { DECOY_L2, DECOY_N4, DECOY_P4 };

static void send_decoys(const struct raw *r, enum decoy kind, uint64_t count) {
        uint32_t guest4 = 0, spoof0 = 0;
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, GUEST4, &a), 1);
        guest4 = ntohl(a.s_addr);
        assert_int_equal(inet_pton(AF_INET, "10.77.64.0", &a), 1);
        spoof0 = ntohl(a.s_addr);
        assert_true(count < 40000);
        uint8_t f[60];
        for (uint32_t i = 0; i < count; i++) {
                switch (kind) {
                case DECOY_L2: /* ether type 0x88b5 to a made-up MAC: only the l2 kind records it */
                        memset(f, 0, sizeof f);
                        f[0] = 0x02, f[3] = (uint8_t) (i >> 16), f[4] = (uint8_t) (i >> 8), f[5] = (uint8_t) i;
                        memcpy(f + 6, guest_mac, 6);
                        f[12] = 0x88, f[13] = 0xb5;
                        break;
                case DECOY_N4: /* protocol 253 (experimental), no ports, from 10.77.64.0 + i */
                        ip_frame(f, spoof0 + i, HOST4, 253, 0);
                        break;
                case DECOY_P4: /* UDP to HOST4, port 10000 + i */
                        ip_frame(f, guest4, HOST4, 17, (uint16_t) (10000 + i));
                        break;
                }
                raw_send(r, f, sizeof f);
        }
}

static const char *const out_sets[] = {"blk_out_l2_first", "blk_out_l2_last", "blk_out_n4_first",
                                       "blk_out_n4_last",  "blk_out_p4_first", "blk_out_p4_last"};

static bool all_full(char **full) {
        for (size_t i = 0; i < ELEMENTSOF(out_sets); i++) {
                bool found = false;
                for (char **s = full; s && *s; s++)
                        found = found || streq(*s, out_sets[i]);
                if (!found)
                        return false;
        }
        return true;
}

static uint64_t initial_size(void) {
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        struct shim_blocked_unrecorded u;
        assert_int_equal(shim_policy_blocked_report("t", &e, &n, &u, NULL), 0);
        assert_true(u.known[SHIM_BLOCKED_EGRESS] && u.known[SHIM_BLOCKED_INGRESS]);
        assert_int_equal(u.packets[SHIM_BLOCKED_EGRESS], 0);
        assert_null(u.full_sets);
        uint64_t size = u.min_size[SHIM_BLOCKED_EGRESS];
        shim_blocked_unrecorded_done(&u);
        shim_blocked_entries_free(e);
        return size;
}

static void run_shim(char **argv, struct tl_result *res) {
        tl_run(argv, res);
        if (res->status != 0)
                fprintf(stderr, "%s %s failed: %s%s", argv[0], argv[1], res->out, res->err);
        assert_int_equal(res->status, 0);
}

/* blocked --json: the unrecorded egress object (checked against the contract), NULL when there is none. */
static json_t *blocked_json(json_t **ret_array) {
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", (char *) "--json", NULL};
        struct tl_result res;
        run_shim(argv, &res);
        json_error_t err;
        json_t *a = json_loads(res.out, 0, &err);
        tl_result_free(&res);
        assert_true(json_is_array(a)); /* still one array */
        json_t *unrecorded = NULL;
        size_t i;
        json_t *o;
        json_array_foreach(a, i, o) {
                const char *keys[] = {"dst", "proto", "port", "count", "first", "last", "src", "direction"};
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        assert_non_null(json_object_get(o, keys[k]));
                if (!streq(json_string_value(json_object_get(o, "proto")), "unrecorded"))
                        continue;
                assert_string_equal(json_string_value(json_object_get(o, "direction")), "egress");
                assert_null(unrecorded); /* one per direction, none for ingress (0, nothing full) */
                unrecorded = o;
                assert_string_equal(json_string_value(json_object_get(o, "dst")), "*");
                assert_string_equal(json_string_value(json_object_get(o, "src")), "*");
                assert_int_equal(json_integer_value(json_object_get(o, "port")), 0);
                assert_true(json_is_integer(json_object_get(o, "count")));
                assert_true(json_is_null(json_object_get(o, "first")));
                assert_true(json_is_null(json_object_get(o, "last")));
                assert_true(json_is_array(json_object_get(o, "full_sets")));
        }
        *ret_array = a;
        return unrecorded;
}

static bool json_all_full(json_t *unrecorded) {
        json_t *fs = json_object_get(unrecorded, "full_sets");
        if (json_array_size(fs) != ELEMENTSOF(out_sets))
                return false;
        for (size_t k = 0; k < ELEMENTSOF(out_sets); k++)
                if (!streq(json_string_value(json_array_get(fs, k)), out_sets[k]))
                        return false;
        return true;
}

static void test_decoys_do_not_hide_a_real_attempt(void **state) {
        struct env *e = *state;
        load(e);
        struct raw r = raw_open(e);
        uint64_t size = initial_size();
        assert_true(size > 0 && size <= 30000); /* POL_BLOCKED_SET_SIZE, as the kernel holds it */

        /*
         * Decoys: l2 and n4 first, then p4, whose decoys beyond its size fall
         * through both to the final counter.  `blocked --json` then names
         * every egress set an IPv4 packet goes through as full.  A frame lost
         * on the way would leave a set short: send again (a decoy already in
         * a set only refreshes it).
         */
        time_t t0 = time(NULL);
        json_t *a = NULL, *unrecorded = NULL;
        for (int round = 0;; round++) {
                send_decoys(&r, DECOY_L2, size + DECOY_SLACK);
                send_decoys(&r, DECOY_N4, size + DECOY_SLACK);
                send_decoys(&r, DECOY_P4, size + DECOY_SLACK);
                unrecorded = blocked_json(&a);
                if (unrecorded && json_all_full(unrecorded))
                        break;
                if (unrecorded)
                        fprintf(stderr, "round %d: %s\n", round,
                                json_dumps(json_object_get(unrecorded, "full_sets"), JSON_COMPACT));
                assert_true(round < 2);
                json_decref(a);
        }
        uint64_t before = (uint64_t) json_integer_value(json_object_get(unrecorded, "count"));
        assert_true(before >= DECOY_SLACK); /* the p4 decoys beyond its size at least */
        json_decref(a);
        fprintf(stderr, "decoys sent and reported in %lld s\n", (long long) (time(NULL) - t0));

        /* The real attempt: UDP to HOST4:6000, which the policy drops; nothing may arrive. */
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6000);
        struct in_addr g;
        assert_int_equal(inet_pton(AF_INET, GUEST4, &g), 1);
        uint8_t f[60];
        ip_frame(f, ntohl(g.s_addr), HOST4, 17, 6000);
        for (int i = 0; i < 3; i++)
                raw_send(&r, f, sizeof f);
        close(r.fd);
        usleep(100 * 1000); /* the veth delivers as it sends; a margin all the same */
        char buf[16];
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);
        close(h);

        /*
         * What status reads, at its bounded cost: every set the attempt could
         * go to is full, so it is not recorded, but counted: exactly its
         * packets more.
         */
        struct shim_blocked_unrecorded u = {0};
        assert_int_equal(shim_policy_unrecorded_read("t", &u, NULL), 0);
        assert_true(u.known[SHIM_BLOCKED_EGRESS] && u.known[SHIM_BLOCKED_INGRESS]);
        uint64_t after = u.packets[SHIM_BLOCKED_EGRESS];
        assert_int_equal(after, before + 3);
        assert_int_equal(u.packets[SHIM_BLOCKED_INGRESS], 0);
        assert_true(all_full(u.full_sets));
        for (char **s = u.full_sets; s && *s; s++)
                assert_non_null(strstr(*s, "blk_out_")); /* nothing came in */
        shim_blocked_unrecorded_done(&u);
        fprintf(stderr, "status read at %lld s\n", (long long) (time(NULL) - t0));

        /* And `blocked` for people: no record of the attempt, the count and the full sets. */
        char *argv2[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", NULL};
        struct tl_result res;
        run_shim(argv2, &res);
        char *line = NULL;
        assert_true(asprintf(&line,
                             "egress: %llu packets dropped but not recorded (record sets full: blk_out_l2_first "
                             "blk_out_l2_last blk_out_n4_first blk_out_n4_last blk_out_p4_first blk_out_p4_last)\n",
                             (unsigned long long) after) > 0);
        if (!strstr(res.out, line))
                fprintf(stderr, "no line \"%s\" in the output's end: %s\n", line,
                        strlen(res.out) > 400 ? res.out + strlen(res.out) - 400 : res.out);
        assert_non_null(strstr(res.out, line));
        assert_null(strstr(res.out, "ingress: "));
        assert_null(strstr(res.out, " 6000 "));
        free(line);
        tl_result_free(&res);
        fprintf(stderr, "whole test %lld s\n", (long long) (time(NULL) - t0));
}

/* Without decoys nothing is reported as unrecorded: a plain drop is a record. */
static void test_no_unrecorded_without_decoys(void **state) {
        struct env *e = *state;
        load(e);
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6000);
        do_bind(g, GUEST4, 0);
        send_to(g, HOST4, 6000, "one");
        assert_true(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 6000, 1, NULL) >= 1);
        close(h);
        close(g);
        struct shim_blocked_unrecorded u = {0};
        assert_int_equal(shim_policy_unrecorded_read("t", &u, NULL), 0);
        assert_true(u.known[SHIM_BLOCKED_EGRESS] && u.known[SHIM_BLOCKED_INGRESS]);
        assert_int_equal(u.packets[SHIM_BLOCKED_EGRESS], 0);
        assert_null(u.full_sets);
        assert_true(u.entered[SHIM_BLOCKED_EGRESS] >= 1);
        shim_blocked_unrecorded_done(&u);
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", (char *) "--json", NULL};
        struct tl_result res;
        run_shim(argv, &res);
        assert_null(strstr(res.out, "unrecorded"));
        tl_result_free(&res);
        assert_int_equal(shim_policy_unrecorded_read("nosuch", &u, NULL), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_unrecorded_without_decoys),
                cmocka_unit_test(test_decoys_do_not_hide_a_real_attempt),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
