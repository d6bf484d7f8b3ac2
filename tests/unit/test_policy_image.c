/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy-image.c on libnftables 1.0.6's own output (the load's netlink debug
 * lines and a listing's), without a kernel: what compares equal, and the
 * problem named for each difference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy-image-compare.h"
#include "policy-image.h"

/* One base chain, one fixed set (counted), one flow set, one grant set. */
static const char *set_types4[] = {"ipv4_addr"};
static const char *grant_types[] = {"ipv4_addr", "inet_proto", "inet_service"};

struct fixture {
        struct pol_set sets[3];
        struct pol_chain chains[2];
        struct pol_table t;
};

static struct pol_table *table(struct fixture *f) {
        *f = (struct fixture){0};
        struct pol_set *sets = f->sets;
        struct pol_chain *chains = f->chains;
        struct pol_table *t = &f->t;
        strcpy(t->name, "ecluse-t");
        strcpy(t->device, "ecl-t");
        strcpy(t->uplink, "ecu-t");
        strcpy(sets[0].name, "out4_0");
        sets[0].type[0] = set_types4[0];
        sets[0].n_type = 1;
        sets[0].flags = PSF_INTERVAL;
        sets[0].counter = true;
        strcpy(sets[1].name, "flows_out4");
        sets[1].type[0] = set_types4[0];
        sets[1].n_type = 1;
        sets[1].flags = PSF_DYNAMIC | PSF_TIMEOUT;
        sets[1].timeout_s = 120;
        sets[1].size = 65536;
        strcpy(sets[2].name, "grant_out4");
        for (size_t i = 0; i < 3; i++)
                sets[2].type[i] = grant_types[i];
        sets[2].n_type = 3;
        sets[2].flags = PSF_INTERVAL | PSF_TIMEOUT;
        sets[2].counter = true;
        strcpy(chains[0].name, "guest_out");
        chains[0].hook = "ingress";
        chains[0].prio = -500;
        chains[0].policy_drop = true;
        strcpy(chains[1].name, "drop_out");
        t->sets = sets;
        t->n_sets = 3;
        t->chains = chains;
        t->n_chains = 2;
        return t;
}

/* What the load prints (NFT_DEBUG_NETLINK). */
static const char load_debug[] =
        "netdev (null) (null) use 0 type filter hook ingress prio -500 packets 0 bytes 0 dev ecl-t \n"
        "netdev (null) (null) use 0\n"
        "out4_0 ecluse-t 4\n"
        "out4_0 ecluse-t 0\n"
        "\telement 00000000  : 1 [end]\telement 0100630a  : 0 [end]\telement 0200630a  : 1 [end]\n"
        "flows_out4 ecluse-t 30 timeout 120000ms size 65536\n"
        "grant_out4 ecluse-t 94\n"
        "__set%d ecluse-t 3 size 2\n"
        "__set%d ecluse-t 0\n"
        "\telement 00000008  : 0 [end]\telement 0000dd86  : 0 [end]\n"
        "netdev ecluse-t guest_out\n"
        "  [ meta load protocol => reg 1 ]\n"
        "  [ lookup reg 1 set __set%d ]\n"
        "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
        "  [ lookup reg 1 set out4_0 ]\n"
        "  [ dynset update reg_key 1 set flows_out4 ]\n"
        "  [ counter pkts 0 bytes 0 ]\n"
        "  [ immediate reg 0 accept ]\n"
        "  userdata = { \\x00\\x09ecluse 1\\x00 }\n"
        "netdev ecluse-t drop_out\n"
        "  [ counter pkts 0 bytes 0 ]\n"
        "  [ immediate reg 0 drop ]\n"
        "  userdata = { \\x00\\x09ecluse 2\\x00 }\n";

/* What `list table` prints with NFT_DEBUG_NETLINK and NFT_CTX_OUTPUT_TERSE: the same table, used. */
static const char listing_head[] =
        "netdev ecluse-t @out4_0\n"
        "\telement 0200630a  : 1 [end]\n"
        "\telement 0100630a  : 0 [end]\n"
        "\telement 00000000  : 1 [end]\n"
        "netdev ecluse-t @flows_out4\n"
        "\telement 0900000a  : 0 [end]\n"
        "netdev ecluse-t @grant_out4\n"
        "%s" /* grant elements */
        "netdev ecluse-t @__set0\n"
        "\telement 0000dd86  : 0 [end]\n"
        "\telement 00000008  : 0 [end]\n"
        "netdev ecluse-t guest_out 7\n"
        "  [ meta load protocol => reg 1 ]\n"
        "  [ lookup reg 1 set __set0 0x0 ]\n"
        "  [ payload load 4b @ network header + %s => reg 1 ]\n"
        "  [ lookup reg 1 set out4_0 0x0 ]\n"
        "  [ dynset update reg_key 1 set flows_out4 timeout 0ms ]\n"
        "  [ counter pkts 12 bytes 3400 ]\n"
        "  [ immediate reg 0 accept ]\n"
        "  userdata = { \\x00\\x09ecluse 1\\x00 }\n"
        "netdev ecluse-t drop_out 8\n"
        "  [ counter pkts 3 bytes 180 ]\n"
        "  [ immediate reg 0 drop ]\n"
        "  userdata = { \\x00\\x09ecluse 2\\x00 }\n"
        "table netdev ecluse-t {\n"
        "%s" /* table lines */
        "\tset out4_0 {\n"
        "\t\ttype ipv4_addr\n"
        "\t\tflags %s\n"
        "\t\tcounter\n"
        "\t}\n"
        "\n"
        "\tset flows_out4 {\n"
        "\t\ttype ipv4_addr\n"
        "\t\tsize 65536\n"
        "\t\tflags dynamic,timeout\n"
        "\t\ttimeout 2m\n"
        "\t}\n"
        "\n"
        "\tset grant_out4 {\n"
        "\t\ttype ipv4_addr . inet_proto . inet_service\n"
        "\t\tflags interval,timeout\n"
        "\t\tcounter\n"
        "\t}\n"
        "\n"
        "\tchain guest_out {\n"
        "\t\ttype filter hook ingress device \"%s\" priority -500; policy drop;\n"
        "\t\tmeta protocol { ip, ip6 } ip daddr @out4_0 update @flows_out4 { ip daddr } counter packets 12 bytes 3400 accept comment \"ecluse 1\"\n"
        "\t}\n"
        "\n"
        "\tchain drop_out {\n"
        "\t\tcounter packets 3 bytes 180 drop comment \"ecluse 2\"\n"
        "\t}\n"
        "%s" /* more chains */
        "}\n";

struct variant {
        const char *grant, *offset, *table_lines, *flags, *device, *chains;
};

static int compare(const struct variant *v, char **problem) {
        struct fixture f;
        struct pol_image *want = NULL, *have = NULL;
        assert_int_equal(pol_image_expect(table(&f), load_debug, &want, NULL), 0);
        char *listing = NULL;
        assert_true(asprintf(&listing, listing_head, v->grant ? v->grant : "", v->offset ? v->offset : "16",
                             v->table_lines ? v->table_lines : "", v->flags ? v->flags : "interval",
                             v->device ? v->device : "ecl-t", v->chains ? v->chains : "") > 0);
        assert_int_equal(pol_image_parse_listing(want, listing, &have, NULL), 0);
        int r = pol_image_compare(want, have, problem);
        free(listing);
        pol_image_free(want);
        pol_image_free(have);
        return r;
}

static void expect(const struct variant *v, const char *a, const char *b) {
        char *problem = NULL;
        assert_int_equal(compare(v, &problem), -ESRCH);
        assert_non_null(problem);
        assert_non_null(strstr(problem, a));
        if (b)
                assert_non_null(strstr(problem, b));
        free(problem);
}

static void test_the_same_table_compares_equal(void **state) {
        (void) state;
        /* counters counted, handles, the anonymous set's name and the order of elements: all as loaded */
        char *problem = NULL;
        assert_int_equal(compare(&(struct variant){0}, &problem), 0);
        assert_null(problem);
}

static void test_each_difference_is_named(void **state) {
        (void) state;
        expect(&(struct variant){.offset = "12"}, "chain guest_out, rule \"ecluse 1\": expression differs",
               "network header + 12");
        expect(&(struct variant){.table_lines = "\tflags dormant\n"}, "flags dormant", NULL);
        expect(&(struct variant){.grant = "\telement 0100000a 00000006 00001600  : 0 [end]\n"}, "grant set grant_out4",
               "did not grant");
        expect(&(struct variant){.flags = "constant,interval"}, "set out4_0", "constant,interval");
        expect(&(struct variant){.device = "eth0"}, "chain guest_out is not on device ecl-t", NULL);
        expect(&(struct variant){.chains = "\n\tchain extra {\n\t\ttype filter hook ingress device \"ecl-t\" priority "
                                           "-600; policy accept;\n\t}\n"},
               "chain extra is not the policy's", "policy accept");
}

static void test_elements_named_as_addresses(void **state) {
        (void) state;
        struct fixture f;
        struct pol_image *want = NULL, *have = NULL;
        assert_int_equal(pol_image_expect(table(&f), load_debug, &want, NULL), 0);
        char *listing = NULL;
        assert_true(asprintf(&listing, listing_head, "", "16", "", "interval", "ecl-t", "") > 0);
        /* 10.99.0.1 replaced by 10.99.0.7: the start of an interval is named */
        char *p = strstr(listing, "\telement 0100630a  : 0");
        assert_non_null(p);
        memcpy(p + strlen("\telement "), "0700630a", 8);
        assert_int_equal(pol_image_parse_listing(want, listing, &have, NULL), 0);
        char *problem = NULL;
        assert_int_equal(pol_image_compare(want, have, &problem), -ESRCH);
        assert_non_null(strstr(problem, "set out4_0 holds 10.99.0.7"));
        free(problem);
        free(listing);
        pol_image_free(want);
        pol_image_free(have);
}

/* Replace from by to in text (once); the result is allocated. */
static char *replaced(const char *text, const char *from, const char *to) {
        const char *p = strstr(text, from);
        assert_non_null(p);
        char *r = NULL;
        assert_true(asprintf(&r, "%.*s%s%s", (int) (p - text), text, to, p + strlen(from)) > 0);
        return r;
}

/* An interval's end sent twice (libnftables 1.0.6 does, at some ends): the kernel holds it once. */
static void test_elements_sent_twice_are_held_once(void **state) {
        (void) state;
        struct fixture f;
        char *debug = replaced(load_debug, "\telement 0200630a  : 1 [end]\n",
                               "\telement 0200630a  : 1 [end]\telement 0200630a  : 1 [end]\n");
        char *head = replaced(listing_head, "@out4_0\n", "@out4_0\n");
        char *listing = NULL;
        assert_true(asprintf(&listing, head, "", "16", "", "interval", "ecl-t", "") > 0);
        struct pol_image *want = NULL, *have = NULL;
        assert_int_equal(pol_image_expect(table(&f), debug, &want, NULL), 0);
        assert_int_equal(pol_image_parse_listing(want, listing, &have, NULL), 0);
        char *problem = NULL;
        assert_int_equal(pol_image_compare(want, have, &problem), 0);
        assert_null(problem);
        free(debug), free(head), free(listing);
        pol_image_free(want);
        pol_image_free(have);
}

static void test_output_not_libnftables_is_refused(void **state) {
        (void) state;
        struct fixture f;
        struct pol_image *img = NULL;
        assert_int_equal(pol_image_expect(table(&f), "something else\n", &img, NULL), -EBADMSG);
        assert_int_equal(pol_image_expect(table(&f), "  [ counter ]\n", &img, NULL), -EBADMSG);
        assert_int_equal(pol_image_expect(table(&f), "nosuchset ecluse-t 4\n", &img, NULL), -EBADMSG);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(pol_image_expect(table(&f), "something \x1b else\n", &img, &why), -EBADMSG);
        assert_string_equal(why, "nftables output: unexpected line: something ? else");
        assert_null(img);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_same_table_compares_equal),
                cmocka_unit_test(test_each_difference_is_named),
                cmocka_unit_test(test_elements_named_as_addresses),
                cmocka_unit_test(test_elements_sent_twice_are_held_once),
                cmocka_unit_test(test_output_not_libnftables_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
