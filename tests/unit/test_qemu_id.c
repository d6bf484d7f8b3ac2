/* SPDX-License-Identifier: Apache-2.0 */
/* shim/qemu-id and shim_qemu_id(): each stack's QEMU identity, its range, and the collisions refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
        assert_int_equal(shim_qemu_id_check(root, a, id), 0);
        /* its own directories are no collision */
        _cleanup_free_ char *own = tl_strf("%s/var/lib/ecluse/stacks/%s", root, a);
        tl_mkdir_p(own);
        assert_int_equal(shim_qemu_id_check(root, a, id), 0);
        /* another stack, known by its state directory or its embedded root */
        _cleanup_free_ char *other = tl_strf("%s/var/lib/ecluse/libvirt/%s", root, b);
        tl_mkdir_p(other);
        assert_int_equal(shim_qemu_id_check(root, a, id), -EEXIST);
        tl_rm_rf(other);
        _cleanup_free_ char *other2 = tl_strf("%s/var/lib/ecluse/stacks/%s", root, b);
        tl_mkdir_p(other2);
        assert_int_equal(shim_qemu_id_check(root, a, id), -EEXIST);
        /* a stack of another id is fine */
        tl_rm_rf(other2);
        _cleanup_free_ char *third = tl_strf("%s/var/lib/ecluse/stacks/office", root);
        tl_mkdir_p(third);
        assert_true(shim_qemu_id("office") != id);
        assert_int_equal(shim_qemu_id_check(root, a, id), 0);
        tl_rm_rf(root);
}

/* An id some user or group of the host has is refused (root's 0 stands for one). */
static void test_check_refuses_host_ids(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        assert_int_equal(shim_qemu_id_check(root, "office", 0), -EEXIST);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_id_range_and_stability),
                cmocka_unit_test(test_check_refuses_collisions),
                cmocka_unit_test(test_check_refuses_host_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
