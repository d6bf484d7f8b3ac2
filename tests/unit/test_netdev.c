/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (network namespaces, veths, a bridge) */
/*
 * shim/netdev: veth pairs across namespaces, bridge ports, MTU, up, info,
 * delete, all over rtnetlink, in network namespaces this test makes.  Needs
 * root (label "system").
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netdev.h"
#include "testlib.h"

static int g_outer_ns = -1; /* the "host": where the outer ends and the bridge are */
static int g_outer_nl = -1; /* an rtnetlink socket opened there */

#define NEED_ROOT() tl_require(g_outer_ns >= 0, "root (network namespaces)")

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0)
                return 0;
        /* the host's side first, then the stack's, which the process stays in */
        if (unshare(CLONE_NEWNET) < 0)
                return -1;
        g_outer_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        g_outer_nl = shim_netdev_open();
        struct tl_result res;
        tl_run((char *[]){"ip", "link", "add", "ndbr0", "type", "bridge", NULL}, &res);
        int st = res.status;
        tl_result_free(&res);
        if (g_outer_ns < 0 || g_outer_nl < 0 || st != 0 || unshare(CLONE_NEWNET) < 0)
                return -1;
        return 0;
}

static int teardown(void **state) {
        (void) state;
        if (g_outer_nl >= 0)
                close(g_outer_nl);
        if (g_outer_ns >= 0)
                close(g_outer_ns);
        return 0;
}

static void test_veth_across_namespaces(void **state) {
        (void) state;
        NEED_ROOT();
        assert_int_equal(shim_netdev_veth_create(-1, "ecu-nd", "ecb-nd", g_outer_ns, 1400, NULL), 0);
        struct shim_netdev_info in, out;
        assert_int_equal(shim_netdev_info(-1, "ecu-nd", &in, NULL), 0);
        assert_string_equal(in.kind, "veth");
        assert_int_equal(in.mtu, 1400);
        /* the peer is not here but there, reached through the socket opened there */
        assert_int_equal(shim_netdev_info(-1, "ecb-nd", &out, NULL), -ENODEV);
        assert_int_equal(shim_netdev_info(g_outer_nl, "ecb-nd", &out, NULL), 0);
        assert_string_equal(out.kind, "veth");
        assert_int_equal(out.mtu, 1400);
        assert_int_equal(out.master, 0);
        /* the names are taken now */
        assert_int_equal(shim_netdev_veth_create(-1, "ecu-nd", "ecb-nd2", g_outer_ns, 0, NULL), -EEXIST);

        assert_int_equal(shim_netdev_enslave(g_outer_nl, "ecb-nd", "ndbr0", NULL), 0);
        assert_int_equal(shim_netdev_set_up(g_outer_nl, "ecb-nd", NULL), 0);
        assert_int_equal(shim_netdev_set_up(-1, "ecu-nd", NULL), 0);
        struct shim_netdev_info br;
        assert_int_equal(shim_netdev_info(g_outer_nl, "ndbr0", &br, NULL), 0);
        assert_string_equal(br.kind, "bridge");
        assert_int_equal(shim_netdev_info(g_outer_nl, "ecb-nd", &out, NULL), 0);
        assert_int_equal(out.master, br.index);
        assert_int_equal(shim_netdev_set_mtu(-1, "ecu-nd", 1300, NULL), 0);
        assert_int_equal(shim_netdev_info(-1, "ecu-nd", &in, NULL), 0);
        assert_int_equal(in.mtu, 1300);

        /* deleting one end deletes the other, wherever it is */
        assert_int_equal(shim_netdev_delete(-1, "ecu-nd", NULL), 0);
        assert_int_equal(shim_netdev_info(g_outer_nl, "ecb-nd", &out, NULL), -ENODEV);
        assert_int_equal(shim_netdev_delete(-1, "ecu-nd", NULL), -ENODEV);
}

static void test_bad_names_and_missing_bridge(void **state) {
        (void) state;
        NEED_ROOT();
        assert_int_equal(shim_netdev_name_ok("ecu-0123456789ab", NULL), -EINVAL); /* 16 characters */
        _cleanup_free_ char *bad = NULL;
        assert_int_equal(shim_netdev_name_ok("a/b", &bad), -EINVAL);
        assert_string_equal(bad, "invalid network device name 'a/b'");
        assert_int_equal(shim_netdev_name_ok("", NULL), -EINVAL);
        assert_int_equal(shim_netdev_name_ok("ecu-ok", NULL), 0);
        assert_int_equal(shim_netdev_veth_create(-1, "a b", "ecb-x", -1, 0, NULL), -EINVAL);
        assert_int_equal(shim_netdev_veth_create(-1, "ecu-x", "ecb-x", -1, 0, NULL), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_netdev_enslave(-1, "ecb-x", "nobridge", &why), -ENODEV);
        assert_non_null(strstr(why, "bridge nobridge does not exist (create it first"));
        /* a device that is no bridge is no bridge */
        assert_int_equal(shim_netdev_enslave(-1, "ecb-x", "ecu-x", NULL), -ENODEV);
        assert_int_equal(shim_netdev_set_up(-1, "nosuch0", NULL), -ENODEV);
        assert_int_equal(shim_netdev_delete(-1, "ecb-x", NULL), 0);
        assert_int_equal(shim_netdev_delete(-1, "ecu-x", NULL), -ENODEV);
}

/* Only a veth marked as ecluse's is removed as left over; another of the same name stays. */
static void test_delete_marked_veth_only(void **state) {
        (void) state;
        NEED_ROOT();
        const char *mark = "ecluse uplink of office";
        assert_int_equal(shim_netdev_veth_create(-1, "ecu-mk", "ecb-mk", g_outer_ns, 0, NULL), 0);
        assert_int_equal(shim_netdev_set_alias(-1, "ecu-mk", mark, NULL), 0);
        assert_int_equal(shim_netdev_set_alias(g_outer_nl, "ecb-mk", mark, NULL), 0);
        struct shim_netdev_info info;
        assert_int_equal(shim_netdev_info(g_outer_nl, "ecb-mk", &info, NULL), 0);
        assert_string_equal(info.alias, mark);
        assert_int_equal(shim_netdev_delete_marked_veth(g_outer_nl, "ecb-mk", mark, NULL), 1);
        assert_int_equal(shim_netdev_info(-1, "ecu-mk", &info, NULL), -ENODEV); /* its peer went with it */
        assert_int_equal(shim_netdev_delete_marked_veth(g_outer_nl, "ecb-mk", mark, NULL), 0);
        /* someone else's veth named like an uplink: unmarked, or marked for another stack */
        assert_int_equal(shim_netdev_veth_create(g_outer_nl, "ecb-mk", "other-mk", -1, 0, NULL), 0);
        assert_int_equal(shim_netdev_delete_marked_veth(g_outer_nl, "ecb-mk", mark, NULL), -EEXIST);
        assert_int_equal(shim_netdev_set_alias(g_outer_nl, "ecb-mk", "ecluse uplink of other", NULL), 0);
        assert_int_equal(shim_netdev_delete_marked_veth(g_outer_nl, "ecb-mk", mark, NULL), -EEXIST);
        assert_int_equal(shim_netdev_info(g_outer_nl, "ecb-mk", &info, NULL), 0);
        assert_int_equal(shim_netdev_delete(g_outer_nl, "ecb-mk", NULL), 0);
        /* a device of another kind carrying the mark is no uplink either */
        assert_int_equal(shim_netdev_set_alias(g_outer_nl, "ndbr0", mark, NULL), 0);
        assert_int_equal(shim_netdev_delete_marked_veth(g_outer_nl, "ndbr0", mark, NULL), -EEXIST);
        assert_int_equal(shim_netdev_set_alias(g_outer_nl, "ndbr0", "", NULL), 0);
}

/* What could take frames before the netdev hooks: an ingress (or clsact) qdisc; a root qdisc cannot. */
static void test_check_unhooked(void **state) {
        (void) state;
        NEED_ROOT();
        assert_int_equal(shim_netdev_veth_create(-1, "ecu-h", "ecb-h", -1, 0, NULL), 0);
        char *what = NULL;
        assert_int_equal(shim_netdev_check_unhooked(-1, "ecu-h", &what), 0);
        assert_null(what);
        const char *adds[][8] = {{"tc", "qdisc", "add", "dev", "ecu-h", "clsact", NULL},
                                 {"tc", "qdisc", "add", "dev", "ecu-h", "ingress", NULL}};
        const char *dels[][8] = {{"tc", "qdisc", "del", "dev", "ecu-h", "clsact", NULL},
                                 {"tc", "qdisc", "del", "dev", "ecu-h", "ingress", NULL}};
        for (size_t i = 0; i < 2; i++) {
                struct tl_result res;
                tl_run((char **) adds[i], &res);
                assert_int_equal(res.status, 0);
                tl_result_free(&res);
                assert_int_equal(shim_netdev_check_unhooked(-1, "ecu-h", &what), -EPERM);
                assert_non_null(strstr(what, "ingress tc qdisc"));
                free(what);
                what = NULL;
                tl_run((char **) dels[i], &res);
                assert_int_equal(res.status, 0);
                tl_result_free(&res);
        }
        struct tl_result res;
        tl_run((char *[]){"tc", "qdisc", "add", "dev", "ecu-h", "root", "pfifo", NULL}, &res);
        assert_int_equal(res.status, 0);
        tl_result_free(&res);
        assert_int_equal(shim_netdev_check_unhooked(-1, "ecu-h", &what), 0);
        assert_int_equal(shim_netdev_check_unhooked(-1, "nosuch0", &what), -ENODEV);
        assert_non_null(what);
        free(what);
        assert_int_equal(shim_netdev_delete(-1, "ecu-h", NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_veth_across_namespaces),
                cmocka_unit_test(test_delete_marked_veth_only),
                cmocka_unit_test(test_bad_names_and_missing_bridge),
                cmocka_unit_test(test_check_unhooked),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
