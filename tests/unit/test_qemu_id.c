/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (a process of the stack's uid) */
/* shim/qemu-id and shim_qemu_id(): each stack's QEMU identity, its range, and the collisions refused. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "names.h"
#include "qemu-id.h"
#include "testlib.h"

static void test_id_range_and_stability(void **state) {
        (void) state;
        for (int i = 0; i < 2000; i++) {
                char name[32];
                snprintf(name, sizeof name, "s%d", i);
                uid_t id = shim_qemu_id(name);
                assert_true(id >= SHIM_QEMU_ID_BASE);
                assert_true(id < SHIM_QEMU_ID_BASE + (1u << SHIM_QEMU_ID_BITS));
                assert_int_equal(id, shim_qemu_id(name));
        }
        /* SHA-256("office") bytes 6-8 are 0x72 0x60 0x20: the id takes their first 20 bits */
        assert_int_equal(shim_qemu_id("office"), SHIM_QEMU_ID_BASE + 0x72602);
        char label[SHIM_QEMU_ID_LABEL_MAX];
        shim_qemu_id_label(shim_qemu_id("office"), label);
        assert_string_equal(label, "+2131174914:+2131174914");
}

/* Two names of the same id, found by search (20 bits: a collision within a few thousand names). */
static void colliding_names(char a[static 32], char b[static 32]) {
        enum { N = 8192 };
        static uid_t ids[N];
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof name, "stack%d", i);
                ids[i] = shim_qemu_id(name);
                for (int j = 0; j < i; j++)
                        if (ids[j] == ids[i]) {
                                snprintf(a, 32, "stack%d", j);
                                snprintf(b, 32, "stack%d", i);
                                return;
                        }
        }
        fail_msg("no two of %d names share an id", N);
}

static void test_check_refuses_collisions(void **state) {
        (void) state;
        char a[32], b[32];
        colliding_names(a, b);
        assert_int_equal(shim_qemu_id(a), shim_qemu_id(b));
        _cleanup_free_ char *root = tl_mkdtemp();
        uid_t id = shim_qemu_id(a);
        /* nothing else under the root */
        assert_int_equal(shim_qemu_id_check(root, a, id, NULL), 0);
        /* its own directories are no collision */
        _cleanup_free_ char *own = tl_strf("%s/var/lib/ecluse/stacks/%s", root, a);
        tl_mkdir_p(own);
        assert_int_equal(shim_qemu_id_check(root, a, id, NULL), 0);
        /* another stack, known by its state directory or its embedded root */
        _cleanup_free_ char *other = tl_strf("%s/var/lib/ecluse/libvirt/%s", root, b);
        tl_mkdir_p(other);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_qemu_id_check(root, a, id, &why), -EEXIST);
        assert_non_null(strstr(why, "would run QEMU as the same uid"));
        assert_non_null(strstr(why, "rename one of them"));
        tl_rm_rf(other);
        _cleanup_free_ char *other2 = tl_strf("%s/var/lib/ecluse/stacks/%s", root, b);
        tl_mkdir_p(other2);
        assert_int_equal(shim_qemu_id_check(root, a, id, NULL), -EEXIST);
        /* a stack of another id is fine */
        tl_rm_rf(other2);
        _cleanup_free_ char *third = tl_strf("%s/var/lib/ecluse/stacks/office", root);
        tl_mkdir_p(third);
        assert_true(shim_qemu_id("office") != id);
        assert_int_equal(shim_qemu_id_check(root, a, id, NULL), 0);
        tl_rm_rf(root);
}

/* An id some user or group of the host has is refused (root's 0 stands for one). */
static void test_check_refuses_host_ids(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        assert_int_equal(shim_qemu_id_check(root, "office", 0, NULL), -EEXIST);
        tl_rm_rf(root);
}

/* A subordinate range over the id would let its user map itself to QEMU's uid. */
static void test_check_refuses_subid_ranges(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *f = tl_strf("%s/subuid", dir);
        uid_t id = shim_qemu_id("office");
        assert_int_equal(shim_qemu_id_check_subids(f, "office", id, NULL), 0); /* no file */
        {
                const char *t = "# comment\nalice:100000:65536\nbroken line\nbob:x:1\n";
                tl_write_file(f, t, strlen(t));
        }
        assert_int_equal(shim_qemu_id_check_subids(f, "office", id, NULL), 0);
        _cleanup_free_ char *over = tl_strf("alice:100000:65536\nmallory:%u:1\n", (unsigned) id);
        tl_write_file(f, over, strlen(over));
        assert_int_equal(shim_qemu_id_check_subids(f, "office", id, NULL), -EEXIST);
        _cleanup_free_ char *wide = tl_strf("mallory:%u:%u\n", (unsigned) SHIM_QEMU_ID_BASE - 5, 10u);
        tl_write_file(f, wide, strlen(wide));
        assert_int_equal(shim_qemu_id_check_subids(f, "office", SHIM_QEMU_ID_BASE + 4, NULL), -EEXIST);
        assert_int_equal(shim_qemu_id_check_subids(f, "office", SHIM_QEMU_ID_BASE + 5, NULL), 0); /* just past it */
        /* a range newuidmap reads (strtoul: leading zeros, blanks) but the strict parser does not: refused */
        _cleanup_free_ char *odd = tl_strf("mallory:0%u:1\n", (unsigned) id);
        tl_write_file(f, odd, strlen(odd));
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_qemu_id_check_subids(f, "office", id, &why), -EBADMSG);
        assert_non_null(strstr(why, ":1: cannot read the range given to mallory"));
        tl_rm_rf(dir);
}

/* Only the KVM device gets the entry: a file or a link at its name is refused and left alone. */
static void test_allow_kvm_only_the_device(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *f = tl_strf("%s/kvm", dir), *l = tl_strf("%s/link", dir);
        tl_write_file(f, "", 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_qemu_id_allow_kvm(f, shim_qemu_id("office"), &why), -EPERM);
        assert_non_null(strstr(why, "/kvm is not the KVM device (character device 10:232)"));
        assert_int_equal(getxattr(f, "system.posix_acl_access", NULL, 0), -1);
        if (access("/dev/kvm", F_OK) == 0) {
                assert_int_equal(symlink("/dev/kvm", l), 0);
                assert_int_equal(shim_qemu_id_allow_kvm(l, shim_qemu_id("office"), NULL), -EPERM);
        }
        _cleanup_free_ char *missing = tl_strf("%s/missing", dir);
        assert_int_equal(shim_qemu_id_allow_kvm(missing, 1, NULL), -ENOENT);
        tl_rm_rf(dir);
}

/* What /proc says a process runs as: root is not the id; a child that became the id is. */
static void test_check_process(void **state) {
        (void) state;
        uid_t id = shim_qemu_id("office");
        _cleanup_free_ char *v = NULL;
        int r = shim_qemu_id_check_process(getpid(), id, &v);
        assert_int_equal(r, -EPERM);
        assert_non_null(strstr(v, "not the stack's own"));
        tl_require(geteuid() == 0, "root (to change to the stack's uid)");
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                gid_t g = id;
                if (setgroups(1, &g) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)
                        _exit(1);
                (void) !write(p[1], "x", 1);
                pause();
                _exit(0);
        }
        close(p[1]);
        char c;
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        free(v);
        v = NULL;
        assert_int_equal(shim_qemu_id_check_process(pid, id, &v), 0);
        assert_int_equal(shim_qemu_id_check_process(pid, id + 1, &v), -EPERM);
        assert_non_null(strstr(v, "runs as uid"));
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        free(v);
        v = NULL;
        assert_int_equal(shim_qemu_id_check_process(pid, id, &v), -ESRCH);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_id_range_and_stability),
                cmocka_unit_test(test_check_refuses_collisions),
                cmocka_unit_test(test_check_refuses_host_ids),
                cmocka_unit_test(test_check_refuses_subid_ranges),
                cmocka_unit_test(test_allow_kvm_only_the_device),
                cmocka_unit_test(test_check_process),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
