/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The supervisor's event loop (libvirt's default event loop, in the main
 * thread): the domain's lifecycle, devices added or removed from outside,
 * SIGTERM/SIGINT through a signalfd, a periodic re-check of the live XML and
 * of the policy, and whatever else the caller registers with
 * virEventAddHandle (the control socket).
 *
 * A device added to the running domain from outside, a live XML that is no
 * longer cut, a policy that is no longer in the kernel, or any outside change
 * to the table, the tap or the uplink (seen as it happens: watch.h) is a
 * violation:
 * the domain is paused, an audit record is written, the state says why, and
 * the domain stays paused (a resume from outside is undone) until the stack
 * is stopped or reloaded.  The pause is tried whatever libvirt says of the
 * domain's state; when it fails the domain is destroyed, and the state is
 * "hold-failed" with hold_problem saying what failed (audited as
 * "hold-failed").
 *
 * A security event that cannot be audited (the append fails: a full disk,
 * an unwritable log) holds the domain the same way: the state is
 * "held-unaudited" and audit_problem says which record failed.  The records
 * that failed are kept, in order, and written before any later one (at
 * the next record or periodic check); a reload is refused while one is
 * still pending, and goes ahead once they are all written.
 *
 * QEMU's monitor events are heard too (with hooks->stop_qemu_leaks): one
 * that means data may have left QEMU (a migration, an export deleted, a
 * block job, a dump: qmp-stop.h) holds the domain at the next turn, even
 * when what made it is undone before the periodic check.  Every hold also
 * stops what QEMU is sending out (migrate_cancel, block-export-del,
 * nbd-server-stop, block-job-cancel; audited as "leak-stopped"): pausing the
 * guest does not stop QEMU's own threads.  When that fails or the leak is
 * still there on re-check, the domain is destroyed: "hold-failed", audited
 * as such.
 *
 * The caller blocks SIGTERM and SIGINT (sigprocmask) before any thread
 * exists, i.e. before connecting to libvirt.
 */
#include <jansson.h>
#include <stdbool.h>

#include "run.h"

#define SHIM_SUPERVISE_CHECK_MS 5000
/*
 * A periodic check that cannot even learn whether the domain runs
 * (virDomainIsActive() fails: libvirt gone, the connection lost) checks
 * nothing.  After this many such checks in a row (about 10 to 15 s) it is a
 * violation: the domain is held (or destroyed when it cannot be paused) and
 * audited.  Not at once: a single failed call (a busy remote daemon) must not
 * hold a production guest for good.
 */
#define SHIM_SUPERVISE_MAX_UNKNOWN 3

/* How long a domain found gone waits for its STOPPED event (which says whether it was saved or migrated). */
#define SHIM_SUPERVISE_STOP_EVENT_MS 1000

/* Audit records kept while the log cannot be written (the domain is held meanwhile). */
#define SHIM_SUPERVISE_MAX_PENDING 16

enum shim_sup_exit {
        SHIM_SUP_STOP_REQUESTED,  /* signal or `stop` */
        SHIM_SUP_DOMAIN_STOPPED,  /* the guest powered off */
        SHIM_SUP_DOMAIN_CRASHED,  /* QEMU died or the guest crashed */
        SHIM_SUP_DOMAIN_LEAKED,   /* it ended migrated, saved or for a snapshot: its memory left (exit 77) */
        SHIM_SUP_DOMAIN_DESTROYED, /* the supervisor destroyed it: a leak it could not stop, a failed pause (exit 70) */
};

/*
 * What a lifecycle event (virDomainEventType, its detail) says left the
 * stack, or NULL: STOPPED with MIGRATED, SAVED or FROM_SNAPSHOT (virsh
 * migrate, save, managedsave, snapshot-revert: the guest's RAM is on another
 * host or in a file), SUSPENDED with MIGRATED or POSTCOPY (a migration under
 * way).  A static string.
 */
const char *shim_supervise_lifecycle_leak(int event, int detail);
/*
 * What a pause reason (virDomainPausedReason) says is leaving, or NULL:
 * MIGRATION, POSTCOPY, SAVE, DUMP, SNAPSHOT (libvirt pauses before it
 * streams the memory out; its SUSPENDED event says only "paused" for a save
 * or a dump).
 */
const char *shim_supervise_paused_leak(int reason);

/* What became of the last reload asked for (status "reload"). */
enum shim_sup_reload {
        SHIM_SUP_RELOAD_NONE,       /* none asked for since the start */
        SHIM_SUP_RELOAD_PENDING,    /* taken, not started yet */
        SHIM_SUP_RELOAD_RESTARTING, /* the old domain stopping, the new one starting */
        SHIM_SUP_RELOAD_DONE,       /* the new domain was started, verified and resumed */
        SHIM_SUP_RELOAD_FAILED,     /* the restart failed: the domain stays stopped */
        SHIM_SUP_RELOAD_REFUSED,    /* not tried (reload_problem says why): the old domain runs on */
};

struct shim_supervisor {
        struct shim_stack *stack;
        int sigfd, sig_watch, timer;
        int nft_watch, rtnl_watch; /* handles of the stack's netlink watch (watch.h), -1 without */
        int cb_lifecycle, cb_added, cb_removed;
        int cb_qemu;              /* QEMU's monitor events (qmp-stop.h), -1 without */
        bool quit, reload_requested, check_due, domain_gone, crashed;
        bool stop_seen, stop_crashed; /* a STOPPED event, not yet checked against libvirt */
        bool suspend_seen;        /* a SUSPENDED event: turn() asks libvirt why */
        const char *stop_leak;    /* the STOPPED event said the memory left (shim_supervise_lifecycle_leak) */
        char *leaked;             /* the domain ended so: why (exit SHIM_SUP_DOMAIN_LEAKED) */
        char *destroyed;          /* the supervisor destroyed the domain (or tried to): why */
        unsigned unknown_checks;  /* periodic checks in a row that could not tell whether the domain runs */
        char *pending_added;      /* aliases added since the last turn, ", "-separated */
        char *pending_leak;       /* QEMU events since the last turn that mean data may have left */
        char *violation;          /* why the domain is held paused, NULL if it is not */
        char *hold_problem;       /* the pause after a violation failed: what, and whether it was destroyed */
        char *last_event;         /* for status */
        char *audit_problem;      /* a record could not be written: which, and why; NULL once all are */
        enum shim_sup_reload reload;
        char *reload_problem;     /* why the last reload was refused or failed, NULL otherwise */
        struct shim_sup_record {
                char *event, *details;
        } pending[SHIM_SUPERVISE_MAX_PENDING]; /* the records not written yet, oldest first */
        unsigned n_pending, n_lost;            /* n_lost: beyond the array, counted in the last record */
};

/*
 * Register the callbacks and the signalfd (SIGTERM, SIGINT, which the caller
 * has blocked), right after shim_run_connect and before shim_run_up: a device
 * hot-plugged between start and resume is then seen (on a remote connection
 * nothing else would tell).  -EBUSY once the stack has a domain.
 */
int shim_supervise_init(struct shim_supervisor *sup, struct shim_stack *stack);
/* After shim_run_up: watch the stack's network (watch.h) in the loop; 0 also without a network. */
int shim_supervise_watch_network(struct shim_supervisor *sup);
void shim_supervise_done(struct shim_supervisor *sup);

/*
 * One turn: wait for the next event (at most SHIM_SUPERVISE_CHECK_MS), act
 * on it.  False once a stop is requested or the domain has ended.
 */
bool shim_supervise_iterate(struct shim_supervisor *sup);

/* Run until a stop is requested or the domain ends; handles reloads. */
enum shim_sup_exit shim_supervise_loop(struct shim_supervisor *sup);

/* Why the loop ended, from sup's flags (what shim_supervise_loop returns). */
enum shim_sup_exit shim_supervise_exit_of(const struct shim_supervisor *sup);
/*
 * The text of e for STOPPING=/STATUS= and the `stop` record: "stop
 * requested", "guest powered off", "domain crashed", "memory left: WHY",
 * "destroyed: WHY".
 * 0 or -ENOMEM.
 */
int shim_supervise_exit_why(const struct shim_supervisor *sup, enum shim_sup_exit e, char **ret_why);

/* From the control socket. */
void shim_supervise_request_stop(struct shim_supervisor *sup);
void shim_supervise_request_reload(struct shim_supervisor *sup);

/* "pending", "restarting", "done", "failed", "refused"; NULL before any reload was asked for. */
const char *shim_supervise_reload_state(const struct shim_supervisor *sup);

/*
 * "running", "paused", "held" (paused for a violation), "held-unaudited" (held,
 * and a security event could not be audited), "hold-failed" (a violation, and
 * the pause failed), "stopped", ...
 */
const char *shim_supervise_state(const struct shim_supervisor *sup);

