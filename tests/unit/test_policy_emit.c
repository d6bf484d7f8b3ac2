/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two emitters (shim/policy-emit.c) and shim_policy_render: libnftables
 * JSON for loading and nft text for display, from the same rule list.
 * (Loading both into a kernel and comparing is in tests/interop/test_policy_nft.c.)
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "policy-build.h"
#include "policy-emit.h"
#include "policy-ir.h"
#include "policy.h"
#include "testlib.h"

struct fixture {
        struct ecl_port_range ports[2];
        struct ecl_rule egress[2], ingress[1];
        struct ecl_cidr addrs[2];
        struct ecl_manifest m;
};

static void cidr(struct ecl_cidr *c, const char *addr, unsigned prefix) {
        c->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(c->family, addr, c->addr), 1);
        c->prefix = (uint8_t) prefix;
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        f->ports[0] = (struct ecl_port_range){443, 443};
        f->ports[1] = (struct ecl_port_range){8000, 8080};
        cidr(&f->egress[0].net, "192.0.2.0", 24);
        f->egress[0].proto = ECL_PROTO_TCP, f->egress[0].ports = f->ports, f->egress[0].n_ports = 2;
        cidr(&f->egress[1].net, "2001:db8::10", 128);
        f->egress[1].proto = ECL_PROTO_ICMPV6;
        cidr(&f->ingress[0].net, "198.51.100.0", 24);
        f->ingress[0].proto = ECL_PROTO_TCP, f->ingress[0].ports = f->ports, f->ingress[0].n_ports = 1;
        cidr(&f->addrs[0], "192.0.2.2", 32);
        cidr(&f->addrs[1], "2001:db8::2", 128);
        f->m.stack = (char *) "office";
        f->m.has_network = true;
        f->m.network.has_mac = true;
        memcpy(f->m.network.mac, "\x52\x54\x00\x12\x34\x56", 6);
        f->m.network.addresses = f->addrs, f->m.network.n_addresses = 2;
        f->m.network.egress = f->egress, f->m.network.n_egress = 2;
        f->m.network.ingress = f->ingress, f->m.network.n_ingress = 1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        free(*state);
        return 0;
}

static void test_text_has_default_drop_chains_and_counters(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *text = NULL;
        assert_int_equal(shim_policy_render(&f->m, &text, NULL), 0);
        assert_memory_equal(text, "table netdev ecluse-office {\n", 29);
        assert_non_null(strstr(text, "\tchain guest_out {\n\t\ttype filter hook ingress device \"ecl-office\" priority -500; policy drop;\n"));
        assert_non_null(strstr(text, "\tchain guest_in {\n\t\ttype filter hook ingress device \"ecu-office\" priority -500; policy drop;\n"));
        assert_non_null(strstr(text, "ether saddr != 52:54:00:12:34:56 counter goto drop_out"));
        assert_non_null(strstr(text, "meta l4proto tcp th dport { 443, 8000-8080 } ip daddr @out4_0 update @flows_out4"));
        assert_non_null(strstr(text, "elements = { 192.0.2.0/24 }"));
        assert_non_null(strstr(text, "elements = { 2001:db8::10 }"));
        assert_non_null(strstr(text, "ip saddr != @guest_addrs4 counter goto drop_out"));
        /* Every rule line counts. */
        size_t rules = 0;
        for (char *l = text; (l = strstr(l, " comment \"ecluse ")); l++) {
                char *start = l;
                while (start > text && start[-1] != '\n')
                        start--;
                char *c = strstr(start, "counter");
                assert_true(c && c < l);
                rules++;
        }
        assert_true(rules > 20);
}

static void test_render_without_network_says_so(void **state) {
        (void) state;
        struct ecl_manifest m = {.stack = (char *) "office"};
        _cleanup_free_ char *text = NULL;
        assert_int_equal(shim_policy_render(&m, &text, NULL), 0);
        assert_non_null(strstr(text, "no network"));
}

/* "add rule", "delete table"...; *obj the inner object. */
static const char *cmd_kind(json_t *cmd, json_t **obj, char buf[static 32]) {
        const char *verb = json_object_iter_key(json_object_iter(cmd));
        json_t *inner = json_object_get(cmd, verb);
        const char *kind = json_object_iter_key(json_object_iter(inner));
        *obj = json_object_get(inner, kind);
        snprintf(buf, 32, "%s %s", verb, kind);
        return buf;
}

static void test_json_replaces_the_table_in_one_batch(void **state) {
        struct fixture *f = *state;
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&f->m, &t, NULL), 0);
        _cleanup_free_ char *s = NULL;
        assert_int_equal(pol_emit_json(t, &s), 0);
        json_error_t err;
        json_t *root = json_loads(s, 0, &err);
        assert_non_null(root);
        json_t *cmds = json_object_get(root, "nftables"), *o;
        char kb[32];
        assert_true(json_array_size(cmds) > 3);
        assert_string_equal(cmd_kind(json_array_get(cmds, 0), &o, kb), "add table");
        assert_string_equal(cmd_kind(json_array_get(cmds, 1), &o, kb), "delete table");
        assert_string_equal(json_string_value(json_object_get(o, "name")), "ecluse-office");
        assert_string_equal(json_string_value(json_object_get(o, "family")), "netdev");
        assert_string_equal(cmd_kind(json_array_get(cmds, 2), &o, kb), "add table");
        size_t i, rules = 0, chains = 0, base = 0;
        json_t *c;
        json_array_foreach(cmds, i, c) {
                const char *k = cmd_kind(c, &o, kb);
                if (strcmp(k, "add chain") == 0) {
                        chains++;
                        if (json_object_get(o, "hook")) {
                                base++;
                                const char *name = json_string_value(json_object_get(o, "name"));
                                bool uplink = strcmp(name, "guest_in") == 0 || strcmp(name, "guard_uplink") == 0;
                                assert_string_equal(json_string_value(json_object_get(o, "dev")),
                                                    uplink ? "ecu-office" : "ecl-office");
                                assert_string_equal(json_string_value(json_object_get(o, "policy")), "drop");
                                assert_int_equal(json_integer_value(json_object_get(o, "prio")), -500);
                        }
                } else if (strcmp(k, "add rule") == 0) {
                        /* after every chain, each with a counter statement and its comment */
                        assert_int_equal(chains, 15);
                        assert_string_equal(json_string_value(json_object_get(o, "comment")), t->rules[rules].comment);
                        rules++;
                        bool counter = false;
                        size_t j;
                        json_t *x;
                        json_array_foreach(json_object_get(o, "expr"), j, x) counter |= json_is_null(json_object_get(x, "counter"));
                        assert_true(counter);
                } else if (strcmp(k, "add set") == 0) {
                        json_t *type = json_object_get(o, "type");
                        const char *name = json_string_value(json_object_get(o, "name"));
                        if (strcmp(name, "out4_0") == 0) {
                                assert_string_equal(json_string_value(type), "ipv4_addr");
                                json_t *el = json_array_get(json_object_get(o, "elem"), 0);
                                assert_string_equal(json_string_value(json_object_get(json_object_get(el, "prefix"), "addr")), "192.0.2.0");
                                assert_int_equal(json_integer_value(json_object_get(json_object_get(el, "prefix"), "len")), 24);
                        }
                        if (strcmp(name, "flows4") == 0)
                                assert_int_equal(json_array_size(type), 4);
                }
        }
        assert_int_equal(base, 4); /* guest_out, guest_in, guard_tap, guard_uplink */
        assert_int_equal(rules, t->n_rules);
        json_decref(root);
}

/* The text form holds the same rules, in the same order, as the JSON form. */
static void test_text_and_json_list_the_same_rules(void **state) {
        struct fixture *f = *state;
        _cleanup_pol_table_ struct pol_table *t = NULL;
        assert_int_equal(pol_build(&f->m, &t, NULL), 0);
        _cleanup_free_ char *text = NULL, *js = NULL;
        assert_int_equal(pol_emit_text(t, &text), 0);
        assert_int_equal(pol_emit_json(t, &js), 0);
        json_error_t err;
        json_t *root = json_loads(js, 0, &err);
        assert_non_null(root);
        /* Rule i of a chain in the JSON is line i of that chain in the text. */
        for (size_t k = 0; k < t->n_chains; k++) {
                char head[64];
                snprintf(head, sizeof head, "\tchain %s {\n", t->chains[k].name);
                const char *p = strstr(text, head);
                char kb[32];
                assert_non_null(p);
                size_t i;
                json_t *c, *o;
                json_array_foreach(json_object_get(root, "nftables"), i, c) {
                        if (strcmp(cmd_kind(c, &o, kb), "add rule") != 0 ||
                            strcmp(json_string_value(json_object_get(o, "chain")), t->chains[k].name) != 0)
                                continue;
                        char want[64];
                        snprintf(want, sizeof want, "comment \"%s\"\n", json_string_value(json_object_get(o, "comment")));
                        const char *q = strstr(p, want), *end = strstr(p, "\n\t}\n");
                        assert_non_null(q);
                        assert_true(q < end);
                        p = q;
                }
        }
        json_decref(root);
}

static void test_ipv6_and_mac_formats(void **state) {
        (void) state;
        struct pol_table t = {.name = "ecluse-x", .device = "ecl-x"};
        struct pol_chain ch = {"guest_out", "ingress", -500, true, false};
        struct pol_rule r = {.chain = "guest_out", .comment = "ecluse 1", .n = 4};
        r.s[0] = (struct pol_stmt){.kind = PS_MATCH, .key = {{PF_IP6_DADDR}, 1}, .rhs = PR_VALUE};
        r.s[0].val.kind = PV_CIDR;
        cidr(&r.s[0].val.cidr, "2001:db8::", 48);
        r.s[1] = (struct pol_stmt){.kind = PS_MATCH, .key = {{PF_ETHER_DADDR}, 1}, .negate = true, .rhs = PR_VALUE};
        r.s[1].val = (struct pol_val){.kind = PV_MAC, .mac = {0xaa, 0xbb, 0xcc, 0x0d, 0x0e, 0x0f}};
        r.s[2] = (struct pol_stmt){.kind = PS_COUNTER};
        r.s[3] = (struct pol_stmt){.kind = PS_VERDICT, .verdict = "accept"};
        t.chains = &ch, t.n_chains = 1, t.rules = &r, t.n_rules = 1;
        _cleanup_free_ char *text = NULL, *js = NULL;
        assert_int_equal(pol_emit_text(&t, &text), 0);
        assert_non_null(strstr(text, "\t\tip6 daddr 2001:db8::/48 ether daddr != aa:bb:cc:0d:0e:0f counter accept comment \"ecluse 1\"\n"));
        assert_int_equal(pol_emit_json(&t, &js), 0);
        assert_non_null(strstr(js, "{\"prefix\":{\"addr\":\"2001:db8::\",\"len\":48}}"));
        assert_non_null(strstr(js, "\"op\":\"!=\""));
        assert_non_null(strstr(js, "\"right\":\"aa:bb:cc:0d:0e:0f\""));
        assert_non_null(strstr(js, "{\"accept\":null}"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_has_default_drop_chains_and_counters),
                cmocka_unit_test(test_render_without_network_says_so),
                cmocka_unit_test(test_json_replaces_the_table_in_one_batch),
                cmocka_unit_test(test_text_and_json_list_the_same_rules),
                cmocka_unit_test(test_ipv6_and_mac_formats),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
