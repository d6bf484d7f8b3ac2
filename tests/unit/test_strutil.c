/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "strutil.h"
#include "testlib.h"

static void test_control(void **state) {
        (void) state;
        assert_false(ecl_str_has_control("plain text, é and ü", (size_t) -1));
        assert_true(ecl_str_has_control("line\nbreak", (size_t) -1));
        assert_true(ecl_str_has_control("del\x7f", (size_t) -1));
        assert_true(ecl_str_has_control("\x1b[31m", (size_t) -1));
        /* With a length: a NUL inside counts, bytes after it too. */
        assert_true(ecl_str_has_control("ab\0cd", 5));
        assert_false(ecl_str_has_control("ab\ncd", 2));
        assert_false(ecl_str_has_control("", 0));
        for (unsigned c = 0; c < 256; c++)
                assert_int_equal(ecl_is_control((unsigned char) c), c < 0x20 || c == 0x7f);
}

static void test_make_printable(void **state) {
        (void) state;
        char s[] = "a\rb\nc\x7f" "d é";
        assert_string_equal(ecl_str_make_printable(s), "a?b?c?d é");
        /* C1 controls in UTF-8 (U+009B is a CSI to some terminals) are one '?' each; U+00A0 and up stay */
        char c1[] = "x\xc2\x9b" "2J\xc2\x80y\xc2\xa0z";
        assert_string_equal(ecl_str_make_printable(c1), "x?2J?y\xc2\xa0z");
        char t[] = "a\rb é~";
        assert_string_equal(ecl_str_make_ascii(t), "a?b ??~");
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        assert_non_null(f);
        ecl_fput_printable(f, "x\ny\x1b\xc2\x9b" "1m");
        fclose(f);
        assert_string_equal(buf, "x?y??1m");
        free(buf);
}

enum colour { RED, GREEN, BLUE, UNNAMED };
static const char *const colour_names[] = {[RED] = "red", [GREEN] = "green", [BLUE] = "blue", [UNNAMED] = NULL};

static void test_enum_names(void **state) {
        (void) state;
        assert_string_equal(ECL_ENUM_NAME(colour_names, GREEN), "green");
        assert_null(ECL_ENUM_NAME(colour_names, UNNAMED));
        assert_null(ECL_ENUM_NAME(colour_names, 4));
        assert_null(ECL_ENUM_NAME(colour_names, -1));
        assert_int_equal(ECL_ENUM_FROM_NAME(colour_names, "blue"), BLUE);
        assert_int_equal(ECL_ENUM_FROM_NAME(colour_names, "Blue"), -EINVAL);
        assert_int_equal(ECL_ENUM_FROM_NAME(colour_names, ""), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_control),
                cmocka_unit_test(test_make_printable),
                cmocka_unit_test(test_enum_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
