/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ecluse-shim validate` under --root: the kernel, initrd and disks that
 * exist there resolve in the stack's own tree through no link but
 * current -> releases/VERSION; the ones not there yet are no error.  (The
 * manifests themselves are the corpus's business: test_manifest_corpus.c.)  And the
 * configured stacks: every one without an operand, one by its name.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define STACK_DIR "/var/lib/ecluse/stacks/vt"

static const char manifest[] = "ecluse: 1\n"
                               "stack: vt\n"
                               "licensor: Test\n"
                               "vm:\n"
                               "  memory: 128MiB\n"
                               "  kernel: " STACK_DIR "/current/vmlinuz\n"
                               "  initrd: " STACK_DIR "/current/initrd\n"
                               "  disks:\n"
                               "    - path: " STACK_DIR "/data/disk.raw\n"
                               "      format: raw\n";

static void mkdirs(const char *root, const char *rel) {
        _cleanup_free_ char *p = tl_strf("%s/%s", root, rel);
        tl_mkdir_p(p);
}

static void put(const char *root, const char *rel) {
        _cleanup_free_ char *p = tl_strf("%s/%s", root, rel);
        tl_write_file(p, "x", 1);
}

static void ln(const char *root, const char *target, const char *rel) {
        _cleanup_free_ char *p = tl_strf("%s/%s", root, rel);
        if (symlink(target, p) < 0)
                fail_msg("symlink %s: %s", p, strerror(errno));
}

static int validate(const char *root, const char *path, bool json, struct tl_result *res) {
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", (char *) root, (char *) "validate",
                        (char *) path, NULL, NULL};
        if (json) {
                argv[3] = (char *) "--json";
                argv[4] = (char *) "validate";
                argv[5] = (char *) path;
        }
        tl_run(argv, res);
        return res->status;
}

static void test_files_under_root(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *m = tl_strf("%s/vt.yaml", root);
        tl_write_file(m, manifest, strlen(manifest));
        struct tl_result res;

        /* Nothing applied yet: fine at validate time (run needs the files). */
        assert_int_equal(validate(root, m, false, &res), 0);
        assert_string_equal(res.err, "");
        tl_result_free(&res);

        /* A release behind current, a data disk: fine. */
        mkdirs(root, STACK_DIR "/releases/1");
        mkdirs(root, STACK_DIR "/data");
        put(root, STACK_DIR "/releases/1/vmlinuz");
        put(root, STACK_DIR "/releases/1/initrd");
        put(root, STACK_DIR "/data/disk.raw");
        _cleanup_free_ char *disk0 = tl_strf("%s" STACK_DIR "/data/disk.raw", root);
        assert_int_equal(chmod(disk0, 0600), 0); /* a disk is its owner's alone */
        ln(root, "releases/1", STACK_DIR "/current");
        assert_int_equal(validate(root, m, false, &res), 0);
        _cleanup_free_ char *ok = tl_strf("%s: ok (stack vt)\n", m);
        assert_string_equal(res.out, ok);
        tl_result_free(&res);

        /* The initrd a link to the audit log, the disk a link into the release: both refused, at their lines. */
        mkdirs(root, "var/lib/ecluse");
        put(root, "var/lib/ecluse/audit.log");
        _cleanup_free_ char *initrd = tl_strf("%s" STACK_DIR "/releases/1/initrd", root),
                            *disk = tl_strf("%s" STACK_DIR "/data/disk.raw", root);
        assert_int_equal(unlink(initrd), 0);
        assert_int_equal(symlink("../../../../audit.log", initrd), 0);
        assert_int_equal(unlink(disk), 0);
        assert_int_equal(symlink("../current/vmlinuz", disk), 0);
        assert_int_equal(validate(root, m, false, &res), 65);
        _cleanup_free_ char *expect = tl_strf(
                "%s:7:11: error: 'vm.initrd': " STACK_DIR "/current/initrd is a symbolic link (no link is followed "
                "in the stack's tree but current -> releases/VERSION)\n"
                "%s:9:13: error: 'vm.disks[0].path': " STACK_DIR "/data/disk.raw is a symbolic link (no link is "
                "followed in the stack's tree but current -> releases/VERSION)\n",
                m, m);
        assert_string_equal(res.err, expect);
        assert_string_equal(res.out, "");
        tl_result_free(&res);
        assert_int_equal(validate(root, m, true, &res), 65);
        assert_non_null(strstr(res.out, "\"ok\":false"));
        assert_non_null(strstr(res.out, "\"line\":9"));
        tl_result_free(&res);

        /* current pointing out of releases/: refused, whatever it points to. */
        assert_int_equal(unlink(initrd), 0);
        put(root, STACK_DIR "/releases/1/initrd");
        assert_int_equal(unlink(disk), 0);
        put(root, STACK_DIR "/data/disk.raw");
        _cleanup_free_ char *current = tl_strf("%s" STACK_DIR "/current", root);
        assert_int_equal(unlink(current), 0);
        assert_int_equal(symlink("../other/current", current), 0);
        assert_int_equal(validate(root, m, false, &res), 65);
        assert_non_null(strstr(res.err, ":6:11: error: 'vm.kernel': " STACK_DIR "/current points to "
                                        "'../other/current', not to releases/VERSION"));
        assert_non_null(strstr(res.err, ":7:11: error: 'vm.initrd': "));
        tl_result_free(&res);
        tl_rm_rf(root);
}

/*
 * The files themselves: a disk others may read (its data) and a file with a
 * second name elsewhere (libvirt would hand that name to QEMU's user too:
 * the audit log, say) are refused at their lines.
 */
static void test_file_modes_and_links(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *m = tl_strf("%s/vt.yaml", root);
        tl_write_file(m, manifest, strlen(manifest));
        mkdirs(root, STACK_DIR "/releases/1");
        mkdirs(root, STACK_DIR "/data");
        put(root, STACK_DIR "/releases/1/vmlinuz");
        put(root, STACK_DIR "/releases/1/initrd");
        put(root, STACK_DIR "/data/disk.raw");
        ln(root, "releases/1", STACK_DIR "/current");
        _cleanup_free_ char *disk = tl_strf("%s" STACK_DIR "/data/disk.raw", root);
        struct tl_result res;
        assert_int_equal(chmod(disk, 0640), 0);
        assert_int_equal(validate(root, m, false, &res), 65);
        _cleanup_free_ char *want = tl_strf("%s:9:13: error: 'vm.disks[0].path': " STACK_DIR "/data/disk.raw is open to other users (mode 0640): "
                                            "a disk holds the stack's data (chmod 0600 it)\n",
                                            m);
        assert_string_equal(res.err, want);
        tl_result_free(&res);
        assert_int_equal(chmod(disk, 0600), 0);
        assert_int_equal(validate(root, m, false, &res), 0);
        tl_result_free(&res);
        /* the kernel hard-linked to the audit log */
        mkdirs(root, "var/lib/ecluse");
        put(root, "var/lib/ecluse/audit.log");
        _cleanup_free_ char *kernel = tl_strf("%s" STACK_DIR "/releases/1/vmlinuz", root),
                            *audit = tl_strf("%s/var/lib/ecluse/audit.log", root);
        assert_int_equal(unlink(kernel), 0);
        assert_int_equal(link(audit, kernel), 0);
        assert_int_equal(validate(root, m, false, &res), 65);
        assert_non_null(strstr(res.err, ":6:11: error: 'vm.kernel': " STACK_DIR "/current/vmlinuz has 2 hard links"));
        tl_result_free(&res);
        tl_rm_rf(root);
}

/* validate with the given arguments after --root ROOT (at most four). */
static int validate_args(const char *root, const char *a1, const char *a2, const char *a3, struct tl_result *res) {
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", (char *) root, (char *) a1, (char *) a2,
                        (char *) a3, NULL};
        tl_run(argv, res);
        return res->status;
}

/*
 * The configured stacks, ROOT/etc/ecluse/stacks/STACK.yaml: every one without
 * an operand (the other entries skipped, named), one by its name; a
 * configured manifest not named for its stack is invalid; no directory: 66.
 */
static void test_configured_stacks(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/etc/ecluse/stacks", root), *vt = tl_strf("%s/vt.yaml", dir),
                            *other = tl_strf("%s/other.yaml", dir), *notes = tl_strf("%s/notes.txt", dir);
        struct tl_result res;

        assert_int_equal(validate_args(root, "validate", NULL, NULL, &res), 66);
        _cleanup_free_ char *no_dir = tl_strf("ecluse-shim: error: no stacks directory %s (each stack is configured "
                                              "as %s/STACK.yaml)\n",
                                              dir, dir);
        assert_string_equal(res.err, no_dir);
        assert_string_equal(res.out, "");
        tl_result_free(&res);

        tl_mkdir_p(dir);
        assert_int_equal(validate_args(root, "validate", NULL, NULL, &res), 0);
        _cleanup_free_ char *none = tl_strf("no stacks configured in %s\n", dir);
        assert_string_equal(res.out, none);
        tl_result_free(&res);

        tl_write_file(vt, manifest, strlen(manifest));
        tl_write_file(notes, "x", 1);
        assert_int_equal(validate_args(root, "validate", NULL, NULL, &res), 0);
        _cleanup_free_ char *ok = tl_strf("%s: ok (stack vt)\n", vt);
        assert_string_equal(res.out, ok);
        _cleanup_free_ char *skipped = tl_strf("ecluse-shim: warning: skipped %s: not a STACK.yaml file\n", notes);
        assert_string_equal(res.err, skipped);
        tl_result_free(&res);

        /* by its name */
        assert_int_equal(validate_args(root, "validate", "vt", NULL, &res), 0);
        assert_string_equal(res.out, ok);
        assert_string_equal(res.err, "");
        tl_result_free(&res);
        assert_int_equal(validate_args(root, "validate", "nosuch", NULL, &res), 66);
        _cleanup_free_ char *missing = tl_strf("%s/nosuch.yaml: error: cannot open: No such file or directory\n",
                                               dir);
        assert_string_equal(res.err, missing);
        tl_result_free(&res);

        /* stack vt's manifest as other.yaml: invalid when configured, by the listing or by its name */
        tl_write_file(other, manifest, strlen(manifest));
        _cleanup_free_ char *mismatch = tl_strf("%s: error: its stack is vt: the file must be named vt.yaml, "
                                                "not 'other.yaml'\n",
                                                other);
        assert_int_equal(validate_args(root, "validate", NULL, NULL, &res), 65);
        assert_string_equal(res.out, ok);
        assert_non_null(strstr(res.err, mismatch));
        tl_result_free(&res);
        assert_int_equal(validate_args(root, "validate", "other", NULL, &res), 65);
        assert_string_equal(res.out, "");
        assert_string_equal(res.err, mismatch);
        tl_result_free(&res);
        assert_int_equal(validate_args(root, "--json", "validate", NULL, &res), 65);
        json_auto_t *all = json_loads(res.out, 0, NULL);
        assert_int_equal(json_array_size(all), 2);
        json_t *o = json_array_get(all, 0);
        assert_string_equal(json_string_value(json_object_get(o, "file")), other);
        assert_false(json_is_true(json_object_get(o, "ok")));
        assert_non_null(strstr(json_string_value(json_object_get(json_array_get(json_object_get(o, "errors"), 0),
                                                                 "error")),
                               "the file must be named vt.yaml"));
        assert_true(json_is_true(json_object_get(json_array_get(all, 1), "ok")));
        tl_result_free(&res);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_files_under_root),
                cmocka_unit_test(test_file_modes_and_links),
                cmocka_unit_test(test_configured_stacks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
