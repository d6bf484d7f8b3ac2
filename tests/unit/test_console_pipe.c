/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim/console-pipe: the FIFO the serial port writes to, and its reader.  A
 * FIFO of another user (root only) is in test_console_pipe_system.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-pipe.h"
#include "testlib.h"

#define DIR_REL "/var/lib/ecluse/stacks/office"

/* What libvirt does: open the FIFO for writing (it must not block), QEMU writes; the shim drains into the log. */
static void test_fifo_to_log(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp(), *fifo = tl_strf("%s" DIR_REL "/" SHIM_CONSOLE_PIPE, root),
                            *log = tl_strf("%s" DIR_REL "/" SHIM_CONSOLE_LOG, root);
        _cleanup_(shim_console_freep) struct shim_console *c = NULL;
        assert_int_equal(shim_console_open(root, "office", 64 * 1024, &c, NULL), 0);
        struct stat st;
        assert_int_equal(lstat(fifo, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, geteuid());
        int w = open(fifo, O_WRONLY | O_APPEND | O_CLOEXEC); /* blocking, as libvirt's: a reader is there */
        assert_true(w >= 0);
        assert_int_equal(write(w, "ECLUSE-GUEST up\n", 16), 16);
        assert_int_equal(shim_console_drain(c, NULL), 16);
        assert_int_equal(shim_console_drain(c, NULL), 0); /* empty: no block */
        /* QEMU gone (a reload): no end of file, nothing to spin on */
        close(w);
        assert_int_equal(shim_console_drain(c, NULL), 0);
        size_t n = 0;
        _cleanup_free_ char *got = tl_read_file(log, &n);
        assert_int_equal(n, 16);
        assert_memory_equal(got, "ECLUSE-GUEST up\n", 16);
        /* a guest printing without end: the log stays under its cap */
        w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(w >= 0);
        char buf[4096];
        memset(buf, 'z', sizeof buf);
        for (int i = 0; i < 200; i++) {
                assert_int_equal(write(w, buf, sizeof buf), (ssize_t) sizeof buf);
                assert_true(shim_console_drain(c, NULL) > 0);
                assert_int_equal(stat(log, &st), 0);
                assert_true(st.st_size <= 64 * 1024);
        }
        close(w);
        shim_console_free(TAKE_PTR(c));
        tl_rm_rf(root);
}

/* An earlier run's FIFO is replaced; anything else at console.pipe is refused and left alone. */
static void test_planted(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp(), *fifo = tl_strf("%s" DIR_REL "/" SHIM_CONSOLE_PIPE, root),
                            *victim = tl_strf("%s/victim", root);
        struct shim_console *c = NULL;
        assert_int_equal(shim_console_open(root, "office", 65536, &c, NULL), 0);
        struct stat before, st;
        assert_int_equal(lstat(fifo, &before), 0);
        shim_console_free(c);
        c = NULL;
        assert_int_equal(shim_console_open(root, "office", 65536, &c, NULL), 0);
        assert_int_equal(lstat(fifo, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        shim_console_free(c);
        c = NULL;
        assert_int_equal(unlink(fifo), 0);
        tl_write_file(victim, "v", 1);
        assert_int_equal(symlink(victim, fifo), 0);
        assert_int_equal(shim_console_open(root, "office", 65536, &c, NULL), -EPERM);
        assert_null(c);
        assert_int_equal(lstat(fifo, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(unlink(fifo), 0);
        tl_write_file(fifo, "f", 1);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_console_open(root, "office", 65536, &c, &why), -EPERM);
        assert_non_null(strstr(why, "the stack's console.pipe is not a FIFO of the shim's"));
        assert_int_equal(unlink(fifo), 0);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fifo_to_log),
                cmocka_unit_test(test_planted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
