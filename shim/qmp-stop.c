/* SPDX-License-Identifier: Apache-2.0 */
/* Stopping what streams out of QEMU through its monitor (see qmp-stop.h). */
#include <errno.h>
#include <jansson.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "strutil.h"
#include "qmp-check.h"
#include "qmp-stop.h"
#include "reason.h"

/* The periodic check's own queries (qmp-check.h), and one it has no use for. */
static const char *command_of(enum shim_qmp_leak_query q) {
        switch (q) {
        case SHIM_QMP_LEAK_MIGRATE: return shim_qmp_command(SHIM_QMP_MIGRATE);
        case SHIM_QMP_LEAK_EXPORTS: return shim_qmp_command(SHIM_QMP_BLOCK_EXPORTS);
        case SHIM_QMP_LEAK_BLOCK_JOBS: return "{\"execute\":\"query-block-jobs\"}";
        case SHIM_QMP_LEAK_JOBS: return shim_qmp_command(SHIM_QMP_JOBS);
        case SHIM_QMP_LEAK_DUMP: return shim_qmp_command(SHIM_QMP_DUMP);
        default: return NULL;
        }
}

static const char *const query_names[SHIM_QMP_LEAK_N] = {
        [SHIM_QMP_LEAK_MIGRATE] = "query-migrate",
        [SHIM_QMP_LEAK_EXPORTS] = "query-block-exports",
        [SHIM_QMP_LEAK_BLOCK_JOBS] = "query-block-jobs",
        [SHIM_QMP_LEAK_JOBS] = "query-jobs",
        [SHIM_QMP_LEAK_DUMP] = "query-dump",
};

const char *shim_qmp_leak_command(enum shim_qmp_leak_query q) {
        return command_of(q);
}

/* At most this many commands (and findings) per plan: a hostile QEMU may list thousands of jobs. */
#define MAX_ITEMS 64

struct plan {
        char *going;
        char **commands;
        size_t n_commands, n_going;
        int error;
};

static void going(struct plan *p, const char *fmt, ...) _printf_(2, 3);
static void going(struct plan *p, const char *fmt, ...) {
        if (p->error || ++p->n_going > MAX_ITEMS)
                return;
        char *item = NULL, *joined = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&item, fmt, ap);
        va_end(ap);
        if (r < 0) {
                p->error = -ENOMEM;
                return;
        }
        ecl_str_make_ascii(item); /* QEMU's strings are untrusted */
        r = asprintf(&joined, "%s%s%s", p->going ? p->going : "", p->going ? ", " : "", item);
        free(item);
        if (r < 0) {
                p->error = -ENOMEM;
                return;
        }
        free(p->going);
        p->going = joined;
}

/* {"execute": cmd, "arguments": {key: id, more...}}, the id escaped by jansson (QEMU's ids are untrusted). */
static void command(struct plan *p, const char *cmd, const char *key, const char *id, const char *more_key,
                    json_t *more_value) {
        if (p->error || p->n_commands >= MAX_ITEMS) {
                json_decref(more_value);
                return;
        }
        json_t *args = json_object();
        if (args && key)
                json_object_set_new(args, key, json_string(id));
        if (args && more_key)
                json_object_set_new(args, more_key, more_value);
        else
                json_decref(more_value);
        json_t *o = args ? json_pack("{s:s, s:o}", "execute", cmd, "arguments", args) : NULL;
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        char **v = text ? realloc(p->commands, (p->n_commands + 2) * sizeof *v) : NULL;
        if (!v) {
                free(text);
                p->error = -ENOMEM;
                return;
        }
        v[p->n_commands++] = text;
        v[p->n_commands] = NULL;
        p->commands = v;
}

static int bad(struct plan *p, enum shim_qmp_leak_query q, const char *what) {
        free(p->going);
        p->going = NULL;
        if (asprintf(&p->going, "QEMU's reply to %s %s", query_names[q], what) < 0) {
                p->going = NULL;
                return -ENOMEM;
        }
        ecl_str_make_ascii(p->going);
        return -EBADMSG;
}

static json_t *reply_return(const char *text, enum shim_qmp_leak_query q, json_t **ret_root, struct plan *p,
                            int *ret_r) {
        *ret_root = NULL;
        if (!text || strnlen(text, (size_t) SHIM_QMP_REPLY_MAX + 1) > SHIM_QMP_REPLY_MAX) {
                *ret_r = bad(p, q, text ? "is larger than 4 MiB" : "is missing");
                return NULL;
        }
        json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        json_t *value = root ? json_object_get(root, "return") : NULL;
        if (!value || json_object_get(root, "error")) {
                const char *desc = json_string_value(json_object_get(json_object_get(root, "error"), "desc"));
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, "is %s (%s)", root ? "an error" : "not JSON", desc ? desc : "no return value") < 0)
                        what = NULL;
                json_decref(root);
                *ret_r = what ? bad(p, q, what) : -ENOMEM;
                return NULL;
        }
        *ret_root = root;
        return value;
}

/* A job's status that means it is over (the job does nothing more). */
static bool job_over(const char *status) {
        return status && (streq(status, "concluded") || streq(status, "null"));
}

static int plan_migrate(json_t *info, struct plan *p) {
        if (!json_is_object(info))
                return bad(p, SHIM_QMP_LEAK_MIGRATE, "is no object");
        json_t *st = json_object_get(info, "status");
        if (!st)
                return 0;
        const char *s = json_string_value(st);
        if (!s)
                return bad(p, SHIM_QMP_LEAK_MIGRATE, "has a status that is no string");
        if (streq(s, "none") || streq(s, "completed") || streq(s, "failed") || streq(s, "cancelled"))
                return 0;
        going(p, "migration (%s)", s);
        command(p, "migrate_cancel", NULL, NULL, NULL, NULL);
        return 0;
}

static int plan_exports(json_t *list, struct plan *p) {
        if (!json_is_array(list))
                return bad(p, SHIM_QMP_LEAK_EXPORTS, "is no list");
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) {
                const char *id = json_string_value(json_object_get(x, "id"));
                if (!id)
                        return bad(p, SHIM_QMP_LEAK_EXPORTS, "has an export without id");
                const char *type = json_string_value(json_object_get(x, "type"));
                going(p, "block export %s (%s%s)", id, type ? type : "?",
                      json_is_true(json_object_get(x, "shutting-down")) ? ", shutting down" : "");
                command(p, "block-export-del", "id", id, "mode", json_string("hard"));
        }
        return 0;
}

/* Block jobs: named by their "device" (the job's id); their ids are not job-cancel'ed again. */
static int plan_block_jobs(json_t *list, struct plan *p, json_t *ids) {
        if (!json_is_array(list))
                return bad(p, SHIM_QMP_LEAK_BLOCK_JOBS, "is no list");
        size_t i;
        json_t *j;
        json_array_foreach(list, i, j) {
                const char *dev = json_string_value(json_object_get(j, "device"));
                if (!dev)
                        return bad(p, SHIM_QMP_LEAK_BLOCK_JOBS, "has a job without device");
                json_object_set_new(ids, dev, json_true());
                const char *status = json_string_value(json_object_get(j, "status"));
                if (job_over(status))
                        continue;
                const char *type = json_string_value(json_object_get(j, "type"));
                going(p, "block job %s (%s, %s)", dev, type ? type : "?", status ? status : "?");
                command(p, "block-job-cancel", "device", dev, "force", json_true());
        }
        return 0;
}

static int plan_jobs(json_t *list, struct plan *p, json_t *block_ids) {
        if (!json_is_array(list))
                return bad(p, SHIM_QMP_LEAK_JOBS, "is no list");
        size_t i;
        json_t *j;
        json_array_foreach(list, i, j) {
                const char *id = json_string_value(json_object_get(j, "id"));
                const char *status = json_string_value(json_object_get(j, "status"));
                if (!id || !status)
                        return bad(p, SHIM_QMP_LEAK_JOBS, "has a job without id or status");
                if (job_over(status) || json_object_get(block_ids, id))
                        continue;
                const char *type = json_string_value(json_object_get(j, "type"));
                going(p, "job %s (%s, %s)", id, type ? type : "?", status);
                command(p, "job-cancel", "id", id, NULL, NULL);
        }
        return 0;
}

static int plan_dump(json_t *info, struct plan *p) {
        const char *s = json_string_value(json_object_get(info, "status"));
        if (!s)
                return bad(p, SHIM_QMP_LEAK_DUMP, "has no status");
        if (streq(s, "active"))
                going(p, "memory dump (active, which QEMU cannot cancel)");
        return 0;
}

int shim_qmp_leak_plan(const char *const replies[SHIM_QMP_LEAK_N], char **ret_going, char ***ret_commands) {
        *ret_going = NULL;
        *ret_commands = NULL;
        struct plan p = {0};
        _cleanup_(json_decrefp) json_t *block_ids = json_object();
        int r = block_ids ? 0 : -ENOMEM;
        /* block jobs before jobs: a block job is cancelled as one (force), not twice */
        static const enum shim_qmp_leak_query order[] = {SHIM_QMP_LEAK_MIGRATE, SHIM_QMP_LEAK_EXPORTS,
                                                         SHIM_QMP_LEAK_BLOCK_JOBS, SHIM_QMP_LEAK_JOBS,
                                                         SHIM_QMP_LEAK_DUMP};
        for (size_t i = 0; i < ELEMENTSOF(order) && r >= 0; i++) {
                enum shim_qmp_leak_query q = order[i];
                _cleanup_(json_decrefp) json_t *root = NULL;
                json_t *v = reply_return(replies[q], q, &root, &p, &r);
                if (!v)
                        break;
                switch (q) {
                case SHIM_QMP_LEAK_MIGRATE:
                        r = plan_migrate(v, &p);
                        break;
                case SHIM_QMP_LEAK_EXPORTS:
                        r = plan_exports(v, &p);
                        break;
                case SHIM_QMP_LEAK_BLOCK_JOBS:
                        r = plan_block_jobs(v, &p, block_ids);
                        break;
                case SHIM_QMP_LEAK_JOBS:
                        r = plan_jobs(v, &p, block_ids);
                        break;
                case SHIM_QMP_LEAK_DUMP:
                        r = json_is_object(v) ? plan_dump(v, &p) : bad(&p, q, "is no object");
                        break;
                default:
                        r = -EINVAL;
                }
        }
        if (r >= 0)
                r = p.error;
        if (r == -EBADMSG) {
                *ret_going = p.going;
                strv_free(p.commands);
                return r;
        }
        if (r < 0 || p.n_going == 0) {
                free(p.going);
                strv_free(p.commands);
                return r;
        }
        if (p.n_going > MAX_ITEMS) {
                char *more = NULL;
                if (asprintf(&more, "%s, ...", p.going) >= 0) {
                        free(p.going);
                        p.going = more;
                }
        }
        if (!p.commands && !(p.commands = calloc(1, sizeof *p.commands))) {
                free(p.going);
                return -ENOMEM;
        }
        *ret_going = p.going;
        *ret_commands = p.commands;
        return 1;
}

/* Events of QEMU that mean data may have left (qmp-stop.h). */
static const char *const leak_events[] = {
        "MIGRATION",           "MIGRATION_PASS",  "BLOCK_EXPORT_DELETED", "JOB_STATUS_CHANGE", "BLOCK_JOB_COMPLETED",
        "BLOCK_JOB_CANCELLED", "BLOCK_JOB_ERROR", "BLOCK_JOB_READY",      "BLOCK_JOB_PENDING", "DUMP_COMPLETED",
        "VNC_CONNECTED",       "VNC_INITIALIZED", "SPICE_CONNECTED",      "SPICE_INITIALIZED",
};

int shim_qmp_event_classify(const char *event, const char *details, char **ret_what) {
        *ret_what = NULL;
        if (!event)
                return SHIM_QMP_EVENT_IGNORE;
        bool leak = false;
        for (size_t i = 0; i < ELEMENTSOF(leak_events) && !leak; i++)
                leak = streq(event, leak_events[i]);
        _cleanup_(json_decrefp) json_t *data =
                details && strlen(details) < 64 * 1024 ? json_loads(details, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (streq(event, "DEVICE_DELETED")) {
                /* libvirt's devices all have an id (its alias); one without came through the monitor */
                const char *path = json_string_value(json_object_get(data, "path"));
                if (!path || strncmp(path, "/machine/peripheral-anon/", 25) != 0)
                        return SHIM_QMP_EVENT_RECHECK;
                leak = true;
        }
        if (!leak)
                return SHIM_QMP_EVENT_IGNORE;
        /* the first string members of its data that say what: status, id, device, path */
        static const char *const keys[] = {"status", "id", "device", "type", "path"};
        char what[256] = "";
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *v = json_string_value(json_object_get(data, keys[i]));
                if (v && n < sizeof what)
                        n += (size_t) snprintf(what + n, sizeof what - n, "%s%s %.64s", n ? ", " : "", keys[i], v);
        }
        int r = ecl_reason(ret_what, 0, "QEMU event %.64s%s%s%s", event, *what ? " (" : "", what, *what ? ")" : "");
        if (r < 0)
                return r;
        ecl_str_make_ascii(*ret_what);
        return SHIM_QMP_EVENT_LEAK;
}

static int cannot_send(const char *what, char **ret_why) {
        const char *msg = virGetLastErrorMessage();
        return ecl_reason(ret_why, -EIO, "cannot send %s to QEMU: %s", what, msg && *msg ? msg : "unknown libvirt error");
}

/* Ask the five queries: 0, 1, or an error (with *ret_going saying it) as shim_qmp_leak_plan. */
static int ask(virDomainPtr dom, char **ret_going, char ***ret_commands, char **ret_why) {
        char *replies[SHIM_QMP_LEAK_N] = {0};
        int r = 0;
        for (enum shim_qmp_leak_query q = 0; q < SHIM_QMP_LEAK_N && r == 0; q++)
                if (virDomainQemuMonitorCommand(dom, command_of(q), &replies[q], 0) < 0)
                        r = cannot_send(query_names[q], ret_why);
        if (r == 0) {
                r = shim_qmp_leak_plan((const char *const *) replies, ret_going, ret_commands);
                if (r == -EBADMSG) {
                        *ret_why = *ret_going;
                        *ret_going = NULL;
                }
        }
        for (enum shim_qmp_leak_query q = 0; q < SHIM_QMP_LEAK_N; q++)
                free(replies[q]);
        return r;
}

/* The command was taken (a "return" reply): an error reply (nothing to cancel any more) is not. */
static bool send_one(virDomainPtr dom, const char *cmd) {
        char *reply = NULL;
        if (virDomainQemuMonitorCommand(dom, cmd, &reply, 0) < 0)
                return false;
        bool ok = reply && strstr(reply, "\"return\"") && !strstr(reply, "\"error\"");
        free(reply);
        return ok;
}

const char *shim_qmp_libvirt_job_leak(int type, int operation) {
        /* the current job (not the last completed one): any type but NONE is one libvirt still holds */
        if (type == VIR_DOMAIN_JOB_NONE)
                return NULL;
        switch (operation) {
        case VIR_DOMAIN_JOB_OPERATION_START:
        case VIR_DOMAIN_JOB_OPERATION_RESTORE:
        case VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN:
        case VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_REVERT:
        case VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_DELETE:
                return NULL;
        case VIR_DOMAIN_JOB_OPERATION_SAVE: return "libvirt save";
        case VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT: return "libvirt migration out";
        case VIR_DOMAIN_JOB_OPERATION_SNAPSHOT: return "libvirt snapshot";
        case VIR_DOMAIN_JOB_OPERATION_DUMP: return "libvirt dump";
        case VIR_DOMAIN_JOB_OPERATION_BACKUP: return "libvirt backup";
        default: return "libvirt job (operation unknown)";
        }
}

static int64_t now_ms(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* libvirt's job now: 0 none (or nothing that leaves), 1 with *ret_what, -EIO when libvirt cannot say. */
static int libvirt_job(virDomainPtr dom, const char **ret_what, char **ret_why) {
        *ret_what = NULL;
        int type = VIR_DOMAIN_JOB_NONE, op = VIR_DOMAIN_JOB_OPERATION_UNKNOWN, n = 0;
        virTypedParameterPtr params = NULL;
        /* a QUERY job: libvirt allows it beside its async jobs, it does not wait for them */
        if (virDomainGetJobStats(dom, &type, &params, &n, 0) < 0) {
                const char *msg = virGetLastErrorMessage();
                if (asprintf(ret_why, "cannot ask libvirt for the domain's job: %s",
                             msg && *msg ? msg : "unknown libvirt error") < 0)
                        *ret_why = NULL;
                return -EIO;
        }
        (void) virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &op);
        virTypedParamsFree(params, n);
        *ret_what = shim_qmp_libvirt_job_leak(type, op);
        return *ret_what ? 1 : 0;
}

/*
 * A job libvirt runs itself (virsh migrate, save, dump) holds back every QMP
 * call for up to 30 s while it streams: abort it first, and give up when it
 * does not end (qmp-stop.h).  0 none, 1 aborted (*ret_what), < 0 the caller destroys.
 */
static int stop_libvirt_job(virDomainPtr dom, int64_t deadline, const char **ret_what, char **ret_why) {
        const char *what = NULL;
        int r = libvirt_job(dom, &what, ret_why);
        if (r <= 0)
                return r;
        *ret_what = what;
        (void) virDomainAbortJob(dom); /* an ABORT job: allowed beside it too */
        const struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};
        int64_t until = now_ms() + SHIM_QMP_ABORT_WAIT_MS;
        if (until > deadline)
                until = deadline;
        for (;;) {
                const char *still = NULL;
                r = libvirt_job(dom, &still, ret_why);
                if (r <= 0)
                        return r < 0 ? r : 1;
                if (now_ms() >= until) {
                        if (asprintf(ret_why, "%s still going after it was aborted", still) < 0)
                                *ret_why = NULL;
                        return -EPERM;
                }
                nanosleep(&pause, NULL);
        }
}

int shim_qmp_libvirt_job_now(virDomainPtr dom, const char **ret_what, char **ret_why) {
        *ret_why = NULL;
        return libvirt_job(dom, ret_what, ret_why);
}

int shim_qmp_stop_libvirt_job(virDomainPtr dom, const char **ret_what, char **ret_why) {
        *ret_what = NULL;
        *ret_why = NULL;
        return stop_libvirt_job(dom, now_ms() + SHIM_QMP_STOP_WAIT_MS, ret_what, ret_why);
}

static int overrun(char **ret_why) {
        free(*ret_why);
        if (asprintf(ret_why, "stopping what QEMU sends out took longer than %d ms", SHIM_QMP_STOP_WAIT_MS) < 0)
                *ret_why = NULL;
        return -ETIMEDOUT;
}

int shim_qmp_stop_leaks(virDomainPtr dom, char **ret_stopped, char **ret_why) {
        *ret_stopped = NULL;
        *ret_why = NULL;
        /* one deadline for the whole stop, QMP calls included (libvirt may hold one back) */
        const int64_t deadline = now_ms() + SHIM_QMP_STOP_WAIT_MS;
        const char *job = NULL;
        int r = stop_libvirt_job(dom, deadline, &job, ret_why);
        if (r < 0)
                return r;
        /* no query shows an NBD server without exports: stopped at every hold, an error when none runs */
        bool nbd = send_one(dom, "{\"execute\":\"nbd-server-stop\"}");
        _cleanup_free_ char *first = NULL;
        const struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};
        for (int round = 0;; round++) {
                char *now = NULL;
                _cleanup_strv_free_ char **cmds = NULL;
                if (now_ms() >= deadline)
                        return overrun(ret_why);
                if (round > 0) { /* a job libvirt started meanwhile would hold the queries back */
                        const char *later = NULL;
                        r = stop_libvirt_job(dom, deadline, &later, ret_why);
                        if (r < 0)
                                return r;
                        if (!job)
                                job = later;
                }
                r = ask(dom, &now, &cmds, ret_why);
                if (r < 0)
                        return r;
                if (now_ms() >= deadline) {
                        free(now);
                        return overrun(ret_why);
                }
                if (r == 0)
                        break;
                /* nothing to send (a dump): no use waiting */
                bool stoppable = cmds && cmds[0];
                if (!stoppable || now_ms() + 50 >= deadline) {
                        r = stoppable ? ecl_reason(ret_why, -EPERM, "still going %d ms after it was stopped: %s",
                                                   SHIM_QMP_STOP_WAIT_MS, now)
                                      : ecl_reason(ret_why, -EPERM, "QEMU has no command to stop %s", now);
                        free(now);
                        return r;
                }
                if (!first)
                        first = TAKE_PTR(now);
                free(now);
                /* sent again at each round: a job started meanwhile is cancelled too; errors are "gone already" */
                for (char **c = cmds; c && *c; c++)
                        (void) send_one(dom, *c);
                nanosleep(&pause, NULL);
        }
        if (!first && !nbd && !job)
                return 0;
        return ecl_reason(ret_stopped, 1, "%s%s%s%s%s", job ? job : "", job && (first || nbd) ? ", " : "",
                          first ? first : "", first && nbd ? ", " : "", nbd ? "NBD server" : "");
}
