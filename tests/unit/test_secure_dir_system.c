/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (files of another user) */
/*
 * The part of test_secure_dir.c that needs root: a directory or console log
 * of another user is refused, and a group's search bit counts for a member.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-log.h"
#include "secure-dir.h"
#include "testlib.h"

/* another user than the one running the test: nobody, unless that is who runs it */
#define OTHER tl_stranger_id()

static void test_mkdir_refuses_other_owner(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *base = tl_mkdtemp();
        assert_int_equal(shim_secure_mkdir(base, "a/b/c", 0755, 0700, NULL, NULL), 0);
        _cleanup_free_ char *b = tl_strf("%s/a/b", base);
        assert_int_equal(chown(b, OTHER, OTHER), 0);
        assert_int_equal(shim_secure_mkdir(base, "a/b/c", 0755, (mode_t) -1, NULL, NULL), -EPERM);
        tl_rm_rf(base);
}

static void test_reach_group(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *base = tl_mkdtemp();
        assert_int_equal(chmod(base, 0755), 0);
        _cleanup_free_ char *a = tl_strf("%s/a", base), *b = tl_strf("%s/a/b", base);
        _cleanup_free_ char *k = tl_strf("%s/a/b/kernel", base);
        assert_int_equal(mkdir(a, 0700), 0);
        assert_int_equal(mkdir(b, 0755), 0);
        tl_write_file(k, "k", 1);
        _cleanup_free_ char *problem = NULL;
        assert_int_equal(chown(a, 0, OTHER), 0);
        assert_int_equal(chmod(a, 0710), 0);
        assert_int_equal(shim_reach_check(k, NULL, OTHER, OTHER, "x", &problem), 0);
        assert_null(problem);
        assert_int_equal(shim_reach_check(k, NULL, OTHER, OTHER - 1, "x", &problem), -EACCES);
        assert_non_null(problem);
        assert_non_null(strstr(problem, "chmod o+x"));
        tl_rm_rf(base);
}

/* C: a console.log of another user is not root's to append to. */
static void test_console_other_owner(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *log = tl_strf("%s/var/lib/ecluse/stacks/office/console.log", root);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), 0);
        tl_write_file(log, "boot\n", 5);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), 0);
        assert_int_equal(chown(log, OTHER, OTHER), 0);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), -EPERM);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mkdir_refuses_other_owner),
                cmocka_unit_test(test_reach_group),
                cmocka_unit_test(test_console_other_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
