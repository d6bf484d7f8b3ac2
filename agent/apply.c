/* SPDX-License-Identifier: Apache-2.0 */
/* Apply, roll back, recover: the order of apply.h, one function per step. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent-audit.h"
#include "apply.h"
#include "audit-log.h"
#include "bundle-meta.h"
#include "bundles.h"
#include "control-client.h"
#include "durable.h"
#include "health.h"
#include "macro.h"
#include "manifest.h"
#include "paths.h"
#include "quarantine.h"
#include "reason.h"
#include "release.h"

#define HEALTH_SETTLE_MS 5000
/* Without a health line, updates.health.timeout is how long the guest stays up; the reload itself may take this. */
#define HEALTH_START_MS 120000

void agent_apply_result_clear(struct agent_apply_result *r) {
        if (!r)
                return;
        free(r->stack);
        free(r->version);
        free(r->from);
        *r = (struct agent_apply_result){0};
}

static void report(const struct agent_apply_options *o, const char *fmt, ...) _printf_(2, 3);
static void report(const struct agent_apply_options *o, const char *fmt, ...) {
        if (!o->report)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *line = NULL;
        if (vasprintf(&line, fmt, ap) >= 0)
                o->report(o->userdata, line);
        va_end(ap);
}

static int audit(const struct agent_apply_options *o, const char *actor, const char *event, const char *stack,
                 json_t *details, char **ret_reason) {
        json_auto_t *d = details;
        if (!d)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *warning = NULL;
        char self[128];
        int r = agent_audit(o->root, o->log, actor ? actor : agent_audit_self(self, sizeof self), event, stack, d,
                            &warning, ret_reason);
        if (warning)
                report(o, "%s", warning);
        return r;
}

/* The stack's directory, locked for the whole operation. */
static int lock_stack(struct agent_store *s, const char *stack, int *ret_fd, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *why = NULL;
        int r = agent_store_stack_dir(s, stack, &fd, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        if (flock(fd, LOCK_EX) < 0)
                return ecl_reason_errno(ret_reason, -errno, "stack %s: cannot lock its state", stack);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int save_state(struct agent_store *s, const char *stack, const struct agent_stack_state *st, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        int r = agent_stack_state_write(s, stack, st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        return 0;
}

static int set_str(char **p, const char *v) {
        char *n = v ? strdup(v) : NULL;
        if (v && !n)
                return -ENOMEM;
        free(*p);
        *p = n;
        return 0;
}

/* Nothing in flight. */
static void clear_op(struct agent_stack_state *st) {
        st->op = AGENT_OP_NONE;
        (void) set_str(&st->op_bundle, NULL);
        (void) set_str(&st->op_from, NULL);
        (void) set_str(&st->op_to, NULL);
        (void) set_str(&st->op_phase, NULL);
        st->op_started = 0;
}

struct health_conf {
        char *console;
        uint64_t timeout_s;
};

static void health_conf_done(struct health_conf *h) {
        free(h->console);
}

static int health_conf_of(const struct ecl_manifest *m, struct health_conf *ret, char **ret_reason) {
        ret->console = m->health_console ? strdup(m->health_console) : NULL;
        ret->timeout_s = m->health_timeout_s;
        if (m->health_console && !ret->console)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return 0;
}

static int health_conf(const char *root, const char *stack, struct health_conf *ret, char **ret_reason) {
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        int r = agent_stack_manifest(root, stack, &m, ret_reason);
        return r < 0 ? r : health_conf_of(m, ret, ret_reason);
}

/* Reload the shim on what `current` now is and wait for the gate.  0 healthy. */
static int reload_and_wait(const struct agent_apply_options *o, const char *stack, const struct health_conf *hc,
                           char **ret_reason) {
        uint64_t boot = 0;
        _cleanup_free_ char *why = NULL;
        int r = agent_shim_reload(o->root, stack, &boot, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        struct agent_health h = {
                .console_line = hc ? hc->console : NULL,
                .timeout_ms = (hc ? hc->timeout_s : 120) * 1000,
                .settle_ms = HEALTH_SETTLE_MS,
        };
        if (hc && !hc->console) { /* manifest.h: "the guest only has to stay up for health_timeout_s" */
                h.settle_ms = hc->timeout_s * 1000;
                h.timeout_ms = h.settle_ms + HEALTH_START_MS;
        }
        r = agent_health_wait(o->root, stack, boot, &h, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        return 0;
}

/*
 * Point current back at from and reload, through the same gate (hc): the old
 * release passed it before, and "it runs again" means what "healthy" means.
 */
static int switch_back(const struct agent_apply_options *o, int sfd, const char *stack, const char *from,
                       const struct health_conf *hc, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        int r = agent_release_switch(sfd, from, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: cannot switch back to %s: %s", stack, from,
                                  ecl_reason_text(why, r));
        report(o, "stack %s: current -> releases/%s again; reloading", stack, from);
        r = reload_and_wait(o, stack, hc, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: release %s after the switch back: %s", stack, from,
                                  ecl_reason_text(why, r));
        return 0;
}

/* Mark quarantined updates of the stack that the new floor makes pointless as superseded. */
static void supersede(struct agent_store *s, const struct agent_apply_options *o, const char *stack,
                      const struct agent_version *floor, const char *except, uint64_t now) {
        struct agent_bundle_record *recs = NULL;
        size_t n = 0;
        if (agent_store_list(s, &recs, &n, NULL) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct agent_bundle_record *r = &recs[i];
                struct agent_version v;
                if (strcmp(r->stack, stack) != 0 || strcmp(r->id, except) == 0 || r->downgrade ||
                    (r->state != AGENT_BUNDLE_QUARANTINED && r->state != AGENT_BUNDLE_APPROVED) ||
                    agent_version_parse(r->version, &v, NULL) < 0 || agent_version_compare(&v, floor) > 0)
                        continue;
                /* under its lock, from its record as it is now (an approve may have written it meanwhile);
                 * a bundle another command holds stays as it is: the floor refuses it anyway */
                _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
                if (agent_bundle_load(s, r->id, &b, NULL) < 0 || agent_bundle_trylock(&b, NULL) < 0)
                        continue;
                agent_record_clear(&b.rec);
                if (agent_record_read(s, r->id, &b.rec, NULL) < 0 ||
                    (b.rec.state != AGENT_BUNDLE_QUARANTINED && b.rec.state != AGENT_BUNDLE_APPROVED))
                        continue;
                _cleanup_free_ char *why = NULL;
                if (audit(o, ECL_AUDIT_SELF_ACTOR, "superseded", stack,
                          json_pack("{s:s, s:s, s:s}", "id", r->id, "version", r->version, "by", except), &why) < 0)
                        continue;
                b.rec.state = AGENT_BUNDLE_SUPERSEDED;
                (void) agent_bundle_save(s, &b, now, NULL);
        }
        agent_record_list_free(recs, n);
}

/* Remove releases/VERSION (never the one current names: the caller knows it is not). */
static int remove_release(int sfd, const char *version, char **ret_reason) {
        _cleanup_close_ int rfd = openat(sfd, AGENT_RELEASES_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rfd < 0)
                return ecl_reason_errno(ret_reason, -errno, "%s", AGENT_RELEASES_DIR);
        _cleanup_free_ char *why = NULL;
        int r = ecl_rm_rf_at(rfd, version, &why);
        if (r >= 0)
                r = ecl_fsync_dir_at(rfd, NULL, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot remove %s/%s: %s", AGENT_RELEASES_DIR, version,
                                  ecl_reason_text(why, r));
        return 0;
}

/* releases/VERSION holds exactly meta's files, each with its hash, nothing else. */
static int release_exact(int sfd, const char *version, const struct agent_bundle_meta *meta, char **ret_reason) {
        int r = agent_release_verify(sfd, version, meta->payload, meta->n_payload, ret_reason);
        if (r < 0)
                return r;
        struct agent_release_file *files = NULL;
        size_t n = 0;
        r = agent_release_files(sfd, version, &files, &n, ret_reason);
        if (r < 0)
                return r;
        agent_release_files_free(files, n);
        if (n != meta->n_payload)
                return ecl_reason(ret_reason, -EBADMSG, "%s/%s holds %zu files, the bundle %zu", AGENT_RELEASES_DIR,
                                  version, n, meta->n_payload);
        return 0;
}

/* A reload needs a shim to ask, and the gate a guest to watch: checked before anything changes. */
static int shim_running(const struct agent_apply_options *o, const char *stack, char **ret_reason) {
        json_auto_t *j = NULL;
        _cleanup_free_ char *why = NULL;
        int r = ecl_control_call(o->root, stack, "status", &j, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s (the new release is applied only to a running stack, whose "
                                  "health the agent can watch)", ecl_reason_text(why, r));
        return 0;
}

/* Step 1: every check again, from what is on disk now. */
static int check_again(const struct agent_apply_options *o, struct agent_bundle *b, const struct ecl_manifest *m,
                       const struct agent_stack_state *st, uint64_t now, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        if (b->rec.state != AGENT_BUNDLE_APPROVED && b->rec.state != AGENT_BUNDLE_QUARANTINED)
                return ecl_reason(ret_reason, -EBADMSG, "bundle %s is %s: it cannot be applied", b->rec.id,
                                  agent_bundle_state_to_string(b->rec.state));
        unsigned quorum = m->updates_quorum;
        /* the manifest may have changed since the import: the release still provides what it boots */
        int r = agent_bundle_provides(m, b->meta, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "bundle %s: %s", b->rec.id, ecl_reason_text(why, r));
        _cleanup_(ecl_quorum_clear) struct ecl_quorum q = {0};
        r = agent_bundle_count(o->root, b, now, NULL, &q, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        if (q.counted < quorum)
                return ecl_reason(ret_reason, -EKEYREJECTED,
                                  "bundle %s has %zu valid approvals from distinct officers; stack %s needs %u",
                                  b->rec.id, q.counted, b->rec.stack, quorum);
        if (st->floor) {
                struct agent_version floor;
                if (agent_version_parse(st->floor, &floor, &why) < 0)
                        return ecl_reason(ret_reason, -EBADMSG, "stack %s: bad floor in its state", b->rec.stack);
                int cmp = agent_version_compare(&b->meta->version, &floor);
                if (!b->rec.downgrade && cmp <= 0)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "bundle %s: version %s is no longer newer than the floor %s of stack %s",
                                          b->rec.id, b->rec.version, st->floor, b->rec.stack);
                if (b->rec.downgrade && cmp > 0)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "bundle %s was approved as a downgrade, but %s is newer than the floor %s",
                                          b->rec.id, b->rec.version, st->floor);
        }
        if (st->running && strcmp(st->running, b->rec.version) == 0)
                return ecl_reason(ret_reason, -EBADMSG, "stack %s runs %s already", b->rec.stack, b->rec.version);
        return shim_running(o, b->rec.stack, ret_reason);
}

int agent_apply(struct agent_store *s, const char *id, const struct agent_apply_options *o,
                struct agent_apply_result *ret, char **ret_reason) {
        uint64_t now = o->now ? o->now : (uint64_t) time(NULL);
        bool staged = false; /* releases/VERSION made by this apply: removed again if it does not stay */
        _cleanup_free_ char *why = NULL, *warning = NULL;
        _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
        int r = agent_bundle_load(s, id, &b, &why);
        if (r >= 0)
                r = agent_bundle_lock(&b, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        memcpy(ret->id, b.rec.id, sizeof ret->id);
        if (set_str(&ret->stack, b.rec.stack) < 0 || set_str(&ret->version, b.rec.version) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        const char *stack = ret->stack; /* b.rec may be read again below */

        _cleanup_close_ int sfd = -1;
        r = lock_stack(s, stack, &sfd, ret_reason);
        if (r < 0)
                return r;
        r = agent_stack_recover(s, stack, o, ret_reason);
        if (r < 0)
                return r;
        { /* a command we waited for, or the recovery, may have changed this very bundle's record: read it again */
                agent_record_clear(&b.rec);
                r = agent_record_read(s, ret->id, &b.rec, &why);
                if (r < 0)
                        return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        }
        r = agent_bundle_refresh(s, &b, now, o->root, o->log, &warning, &why);
        if (warning)
                report(o, "%s", warning);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        _cleanup_(agent_stack_state_clear) struct agent_stack_state st = {0};
        r = agent_stack_state_read(s, stack, &st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        _cleanup_manifest_ struct ecl_manifest *m = NULL; /* read once: quorum, what it boots, the health gate */
        r = agent_stack_manifest(o->root, stack, &m, ret_reason);
        if (r < 0)
                return r;
        r = check_again(o, &b, m, &st, now, ret_reason);
        if (r < 0)
                return r;
        if (!st.running)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "stack %s has no running release (place the first one under releases/ and "
                                  "point current at it)",
                                  stack);
        _cleanup_(health_conf_done) struct health_conf hc = {0};
        r = health_conf_of(m, &hc, ret_reason);
        if (r < 0)
                return r;
        if (set_str(&ret->from, st.running) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");

        /* Step 2. */
        st.op = AGENT_OP_APPLY;
        if (set_str(&st.op_bundle, b.rec.id) < 0 || set_str(&st.op_from, st.running) < 0 ||
            set_str(&st.op_to, b.rec.version) < 0 || set_str(&st.op_phase, "staging") < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        st.op_started = now;
        r = audit(o, NULL, "apply-started", stack,
                  json_pack("{s:s, s:s, s:s, s:s}", "id", b.rec.id, "version", b.rec.version, "from", st.running,
                            "decision", b.rec.downgrade ? "downgrade" : "apply"),
                  ret_reason);
        if (r < 0)
                return r;
        r = save_state(s, stack, &st, ret_reason);
        if (r < 0)
                return r;
        b.rec.state = AGENT_BUNDLE_APPLYING;
        r = agent_bundle_save(s, &b, now, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));

        /* Step 3. */
        report(o, "staging releases/%s (every file hashed again from the staged copy)", b.rec.version);
        _cleanup_close_ int pfd = openat(b.dirfd, AGENT_PAYLOAD_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pfd < 0)
                r = ecl_reason_errno(&why, -errno, "bundle %s: %s", b.rec.id, AGENT_PAYLOAD_DIR);
        else
                r = agent_release_stage(sfd, b.rec.version, pfd, b.meta->payload, b.meta->n_payload, &why);
        if (r == -EEXIST) {
                /* releases/VERSION is there already: the one that ran before is kept if it holds exactly this
                 * bundle's files; anything else (left by an apply that failed, placed by hand) is replaced */
                free(why);
                why = NULL;
                if (st.previous && streq(st.previous, b.rec.version))
                        r = release_exact(sfd, b.rec.version, b.meta, &why);
                else if ((r = remove_release(sfd, b.rec.version, &why)) >= 0)
                        r = agent_release_stage(sfd, b.rec.version, pfd, b.meta->payload, b.meta->n_payload, &why);
                staged = r >= 0 && !(st.previous && streq(st.previous, b.rec.version));
        } else
                staged = r >= 0;
        if (r < 0) {
                r = ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
                goto undo;
        }

        /* Step 4. */
        if (set_str(&st.op_phase, "switched") < 0) {
                r = ecl_reason(ret_reason, -ENOMEM, "out of memory");
                goto undo;
        }
        r = save_state(s, stack, &st, ret_reason);
        if (r < 0)
                goto undo;
        r = agent_release_switch(sfd, b.rec.version, &why);
        if (r < 0) {
                r = ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
                goto undo;
        }
        report(o, "current -> releases/%s; reloading stack %s", b.rec.version, stack);

        /* Step 5. */
        r = reload_and_wait(o, stack, &hc, &why);
        if (r < 0) {
                r = ecl_reason(ret_reason, r, "release %s of stack %s is not healthy: %s", b.rec.version, stack,
                               ecl_reason_text(why, r));
                goto undo;
        }

        /* Step 6, healthy. */
        struct agent_version nv = b.meta->version, floor;
        bool raise = !st.floor || agent_version_parse(st.floor, &floor, NULL) < 0 ||
                     agent_version_compare(&nv, &floor) > 0;
        r = audit(o, NULL, "applied", stack,
                  json_pack("{s:s, s:s, s:s, s:s}", "id", b.rec.id, "version", b.rec.version, "from", st.running,
                            "floor", raise ? b.rec.version : st.floor),
                  ret_reason);
        if (r < 0)
                goto undo;
        if (set_str(&st.previous, st.running) < 0 || set_str(&st.running, b.rec.version) < 0 ||
            (raise && set_str(&st.floor, b.rec.version) < 0))
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        clear_op(&st);
        r = save_state(s, stack, &st, ret_reason);
        if (r < 0)
                return r;
        b.rec.state = AGENT_BUNDLE_APPLIED;
        r = agent_bundle_save(s, &b, now, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        if (raise)
                supersede(s, o, stack, &nv, b.rec.id, now);
        return 0;

undo:;
        /* Not healthy, or a step failed: the old release runs again; the floor stays. */
        _cleanup_free_ char *back_why = NULL;
        _cleanup_free_ char *cur = NULL;
        int k = 0;
        if (agent_release_current(sfd, &cur, NULL) >= 0 && strcmp(cur, st.op_from) != 0)
                k = switch_back(o, sfd, stack, st.op_from, &hc, &back_why);
        (void) agent_release_recover(sfd, NULL);
        if (k >= 0 && staged) /* nothing of a release that did not stay is reused by a later bundle */
                (void) remove_release(sfd, b.rec.version, NULL);
        ret->rolled_back = k >= 0;
        _cleanup_free_ char *awhy = NULL;
        (void) audit(o, NULL, "rolled-back", stack,
                     json_pack("{s:s, s:s, s:s, s:s, s:s?}", "id", b.rec.id, "version", b.rec.version, "to",
                               st.op_from, "reason", ecl_reason_text(*ret_reason, r), "switch_back_failed",
                               k < 0 ? back_why : NULL),
                     &awhy);
        if (k < 0)
                return r; /* the state stays in flight: the next command tries again */
        clear_op(&st);
        (void) save_state(s, stack, &st, NULL);
        b.rec.state = AGENT_BUNDLE_ROLLED_BACK;
        free(b.rec.reason);
        b.rec.reason = strdup(ecl_reason_text(*ret_reason, r));
        (void) agent_bundle_save(s, &b, now, NULL);
        return r;
}

int agent_rollback(struct agent_store *s, const char *stack, const struct agent_apply_options *o,
                   struct agent_apply_result *ret, char **ret_reason) {
        _cleanup_close_ int sfd = -1;
        int r = lock_stack(s, stack, &sfd, ret_reason);
        if (r < 0)
                return r;
        r = agent_stack_recover(s, stack, o, ret_reason);
        if (r < 0)
                return r;
        _cleanup_free_ char *why = NULL;
        _cleanup_(agent_stack_state_clear) struct agent_stack_state st = {0};
        r = agent_stack_state_read(s, stack, &st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        if (!st.running || !st.previous)
                return ecl_reason(ret_reason, -EBADMSG, "stack %s has no release that ran before %s", stack,
                                  st.running ? st.running : "(none)");
        if (set_str(&ret->stack, stack) < 0 || set_str(&ret->version, st.previous) < 0 ||
            set_str(&ret->from, st.running) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        r = shim_running(o, stack, ret_reason);
        if (r < 0)
                return r;
        _cleanup_(health_conf_done) struct health_conf hc = {0};
        r = health_conf(o->root, stack, &hc, ret_reason);
        if (r < 0)
                return r;
        st.op = AGENT_OP_ROLLBACK;
        if (set_str(&st.op_from, st.running) < 0 || set_str(&st.op_to, st.previous) < 0 ||
            set_str(&st.op_phase, "switched") < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        r = audit(o, NULL, "rollback", stack,
                  json_pack("{s:s, s:s, s:s}", "from", st.running, "to", st.previous, "floor",
                            st.floor ? st.floor : ""),
                  ret_reason);
        if (r < 0)
                return r;
        r = save_state(s, stack, &st, ret_reason);
        if (r < 0)
                return r;
        r = agent_release_switch(sfd, st.previous, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        /* The release that ran before passed this gate once: it must again. */
        r = reload_and_wait(o, stack, &hc, &why);
        if (r < 0) {
                /* Back to the release that ran, which the guest must run again too, not only current name. */
                _cleanup_free_ char *back_why = NULL;
                int k = switch_back(o, sfd, stack, st.running, &hc, &back_why);
                (void) audit(o, NULL, "rollback-failed", stack,
                             json_pack("{s:s, s:s, s:s, s:s?}", "version", st.previous, "to", st.running, "reason",
                                       ecl_reason_text(why, r), "switch_back_failed", k < 0 ? back_why : NULL),
                             NULL);
                if (k < 0) /* the state stays in flight: the next command finishes it */
                        return ecl_reason(ret_reason, r, "stack %s: release %s did not come up: %s; and then: %s",
                                          stack, st.previous, ecl_reason_text(why, r),
                                          ecl_reason_text(back_why, k));
                ret->rolled_back = true;
                r = ecl_reason(ret_reason, r, "stack %s: release %s did not come up: %s", stack, st.previous,
                               ecl_reason_text(why, r));
        } else {
                char *old = st.running;
                st.running = st.previous;
                st.previous = old;
        }
        st.op = AGENT_OP_NONE;
        (void) set_str(&st.op_from, NULL);
        (void) set_str(&st.op_to, NULL);
        (void) set_str(&st.op_phase, NULL);
        int k = save_state(s, stack, &st, r < 0 ? NULL : ret_reason);
        return r < 0 ? r : k;
}

/*
 * A bundle still `applying` when nothing is in flight: the apply wrote the
 * state's end (op none) and stopped before the bundle's record.  The
 * state tells how it ended: running its version, applied (`applied` is
 * audited already); otherwise it was switched back (`rolled-back` is).
 * 1 when a record was set right, else 0.
 */
static int settle_applying(struct agent_store *s, const char *stack, const struct agent_stack_state *st) {
        struct agent_bundle_record *recs = NULL;
        size_t n = 0;
        int k = 0;
        if (agent_store_list(s, &recs, &n, NULL) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (recs[i].state != AGENT_BUNDLE_APPLYING || !recs[i].stack || strcmp(recs[i].stack, stack) != 0)
                        continue;
                _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
                if (agent_bundle_load(s, recs[i].id, &b, NULL) < 0 || b.rec.state != AGENT_BUNDLE_APPLYING)
                        continue;
                (void) ecl_atomic_temps_remove_at(b.dirfd, NULL);
                bool runs = st->running && strcmp(st->running, b.rec.version) == 0;
                b.rec.state = runs ? AGENT_BUNDLE_APPLIED : AGENT_BUNDLE_ROLLED_BACK;
                if (!runs && set_str(&b.rec.reason, "rolled back (the agent stopped before it recorded why: "
                                                    "see the audit log)") < 0)
                        continue;
                if (agent_bundle_save(s, &b, (uint64_t) time(NULL), NULL) >= 0)
                        k = 1;
        }
        agent_record_list_free(recs, n);
        return k;
}

int agent_stack_recover(struct agent_store *s, const char *stack, const struct agent_apply_options *o,
                        char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        _cleanup_close_ int sfd = -1;
        int r = agent_store_stack_dir(s, stack, &sfd, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        (void) agent_release_recover(sfd, NULL);
        (void) ecl_atomic_temps_remove_at(sfd, NULL); /* a state written half way: never read */
        _cleanup_(agent_stack_state_clear) struct agent_stack_state st = {0};
        r = agent_stack_state_read(s, stack, &st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "stack %s: %s", stack, ecl_reason_text(why, r));
        if (st.op == AGENT_OP_NONE)
                return settle_applying(s, stack, &st);
        _cleanup_free_ char *cur = NULL;
        bool moved = agent_release_current(sfd, &cur, NULL) >= 0 && st.op_from && strcmp(cur, st.op_from) != 0;
        r = audit(o, ECL_AUDIT_SELF_ACTOR, "apply-interrupted", stack,
                  json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b}", "op", st.op == AGENT_OP_APPLY ? "apply" : "rollback",
                            "id", st.op_bundle, "from", st.op_from, "to", st.op_to, "phase", st.op_phase, "switched_back",
                            moved),
                  ret_reason);
        if (r < 0)
                return r;
        if (moved) {
                r = agent_release_switch(sfd, st.op_from, &why);
                if (r < 0)
                        return ecl_reason(ret_reason, r, "stack %s: cannot switch back to %s: %s", stack, st.op_from,
                                          ecl_reason_text(why, r));
                r = reload_and_wait(o, stack, NULL, &why);
                if (r < 0 && r != -ESRCH)
                        report(o, "stack %s: after switching back to %s: %s", stack, st.op_from,
                               ecl_reason_text(why, r));
        }
        if (st.op == AGENT_OP_APPLY && st.op_bundle) {
                _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
                if (agent_bundle_load(s, st.op_bundle, &b, NULL) >= 0)
                        (void) ecl_atomic_temps_remove_at(b.dirfd, NULL); /* a record written half way */
                if (b.dirfd >= 0 && b.rec.state == AGENT_BUNDLE_APPLYING) {
                        b.rec.state = AGENT_BUNDLE_APPROVED;
                        (void) agent_bundle_save(s, &b, (uint64_t) time(NULL), NULL);
                }
        }
        clear_op(&st);
        r = save_state(s, stack, &st, ret_reason);
        return r < 0 ? r : 1;
}

int agent_stack_settle(struct agent_store *s, const char *stack, const struct agent_apply_options *o,
                       char **ret_reason) {
        _cleanup_close_ int sfd = -1;
        int r = lock_stack(s, stack, &sfd, ret_reason);
        if (r < 0)
                return r;
        return agent_stack_recover(s, stack, o, ret_reason);
}
