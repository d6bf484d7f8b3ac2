/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "diag.h"
#include "paths.h"
#include "testlib.h"

static void test_format_with_and_without_hint(void **state) {
        (void) state;
        struct ecl_diags d = {0};
        assert_int_equal(ecl_diags_add(&d, "a.yaml", (struct ecl_pos){3, 7}, "did you mean 'vcpus'?",
                                       "unknown key '%s'", "vcpu"),
                         0);
        assert_int_equal(ecl_diags_add(&d, NULL, (struct ecl_pos){1, 1}, NULL, "empty"), 0);
        assert_int_equal(d.n, 2);
        _cleanup_free_ char *a = ecl_diag_format(&d.items[0]);
        _cleanup_free_ char *b = ecl_diag_format(&d.items[1]);
        assert_string_equal(a, "a.yaml:3:7: error: unknown key 'vcpu' (did you mean 'vcpus'?)");
        assert_string_equal(b, "<input>:1:1: error: empty");
        ecl_diags_clear(&d);
        assert_int_equal(d.n, 0);
        assert_null(d.items);
}

/* A file as a whole: no ":0:0"; a file name with control characters stays one printable line. */
static void test_format_no_position_printable_file(void **state) {
        (void) state;
        struct ecl_diags d = {0};
        assert_int_equal(ecl_diags_add(&d, "a\x1b[31m\nb.yaml", (struct ecl_pos){0, 0}, NULL, "cannot open"), 0);
        assert_int_equal(ecl_diags_add(&d, "c.yaml", (struct ecl_pos){0, 0}, "hint", "bad"), 0);
        _cleanup_free_ char *a = ecl_diag_format(&d.items[0]);
        _cleanup_free_ char *b = ecl_diag_format(&d.items[1]);
        assert_string_equal(a, "a?[31m?b.yaml: error: cannot open");
        assert_string_equal(b, "c.yaml: error: bad (hint)");
        ecl_diags_clear(&d);
}

static void test_many_diags_grow(void **state) {
        (void) state;
        struct ecl_diags d = {0};
        for (unsigned i = 0; i < 100; i++)
                assert_int_equal(ecl_diags_add(&d, "f", (struct ecl_pos){i + 1, 1}, NULL, "n%u", i), 0);
        assert_int_equal(d.n, 100);
        assert_string_equal(d.items[99].what, "n99");
        ecl_diags_clear(&d);
}

static void test_paths_join(void **state) {
        (void) state;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        assert_int_equal(ecl_path(&a, "", "%s/%s.sock", "/run/ecluse", "office"), 0);
        assert_string_equal(a, "/run/ecluse/office.sock");
        assert_int_equal(ecl_path(&b, "/tmp/x/", "/etc/ecluse/officers"), 0);
        assert_string_equal(b, "/tmp/x/etc/ecluse/officers");
        assert_int_equal(ecl_path(&c, "/", "/var"), 0);
        assert_string_equal(c, "/var");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_with_and_without_hint),
                cmocka_unit_test(test_format_no_position_printable_file),
                cmocka_unit_test(test_many_diags_grow),
                cmocka_unit_test(test_paths_join),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
