/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "testlib.h"

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void assert_file(const char *path, const char *want) {
        _cleanup_free_ char *got = tl_read_file(path, NULL);
        assert_non_null(got);
        assert_string_equal(got, want);
}

static void test_write_atomic_replaces(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/state", dir);
        _cleanup_close_ int dfd = open_dir(dir);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_write_atomic_at(dfd, "state", "first\n", 6, 0640, &why), 0);
        assert_null(why);
        assert_file(path, "first\n");
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        ino_t first = st.st_ino;

        /* Replaced by a new file (a reader holding the old one keeps reading it), the mode exact despite the umask. */
        mode_t old = umask(077);
        assert_int_equal(ecl_write_atomic_at(dfd, "state", "second, longer\n", 15, 0644, &why), 0);
        umask(old);
        assert_file(path, "second, longer\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_not_equal(st.st_ino, first);
        assert_int_equal(ecl_write_atomic_at(dfd, "state", "", 0, 0600, &why), 0);
        assert_file(path, "");

        _cleanup_free_ char *left = tl_dir_names(dir);
        assert_string_equal(left, "state"); /* no temporary file left */

        assert_int_equal(ecl_write_atomic_at(dfd, "a/b", "x", 1, 0600, &why), -EINVAL);
        assert_int_equal(ecl_write_atomic_at(dfd, "..", "x", 1, 0600, &why), -EINVAL);
        tl_rm_rf(dir);
}

/* A link planted at the name is replaced, not written through. */
static void test_write_atomic_link(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *outside = tl_mkdtemp();
        _cleanup_free_ char *target = tl_strf("%s/victim", outside), *link = tl_strf("%s/state", dir);
        tl_write_file(target, "keep\n", 5);
        assert_int_equal(symlink(target, link), 0);
        _cleanup_close_ int dfd = open_dir(dir);
        assert_int_equal(ecl_write_atomic_at(dfd, "state", "new\n", 4, 0600, NULL), 0);
        assert_file(target, "keep\n");
        struct stat st;
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_file(link, "new\n");
        tl_rm_rf(dir);
        tl_rm_rf(outside);
}

/* The write fails half way (the file size limit, as a full disk would): the old content stays, no temp is left. */
static void test_write_atomic_failure_keeps_old(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/state", dir);
        _cleanup_close_ int dfd = open_dir(dir);
        assert_int_equal(ecl_write_atomic_at(dfd, "state", "old\n", 4, 0600, NULL), 0);

        char big[4096];
        memset(big, 'x', sizeof big);
        struct rlimit saved, small = {.rlim_cur = 100};
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
        small.rlim_max = saved.rlim_max;
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
        _cleanup_free_ char *why = NULL;
        int r = ecl_write_atomic_at(dfd, "state", big, sizeof big, 0600, &why);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        signal(SIGXFSZ, old_handler);
        assert_int_equal(r, -EFBIG);
        assert_non_null(strstr(why, "cannot write state"));
        assert_file(path, "old\n");
        _cleanup_free_ char *left = tl_dir_names(dir);
        assert_string_equal(left, "state");

        /* The name is a directory that cannot be replaced: the rename fails, the temp goes. */
        _cleanup_free_ char *sub = tl_strf("%s/d/x", dir);
        tl_mkdir_p(sub);
        free(why);
        why = NULL;
        assert_int_equal(ecl_write_atomic_at(dfd, "d", "x", 1, 0600, &why), -EISDIR);
        assert_non_null(strstr(why, "cannot rename the temporary file over d"));
        free(left);
        left = tl_dir_names(dir);
        assert_string_equal(left, "d state");
        tl_rm_rf(dir);
}

static void test_temp_names(void **state) {
        (void) state;
        assert_true(ecl_atomic_temp_name(".state.tmp-aB3xY9"));
        assert_true(ecl_atomic_temp_name(".record.json.tmp-000000"));
        assert_false(ecl_atomic_temp_name("state.tmp-aB3xY9"));  /* no leading dot */
        assert_false(ecl_atomic_temp_name("..tmp-aB3xY9"));      /* no name */
        assert_false(ecl_atomic_temp_name(".state.tmp-aB3xY"));  /* five */
        assert_false(ecl_atomic_temp_name(".state.tmp-aB3x.9")); /* not alphanumeric */
        assert_false(ecl_atomic_temp_name(".import-abcdef"));
        assert_false(ecl_atomic_temp_name("state"));
}

static void test_temps_remove(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *outside = tl_mkdtemp();
        _cleanup_free_ char *t1 = tl_strf("%s/.state.tmp-abcDEF", dir), *t2 = tl_strf("%s/.x.tmp-123456", dir),
                            *keep = tl_strf("%s/state", dir), *odd = tl_strf("%s/.import-abcdef", dir),
                            *sub = tl_strf("%s/.d.tmp-zzzzzz", dir), *victim = tl_strf("%s/v", outside),
                            *link = tl_strf("%s/.l.tmp-qqqqqq", dir);
        tl_write_file(t1, "half", 4);
        tl_write_file(t2, "", 0);
        tl_write_file(keep, "whole", 5);
        tl_write_file(victim, "v", 1);
        tl_mkdir_p(odd);
        tl_mkdir_p(sub);
        assert_int_equal(symlink(victim, link), 0);
        _cleanup_close_ int dfd = open_dir(dir);
        assert_int_equal(ecl_atomic_temps_remove_at(dfd, NULL), 2);
        _cleanup_free_ char *left = tl_dir_names(dir);
        /* Regular files only: a directory or link of that name is not a write's leftover. */
        assert_string_equal(left, ".d.tmp-zzzzzz .import-abcdef .l.tmp-qqqqqq state");
        assert_file(victim, "v");
        assert_int_equal(ecl_atomic_temps_remove_at(dfd, NULL), 0);
        tl_rm_rf(dir);
        tl_rm_rf(outside);
}

/* A tree with links to a directory and a file outside it: removed, and what they point to survives. */
static void test_rm_rf_no_follow(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *outside = tl_mkdtemp();
        _cleanup_free_ char *deep = tl_strf("%s/t/a/b/c", dir), *f = tl_strf("%s/t/a/b/c/f", dir),
                            *g = tl_strf("%s/t/g", dir), *odir = tl_strf("%s/dir", outside),
                            *ofile = tl_strf("%s/dir/precious", outside), *ofile2 = tl_strf("%s/file", outside),
                            *l1 = tl_strf("%s/t/a/to-dir", dir), *l2 = tl_strf("%s/t/a/b/to-file", dir),
                            *l3 = tl_strf("%s/t/dangling", dir), *fifo = tl_strf("%s/t/a/fifo", dir),
                            *top = tl_strf("%s/top-link", dir);
        tl_mkdir_p(deep);
        tl_write_file(f, "f", 1);
        tl_write_file(g, "g", 1);
        tl_mkdir_p(odir);
        tl_write_file(ofile, "precious", 8);
        tl_write_file(ofile2, "file", 4);
        assert_int_equal(symlink(odir, l1), 0);
        assert_int_equal(symlink(ofile2, l2), 0);
        assert_int_equal(symlink("/nonexistent/x", l3), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(symlink(odir, top), 0);
        _cleanup_close_ int dfd = open_dir(dir);

        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_rm_rf_at(dfd, "t", &why), 0);
        assert_null(why);
        /* The top itself a link to a directory: the link goes, not what it points to. */
        assert_int_equal(ecl_rm_rf_at(dfd, "top-link", &why), 0);
        _cleanup_free_ char *left = tl_dir_names(dir);
        assert_string_equal(left, "");
        assert_file(ofile, "precious");
        assert_file(ofile2, "file");
        /* Nothing there is nothing to do. */
        assert_int_equal(ecl_rm_rf_at(dfd, "t", &why), 0);
        assert_int_equal(ecl_rm_rf_at(dfd, "a/b", &why), -EINVAL);
        tl_rm_rf(dir);
        tl_rm_rf(outside);
}

static void test_rm_rf_depth(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *p = tl_strf("%s/t", dir);
        for (int i = 0; i < ECL_TREE_DEPTH_MAX + 1; i++) {
                char *q = tl_strf("%s/d", p);
                free(p);
                p = q;
        }
        tl_mkdir_p(p);
        _cleanup_close_ int dfd = open_dir(dir);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_rm_rf_at(dfd, "t", &why), -E2BIG);
        assert_non_null(strstr(why, "nested deeper than 64 directories"));
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        tl_rm_rf(dir);
}

static void test_fsync(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *outside = tl_mkdtemp();
        _cleanup_free_ char *f = tl_strf("%s/t/a/f", dir), *a = tl_strf("%s/t/a", dir), *l = tl_strf("%s/t/l", dir),
                            *fifo = tl_strf("%s/t/fifo", dir), *file = tl_strf("%s/file", dir);
        tl_mkdir_p(a);
        tl_write_file(f, "f", 1);
        tl_write_file(file, "x", 1);
        assert_int_equal(symlink(outside, l), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0); /* not opened: it would block a reader */
        _cleanup_close_ int dfd = open_dir(dir);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_fsync_tree_at(dfd, "t", &why), 0);
        assert_int_equal(ecl_fsync_tree_at(dfd, "file", &why), 0);
        assert_int_equal(ecl_fsync_tree_at(dfd, "missing", &why), -ENOENT);
        assert_non_null(strstr(why, "cannot open missing"));
        assert_int_equal(ecl_fsync_dir_at(dfd, NULL, &why), 0);
        assert_int_equal(ecl_fsync_dir_at(dfd, "t", &why), 0);
        assert_int_equal(ecl_fsync_dir_at(dfd, "file", &why), -ENOTDIR);
        assert_int_equal(ecl_fsync_dir_at(dfd, "t/l", &why), -ELOOP);
        tl_rm_rf(dir);
        tl_rm_rf(outside);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_atomic_replaces),
                cmocka_unit_test(test_write_atomic_link),
                cmocka_unit_test(test_write_atomic_failure_keeps_old),
                cmocka_unit_test(test_temp_names),
                cmocka_unit_test(test_temps_remove),
                cmocka_unit_test(test_rm_rf_no_follow),
                cmocka_unit_test(test_rm_rf_depth),
                cmocka_unit_test(test_fsync),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
