/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest's network section (manifest-network.c): ports, addresses, neighbours, their limits. */
#include "manifest-testlib.h"

static void test_ports_overlap_and_adjacent(void **state) {
        (void) state;
        _cleanup_free_ char *a = load_bad_with("network:\n  egress:\n    - {to: 192.0.2.1, proto: tcp, why: w, "
                                               "ports: [80, \"81-90\", 443, 443]}\n"
                                               "  addresses: [192.0.2.2]\n");
        assert_string_equal(a, "t.yaml:9:69: error: 'network.egress[0].ports[3]' overlaps an earlier port "
                               "(already opened by 443)");
        _cleanup_free_ char *text = tl_strf("%snetwork:\n  egress:\n    - {to: 192.0.2.1, proto: udp, why: w, "
                                            "ports: [\"100-200\", 99, 201]}\n"
                                            "  addresses: [192.0.2.2]\n",
                                            head);
        struct ecl_diags d = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_manifest_load_buffer("t", text, strlen(text), &m, &d), 0);
        assert_int_equal(m->network.egress[0].n_ports, 3);
}

#define MISSING_ADDRESSES                                                                                              \
        "error: missing key 'addresses' in 'network' (the guest's own addresses, e.g. [192.0.2.2]: the tap admits "    \
        "no other source, so a guest cannot claim a neighbour's)"

/* A network names the guest's own addresses: without them it could claim any address on the link. */
static void test_network_needs_addresses(void **state) {
        (void) state;
        /* Reported once, at the network key, whatever else the network says. */
        _cleanup_free_ char *a = load_bad_with("network:\n  bridge: ecl-br0\n  egress:\n    - {to: 192.0.2.1, proto: "
                                               "tcp, ports: [443], why: w}\n");
        assert_string_equal(a, "t.yaml:7:1: " MISSING_ADDRESSES);
        _cleanup_free_ char *b = load_bad_with("network: {}\n");
        assert_string_equal(b, "t.yaml:7:1: " MISSING_ADDRESSES);
        _cleanup_free_ char *c = load_bad_with("console: log\nnetwork: {bridge: br0, mac: 52:54:00:12:34:56}\n");
        assert_string_equal(c, "t.yaml:8:1: " MISSING_ADDRESSES);
        /* Neighbours are no substitute for the guest's own addresses. */
        _cleanup_free_ char *d = load_bad_with("network:\n  neighbours: [192.0.2.1]\n");
        assert_string_equal(d, "t.yaml:7:1: " MISSING_ADDRESSES);
        /* An empty list is refused as empty, with no "missing" on top. */
        _cleanup_free_ char *e = load_bad_with("network:\n  addresses: []\n");
        assert_string_equal(e, "t.yaml:8:14: error: 'network.addresses' must not be empty");
        _cleanup_free_ char *f = load_bad_with("network:\n  addresses: ~\n");
        assert_string_equal(f, "t.yaml:8:14: error: 'network.addresses' must be a list, got nothing");
        _cleanup_free_ char *g = load_bad_with("network:\n  addresses: 192.0.2.2\n");
        assert_string_equal(g, "t.yaml:8:14: error: 'network.addresses' must be a list, got a single value");
        /* A bad entry is that entry's error only. */
        _cleanup_free_ char *h = load_bad_with("network:\n  addresses: [192.0.2.256]\n");
        assert_string_equal(h, "t.yaml:8:15: error: invalid IP address '192.0.2.256' for 'network.addresses[0]'");
        /* A network that is no mapping: that error only, nothing about its keys. */
        _cleanup_free_ char *i = load_bad_with("network: [ecl-br0]\n");
        assert_string_equal(i, "t.yaml:7:10: error: 'network' must be a mapping, got a list");
        _cleanup_free_ char *j = load_bad_with("network:\n");
        assert_string_equal(j, "t.yaml:7:9: error: 'network' must be a mapping, got nothing");
        /* No network at all needs no addresses: the VM has no interface. */
        _cleanup_manifest_ struct ecl_manifest *none = load_ok_with("console: log\n");
        assert_false(none->has_network);
        assert_int_equal(none->network.n_addresses, 0);
        /* The least network: its addresses, everything else dropped. */
        _cleanup_manifest_ struct ecl_manifest *m = load_ok_with("network: {addresses: [192.0.2.2]}\n");
        assert_true(m->has_network);
        assert_int_equal(m->network.n_addresses, 1);
        assert_cidr(&m->network.addresses[0], AF_INET, "192.0.2.2/32");
        assert_int_equal(m->network.n_neighbours + m->network.n_egress + m->network.n_ingress, 0);
        assert_null(m->network.neighbours);
}

static void test_addresses_limit(void **state) {
        (void) state;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        fprintf(f, "network:\n  addresses:\n");
        for (int i = 0; i < ECL_ADDRESSES_MAX; i++)
                fprintf(f, "    - 192.0.2.%d\n", i + 1);
        fclose(f);
        _cleanup_manifest_ struct ecl_manifest *m = load_ok_with(text);
        assert_int_equal(m->network.n_addresses, ECL_ADDRESSES_MAX);
        assert_cidr(&m->network.addresses[ECL_ADDRESSES_MAX - 1], AF_INET, "192.0.2.16/32");
        free(text);
        text = NULL;
        f = open_memstream(&text, &size);
        fprintf(f, "network:\n  addresses:\n");
        for (int i = 0; i <= ECL_ADDRESSES_MAX; i++)
                fprintf(f, "    - 192.0.2.%d\n", i + 1);
        fclose(f);
        _cleanup_free_ char *out = load_bad_with(text);
        assert_string_equal(out, "t.yaml:9:5: error: 'network.addresses' has too many entries (17, at most 16)");
        free(text);
}

/* network.neighbours: the on-link hosts the guest may resolve besides its rules' peers. */
static void test_neighbours(void **state) {
        (void) state;
        _cleanup_manifest_ struct ecl_manifest *m =
                load_ok_with("network:\n  addresses: [192.0.2.2, \"2001:db8::2\"]\n"
                             "  neighbours: [192.0.2.1, \"2001:db8::1\", fe80::1, \"FE80::5054:FF:FE12:3456\"]\n");
        assert_int_equal(m->network.n_neighbours, 4);
        assert_cidr(&m->network.neighbours[0], AF_INET, "192.0.2.1/32");
        assert_cidr(&m->network.neighbours[1], AF_INET6, "2001:db8::1/128");
        assert_cidr(&m->network.neighbours[2], AF_INET6, "fe80::1/128");
        assert_cidr(&m->network.neighbours[3], AF_INET6, "fe80::5054:ff:fe12:3456/128");
        /* The guest's addresses are untouched by its neighbours. */
        assert_int_equal(m->network.n_addresses, 2);
        assert_int_equal(m->network.n_egress + m->network.n_ingress, 0);
        /* Block style, one neighbour, among rules. */
        _cleanup_manifest_ struct ecl_manifest *b =
                load_ok_with("network:\n  addresses: [\"2001:db8::2\"]\n  egress:\n    - {to: \"2001:db8:1::/48\", "
                             "proto: tcp, why: w}\n  neighbours:\n    - fe80::1\n");
        assert_int_equal(b->network.n_neighbours, 1);
        assert_cidr(&b->network.neighbours[0], AF_INET6, "fe80::1/128");
        assert_int_equal(b->network.n_egress, 1);

        /* A network is not a neighbour: the hint says what is. */
        _cleanup_free_ char *p4 = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [192.0.2.1/32]\n");
        assert_string_equal(p4, "t.yaml:9:16: error: 'network.neighbours[0]' must be a single address, got "
                                "'192.0.2.1/32' (on-link hosts by address, e.g. the router 192.0.2.1 or fe80::1, "
                                "without a prefix length)");
        _cleanup_free_ char *p6 =
                load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [192.0.2.1, \"fe80::/64\"]\n");
        assert_string_equal(p6, "t.yaml:9:27: error: 'network.neighbours[1]' must be a single address, got "
                                "'fe80::/64' (on-link hosts by address, e.g. the router 192.0.2.1 or fe80::1, "
                                "without a prefix length)");
        /* Duplicates, however spelt. */
        _cleanup_free_ char *dup = load_bad_with("network:\n  addresses: [192.0.2.2]\n"
                                                 "  neighbours: [\"fe80::1\", 192.0.2.1, \"FE80:0::0001\"]\n");
        assert_string_equal(dup, "t.yaml:9:38: error: duplicate address 'FE80:0::0001' in 'network.neighbours'");
        _cleanup_free_ char *dup4 =
                load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [192.0.2.1, 192.0.2.1]\n");
        assert_string_equal(dup4, "t.yaml:9:27: error: duplicate address '192.0.2.1' in 'network.neighbours'");
        /* Not an address. */
        _cleanup_free_ char *name = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [router]\n");
        assert_string_equal(name, "t.yaml:9:16: error: invalid IP address 'router' for 'network.neighbours[0]'");
        _cleanup_free_ char *zone =
                load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [\"fe80::1%eth0\"]\n");
        assert_string_equal(zone, "t.yaml:9:16: error: invalid IP address 'fe80::1%eth0' for 'network.neighbours[0]'");
        _cleanup_free_ char *num = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [1]\n");
        assert_string_equal(num, "t.yaml:9:16: error: invalid IP address '1' for 'network.neighbours[0]'");
        /* The wrong type. */
        _cleanup_free_ char *scalar = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: 192.0.2.1\n");
        assert_string_equal(scalar, "t.yaml:9:15: error: 'network.neighbours' must be a list, got a single value");
        _cleanup_free_ char *map =
                load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: {router: 192.0.2.1}\n");
        assert_string_equal(map, "t.yaml:9:15: error: 'network.neighbours' must be a list, got a mapping");
        _cleanup_free_ char *nested =
                load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [[192.0.2.1]]\n");
        assert_string_equal(nested, "t.yaml:9:16: error: 'network.neighbours[0]' must be a single value, got a list");
        _cleanup_free_ char *nothing = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours:\n");
        assert_string_equal(nothing, "t.yaml:9:14: error: 'network.neighbours' must be a list, got nothing");
        _cleanup_free_ char *empty = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: []\n");
        assert_string_equal(empty, "t.yaml:9:15: error: 'network.neighbours' must not be empty");
        /* The American spelling is a misspelling, not a synonym. */
        _cleanup_free_ char *us = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbors: [192.0.2.1]\n");
        assert_string_equal(us, "t.yaml:9:3: error: unknown key 'neighbors' in 'network' (did you mean 'neighbours'?)");
        /* Given twice. */
        _cleanup_free_ char *twice = load_bad_with("network:\n  addresses: [192.0.2.2]\n  neighbours: [192.0.2.1]\n"
                                                   "  neighbours: [192.0.2.3]\n");
        assert_string_equal(twice, "t.yaml:10:3: error: duplicate key 'neighbours' in 'network' (first at line 9, "
                                   "column 3)");
}

static void test_neighbours_limit(void **state) {
        (void) state;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        fprintf(f, "network:\n  addresses: [192.0.2.2]\n  neighbours:\n");
        for (int i = 0; i < ECL_ADDRESSES_MAX; i++)
                fprintf(f, i % 2 ? "    - \"fe80::%x\"\n" : "    - 192.0.2.%d\n", 100 + i);
        fclose(f);
        _cleanup_manifest_ struct ecl_manifest *m = load_ok_with(text);
        assert_int_equal(m->network.n_neighbours, ECL_ADDRESSES_MAX);
        assert_cidr(&m->network.neighbours[0], AF_INET, "192.0.2.100/32");
        assert_cidr(&m->network.neighbours[ECL_ADDRESSES_MAX - 1], AF_INET6, "fe80::73/128");
        free(text);
        text = NULL;
        f = open_memstream(&text, &size);
        fprintf(f, "network:\n  addresses: [192.0.2.2]\n  neighbours:\n");
        for (int i = 0; i <= ECL_ADDRESSES_MAX; i++)
                fprintf(f, "    - 192.0.2.%d\n", 100 + i);
        fclose(f);
        _cleanup_free_ char *out = load_bad_with(text);
        assert_string_equal(out, "t.yaml:10:5: error: 'network.neighbours' has too many entries (17, at most 16)");
        free(text);
}

/* Invariant 1: the files the VM opens lie in the stack's own tree, whichever comes first, stack or vm. */
int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ports_overlap_and_adjacent),
                cmocka_unit_test(test_network_needs_addresses),
                cmocka_unit_test(test_addresses_limit),
                cmocka_unit_test(test_neighbours),
                cmocka_unit_test(test_neighbours_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
