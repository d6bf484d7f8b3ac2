/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ecluse-shim list` (shim/cmd-list.c), run as a program under a --root: the
 * configured stacks with their states, stopped (no shim), invalid (65 once
 * every row is printed), teardown-failed, and what a shim answering on its
 * control socket (served by a child here) reports; a missing directory is 66.
 */
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "testlib.h"

static const char manifest_fmt[] = "ecluse: 1\n"
                                   "stack: %s\n"
                                   "licensor: Test\n"
                                   "vm:\n"
                                   "  memory: 128MiB\n"
                                   "  accel: tcg\n"
                                   "  kernel: /var/lib/ecluse/stacks/%s/current/vmlinuz\n";

static void configure(const char *root, const char *file, const char *stack) {
        _cleanup_free_ char *p = tl_strf("%s/etc/ecluse/stacks/%s", root, file),
                            *text = tl_strf(manifest_fmt, stack, stack);
        tl_write_file(p, text, strlen(text));
}

static int list(const char *root, bool json, struct tl_result *res) {
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", (char *) root, (char *) "list", NULL, NULL};
        if (json) {
                argv[3] = (char *) "--json";
                argv[4] = (char *) "list";
        }
        tl_run(argv, res);
        return res->status;
}

static size_t lines(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static void test_no_directory(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        struct tl_result res;
        assert_int_equal(list(root, false, &res), 66);
        assert_string_equal(res.out, "");
        _cleanup_free_ char *want = tl_strf("ecluse-shim: error: no stacks directory %s/etc/ecluse/stacks (each "
                                            "stack is configured as %s/etc/ecluse/stacks/STACK.yaml)\n",
                                            root, root);
        assert_string_equal(res.err, want);
        tl_result_free(&res);
        assert_int_equal(list(root, true, &res), 66);
        assert_string_equal(res.out, "");
        assert_int_equal(lines(res.err), 1);
        tl_result_free(&res);

        /* an operand is a usage error */
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "list", (char *) "x", NULL};
        tl_run(argv, &res);
        assert_int_equal(res.status, 64);
        tl_result_free(&res);
        tl_rm_rf(root);
}

static void test_stopped_and_invalid(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/etc/ecluse/stacks", root);
        tl_mkdir_p(dir);
        struct tl_result res;

        assert_int_equal(list(root, false, &res), 0);
        _cleanup_free_ char *none = tl_strf("no stacks configured in %s\n", dir);
        assert_string_equal(res.out, none);
        tl_result_free(&res);
        assert_int_equal(list(root, true, &res), 0);
        assert_string_equal(res.out, "[]\n");
        tl_result_free(&res);

        configure(root, "beta.yaml", "beta");
        configure(root, "a.yaml", "a");
        _cleanup_free_ char *readme = tl_strf("%s/README", dir);
        tl_write_file(readme, "x", 1);
        assert_int_equal(list(root, false, &res), 0);
        _cleanup_free_ char *table = tl_strf("STACK STATE   MANIFEST\n"
                                             "a     stopped %s/a.yaml\n"
                                             "beta  stopped %s/beta.yaml\n",
                                             dir, dir);
        assert_string_equal(res.out, table);
        _cleanup_free_ char *warn = tl_strf("ecluse-shim: warning: skipped %s/README: not a STACK.yaml file\n", dir);
        assert_string_equal(res.err, warn);
        tl_result_free(&res);

        /* a manifest that does not load, one for another stack: invalid, every row printed, 65 */
        _cleanup_free_ char *broken = tl_strf("%s/broken.yaml", dir);
        tl_write_file(broken, "ecluse: 1\nstack: broken\n", strlen("ecluse: 1\nstack: broken\n"));
        configure(root, "other.yaml", "a");
        assert_int_equal(list(root, false, &res), 65);
        _cleanup_free_ char *table2 = tl_strf("STACK  STATE   MANIFEST\n"
                                              "a      stopped %s/a.yaml\n"
                                              "beta   stopped %s/beta.yaml\n"
                                              "broken invalid %s/broken.yaml\n"
                                              "other  invalid %s/other.yaml\n",
                                              dir, dir, dir, dir);
        assert_string_equal(res.out, table2);
        assert_non_null(strstr(res.err, "broken.yaml:1:1: error: missing key 'licensor'"));
        _cleanup_free_ char *mismatch = tl_strf("ecluse-shim: error: %s/other.yaml: its stack is a: the file must be "
                                                "named a.yaml, not 'other.yaml'\n",
                                                dir);
        assert_non_null(strstr(res.err, mismatch));
        tl_result_free(&res);

        assert_int_equal(list(root, true, &res), 65);
        json_auto_t *all = json_loads(res.out, 0, NULL);
        assert_true(json_is_array(all));
        assert_int_equal(json_array_size(all), 4);
        const char *want[][2] = {{"a", "stopped"}, {"beta", "stopped"}, {"broken", "invalid"}, {"other", "invalid"}};
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                json_t *o = json_array_get(all, i);
                assert_int_equal(json_object_size(o), 3);
                assert_string_equal(json_string_value(json_object_get(o, "stack")), want[i][0]);
                assert_string_equal(json_string_value(json_object_get(o, "state")), want[i][1]);
                _cleanup_free_ char *m = tl_strf("%s/%s.yaml", dir, want[i][0]);
                assert_string_equal(json_string_value(json_object_get(o, "manifest")), m);
        }
        tl_result_free(&res);
        tl_rm_rf(root);
}

static int held_handler(const char *request, const struct shim_control_peer *peer, json_t **ret, void *userdata) {
        (void) peer;
        *ret = json_pack("{s:s,s:s}", "stack", (const char *) userdata, "state",
                         streq(request, "status") ? "held" : "?");
        return *ret ? 0 : -ENOMEM;
}

/* What a running shim reports; a shim gone after a failed clean-up. */
static void test_running_and_failed(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/etc/ecluse/stacks", root);
        tl_mkdir_p(dir);
        configure(root, "alpha.yaml", "alpha");
        configure(root, "gone.yaml", "gone");
        configure(root, "idle.yaml", "idle");

        _cleanup_control_ struct shim_control *alpha = NULL, *gone = NULL;
        assert_int_equal(shim_control_listen(root, "alpha", SHIM_CONTROL_NO_GROUP, &alpha, NULL), 0);
        assert_int_equal(shim_control_listen(root, "gone", SHIM_CONTROL_NO_GROUP, &gone, NULL), 0);
        assert_int_equal(shim_control_mark_failed(gone, "gone", "Device or resource busy", NULL), 0);
        shim_control_free(TAKE_PTR(gone));

        pid_t server = fork();
        assert_true(server >= 0);
        if (server == 0) {
                /* gone with the test, even when an assertion ends it first */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
                        _exit(1);
                for (;;) {
                        struct pollfd p = {.fd = shim_control_fd(alpha), .events = POLLIN};
                        if (poll(&p, 1, 60000) != 1)
                                _exit(1);
                        (void) shim_control_handle(alpha, held_handler, (void *) "alpha", NULL);
                }
        }

        struct tl_result res;
        assert_int_equal(list(root, false, &res), 70);
        _cleanup_free_ char *table = tl_strf("STACK STATE           MANIFEST\n"
                                             "alpha held            %s/alpha.yaml\n"
                                             "gone  teardown-failed %s/gone.yaml\n"
                                             "idle  stopped         %s/idle.yaml\n",
                                             dir, dir, dir);
        assert_string_equal(res.out, table);
        assert_string_equal(res.err, "ecluse-shim: error: stack gone: its shim is gone and its clean-up failed: "
                                     "Device or resource busy (domain, tap or rules may remain; see its log)\n");
        tl_result_free(&res);

        assert_int_equal(list(root, true, &res), 70);
        json_auto_t *all = json_loads(res.out, 0, NULL);
        assert_int_equal(json_array_size(all), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "state")), "held");
        tl_result_free(&res);

        /* its manifest edited into something invalid: still shown as what its shim says, and 65 */
        _cleanup_free_ char *alpha_yaml = tl_strf("%s/alpha.yaml", dir);
        tl_write_file(alpha_yaml, "ecluse: 1\nstack: alpha\n", strlen("ecluse: 1\nstack: alpha\n"));
        assert_int_equal(list(root, false, &res), 65);
        assert_non_null(strstr(res.out, "\nalpha held "));
        tl_result_free(&res);

        /* its manifest removed: a row without one, and a notice, never hidden */
        assert_int_equal(unlink(alpha_yaml), 0);
        assert_int_equal(list(root, true, &res), 70);
        json_decref(all);
        all = json_loads(res.out, 0, NULL);
        assert_int_equal(json_array_size(all), 3);
        json_t *last = json_array_get(all, 2);
        assert_string_equal(json_string_value(json_object_get(last, "stack")), "alpha");
        assert_string_equal(json_string_value(json_object_get(last, "state")), "held");
        assert_true(json_is_null(json_object_get(last, "manifest")));
        assert_non_null(strstr(res.err, "notice: stack alpha is held but not configured"));
        tl_result_free(&res);
        assert_int_equal(list(root, false, &res), 70);
        assert_non_null(strstr(res.out, "\nalpha held            -\n"));
        tl_result_free(&res);

        kill(server, SIGKILL);
        assert_int_equal(waitpid(server, NULL, 0), server);
        shim_control_free(TAKE_PTR(alpha));
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_directory),
                cmocka_unit_test(test_stopped_and_invalid),
                cmocka_unit_test(test_running_and_failed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
