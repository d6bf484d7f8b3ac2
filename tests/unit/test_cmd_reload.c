/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ecluse-shim reload`: its arguments, and a stack that is not running.  The
 * reload itself (a held stack brought back with its policy loaded afresh)
 * runs on a real guest in tests/e2e/test_cut.sh.
 */
#include <string.h>

#include "testlib.h"

static void test_reload_needs_one_running_stack(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        struct tl_result res;
        tl_run((char *[]){(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "reload", NULL}, &res);
        assert_int_equal(res.status, 64);
        assert_non_null(strstr(res.err, "reload: STACK expected (see ecluse-shim reload --help)"));
        tl_result_free(&res);
        tl_run((char *[]){(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "reload", (char *) "a", (char *) "b",
                          NULL},
               &res);
        assert_int_equal(res.status, 64);
        tl_result_free(&res);
        /* nobody listens for that stack: nothing to reload, and said so */
        tl_run((char *[]){(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "reload", (char *) "office", NULL},
               &res);
        assert_int_not_equal(res.status, 0);
        assert_non_null(strstr(res.err, "office"));
        tl_result_free(&res);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reload_needs_one_running_stack),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
