/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "reason.h"
#include "testlib.h"

static void test_set_and_replace(void **state) {
        (void) state;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_reason(&why, -EBADMSG, "bad %s at %d", "thing", 3), -EBADMSG);
        assert_string_equal(why, "bad thing at 3");
        /* A later reason replaces the earlier one (no leak under ASan), and may quote it. */
        assert_int_equal(ecl_reason(&why, -EPERM, "outer: %s", why), -EPERM);
        assert_string_equal(why, "outer: bad thing at 3");
        /* err 0: a status text, not a failure. */
        assert_int_equal(ecl_reason(&why, 0, "fine"), 0);
        assert_string_equal(why, "fine");
}

static void test_no_reason_wanted(void **state) {
        (void) state;
        assert_int_equal(ecl_reason(NULL, -ENOENT, "nobody reads %s", "this"), -ENOENT);
}

static void test_one_printable_line(void **state) {
        (void) state;
        _cleanup_free_ char *why = NULL;
        /* Reasons quote untrusted text: a guest's or vendor's line break must not start a forged line. */
        assert_int_equal(ecl_reason(&why, -EBADMSG, "namespace \"%s\"", "a\nb\tc\x7f" "d\x1b[2J"), -EBADMSG);
        assert_string_equal(why, "namespace \"a?b?c?d?[2J\"");
}

static void test_errno(void **state) {
        (void) state;
        _cleanup_free_ char *why = NULL, *want = tl_strf("cannot open /x: %s", strerror(ENOENT));
        assert_int_equal(ecl_reason_errno(&why, -ENOENT, "cannot open %s", "/x"), -ENOENT);
        assert_string_equal(why, want);
        assert_int_equal(ecl_reason_errno(NULL, -EIO, "nobody reads %s", "this"), -EIO);
}

static void test_text(void **state) {
        (void) state;
        assert_string_equal(ecl_reason_text("given", -ENOENT), "given");
        assert_string_equal(ecl_reason_text(NULL, -ENOENT), strerror(ENOENT));
        assert_string_equal(ecl_reason_text(NULL, ENOENT), strerror(ENOENT));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_set_and_replace),
                cmocka_unit_test(test_no_reason_wanted),
                cmocka_unit_test(test_one_printable_line),
                cmocka_unit_test(test_errno),
                cmocka_unit_test(test_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
