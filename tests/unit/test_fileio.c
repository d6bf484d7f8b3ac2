/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "testlib.h"

static void test_read(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/f", dir), *empty = tl_strf("%s/empty", dir);
        tl_write_file(path, "hello\n", 6);
        tl_write_file(empty, "", 0);
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len = 0;
        assert_int_equal(ecl_file_read(path, 6, &buf, &len, &why), 0);
        assert_int_equal(len, 6);
        assert_string_equal(buf, "hello\n");
        assert_null(why);
        free(buf);
        buf = NULL;
        /* No cap, and an empty file. */
        assert_int_equal(ecl_file_read(path, 0, &buf, &len, NULL), 0);
        assert_int_equal(len, 6);
        free(buf);
        buf = NULL;
        assert_int_equal(ecl_file_read(empty, 10, &buf, &len, NULL), 0);
        assert_int_equal(len, 0);
        assert_string_equal(buf, "");
        free(buf);
        buf = NULL;
        /* One byte over the cap. */
        assert_int_equal(ecl_file_read(path, 5, &buf, &len, &why), -EFBIG);
        assert_null(buf);
        assert_string_equal(why, "file too large (6 bytes, at most 5)");
        tl_rm_rf(dir);
}

static void test_large_file_read_whole(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/big", dir);
        const size_t n = 300000; /* several growth steps of the buffer */
        _cleanup_free_ char *blob = malloc(n);
        assert_non_null(blob);
        for (size_t i = 0; i < n; i++)
                blob[i] = (char) ('a' + i % 26);
        tl_write_file(path, blob, n);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        assert_int_equal(ecl_file_read(path, n, &buf, &len, NULL), 0);
        assert_int_equal(len, n);
        assert_memory_equal(buf, blob, n);
        assert_int_equal(buf[n], '\0');
        tl_rm_rf(dir);
}

static void test_refusals(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/f", dir), *link = tl_strf("%s/link", dir),
                            *fifo = tl_strf("%s/fifo", dir), *missing = tl_strf("%s/missing", dir);
        tl_write_file(path, "x", 1);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        struct {
                const char *path;
                int r;
                const char *why;
        } cases[] = {
                {link, -ELOOP, "a symbolic link (refused: opened without following links)"},
                {fifo, -EBADMSG, "not a regular file"}, /* and the open does not block */
                {dir, -EISDIR, "a directory, not a regular file"},
                {missing, -ENOENT, "cannot open: No such file or directory"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *buf = NULL, *why = NULL;
                assert_int_equal(ecl_file_read(cases[i].path, 100, &buf, NULL, &why), cases[i].r);
                assert_null(buf);
                assert_string_equal(why, cases[i].why);
        }
        tl_rm_rf(dir);
}

static void test_open_at_checks_the_same_fd(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/f", dir);
        tl_write_file(path, "abc", 3);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        assert_int_equal(ecl_file_open_at(dfd, "f", 3, &fd, &st, NULL), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 3);
        /* The file grows after the check: the read from that descriptor is still bounded. */
        tl_write_file(path, "abcdef", 6);
        _cleanup_free_ char *buf = NULL, *why = NULL;
        assert_int_equal(ecl_file_read_fd(fd, 3, &buf, NULL, &why), -EFBIG);
        assert_string_equal(why, "file too large (more than 3 bytes)");
        tl_rm_rf(dir);
}

static void test_mkdir_p(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *deep = tl_strf("%s/a/b/c", dir), *file = tl_strf("%s/file", dir),
                            *under_file = tl_strf("%s/file/x", dir), *link = tl_strf("%s/link", dir),
                            *in = tl_strf("%s/p/q/f", dir);
        mode_t old = umask(022);
        assert_int_equal(ecl_mkdir_p(deep, 0750, NULL), 0);
        struct stat st;
        assert_int_equal(lstat(deep, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(ecl_mkdir_p(deep, 0750, NULL), 0); /* again: nothing to do */
        _cleanup_free_ char *trailing = tl_strf("%s/", deep);
        assert_int_equal(ecl_mkdir_p(trailing, 0750, NULL), 0);
        /* A file in the way, and a link where the directory should be. */
        tl_write_file(file, "", 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_mkdir_p(file, 0755, &why), -ENOTDIR);
        assert_non_null(strstr(why, "is not a directory"));
        assert_int_equal(ecl_mkdir_p(under_file, 0755, &why), -ENOTDIR);
        assert_non_null(strstr(why, "cannot create"));
        assert_int_equal(symlink(deep, link), 0);
        assert_int_equal(ecl_mkdir_p(link, 0755, &why), -ENOTDIR);
        assert_int_equal(ecl_mkdir_p("", 0755, &why), -EINVAL);
        /* The parent of a file. */
        assert_int_equal(ecl_mkdir_parent(in, 0700, NULL), 0);
        _cleanup_free_ char *q = tl_strf("%s/p/q", dir);
        assert_int_equal(lstat(q, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(lstat(in, &st), -1);
        assert_int_equal(ecl_mkdir_parent("f", 0700, NULL), 0);
        umask(old);
        tl_rm_rf(dir);
}

static int count_created(int fd, const char *where, bool created, void *userdata, char **ret_reason) {
        (void) fd, (void) where, (void) ret_reason;
        *(int *) userdata += created;
        return 0;
}

static void test_mkdir_below(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *deep = tl_strf("%s/a/b/c", dir), *elsewhere = tl_strf("%s/elsewhere", dir),
                            *link = tl_strf("%s/a/l", dir), *file = tl_strf("%s/a/f", dir);
        int created = 0, fd = -1;
        assert_int_equal(ecl_mkdir_below(dir, "a/b/c", 0755, count_created, &created, &fd, NULL), 0);
        assert_int_equal(created, 3);
        struct stat st, fst;
        assert_int_equal(lstat(deep, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(fstat(fd, &fst), 0);
        assert_true(st.st_ino == fst.st_ino);
        close(fd);
        created = 0;
        assert_int_equal(ecl_mkdir_below(dir, "/a/./b/c/", 0755, count_created, &created, NULL, NULL), 0);
        assert_int_equal(created, 0);
        /* A link in a middle component: refused, and nothing made where it leads. */
        assert_int_equal(mkdir(elsewhere, 0755), 0);
        assert_int_equal(symlink(elsewhere, link), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_mkdir_below(dir, "a/l/x", 0755, NULL, NULL, NULL, &why), -ELOOP);
        _cleanup_free_ char *want = tl_strf("%s/a/l: a symbolic link (refused: no link is followed on the way to a "
                                            "directory ecluse creates)", dir);
        assert_string_equal(why, want);
        _cleanup_free_ char *x = tl_strf("%s/x", elsewhere);
        assert_int_equal(lstat(x, &st), -1);
        /* ... and as the last component */
        assert_int_equal(ecl_mkdir_below(dir, "a/l", 0755, NULL, NULL, NULL, &why), -ELOOP);
        /* a file in the way, and ".." */
        tl_write_file(file, "", 0);
        assert_int_equal(ecl_mkdir_below(dir, "a/f/x", 0755, NULL, NULL, NULL, &why), -ENOTDIR);
        assert_non_null(strstr(why, "/a/f is not a directory"));
        assert_int_equal(ecl_mkdir_below(dir, "a/../a", 0755, NULL, NULL, NULL, &why), -EINVAL);
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read),
                cmocka_unit_test(test_large_file_read_whole),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_open_at_checks_the_same_fd),
                cmocka_unit_test(test_mkdir_p),
                cmocka_unit_test(test_mkdir_below),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
