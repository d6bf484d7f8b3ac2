/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the drop records (shim/blocked.c) from a libnftables JSON listing,
 * in the shape nftables 1.0.6 prints it (taken from a real listing, trimmed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocked.h"
#include "status-print.h"
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

/*
 * The drop chains as nftables 1.0.6 lists them: one rule per kind (set
 * statements, counter, drop), then the bare "counter drop" reached only when a
 * record could not be added.  Its comment number is whatever the build gave
 * it.  Sets of size 2 here: blk_out_p4_first holds 2 (full), blk_out_p4_last
 * 1, blk_in_n4_first none.  The rules of drop_in come before those of
 * drop_out and the sets between them: order only matters within a chain.
 */
#define KIND_RULE(chain, set, n)                                                                                   \
        "{\"rule\": {\"family\": \"netdev\", \"table\": \"ecluse-t\", \"chain\": \"" chain "\", \"handle\": 90,"      \
        " \"comment\": \"ecluse 43\", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": "          \
        "\"l4proto\"}}, \"right\": {\"set\": [\"tcp\", \"udp\"]}}}, {\"set\": {\"op\": \"add\", \"elem\": {\"concat\":" \
        " [{\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}}]}, \"set\": \"@" set "\"}},"                   \
        " {\"counter\": {\"packets\": " #n ", \"bytes\": 600}}, {\"drop\": null}]}}"
#define FINAL_RULE(chain, comment, n)                                                                              \
        "{\"rule\": {\"family\": \"netdev\", \"table\": \"ecluse-t\", \"chain\": \"" chain "\", \"handle\": 95,"      \
        " \"comment\": \"" comment "\", \"expr\": [{\"counter\": {\"packets\": " #n ", \"bytes\": 60}},"              \
        " {\"drop\": null}]}}"
#define P4_ELEM(port)                                                                                              \
        "{\"elem\": {\"val\": {\"concat\": [\"10.77.0.2\", \"10.77.0.1\", \"udp\", " #port "]}, \"expires\": 604700}}"

static const char chains_listing[] =
        "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
        "{\"table\": {\"family\": \"netdev\", \"name\": \"ecluse-t\", \"handle\": 1}},"
        "{\"chain\": {\"family\": \"netdev\", \"table\": \"ecluse-t\", \"name\": \"drop_in\", \"handle\": 4}},"
        KIND_RULE("drop_in", "blk_in_n4_first", 3) ","
        FINAL_RULE("drop_in", "ecluse 1234", 0) ","
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_out_p4_first\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ipv4_addr\", \"ipv4_addr\", \"inet_proto\", \"inet_service\"], \"size\": 2,"
        "  \"flags\": [\"timeout\"], \"timeout\": 604800, \"elem\": [" P4_ELEM(7000) "," P4_ELEM(7001) "]}},"
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_out_p4_last\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ipv4_addr\", \"ipv4_addr\", \"inet_proto\", \"inet_service\"], \"size\": 2,"
        "  \"flags\": [\"timeout\"], \"timeout\": 604800, \"elem\": [" P4_ELEM(7001) "], \"stmt\": [{\"counter\": null}]}},"
        "{\"set\": {\"family\": \"netdev\", \"name\": \"blk_in_n4_first\", \"table\": \"ecluse-t\","
        "  \"type\": [\"ipv4_addr\", \"ipv4_addr\", \"inet_proto\"], \"size\": 4, \"flags\": [\"timeout\"],"
        "  \"timeout\": 604800}},"
        /* a set of another kind, full, and a chain of another name: neither counts */
        "{\"set\": {\"family\": \"netdev\", \"name\": \"flows4\", \"table\": \"ecluse-t\", \"type\": \"ipv4_addr\","
        "  \"size\": 1, \"flags\": [\"timeout\"], \"timeout\": 120, \"elem\": [{\"elem\": {\"val\": \"10.77.0.1\","
        "  \"expires\": 100}}]}},"
        FINAL_RULE("guest_out", "ecluse 27", 99) ","
        "{\"chain\": {\"family\": \"netdev\", \"table\": \"ecluse-t\", \"name\": \"drop_out\", \"handle\": 3}},"
        KIND_RULE("drop_out", "blk_out_p4_first", 5) ","
        KIND_RULE("drop_out", "blk_out_n4_first", 2) ","
        FINAL_RULE("drop_out", "ecluse 48", 7)
        "]}";

static bool has(char **v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static void test_unrecorded_final_counter_and_full_sets(void **state) {
        (void) state;
        struct shim_blocked_unrecorded u = {0};
        assert_int_equal(shim_blocked_unrecorded_parse(chains_listing, true, &u), 0);
        assert_true(u.known[SHIM_BLOCKED_EGRESS]);
        assert_true(u.known[SHIM_BLOCKED_INGRESS]);
        /* the last rule of each chain, whatever its comment */
        assert_int_equal(u.packets[SHIM_BLOCKED_EGRESS], 7);
        assert_int_equal(u.packets[SHIM_BLOCKED_INGRESS], 0);
        /* every rule of the chain: all that reached it */
        assert_int_equal(u.entered[SHIM_BLOCKED_EGRESS], 5 + 2 + 7);
        assert_int_equal(u.entered[SHIM_BLOCKED_INGRESS], 3);
        assert_int_equal(u.min_size[SHIM_BLOCKED_EGRESS], 2);
        assert_int_equal(u.min_size[SHIM_BLOCKED_INGRESS], 4);
        /* element count == size: full; fewer, or another set: not */
        assert_non_null(u.full_sets);
        assert_string_equal(u.full_sets[0], "blk_out_p4_first");
        assert_null(u.full_sets[1]);

        json_t *c = shim_blocked_unrecorded_counts_json(&u);
        assert_int_equal(json_integer_value(json_object_get(c, "egress")), 7);
        assert_int_equal(json_integer_value(json_object_get(c, "ingress")), 0);
        json_decref(c);
        json_t *f = shim_blocked_full_sets_json(&u, SHIM_BLOCKED_EGRESS);
        assert_int_equal(json_array_size(f), 1);
        assert_string_equal(json_string_value(json_array_get(f, 0)), "blk_out_p4_first");
        json_decref(f);
        f = shim_blocked_full_sets_json(&u, SHIM_BLOCKED_INGRESS);
        assert_int_equal(json_array_size(f), 0);
        json_decref(f);

        /* A terse listing (no elements) tells nothing about fullness; a set listed later adds to it. */
        shim_blocked_unrecorded_done(&u);
        assert_null(u.full_sets);
        u = (struct shim_blocked_unrecorded){0};
        assert_int_equal(shim_blocked_unrecorded_parse(chains_listing, false, &u), 0);
        assert_int_equal(u.packets[SHIM_BLOCKED_EGRESS], 7);
        assert_null(u.full_sets);
        assert_int_equal(shim_blocked_unrecorded_parse(
                                 "{\"nftables\": [{\"set\": {\"name\": \"blk_in_l2_last\", \"size\": 1, \"elem\": ["
                                 "{\"elem\": {\"val\": {\"concat\": [\"52:54:00:12:34:56\", \"ff:ff:ff:ff:ff:ff\", \"arp\"]},"
                                 " \"expires\": 5}}]}}]}",
                                 true, &u),
                         0);
        assert_true(has(u.full_sets, "blk_in_l2_last"));
        /* rules not in this listing: the counters stay */
        assert_int_equal(u.packets[SHIM_BLOCKED_EGRESS], 7);
        assert_true(u.known[SHIM_BLOCKED_EGRESS]);
        /* the same set again is not listed twice */
        assert_int_equal(shim_blocked_unrecorded_parse(
                                 "{\"nftables\": [{\"set\": {\"name\": \"blk_in_l2_last\", \"size\": 1, \"elem\": [1]}},"
                                 "{\"set\": {\"name\": \"blk_in_l2_first\", \"size\": 1, \"elem\": [1]}}]}",
                                 true, &u),
                         0);
        assert_string_equal(u.full_sets[0], "blk_in_l2_first");
        assert_string_equal(u.full_sets[1], "blk_in_l2_last");
        assert_null(u.full_sets[2]);
        shim_blocked_unrecorded_done(&u);

        /* The records of the same listing are still read as before. */
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        assert_int_equal(shim_blocked_parse(chains_listing, NOW, &e, &n), 0);
        assert_int_equal(n, 2);
        shim_blocked_entries_free(e);
}

static void test_unrecorded_not_found(void **state) {
        (void) state;
        struct shim_blocked_unrecorded u = {0};
        /* No drop chain rules at all: unknown, not zero. */
        assert_int_equal(shim_blocked_unrecorded_parse(listing, true, &u), 0);
        assert_false(u.known[SHIM_BLOCKED_EGRESS]);
        assert_false(u.known[SHIM_BLOCKED_INGRESS]);
        json_t *c = shim_blocked_unrecorded_counts_json(&u);
        assert_true(json_is_null(json_object_get(c, "egress")));
        json_decref(c);
        shim_blocked_unrecorded_done(&u);

        /* The last rule is not a bare counter drop (a set statement, a match, a named counter): not trusted. */
        static const char *const lasts[] = {
                KIND_RULE("drop_out", "blk_out_p4_first", 5),
                ("{\"rule\": {\"chain\": \"drop_out\", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"meta\":"
                 " {\"key\": \"l4proto\"}}, \"right\": \"udp\"}}, {\"counter\": {\"packets\": 4, \"bytes\": 1}},"
                 " {\"drop\": null}]}}"),
                "{\"rule\": {\"chain\": \"drop_out\", \"expr\": [{\"counter\": \"named\"}, {\"drop\": null}]}}",
                ("{\"rule\": {\"chain\": \"drop_out\", \"expr\": [{\"counter\": {\"packets\": 4, \"bytes\": 1}},"
                 " {\"accept\": null}]}}"),
                "{\"rule\": {\"chain\": \"drop_out\", \"expr\": [{\"counter\": {\"packets\": -4}}, {\"drop\": null}]}}",
                "{\"rule\": {\"chain\": \"drop_out\"}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(lasts); i++) {
                char *json = NULL;
                assert_true(asprintf(&json, "{\"nftables\": [%s, %s]}", FINAL_RULE("drop_out", "ecluse 48", 7),
                                     lasts[i]) > 0);
                u = (struct shim_blocked_unrecorded){0};
                assert_int_equal(shim_blocked_unrecorded_parse(json, true, &u), 0);
                assert_false(u.known[SHIM_BLOCKED_EGRESS]);
                assert_int_equal(u.packets[SHIM_BLOCKED_EGRESS], 0);
                shim_blocked_unrecorded_done(&u);
                free(json);
        }

        assert_int_equal(shim_blocked_unrecorded_parse("{\"nftables\": ", true, &u), -EBADMSG);
        assert_int_equal(shim_blocked_unrecorded_parse("{\"nftables\": {}}", true, &u), -EBADMSG);
        /* Odd sets: no size, a size that is no number, elements that are no array. */
        u = (struct shim_blocked_unrecorded){0};
        assert_int_equal(shim_blocked_unrecorded_parse(
                                 "{\"nftables\": [{\"set\": {\"name\": \"blk_out_p4_last\", \"elem\": []}},"
                                 "{\"set\": {\"name\": \"blk_out_p4_first\", \"size\": \"0\", \"elem\": []}},"
                                 "{\"set\": {\"name\": \"blk_out_n4_first\", \"size\": 1, \"elem\": {}}},"
                                 "{\"set\": {\"name\": \"blk_up_n4_first\", \"size\": 1, \"elem\": [1]}},"
                                 "{\"set\": {\"name\": 5, \"size\": 1, \"elem\": [1]}}, 7, {\"rule\": 3}]}",
                                 true, &u),
                         0);
        assert_null(u.full_sets);
        assert_false(u.known[SHIM_BLOCKED_EGRESS]);
        shim_blocked_unrecorded_done(&u);
}

/* status for people: the counts and the full sets on one line each. */
static void test_status_print_unrecorded(void **state) {
        (void) state;
        json_t *o = json_pack("{s:s,s:s,s:{s:I,s:n},s:[s,s]}", "stack", "t", "state", "running", "unrecorded", "egress",
                              (json_int_t) 1234, "ingress", "full_sets", "blk_out_p4_first", "blk_out_p4_last");
        assert_non_null(o);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        (void) shim_print_object(f, o, ECL_JSON_OFF);
        json_object_set_new(o, "full_sets", json_array());
        (void) shim_print_object(f, o, ECL_JSON_OFF);
        fclose(f);
        assert_non_null(strstr(buf, "  unrecorded: egress 1234, ingress unknown\n"));
        assert_non_null(strstr(buf, "  full_sets: blk_out_p4_first blk_out_p4_last\n"));
        assert_non_null(strstr(buf, "  full_sets: none\n"));
        free(buf);
        json_decref(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_last_count),
                cmocka_unit_test(test_kinds_directions_and_order),
                cmocka_unit_test(test_empty_and_malformed),
                cmocka_unit_test(test_unrecorded_final_counter_and_full_sets),
                cmocka_unit_test(test_unrecorded_not_found),
                cmocka_unit_test(test_status_print_unrecorded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
