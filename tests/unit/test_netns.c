/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (mount and network namespaces) */
/*
 * shim/netns: the stack's own network namespace, made in a child process
 * (the test process keeps its own): hardened, pinned, joined from outside
 * through the mount or, where the mount is not seen, through the pid under
 * it; unpinned.  Needs root (label "system").
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"
#include "testlib.h"

static char *g_root;

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0)
                return 0;
        /* our own mount and network namespaces: the pins and devices stay in the test */
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                return -1;
        g_root = tl_mkdtemp();
        char *run = tl_strf("%s/run/ecluse", g_root);
        tl_mkdir_p(run);
        free(run);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        if (g_root) {
                tl_rm_rf(g_root);
                free(g_root);
        }
        return 0;
}

static long read_long(const char *path) {
        FILE *f = fopen(path, "re");
        long v = -1;
        if (f) {
                if (fscanf(f, "%ld", &v) != 1)
                        v = -1;
                fclose(f);
        }
        return v;
}

static void ino_of(const char *path, ino_t *ret) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        *ret = st.st_ino;
}

/* Whether this thread's network namespace is the one of inode want. */
static bool in_ns(ino_t want) {
        struct stat st;
        return stat("/proc/thread-self/ns/net", &st) == 0 && st.st_ino == want;
}

static int join_via_mount(const char *pin, ino_t want) {
        return shim_netns_join_pinned(pin, NULL) == 0 && in_ns(want) ? 0 : 1;
}

/* From a mount namespace where the pin is the plain file under the mount. */
static int unmounted_here(const char *pin) {
        return unshare(CLONE_NEWNS) < 0 || umount2(pin, MNT_DETACH) < 0 ? -1 : 0;
}

static int join_via_pid(const char *pin, ino_t want) {
        if (unmounted_here(pin) < 0)
                return 2;
        return shim_netns_join_pinned(pin, NULL) == 0 && in_ns(want) ? 0 : 1;
}

static int refuse_reused_pid(const char *pin, ino_t want) {
        (void) want;
        if (unmounted_here(pin) < 0)
                return 2;
        int fd = open(pin, O_WRONLY | O_TRUNC | O_NOFOLLOW);
        if (fd < 0 || dprintf(fd, "%d\n", (int) getppid()) < 0) /* the test process: no supervisor */
                return 3;
        close(fd);
        return shim_netns_join_pinned(pin, NULL) == -ENOENT ? 0 : 1;
}

/* Run fn in a child process; it must exit 0. */
static void in_child(int (*fn)(const char *pin, ino_t want), const char *pin, ino_t want) {
        pid_t j = fork();
        assert_true(j >= 0);
        if (j == 0)
                _exit(fn(pin, want));
        int st;
        assert_int_equal(waitpid(j, &st, 0), j);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_create_pin_join_unpin(void **state) {
        (void) state;
        tl_require(g_root, "root (mount and network namespaces)");
        char *pin = NULL;
        assert_int_equal(shim_netns_pin_path(g_root, "nst", &pin), 0);
        assert_non_null(strstr(pin, "/run/ecluse/nst.netns"));
        ino_t mine, theirs;
        ino_of("/proc/self/ns/net", &mine);
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* who `blocked` accepts under a pin it cannot see mounted: a supervisor, root's */
                prctl(PR_SET_NAME, "ecluse-shim");
                int host = -1;
                if (shim_netns_create(pin, &host, NULL) < 0)
                        _exit(1);
                /* hardened: no IPv6, no forwarding, ARP never answered */
                if (read_long("/proc/sys/net/ipv6/conf/default/disable_ipv6") != 1 ||
                    read_long("/proc/sys/net/ipv4/ip_forward") != 0 ||
                    read_long("/proc/sys/net/ipv4/conf/all/arp_ignore") != 8)
                        _exit(2);
                /* a second one cannot take the same pin */
                int h2 = -1;
                if (shim_netns_create(pin, &h2, NULL) != -EEXIST)
                        _exit(3);
                if (write(p[1], "x", 1) != 1)
                        _exit(4);
                pause();
                _exit(0);
        }
        char c;
        assert_int_equal(read(p[0], &c, 1), 1);
        /* the child is in a namespace of its own, and the pin leads there */
        char *child_ns = tl_strf("/proc/%d/ns/net", (int) pid);
        ino_of(child_ns, &theirs);
        assert_true(mine != theirs);
        ino_t pinned;
        ino_of(pin, &pinned);
        assert_true(pinned == theirs);

        /* joined from another process: through the mount, through the pid under it where the
         * mount is not seen (another mount namespace), and not at all when that pid is another
         * program's (reused) */
        in_child(join_via_mount, pin, theirs);
        in_child(join_via_pid, pin, theirs);
        in_child(refuse_reused_pid, pin, theirs);

        int st;
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        /* the pin outlives the child: the namespace with it */
        ino_of(pin, &pinned);
        assert_true(pinned == theirs);
        assert_int_equal(shim_netns_unpin(pin, NULL), 0);
        assert_int_equal(access(pin, F_OK), -1);
        assert_int_equal(shim_netns_unpin(pin, NULL), 0); /* none: fine */
        assert_int_equal(shim_netns_join_pinned(pin, NULL), -ENOENT);
        free(child_ns);
        free(pin);
        close(p[0]);
        close(p[1]);
}

/* A child makes the stack's namespace and pin, and exits: the pin stays, as a stopped shim leaves it. */
static void pin_by_child(const char *pin) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int host = -1;
                _exit(shim_netns_create(pin, &host, NULL) < 0 ? 1 : 0);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* `stop` removes the pin of the run it stopped, not that of a run started meanwhile. */
static void test_unpin_only_the_same_pin(void **state) {
        (void) state;
        tl_require(g_root, "root (mount and network namespaces)");
        char *pin = NULL;
        assert_int_equal(shim_netns_pin_path(g_root, "nsr", &pin), 0);
        struct shim_netns_pin_id none, first, second;
        assert_int_equal(shim_netns_pin_identify(pin, &none, NULL), 0);
        assert_false(none.present);
        pin_by_child(pin);
        assert_int_equal(shim_netns_pin_identify(pin, &first, NULL), 0);
        assert_true(first.present);
        /* the next run removes the stale pin and makes its own */
        assert_int_equal(shim_netns_unpin(pin, NULL), 0);
        pin_by_child(pin);
        assert_int_equal(shim_netns_unpin_if_same(pin, &first, NULL), 1);
        assert_int_equal(access(pin, F_OK), 0);
        assert_int_equal(shim_netns_unpin_if_same(pin, &none, NULL), 1); /* there was none when the stop began */
        assert_int_equal(access(pin, F_OK), 0);
        /* its own stop removes it */
        assert_int_equal(shim_netns_pin_identify(pin, &second, NULL), 0);
        assert_int_equal(shim_netns_unpin_if_same(pin, &second, NULL), 0);
        assert_int_equal(access(pin, F_OK), -1);
        assert_int_equal(shim_netns_unpin_if_same(pin, &second, NULL), 0); /* none: fine */
        free(pin);
}

static void test_unpin_refuses_what_is_no_pin(void **state) {
        (void) state;
        tl_require(g_root, "root (mount and network namespaces)");
        char *dir = tl_strf("%s/run/ecluse/odd.netns", g_root);
        tl_mkdir_p(dir);
        assert_int_equal(shim_netns_unpin(dir, NULL), -EPERM);
        assert_int_equal(access(dir, F_OK), 0);
        free(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_pin_join_unpin),
                cmocka_unit_test(test_unpin_only_the_same_pin),
                cmocka_unit_test(test_unpin_refuses_what_is_no_pin),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
