/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>

#include "stack-name.h"
#include "testlib.h"

static void test_valid(void **state) {
        (void) state;
        assert_true(ecl_stack_name_valid("a"));
        assert_true(ecl_stack_name_valid("web-1"));
        assert_true(ecl_stack_name_valid("abcdefghijklmnopqrstuvwxyz01234")); /* 31 */
}

static void test_invalid(void **state) {
        (void) state;
        static const char *const bad[] = {
                "", "1web", "-web", "Web", "web_1", "web.1", "web/1", "web 1", "../x", "wéb",
                "abcdefghijklmnopqrstuvwxyz012345", /* 32 */
        };
        assert_false(ecl_stack_name_valid(NULL));
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_false(ecl_stack_name_valid(bad[i]));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
