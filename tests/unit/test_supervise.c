/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root, libvirt and QEMU */
/*
 * shim/supervise on a real embedded libvirt (TCG), in a network namespace
 * this test enters: a device hot-plugged into the running domain pauses it
 * and is audited, a resume from outside is undone, SIGTERM ends the loop,
 * a domain destroyed from outside ends it too.  The test's domain has one
 * spare PCIe root port so that something can be plugged at all (the domain
 * ecluse builds has none); the plugged device is a harmless virtio-rng:
 * anything added is a violation.  Needs root (label "system").
 *
 * libvirt's own calls fail only when libvirt does, so to see the supervisor
 * meet a failing virDomainGetState, virDomainSuspend, virDomainDestroy or
 * virDomainIsActive this file defines them: the shim's code, linked in
 * statically, calls these, which call the real ones (RTLD_NEXT), or, when
 * told to fail, the real ones on a NULL domain, so the error is libvirt's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain-check.h"
#include "libvirt-embed.h"
#include "qmp-check.h"
#include "qmp-stop.h"
#include "run.h"
#include "run-status.h"
#include "supervise.h"
#include "testlib.h"

struct probe {
        bool audit_fails; /* the audit log cannot be written: the hook fails, nothing is recorded */
        int audits;
        char events[512];
        char details[512];
        char reports[1024]; /* what the supervisor said (hooks->report), one "LEVEL:TEXT\n" each */
        struct shim_stack *stack;
        const char *qmp_before_resume; /* a QMP command sent from the check of the live XML, once */
        unsigned marks;                /* console marks asked for (hooks->console_mark) */
};

/* A console mark that says how many were asked for: offset 100 * N, generation N. */
static int h_console_mark(void *ud, struct shim_console_mark *ret) {
        struct probe *p = ud;
        p->marks++;
        *ret = (struct shim_console_mark){.offset = 100 * p->marks, .inode = 7, .generation = p->marks};
        return 1;
}

static int h_domain_xml(void *ud, const struct ecl_manifest *m, enum ecl_accel *accel, char **ret) {
        (void) ud;
        *accel = ECL_ACCEL_TCG;
        return asprintf(ret,
                        "<domain type='qemu'><name>ecluse-%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                        "<os><type arch='x86_64' machine='q35'>hvm</type></os><on_crash>destroy</on_crash><devices>"
                        "<controller type='pci' model='pcie-root'/><controller type='pci' model='pcie-root-port'/>"
                        "<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>",
                        m->stack) < 0 ? -ENOMEM : 0;
}

/* From "outside": QEMU's monitor through the same libvirt, another caller. */
static void qmp(struct shim_stack *s, const char *cmd) {
        char *reply = NULL;
        assert_int_equal(virDomainQemuMonitorCommand(s->dom, cmd, &reply, 0), 0);
        if (!strstr(reply, "\"return\""))
                fail_msg("QEMU refused %s: %s", cmd, reply);
        free(reply);
}

/* The real check of invariant 1. */
static int h_check_cut(void *ud, const char *xml, const char *tap, char **why) {
        struct probe *p = ud;
        if (p->qmp_before_resume) {
                /* the domain is started paused and checked now: a device added in this window */
                qmp(p->stack, p->qmp_before_resume);
                p->qmp_before_resume = NULL;
        }
        xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "live.xml", NULL, XML_PARSE_NONET);
        assert_non_null(doc);
        int r = shim_domain_check_cut(doc, tap, why);
        xmlFreeDoc(doc);
        return r;
}

/* The real comparison with QEMU's view (qmp-check.h). */
static int h_check_qemu(void *ud, virDomainPtr dom, const char *xml, char **why) {
        (void) ud;
        return shim_qmp_check(dom, xml, why);
}

/* The real stop of what QEMU sends out (qmp-stop.h). */
static int h_stop_qemu_leaks(void *ud, virDomainPtr dom, char **stopped, char **why) {
        (void) ud;
        return shim_qmp_stop_leaks(dom, stopped, why);
}

static int h_policy_load(void *ud, const struct ecl_manifest *m) {
        (void) ud, (void) m;
        fail_msg("no network: no policy");
        return -EIO;
}
static int h_policy_verify(void *ud, const struct ecl_manifest *m, char **why) {
        (void) ud, (void) m, (void) why;
        return 0;
}
static int h_policy_remove(void *ud, const char *stack) {
        (void) ud, (void) stack;
        return 0;
}
static int h_audit(void *ud, const char *event, const char *subject, const char *details) {
        (void) subject;
        struct probe *p = ud;
        if (p->audit_fails)
                return -ENOSPC;
        p->audits++;
        size_t n = strlen(p->events);
        snprintf(p->events + n, sizeof p->events - n, "%s;", event);
        if (details && (streq(event, "device-added") || streq(event, "violation")))
                snprintf(p->details, sizeof p->details, "%s", details);
        return 0;
}

/* The supervisor prints nothing itself (test_library_quiet): it says everything here. */
static void h_report(void *ud, enum ecl_log_level level, const char *text) {
        struct probe *p = ud;
        size_t n = strlen(p->reports);
        snprintf(p->reports + n, sizeof p->reports - n, "%d:%s\n", (int) level, text);
}

/* Which libvirt calls fail now (set by a test, cleared by up()). */
static struct {
        bool get_state, suspend, destroy, is_active;
} g_fail;

#define REAL(name) ((__typeof__(&name)) dlsym(RTLD_NEXT, #name))

int virDomainGetState(virDomainPtr dom, int *state, int *reason, unsigned int flags) {
        return REAL(virDomainGetState)(g_fail.get_state ? NULL : dom, state, reason, flags);
}
int virDomainSuspend(virDomainPtr dom) {
        return REAL(virDomainSuspend)(g_fail.suspend ? NULL : dom);
}
int virDomainDestroy(virDomainPtr dom) {
        return REAL(virDomainDestroy)(g_fail.destroy ? NULL : dom);
}
int virDomainIsActive(virDomainPtr dom) {
        return REAL(virDomainIsActive)(g_fail.is_active ? NULL : dom);
}

/* A harmless device to plug from outside. */
static const char *rng = "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>";

static void quiet(void *ud, virErrorPtr e) {
        (void) ud, (void) e;
}

static char *g_root, *g_uri;

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0 || access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
                return 0;
        /* as cmd-run.c does it: signals blocked before libvirt starts threads */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || unshare(CLONE_NEWNET) < 0)
                return -1;
        virSetErrorFunc(NULL, quiet);
        if (virEventRegisterDefaultImpl() < 0)
                return -1;
        g_root = tl_mkdtemp();
        if (chmod(g_root, 0755) < 0)
                return -1;
        bool embed;
        return shim_connect_uri(g_root, "suptest", NULL, &g_uri, &embed, NULL);
}

static int teardown(void **state) {
        (void) state;
        if (g_root)
                tl_rm_rf(g_root);
        free(g_root);
        free(g_uri);
        return 0;
}

static const struct shim_run_opts opts = {.tap_owner = (uid_t) -1, .tap_group = (gid_t) -1};

/* As cmd-run.c does it: the supervisor's events are registered before the domain exists; the result of shim_run_up. */
static int try_up(struct shim_stack *s, struct ecl_manifest *m, struct shim_run_hooks *h, struct probe *p,
                  struct shim_supervisor *sup) {
        memset(&g_fail, 0, sizeof g_fail);
        *m = (struct ecl_manifest){.stack = (char *) "suptest", .vm = {.vcpus = 1, .memory_mib = 64}};
        *h = (struct shim_run_hooks){.userdata = p, .domain_xml = h_domain_xml, .check_cut = h_check_cut,
                                     .check_qemu = h_check_qemu, .stop_qemu_leaks = h_stop_qemu_leaks,
                                     .policy_load = h_policy_load,
                                     .policy_verify = h_policy_verify, .policy_remove = h_policy_remove,
                                     .audit = h_audit, .report = h_report, .console_mark = h_console_mark};
        p->stack = s;
        assert_int_equal(shim_stack_init(s, m, h, &opts), 0);
        assert_int_equal(shim_run_connect(s, g_uri), 0);
        assert_int_equal(shim_supervise_init(sup, s), 0);
        return shim_run_up(s);
}

static void up(struct shim_stack *s, struct ecl_manifest *m, struct shim_run_hooks *h, struct probe *p,
               struct shim_supervisor *sup) {
        assert_int_equal(try_up(s, m, h, p, sup), 0);
        assert_int_equal(shim_supervise_watch_network(sup), 0);
}

/* Registered after the domain exists, events in between would be lost: refused. */
static void test_init_before_the_domain(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        struct shim_supervisor late;
        assert_int_equal(shim_supervise_init(&late, &s), -EBUSY);
        shim_supervise_done(&late);
        assert_int_equal(shim_run_teardown(&s), 0);
        shim_supervise_done(&sup);
        shim_stack_done(&s);
}

static int dom_state(struct shim_stack *s) {
        int st = VIR_DOMAIN_NOSTATE;
        assert_int_equal(virDomainGetState(s->dom, &st, NULL, 0), 0);
        return st;
}

static void test_hotplug_held(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        assert_string_equal(shim_supervise_state(&sup), "running");

        /* from "outside": the same libvirt, another caller */
        assert_int_equal(virDomainAttachDeviceFlags(s.dom, rng, VIR_DOMAIN_AFFECT_LIVE), 0);
        for (int i = 0; i < 10 && !sup.violation; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_non_null(sup.violation);
        assert_non_null(strstr(sup.violation, "device added from outside"));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held");
        assert_non_null(strstr(p.events, "device-added;"));
        assert_non_null(strstr(p.details, "rng"));
        /* said once, as an error, for the command (or the agent's daemon) to print */
        _cleanup_free_ char *said =
                tl_strf("%d:domain ecluse-suptest paused: device added from outside: ", ECL_LOG_ERROR);
        assert_non_null(strstr(p.reports, said));
        assert_null(strstr(strstr(p.reports, said) + 1, said));
        json_t *st = NULL;
        assert_int_equal(shim_supervise_status_json(&sup, &st), 0);
        assert_string_equal(json_string_value(json_object_get(st, "stack")), "suptest");
        assert_string_equal(json_string_value(json_object_get(st, "state")), "held");
        assert_string_equal(json_string_value(json_object_get(st, "accel")), "tcg");
        assert_string_equal(json_string_value(json_object_get(st, "policy")), "none");
        assert_non_null(strstr(json_string_value(json_object_get(st, "violation")), "rng0"));
        json_decref(st);

        /* a resume from outside is undone */
        assert_int_equal(virDomainResume(s.dom), 0);
        for (int i = 0; i < 10 && dom_state(&s) != VIR_DOMAIN_PAUSED; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        /* one record for the violation, not one per re-pause */
        assert_null(strstr(strstr(p.events, "device-added;") + 1, "device-added;"));

        /* SIGTERM ends the loop */
        assert_int_equal(kill(getpid(), SIGTERM), 0);
        bool more = true;
        for (int i = 0; i < 10 && more; i++)
                more = shim_supervise_iterate(&sup);
        assert_false(more);
        assert_true(sup.quit);
        shim_supervise_done(&sup);

        assert_int_equal(shim_run_stop_domain(&s), 0);
        assert_int_equal(shim_run_teardown(&s), 0);
        shim_stack_done(&s);
}

static void test_outside_destroy(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        assert_int_equal(virDomainDestroy(s.dom), 0);
        assert_int_equal(shim_supervise_loop(&sup), SHIM_SUP_DOMAIN_STOPPED);
        assert_string_equal(shim_supervise_state(&sup), "stopped");
        shim_supervise_done(&sup);
        assert_int_equal(shim_run_teardown(&s), 0);
        assert_null(virDomainLookupByName(s.conn, "ecluse-suptest"));
        shim_stack_done(&s);
}

/* A reload restarts the domain; the late STOPPED event of the old run does not end the loop. */
static void test_reload(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        json_t *st = NULL;
        assert_int_equal(shim_supervise_status_json(&sup, &st), 0);
        assert_int_equal(json_integer_value(json_object_get(st, "boot")), 1);
        assert_true(json_is_null(json_object_get(st, "reload")));
        json_decref(st);
        json_t *c = shim_status_console_json(&s, 3);
        assert_int_equal(json_integer_value(json_object_get(c, "offset")), 100);
        assert_int_equal(json_integer_value(json_object_get(c, "generation")), 1);
        assert_int_equal(json_integer_value(json_object_get(c, "generation_now")), 3);
        assert_string_equal(json_string_value(json_object_get(c, "file")), "console.log");
        json_decref(c);
        shim_supervise_request_reload(&sup);
        assert_string_equal(shim_supervise_reload_state(&sup), "pending");
        for (int i = 0; i < 4; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(virDomainIsActive(s.dom), 1);
        assert_int_equal(dom_state(&s), VIR_DOMAIN_RUNNING);
        assert_non_null(strstr(p.events, "reload;domain-resumed;"));
        /* the second boot, marked once, after the first */
        assert_int_equal(shim_supervise_status_json(&sup, &st), 0);
        assert_int_equal(json_integer_value(json_object_get(st, "boot")), 2);
        assert_string_equal(json_string_value(json_object_get(st, "reload")), "done");
        assert_true(json_is_null(json_object_get(st, "reload_problem")));
        json_decref(st);
        assert_int_equal(p.marks, 2);
        assert_int_equal(s.console_mark.offset, 200);
        shim_supervise_done(&sup);
        assert_int_equal(shim_run_teardown(&s), 0);
        shim_stack_done(&s);
}

static void down(struct shim_stack *s, struct shim_supervisor *sup);

/*
 * A security event the audit log cannot take holds the domain
 * ("held-unaudited", audit_problem); a reload is refused while the record
 * is still pending, and once the log takes records again that record is
 * written first, then the reload goes ahead.
 */
static void test_unaudited_held(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        int written = p.audits; /* domain-resumed */
        p.audit_fails = true;
        assert_int_equal(virDomainAttachDeviceFlags(s.dom, rng, VIR_DOMAIN_AFFECT_LIVE), 0);
        for (int i = 0; i < 10 && !sup.violation; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held-unaudited");
        assert_null(strstr(p.events, "device-added;"));
        json_t *st = NULL;
        assert_int_equal(shim_supervise_status_json(&sup, &st), 0);
        assert_string_equal(json_string_value(json_object_get(st, "state")), "held-unaudited");
        assert_non_null(strstr(json_string_value(json_object_get(st, "audit_problem")), "device-added"));
        json_decref(st);

        /* the log still fails: the reload is refused, the domain stays held */
        shim_supervise_request_reload(&sup);
        for (int i = 0; i < 3; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held-unaudited");
        assert_int_equal(p.audits, written);
        assert_string_equal(shim_supervise_reload_state(&sup), "refused");
        assert_non_null(strstr(sup.reload_problem, "device-added"));
        assert_int_equal(s.boot, 1);

        /* the log takes records again: the pending one first, then the reload's */
        p.audit_fails = false;
        shim_supervise_request_reload(&sup);
        for (int i = 0; i < 4; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_RUNNING);
        assert_string_equal(shim_supervise_state(&sup), "running");
        assert_null(sup.audit_problem);
        assert_string_equal(shim_supervise_reload_state(&sup), "done");
        assert_int_equal(s.boot, 2);
        assert_non_null(strstr(p.events, "device-added;"));
        assert_non_null(strstr(p.events, "reload;domain-resumed;"));
        assert_true(strstr(p.events, "device-added;") < strstr(p.events, "reload;"));
        assert_non_null(strstr(p.details, "rng"));
        down(&s, &sup);
}

/* A record that is no violation (here the reload's) and cannot be written holds the domain too. */
static void test_unaudited_reload_holds(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        p.audit_fails = true;
        shim_supervise_request_reload(&sup); /* its record fails: held, not restarted */
        assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held-unaudited");
        assert_non_null(strstr(sup.audit_problem, "reload"));
        down(&s, &sup);
}

static void down(struct shim_stack *s, struct shim_supervisor *sup) {
        memset(&g_fail, 0, sizeof g_fail);
        shim_supervise_done(sup);
        assert_int_equal(shim_run_stop_domain(s), 0);
        assert_int_equal(shim_run_teardown(s), 0);
        shim_stack_done(s);
}

/* virDomainGetState fails: the domain is paused all the same (fail closed). */
static void test_hold_when_state_unknown(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        g_fail.get_state = true;
        assert_int_equal(virDomainAttachDeviceFlags(s.dom, rng, VIR_DOMAIN_AFFECT_LIVE), 0);
        for (int i = 0; i < 10 && !sup.violation; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_non_null(sup.violation);
        g_fail.get_state = false;
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_null(sup.hold_problem);
        assert_string_equal(shim_supervise_state(&sup), "held");
        /* held again while paused (the periodic check): no problem either */
        sup.check_due = true;
        assert_true(shim_supervise_iterate(&sup));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_null(sup.hold_problem);
        down(&s, &sup);
}

/* The pause fails: the domain is destroyed, and what failed is in the state, the status and the audit. */
static void test_hold_failure_reported(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        g_fail.suspend = g_fail.destroy = true;
        assert_int_equal(virDomainAttachDeviceFlags(s.dom, rng, VIR_DOMAIN_AFFECT_LIVE), 0);
        for (int i = 0; i < 10 && !sup.violation; i++)
                assert_true(shim_supervise_iterate(&sup));
        assert_non_null(sup.violation);
        assert_int_equal(dom_state(&s), VIR_DOMAIN_RUNNING);
        assert_non_null(sup.hold_problem);
        assert_non_null(strstr(sup.hold_problem, "cannot pause ecluse-suptest"));
        assert_non_null(strstr(sup.hold_problem, "nor destroy it"));
        assert_string_equal(shim_supervise_state(&sup), "hold-failed");
        assert_non_null(strstr(p.events, "device-added;hold-failed;"));
        json_t *st = NULL;
        assert_int_equal(shim_supervise_status_json(&sup, &st), 0);
        assert_string_equal(json_string_value(json_object_get(st, "state")), "hold-failed");
        assert_non_null(strstr(json_string_value(json_object_get(st, "hold_problem")), "nor destroy it"));
        json_decref(st);

        /* the next check destroys it; the failure is not audited twice */
        g_fail.destroy = false;
        sup.check_due = true;
        bool more = true;
        for (int i = 0; i < 10 && more; i++)
                more = shim_supervise_iterate(&sup);
        assert_false(more);
        assert_int_equal(shim_domain_active(s.dom), 0);
        assert_non_null(strstr(sup.hold_problem, "destroyed it"));
        assert_null(strstr(strstr(p.events, "hold-failed;") + 1, "hold-failed;"));
        down(&s, &sup);
}

static void tick(int timer, void *opaque) {
        (void) timer, (void) opaque;
}

/* libvirt cannot say whether the domain runs, check after check: that is a violation. */
static void test_libvirt_gone_is_a_violation(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        /* one check per turn, without waiting SHIM_SUPERVISE_CHECK_MS for each */
        int timer = virEventAddTimeout(0, tick, NULL, NULL);
        assert_true(timer >= 0);
        /* failures that do not last are no violation: the count is of failures in a row */
        for (int i = 0; i < 2 * SHIM_SUPERVISE_MAX_UNKNOWN; i++) {
                g_fail.is_active = i % SHIM_SUPERVISE_MAX_UNKNOWN != SHIM_SUPERVISE_MAX_UNKNOWN - 1;
                sup.check_due = true;
                assert_true(shim_supervise_iterate(&sup));
        }
        assert_null(sup.violation);
        g_fail.is_active = true;
        int turns = 0;
        for (; turns < 10 && !sup.violation; turns++) {
                sup.check_due = true;
                assert_true(shim_supervise_iterate(&sup));
        }
        virEventRemoveTimeout(timer);
        g_fail.is_active = false;
        assert_non_null(sup.violation);
        assert_int_equal(turns, SHIM_SUPERVISE_MAX_UNKNOWN);
        assert_non_null(strstr(sup.violation, "libvirt cannot tell whether the domain runs"));
        assert_non_null(strstr(p.events, "violation;"));
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held");
        down(&s, &sup);
}

/*
 * Devices and chardevs added through QEMU's monitor (QMP), which libvirt
 * never hears of: no event, nothing in the live XML.  QEMU's own view,
 * compared in the periodic check, holds the domain and audits it.
 */
static const char *qmp_device_no_id =
        "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-rng-pci\",\"bus\":\"pci.1\"}}";
static const char *qmp_device_id =
        "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-rng-pci\",\"bus\":\"pci.1\","
        "\"id\":\"qmprng\"}}";
static const char *qmp_chardev =
        "{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"qmpchar\",\"backend\":{\"type\":\"null\","
        "\"data\":{}}}}";

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* After cmd from outside, the next checks (each turn one: fire_now) hold the domain, naming `what`. */
static void qmp_held(const char *cmd, const char *what, bool fire_now) {
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        assert_string_equal(shim_supervise_state(&sup), "running");
        /* nothing before: the comparison passes on what libvirt made */
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_run_check_live(&s, &why), 0);

        qmp(&s, cmd);
        int timer = fire_now ? virEventAddTimeout(0, tick, NULL, NULL) : -1;
        /* without fire_now: the supervisor's own timer, every SHIM_SUPERVISE_CHECK_MS */
        for (int i = 0; i < 10 && !sup.violation; i++) {
                if (fire_now)
                        sup.check_due = true;
                assert_true(shim_supervise_iterate(&sup));
        }
        if (timer >= 0)
                virEventRemoveTimeout(timer);
        assert_non_null(sup.violation);
        if (!strstr(sup.violation, what))
                fail_msg("violation \"%s\" does not name %s", sup.violation, what);
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held");
        assert_non_null(strstr(p.events, "violation;"));
        assert_non_null(strstr(p.details, what));
        /* libvirt never heard of it */
        assert_null(strstr(p.events, "device-added;"));
        _cleanup_free_ char *live = virDomainGetXMLDesc(s.dom, 0);
        assert_non_null(live);
        assert_null(strstr(live, "qmp"));
        down(&s, &sup);
}

static void test_qmp_chardev_add_held(void **state) {
        (void) state;
        qmp_held(qmp_chardev, "chardev qmpchar (null)", false);
}

static void test_qmp_device_add_without_id_held(void **state) {
        (void) state;
        qmp_held(qmp_device_no_id, "device without id device[0] (virtio-rng-pci)", true);
}

static void test_qmp_device_add_with_id_held(void **state) {
        (void) state;
        qmp_held(qmp_device_id, "device qmprng (virtio-rng-pci)", true);
}

/* Added between the start (paused) and the check before resume: never resumed, nothing left. */
static void test_qmp_before_resume(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {.qmp_before_resume = qmp_device_id};
        struct shim_supervisor sup;
        assert_int_equal(try_up(&s, &m, &h, &p, &sup), -EPERM);
        assert_null(p.qmp_before_resume);
        assert_null(strstr(p.events, "domain-resumed;"));
        assert_null(virDomainLookupByName(s.conn, "ecluse-suptest"));
        shim_supervise_done(&sup);
        shim_stack_done(&s);
}

/* What the comparison costs in the periodic check (the whole check of the live domain, then QMP alone). */
static void test_qmp_check_cost(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        enum { N = 20 };
        double t0 = now_ms();
        for (int i = 0; i < N; i++) {
                _cleanup_free_ char *why = NULL;
                assert_int_equal(shim_run_check_live(&s, &why), 0);
        }
        double live = (now_ms() - t0) / N;
        _cleanup_free_ char *xml = virDomainGetXMLDesc(s.dom, 0);
        t0 = now_ms();
        for (int i = 0; i < N; i++) {
                _cleanup_free_ char *why = NULL;
                assert_int_equal(shim_qmp_check(s.dom, xml, &why), 0);
        }
        double q = (now_ms() - t0) / N;
        print_message("check of the live domain: %.2f ms, of which QEMU's view over QMP: %.2f ms (mean of %d)\n",
                      live, q, N);
        /* a few ms on an idle host; generous against a loaded CI machine */
        assert_true(q < 100);
        down(&s, &sup);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init_before_the_domain),
                cmocka_unit_test(test_hotplug_held),
                cmocka_unit_test(test_outside_destroy),
                cmocka_unit_test(test_reload),
                cmocka_unit_test(test_hold_when_state_unknown),
                cmocka_unit_test(test_hold_failure_reported),
                cmocka_unit_test(test_libvirt_gone_is_a_violation),
                cmocka_unit_test(test_unaudited_held),
                cmocka_unit_test(test_unaudited_reload_holds),
                cmocka_unit_test(test_qmp_chardev_add_held),
                cmocka_unit_test(test_qmp_device_add_without_id_held),
                cmocka_unit_test(test_qmp_device_add_with_id_held),
                cmocka_unit_test(test_qmp_before_resume),
                cmocka_unit_test(test_qmp_check_cost),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
