/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent serve: the daemon.
 *
 *   1. at start, every stack's interrupted apply is finished or undone
 *      (apply.h), and what already waits in the inbox is imported;
 *   2. then it watches ROOT/var/lib/ecluse/inbox with inotify: a file
 *      closed after writing, or moved in, is imported (a name starting with
 *      '.' is still being written and is left alone); see import_one();
 *   3. every few seconds, and after each event, a bundle that has reached
 *      its quorum (state approved) is applied, one at a time (one whose
 *      apply was refused before anything changed, e.g. no shim running, is
 *      tried again a minute later), and bundles whose approval window
 *      passed are marked expired.
 * SIGTERM or SIGINT ends it between two steps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent-audit.h"
#include "apply.h"
#include "bundles.h"
#include "commands.h"
#include "fileio.h"
#include "import.h"
#include "log.h"
#include "paths.h"
#include "reason.h"
#include "stack-name.h"
#include "statement.h"
#include "store.h"

#define SERVE_TICK_MS 5000
#define SERVE_RETRY_S 60 /* an apply refused before it changed anything (no shim running) is tried again after this */
#define SERVE_RETRY_MAX 32

struct serve {
        const struct ecl_cli *cli;
        char *inbox;
        int inbox_fd;
        struct agent_store *store;
        struct {
                char id[13];
                time_t at;
        } failed[SERVE_RETRY_MAX]; /* the last applies that failed, so a failing one is not retried every tick */
        size_t n_failed;
};

static bool recently_failed(const struct serve *sv, const char *id, time_t now) {
        for (size_t i = 0; i < sv->n_failed; i++)
                if (streq(sv->failed[i].id, id) && now - sv->failed[i].at < SERVE_RETRY_S)
                        return true;
        return false;
}

static void note_failed(struct serve *sv, const char *id, time_t now) {
        size_t i = 0;
        while (i < sv->n_failed && !streq(sv->failed[i].id, id))
                i++;
        if (i == sv->n_failed) {
                if (sv->n_failed < SERVE_RETRY_MAX)
                        sv->n_failed++;
                else
                        i = (size_t) now % SERVE_RETRY_MAX; /* forget one */
        }
        snprintf(sv->failed[i].id, sizeof sv->failed[i].id, "%s", id);
        sv->failed[i].at = now;
}

static void report(void *userdata, const char *line) {
        (void) userdata;
        log_notice("%s", line);
}

static int audited(const struct ecl_cli *cli, const struct agent_import_result *r, void *userdata, bool refused,
                   const char *bundle, const char *reason) {
        (void) userdata;
        json_auto_t *d = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?}", "bundle", bundle, "id",
                                   r->digest[0] ? r->id : NULL, "stack", r->stack, "version", r->version, "reason",
                                   reason);
        if (!d)
                return -ENOMEM;
        if (!refused)
                json_object_set_new(d, "decision", json_string(agent_decision_to_string(r->decision)));
        char self[128];
        _cleanup_free_ char *why = NULL, *warning = NULL;
        int k = agent_audit(cli->root, cli->log, agent_audit_self(self, sizeof self),
                            refused ? "import-refused" : "imported", r->stack, d, &warning, &why);
        if (warning)
                log_warning("%s", warning);
        if (k < 0)
                log_error("%s", ecl_reason_text(why, k));
        return k;
}

struct commit_ctx {
        const struct ecl_cli *cli;
        const char *bundle;
};

static int before_commit(const struct agent_import_result *r, void *userdata, char **ret_reason) {
        const struct commit_ctx *c = userdata;
        int k = audited(c->cli, r, NULL, false, c->bundle, NULL);
        if (k < 0)
                return ecl_reason(ret_reason, k, "the import is not in the audit log");
        return 0;
}

/*
 * One drop: first renamed to ".ecluse-NAME" (a dot name: serve leaves it
 * alone), so that a newer file dropped under the same name meanwhile is
 * neither imported half nor removed; then imported from there.  Imported
 * or refused (audited), it is removed; a failure of the host (disk full,
 * the audit log) keeps it as ".failed-NAME" for the operator.
 */
static void import_one(struct serve *sv, const char *name) {
        if (name[0] == '.')
                return;
        _cleanup_free_ char *taken = NULL, *path = NULL;
        if (asprintf(&taken, ".ecluse-%s", name) < 0 || asprintf(&path, "%s/%s", sv->inbox, taken) < 0) {
                log_oom();
                return;
        }
        if (renameat(sv->inbox_fd, name, sv->inbox_fd, taken) < 0) {
                if (errno != ENOENT) /* gone already: an event queued for a drop handled since */
                        log_warning("cannot take %s/%s from the inbox: %m", sv->inbox, name);
                return;
        }
        struct commit_ctx cc = {.cli = sv->cli, .bundle = path};
        struct agent_import_options o = {.before_commit = before_commit, .userdata = &cc, .log = sv->cli->log};
        struct agent_import_result res = {0};
        _cleanup_free_ char *why = NULL;
        int r = agent_import(sv->cli->root, path, &o, &res, &why);
        int status = r < 0 ? ecl_exit_status(r) : EX_OK;
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                (void) audited(sv->cli, &res, NULL, true, path, ecl_reason_text(why, r));
        } else
                log_notice("imported %s: stack %s version %s, quarantined", res.id, res.stack, res.version);
        agent_import_result_clear(&res);
        if (status == EX_OK || status == EX_DATAERR || status == EX_NOINPUT) {
                /* imported (its copy is in quarantine) or refused (audited): the drop is done with */
                if (unlinkat(sv->inbox_fd, taken, 0) < 0 && errno != ENOENT)
                        log_warning("cannot remove %s: %m", path);
                return;
        }
        _cleanup_free_ char *kept = NULL;
        if (asprintf(&kept, ".failed-%s", name) >= 0 && renameat(sv->inbox_fd, taken, sv->inbox_fd, kept) >= 0)
                log_warning("kept %s/%s: import it again once the host is fixed", sv->inbox, kept);
}

static void import_waiting(struct serve *sv) {
        int fd = openat(sv->inbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                log_error("%s: %m", sv->inbox);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN || de->d_type == DT_LNK)
                        import_one(sv, de->d_name);
        closedir(d);
}

/* Recover every stack that has state, then apply what is approved; expiry on the way. */
static void tick(struct serve *sv, bool recover) {
        struct agent_apply_options o = {.root = sv->cli->root, .log = sv->cli->log, .report = report};
        struct agent_bundle_record *recs = NULL;
        size_t n = 0;
        _cleanup_free_ char *why = NULL;
        if (agent_store_list(sv->store, &recs, &n, &why) < 0) {
                log_error("%s", ecl_reason_text(why, -EIO));
                return;
        }
        uint64_t now = (uint64_t) time(NULL);
        for (size_t i = 0; i < n; i++) {
                if (recover) {
                        _cleanup_free_ char *rwhy = NULL;
                        if (agent_stack_settle(sv->store, recs[i].stack, &o, &rwhy) < 0)
                                log_error("%s", ecl_reason_text(rwhy, -EIO));
                }
                _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
                _cleanup_free_ char *bwhy = NULL, *warning = NULL;
                if (agent_bundle_load(sv->store, recs[i].id, &b, &bwhy) < 0)
                        continue;
                if (agent_bundle_trylock(&b, &bwhy) < 0)
                        continue; /* an `apply` of an operator holds it: its verdict comes from there */
                (void) agent_bundle_refresh(sv->store, &b, now, sv->cli->root, sv->cli->log, &warning, &bwhy);
                bool ready = b.rec.state == AGENT_BUNDLE_APPROVED;
                agent_bundle_done(&b); /* apply takes the lock itself */
                if (!ready || recently_failed(sv, recs[i].id, (time_t) now))
                        continue;
                struct agent_apply_result res = {0};
                _cleanup_free_ char *awhy = NULL;
                log_notice("bundle %s reached its quorum: applying", recs[i].id);
                int r = agent_apply(sv->store, recs[i].id, &o, &res, &awhy);
                if (r < 0) {
                        log_error("apply %s: %s%s", recs[i].id, ecl_reason_text(awhy, r),
                                  res.rolled_back ? " (rolled back)" : "; tried again in a minute");
                        note_failed(sv, recs[i].id, time(NULL));
                }
                else
                        log_notice("applied %s: stack %s runs %s, healthy", recs[i].id, res.stack, res.version);
                agent_apply_result_clear(&res);
        }
        agent_record_list_free(recs, n);
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 0, 0, &first);
        if (r < 0)
                return r;
        struct serve sv = {.cli = cli, .inbox_fd = -1};
        _cleanup_free_ char *why = NULL;
        if (ecl_path(&sv.inbox, cli->root, ECL_INBOX_DIR) < 0)
                return log_oom();
        _cleanup_free_ char *inbox_path = sv.inbox; /* owns it */
        (void) inbox_path;
        r = ecl_mkdir_p(sv.inbox, 0750, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        _cleanup_close_ int ifd = open(sv.inbox, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ifd < 0)
                return log_error_errno(-errno, "%s: %m", sv.inbox);
        sv.inbox_fd = ifd;
        _cleanup_(agent_store_freep) struct agent_store *store = NULL;
        r = agent_store_open(cli->root, &store, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        sv.store = store;
        /* what a crash left, under the store's lock: never another agent's import in progress */
        r = agent_store_lock(store, true, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        (void) agent_store_recover(store, NULL);
        agent_store_unlock(store);

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "sigprocmask: %m");
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (sfd < 0 || in < 0)
                return log_error_errno(-errno, "signalfd/inotify: %m");
        if (inotify_add_watch(in, sv.inbox, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW) < 0)
                return log_error_errno(-errno, "inotify %s: %m", sv.inbox);

        log_notice("serving: inbox %s", sv.inbox);
        tick(&sv, true);
        import_waiting(&sv);
        tick(&sv, false);
        for (;;) {
                struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = in, .events = POLLIN}};
                int k = poll(p, 2, SERVE_TICK_MS);
                if (k < 0 && errno != EINTR)
                        return log_error_errno(-errno, "poll: %m");
                if (p[0].revents & POLLIN) {
                        log_notice("stopping");
                        break;
                }
                if (p[1].revents & POLLIN) {
                        char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
                                __attribute__((aligned(__alignof__(struct inotify_event))));
                        ssize_t len;
                        while ((len = read(in, buf, sizeof buf)) > 0) {
                                for (char *q = buf; q < buf + len;) {
                                        const struct inotify_event *ev = (const struct inotify_event *) q;
                                        if (ev->len && !(ev->mask & IN_ISDIR))
                                                import_one(&sv, ev->name);
                                        if (ev->mask & IN_Q_OVERFLOW)
                                                import_waiting(&sv);
                                        q += sizeof *ev + ev->len;
                                }
                        }
                }
                tick(&sv, false);
        }
        return EX_OK;
}

const struct ecl_command agent_cmd_serve = {
        .name = "serve",
        .summary = "the daemon: import what lands in the inbox, apply what reaches its quorum",
        .no_json = true,
        .run = run,
};
