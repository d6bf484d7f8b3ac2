/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent/release under a crash and a concurrent reader: current is never
 * missing nor a third value while it is switched back and forth, and a
 * SIGKILL at several points of a stage or of switches leaves, after
 * agent_release_recover(), only complete releases and current unchanged.
 */
#include "release-fixture.h"
static volatile sig_atomic_t stop_reading;
static void on_term(int sig) {
        (void) sig;
        stop_reading = 1;
}

/*
 * A reader that readlinks current without pause while the test switches it
 * back and forth: it must never find current missing or anything but the
 * two links.  Exit 0: both seen, nothing else; 1: missing; 2: another value;
 * 3: not both seen.
 */
static _Noreturn void reader(int stack_fd, int ready_fd) {
        struct sigaction sa = {.sa_handler = on_term};
        sigaction(SIGTERM, &sa, NULL);
        bool seen1 = false, seen2 = false;
        (void) !write(ready_fd, "r", 1);
        close(ready_fd);
        while (!stop_reading) {
                char buf[64];
                ssize_t n = readlinkat(stack_fd, "current", buf, sizeof buf - 1);
                if (n < 0)
                        _exit(1);
                buf[n] = '\0';
                if (streq(buf, "releases/1.0"))
                        seen1 = true;
                else if (streq(buf, "releases/2.0"))
                        seen2 = true;
                else
                        _exit(2);
        }
        _exit(seen1 && seen2 ? 0 : 3);
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void test_switch_atomic(void **state) {
        struct fixture *fx = *state;
        stage_ok(fx, "1.0");
        stage_ok(fx, "2.0");
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", NULL), 0);
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                reader(fx->stack_fd, p[1]);
        }
        close(p[1]);
        char c;
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        /* as many switches as fit in a few seconds (each fsyncs the directory), at least a few hundred */
        double end = now_s() + 4;
        int i = 0;
        for (; i < 20000 && (i < 400 || now_s() < end); i++) {
                _cleanup_free_ char *why = NULL;
                int r = agent_release_switch(fx->stack_fd, i % 2 ? "1.0" : "2.0", &why);
                if (r < 0)
                        fail_msg("switch %d: %s", i, ecl_reason_text(why, r));
        }
        assert_int_equal(kill(pid, SIGTERM), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
                fail_msg("reader saw current %s after up to %d switches",
                         WEXITSTATUS(status) == 1   ? "missing"
                         : WEXITSTATUS(status) == 2 ? "a third value"
                                                    : "not change",
                         i);
}

/* ---- listing and recovery ----------------------------------------------------- */

static void test_crash_while_staging(void **state) {
        struct fixture *fx = *state;
        stage_ok(fx, "1.0");
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", NULL), 0);
        /* replace the payload by a larger one: 4 files of 8 MiB */
        for (size_t i = 0; i < fx->n; i++) {
                free(fx->files[i].install);
                free(fx->files[i].path);
        }
        fx->n = 0;
        add_file(fx, "a.img", 8 << 20, 11);
        add_file(fx, "b.img", 8 << 20, 12);
        add_file(fx, "c.img", 8 << 20, 13);
        add_file(fx, "d.img", 8 << 20, 14);

        static const unsigned delays_ms[] = {0, 1, 3, 7, 15, 30, 60, 120, 250, 500, 1000, 4000};
        int interrupted = 0, completed = 0;
        for (size_t i = 0; i < ELEMENTSOF(delays_ms); i++) {
                _cleanup_free_ char *version = tl_strf("2.%zu", i);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        int r = agent_release_stage(fx->stack_fd, version, fx->src_fd, fx->files, fx->n, NULL);
                        _exit(r == 0 ? 0 : 1);
                }
                usleep(delays_ms[i] * 1000);
                kill(pid, SIGKILL);
                int status = 0;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (WIFEXITED(status))
                        assert_int_equal(WEXITSTATUS(status), 0);

                _cleanup_free_ char *why = NULL;
                int removed = agent_release_recover(fx->stack_fd, &why);
                if (removed < 0)
                        fail_msg("recover: %s", ecl_reason_text(why, removed));
                if (removed > 0)
                        interrupted++;
                _cleanup_strv_free_ char **v = NULL;
                assert_true(agent_release_list(fx->stack_fd, &v, NULL) >= 1);
                bool have = false;
                for (char **x = v; *x; x++) {
                        if (streq(*x, "1.0"))
                                continue;
                        assert_string_equal(*x, version); /* earlier complete ones were removed below */
                        int r = agent_release_verify(fx->stack_fd, *x, fx->files, fx->n, &why);
                        if (r < 0)
                                fail_msg("after a SIGKILL at %u ms: %s", delays_ms[i], ecl_reason_text(why, r));
                        have = true;
                }
                if (have) {
                        completed++;
                        _cleanup_free_ char *p = tl_strf("%s/releases/%s", fx->stack, version);
                        tl_rm_rf(p);
                }
                _cleanup_free_ char *cur = NULL;
                assert_int_equal(agent_release_current(fx->stack_fd, &cur, NULL), 0);
                assert_string_equal(cur, "1.0");
                _cleanup_free_ char *rel = pathf(fx, "releases");
                _cleanup_free_ char *l = listing(rel);
                assert_null(strstr(l, ".stage-"));
        }
        /* the test did kill stages half-way, and let some finish */
        assert_true(interrupted > 0);
        assert_true(completed > 0);
}

/* SIGKILL a child switching current back and forth: current is always one release or the other. */
static void test_crash_while_switching(void **state) {
        struct fixture *fx = *state;
        stage_ok(fx, "1.0");
        stage_ok(fx, "2.0");
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", NULL), 0);
        static const unsigned delays_us[] = {0, 50, 200, 500, 1000, 2000, 5000, 10000, 20000};
        for (size_t i = 0; i < ELEMENTSOF(delays_us); i++) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        for (unsigned k = 0;; k++)
                                (void) agent_release_switch(fx->stack_fd, k % 2 ? "1.0" : "2.0", NULL);
                }
                usleep(delays_us[i]);
                kill(pid, SIGKILL);
                assert_int_equal(waitpid(pid, NULL, 0), pid);
                assert_true(agent_release_recover(fx->stack_fd, NULL) >= 0);
                _cleanup_free_ char *v = NULL, *why = NULL;
                int r = agent_release_current(fx->stack_fd, &v, &why);
                if (r < 0)
                        fail_msg("after a SIGKILL at %u us: %s", delays_us[i], ecl_reason_text(why, r));
                assert_true(streq(v, "1.0") || streq(v, "2.0"));
                _cleanup_free_ char *cn = pathf(fx, ".current.new");
                struct stat st;
                assert_int_equal(lstat(cn, &st), -1);
        }
}

/* ---- what a release holds, compared with a bundle -------------------------------- */

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_switch_atomic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_while_staging, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_while_switching, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
