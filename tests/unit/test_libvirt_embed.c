/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (the embedded libvirt driver) */
/* shim/libvirt-embed: the embedded root, its qemu.conf and the URI. */
#include <errno.h>
#include <limits.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvirt-embed.h"
#include "testlib.h"

static void test_prepare(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = NULL;
        assert_int_equal(shim_embed_prepare(root, "office", &dir, NULL), 0);
        _cleanup_free_ char *want = tl_strf("%s/var/lib/ecluse/libvirt/office", root);
        assert_string_equal(dir, want);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);

        _cleanup_free_ char *conf = tl_strf("%s/etc/qemu.conf", dir);
        assert_int_equal(stat(conf, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        _cleanup_free_ char *text = tl_read_file(conf, NULL);
        assert_non_null(text);
        assert_non_null(strstr(text, "\nseccomp_sandbox = 1\n"));
        assert_non_null(strstr(text, "\nstdio_handler = \"file\"\n"));
        assert_non_null(strstr(text, "\nnamespaces = [ ]\n"));
        assert_non_null(strstr(text, "\nremember_owner = 0\n"));

        /* a second run rewrites an edited file */
        tl_write_file(conf, "seccomp_sandbox = 0\n", 20);
        free(dir);
        dir = NULL;
        assert_int_equal(shim_embed_prepare(root, "office", &dir, NULL), 0);
        free(text);
        text = tl_read_file(conf, NULL);
        assert_string_equal(text, SHIM_EMBED_QEMU_CONF);
        tl_rm_rf(root);
}

static void test_prepare_refuses_file(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *d = tl_strf("%s/var/lib/ecluse", root);
        _cleanup_free_ char *f = tl_strf("%s/libvirt", d);
        _cleanup_free_ char *var = tl_strf("%s/var", root), *lib = tl_strf("%s/var/lib", root);
        assert_int_equal(mkdir(var, 0755), 0);
        assert_int_equal(mkdir(lib, 0755), 0);
        assert_int_equal(mkdir(d, 0755), 0);
        tl_write_file(f, "x", 1);
        _cleanup_free_ char *dir = NULL;
        assert_true(shim_embed_prepare(root, "office", &dir, NULL) < 0);
        assert_null(dir);
        assert_int_equal(shim_embed_prepare("/tmp", "../x", &dir, NULL), -EINVAL);
        assert_null(dir);
        assert_int_equal(shim_embed_prepare("/tmp", "Office", &dir, NULL), -EINVAL);
        assert_int_equal(shim_embed_prepare("/tmp", "a b", &dir, NULL), -EINVAL);
        assert_null(dir);
        tl_rm_rf(root);
}

static void test_uri(void **state) {
        (void) state;
        _cleanup_free_ char *u = NULL;
        assert_int_equal(shim_embed_uri("/var/lib/ecluse/libvirt", &u), 0);
        assert_string_equal(u, "qemu:///embed?root=/var/lib/ecluse/libvirt");
        free(u);
        assert_int_equal(shim_embed_uri("/tmp/a b&c=d%e?f#g", &u), 0);
        assert_string_equal(u, "qemu:///embed?root=/tmp/a%20b%26c%3Dd%25e%3Ff%23g");
        free(u);
        u = NULL;

        bool embed = false;
        assert_int_equal(shim_connect_uri("", "office", "qemu:///system", &u, &embed, NULL), 0);
        assert_string_equal(u, "qemu:///system");
        assert_false(embed);
        free(u);
        u = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_connect_uri("", "office", "qemu:///embed?root=/x", &u, &embed, &why), -EINVAL);
        assert_string_equal(why, "--connect qemu:///embed?root=/x: the embedded driver is the default; its root "
                                 "follows --root");
        assert_null(u);
        assert_true(shim_uri_is_embed(NULL));
        assert_true(shim_uri_is_embed("qemu:///embed?root=/x"));
        assert_false(shim_uri_is_embed("qemu+ssh://h/system"));
}

/* The escaped URI really names the root: libvirt creates its tree there. */
static void test_uri_opens(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *base = tl_mkdtemp();
        _cleanup_free_ char *root = tl_strf("%s/odd root&x=%%41", base);
        assert_int_equal(mkdir(root, 0755), 0);
        _cleanup_free_ char *uri = NULL;
        bool embed = false;
        assert_int_equal(shim_connect_uri(root, "office", NULL, &uri, &embed, NULL), 0);
        assert_true(embed);
        /* the embedded driver needs an event loop, as in `run` */
        assert_int_equal(virEventRegisterDefaultImpl(), 0);
        virConnectPtr c = virConnectOpen(uri);
        assert_non_null(c);
        /* a second connection from another process fails while this one is open:
         * checked by the e2e test; here the driver's lock file must exist */
        _cleanup_free_ char *pid = tl_strf("%s/var/lib/ecluse/libvirt/office/run/qemu/driver.pid", root);
        assert_int_equal(access(pid, F_OK), 0);
        virConnectClose(c);
        tl_rm_rf(base);
}

#define LONG_STACK "a-stack-name-of-31-characters-x"

/* DESIGN.md: every valid stack name starts under any --root of up to 64 bytes. */
static void test_socket_paths_fit(void **state) {
        (void) state;
        assert_int_equal(strlen(LONG_STACK), ECL_STACK_NAME_MAX);
        _cleanup_free_ char *root = tl_mkdtemp_len(64);
        _cleanup_free_ char *dir = NULL, *eroot = NULL, *mon = NULL, *direct = NULL;
        assert_int_equal(shim_embed_prepare(root, LONG_STACK, &dir, NULL), 0);
        /* the issue: libvirt's monitor under DIR itself would not fit, even with domain 1 */
        assert_int_equal(shim_embed_monitor_path(dir, "ecluse-" LONG_STACK, 1, &direct), 0);
        assert_true(strlen(direct) > SHIM_UNIX_PATH_MAX);
        assert_true(shim_embed_socket_path_max(dir) > SHIM_UNIX_PATH_MAX);

        bool alias = false;
        assert_int_equal(shim_embed_root_path("/run/ecluse/v", dir, &eroot, &alias), 0);
        assert_true(alias);
        assert_int_equal(strlen(eroot), strlen("/run/ecluse/v/") + 2 * SHIM_EMBED_ALIAS_BYTES);
        /* the longest: the largest domain number, the name as libvirt cuts it */
        assert_int_equal(shim_embed_monitor_path(eroot, "ecluse-" LONG_STACK, INT_MAX, &mon), 0);
        assert_int_equal(strlen(mon), shim_embed_socket_path_max(eroot));
        assert_true(strlen(mon) <= SHIM_UNIX_PATH_MAX);
        _cleanup_free_ char *tail = tl_strf("/lib/qemu/domain-%d-ecluse-a-stack-name-/monitor.sock", INT_MAX);
        assert_string_equal(mon + strlen(eroot), tail);

        /* stable: the same DIR, the same alias (libvirt's status files name it) */
        _cleanup_free_ char *again = NULL;
        assert_int_equal(shim_embed_root_path("/run/ecluse/v", dir, &again, &alias), 0);
        assert_string_equal(again, eroot);
        /* a short DIR is used as it is */
        free(again);
        again = NULL;
        assert_int_equal(shim_embed_root_path("/run/ecluse/v", "/var/lib/ecluse/libvirt/office", &again, &alias), 0);
        assert_false(alias);
        assert_string_equal(again, "/var/lib/ecluse/libvirt/office");
        tl_rm_rf(root);
}

/* The alias: made as a link to DIR in a checked directory, found again, never someone else's. */
static void test_alias(void **state) {
        (void) state;
        _cleanup_free_ char *base = tl_mkdtemp(), *root = tl_mkdtemp_len(64);
        _cleanup_free_ char *dir = NULL, *a = NULL, *b = NULL;
        assert_int_equal(shim_embed_prepare(root, LONG_STACK, &dir, NULL), 0);
        /* a dangling alias (its root removed) is cleaned away */
        _cleanup_free_ char *vdir = tl_strf("%s/ecluse/v", base), *stale = tl_strf("%s/0123456789abcdef", vdir);
        _cleanup_free_ char *ecl = tl_strf("%s/ecluse", base);
        assert_int_equal(mkdir(ecl, 0755), 0);
        assert_int_equal(mkdir(vdir, 0755), 0);
        assert_int_equal(symlink("/nonexistent/ecluse-root", stale), 0);

        assert_int_equal(shim_embed_root(base, "ecluse/v", dir, &a, NULL), 0);
        assert_int_equal(strncmp(a, vdir, strlen(vdir)), 0);
        char target[4096];
        ssize_t n = readlink(a, target, sizeof target - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, dir);
        struct stat st;
        assert_int_equal(lstat(stale, &st), -1);
        /* libvirt sees the real tree through it */
        _cleanup_free_ char *conf = tl_strf("%s/etc/qemu.conf", a);
        assert_int_equal(access(conf, R_OK), 0);
        assert_int_equal(shim_embed_root(base, "ecluse/v", dir, &b, NULL), 0);
        assert_string_equal(a, b);
        free(b);
        b = NULL;

        /* the same name for another target that exists: refused, not replaced */
        assert_int_equal(unlink(a), 0);
        assert_int_equal(symlink(base, a), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_embed_root(base, "ecluse/v", dir, &b, &why), -EEXIST);
        assert_null(b);
        assert_non_null(strstr(why, "(two roots with one hash?)"));
        /* nor is a file in its place */
        assert_int_equal(unlink(a), 0);
        tl_write_file(a, "x", 1);
        assert_int_equal(shim_embed_root(base, "ecluse/v", dir, &b, NULL), -EEXIST);
        assert_int_equal(unlink(a), 0);
        /* nor an alias directory others can write */
        assert_int_equal(chmod(vdir, 0777), 0);
        assert_int_equal(shim_embed_root(base, "ecluse/v", dir, &b, NULL), -EPERM);
        assert_null(b);
        tl_rm_rf(base);
        tl_rm_rf(root);
}

/* A pre-created etc/ would supply libvirt's qemu.conf (user = "+0", seccomp_sandbox = 0). */
static void test_prepare_refuses_foreign_etc(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/var/lib/ecluse/libvirt/office", root);
        _cleanup_free_ char *etc = tl_strf("%s/etc", dir), *conf = tl_strf("%s/etc/qemu.conf", dir);
        _cleanup_free_ char *mk = tl_strf("mkdir -p '%s'", etc);
        assert_int_equal(system(mk), 0);
        _cleanup_free_ char *got = NULL;

        /* writable by others: refused, and nothing written into it */
        assert_int_equal(chmod(etc, 0777), 0);
        assert_int_equal(shim_embed_prepare(root, "office", &got, NULL), -EPERM);
        assert_null(got);
        assert_int_equal(access(conf, F_OK), -1);
        /* another owner's (needs root to make) */
        if (geteuid() == 0) {
                assert_int_equal(chmod(etc, 0700), 0);
                assert_int_equal(chown(etc, 65534, 65534), 0);
                assert_int_equal(shim_embed_prepare(root, "office", &got, NULL), -EPERM);
                assert_null(got);
                assert_int_equal(access(conf, F_OK), -1);
                assert_int_equal(chown(etc, 0, 0), 0);
        }
        /* etc/ as a link to a tree of the planter's choice */
        tl_rm_rf(etc);
        _cleanup_free_ char *elsewhere = tl_strf("%s/elsewhere", root);
        assert_int_equal(mkdir(elsewhere, 0700), 0);
        assert_int_equal(symlink(elsewhere, etc), 0);
        assert_int_equal(shim_embed_prepare(root, "office", &got, NULL), -EPERM);
        assert_null(got);
        /* a group-writable stack root, or a foreign entry libvirt is to use in it */
        assert_int_equal(unlink(etc), 0);
        assert_int_equal(chmod(dir, 0771), 0);
        assert_int_equal(shim_embed_prepare(root, "office", &got, NULL), -EPERM);
        assert_int_equal(chmod(dir, 0711), 0);
        _cleanup_free_ char *lib = tl_strf("%s/lib", dir);
        assert_int_equal(mkdir(lib, 0777), 0);
        assert_int_equal(chmod(lib, 0777), 0);
        assert_int_equal(shim_embed_prepare(root, "office", &got, NULL), -EPERM);
        assert_int_equal(chmod(lib, 0755), 0);
        /* once set right, it works, and qemu.conf is ecluse's */
        assert_int_equal(shim_embed_prepare(root, "office", &got, NULL), 0);
        _cleanup_free_ char *text = tl_read_file(conf, NULL);
        assert_string_equal(text, SHIM_EMBED_QEMU_CONF);
        tl_rm_rf(root);
}

/* B: QEMU's user and a --root it cannot reach. */
static void test_check_reach(void **state) {
        (void) state;
        _cleanup_free_ char *base = tl_mkdtemp();
        _cleanup_free_ char *root = tl_strf("%s/r", base);
        assert_int_equal(mkdir(root, 0755), 0);
        _cleanup_free_ char *dir = NULL;
        assert_int_equal(shim_embed_prepare(root, "office", &dir, NULL), 0);
        uid_t other = tl_stranger_id();
        struct ecl_manifest m = {.stack = (char *) "office", .vm = {.kernel = (char *) "/var/lib/ecluse/stacks/office/current/vmlinuz"}};
        /* tl_mkdtemp() is 0700: nobody else passes it */
        assert_int_equal(shim_embed_check_reach(root, &m, other, other, NULL), -EACCES);
        assert_int_equal(shim_embed_check_reach(root, &m, 0, 0, NULL), 0);          /* QEMU as root */
        assert_int_equal(shim_embed_check_reach(root, &m, (uid_t) -1, 0, NULL), 0); /* no QEMU user */
        assert_int_equal(chmod(base, 0711), 0);
        assert_int_equal(shim_embed_check_reach(root, &m, other, other, NULL), 0);
        /* the release directory too */
        _cleanup_free_ char *cur = tl_strf("%s/var/lib/ecluse/stacks/office/current", root);
        _cleanup_free_ char *mk = tl_strf("mkdir -p '%s'", cur);
        assert_int_equal(system(mk), 0);
        assert_int_equal(chmod(cur, 0700), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_embed_check_reach(root, &m, other, other, &why), -EACCES);
        _cleanup_free_ char *must = tl_strf("(it must reach %s/vmlinuz)", cur);
        assert_non_null(strstr(why, must));
        tl_rm_rf(base);
}

/* QEMU's pid from libvirt's pidfile in the stack's embedded root, and nothing else. */
static void test_qemu_pid(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/var/lib/ecluse/libvirt/office/run/qemu", root);
        _cleanup_free_ char *file = tl_strf("%s/ecluse-office.pid", dir);
        pid_t pid = 0;
        assert_int_equal(shim_embed_qemu_pid(root, "office", "ecluse-office", &pid), -ENOENT);
        tl_mkdir_p(dir);
        tl_write_file(file, "4242\n", 5);
        assert_int_equal(shim_embed_qemu_pid(root, "office", "ecluse-office", &pid), 0);
        assert_int_equal(pid, 4242);
        static const char *const bad[] = {"", "x", "-1\n", "0", "12 34", "99999999999"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                tl_write_file(file, bad[i], strlen(bad[i]));
                assert_int_equal(shim_embed_qemu_pid(root, "office", "ecluse-office", &pid), -EBADMSG);
        }
        assert_int_equal(unlink(file), 0);
        _cleanup_free_ char *other = tl_strf("%s/other.pid", dir);
        tl_write_file(other, "1\n", 2);
        assert_int_equal(symlink("other.pid", file), 0);
        assert_int_equal(shim_embed_qemu_pid(root, "office", "ecluse-office", &pid), -ELOOP);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prepare),
                cmocka_unit_test(test_prepare_refuses_file),
                cmocka_unit_test(test_uri),
                cmocka_unit_test(test_uri_opens),
                cmocka_unit_test(test_socket_paths_fit),
                cmocka_unit_test(test_alias),
                cmocka_unit_test(test_prepare_refuses_foreign_etc),
                cmocka_unit_test(test_check_reach),
                cmocka_unit_test(test_qemu_pid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
