/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (a network namespace, taps, a bridge) */
/*
 * shim/tap: real tap devices, in a network namespace (and a mount namespace
 * with its own sysfs) this test process enters itself.  Needs root; skipped
 * otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

#define BR "eclt-br0"
#define TAP "ecl-ttest"

static int ifreq(unsigned long req, struct ifreq *ifr) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(s >= 0);
        int r = ioctl(s, req, ifr);
        close(s);
        return r;
}

static long sys_value(const char *dev, const char *attr) {
        char path[128];
        snprintf(path, sizeof path, "/sys/class/net/%s/%s", dev, attr);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        long v = -1;
        if (fscanf(f, "%li", &v) != 1)
                v = -1;
        fclose(f);
        return v;
}

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0)
                return 0;
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                return -1;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
                return -1;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0 || ioctl(s, SIOCBRADDBR, BR) < 0)
                return -1;
        close(s);
        return 0;
}

#define NEED_ROOT() tl_require_root()

static void test_create_full(void **state) {
        (void) state;
        NEED_ROOT();
        int hold = -1;
        struct shim_tap_opts o = {.owner = 64055, .group = 108, .mtu = 1400, .bridge = BR, .hold = &hold};
        assert_int_equal(shim_tap_create(TAP, &o, NULL), 0);
        assert_true(hold >= 0);
        assert_int_equal(shim_tap_exists(TAP), 1);

        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", TAP);
        assert_int_equal(ifreq(SIOCGIFMTU, &ifr), 0);
        assert_int_equal(ifr.ifr_mtu, 1400);
        assert_int_equal(ifreq(SIOCGIFFLAGS, &ifr), 0);
        assert_true(ifr.ifr_flags & IFF_UP);

        assert_int_equal(sys_value(TAP, "owner"), 64055);
        assert_int_equal(sys_value(TAP, "group"), 108);
        long flags = sys_value(TAP, "tun_flags");
        assert_true(flags >= 0);
        assert_true(flags & IFF_TAP);
        assert_true(flags & IFF_NO_PI);
        assert_true(flags & IFF_PERSIST);
        /* Multi-queue and no virtio-net headers (tap.h). */
        assert_true(flags & IFF_MULTI_QUEUE);
        assert_false(flags & IFF_VNET_HDR);
        assert_int_equal(shim_tap_vnet_hdr(TAP, NULL), 0);

        char link[256];
        ssize_t n = readlink("/sys/class/net/" TAP "/master", link, sizeof link - 1);
        assert_true(n > 0);
        link[n] = '\0';
        assert_non_null(strstr(link, BR));

        /* What libvirt does with <target dev=... managed="no"/> and two queues of a virtio model:
         * attach to it by name, asking for virtio-net headers, which it does not get. */
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        struct ifreq att = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE};
        snprintf(att.ifr_name, IFNAMSIZ, "%s", TAP);
        assert_int_equal(ioctl(fd, TUNSETIFF, &att), 0);
        struct ifreq got = {0};
        assert_int_equal(ioctl(fd, TUNGETIFF, &got), 0); /* what QEMU probes */
        assert_false(got.ifr_flags & IFF_VNET_HDR);
        assert_int_equal(shim_tap_vnet_hdr(TAP, NULL), 0);
        /* A single-queue open is refused: no way around it. */
        int fd1 = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        assert_true(fd1 >= 0);
        struct ifreq single = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
        snprintf(single.ifr_name, IFNAMSIZ, "%s", TAP);
        assert_true(ioctl(fd1, TUNSETIFF, &single) < 0);
        close(fd1);
        close(fd);
        assert_int_equal(shim_tap_exists(TAP), 1); /* persistent: closing keeps it */
        /* Without ecluse's queue the next opener would set the flags: the check sees it. */
        close(hold);
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ioctl(fd, TUNSETIFF, &att), 0);
        assert_int_equal(shim_tap_vnet_hdr(TAP, NULL), 1);
        close(fd);
        assert_int_equal(shim_tap_vnet_hdr("eclt-none", NULL), -ENODEV);
        assert_int_equal(shim_tap_vnet_hdr(BR, NULL), -ENOTTY);

        assert_int_equal(shim_tap_delete(TAP, NULL), 0);
        assert_int_equal(shim_tap_exists(TAP), 0);
        assert_int_equal(if_nametoindex(TAP), 0);
}

/* Without an MTU of its own the tap takes the bridge's (a jumbo or an overlay bridge alike). */
static void test_mtu_of_the_bridge(void **state) {
        (void) state;
        NEED_ROOT();
        struct ifreq ifr = {.ifr_mtu = 1450};
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", BR);
        assert_int_equal(ifreq(SIOCSIFMTU, &ifr), 0);
        int hold = -1;
        struct shim_tap_opts o = {.owner = (uid_t) -1, .group = (gid_t) -1, .bridge = BR, .hold = &hold};
        assert_int_equal(shim_tap_create(TAP, &o, NULL), 0);
        assert_int_equal(sys_value(TAP, "mtu"), 1450);
        assert_int_equal(sys_value(BR, "mtu"), 1450);
        close(hold);
        assert_int_equal(shim_tap_delete(TAP, NULL), 0);
        ifr.ifr_mtu = 1500;
        assert_int_equal(ifreq(SIOCSIFMTU, &ifr), 0);
}

static void test_no_takeover(void **state) {
        (void) state;
        NEED_ROOT();
        struct shim_tap_opts o = {.owner = (uid_t) -1, .group = (gid_t) -1, .mtu = 1300};
        assert_int_equal(shim_tap_create(TAP, &o, NULL), 0);
        struct shim_tap_opts o2 = {.owner = (uid_t) -1, .group = (gid_t) -1, .mtu = 1500};
        assert_int_equal(shim_tap_create(TAP, &o2, NULL), -EEXIST);
        /* the first one is untouched */
        assert_int_equal(sys_value(TAP, "mtu"), 1300);
        /* the bridge is not a tap: neither taken over nor reported as one */
        assert_int_equal(shim_tap_create(BR, &o2, NULL), -EEXIST);
        assert_int_equal(shim_tap_exists(BR), -ENOTTY);
        assert_int_equal(shim_tap_delete(TAP, NULL), 0);
}

static void test_missing_bridge_leaves_nothing(void **state) {
        (void) state;
        NEED_ROOT();
        struct shim_tap_opts o = {.owner = (uid_t) -1, .group = (gid_t) -1, .bridge = "eclt-nobr"};
        assert_int_equal(shim_tap_create(TAP, &o, NULL), -ENODEV);
        assert_int_equal(shim_tap_exists(TAP), 0);
        assert_int_equal(if_nametoindex(TAP), 0);
}

static void test_bad_mtu_leaves_nothing(void **state) {
        (void) state;
        NEED_ROOT();
        struct shim_tap_opts o = {.owner = (uid_t) -1, .group = (gid_t) -1, .mtu = 10};
        assert_true(shim_tap_create(TAP, &o, NULL) < 0);
        assert_int_equal(if_nametoindex(TAP), 0);
}

static void test_delete_missing_and_bad_names(void **state) {
        (void) state;
        NEED_ROOT();
        assert_int_equal(shim_tap_delete("ecl-absent", NULL), -ENODEV);
        assert_int_equal(shim_tap_exists("ecl-absent"), 0);
        struct shim_tap_opts o = {.owner = (uid_t) -1, .group = (gid_t) -1};
        assert_int_equal(shim_tap_create("", &o, NULL), -EINVAL);
        assert_int_equal(shim_tap_create("a-name-far-too-long", &o, NULL), -EINVAL);
        assert_int_equal(shim_tap_create("../x", &o, NULL), -EINVAL);
        assert_int_equal(shim_tap_delete("a-name-far-too-long", NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_full),
                cmocka_unit_test(test_no_takeover),
                cmocka_unit_test(test_mtu_of_the_bridge),
                cmocka_unit_test(test_missing_bridge_leaves_nothing),
                cmocka_unit_test(test_bad_mtu_leaves_nothing),
                cmocka_unit_test(test_delete_missing_and_bad_names),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
