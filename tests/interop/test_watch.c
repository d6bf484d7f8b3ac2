/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stack's netlink watch (watch.h) in a real kernel, in the namespaces of
 * policy-netns.h: the shim's own changes and the kernel's set updates say
 * nothing; another process's nftables transaction, an ingress tc qdisc, an
 * interface of the stack enslaved and a new device are seen at once.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "policy-netns.h"
#include "watch.h"

/* What both sockets say now. */
static int drain(struct shim_watch *w, char **what) {
        char *a = NULL, *b = NULL;
        int r1 = shim_watch_read(w, w->nft, &a), r2 = shim_watch_read(w, w->rtnl, &b);
        assert_true(r1 >= 0 && r2 >= 0);
        *what = a ? a : b;
        if (a)
                free(b);
        return r1 == SHIM_WATCH_CHANGED || r2 == SHIM_WATCH_CHANGED ? SHIM_WATCH_CHANGED
               : r1 || r2                                          ? SHIM_WATCH_RECHECK
                                                                   : 0;
}

/* Forget what is queued (the test's own steps in between). */
static void settle(struct shim_watch *w) {
        char *what = NULL;
        (void) drain(w, &what);
        free(what);
}

static void expect_quiet(struct shim_watch *w) {
        char *what = NULL;
        int r = drain(w, &what);
        if (r != 0)
                fail_msg("the watch saw a change: %s", what ? what : "?");
        free(what);
}

static void expect_change(struct shim_watch *w, int kind, const char *needle) {
        char *what = NULL;
        assert_int_equal(drain(w, &what), kind);
        assert_non_null(what);
        if (!strstr(what, needle))
                fail_msg("expected \"%s\" in \"%s\"", needle, what);
        free(what);
}

static void test_own_changes_and_traffic_are_quiet(void **state) {
        struct env *e = *state;
        load(e);
        struct shim_watch w;
        assert_int_equal(shim_watch_open(&w, TAP, UPLINK, TABLE, true, NULL), 0);
        assert_int_equal(shim_watch_own_begin(&w, NULL), 0);
        assert_int_equal(shim_policy_load(&e->m, NULL), 0); /* this process: a reload */
        assert_int_equal(shim_watch_own_end(&w, NULL), 0);
        udp_roundtrip(e, HOST4, GUEST4, AF_INET);    /* the kernel fills flow sets, records drops */
        int g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        send_to(g, HOST4, 6000, "blocked");
        close(g);
        usleep(100 * 1000);
        expect_quiet(&w);
        shim_watch_close(&w);
}

/* A foreign transaction, by a process of ours (its own pid namespace's pid 2, say). */
static int run_nft(const char *cmd) {
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                execlp("nft", "nft", cmd, (char *) NULL);
                _exit(127);
        }
        int st;
        return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What the watch says now, in a process without cmocka: 0 quiet, 1 changed, 2 recheck, -1 failed. */
static int drain_plain(struct shim_watch *w) {
        char *a = NULL, *b = NULL;
        int r1 = shim_watch_read(w, w->nft, &a), r2 = shim_watch_read(w, w->rtnl, &b);
        if (a || b)
                fprintf(stderr, "watch: %s\n", a ? a : b);
        free(a);
        free(b);
        if (r1 < 0 || r2 < 0)
                return -1;
        return r1 == SHIM_WATCH_CHANGED || r2 == SHIM_WATCH_CHANGED ? 1 : r1 || r2 ? 2 : 0;
}

/* Pid 1 of a new pid namespace (a unit with PrivatePIDs=): its own reloads stay quiet, another's are seen. */
static int in_pid_namespace(struct env *e) {
        if (getpid() != 1)
                return 10;
        struct shim_watch w;
        if (shim_watch_open(&w, TAP, UPLINK, TABLE, true, NULL) < 0)
                return 11;
        for (int i = 0; i < 3; i++) {
                if (shim_watch_own_begin(&w, NULL) < 0 || shim_policy_load(&e->m, NULL) < 0 ||
                    shim_watch_own_end(&w, NULL) < 0)
                        return 12;
                usleep(50 * 1000);
                if (drain_plain(&w) != 0)
                        return 13;
        }
        if (run_nft("add table inet other") != 0)
                return 14;
        usleep(50 * 1000);
        if (drain_plain(&w) != 1)
                return 15;
        /* an outside commit between begin and end: neither is taken for ours */
        if (shim_watch_own_begin(&w, NULL) < 0 || run_nft("delete table inet other") != 0 ||
            shim_policy_load(&e->m, NULL) < 0 || shim_watch_own_end(&w, NULL) < 0)
                return 16;
        usleep(50 * 1000);
        if (drain_plain(&w) != 1)
                return 17;
        shim_watch_close(&w);
        return 0;
}

/*
 * IPv6 addresses still in duplicate address detection: each reports again when
 * it completes, a change the watch of an own namespace rightly reports.
 */
static void wait_no_tentative(struct env *e) {
        enter(e, false);
        for (int i = 0; i < 100; i++) {
                char *argv[] = {(char *) "ip", (char *) "-6", (char *) "addr", (char *) "show", (char *) "tentative", NULL};
                struct tl_result res;
                tl_run(argv, &res);
                bool none = res.status == 0 && (!res.out || !*res.out);
                tl_result_free(&res);
                if (none)
                        return;
                usleep(100 * 1000);
        }
        fail_msg("IPv6 addresses still tentative after 10 s");
}

static void test_own_changes_in_a_pid_namespace(void **state) {
        struct env *e = *state;
        load(e);
        wait_no_tentative(e);
        pid_t outer = fork();
        assert_true(outer >= 0);
        if (outer == 0) {
                /* the pid namespace applies to this process's children: its first is pid 1 there */
                if (unshare(CLONE_NEWPID) < 0)
                        _exit(20);
                pid_t inner = fork();
                if (inner < 0)
                        _exit(21);
                if (inner == 0)
                        _exit(in_pid_namespace(e));
                int st;
                _exit(waitpid(inner, &st, 0) == inner && WIFEXITED(st) ? WEXITSTATUS(st) : 22);
        }
        int st;
        assert_int_equal(waitpid(outer, &st, 0), outer);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        sh(e, false, "nft flush ruleset");
}

static void test_outside_nftables_changes_are_seen(void **state) {
        struct env *e = *state;
        const char *changes[] = {
                ("nft add element netdev " TABLE " grant_out4 { " HOST4 " . tcp . 22 timeout 1h }"),
                ("nft add table netdev " TABLE " { flags dormant ; }"),
                "nft flush ruleset",
                "nft add table inet other",
        };
        /* in a shared namespace: a change when the stack's table is named, a reason to check otherwise */
        const int shared[] = {SHIM_WATCH_CHANGED, SHIM_WATCH_CHANGED, SHIM_WATCH_CHANGED, SHIM_WATCH_RECHECK};
        /* (a change that changes nothing is no transaction: the shared round makes its own table) */
        for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
                load(e);
                struct shim_watch w;
                assert_int_equal(shim_watch_open(&w, TAP, UPLINK, TABLE, true, NULL), 0);
                sh(e, false, "%s", changes[i]);
                expect_change(&w, SHIM_WATCH_CHANGED, "another process");
                shim_watch_close(&w);
                /* in a shared namespace */
                sh(e, false, "nft flush ruleset");
                load(e);
                assert_int_equal(shim_watch_open(&w, TAP, UPLINK, TABLE, false, NULL), 0);
                sh(e, false, "%s", changes[i]);
                expect_change(&w, shared[i], "another process");
                shim_watch_close(&w);
                (void) shim_policy_remove("t", NULL);
                sh(e, false, "nft flush ruleset");
        }
}

static void test_outside_link_and_tc_changes_are_seen(void **state) {
        struct env *e = *state;
        load(e);
        struct shim_watch w;
        assert_int_equal(shim_watch_open(&w, TAP, UPLINK, TABLE, true, NULL), 0);
        sh(e, false, "tc qdisc add dev " TAP " clsact");
        expect_change(&w, SHIM_WATCH_CHANGED, "tc qdisc");
        /* (a tc filter is seen the same way, RTM_NEWTFILTER; this machine's kernel has no classifier to add) */
        sh(e, false, "tc qdisc del dev " TAP " clsact");
        settle(&w);
        sh(e, false, "ip link add name wbr type bridge");
        usleep(200 * 1000); /* the test's namespace is not empty: let the kernel's own address work settle */
        settle(&w);
        sh(e, false, "ip link set dev " UPLINK " master wbr");
        expect_change(&w, SHIM_WATCH_CHANGED, "enslaved");
        sh(e, false, "ip link del dev wbr");
        settle(&w);
        /* the stack's own namespace holds nothing else */
        sh(e, false, "ip link add name wx type veth peer name wy");
        expect_change(&w, SHIM_WATCH_CHANGED, "appeared");
        sh(e, false, "ip link del dev wx");
        shim_watch_close(&w);
        /* in a shared one other devices come and go */
        assert_int_equal(shim_watch_open(&w, TAP, UPLINK, TABLE, false, NULL), 0);
        sh(e, false, "ip link add name wx type veth peer name wy");
        expect_quiet(&w);
        sh(e, false, "ip link del dev wx");
        shim_watch_close(&w);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_own_changes_and_traffic_are_quiet),
                cmocka_unit_test(test_own_changes_in_a_pid_namespace),
                cmocka_unit_test(test_outside_nftables_changes_are_seen),
                cmocka_unit_test(test_outside_link_and_tc_changes_are_seen),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
