/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "strparse.h"
#include "testlib.h"

static void test_int(void **state) {
        (void) state;
        int64_t v;
        assert_int_equal(ecl_parse_int("0", 0, 10, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(ecl_parse_int("64", 1, 64, &v), 0);
        assert_int_equal(v, 64);
        assert_int_equal(ecl_parse_int("-5", -10, 10, &v), 0);
        assert_int_equal(v, -5);
        assert_int_equal(ecl_parse_int("9223372036854775807", 0, INT64_MAX, &v), 0);
        assert_int_equal(v, INT64_MAX);
        assert_int_equal(ecl_parse_int("65", 1, 64, &v), -ERANGE);
        assert_int_equal(ecl_parse_int("0", 1, 64, &v), -ERANGE);
        assert_int_equal(ecl_parse_int("-1", 0, 64, &v), -ERANGE);
        assert_int_equal(ecl_parse_int("9223372036854775808", 0, INT64_MAX, &v), -ERANGE);
        assert_int_equal(ecl_parse_int("99999999999999999999999", 0, INT64_MAX, &v), -ERANGE);
        static const char *const bad[] = {"", "-", "+1", "01", "00", "0x10", "1.0", "1e3", " 1", "1 ", "1_000",
                                          "--1", "one", "٣"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_parse_int(bad[i], INT64_MIN, INT64_MAX, &v) != -EINVAL)
                        fail_msg("'%s' parsed", bad[i]);
}

static void test_int_prefix(void **state) {
        (void) state;
        int64_t v;
        const char *end;
        const char *line = "1000:65536\n";
        assert_int_equal(ecl_parse_int_prefix(line, 0, UINT32_MAX, &v, &end), 0);
        assert_int_equal(v, 1000);
        assert_ptr_equal(end, line + 4);
        assert_int_equal(ecl_parse_int_prefix(end + 1, 0, UINT32_MAX, &v, &end), 0);
        assert_int_equal(v, 65536);
        assert_string_equal(end, "\n");
        assert_int_equal(ecl_parse_int_prefix("4294967295 x", 0, UINT32_MAX, &v, NULL), 0);
        assert_int_equal(v, UINT32_MAX);
        assert_int_equal(ecl_parse_int_prefix("4294967296", 0, UINT32_MAX, &v, NULL), -ERANGE);
        assert_int_equal(ecl_parse_int_prefix("-1\n", 0, UINT32_MAX, &v, NULL), -ERANGE);
        assert_int_equal(ecl_parse_int_prefix("0x10", 0, 99, &v, &end), 0); /* the caller sees "x10" follow */
        assert_string_equal(end, "x10");
        static const char *const bad[] = {"", "\n", "-", "+1", "01", "007\n", " 1", ":1"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_parse_int_prefix(bad[i], INT64_MIN, INT64_MAX, &v, &end) != -EINVAL)
                        fail_msg("'%s' parsed", bad[i]);
}

static void test_hex_prefix(void **state) {
        (void) state;
        uint64_t v;
        const char *end;
        assert_int_equal(ecl_parse_hex_prefix("000001ffffffffff\n", &v, &end), 0);
        assert_true(v == 0x1ffffffffffULL);
        assert_string_equal(end, "\n");
        assert_int_equal(ecl_parse_hex_prefix("0a000001 : 0", &v, &end), 0);
        assert_true(v == 0x0a000001);
        assert_string_equal(end, " : 0");
        assert_int_equal(ecl_parse_hex_prefix("FFFFFFFFFFFFFFFF", &v, NULL), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(ecl_parse_hex_prefix("10000000000000000", &v, NULL), -ERANGE);
        static const char *const bad[] = {"", "x1", "-1", "+1", " 1", "\t1", "g"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_parse_hex_prefix(bad[i], &v, &end) != -EINVAL)
                        fail_msg("'%s' parsed", bad[i]);
}

static void test_size(void **state) {
        (void) state;
        uint64_t v;
        assert_int_equal(ecl_parse_size_mib("512MiB", &v), 0);
        assert_int_equal(v, 512);
        assert_int_equal(ecl_parse_size_mib("2GiB", &v), 0);
        assert_int_equal(v, 2048);
        assert_int_equal(ecl_parse_size_mib("0MiB", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(ecl_parse_size_mib("18014398509481984GiB", &v), -ERANGE); /* 2^54 GiB overflows MiB */
        assert_int_equal(ecl_parse_size_mib("99999999999999999999999MiB", &v), -ERANGE);
        static const char *const bad[] = {"", "512", "MiB", "2GB", "2G", "2gib", "2 GiB", "1.5GiB", "2TiB", "2KiB",
                                          "02GiB", "-1GiB", "2GiBs", "2GiB "};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_parse_size_mib(bad[i], &v) != -EINVAL)
                        fail_msg("'%s' parsed", bad[i]);
}

static void test_duration(void **state) {
        (void) state;
        uint64_t v;
        const uint64_t week = 7 * 86400;
        assert_int_equal(ecl_parse_duration("4h", week, &v), 0);
        assert_int_equal(v, 4 * 3600);
        assert_int_equal(ecl_parse_duration("30m", week, &v), 0);
        assert_int_equal(v, 1800);
        assert_int_equal(ecl_parse_duration("1h30m", week, &v), 0);
        assert_int_equal(v, 5400);
        assert_int_equal(ecl_parse_duration("1d2h3m4s", week, &v), 0);
        assert_int_equal(v, 86400 + 7200 + 180 + 4);
        assert_int_equal(ecl_parse_duration("7d", week, &v), 0);
        assert_int_equal(v, week);
        assert_int_equal(ecl_parse_duration("90m", week, &v), 0); /* no carrying rules: 90m is fine */
        assert_int_equal(v, 5400);
        assert_int_equal(ecl_parse_duration("1s", week, &v), 0);
        assert_int_equal(ecl_parse_duration("7d1s", week, &v), -ERANGE);
        assert_int_equal(ecl_parse_duration("8d", week, &v), -ERANGE);
        assert_int_equal(ecl_parse_duration("0s", week, &v), -ERANGE);
        assert_int_equal(ecl_parse_duration("0h0m", week, &v), -ERANGE);
        assert_int_equal(ecl_parse_duration("99999999999999999999999s", week, &v), -ERANGE);
        assert_int_equal(ecl_parse_duration("18446744073709551615d", week, &v), -ERANGE);
        static const char *const bad[] = {"", "4", "h", "4 h", "4hours", "30m1h", "1h1h", "1.5h", "-1h", "4H",
                                          "1w", "01h", "1h ", " 1h", "1h30"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_parse_duration(bad[i], week, &v) != -EINVAL)
                        fail_msg("'%s' parsed", bad[i]);
}

static void test_format_duration(void **state) {
        (void) state;
        char buf[ECL_DURATION_STRLEN];
        assert_string_equal(ecl_format_duration(0, buf, sizeof buf), "0s");
        assert_string_equal(ecl_format_duration(5400, buf, sizeof buf), "1h30m");
        assert_string_equal(ecl_format_duration(7 * 86400, buf, sizeof buf), "7d");
        assert_string_equal(ecl_format_duration(86400 + 7200 + 180 + 4, buf, sizeof buf), "1d2h3m4s");
        assert_null(ecl_format_duration(86400 + 7200 + 180 + 4, buf, 4));
        /* Round trip. */
        uint64_t v;
        assert_int_equal(ecl_parse_duration(ecl_format_duration(93784, buf, sizeof buf), UINT64_MAX, &v), 0);
        assert_int_equal(v, 93784);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_int),
                cmocka_unit_test(test_int_prefix),
                cmocka_unit_test(test_hex_prefix),
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_format_duration),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
