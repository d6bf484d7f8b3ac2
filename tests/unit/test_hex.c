/* SPDX-License-Identifier: Apache-2.0 */
/* Lowercase hex: encoding, and decoding that takes exactly that spelling. */
#include <string.h>

#include "hex.h"
#include "testlib.h"

static void test_encode(void **state) {
        (void) state;
        static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
        char out[2 * sizeof in + 1];
        memset(out, 'x', sizeof out);
        ecl_hex_encode(in, sizeof in, out);
        assert_string_equal(out, "00017f80abff");
        ecl_hex_encode(in, 0, out);
        assert_string_equal(out, "");
}

static void test_decode(void **state) {
        (void) state;
        uint8_t out[3];
        assert_true(ecl_hex_decode("00a9ff", 6, out, 3));
        assert_int_equal(out[0], 0x00);
        assert_int_equal(out[1], 0xa9);
        assert_int_equal(out[2], 0xff);
        assert_true(ecl_hex_decode("", 0, out, 0));
        static const char *const bad[] = {"00A9ff", "00a9f", "00a9fff", "00a9fg", "0x00a9", " 0a9ff", "00a9f\n"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_hex_decode(bad[i], strlen(bad[i]), out, 3))
                        fail_msg("accepted '%s'", bad[i]);
        /* The length is the caller's: a NUL inside is not the end. */
        assert_false(ecl_hex_decode("00a9\0f", 6, out, 3));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_decode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
