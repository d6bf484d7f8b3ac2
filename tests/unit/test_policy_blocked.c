/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the drop records (shim/blocked.c) from a libnftables JSON listing,
 * in the shape nftables 1.0.6 prints it (taken from a real listing, trimmed).
 */
#include <string.h>

#include "blocked.h"
#include "testlib.h"

#define NOW ((time_t) 1800000000)
#define WEEK 604800

static const char listing[] =
        "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
        "{\"table\": {\"family\": \"netdev\", \"name\": \"ecluse-t\", \"handle\": 1}},"
        "{\"set\": {\"family\": \"netdev\", \"name\": \"out4_0\", \"table\": \"ecluse-t\", \"type\": \"ipv4_addr\","
        "  \"flags\": [\"interval\"], \"elem\": [{\"elem\": {\"val\": \"10.77.0.1\", \"counter\": {\"packets\": 9, \"bytes\": 1}}}]}},"
        /* udp 6000: first seen 100 s ago, last 10 s ago, 7 packets */
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_out_p4_first\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ipv4_addr\", \"ipv4_addr\", \"inet_proto\", \"inet_service\"], \"size\": 65536,"
        "  \"flags\": [\"timeout\"], \"timeout\": 604800, \"elem\": ["
        "  {\"elem\": {\"val\": {\"concat\": [\"10.77.0.2\", \"10.77.0.1\", \"udp\", 6000]}, \"expires\": 604700}},"
        "  {\"elem\": {\"val\": {\"concat\": [\"10.77.0.2\", \"10.77.0.1\", \"tcp\", 25]}, \"expires\": 600000}}]}},"
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_out_p4_last\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ipv4_addr\", \"ipv4_addr\", \"inet_proto\", \"inet_service\"], \"size\": 65536,"
        "  \"flags\": [\"timeout\"], \"timeout\": 604800, \"elem\": ["
        "  {\"elem\": {\"val\": {\"concat\": [\"10.77.0.2\", \"10.77.0.1\", \"udp\", 6000]}, \"expires\": 604790,"
        "             \"counter\": {\"packets\": 7, \"bytes\": 300}}},"
        "  {\"elem\": {\"val\": {\"concat\": [\"10.77.0.2\", \"10.77.0.1\", \"tcp\", 25]}, \"expires\": 602000,"
        "             \"counter\": {\"packets\": 3, \"bytes\": 180}}}], \"stmt\": [{\"counter\": null}]}},"
        /* ICMPv6 without ports; a record whose "last" element is missing (set full) */
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_in_n6_first\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ipv6_addr\", \"ipv6_addr\", \"inet_proto\"], \"flags\": [\"timeout\"], \"timeout\": 604800,"
        "  \"elem\": [{\"elem\": {\"val\": {\"concat\": [\"fd77::1\", \"fd77::2\", \"ipv6-icmp\"]}, \"expires\": 604795}}]}},"
        /* a non-IP frame: the ethertype as a number */
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_out_l2_last\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ether_addr\", \"ether_addr\", \"ether_type\"], \"flags\": [\"timeout\"], \"timeout\": 604800,"
        "  \"elem\": [{\"elem\": {\"val\": {\"concat\": [\"52:54:00:12:34:56\", \"ff:ff:ff:ff:ff:ff\", 34997]},"
        "             \"expires\": 604799, \"counter\": {\"packets\": 1, \"bytes\": 60}}},"
        "            {\"elem\": {\"val\": {\"concat\": [\"52:54:00:12:34:56\", \"ff:ff:ff:ff:ff:ff\", \"arp\"]},"
        "             \"expires\": 1000, \"timeout\": 2000, \"counter\": {\"packets\": 4, \"bytes\": 60}}}]}},"
        "{\"chain\": {\"family\": \"netdev\", \"table\": \"ecluse-t\", \"name\": \"drop_out\", \"handle\": 3}}"
        "]}";

static const struct shim_blocked_entry *find(const struct shim_blocked_entry *e, size_t n, const char *proto,
                                             uint16_t port) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(e[i].proto, proto) == 0 && e[i].port == port)
                        return &e[i];
        return NULL;
}

static void test_first_last_count(void **state) {
        (void) state;
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        assert_int_equal(shim_blocked_parse(listing, NOW, &e, &n), 0);
        assert_int_equal(n, 5);
        const struct shim_blocked_entry *u = find(e, n, "udp", 6000);
        assert_non_null(u);
        assert_int_equal(u->direction, SHIM_BLOCKED_EGRESS);
        assert_string_equal(u->src, "10.77.0.2");
        assert_string_equal(u->dst, "10.77.0.1");
        assert_int_equal(u->count, 7);
        assert_int_equal(u->first, NOW - 100);
        assert_int_equal(u->last, NOW - 10);
        const struct shim_blocked_entry *t = find(e, n, "tcp", 25);
        assert_non_null(t);
        assert_int_equal(t->count, 3);
        assert_int_equal(t->first, NOW - (WEEK - 600000));
        assert_int_equal(t->last, NOW - (WEEK - 602000));
        shim_blocked_entries_free(e);
}

static void test_kinds_directions_and_order(void **state) {
        (void) state;
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        assert_int_equal(shim_blocked_parse(listing, NOW, &e, &n), 0);
        /* Newest first. */
        for (size_t i = 1; i < n; i++)
                assert_true(e[i - 1].last >= e[i].last);
        const struct shim_blocked_entry *icmp = find(e, n, "ipv6-icmp", 0);
        assert_non_null(icmp);
        assert_int_equal(icmp->direction, SHIM_BLOCKED_INGRESS);
        assert_string_equal(icmp->src, "fd77::1");
        assert_string_equal(icmp->dst, "fd77::2");
        /* Only the "first" record: last seen is the same, the count unknown (0). */
        assert_int_equal(icmp->first, NOW - 5);
        assert_int_equal(icmp->last, NOW - 5);
        assert_int_equal(icmp->count, 0);
        const struct shim_blocked_entry *l2 = find(e, n, "0x88b5", 0);
        assert_non_null(l2);
        assert_string_equal(l2->src, "52:54:00:12:34:56");
        assert_string_equal(l2->dst, "ff:ff:ff:ff:ff:ff");
        assert_int_equal(l2->count, 1);
        /* An element with its own timeout. */
        const struct shim_blocked_entry *arp = find(e, n, "arp", 0);
        assert_non_null(arp);
        assert_int_equal(arp->last, NOW - 1000);
        assert_int_equal(arp->count, 4);
        /* Sets that are not drop records are not reported. */
        assert_null(find(e, n, "10.77.0.1", 0));
        shim_blocked_entries_free(e);
}

static void test_empty_and_malformed(void **state) {
        (void) state;
        struct shim_blocked_entry *e = NULL;
        size_t n = 1;
        assert_int_equal(shim_blocked_parse("{\"nftables\": [{\"metainfo\": {}}]}", NOW, &e, &n), 0);
        assert_int_equal(n, 0);
        shim_blocked_entries_free(e);
        e = NULL;
        assert_int_equal(shim_blocked_parse("{\"nftables\": [", NOW, &e, &n), -EBADMSG);
        assert_null(e);
        assert_int_equal(shim_blocked_parse("[]", NOW, &e, &n), -EBADMSG);
        /* Odd elements (wrong shapes, unknown set names) are skipped, not trusted. */
        assert_int_equal(shim_blocked_parse("{\"nftables\": [{\"set\": {\"name\": \"blk_out_p4_last\", \"timeout\": 10,"
                                            " \"elem\": [{\"elem\": {\"val\": \"x\", \"expires\": 1}}, 5]}},"
                                            "{\"set\": {\"name\": \"blk_sideways_p4_last\", \"elem\": []}}]}",
                                            NOW, &e, &n),
                         0);
        assert_int_equal(n, 0);
        shim_blocked_entries_free(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_last_count),
                cmocka_unit_test(test_kinds_directions_and_order),
                cmocka_unit_test(test_empty_and_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
