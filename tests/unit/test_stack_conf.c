/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim/stack-conf.c: a stack's name for its configured manifest, the listing
 * of ROOT/etc/ecluse/stacks, and a manifest's file name against its stack.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack-conf.h"
#include "testlib.h"

static void test_resolve(void **state) {
        (void) state;
        _cleanup_free_ char *p = NULL;
        assert_int_equal(shim_stack_conf_resolve("/r", "office", &p), 1);
        assert_string_equal(p, "/r/etc/ecluse/stacks/office.yaml");
        free(TAKE_PTR(p));
        assert_int_equal(shim_stack_conf_resolve("", "a-1", &p), 1);
        assert_string_equal(p, "/etc/ecluse/stacks/a-1.yaml");
        free(TAKE_PTR(p));
        assert_int_equal(shim_stack_conf_resolve("/r/", "office", &p), 1);
        assert_string_equal(p, "/r/etc/ecluse/stacks/office.yaml");
        free(TAKE_PTR(p));
        /* anything that is not a stack name is a file path, as given (not under --root) */
        const char *files[] = {"office.yaml", "./office", "/etc/ecluse/stacks/office.yaml", "Office", "1office",
                               "a/b", "", "abcdefghijklmnopqrstuvwxyz0123456"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                assert_int_equal(shim_stack_conf_resolve("/r", files[i], &p), 0);
                assert_string_equal(p, files[i]);
                free(TAKE_PTR(p));
        }
}

static void test_check_name(void **state) {
        (void) state;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_stack_conf_check_name("/etc/ecluse/stacks/a.yaml", "a", &why), 0);
        assert_null(why);
        assert_int_equal(shim_stack_conf_check_name("a.yaml", "a", &why), 0);
        assert_int_equal(shim_stack_conf_check_name("dir.yaml/office.yaml", "office", &why), 0);

        assert_int_equal(shim_stack_conf_check_name("/etc/ecluse/stacks/a.yaml", "b", &why), -EBADMSG);
        assert_string_equal(why, "its stack is b: the file must be named b.yaml, not 'a.yaml'");
        const char *bad[] = {"/x/ab.yaml", "/x/a.yml", "/x/a", "/x/a.yaml.bak", "/x/.a.yaml", "/x/", "a.yaml/",
                             "/x/A.yaml"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                free(TAKE_PTR(why));
                if (shim_stack_conf_check_name(bad[i], "a", &why) != -EBADMSG)
                        fail_msg("%s taken for stack a", bad[i]);
                assert_non_null(why);
        }
        /* no reason wanted */
        assert_int_equal(shim_stack_conf_check_name("/x/b.yaml", "a", NULL), -EBADMSG);
}

static void touch(const char *dir, const char *name) {
        _cleanup_free_ char *p = tl_strf("%s/%s", dir, name);
        tl_write_file(p, "x", 1);
}

static void test_list(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/etc/ecluse/stacks", root);
        char **stacks = NULL, **skipped = NULL;
        _cleanup_free_ char *why = NULL;

        /* no directory */
        assert_int_equal(shim_stack_conf_list(root, &stacks, &skipped, &why), -ENOENT);
        _cleanup_free_ char *want = tl_strf("no stacks directory %s (each stack is configured as %s/STACK.yaml)",
                                            dir, dir);
        assert_string_equal(why, want);
        assert_null(stacks);
        free(TAKE_PTR(why));

        /* a file where the directory must be */
        _cleanup_free_ char *etc = tl_strf("%s/etc/ecluse", root);
        tl_mkdir_p(etc);
        tl_write_file(dir, "x", 1);
        assert_int_equal(shim_stack_conf_list(root, &stacks, &skipped, &why), -ENOTDIR);
        assert_non_null(strstr(why, "is not a directory"));
        free(TAKE_PTR(why));
        assert_int_equal(unlink(dir), 0);

        /* empty */
        tl_mkdir_p(dir);
        assert_int_equal(shim_stack_conf_list(root, &stacks, &skipped, &why), 0);
        assert_null(stacks[0]);
        assert_null(skipped[0]);
        strv_free(stacks);
        strv_free(skipped);

        /* the stacks, sorted; everything else skipped and named */
        touch(dir, "zeta.yaml");
        touch(dir, "alpha.yaml");
        touch(dir, "b-2.yaml");
        touch(dir, "README");
        touch(dir, "alpha.yaml~");
        touch(dir, "alpha.yml");
        touch(dir, "Bad.yaml");
        touch(dir, ".yaml");
        touch(dir, "new\nline.yaml");
        _cleanup_free_ char *sub = tl_strf("%s/sub.yaml", dir), *lnk = tl_strf("%s/link.yaml", dir),
                            *fifo = tl_strf("%s/fifo.yaml", dir), *alpha = tl_strf("%s/alpha.yaml", dir);
        tl_mkdir_p(sub);
        assert_int_equal(symlink(alpha, lnk), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(shim_stack_conf_list(root, &stacks, &skipped, &why), 0);
        assert_null(why);
        /* a link, a directory, a FIFO named for a stack are stacks: the loader refuses them */
        const char *want_stacks[] = {"alpha", "b-2", "fifo", "link", "sub", "zeta"};
        for (size_t i = 0; i < ELEMENTSOF(want_stacks); i++) {
                assert_non_null(stacks[i]);
                assert_string_equal(stacks[i], want_stacks[i]);
        }
        assert_null(stacks[ELEMENTSOF(want_stacks)]);
        const char *want_skipped[] = {
                ".yaml: not a STACK.yaml file",
                "Bad.yaml: not a stack name (^[a-z][a-z0-9-]{0,30}$) before .yaml",
                "README: not a STACK.yaml file",
                "alpha.yaml~: not a STACK.yaml file",
                "alpha.yml: not a STACK.yaml file",
                "new?line.yaml: not a stack name (^[a-z][a-z0-9-]{0,30}$) before .yaml",
        };
        for (size_t i = 0; i < ELEMENTSOF(want_skipped); i++) {
                _cleanup_free_ char *w = tl_strf("%s/%s", dir, want_skipped[i]);
                assert_non_null(skipped[i]);
                assert_string_equal(skipped[i], w);
        }
        assert_null(skipped[ELEMENTSOF(want_skipped)]);
        strv_free(stacks);
        strv_free(skipped);

        /* the skipped ones need not be asked for */
        assert_int_equal(shim_stack_conf_list(root, &stacks, NULL, NULL), 0);
        assert_string_equal(stacks[0], "alpha");
        strv_free(stacks);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_check_name),
                cmocka_unit_test(test_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
