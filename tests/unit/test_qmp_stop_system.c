/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root, libvirt and QEMU */
/*
 * shim/qmp-stop's system part (test_qmp_stop.c has its canned replies).
 * Leaks through QEMU's monitor that pausing alone does not stop, on a real
 * embedded libvirt (TCG) with the supervisor's loop (supervise.h) and the
 * real QMP check and stop (qmp-check.h, qmp-stop.h): an NBD export started
 * and deleted between two periodic checks is heard (QEMU's event) and
 * holds, as is a blockdev-backup done and its nodes deleted; a running
 * backup job is cancelled by the hold; a migration is cancelled by the hold and its socket closed; a dump,
 * which QEMU cannot cancel, has the domain destroyed.  Every socket and file
 * is the test's own, in its temp dir; nothing leaves the host.  Not in
 * test_supervise.c: libvirt registers its QEMU driver again at every
 * embedded connection, and a process has room for about 16.  Needs root
 * (label "system").
 */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "domain-check.h"
#include "libvirt-embed.h"
#include "qmp-check.h"
#include "qmp-stop.h"
#include "run.h"
#include "supervise.h"
#include "testlib.h"

struct probe {
        char events[512];
        char details[512]; /* of the qemu-event or violation record */
        char stopped[512]; /* of the leak-stopped or hold-failed record */
};

static int h_domain_xml(void *ud, const struct ecl_manifest *m, enum ecl_accel *accel, char **ret) {
        (void) ud;
        *accel = ECL_ACCEL_TCG;
        return asprintf(ret,
                        "<domain type='qemu'><name>ecluse-%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                        "<os><type arch='x86_64' machine='q35'>hvm</type></os><on_crash>destroy</on_crash><devices>"
                        "<controller type='pci' model='pcie-root'/><controller type='usb' model='none'/>"
                        "<memballoon model='none'/></devices></domain>",
                        m->stack) < 0
                       ? -ENOMEM
                       : 0;
}

static int h_check_cut(void *ud, const char *xml, const char *tap, char **why) {
        (void) ud;
        xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "live.xml", NULL, XML_PARSE_NONET);
        assert_non_null(doc);
        int r = shim_domain_check_cut(doc, tap, why);
        xmlFreeDoc(doc);
        return r;
}
static int h_check_qemu(void *ud, virDomainPtr dom, const char *xml, char **why) {
        (void) ud;
        return shim_qmp_check(dom, xml, why);
}
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
        size_t n = strlen(p->events);
        snprintf(p->events + n, sizeof p->events - n, "%s;", event);
        if (details && (streq(event, "qemu-event") || streq(event, "violation")))
                snprintf(p->details, sizeof p->details, "%s", details);
        if (details && (streq(event, "leak-stopped") || streq(event, "hold-failed")))
                snprintf(p->stopped, sizeof p->stopped, "%s", details);
        return 0;
}

static void quiet(void *ud, virErrorPtr e) {
        (void) ud, (void) e;
}

static char *g_root, *g_uri;

static int setup(void **state) {
        (void) state;
        if (geteuid() != 0 || access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
                return 0;
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
        return shim_connect_uri(g_root, "qmpleak", NULL, &g_uri, &embed, NULL);
}

static int teardown(void **state) {
        (void) state;
        if (g_uri) {
                /* a test that failed midway leaves its domain running: no QEMU outlives the test */
                virConnectPtr c = virConnectOpen(g_uri);
                virDomainPtr d = c ? virDomainLookupByName(c, "ecluse-qmpleak") : NULL;
                if (d) {
                        (void) virDomainDestroy(d);
                        virDomainFree(d);
                }
                if (c)
                        virConnectClose(c);
        }
        if (g_root)
                tl_rm_rf(g_root);
        free(g_root);
        free(g_uri);
        return 0;
}

/* replace_orphan: the domain of a test that failed midway does not fail the next ones */
static const struct shim_run_opts opts = {.tap_owner = (uid_t) -1, .tap_group = (gid_t) -1, .replace_orphan = true};

/* As cmd-run.c does it: the supervisor (and its QEMU event callback) registered before the domain exists. */
static void up(struct shim_stack *s, struct ecl_manifest *m, struct shim_run_hooks *h, struct probe *p,
               struct shim_supervisor *sup) {
        *m = (struct ecl_manifest){.stack = (char *) "qmpleak", .vm = {.vcpus = 1, .memory_mib = 64}};
        *h = (struct shim_run_hooks){.userdata = p,
                                     .domain_xml = h_domain_xml,
                                     .check_cut = h_check_cut,
                                     .check_qemu = h_check_qemu,
                                     .stop_qemu_leaks = h_stop_qemu_leaks,
                                     .policy_load = h_policy_load,
                                     .policy_verify = h_policy_verify,
                                     .policy_remove = h_policy_remove,
                                     .audit = h_audit};
        assert_int_equal(shim_stack_init(s, m, h, &opts), 0);
        assert_int_equal(shim_run_connect(s, g_uri), 0);
        assert_int_equal(shim_supervise_init(sup, s), 0);
        assert_true(sup->cb_qemu >= 0);
        assert_int_equal(shim_run_up(s), 0);
        assert_string_equal(shim_supervise_state(sup), "running");
}

static void down(struct shim_stack *s, struct shim_supervisor *sup) {
        shim_supervise_done(sup);
        assert_int_equal(shim_run_stop_domain(s), 0);
        assert_int_equal(shim_run_teardown(s), 0);
        shim_stack_done(s);
}

static int dom_state(struct shim_stack *s) {
        int st = VIR_DOMAIN_NOSTATE;
        assert_int_equal(virDomainGetState(s->dom, &st, NULL, 0), 0);
        return st;
}

static void tick(int timer, void *opaque) {
        (void) timer, (void) opaque;
}

/* From "outside": QEMU's monitor through the same libvirt, another caller. */
static void qmp(struct shim_stack *s, const char *cmd) {
        char *reply = NULL;
        assert_int_equal(virDomainQemuMonitorCommand(s->dom, cmd, &reply, 0), 0);
        if (!strstr(reply, "\"return\""))
                fail_msg("QEMU refused %s: %s", cmd, reply);
        free(reply);
}

/* A directory of the test's where QEMU (its own user) may make and open sockets and FIFOs. */
static char *qemu_dir(void) {
        char *d = tl_strf("%s/qemu-reach", g_root);
        if (mkdir(d, 0700) < 0 && errno != EEXIST)
                fail_msg("mkdir %s: %m", d);
        assert_int_equal(chmod(d, 0777), 0);
        return d;
}

/* A QMP reply, whatever it is (the caller looks). */
static char *qmp_reply(struct shim_stack *s, const char *cmd) {
        char *reply = NULL;
        assert_int_equal(virDomainQemuMonitorCommand(s->dom, cmd, &reply, 0), 0);
        return reply;
}

/* Turns (a tick every 100 ms so each is short) until sup holds, at most about 3 s. */
static void iterate_until_held(struct shim_supervisor *sup) {
        int timer = virEventAddTimeout(100, tick, NULL, NULL);
        for (int i = 0; i < 30 && !sup->violation; i++)
                assert_true(shim_supervise_iterate(sup));
        virEventRemoveTimeout(timer);
}

static int listen_unix(const char *path) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        assert_true(strlen(path) < sizeof a.sun_path);
        strcpy(a.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        assert_int_equal(listen(fd, 1), 0);
        assert_int_equal(chmod(path, 0666), 0); /* QEMU connects as its own user */
        return fd;
}

/*
 * An NBD export started and deleted between two periodic checks (with its
 * node and server gone too, so the next check finds nothing): QEMU's
 * BLOCK_EXPORT_DELETED event holds the domain.
 */
static void test_qmp_export_between_checks_held(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        _cleanup_free_ char *dir = qemu_dir();
        char *sock = tl_strf("%s/nbd.sock", dir);
        char *start = tl_strf("{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"unix\","
                              "\"data\":{\"path\":\"%s\"}}}}",
                              sock);
        qmp(&s, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\",\"node-name\":\"qmpnull\","
                "\"size\":1048576}}");
        qmp(&s, start);
        qmp(&s, "{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\",\"id\":\"qmpexp\","
                "\"node-name\":\"qmpnull\"}}");
        qmp(&s, "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"qmpexp\"}}");
        qmp(&s, "{\"execute\":\"nbd-server-stop\"}");
        /* the export lets go of its node asynchronously */
        bool deleted = false;
        for (int i = 0; i < 50 && !deleted; i++) {
                _cleanup_free_ char *r =
                        qmp_reply(&s, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"qmpnull\"}}");
                deleted = strstr(r, "\"return\"") != NULL;
                if (!deleted)
                        usleep(20 * 1000);
        }
        assert_true(deleted);
        /* nothing left for the periodic check to see */
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_run_check_live(&s, &why), 0);

        iterate_until_held(&sup);
        assert_non_null(sup.violation);
        if (!strstr(sup.violation, "QEMU event BLOCK_EXPORT_DELETED (id qmpexp)"))
                fail_msg("violation \"%s\" does not name the export", sup.violation);
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held");
        assert_non_null(strstr(p.events, "qemu-event;"));
        assert_non_null(strstr(p.details, "BLOCK_EXPORT_DELETED"));
        free(start);
        free(sock);
        down(&s, &sup);
}

/* blockdev-add of a null-co node (reads zeroes, writes nothing: no file at all). */
static void null_node(struct shim_stack *s, const char *name) {
        char *cmd = tl_strf("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\",\"node-name\":\"%s\","
                            "\"size\":67108864}}",
                            name);
        qmp(s, cmd);
        free(cmd);
}

/* blockdev-del, tried until the node is let go of (a job ends asynchronously). */
static void del_node(struct shim_stack *s, const char *name) {
        char *cmd = tl_strf("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"%s\"}}", name);
        bool deleted = false;
        for (int i = 0; i < 100 && !deleted; i++) {
                _cleanup_free_ char *r = qmp_reply(s, cmd);
                deleted = strstr(r, "\"return\"") != NULL;
                if (!deleted)
                        usleep(20 * 1000);
        }
        free(cmd);
        assert_true(deleted);
}

/*
 * A blockdev-backup that completes, its nodes deleted, all before the next
 * check (which then finds nothing): its job's events hold the domain.
 */
static void test_qmp_backup_between_checks_held(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        null_node(&s, "qmpsrc");
        null_node(&s, "qmpdst");
        qmp(&s, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"qmpbk\",\"device\":\"qmpsrc\","
                "\"target\":\"qmpdst\",\"sync\":\"full\"}}");
        /* done and dismissed (auto-dismiss) */
        bool gone = false;
        for (int i = 0; i < 100 && !gone; i++) {
                _cleanup_free_ char *r = qmp_reply(&s, "{\"execute\":\"query-jobs\"}");
                gone = strstr(r, "\"return\":[]") != NULL;
                if (!gone)
                        usleep(20 * 1000);
        }
        assert_true(gone);
        del_node(&s, "qmpdst");
        del_node(&s, "qmpsrc");
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_run_check_live(&s, &why), 0);

        iterate_until_held(&sup);
        assert_non_null(sup.violation);
        if (!strstr(sup.violation, "QEMU event JOB_STATUS_CHANGE (status created, id qmpbk)"))
                fail_msg("violation \"%s\" does not name the job", sup.violation);
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held");
        assert_non_null(strstr(p.events, "qemu-event;"));
        down(&s, &sup);
}

/* A backup throttled so that it runs on: the hold force-cancels its job (a paused guest's QEMU copies on). */
static void test_qmp_backup_cancelled(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        null_node(&s, "qmpsrc");
        null_node(&s, "qmpdst");
        qmp(&s, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"qmpbk\",\"device\":\"qmpsrc\","
                "\"target\":\"qmpdst\",\"sync\":\"full\",\"speed\":65536}}");
        iterate_until_held(&sup);
        assert_non_null(sup.violation);
        assert_non_null(strstr(sup.violation, "JOB_STATUS_CHANGE"));
        assert_non_null(strstr(p.events, "leak-stopped;"));
        if (!strstr(p.stopped, "block job qmpbk (backup, running)"))
                fail_msg("leak-stopped \"%s\" does not name the job", p.stopped);
        _cleanup_free_ char *jobs = qmp_reply(&s, "{\"execute\":\"query-jobs\"}");
        if (!strstr(jobs, "\"return\":[]"))
                fail_msg("the job is still there: %s", jobs);
        assert_string_equal(shim_supervise_state(&sup), "held");
        down(&s, &sup);
}

/*
 * A migration to a UNIX socket (the test's, never read, so it stays
 * active): its MIGRATION event holds the domain, the migration is
 * cancelled (a paused guest would go on migrating), and the socket is
 * closed by QEMU: nothing more comes after the hold.
 */
static void test_qmp_migration_cancelled(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        _cleanup_free_ char *dir = qemu_dir();
        char *path = tl_strf("%s/mig.sock", dir);
        int lfd = listen_unix(path);
        char *cmd = tl_strf("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:%s\"}}", path);
        qmp(&s, cmd);
        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(cfd >= 0);
        _cleanup_free_ char *before = qmp_reply(&s, "{\"execute\":\"query-migrate\"}");
        print_message("before the hold: %.120s\n", before);

        iterate_until_held(&sup);
        assert_non_null(sup.violation);
        if (!strstr(sup.violation, "QEMU event MIGRATION"))
                fail_msg("violation \"%s\" does not name the migration", sup.violation);
        assert_int_equal(dom_state(&s), VIR_DOMAIN_PAUSED);
        assert_string_equal(shim_supervise_state(&sup), "held");
        assert_non_null(strstr(p.events, "qemu-event;"));
        assert_non_null(strstr(p.events, "leak-stopped;"));
        if (!strstr(p.stopped, "migration ("))
                fail_msg("leak-stopped \"%s\" does not name the migration", p.stopped);
        _cleanup_free_ char *after = qmp_reply(&s, "{\"execute\":\"query-migrate\"}");
        if (!strstr(after, "\"status\":\"cancelled\""))
                fail_msg("the migration is not cancelled: %s", after);

        /* what QEMU had written before the hold, then its end: nothing more comes */
        size_t got = 0;
        bool eof = false;
        for (int i = 0; i < 100 && !eof; i++) {
                struct pollfd pfd = {.fd = cfd, .events = POLLIN};
                if (poll(&pfd, 1, 100) <= 0)
                        continue;
                char buf[65536];
                ssize_t n = read(cfd, buf, sizeof buf);
                assert_true(n >= 0);
                eof = n == 0;
                got += (size_t) n;
        }
        print_message("bytes read after the hold, all sent before it: %zu\n", got);
        assert_true(eof);
        /* the guest has 64 MiB: far from all of it was sent */
        assert_true(got < 16 * 1024 * 1024);
        close(cfd);
        close(lfd);
        free(cmd);
        free(path);
        down(&s, &sup);
}

/*
 * A dump of the guest's memory into a FIFO (the test's, never read past its
 * buffer): QEMU has no command to cancel it, so the hold destroys the
 * domain (fail closed) and audits that.
 */
static void test_qmp_dump_destroyed(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        _cleanup_free_ char *dir = qemu_dir();
        char *fifo = tl_strf("%s/dump.fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(chmod(fifo, 0666), 0);                  /* QEMU opens it as its own user */
        int rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* so that QEMU's open does not block */
        assert_true(rfd >= 0);
        char *cmd = tl_strf("{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,"
                            "\"protocol\":\"file:%s\",\"detach\":true}}",
                            fifo);
        qmp(&s, cmd);
        _cleanup_free_ char *q = qmp_reply(&s, "{\"execute\":\"query-dump\"}");
        if (!strstr(q, "\"active\""))
                fail_msg("the dump is not active: %s", q);

        sup.check_due = true; /* no event while it runs: the periodic check sees it */
        int timer = virEventAddTimeout(100, tick, NULL, NULL);
        for (int i = 0; i < 30 && !sup.hold_problem; i++)
                if (!shim_supervise_iterate(&sup))
                        break;
        virEventRemoveTimeout(timer);
        assert_non_null(sup.violation);
        if (!strstr(sup.violation, "memory dump in progress"))
                fail_msg("violation \"%s\" does not name the dump", sup.violation);
        assert_non_null(sup.hold_problem);
        if (!strstr(sup.hold_problem, "QEMU has no command to stop memory dump (active") ||
            !strstr(sup.hold_problem, "destroyed it"))
                fail_msg("hold problem \"%s\"", sup.hold_problem);
        assert_non_null(strstr(p.events, "hold-failed;"));
        assert_int_equal(shim_domain_active(s.dom), 0);
        /* libvirt says STOPPED_DESTROYED: the run ends destroyed (70), not "guest powered off" */
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_DESTROYED);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_supervise_exit_why(&sup, SHIM_SUP_DOMAIN_DESTROYED, &why), 0);
        if (strncmp(why, "destroyed: ", 11) != 0 || !strstr(why, "memory dump"))
                fail_msg("exit why \"%s\"", why);
        close(rfd);
        free(cmd);
        free(fifo);
        shim_supervise_done(&sup);
        assert_int_equal(shim_run_teardown(&s), 0);
        shim_stack_done(&s);
}

/*
 * virsh save: libvirt pauses the domain, streams its memory into a file and
 * stops it (STOPPED, detail SAVED).  Not a power-off: the loop ends
 * SHIM_SUP_DOMAIN_LEAKED and the leak is audited, as are QEMU's MIGRATION
 * events heard in the same dispatch as the stop.
 */
static void test_save_is_a_leak(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        _cleanup_free_ char *dir = qemu_dir();
        _cleanup_free_ char *file = tl_strf("%s/saved", dir);
        if (virDomainSave(s.dom, file) < 0)
                fail_msg("virDomainSave: %s", virGetLastErrorMessage());
        int timer = virEventAddTimeout(100, tick, NULL, NULL);
        enum shim_sup_exit e = shim_supervise_loop(&sup);
        virEventRemoveTimeout(timer);
        assert_int_equal(e, SHIM_SUP_DOMAIN_LEAKED);
        assert_non_null(sup.leaked);
        if (!strstr(sup.leaked, "saved to a file"))
                fail_msg("leaked \"%s\"", sup.leaked);
        if (!strstr(p.events, "leak;") || !strstr(p.events, "qemu-event;"))
                fail_msg("audited \"%s\"", p.events);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_supervise_exit_why(&sup, e, &why), 0);
        assert_string_equal(why, "memory left: stopped: saved to a file");
        shim_supervise_done(&sup);
        assert_int_equal(shim_run_teardown(&s), 0);
        shim_stack_done(&s);
}

struct saver {
        virDomainPtr dom;
        const char *path;
        int r;
};

static void *save_thread(void *opaque) {
        struct saver *sv = opaque;
        sv->r = virDomainSave(sv->dom, sv->path);
        return NULL;
}

/*
 * A save libvirt runs itself (virsh save), its stream stuck in a FIFO
 * nobody reads: libvirt's async job would hold every QMP call back for
 * 30 s.  The hold asks libvirt's job first, aborts it, and is done (or
 * destroys the domain) within seconds, not a minute.
 */
static void test_libvirt_save_aborted(void **state) {
        (void) state;
        tl_require(g_uri, "root and qemu-system-x86_64");
        struct shim_stack s;
        struct ecl_manifest m;
        struct shim_run_hooks h;
        struct probe p = {0};
        struct shim_supervisor sup;
        up(&s, &m, &h, &p, &sup);
        _cleanup_free_ char *dir = qemu_dir();
        _cleanup_free_ char *fifo = tl_strf("%s/save.fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(chmod(fifo, 0666), 0);
        int rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* opened, never read past its buffer */
        assert_true(rfd >= 0);
        struct saver sv = {.dom = s.dom, .path = fifo, .r = 1};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, save_thread, &sv), 0);
        /* until libvirt's save job is under way (a hold before it would find nothing to abort) */
        for (int i = 0; i < 100; i++) {
                virDomainJobInfo ji = {0};
                if (virDomainGetJobInfo(s.dom, &ji) == 0 && ji.type != VIR_DOMAIN_JOB_NONE)
                        break;
                usleep(50 * 1000);
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int timer = virEventAddTimeout(100, tick, NULL, NULL);
        for (int i = 0; i < 100 && !(sup.violation && (p.stopped[0] || sup.hold_problem)); i++)
                if (!shim_supervise_iterate(&sup))
                        break;
        virEventRemoveTimeout(timer);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        close(rfd); /* a save still writing gets EPIPE: the thread ends whatever happened */
        assert_int_equal(pthread_join(t, NULL), 0);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        fprintf(stderr, "held in %ld ms; save %d; violation %s; stopped %s; problem %s; events %s\n", ms, sv.r,
                sup.violation ? sup.violation : "-", p.stopped, sup.hold_problem ? sup.hold_problem : "-", p.events);
        assert_non_null(sup.violation);
        if (!strstr(p.stopped, "libvirt save"))
                fail_msg("neither stopped nor destroyed as libvirt's save: \"%s\"", p.stopped);
        assert_true(ms < 10000);
        assert_int_equal(sv.r, -1); /* the save did not complete */
        if (shim_domain_active(s.dom) == 1)
                down(&s, &sup);
        else {
                shim_supervise_done(&sup);
                assert_int_equal(shim_run_teardown(&s), 0);
                shim_stack_done(&s);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_qmp_export_between_checks_held),
                cmocka_unit_test(test_qmp_backup_between_checks_held),
                cmocka_unit_test(test_qmp_backup_cancelled),
                cmocka_unit_test(test_qmp_migration_cancelled),
                cmocka_unit_test(test_qmp_dump_destroyed),
                cmocka_unit_test(test_save_is_a_leak),
                cmocka_unit_test(test_libvirt_save_aborted),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
