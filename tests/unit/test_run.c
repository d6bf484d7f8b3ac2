/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root, a network namespace, taps, libvirt and QEMU */
/*
 * shim/run: the order of bringing a stack up and what a failure leaves
 * behind, on a real embedded libvirt (TCG) and real taps, inside a network
 * namespace this test enters.  The guest has nothing to boot: it only has to
 * start paused and resume.  The policy hooks record when they are called
 * and what the world looked like then.  Needs root (label "system").
 */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvirt-embed.h"
#include "names.h"
#include "netdev.h"
#include "run.h"
#include "tap.h"
#include "testlib.h"

struct probe {
        struct shim_stack *s;
        int loads, verifies, removes, audits;
        bool tap_at_load, paused_at_verify, running_at_verify;
        bool started_during_load; /* the domain was paused by the time a slow load ended */
        unsigned load_ms;         /* how long a load takes */
        int fail_load, fail_verify, fail_cut; /* negative errno to return */
        char last_audit[64];
};

/*
 * The domain's state as the connection tells it (the policy hooks may run in
 * the policy thread: s->conn stays as it is, s->dom does not).
 */
static int domain_state(struct probe *p) {
        virDomainPtr d = virDomainLookupByName(p->s->conn, p->s->dom_name);
        int st = VIR_DOMAIN_NOSTATE;
        if (d && virDomainGetState(d, &st, NULL, 0) < 0)
                st = VIR_DOMAIN_NOSTATE;
        if (d)
                virDomainFree(d);
        return st;
}

static int h_domain_xml(void *ud, const struct ecl_manifest *m, enum ecl_accel *accel, char **ret) {
        (void) ud;
        char tap[IFNAMSIZ];
        shim_tap_name(m->stack, 0, tap);
        *accel = ECL_ACCEL_TCG;
        return asprintf(ret,
                        "<domain type='qemu'><name>ecluse-%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                        "<os><type arch='x86_64'>hvm</type></os><devices>"
                        "<interface type='ethernet'><target dev='%s' managed='no'/><model type='virtio'/>"
                        "<driver queues='2'/>"
                        "<rom enabled='no'/></interface>"
                        "<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>",
                        m->stack, tap) < 0 ? -ENOMEM : 0;
}

static int h_check_cut(void *ud, const char *xml, const char *tap, char **why) {
        struct probe *p = ud;
        if (p->fail_cut) {
                *why = strdup("test: not cut");
                return p->fail_cut;
        }
        /* the live XML is libvirt's: it names our tap */
        char want[64];
        snprintf(want, sizeof want, "<target dev='%s'", tap);
        return strstr(xml, want) ? 0 : -EPERM;
}

static int h_policy_load(void *ud, const struct ecl_manifest *m) {
        struct probe *p = ud;
        (void) m;
        p->loads++;
        p->tap_at_load = shim_tap_exists(p->s->tap) == 1;
        if (p->load_ms) {
                usleep(p->load_ms * 1000);
                p->started_during_load = domain_state(p) == VIR_DOMAIN_PAUSED;
        }
        return p->fail_load;
}

static int h_policy_verify(void *ud, const struct ecl_manifest *m, char **why) {
        struct probe *p = ud;
        (void) m;
        p->verifies++;
        int st = domain_state(p);
        p->paused_at_verify = st == VIR_DOMAIN_PAUSED;
        p->running_at_verify = st == VIR_DOMAIN_RUNNING;
        if (p->fail_verify)
                *why = strdup("test: policy missing");
        return p->fail_verify;
}

static int h_policy_remove(void *ud, const char *stack) {
        (void) stack;
        ((struct probe *) ud)->removes++;
        return 0;
}

static int h_audit(void *ud, const char *event, const char *subject, const char *details) {
        (void) subject, (void) details;
        struct probe *p = ud;
        p->audits++;
        snprintf(p->last_audit, sizeof p->last_audit, "%s", event);
        return 0;
}

#define RUN_BRIDGE "rtbr0"
static char *g_root;
static char *g_uri;

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0 || access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
                return 0;
        /* only a network namespace: libvirt needs the host's /sys (cgroups) */
        if (unshare(CLONE_NEWNET) < 0)
                return -1;
        /* the operator's bridge the uplink's outer end joins */
        struct tl_result res;
        tl_run((char *[]){"ip", "link", "add", RUN_BRIDGE, "type", "bridge", NULL}, &res);
        int st = res.status;
        tl_result_free(&res);
        if (st != 0)
                return -1;
        if (virEventRegisterDefaultImpl() < 0)
                return -1;
        g_root = tl_mkdtemp();
        if (chmod(g_root, 0755) < 0) /* QEMU runs as its own user */
                return -1;
        bool embed;
        return shim_connect_uri(g_root, "runtest", NULL, &g_uri, &embed, NULL);
}

static int teardown(void **state) {
        (void) state;
        if (g_root)
                tl_rm_rf(g_root);
        free(g_root);
        free(g_uri);
        return 0;
}

#define NEED_ROOT() tl_require(g_uri, "root and qemu-system-x86_64")

/* The guest's own address: a manifest with a network always names one. */
static struct ecl_cidr guest_addr = {.family = AF_INET, .addr = {192, 0, 2, 2}, .prefix = 32};

static struct ecl_manifest manifest(void) {
        return (struct ecl_manifest){.stack = (char *) "runtest", .has_network = true,
                                     .network = {.bridge = (char *) RUN_BRIDGE, .addresses = &guest_addr,
                                                 .n_addresses = 1},
                                     .vm = {.vcpus = 1, .memory_mib = 64}};
}

static const struct shim_run_opts opts = {.tap_owner = (uid_t) -1, .tap_group = (gid_t) -1, .shutdown_timeout_s = 0};

static void hooks_for(struct shim_run_hooks *h, struct probe *p) {
        *h = (struct shim_run_hooks){.userdata = p, .domain_xml = h_domain_xml, .check_cut = h_check_cut,
                                     .policy_load = h_policy_load, .policy_verify = h_policy_verify,
                                     .policy_remove = h_policy_remove, .audit = h_audit};
}

/* s for m on the test's connection, its hooks h recording into p. */
static void open_stack(struct shim_stack *s, const struct ecl_manifest *m, struct shim_run_hooks *h, struct probe *p) {
        hooks_for(h, p);
        assert_int_equal(shim_stack_init(s, m, h, &opts), 0);
        p->s = s;
        assert_int_equal(shim_run_connect(s, g_uri), 0);
}

/* Another supervisor of the same stack (s2, recording into p2) on the connection conn. */
static void second_stack(struct shim_stack *s2, const struct ecl_manifest *m, struct shim_run_hooks *h2,
                         struct probe *p2, const struct shim_run_opts *o, virConnectPtr conn) {
        hooks_for(h2, p2);
        assert_int_equal(shim_stack_init(s2, m, h2, o), 0);
        p2->s = s2;
        s2->conn = conn;
        virConnectRef(conn);
}

static bool domain_defined(struct shim_stack *s) {
        virDomainPtr d = virDomainLookupByName(s->conn, s->dom_name);
        if (!d)
                return false;
        virDomainFree(d);
        return true;
}

static void test_up_and_down(void **state) {
        (void) state;
        NEED_ROOT();
        struct ecl_manifest m = manifest();
        struct probe p = {0};
        struct shim_run_hooks h;
        struct shim_stack s;
        open_stack(&s, &m, &h, &p);
        assert_int_equal(shim_run_up(&s), 0);
        assert_int_equal(p.loads, 1);
        assert_true(p.tap_at_load);
        assert_int_equal(p.verifies, 1);
        assert_false(p.running_at_verify); /* at the first start it may come before QEMU's */
        assert_string_equal(p.last_audit, "domain-resumed");
        int st = VIR_DOMAIN_NOSTATE;
        assert_int_equal(virDomainGetState(s.dom, &st, NULL, 0), 0);
        assert_int_equal(st, VIR_DOMAIN_RUNNING);
        assert_int_equal(shim_tap_exists(s.tap), 1);

        /* a second process cannot open the same embedded root meanwhile */
        if (tl_have_program("virsh")) {
                char *argv[] = {(char *) "/usr/bin/virsh", (char *) "-c", g_uri, (char *) "list", NULL};
                struct tl_result res;
                tl_run(argv, &res);
                assert_int_not_equal(res.status, 0);
                assert_non_null(strstr(res.err, "driver.pid"));
                tl_result_free(&res);
        }

        /* a second supervisor of the same stack is refused and breaks nothing */
        struct probe p2 = {0};
        struct shim_run_hooks h2;
        struct shim_stack s2;
        second_stack(&s2, &m, &h2, &p2, &opts, s.conn);
        assert_int_equal(shim_run_up(&s2), -EBUSY);
        assert_int_equal(p2.loads, 0);
        assert_int_equal(p2.removes, 0);
        shim_stack_done(&s2);
        assert_int_equal(virDomainIsActive(s.dom), 1);
        assert_int_equal(shim_tap_exists(s.tap), 1);

        /* restart keeps tap and uplink, loads the policy again (whatever was changed from outside
         * goes), verifies again before resuming */
        assert_int_equal(shim_run_restart(&s), 0);
        assert_int_equal(p.verifies, 2);
        assert_true(p.paused_at_verify);
        assert_int_equal(p.loads, 2);
        assert_int_equal(p.removes, 1); /* only the stale one before the first load */
        assert_int_equal(virDomainIsActive(s.dom), 1);

        assert_int_equal(shim_run_stop_domain(&s), 0);
        assert_int_equal(shim_domain_active(s.dom), 0);
        assert_int_equal(shim_run_teardown(&s), 0);
        assert_false(domain_defined(&s));
        assert_int_equal(shim_tap_exists(s.tap), 0);
        assert_int_equal(if_nametoindex(s.uplink), 0);
        assert_int_equal(if_nametoindex(s.outer), 0);
        assert_int_equal(p.removes, 2); /* the stale one before load, and ours */
        shim_stack_done(&s);
}

/* Each failing step leaves no domain, no tap and no policy. */
static void run_failing(struct probe *p) {
        struct ecl_manifest m = manifest();
        struct shim_run_hooks h;
        struct shim_stack s;
        open_stack(&s, &m, &h, p);
        assert_true(shim_run_up(&s) < 0);
        assert_false(domain_defined(&s));
        assert_int_equal(shim_tap_exists(s.tap), 0);
        assert_int_equal(if_nametoindex(s.uplink), 0);
        assert_int_equal(if_nametoindex(s.outer), 0);
        assert_int_equal(p->removes, 2); /* the stale one, and the one loaded (or half-loaded) */
        assert_false(s.policy_loaded);
        assert_false(s.tap_created);
        shim_stack_done(&s);
}

static void test_verify_fails(void **state) {
        (void) state;
        NEED_ROOT();
        struct probe p = {.fail_verify = -EPERM};
        run_failing(&p);
        assert_int_equal(p.verifies, 1);
        assert_false(p.running_at_verify); /* it never ran */
        assert_int_equal(p.audits, 0);     /* nor was resumed */
}

/* A slow policy load runs beside QEMU's start; the resume waits for it. */
static void test_slow_load_overlaps_the_start(void **state) {
        (void) state;
        NEED_ROOT();
        struct ecl_manifest m = manifest();
        struct probe p = {.load_ms = 4000};
        struct shim_run_hooks h;
        struct shim_stack s;
        open_stack(&s, &m, &h, &p);
        assert_int_equal(shim_run_up(&s), 0);
        assert_true(p.started_during_load);
        assert_int_equal(p.verifies, 1);
        assert_false(p.running_at_verify);
        assert_string_equal(p.last_audit, "domain-resumed");
        int st = VIR_DOMAIN_NOSTATE;
        assert_int_equal(virDomainGetState(s.dom, &st, NULL, 0), 0);
        assert_int_equal(st, VIR_DOMAIN_RUNNING);
        assert_int_equal(shim_run_teardown(&s), 0);
        shim_stack_done(&s);
}

/* A load that fails after QEMU has started paused: the started domain goes, with tap and uplink. */
static void test_failing_slow_load_undoes_the_domain(void **state) {
        (void) state;
        NEED_ROOT();
        struct probe p = {.load_ms = 4000, .fail_load = -EIO};
        run_failing(&p);
        assert_true(p.started_during_load);
        assert_int_equal(p.verifies, 0);
        assert_int_equal(p.audits, 0);
}

static void test_cut_fails(void **state) {
        (void) state;
        NEED_ROOT();
        struct probe p = {.fail_cut = -EPERM};
        run_failing(&p);
        assert_int_equal(p.verifies, 1); /* by the policy job, beside QEMU's start */
        assert_int_equal(p.audits, 0);
}

static void test_load_fails(void **state) {
        (void) state;
        NEED_ROOT();
        struct probe p = {.fail_load = -ENOENT};
        run_failing(&p);
        assert_int_equal(p.verifies, 0);
}

/*
 * A supervisor killed with its (transient) domain running: the next run on
 * the same root destroys the orphan, removes its tap and starts afresh,
 * without a definition to undefine.
 */
static void test_orphan_replaced(void **state) {
        (void) state;
        NEED_ROOT();
        struct ecl_manifest m = manifest();
        struct probe p = {0};
        struct shim_run_hooks h;
        struct shim_stack s;
        open_stack(&s, &m, &h, &p);
        assert_int_equal(shim_run_up(&s), 0);
        assert_int_equal(virDomainIsPersistent(s.dom), 0); /* transient */
        /* what the kernel closes when the supervisor dies */
        if (s.tap_queue >= 0)
                close(s.tap_queue);
        s.tap_queue = -1;
        shim_watch_close(&s.watch);

        struct probe p2 = {0};
        struct shim_run_hooks h2;
        struct shim_run_opts o2 = opts;
        o2.replace_orphan = true;
        struct shim_stack s2;
        second_stack(&s2, &m, &h2, &p2, &o2, s.conn);
        assert_int_equal(shim_run_up(&s2), 0);
        assert_int_equal(shim_domain_active(s2.dom), 1);
        assert_int_equal(shim_domain_active(s.dom), 0); /* the orphan is gone */
        assert_int_equal(shim_run_teardown(&s2), 0);
        assert_false(domain_defined(&s2));
        assert_int_equal(shim_tap_exists(s2.tap), 0);
        shim_stack_done(&s2);
        virDomainFree(s.dom);
        s.dom = NULL;
        shim_stack_done(&s);
}

static void test_stale_tap_replaced(void **state) {
        (void) state;
        NEED_ROOT();
        char tap[IFNAMSIZ];
        shim_tap_name("runtest", 0, tap);
        struct shim_tap_opts to = {.owner = (uid_t) -1, .group = (gid_t) -1, .mtu = 1280};
        assert_int_equal(shim_tap_create(tap, &to, NULL), 0);
        struct ecl_manifest m = manifest();
        struct probe p = {0};
        struct shim_run_hooks h;
        struct shim_stack s;
        open_stack(&s, &m, &h, &p);
        assert_int_equal(shim_run_up(&s), 0);
        assert_true(p.tap_at_load);
        assert_int_equal(shim_run_teardown(&s), 0);
        assert_int_equal(shim_tap_exists(tap), 0);
        shim_stack_done(&s);
}

/* A veth named like the uplink is removed only when it carries the stack's mark. */
static void test_stale_uplink_only_if_marked(void **state) {
        (void) state;
        NEED_ROOT();
        struct ecl_manifest m = manifest();
        struct probe p = {0};
        struct shim_run_hooks h;
        struct shim_stack s;
        open_stack(&s, &m, &h, &p);
        /* someone else's device of that name */
        assert_int_equal(shim_netdev_veth_create(-1, s.outer, "rt-other", -1, 0, NULL), 0);
        assert_int_equal(shim_run_up(&s), -EEXIST);
        assert_int_not_equal(if_nametoindex(s.outer), 0);
        assert_int_equal(if_nametoindex(s.uplink), 0);
        assert_false(domain_defined(&s));
        /* the stack's own, left by a killed run */
        assert_int_equal(shim_netdev_set_alias(-1, s.outer, "ecluse uplink of runtest", NULL), 0);
        assert_int_equal(shim_run_up(&s), 0);
        assert_int_equal(if_nametoindex("rt-other"), 0);
        assert_int_equal(shim_run_teardown(&s), 0);
        assert_int_equal(if_nametoindex(s.outer), 0);
        shim_stack_done(&s);
}

static void test_connect_fails(void **state) {
        (void) state;
        struct ecl_manifest m = manifest();
        struct probe p = {0};
        struct shim_run_hooks h;
        hooks_for(&h, &p);
        struct shim_stack s;
        assert_int_equal(shim_stack_init(&s, &m, &h, &opts), 0);
        assert_int_equal(shim_run_connect(&s, "test+unix:///nonexistent?socket=/nonexistent/sock"), -EHOSTUNREACH);
        shim_stack_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_up_and_down),
                cmocka_unit_test(test_verify_fails),
                cmocka_unit_test(test_cut_fails),
                cmocka_unit_test(test_load_fails),
                cmocka_unit_test(test_slow_load_overlaps_the_start),
                cmocka_unit_test(test_failing_slow_load_undoes_the_domain),
                cmocka_unit_test(test_orphan_replaced),
                cmocka_unit_test(test_stale_tap_replaced),
                cmocka_unit_test(test_stale_uplink_only_if_marked),
                cmocka_unit_test(test_connect_fails),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
