/* SPDX-License-Identifier: Apache-2.0 */
/* shim/console-log: the cap, the rotation, what the log may be. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-log.h"
#include "testlib.h"

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static off_t size_of(const char *dir, const char *name) {
        _cleanup_free_ char *p = tl_strf("%s/%s", dir, name);
        struct stat st;
        if (stat(p, &st) < 0)
                return -1;
        return st.st_size;
}

/* A guest printing without end: never more than the cap in either file, the newest bytes kept. */
static void test_cap_and_rotation(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        struct shim_console_log l;
        assert_int_equal(shim_console_log_open(open_dir(dir), 100, &l, NULL), 0);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG), 0);
        char line[64];
        for (unsigned i = 0; i < 1000; i++) {
                snprintf(line, sizeof line, "line %08u of the guest's console\n", i);
                assert_int_equal(shim_console_log_append(&l, line, strlen(line), NULL), 0);
                assert_true(size_of(dir, SHIM_CONSOLE_LOG) <= 100);
                assert_true(size_of(dir, SHIM_CONSOLE_LOG_OLD) <= 100);
        }
        /* 37000 bytes (lines of 37) through a 100-byte cap: both files full, the last line at the end */
        assert_int_equal(strlen(line), 37);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG_OLD), 100);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG), 100);
        _cleanup_free_ char *p = tl_strf("%s/" SHIM_CONSOLE_LOG, dir), *old = tl_strf("%s/" SHIM_CONSOLE_LOG_OLD, dir);
        size_t n = 0, n_old = 0;
        _cleanup_free_ char *cur = tl_read_file(p, &n), *prev = tl_read_file(old, &n_old);
        _cleanup_free_ char *both = tl_strf("%.*s%.*s", (int) n_old, prev, (int) n, cur);
        assert_non_null(strstr(both, "line 00000999 of the guest's console\n"));
        assert_int_equal(strlen(strstr(both, "line 00000999")), 37);
        assert_int_equal(strlen(both), 200);
        /* nothing else in the directory */
        _cleanup_free_ char *third = tl_strf("%s/console.log.2", dir);
        assert_int_equal(access(third, F_OK), -1);
        shim_console_log_close(&l);
        tl_rm_rf(dir);
}

/* One write larger than the cap is split, each file at the cap. */
static void test_large_write(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        struct shim_console_log l;
        assert_int_equal(shim_console_log_open(open_dir(dir), 64, &l, NULL), 0);
        char buf[1000];
        memset(buf, 'x', sizeof buf);
        assert_int_equal(shim_console_log_append(&l, buf, sizeof buf, NULL), 0);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG_OLD), 64);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG), 1000 % 64);
        shim_console_log_close(&l);
        tl_rm_rf(dir);
}

/* The log of an earlier run is appended to; one over the cap (an unbounded earlier shim) rotates at once. */
static void test_reopen(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *p = tl_strf("%s/" SHIM_CONSOLE_LOG, dir);
        tl_write_file(p, "boot\n", 5);
        struct shim_console_log l;
        assert_int_equal(shim_console_log_open(open_dir(dir), 100, &l, NULL), 0);
        assert_int_equal(l.size, 5);
        assert_int_equal(shim_console_log_append(&l, "up\n", 3, NULL), 0);
        size_t n = 0;
        _cleanup_free_ char *got = tl_read_file(p, &n);
        assert_int_equal(n, 8);
        assert_memory_equal(got, "boot\nup\n", 8);
        shim_console_log_close(&l);

        char big[300];
        memset(big, 'o', sizeof big);
        tl_write_file(p, big, sizeof big);
        assert_int_equal(shim_console_log_open(open_dir(dir), 100, &l, NULL), 0);
        assert_int_equal(shim_console_log_append(&l, "new\n", 4, NULL), 0);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG_OLD), 300);
        assert_int_equal(size_of(dir, SHIM_CONSOLE_LOG), 4);
        shim_console_log_close(&l);
        tl_rm_rf(dir);
}

/* A console.log planted as a link (root would append the guest's output to its target), a FIFO, a hard link. */
static void test_refused(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *p = tl_strf("%s/" SHIM_CONSOLE_LOG, dir),
                            *victim = tl_strf("%s/victim", dir);
        tl_write_file(victim, "v", 1);
        struct shim_console_log l;
        assert_int_equal(symlink(victim, p), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_console_log_open(open_dir(dir), 100, &l, &why), -EPERM);
        assert_string_equal(why, "the stack's " SHIM_CONSOLE_LOG " is a symbolic link: the shim appends the guest's "
                                 "console to it as root (remove it; it is created again)");
        assert_int_equal(size_of(dir, "victim"), 1);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(link(victim, p), 0);
        assert_int_equal(shim_console_log_open(open_dir(dir), 100, &l, NULL), -EPERM);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(mkfifo(p, 0600), 0);
        assert_int_equal(shim_console_log_open(open_dir(dir), 100, &l, NULL), -EPERM); /* and it did not block */
        assert_int_equal(unlink(p), 0);
        /* a link planted at the rotation's target is replaced, not followed */
        _cleanup_free_ char *old = tl_strf("%s/" SHIM_CONSOLE_LOG_OLD, dir);
        assert_int_equal(symlink(victim, old), 0);
        assert_int_equal(shim_console_log_open(open_dir(dir), 10, &l, NULL), 0);
        assert_int_equal(shim_console_log_append(&l, "0123456789abc", 13, NULL), 0);
        assert_int_equal(size_of(dir, "victim"), 1);
        struct stat st;
        assert_int_equal(lstat(old, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        shim_console_log_close(&l);
        tl_rm_rf(dir);
}

/* The mark (where a boot begins): console.log's inode, its size, the rotations so far. */
static void test_mark(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *p = tl_strf("%s/" SHIM_CONSOLE_LOG, dir), *old = tl_strf("%s/" SHIM_CONSOLE_LOG_OLD, dir);
        tl_write_file(p, "an earlier run\n", 15);
        struct shim_console_log l;
        assert_int_equal(shim_console_log_open(open_dir(dir), 40, &l, NULL), 0);
        struct shim_console_mark k;
        struct stat st;
        assert_int_equal(shim_console_log_mark(&l, &k, NULL), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(k.offset, 15); /* after what an earlier run left */
        assert_int_equal(k.inode, (uint64_t) st.st_ino);
        assert_int_equal(k.generation, 0);
        assert_int_equal(shim_console_log_append(&l, "0123456789", 10, NULL), 0);
        assert_int_equal(shim_console_log_mark(&l, &k, NULL), 0);
        assert_int_equal(k.offset, 25);
        assert_int_equal(k.generation, 0);
        /* 30 more through a cap of 40: one rotation, the marked file is console.log.1 now */
        uint64_t marked = k.inode;
        assert_int_equal(shim_console_log_append(&l, "abcdefghijklmnopqrstuvwxyzABCD", 30, NULL), 0);
        assert_int_equal(stat(old, &st), 0);
        assert_int_equal((uint64_t) st.st_ino, marked);
        assert_int_equal(shim_console_log_mark(&l, &k, NULL), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(k.inode, (uint64_t) st.st_ino);
        assert_int_equal(k.offset, 15);
        assert_int_equal(k.generation, 1);
        assert_int_equal(shim_console_log_append(&l, "0123456789012345678901234567890123456789", 40, NULL), 0);
        assert_int_equal(shim_console_log_mark(&l, &k, NULL), 0);
        assert_int_equal(k.generation, 2);
        shim_console_log_close(&l);
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cap_and_rotation),
                cmocka_unit_test(test_large_write),
                cmocka_unit_test(test_reopen),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_mark),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
