/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "rfc3339.h"
#include "testlib.h"

static void test_format(void **state) {
        (void) state;
        char s[ECL_RFC3339_LEN + 1];
        assert_int_equal(ecl_rfc3339_format(0, s), 0);
        assert_string_equal(s, "1970-01-01T00:00:00Z");
        assert_int_equal(ecl_rfc3339_format(1709208000, s), 0); /* 2024-02-29 12:00 UTC */
        assert_string_equal(s, "2024-02-29T12:00:00Z");
        assert_true(ecl_rfc3339_is_utc_seconds(s, strlen(s)));
}

static void test_parse(void **state) {
        (void) state;
        time_t t;
        const char *ok[] = {"2024-02-29T12:00:00Z", "2024-02-29T13:00:00+01:00", "2024-02-29T11:30:00-00:30",
                            "2024-02-29T12:00:00.123456Z", "2024-02-29t12:00:00z"};
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                assert_int_equal(ecl_rfc3339_parse(ok[i], strlen(ok[i]), &t), 0);
                assert_int_equal(t, 1709208000);
        }
        const char *bad[] = {"2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
                             "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2024-01-01 00:00:00Z",
                             "2024-01-01T00:00:00", "2024-01-01T00:00:00Zx", "2024-01-01T00:00:00+0100",
                             "2024-01-01T00:00:00.Z", "24-01-01T00:00:00Z", "2024-04-31T00:00:00Z", ""};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(ecl_rfc3339_parse(bad[i], strlen(bad[i]), &t), -EINVAL);
        assert_true(ecl_rfc3339_is_utc_seconds("2000-02-29T00:00:00Z", 20));
        assert_false(ecl_rfc3339_is_utc_seconds("1900-02-29T00:00:00Z", 20));
        assert_false(ecl_rfc3339_is_utc_seconds("2024-02-29T12:00:00.1Z", 22));
        assert_false(ecl_rfc3339_is_utc_seconds("2024-02-29T12:00:00+00:00", 25));
        assert_false(ecl_rfc3339_is_utc_seconds("2024-02-29t12:00:00Z", 20));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
