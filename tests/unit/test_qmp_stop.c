/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_qmp_leak_plan() and shim_qmp_event_classify() on canned replies and
 * event payloads: what QEMU 7.2 answers and emits (the shapes of
 * tests/data/qmp/, and of QEMU's qapi/{migration,block-export,job,
 * block-core,dump}.json), plus edited ones for what is rare or hostile.
 */
#include <errno.h>
#include <string.h>

#include "qmp-stop.h"
#include "testlib.h"

#define DATA ECLUSE_SOURCE_DIR "/tests/data/qmp/"

static const char *idle[SHIM_QMP_LEAK_N] = {
        [SHIM_QMP_LEAK_MIGRATE] = "{\"return\":{},\"id\":\"libvirt-426\"}",
        [SHIM_QMP_LEAK_EXPORTS] = "{\"return\":[],\"id\":\"libvirt-427\"}",
        [SHIM_QMP_LEAK_BLOCK_JOBS] = "{\"return\":[],\"id\":\"libvirt-428\"}",
        [SHIM_QMP_LEAK_JOBS] = "{\"return\":[],\"id\":\"libvirt-429\"}",
        [SHIM_QMP_LEAK_DUMP] = "{\"return\":{\"status\":\"none\",\"completed\":0,\"total\":0},\"id\":\"libvirt-430\"}",
};

/* The plan for idle with reply q replaced: its result, *going and the commands joined by '\n'. */
static int plan(enum shim_qmp_leak_query q, const char *reply, char **going, char **cmds) {
        const char *r[SHIM_QMP_LEAK_N];
        memcpy(r, idle, sizeof r);
        if (q < SHIM_QMP_LEAK_N)
                r[q] = reply;
        char **v = NULL;
        int ret = shim_qmp_leak_plan(r, going, &v);
        *cmds = NULL;
        if (ret == 1) {
                assert_non_null(v);
                *cmds = strdup("");
                for (char **c = v; *c; c++) {
                        char *j = tl_strf("%s%s\n", *cmds, *c);
                        free(*cmds);
                        *cmds = j;
                }
        } else {
                assert_null(v);
        }
        strv_free(v);
        return ret;
}

static void expect(enum shim_qmp_leak_query q, const char *reply, const char *want_going, const char *want_cmds) {
        char *going = NULL, *cmds = NULL;
        assert_int_equal(plan(q, reply, &going, &cmds), 1);
        assert_string_equal(going, want_going);
        assert_string_equal(cmds, want_cmds);
        free(going);
        free(cmds);
}

static void test_nothing_going(void **state) {
        (void) state;
        char *going = NULL, *cmds = NULL;
        assert_int_equal(plan(SHIM_QMP_LEAK_N, NULL, &going, &cmds), 0);
        assert_null(going);
        /* a migration that is over is no longer sending (qmp-check.h holds for it) */
        char *done = tl_read_file(DATA "migrate-cancelled.json", NULL);
        assert_non_null(done);
        assert_int_equal(plan(SHIM_QMP_LEAK_MIGRATE, done, &going, &cmds), 0);
        free(done);
        static const char *const over[] = {"none", "completed", "failed", "cancelled"};
        for (size_t i = 0; i < ELEMENTSOF(over); i++) {
                char *r = tl_strf("{\"return\":{\"status\":\"%s\"}}", over[i]);
                assert_int_equal(plan(SHIM_QMP_LEAK_MIGRATE, r, &going, &cmds), 0);
                free(r);
        }
        assert_int_equal(plan(SHIM_QMP_LEAK_DUMP, "{\"return\":{\"status\":\"completed\"}}", &going, &cmds), 0);
        assert_int_equal(plan(SHIM_QMP_LEAK_JOBS,
                              "{\"return\":[{\"id\":\"bk\",\"type\":\"backup\",\"status\":\"concluded\"}]}", &going,
                              &cmds),
                         0);
}

/* A migration on its way (the reply of a real migrate to a UNIX socket never read): migrate_cancel. */
static void test_migration(void **state) {
        (void) state;
        char *active = tl_read_file(DATA "migrate-active.json", NULL);
        assert_non_null(active);
        expect(SHIM_QMP_LEAK_MIGRATE, active, "migration (active)",
               "{\"execute\":\"migrate_cancel\",\"arguments\":{}}\n");
        free(active);
        static const char *const moving[] = {"setup",      "pre-switchover", "device", "postcopy-active",
                                             "cancelling", "wait-unplug",    "colo",   "not-yet-invented"};
        for (size_t i = 0; i < ELEMENTSOF(moving); i++) {
                char *r = tl_strf("{\"return\":{\"status\":\"%s\"}}", moving[i]);
                char *g = tl_strf("migration (%s)", moving[i]);
                expect(SHIM_QMP_LEAK_MIGRATE, r, g, "{\"execute\":\"migrate_cancel\",\"arguments\":{}}\n");
                free(r);
                free(g);
        }
}

/* Each export deleted hard (its clients cut off), named with its id escaped. */
static void test_exports(void **state) {
        (void) state;
        char *exp = tl_read_file(DATA "export-exports.json", NULL);
        assert_non_null(exp);
        expect(SHIM_QMP_LEAK_EXPORTS, exp, "block export qmpexp (nbd)",
               "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"qmpexp\",\"mode\":\"hard\"}}\n");
        free(exp);
        expect(SHIM_QMP_LEAK_EXPORTS,
               "{\"return\":[{\"id\":\"a\\\"b\",\"type\":\"vhost-user-blk\",\"node-name\":\"n\",\"shutting-down\":true},"
               "{\"id\":\"c\",\"type\":\"fuse\",\"node-name\":\"n\",\"shutting-down\":false}]}",
               "block export a\"b (vhost-user-blk, shutting down), block export c (fuse)",
               "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"a\\\"b\",\"mode\":\"hard\"}}\n"
               "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"c\",\"mode\":\"hard\"}}\n");
}

/* A block job is force-cancelled once (not job-cancel'ed too); another job is job-cancel'ed. */
static void test_jobs(void **state) {
        (void) state;
        const char *r[SHIM_QMP_LEAK_N];
        memcpy(r, idle, sizeof r);
        r[SHIM_QMP_LEAK_BLOCK_JOBS] =
                "{\"return\":[{\"auto-finalize\":true,\"io-status\":\"ok\",\"device\":\"bk0\","
                "\"auto-dismiss\":true,\"busy\":true,\"len\":67108864,\"offset\":0,"
                "\"status\":\"running\",\"paused\":false,\"speed\":0,\"ready\":false,"
                "\"type\":\"backup\"},{\"device\":\"m\",\"status\":\"ready\",\"type\":\"mirror\"}]}";
        r[SHIM_QMP_LEAK_JOBS] = "{\"return\":[{\"current-progress\":0,\"status\":\"running\",\"total-progress\":"
                                "67108864,\"type\":\"backup\",\"id\":\"bk0\"},{\"id\":\"m\",\"type\":\"mirror\","
                                "\"status\":\"ready\"},{\"id\":\"c\",\"type\":\"create\",\"status\":\"running\"},"
                                "{\"id\":\"d\",\"type\":\"amend\",\"status\":\"null\"}]}";
        char *going = NULL;
        char **cmds = NULL;
        assert_int_equal(shim_qmp_leak_plan(r, &going, &cmds), 1);
        assert_string_equal(going,
                            "block job bk0 (backup, running), block job m (mirror, ready), job c (create, running)");
        assert_string_equal(cmds[0],
                            "{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"bk0\",\"force\":true}}");
        assert_string_equal(cmds[1],
                            "{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"m\",\"force\":true}}");
        assert_string_equal(cmds[2], "{\"execute\":\"job-cancel\",\"arguments\":{\"id\":\"c\"}}");
        assert_null(cmds[3]);
        free(going);
        strv_free(cmds);
}

/* A dump cannot be cancelled: going, and no command (the caller destroys the domain). */
static void test_dump(void **state) {
        (void) state;
        char *going = NULL, *cmds = NULL;
        assert_int_equal(plan(SHIM_QMP_LEAK_DUMP, "{\"return\":{\"status\":\"active\",\"completed\":1,\"total\":9}}",
                              &going, &cmds),
                         1);
        assert_string_equal(going, "memory dump (active, which QEMU cannot cancel)");
        assert_string_equal(cmds, "");
        free(going);
        free(cmds);
}

/* A reply that is no answer: -EBADMSG saying which (the caller destroys: fail closed). */
static void test_bad_replies(void **state) {
        (void) state;
        static const struct {
                enum shim_qmp_leak_query q;
                const char *reply, *needle;
        } bad[] = {
                {SHIM_QMP_LEAK_MIGRATE, NULL, "query-migrate is missing"},
                {SHIM_QMP_LEAK_MIGRATE, "{\"return\":[]}", "query-migrate is no object"},
                {SHIM_QMP_LEAK_MIGRATE, "{\"return\":{\"status\":2}}", "status that is no string"},
                {SHIM_QMP_LEAK_EXPORTS, "nope", "query-block-exports is not JSON"},
                {SHIM_QMP_LEAK_EXPORTS, "{\"return\":[{}]}", "export without id"},
                {SHIM_QMP_LEAK_BLOCK_JOBS, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"x\\u0001y\"}}",
                 "query-block-jobs is an error (x?y)"},
                {SHIM_QMP_LEAK_BLOCK_JOBS, "{\"return\":[{\"type\":\"backup\"}]}", "job without device"},
                {SHIM_QMP_LEAK_JOBS, "{\"return\":{}}", "query-jobs is no list"},
                {SHIM_QMP_LEAK_JOBS, "{\"return\":[{\"id\":\"j\"}]}", "without id or status"},
                {SHIM_QMP_LEAK_DUMP, "{\"return\":[]}", "query-dump is no object"},
                {SHIM_QMP_LEAK_DUMP, "{\"return\":{}}", "query-dump has no status"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *going = NULL, *cmds = NULL;
                assert_int_equal(plan(bad[i].q, bad[i].reply, &going, &cmds), -EBADMSG);
                if (!going || !strstr(going, bad[i].needle))
                        fail_msg("case %zu: \"%s\" does not say \"%s\"", i, going ? going : "(null)", bad[i].needle);
                free(going);
        }
}

/* A hostile QEMU listing thousands of jobs: the plan stays bounded. */
static void test_many(void **state) {
        (void) state;
        char *list = strdup("{\"return\":[");
        for (int i = 0; i < 1000; i++) {
                char *n = tl_strf("%s%s{\"id\":\"j%d\",\"type\":\"create\",\"status\":\"running\"}", list, i ? "," : "",
                                  i);
                free(list);
                list = n;
        }
        char *all = tl_strf("%s]}", list);
        free(list);
        const char *r[SHIM_QMP_LEAK_N];
        memcpy(r, idle, sizeof r);
        r[SHIM_QMP_LEAK_JOBS] = all;
        char *going = NULL;
        char **cmds = NULL;
        assert_int_equal(shim_qmp_leak_plan(r, &going, &cmds), 1);
        size_t n = 0;
        while (cmds[n])
                n++;
        assert_int_equal(n, 64);
        assert_non_null(strstr(going, "job j63 (create, running), ..."));
        assert_null(strstr(going, "j64"));
        free(going);
        strv_free(cmds);
        free(all);
}

static int classify(const char *event, const char *details, char **what) {
        return shim_qmp_event_classify(event, details, what);
}

/* The events a leak produces hold; what QEMU emits anyway does not. */
static void test_events(void **state) {
        (void) state;
        static const struct {
                const char *event, *details;
                int kind;
                const char *what;
        } ev[] = {
                {"MIGRATION", "{\"status\":\"setup\"}", SHIM_QMP_EVENT_LEAK, "QEMU event MIGRATION (status setup)"},
                {"MIGRATION_PASS", "{\"pass\":2}", SHIM_QMP_EVENT_LEAK, "QEMU event MIGRATION_PASS"},
                {"BLOCK_EXPORT_DELETED", "{\"id\":\"exp0\"}", SHIM_QMP_EVENT_LEAK,
                 "QEMU event BLOCK_EXPORT_DELETED (id exp0)"},
                {"JOB_STATUS_CHANGE", "{\"status\":\"created\",\"id\":\"bk0\"}", SHIM_QMP_EVENT_LEAK,
                 "QEMU event JOB_STATUS_CHANGE (status created, id bk0)"},
                {"BLOCK_JOB_COMPLETED",
                 "{\"device\":\"bk0\",\"len\":67108864,\"offset\":67108864,\"speed\":0,\"type\":\"backup\"}",
                 SHIM_QMP_EVENT_LEAK, "QEMU event BLOCK_JOB_COMPLETED (device bk0, type backup)"},
                {"BLOCK_JOB_CANCELLED", "{\"device\":\"m\",\"type\":\"mirror\"}", SHIM_QMP_EVENT_LEAK,
                 "QEMU event BLOCK_JOB_CANCELLED (device m, type mirror)"},
                {"BLOCK_JOB_READY", NULL, SHIM_QMP_EVENT_LEAK, "QEMU event BLOCK_JOB_READY"},
                {"DUMP_COMPLETED", "{\"result\":{\"total\":1,\"status\":\"completed\",\"completed\":1}}",
                 SHIM_QMP_EVENT_LEAK, "QEMU event DUMP_COMPLETED"},
                {"VNC_CONNECTED", "{\"server\":{},\"client\":{}}", SHIM_QMP_EVENT_LEAK, "QEMU event VNC_CONNECTED"},
                {"DEVICE_DELETED", "{\"path\":\"/machine/peripheral-anon/device[0]\"}", SHIM_QMP_EVENT_LEAK,
                 "QEMU event DEVICE_DELETED (path /machine/peripheral-anon/device[0])"},
                {"DEVICE_DELETED", "{\"device\":\"rng0\",\"path\":\"/machine/peripheral/rng0\"}",
                 SHIM_QMP_EVENT_RECHECK, NULL},
                {"DEVICE_DELETED", "not json", SHIM_QMP_EVENT_RECHECK, NULL},
                {"RESUME", NULL, SHIM_QMP_EVENT_IGNORE, NULL},
                {"STOP", NULL, SHIM_QMP_EVENT_IGNORE, NULL},
                {"RTC_CHANGE", "{\"offset\":0}", SHIM_QMP_EVENT_IGNORE, NULL},
                {"migration", "{\"status\":\"setup\"}", SHIM_QMP_EVENT_IGNORE, NULL},
                {NULL, NULL, SHIM_QMP_EVENT_IGNORE, NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(ev); i++) {
                char *what = NULL;
                assert_int_equal(classify(ev[i].event, ev[i].details, &what), ev[i].kind);
                if (ev[i].what)
                        assert_string_equal(what, ev[i].what);
                else
                        assert_null(what);
                free(what);
        }
        /* QEMU's strings are untrusted: printable ASCII only, bounded */
        char *what = NULL;
        char *big = tl_strf("{\"id\":\"a\\u001b[31m%0300d\"}", 0);
        assert_int_equal(classify("BLOCK_EXPORT_DELETED", big, &what), SHIM_QMP_EVENT_LEAK);
        for (const char *c = what; *c; c++)
                assert_true(*c >= 0x20 && *c <= 0x7e);
        assert_true(strlen(what) < 200);
        free(what);
        free(big);
}

static void test_libvirt_jobs(void **state) {
        (void) state;
        /* what libvirt streams out itself: aborted before any QMP call, which would wait for it */
        assert_string_equal(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT),
                            "libvirt migration out");
        assert_string_equal(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_SAVE),
                            "libvirt save");
        assert_string_equal(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_BOUNDED, VIR_DOMAIN_JOB_OPERATION_DUMP),
                            "libvirt dump");
        assert_non_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_SNAPSHOT));
        assert_non_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_BACKUP));
        /* an operation libvirt does not name: fail closed */
        assert_non_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_UNKNOWN));
        assert_non_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, 999));
        /* nothing leaves: a start, a restore, an incoming migration */
        assert_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_START));
        assert_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_RESTORE));
        assert_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_UNBOUNDED, VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN));
        /* no job; a current job whose stream is over still holds libvirt's job (and every pause) */
        assert_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_NONE, VIR_DOMAIN_JOB_OPERATION_SAVE));
        assert_non_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_COMPLETED, VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT));
        assert_non_null(shim_qmp_libvirt_job_leak(VIR_DOMAIN_JOB_CANCELLED, VIR_DOMAIN_JOB_OPERATION_DUMP));
}

static void test_commands(void **state) {
        (void) state;
        assert_string_equal(shim_qmp_leak_command(SHIM_QMP_LEAK_BLOCK_JOBS), "{\"execute\":\"query-block-jobs\"}");
        assert_null(shim_qmp_leak_command(SHIM_QMP_LEAK_N));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nothing_going), cmocka_unit_test(test_migration),
                cmocka_unit_test(test_exports),       cmocka_unit_test(test_jobs),
                cmocka_unit_test(test_dump),          cmocka_unit_test(test_bad_replies),
                cmocka_unit_test(test_many),          cmocka_unit_test(test_events),
                cmocka_unit_test(test_commands),      cmocka_unit_test(test_libvirt_jobs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
