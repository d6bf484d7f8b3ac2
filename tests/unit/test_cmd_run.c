/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root, and QEMU for the embedded driver */
/*
 * `ecluse-shim run`: the exit statuses of DESIGN.md for what fails before a
 * domain exists (usage 64, bad manifest 65, missing manifest 66, libvirt
 * unavailable 69), one error line each, nothing left behind; and a VM whose
 * files leave the stack's tree through a link is never set up (65); a
 * run-start record the audit log does not take starts nothing (74).  A
 * manifest is named for its stack (STACK.yaml), a stack's name is its
 * configured manifest.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static const char good[] = "ecluse: 1\n"
                           "stack: cmdrun\n"
                           "licensor: Test\n"
                           "vm:\n"
                           "  memory: 128MiB\n"
                           "  accel: tcg\n"
                           "  kernel: /var/lib/ecluse/stacks/cmdrun/current/vmlinuz\n";

static int run(const char *root, const char *a1, const char *a2, const char *a3, struct tl_result *res) {
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", (char *) root, (char *) "run",
                        (char *) a1, (char *) a2, (char *) a3, NULL};
        tl_run(argv, res);
        return res->status;
}

static int lines(const char *s) {
        int n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static void test_statuses(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *m = tl_strf("%s/cmdrun.yaml", root), *bad = tl_strf("%s/bad.yaml", root);
        tl_write_file(m, good, strlen(good));
        tl_write_file(bad, "ecluse: 1\nstack: Bad Name\n", 26);
        struct tl_result res;

        assert_int_equal(run(root, NULL, NULL, NULL, &res), 64);
        tl_result_free(&res);
        assert_int_equal(run(root, m, "--bogus", NULL, &res), 64);
        tl_result_free(&res);
        assert_int_equal(run(root, m, "--shutdown-timeout", "soon", &res), 64);
        tl_result_free(&res);

        _cleanup_free_ char *missing = tl_strf("%s/missing.yaml", root);
        assert_int_equal(run(root, missing, NULL, NULL, &res), 66);
        tl_result_free(&res);

        assert_int_equal(run(root, bad, NULL, NULL, &res), 65);
        assert_non_null(strstr(res.err, "bad.yaml:"));
        tl_result_free(&res);

        /* the embedded driver is not chosen with --connect */
        char *argv_embed[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "--connect",
                              (char *) "qemu:///embed?root=/x", (char *) "run", m, NULL};
        tl_run(argv_embed, &res);
        assert_int_equal(res.status, 64);
        tl_result_free(&res);

        /* the kernel missing under the root: 66; a link out of the tree: 65; nothing set up */
        tl_require(geteuid() == 0, "root (run's checks past the manifest)");
        _cleanup_free_ char *sock = tl_strf("%s/run/ecluse/cmdrun.sock", root);
        _cleanup_free_ char *stack = tl_strf("%s/var/lib/ecluse/stacks/cmdrun", root),
                            *current = tl_strf("%s/current", stack), *kernel = tl_strf("%s/vmlinuz", current),
                            *log = tl_strf("%s/var/lib/ecluse/audit.log", root);
        tl_mkdir_p(current);
        assert_int_equal(run(root, m, NULL, NULL, &res), 66);
        assert_non_null(strstr(res.err, "cmdrun.yaml:7:11: error: 'vm.kernel': /var/lib/ecluse/stacks/cmdrun/current/"
                                        "vmlinuz does not exist\n"));
        tl_result_free(&res);
        /* the same by the stack's name: its configured manifest */
        _cleanup_free_ char *conf = tl_strf("%s/etc/ecluse/stacks", root), *conf_m = tl_strf("%s/cmdrun.yaml", conf);
        tl_mkdir_p(conf);
        tl_write_file(conf_m, good, strlen(good));
        assert_int_equal(run(root, "cmdrun", NULL, NULL, &res), 66);
        _cleanup_free_ char *want_conf = tl_strf("%s:7:11: error: 'vm.kernel': ", conf_m);
        assert_non_null(strstr(res.err, want_conf));
        tl_result_free(&res);
        tl_write_file(log, "{}\n", 3);
        assert_int_equal(symlink(log, kernel), 0);
        assert_int_equal(run(root, m, NULL, NULL, &res), 65);
        assert_non_null(strstr(res.err, "cmdrun.yaml:7:11: error: 'vm.kernel': /var/lib/ecluse/stacks/cmdrun/current/"
                                        "vmlinuz is a symbolic link"));
        assert_int_equal(lines(res.err), 1);
        assert_int_not_equal(access(sock, F_OK), 0);
        tl_result_free(&res);
        assert_int_equal(unlink(kernel), 0);
        tl_write_file(kernel, "k", 1);

        /* libvirt unreachable: 69, one line, no control socket left */
        _cleanup_free_ char *uri = tl_strf("qemu+unix:///system?socket=%s/nonexistent/sock", root);
        char *argv_conn[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "--connect", uri,
                             (char *) "run", m, NULL};
        tl_run(argv_conn, &res);
        assert_int_equal(res.status, 69);
        assert_non_null(strstr(res.err, "ecluse-shim: error: cannot connect to libvirt"));
        assert_int_equal(lines(res.err), 1);
        tl_result_free(&res);
        assert_int_not_equal(access(sock, F_OK), 0);
        tl_rm_rf(root);
}

/*
 * The unit of one stack never starts another: a manifest whose file is not
 * named for its stack is refused, one line, 65, before anything is made
 * (no state directory, no control socket, no libvirt); a stack's name is its
 * configured manifest, ROOT/etc/ecluse/stacks/STACK.yaml.
 */
static void test_manifest_named_for_its_stack(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *conf = tl_strf("%s/etc/ecluse/stacks", root), *a = tl_strf("%s/a.yaml", conf),
                            *other = tl_strf("%s/other.yaml", root), *var = tl_strf("%s/var", root),
                            *run_dir = tl_strf("%s/run", root);
        struct tl_result res;

        /* a stack's name: its configured manifest, missing here */
        assert_int_equal(run(root, "a", NULL, NULL, &res), 66);
        assert_non_null(strstr(res.err, a));
        assert_int_equal(lines(res.err), 1);
        tl_result_free(&res);

        /* ecluse-shim run a, where a.yaml is stack cmdrun's manifest; and a file named for no stack */
        tl_mkdir_p(conf);
        tl_write_file(a, good, strlen(good));
        tl_write_file(other, good, strlen(good));
        const char *operands[] = {"a", a, other};
        const char *names[] = {"a.yaml", "a.yaml", "other.yaml"};
        const char *paths[] = {a, a, other};
        for (size_t i = 0; i < ELEMENTSOF(operands); i++) {
                assert_int_equal(run(root, operands[i], NULL, NULL, &res), 65);
                _cleanup_free_ char *want = tl_strf("ecluse-shim: error: %s: its stack is cmdrun: the file must be "
                                                    "named cmdrun.yaml, not '%s'\n",
                                                    paths[i], names[i]);
                assert_string_equal(res.err, want);
                assert_string_equal(res.out, "");
                tl_result_free(&res);
                assert_int_not_equal(access(var, F_OK), 0);
                assert_int_not_equal(access(run_dir, F_OK), 0);
        }
        /* a name that is not a stack's is a file path: this one is missing */
        assert_int_equal(run(root, "A", NULL, NULL, &res), 66);
        assert_null(strstr(res.err, conf));
        tl_result_free(&res);
        tl_rm_rf(root);
}

/* The audit log cannot take the run-start record: EX_IOERR, no domain, no control socket left. */
static void test_audit_unwritable(void **state) {
        (void) state;
        /* the embedded driver, as the shim runs it */
        tl_require(geteuid() == 0 && access("/usr/bin/qemu-system-x86_64", X_OK) == 0, "root and qemu-system-x86_64");
        _cleanup_free_ char *root = tl_mkdtemp();
        assert_int_equal(chmod(root, 0755), 0);
        _cleanup_free_ char *m = tl_strf("%s/cmdrun.yaml", root),
                            *current = tl_strf("%s/var/lib/ecluse/stacks/cmdrun/current", root),
                            *kernel = tl_strf("%s/vmlinuz", current),
                            *log = tl_strf("%s/var/lib/ecluse/audit.log", root),
                            *sock = tl_strf("%s/run/ecluse/cmdrun.sock", root);
        tl_write_file(m, good, strlen(good));
        tl_mkdir_p(current);
        tl_write_file(kernel, "k", 1);
        tl_mkdir_p(log); /* appends to it fail */
        struct tl_result res;
        assert_int_equal(run(root, m, NULL, NULL, &res), 74);
        assert_non_null(strstr(res.err, "stack cmdrun not started: its run-start record cannot be written"));
        tl_result_free(&res);
        assert_int_not_equal(access(sock, F_OK), 0);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_statuses),
                cmocka_unit_test(test_manifest_named_for_its_stack),
                cmocka_unit_test(test_audit_unwritable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
