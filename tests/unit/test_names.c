/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "names.h"
#include "testlib.h"

static void test_tap_names_fit_and_are_stable(void **state) {
        (void) state;
        char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ], d[IFNAMSIZ];
        shim_tap_name("office", 0, a);
        assert_string_equal(a, "ecl-office");
        shim_tap_name("abcdefghijk", 0, b); /* 11 characters: still fits */
        assert_string_equal(b, "ecl-abcdefghijk");
        shim_tap_name("a-very-long-stack-name-of-31-ch", 0, c);
        assert_int_equal(strlen(c), 15);
        assert_memory_equal(c, "ecl-a-very-", 11);
        shim_tap_name("a-very-long-stack-name-of-31-ch", 0, d);
        assert_string_equal(c, d);
        /* Two long names with the same prefix differ by their hash. */
        shim_tap_name("a-very-long-stack-name-of-31-cx", 0, d);
        assert_string_not_equal(c, d);
        shim_tap_name("office", 1, a);
        assert_string_equal(a, "ecl-office1");
        shim_tap_name("abcdefghijk", 2, b);
        assert_int_equal(strlen(b), 15);
        assert_int_equal(b[14], '2');
}

static void test_mac_derived_or_given(void **state) {
        (void) state;
        struct ecl_manifest m = {.stack = (char *) "office"};
        uint8_t mac[6], again[6];
        shim_guest_mac(&m, mac);
        shim_guest_mac(&m, again);
        assert_memory_equal(mac, again, 6);
        assert_int_equal(mac[0], 0x52);
        assert_int_equal(mac[1], 0x54);
        assert_int_equal(mac[2], 0x00);
        m.has_network = true;
        m.network.has_mac = true;
        memcpy(m.network.mac, "\x52\x54\x00\x12\x34\x56", 6);
        shim_guest_mac(&m, mac);
        assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56", 6);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tap_names_fit_and_are_stable),
                cmocka_unit_test(test_mac_derived_or_given),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
