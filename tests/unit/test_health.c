/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent/health.c without a shim: the health line matched as plain text over
 * chunks, and the console files followed from a boot's mark (offset, inode,
 * generation) through rotations, in a scratch stack directory; and the
 * wait's refusals (no shim, bad arguments).  Against a real shim and guest:
 * tests/unit/test_health_system.c, run by tests/e2e/test_reload_health.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health.h"
#include "testlib.h"

/* ---- the line match ---- */

static bool feed_in(const char *needle, const char *text, size_t chunk) {
        struct agent_line_match m;
        assert_int_equal(agent_line_match_init(&m, needle, NULL), 0);
        size_t n = strlen(text);
        bool found = false;
        for (size_t i = 0; i < n; i += chunk)
                found = agent_line_match_feed(&m, text + i, n - i < chunk ? n - i : chunk);
        return found;
}

static void test_match_plain_and_split(void **state) {
        (void) state;
        const char *text = "ECLUSE-GUEST booting\r\nECLUSE-RELEASE 2\r\nmore\r\n";
        /* every chunk size: the line is split at every place across reads */
        for (size_t chunk = 1; chunk <= strlen(text); chunk++) {
                assert_true(feed_in("ECLUSE-RELEASE 2", text, chunk));
                assert_false(feed_in("ECLUSE-RELEASE 1", text, chunk));
                assert_true(feed_in("more", text, chunk));
        }
        /* a line only: never across a line break */
        for (size_t chunk = 1; chunk < 12; chunk++) {
                assert_false(feed_in("APP READY", "APP\nREADY\n", chunk));
                assert_false(feed_in("APP READY", "APP\r\n READY", chunk));
                assert_true(feed_in("APP READY", "x\nAPP\n--APP READY--", chunk));
        }
        /* plain text, no pattern */
        assert_false(feed_in("a.*b", "axxb\n", 2));
        assert_true(feed_in("a.*b", "say a.*b\n", 2));
        assert_false(feed_in("READY$", "READY\n", 1));
        /* NUL bytes in the output do not end the scan */
        struct agent_line_match m;
        assert_int_equal(agent_line_match_init(&m, "UP", NULL), 0);
        assert_false(agent_line_match_feed(&m, "\0\0U", 3));
        assert_true(agent_line_match_feed(&m, "P\0", 2));
        assert_true(agent_line_match_feed(&m, "zzz", 3)); /* found stays found */
}

static void test_match_refuses(void **state) {
        (void) state;
        struct agent_line_match m;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_line_match_init(&m, "", &why), -EINVAL);
        assert_int_equal(agent_line_match_init(&m, NULL, NULL), -EINVAL);
        assert_int_equal(agent_line_match_init(&m, "two\nlines", NULL), -EINVAL);
        assert_int_equal(agent_line_match_init(&m, "cr\r", NULL), -EINVAL);
        char long_line[AGENT_HEALTH_LINE_MAX + 2];
        memset(long_line, 'x', sizeof long_line - 1);
        long_line[sizeof long_line - 1] = '\0';
        assert_int_equal(agent_line_match_init(&m, long_line, NULL), -EINVAL);
        long_line[AGENT_HEALTH_LINE_MAX] = '\0';
        assert_int_equal(agent_line_match_init(&m, long_line, NULL), 0);
        /* the longest line, split into chunks of 7 */
        char text[AGENT_HEALTH_LINE_MAX + 8];
        snprintf(text, sizeof text, "ab%s\n", long_line);
        assert_true(feed_in(long_line, text, 7));
}

/* ---- following the files ---- */

struct dir {
        char *path;
        int fd;
};

static void dir_open(struct dir *d) {
        d->path = tl_mkdtemp();
        d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(d->fd >= 0);
}

static void dir_close(struct dir *d) {
        close(d->fd);
        tl_rm_rf(d->path);
        free(d->path);
}

/* Append text to name in d (created when missing), as the shim does. */
static void append(struct dir *d, const char *name, const char *text) {
        int fd = openat(d->fd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static struct stat stat_of(struct dir *d, const char *name) {
        struct stat st;
        assert_int_equal(fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st;
}

/* The shim's rotation: console.log becomes console.log.1, a new console.log begins. */
static void rotate(struct dir *d) {
        assert_int_equal(renameat(d->fd, "console.log", d->fd, "console.log.1"), 0);
        append(d, "console.log", "");
}

/* The mark the shim would give now: console.log's size and inode. */
static void mark_now(struct dir *d, uint64_t generation, struct agent_console_follow *f) {
        struct stat st = stat_of(d, "console.log");
        agent_console_follow_init(f, (uint64_t) st.st_size, (uint64_t) st.st_ino, generation);
}

static int follow(struct agent_console_follow *f, struct dir *d, uint64_t gen_now, struct agent_line_match *m,
                  size_t chunk) {
        _cleanup_free_ char *why = NULL;
        int r = agent_console_follow_read(f, d->fd, gen_now, m, chunk, AGENT_HEALTH_READ_MAX, &why);
        if (r < 0)
                print_message("follow: %s\n", why ? why : "?");
        return r;
}

static void test_follow_from_the_mark(void **state) {
        (void) state;
        for (size_t chunk = 1; chunk <= 9; chunk += 4) {
                struct dir d;
                dir_open(&d);
                /* the previous boot printed its line: before the mark, it does not count */
                append(&d, "console.log", "ECLUSE-GUEST booting\r\nECLUSE-RELEASE 1\r\nECLUSE-REL");
                struct agent_console_follow f;
                mark_now(&d, 0, &f);
                struct agent_line_match m1, m2;
                assert_int_equal(agent_line_match_init(&m1, "ECLUSE-RELEASE 1", NULL), 0);
                assert_int_equal(agent_line_match_init(&m2, "ECLUSE-RELEASE 2", NULL), 0);
                assert_int_equal(follow(&f, &d, 0, &m1, chunk), 0);
                /* the new boot, its line split over two writes and several reads */
                append(&d, "console.log", "EASE 1\r\nECLUSE-GUEST booting\r\nECLUSE-RELE");
                assert_int_equal(follow(&f, &d, 0, &m1, chunk), 0); /* "ECLUSE-REL" + "EASE 1" straddles the mark */
                struct agent_console_follow f2;
                agent_console_follow_init(&f2, f.offset, f.inode, f.generation);
                assert_int_equal(follow(&f2, &d, 0, &m2, chunk), 0);
                append(&d, "console.log", "ASE 2\r\n");
                assert_int_equal(follow(&f2, &d, 0, &m2, chunk), 1);
                assert_int_equal(follow(&f, &d, 0, &m1, chunk), 0);
                agent_console_follow_done(&f);
                agent_console_follow_done(&f2);
                dir_close(&d);
        }
}

static void test_follow_one_rotation(void **state) {
        (void) state;
        struct dir d;
        dir_open(&d);
        append(&d, "console.log.1", "ECLUSE-RELEASE 2\r\n"); /* an older file: before the mark */
        append(&d, "console.log", "old boot\r\n");
        struct agent_console_follow f;
        mark_now(&d, 3, &f);
        struct agent_line_match m;
        assert_int_equal(agent_line_match_init(&m, "ECLUSE-RELEASE 2", NULL), 0);
        append(&d, "console.log", "boot\r\nECLUSE-RELEA");
        assert_int_equal(follow(&f, &d, 3, &m, 4), 0);
        /* the line goes on in the marked file, then the log rotates (at the cap, not at a line): the
         * marked file is read to its end, and the line goes on in the new one */
        append(&d, "console.log", "SE ");
        rotate(&d);
        assert_int_equal(follow(&f, &d, 4, &m, 4), 0);
        append(&d, "console.log", "2\r\n");
        assert_int_equal(follow(&f, &d, 4, &m, 4), 1);
        agent_console_follow_done(&f);
        dir_close(&d);
}

static void test_follow_rotated_before_the_first_read(void **state) {
        (void) state;
        struct dir d;
        dir_open(&d);
        append(&d, "console.log", "ECLUSE-RELEASE 1\r\n");
        struct agent_console_follow f;
        mark_now(&d, 0, &f);
        append(&d, "console.log", "x\r\nECLUSE-RELEASE 2\r\n");
        rotate(&d);
        append(&d, "console.log", "later\r\n");
        struct agent_line_match m1, m2;
        assert_int_equal(agent_line_match_init(&m1, "ECLUSE-RELEASE 1", NULL), 0);
        assert_int_equal(agent_line_match_init(&m2, "ECLUSE-RELEASE 2", NULL), 0);
        /* the status said generation 1: the marked file is console.log.1, read from the mark */
        struct agent_console_follow g = f;
        assert_int_equal(follow(&f, &d, 1, &m1, 5), 0);
        assert_int_equal(follow(&g, &d, 1, &m2, 5), 1);
        agent_console_follow_done(&f);
        agent_console_follow_done(&g);
        dir_close(&d);
}

static void test_follow_two_rotations(void **state) {
        (void) state;
        struct dir d;
        dir_open(&d);
        append(&d, "console.log", "ECLUSE-RELEASE 1\r\n");
        struct agent_console_follow f;
        mark_now(&d, 5, &f);
        append(&d, "console.log", "lost to the second rotation\r\n");
        rotate(&d);
        append(&d, "console.log", "ECLUSE-RELEASE 2\r\n");
        rotate(&d); /* the marked file is gone; console.log.1 is all after the mark */
        append(&d, "console.log", "ECLUSE-RELEASE 3\r\n");
        struct agent_line_match m1, m2, m3;
        assert_int_equal(agent_line_match_init(&m1, "ECLUSE-RELEASE 1", NULL), 0);
        assert_int_equal(agent_line_match_init(&m2, "ECLUSE-RELEASE 2", NULL), 0);
        assert_int_equal(agent_line_match_init(&m3, "ECLUSE-RELEASE 3", NULL), 0);
        struct agent_console_follow g = f, h = f;
        assert_int_equal(follow(&f, &d, 7, &m1, 64), 0);
        assert_int_equal(follow(&g, &d, 7, &m2, 64), 1);
        assert_int_equal(follow(&h, &d, 7, &m3, 64), 1);
        agent_console_follow_done(&f);
        agent_console_follow_done(&g);
        agent_console_follow_done(&h);
        dir_close(&d);
}

static void test_follow_waits_and_refuses(void **state) {
        (void) state;
        struct dir d;
        dir_open(&d);
        struct agent_line_match m;
        assert_int_equal(agent_line_match_init(&m, "UP", NULL), 0);
        struct agent_console_follow f;
        /* no console.log yet */
        agent_console_follow_init(&f, 0, 12345, 0);
        assert_int_equal(follow(&f, &d, 0, &m, 8), 0);
        /* console.log, but not the marked file (a rotation raced the status): nothing of it is read */
        append(&d, "console.log", "UP\n");
        assert_int_equal(follow(&f, &d, 0, &m, 8), 0);
        assert_false(m.found);
        /* the generation went back: another shim */
        mark_now(&d, 4, &f);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_console_follow_read(&f, d.fd, 3, &m, 8, 64, &why), -EPROTO);
        assert_non_null(why);
        /* a link is never followed */
        assert_int_equal(unlinkat(d.fd, "console.log", 0), 0);
        assert_int_equal(symlinkat("/etc/passwd", d.fd, "console.log"), 0);
        agent_console_follow_init(&f, 0, 1, 0);
        free(why);
        why = NULL;
        assert_int_equal(agent_console_follow_read(&f, d.fd, 0, &m, 8, 64, &why), -ELOOP);
        assert_non_null(strstr(why, "console.log"));
        dir_close(&d);
}

static void test_follow_bounded(void **state) {
        (void) state;
        struct dir d;
        dir_open(&d);
        append(&d, "console.log", "");
        struct agent_console_follow f;
        mark_now(&d, 0, &f);
        char big[5000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        append(&d, "console.log", big);
        append(&d, "console.log", "\nUP\n");
        struct agent_line_match m;
        assert_int_equal(agent_line_match_init(&m, "UP", NULL), 0);
        /* 1000 bytes a call: the line comes on the sixth */
        int calls = 0, r = 0;
        while (r == 0 && calls < 10) {
                r = agent_console_follow_read(&f, d.fd, 0, &m, 100, 1000, NULL);
                calls++;
        }
        assert_int_equal(r, 1);
        assert_int_equal(calls, 6);
        agent_console_follow_done(&f);
        dir_close(&d);
}

/* ---- the wait's refusals ---- */

static void test_wait_without_a_shim(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *why = NULL;
        uint64_t boot = 99;
        assert_int_equal(agent_shim_reload(root, "office", &boot, &why), -ESRCH);
        assert_int_equal(boot, 99);
        assert_non_null(strstr(why, "office"));
        struct agent_health h = {.console_line = "UP", .timeout_ms = 2000, .settle_ms = 0};
        free(why);
        why = NULL;
        assert_int_equal(agent_health_wait(root, "office", 1, &h, &why), -ESRCH);
        assert_non_null(strstr(why, "gone after the reload"));
        h.timeout_ms = 0;
        assert_int_equal(agent_health_wait(root, "office", 1, &h, NULL), -EINVAL);
        h.timeout_ms = 10;
        h.console_line = "a\nb";
        assert_int_equal(agent_health_wait(root, "office", 1, &h, NULL), -EINVAL);
        assert_int_equal(agent_health_wait(root, "../x", 1, &h, NULL), -EINVAL);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match_plain_and_split),
                cmocka_unit_test(test_match_refuses),
                cmocka_unit_test(test_follow_from_the_mark),
                cmocka_unit_test(test_follow_one_rotation),
                cmocka_unit_test(test_follow_rotated_before_the_first_read),
                cmocka_unit_test(test_follow_two_rotations),
                cmocka_unit_test(test_follow_waits_and_refuses),
                cmocka_unit_test(test_follow_bounded),
                cmocka_unit_test(test_wait_without_a_shim),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
