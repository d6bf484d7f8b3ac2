/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim/secure-dir and shim/console-log: trees root reuses, what QEMU's user
 * can reach, the console log.  What needs root (a directory or log of another
 * user, a group's bit) is in test_secure_dir_system.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-log.h"
#include "secure-dir.h"
#include "testlib.h"

/* another user than the one running the test: nobody, unless that is who runs it */
#define OTHER tl_stranger_id()

static void test_mkdir_creates_and_checks(void **state) {
        (void) state;
        _cleanup_free_ char *base = tl_mkdtemp();
        int fd = -1;
        assert_int_equal(shim_secure_mkdir(base, "a/b/c", 0755, 0700, &fd, NULL), 0);
        assert_true(fd >= 0);
        close(fd);
        struct stat st;
        _cleanup_free_ char *a = tl_strf("%s/a", base), *c = tl_strf("%s/a/b/c", base);
        assert_int_equal(stat(a, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(stat(c, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        /* reused as it is */
        assert_int_equal(shim_secure_mkdir(base, "a/b/c", 0755, (mode_t) -1, NULL, NULL), 0);
        /* group-writable on the way: refused */
        assert_int_equal(chmod(a, 0775), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_secure_mkdir(base, "a/b/c", 0755, (mode_t) -1, NULL, &why), -EPERM);
        assert_non_null(strstr(why, "/a (owner uid "));
        assert_non_null(strstr(why, "mode 0775) is not root's alone"));
        assert_int_equal(chmod(a, 0755), 0);
        /* a link on the way: refused, not followed */
        _cleanup_free_ char *l = tl_strf("%s/l", base);
        assert_int_equal(symlink(a, l), 0);
        assert_int_equal(shim_secure_mkdir(base, "l/b", 0755, (mode_t) -1, NULL, &why), -ELOOP);
        assert_non_null(strstr(why, "/l: a symbolic link (refused"));
        assert_int_equal(shim_secure_mkdir(base, "a/../l", 0755, (mode_t) -1, NULL, NULL), -EINVAL);
        tl_rm_rf(base);
}

static void test_reach(void **state) {
        (void) state;
        _cleanup_free_ char *base = tl_mkdtemp();
        assert_int_equal(chmod(base, 0755), 0);
        _cleanup_free_ char *a = tl_strf("%s/a", base), *b = tl_strf("%s/a/b", base);
        _cleanup_free_ char *k = tl_strf("%s/a/b/kernel", base), *l = tl_strf("%s/l", base);
        assert_int_equal(mkdir(a, 0700), 0);
        assert_int_equal(mkdir(b, 0755), 0);
        tl_write_file(k, "k", 1);
        assert_int_equal(chmod(k, 0600), 0); /* the file itself is libvirt's to label */
        _cleanup_free_ char *problem = NULL;
        assert_int_equal(shim_reach_check(k, NULL, OTHER, OTHER, "QEMU runs as nobody", &problem), -EACCES);
        assert_non_null(problem);
        _cleanup_free_ char *want = tl_strf("QEMU runs as nobody, which cannot search %s (mode 0700, owner ", a);
        assert_int_equal(strncmp(problem, want, strlen(want)), 0);
        _cleanup_free_ char *fix = tl_strf("chmod o+x %s", a);
        assert_non_null(strstr(problem, fix));
        free(problem);
        problem = NULL;
        /* its owner passes; uid 0 passes everything */
        assert_int_equal(shim_reach_check(k, NULL, geteuid(), getegid(), "x", &problem), 0);
        assert_int_equal(shim_reach_check(k, NULL, 0, 0, "x", &problem), 0);
        assert_null(problem);
        /* through a link, the target's parents count */
        assert_int_equal(symlink(b, l), 0);
        _cleanup_free_ char *lk = tl_strf("%s/kernel", l);
        assert_int_equal(shim_reach_check(lk, NULL, OTHER, OTHER, "x", &problem), -EACCES);
        assert_non_null(strstr(problem, a));
        free(problem);
        problem = NULL;
        assert_int_equal(chmod(a, 0711), 0);
        assert_int_equal(shim_reach_check(k, NULL, OTHER, OTHER, "x", &problem), 0);
        assert_int_equal(shim_reach_check(lk, NULL, OTHER, OTHER, "x", &problem), 0);
        /* a directory as the target must be searchable itself; a missing tail ends the walk */
        assert_int_equal(chmod(b, 0700), 0);
        assert_int_equal(shim_reach_check(b, NULL, OTHER, OTHER, "x", &problem), -EACCES);
        free(problem);
        problem = NULL;
        _cleanup_free_ char *missing = tl_strf("%s/a/nothing/here", base);
        assert_int_equal(shim_reach_check(missing, NULL, OTHER, OTHER, "x", &problem), 0);
        tl_rm_rf(base);
}

/* C: a planted console.log would have root append the guest's output to any file. */
static void test_console(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/var/lib/ecluse/stacks/office", root);
        _cleanup_free_ char *log = tl_strf("%s/console.log", dir), *victim = tl_strf("%s/victim", root);
        /* only a stack name (stack-name.h) becomes a directory name */
        static const char *const bad[] = {"", "Office", "a b", "-x", "x\n", "a-stack-name-of-32-characters-xy"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(shim_console_prepare(root, bad[i], NULL, NULL), -EINVAL);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), 0);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);
        tl_write_file(victim, "v", 1);
        /* a symlink: refused, and the target untouched */
        assert_int_equal(symlink(victim, log), 0);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), -EPERM);
        assert_int_equal(stat(victim, &st), 0);
        assert_int_equal(st.st_size, 1);
        assert_int_equal(unlink(log), 0);
        /* a hard link */
        assert_int_equal(link(victim, log), 0);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), -EPERM);
        assert_int_equal(unlink(log), 0);
        /* a FIFO */
        assert_int_equal(mkfifo(log, 0600), 0);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), -EPERM);
        assert_int_equal(unlink(log), 0);
        /* the log of an earlier run: fine */
        tl_write_file(log, "boot\n", 5);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), 0);
        /* the directory itself a link to elsewhere */
        tl_rm_rf(dir);
        _cleanup_free_ char *other = tl_strf("%s/other", root);
        assert_int_equal(mkdir(other, 0700), 0);
        assert_int_equal(symlink(other, dir), 0);
        assert_int_equal(shim_console_prepare(root, "office", NULL, NULL), -ELOOP);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mkdir_creates_and_checks),
                cmocka_unit_test(test_reach),
                cmocka_unit_test(test_console),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
