/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "netaddr.h"
#include "testlib.h"

static void assert_cidr_text(const char *in, int r, const char *out) {
        struct ecl_cidr c = {0};
        char buf[ECL_CIDR_STRLEN];
        int got = ecl_cidr_parse(in, &c);
        if (got != r)
                fail_msg("%s: %d, expected %d", in, got, r);
        if (out)
                assert_string_equal(ecl_cidr_format(&c, buf, sizeof buf), out);
}

static void test_cidr(void **state) {
        (void) state;
        assert_cidr_text("192.0.2.1", 0, "192.0.2.1/32");
        assert_cidr_text("192.0.2.0/24", 0, "192.0.2.0/24");
        assert_cidr_text("0.0.0.0/0", 0, "0.0.0.0/0");
        assert_cidr_text("2001:db8::/32", 0, "2001:db8::/32");
        assert_cidr_text("2001:DB8::1", 0, "2001:db8::1/128");
        assert_cidr_text("::/0", 0, "::/0");
        assert_cidr_text("10.1.2.3/8", -EADDRNOTAVAIL, "10.0.0.0/8"); /* the network, for the hint */
        assert_cidr_text("10.1.2.3/31", -EADDRNOTAVAIL, "10.1.2.2/31");
        assert_cidr_text("2001:db8::1/64", -EADDRNOTAVAIL, "2001:db8::/64");
        assert_cidr_text("2001:db8:ffff::/33", -EADDRNOTAVAIL, "2001:db8:8000::/33");
        assert_cidr_text("192.0.2.0/33", -ERANGE, NULL);
        assert_cidr_text("::/129", -ERANGE, NULL);
        assert_cidr_text("192.0.2.0/999999999999999999999", -ERANGE, NULL);
        static const char *const bad[] = {"", "/", "/24", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/+8",
                                          "192.0.2.0/08", "192.0.2.0/ 8", "192.0.2", "192.0.2.256", "01.2.3.4",
                                          "1.2.3.4.5", " 1.2.3.4", "1.2.3.4 ", "fe80::1%eth0", "2001:db8::g",
                                          ":::", "host.example", "192.0.2.0/24/1", "0x7f.0.0.1"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_cidr_text(bad[i], -EINVAL, NULL);
        struct ecl_cidr a, b;
        assert_int_equal(ecl_cidr_parse("2001:db8::2", &a), 0);
        assert_int_equal(ecl_cidr_parse("2001:DB8:0::2/128", &b), 0);
        assert_true(ecl_cidr_equal(&a, &b));
        assert_int_equal(ecl_cidr_parse("2001:db8::2/127", &b), 0); /* same bits, other prefix */
        assert_false(ecl_cidr_equal(&a, &b));
}

static void test_ip(void **state) {
        (void) state;
        struct ecl_cidr c;
        assert_int_equal(ecl_ip_parse("198.51.100.7", &c), 0);
        assert_int_equal(c.family, AF_INET);
        assert_int_equal(c.prefix, 32);
        static const uint8_t v4[4] = {198, 51, 100, 7};
        assert_memory_equal(c.addr, v4, 4);
        assert_int_equal(ecl_ip_parse("::1", &c), 0);
        assert_int_equal(c.family, AF_INET6);
        assert_int_equal(c.prefix, 128);
        assert_int_equal(c.addr[15], 1);
        assert_int_equal(ecl_ip_parse("198.51.100.0/24", &c), -EINVAL);
        assert_int_equal(ecl_ip_parse("", &c), -EINVAL);
}

static void assert_ports(const char *in, int r, unsigned first, unsigned last) {
        struct ecl_port_range p = {0};
        int got = ecl_port_range_parse(in, &p);
        if (got != r)
                fail_msg("%s: %d, expected %d", in, got, r);
        if (r == 0) {
                assert_int_equal(p.first, first);
                assert_int_equal(p.last, last);
        }
}

static void test_ports(void **state) {
        (void) state;
        assert_ports("443", 0, 443, 443);
        assert_ports("1", 0, 1, 1);
        assert_ports("65535", 0, 65535, 65535);
        assert_ports("8000-8080", 0, 8000, 8080);
        assert_ports("1-65535", 0, 1, 65535);
        assert_ports("22-22", 0, 22, 22);
        assert_ports("0", -ERANGE, 0, 0);
        assert_ports("65536", -ERANGE, 0, 0);
        assert_ports("0-10", -ERANGE, 0, 0);
        assert_ports("60000-70000", -ERANGE, 0, 0);
        assert_ports("99999999999999999999999", -ERANGE, 0, 0);
        assert_ports("8080-8000", -EDOM, 0, 0);
        static const char *const bad[] = {"", "-", "-1", "80-", "-80", "80--90", "80-90-100", "080", "80 ", " 80",
                                          "0x50", "https", "80,443", "1e3", "+80"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_ports(bad[i], -EINVAL, 0, 0);
        struct ecl_port_range p;
        assert_int_equal(ecl_port_parse_number(1, &p), 0);
        assert_int_equal(ecl_port_parse_number(65535, &p), 0);
        assert_int_equal(p.first, 65535);
        assert_int_equal(ecl_port_parse_number(0, &p), -ERANGE);
        assert_int_equal(ecl_port_parse_number(-1, &p), -ERANGE);
        assert_int_equal(ecl_port_parse_number(65536, &p), -ERANGE);
        struct ecl_port_range a = {10, 20}, b = {20, 30}, c = {21, 21}, d = {1, 9};
        assert_true(ecl_port_ranges_overlap(&a, &b));
        assert_true(ecl_port_ranges_overlap(&b, &a));
        assert_false(ecl_port_ranges_overlap(&a, &c));
        assert_false(ecl_port_ranges_overlap(&d, &a));
        assert_true(ecl_port_ranges_overlap(&b, &c));
}

static void test_mac(void **state) {
        (void) state;
        uint8_t m[6];
        static const uint8_t expect[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
        assert_int_equal(ecl_mac_parse("52:54:00:ab:cd:ef", m), 0);
        assert_memory_equal(m, expect, 6);
        assert_int_equal(ecl_mac_parse("52:54:00:AB:Cd:eF", m), 0);
        assert_memory_equal(m, expect, 6);
        assert_int_equal(ecl_mac_parse("02:00:00:00:00:01", m), 0); /* locally administered unicast */
        assert_int_equal(ecl_mac_parse("01:00:5e:00:00:01", m), -EADDRNOTAVAIL);
        assert_int_equal(ecl_mac_parse("ff:ff:ff:ff:ff:ff", m), -EADDRNOTAVAIL);
        assert_int_equal(ecl_mac_parse("33:33:00:00:00:01", m), -EADDRNOTAVAIL);
        assert_int_equal(ecl_mac_parse("00:00:00:00:00:00", m), -EADDRNOTAVAIL);
        static const char *const bad[] = {"", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52-54-00-ab-cd-ef",
                                          "5254.00ab.cdef", "52:54:00:ab:cd:eg", "52:54:00:ab:cd:e", "525400abcdef",
                                          "52:54:00:ab:cd:ef "};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(ecl_mac_parse(bad[i], m), -EINVAL);
}

static void test_ifname(void **state) {
        (void) state;
        assert_true(ecl_ifname_valid("ecl-br0"));
        assert_true(ecl_ifname_valid("br0.100"));
        assert_true(ecl_ifname_valid("a"));
        assert_true(ecl_ifname_valid("a_b-c.D"));
        assert_true(ecl_ifname_valid("123456789012345"));
        assert_false(ecl_ifname_valid("1234567890123456"));
        assert_false(ecl_ifname_valid(""));
        assert_false(ecl_ifname_valid("."));
        assert_false(ecl_ifname_valid(".."));
        assert_false(ecl_ifname_valid("br 0"));
        assert_false(ecl_ifname_valid("br/0"));
        assert_false(ecl_ifname_valid("br:0"));
        assert_false(ecl_ifname_valid("bré"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cidr), cmocka_unit_test(test_ip),    cmocka_unit_test(test_ports),
                cmocka_unit_test(test_mac),  cmocka_unit_test(test_ifname),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
