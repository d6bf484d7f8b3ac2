/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "qmp-stop.h"
#include "reason.h"
#include "strutil.h"
#include "supervise.h"

static void hold(struct shim_supervisor *sup, const char *event, const char *why);

/* Write the records still pending, oldest first: 0 once none is left, else the error of the first that failed. */
static int flush_pending(struct shim_supervisor *sup) {
        const struct shim_run_hooks *h = sup->stack->hooks;
        unsigned done = 0;
        int r = 0;
        for (; done < sup->n_pending; done++) {
                struct shim_sup_record *p = &sup->pending[done];
                _cleanup_free_ char *details = NULL;
                if (done == sup->n_pending - 1 && sup->n_lost > 0 &&
                    asprintf(&details, "%s (and %u later records not kept)", p->details ? p->details : "",
                             sup->n_lost) < 0)
                        details = NULL;
                r = h->audit(h->userdata, p->event, sup->stack->m->stack, details ? details : p->details);
                if (r < 0)
                        break;
                free(p->event);
                free(p->details);
        }
        memmove(sup->pending, sup->pending + done, (sup->n_pending - done) * sizeof *sup->pending);
        sup->n_pending -= done;
        if (r < 0)
                return r;
        sup->n_lost = 0;
        if (sup->audit_problem)
                (void) shim_run_report(sup->stack, ECL_LOG_NOTICE, 0, "the audit records of %s are written again",
                                       sup->stack->dom_name);
        free(sup->audit_problem);
        sup->audit_problem = NULL;
        return 0;
}

static void keep_pending(struct shim_supervisor *sup, const char *event, const char *details) {
        if (sup->n_pending == SHIM_SUPERVISE_MAX_PENDING) {
                sup->n_lost++;
                return;
        }
        struct shim_sup_record *p = &sup->pending[sup->n_pending];
        p->event = strdup(event);
        p->details = details ? strdup(details) : NULL;
        if (!p->event || (details && !p->details)) {
                free(p->event);
                free(p->details);
                sup->n_lost++;
                return;
        }
        sup->n_pending++;
}

/*
 * Every record of the supervisor is a security event: one that cannot be
 * written is kept (and the ones after it too, the log's order is the
 * events'), and the domain is held until a reload finds them all written.
 */
static void audit(struct shim_supervisor *sup, const char *event, const char *details) {
        const struct shim_run_hooks *h = sup->stack->hooks;
        if (!h->audit)
                return;
        int r = flush_pending(sup);
        if (r >= 0)
                r = h->audit(h->userdata, event, sup->stack->m->stack, details);
        if (r >= 0)
                return;
        keep_pending(sup, event, details);
        if (!sup->audit_problem) {
                (void) ecl_reason_errno(&sup->audit_problem, r, "the audit record %s could not be written", event);
                (void) shim_run_report(
                        sup->stack, ECL_LOG_ERROR, r, "domain %s: %s; held until it can", sup->stack->dom_name,
                        sup->audit_problem ? sup->audit_problem : "an audit record could not be written");
        }
        if (!sup->violation)
                hold(sup, "audit-failed", sup->audit_problem ? sup->audit_problem : "an audit record could not be written");
}

static bool is_ours(struct shim_supervisor *sup, virDomainPtr dom) {
        const char *name = virDomainGetName(dom);
        return name && streq(name, sup->stack->dom_name);
}

static const char *const lifecycle_names[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = "defined",
        [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
        [VIR_DOMAIN_EVENT_STARTED] = "started",
        [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
        [VIR_DOMAIN_EVENT_RESUMED] = "resumed",
        [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
        [VIR_DOMAIN_EVENT_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = "pmsuspended",
        [VIR_DOMAIN_EVENT_CRASHED] = "crashed",
};

static const char *lifecycle_name(int event) {
        const char *n = ECL_ENUM_NAME(lifecycle_names, event);
        return n ? n : "unknown";
}

const char *shim_supervise_lifecycle_leak(int event, int detail) {
        if (event == VIR_DOMAIN_EVENT_STOPPED) {
                switch (detail) {
                case VIR_DOMAIN_EVENT_STOPPED_MIGRATED: return "stopped: migrated to another host";
                case VIR_DOMAIN_EVENT_STOPPED_SAVED: return "stopped: saved to a file";
                case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT: return "stopped: a snapshot loaded";
                default: return NULL;
                }
        }
        if (event == VIR_DOMAIN_EVENT_SUSPENDED) {
                switch (detail) {
                case VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED: return "paused for a migration";
                case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY: return "paused for a post-copy migration";
                default: return NULL;
                }
        }
        return NULL;
}

const char *shim_supervise_paused_leak(int reason) {
        switch (reason) {
        case VIR_DOMAIN_PAUSED_MIGRATION: return "paused for a migration";
        case VIR_DOMAIN_PAUSED_POSTCOPY: return "paused for a post-copy migration";
        case VIR_DOMAIN_PAUSED_SAVE: return "paused for a save";
        case VIR_DOMAIN_PAUSED_DUMP: return "paused for a memory dump";
        case VIR_DOMAIN_PAUSED_SNAPSHOT: return "paused for a snapshot";
        default: return NULL;
        }
}

/* A leak libvirt itself runs (its lifecycle says so): held at the next turn, as QEMU's events. */
static void add_leak(struct shim_supervisor *sup, const char *what) {
        if (!sup->pending_leak)
                (void) ecl_reason(&sup->pending_leak, 0, "%s", what);
        else if (strlen(sup->pending_leak) < 1024) /* a flood of events: the first ones say enough */
                (void) ecl_reason(&sup->pending_leak, 0, "%s, %s", sup->pending_leak, what);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        (void) conn;
        struct shim_supervisor *sup = opaque;
        if (!is_ours(sup, dom))
                return 0;
        (void) ecl_reason(&sup->last_event, 0, "%s (detail %d)", lifecycle_name(event), detail);
        log_debug("domain %s: %s", sup->stack->dom_name, sup->last_event);
        switch (event) {
        case VIR_DOMAIN_EVENT_STOPPED:
                /* may be the previous run of a reload, delivered late: turn() asks libvirt */
                sup->stop_seen = true;
                sup->stop_crashed = detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ||
                                    detail == VIR_DOMAIN_EVENT_STOPPED_FAILED;
                sup->stop_leak = shim_supervise_lifecycle_leak(event, detail);
                break;
        case VIR_DOMAIN_EVENT_SUSPENDED: {
                const char *leak = shim_supervise_lifecycle_leak(event, detail);
                if (leak)
                        add_leak(sup, leak);
                sup->suspend_seen = true; /* a save or a dump says only "paused": turn() asks why */
                break;
        }
        case VIR_DOMAIN_EVENT_CRASHED:
                sup->stop_crashed = true;
                break;
        case VIR_DOMAIN_EVENT_RESUMED:
                /* a resume from outside while held: pause again at once */
                sup->check_due = true;
                break;
        default:
                break;
        }
        return 0;
}

static int on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        (void) conn;
        struct shim_supervisor *sup = opaque;
        if (!is_ours(sup, dom))
                return 0;
        if (sup->pending_added)
                (void) ecl_reason(&sup->pending_added, 0, "%s, %s", sup->pending_added, alias);
        else
                (void) ecl_reason(&sup->pending_added, 0, "%s", alias);
        return 0;
}

static int on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        (void) conn;
        struct shim_supervisor *sup = opaque;
        if (!is_ours(sup, dom))
                return 0;
        (void) ecl_reason(&sup->last_event, 0, "device removed: %s", alias);
        audit(sup, "device-removed", alias);
        sup->check_due = true;
        return 0;
}

/* A QEMU monitor event: one that means data may have left holds at the next turn (qmp-stop.h). */
static void on_qemu_event(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
                          unsigned int micros, const char *details, void *opaque) {
        (void) conn, (void) seconds, (void) micros;
        struct shim_supervisor *sup = opaque;
        if (!is_ours(sup, dom))
                return;
        _cleanup_free_ char *what = NULL;
        int kind = shim_qmp_event_classify(event, details, &what);
        if (kind == SHIM_QMP_EVENT_RECHECK)
                sup->check_due = true;
        if (kind != SHIM_QMP_EVENT_LEAK)
                return;
        log_debug("domain %s: %s", sup->stack->dom_name, what);
        if (!sup->pending_leak)
                sup->pending_leak = TAKE_PTR(what);
        else
                add_leak(sup, what);
}

static void on_signal(int watch, int fd, int events, void *opaque) {
        (void) watch, (void) events;
        struct shim_supervisor *sup = opaque;
        struct signalfd_siginfo si;
        while (read(fd, &si, sizeof si) == sizeof si) {
                (void) shim_run_report(sup->stack, ECL_LOG_NOTICE, 0, "signal %u received, stopping stack %s",
                                       si.ssi_signo, sup->stack->m->stack);
                sup->quit = true;
        }
}

/* Netlink says something changed: one that is not ours holds the domain at once. */
static void on_watch(int watch, int fd, int events, void *opaque) {
        (void) watch, (void) events;
        struct shim_supervisor *sup = opaque;
        _cleanup_free_ char *what = NULL;
        int r = shim_watch_read(&sup->stack->watch, fd, &what);
        if (r == 0)
                return;
        if (r == SHIM_WATCH_RECHECK) {
                /* someone else's table in a shared namespace: the check that follows decides */
                sup->check_due = true;
                return;
        }
        (void) ecl_reason(&sup->last_event, 0, "%s", what ? what : "the stack's netlink watch failed");
        hold(sup, "policy-tampered", what ? what : "the stack's netlink watch failed");
        sup->check_due = true; /* and say what the policy looks like now */
        if (r < 0) {
                /* a socket that fails stays failed: stop watching it, the domain stays held */
                virEventRemoveHandle(fd == sup->stack->watch.nft ? sup->nft_watch : sup->rtnl_watch);
                if (fd == sup->stack->watch.nft)
                        sup->nft_watch = -1;
                else
                        sup->rtnl_watch = -1;
        }
}

static void on_timer(int timer, void *opaque) {
        (void) timer;
        ((struct shim_supervisor *) opaque)->check_due = true;
}

int shim_supervise_init(struct shim_supervisor *sup, struct shim_stack *stack) {
        *sup = (struct shim_supervisor){.stack = stack, .sigfd = -1, .sig_watch = -1, .timer = -1,
                                        .cb_lifecycle = -1, .cb_added = -1, .cb_removed = -1, .nft_watch = -1,
                                        .rtnl_watch = -1, .cb_qemu = -1};
        if (stack->dom)
                return shim_run_report(stack, ECL_LOG_ERROR, EBUSY,
                                       "the supervisor of %s must watch before the domain exists", stack->dom_name);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sup->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sup->sigfd < 0)
                return shim_run_report(stack, ECL_LOG_ERROR, negative_errno(), "cannot create signalfd: %m");
        sup->sig_watch = virEventAddHandle(sup->sigfd, VIR_EVENT_HANDLE_READABLE, on_signal, sup, NULL);
        sup->timer = virEventAddTimeout(SHIM_SUPERVISE_CHECK_MS, on_timer, sup, NULL);
        virConnectPtr c = stack->conn;
        sup->cb_lifecycle = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                             VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), sup, NULL);
        sup->cb_added = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                                         VIR_DOMAIN_EVENT_CALLBACK(on_device_added), sup, NULL);
        sup->cb_removed = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                                           VIR_DOMAIN_EVENT_CALLBACK(on_device_removed), sup, NULL);
        if (sup->sig_watch < 0 || sup->timer < 0 || sup->cb_lifecycle < 0 || sup->cb_added < 0 ||
            sup->cb_removed < 0)
                return shim_run_report(stack, ECL_LOG_ERROR, ECL_ESERVICE, "cannot watch domain %s: %s",
                                       stack->dom_name, shim_virt_error());
        /* before the domain exists, as the others: an event between start and resume is heard too */
        if (stack->hooks->stop_qemu_leaks) {
                sup->cb_qemu = virConnectDomainQemuMonitorEventRegister(c, NULL, NULL, on_qemu_event, sup, NULL, 0);
                if (sup->cb_qemu < 0)
                        return shim_run_report(stack, ECL_LOG_ERROR, ECL_ESERVICE, "cannot hear QEMU's monitor events of %s: %s",
                                               stack->dom_name, shim_virt_error());
        }
        return 0;
}

int shim_supervise_watch_network(struct shim_supervisor *sup) {
        struct shim_stack *s = sup->stack;
        if (s->watch.nft < 0)
                return 0;
        sup->nft_watch = virEventAddHandle(s->watch.nft, VIR_EVENT_HANDLE_READABLE, on_watch, sup, NULL);
        sup->rtnl_watch = virEventAddHandle(s->watch.rtnl, VIR_EVENT_HANDLE_READABLE, on_watch, sup, NULL);
        if (sup->nft_watch < 0 || sup->rtnl_watch < 0)
                return shim_run_report(s, ECL_LOG_ERROR, EIO, "cannot watch the network of %s", s->dom_name);
        return 0;
}

void shim_supervise_done(struct shim_supervisor *sup) {
        virConnectPtr c = sup->stack ? sup->stack->conn : NULL;
        if (c && sup->cb_lifecycle >= 0)
                virConnectDomainEventDeregisterAny(c, sup->cb_lifecycle);
        if (c && sup->cb_added >= 0)
                virConnectDomainEventDeregisterAny(c, sup->cb_added);
        if (c && sup->cb_removed >= 0)
                virConnectDomainEventDeregisterAny(c, sup->cb_removed);
        if (c && sup->cb_qemu >= 0)
                virConnectDomainQemuMonitorEventDeregister(c, sup->cb_qemu);
        if (sup->timer >= 0)
                virEventRemoveTimeout(sup->timer);
        if (sup->sig_watch >= 0)
                virEventRemoveHandle(sup->sig_watch);
        if (sup->nft_watch >= 0)
                virEventRemoveHandle(sup->nft_watch);
        if (sup->rtnl_watch >= 0)
                virEventRemoveHandle(sup->rtnl_watch);
        if (sup->sigfd >= 0)
                close(sup->sigfd);
        free(sup->pending_added);
        free(sup->pending_leak);
        free(sup->leaked);
        free(sup->destroyed);
        free(sup->violation);
        free(sup->hold_problem);
        free(sup->last_event);
        free(sup->audit_problem);
        free(sup->reload_problem);
        for (unsigned i = 0; i < sup->n_pending; i++) {
                free(sup->pending[i].event);
                free(sup->pending[i].details);
        }
        *sup = (struct shim_supervisor){.sigfd = -1};
}

void shim_supervise_request_stop(struct shim_supervisor *sup) {
        sup->quit = true;
}

void shim_supervise_request_reload(struct shim_supervisor *sup) {
        sup->reload_requested = true;
        if (sup->reload == SHIM_SUP_RELOAD_RESTARTING) /* one asked for during a restart follows it */
                return;
        sup->reload = SHIM_SUP_RELOAD_PENDING;
        free(sup->reload_problem);
        sup->reload_problem = NULL;
}

/* The reload was refused or failed: status says so, with why. */
static void reload_not_done(struct shim_supervisor *sup, enum shim_sup_reload what, const char *why) {
        sup->reload = what;
        free(sup->reload_problem);
        sup->reload_problem = why ? strdup(why) : NULL;
}

static const char *const reload_names[] = {
        [SHIM_SUP_RELOAD_PENDING] = "pending", [SHIM_SUP_RELOAD_RESTARTING] = "restarting",
        [SHIM_SUP_RELOAD_DONE] = "done",       [SHIM_SUP_RELOAD_FAILED] = "failed",
        [SHIM_SUP_RELOAD_REFUSED] = "refused",
};

const char *shim_supervise_reload_state(const struct shim_supervisor *sup) {
        return ECL_ENUM_NAME(reload_names, sup->reload);
}

/*
 * Pausing stops the guest, not QEMU: stop what QEMU sends out (a migration,
 * an export, a block job: qmp-stop.h).  When it cannot be stopped, destroy
 * the domain (QEMU's end is the stream's end); *problem then says so.
 */
static void stop_leaks(struct shim_supervisor *sup, char **problem) {
        const struct shim_run_hooks *h = sup->stack->hooks;
        struct shim_stack *s = sup->stack;
        if (!h->stop_qemu_leaks || shim_domain_active(s->dom) == 0) /* no QEMU, nothing streams */
                return;
        _cleanup_free_ char *stopped = NULL, *why = NULL;
        int r = h->stop_qemu_leaks(h->userdata, s->dom, &stopped, &why);
        if (r > 0) {
                (void) shim_run_report(s, ECL_LOG_NOTICE, 0, "domain %s: stopped what QEMU was sending out: %s",
                                       s->dom_name, stopped ? stopped : "?");
                audit(sup, "leak-stopped", stopped);
        }
        if (r >= 0)
                return;
        const char *w = why ? why : strerror(-r);
        if (virDomainDestroy(s->dom) < 0 && shim_domain_active(s->dom) != 0)
                (void) ecl_reason(problem, 0, "cannot stop what QEMU of %s sends out (%s) nor destroy it (%s)",
                                  s->dom_name, w, shim_virt_error());
        else
                (void) ecl_reason(problem, 0, "cannot stop what QEMU of %s sends out (%s); destroyed it", s->dom_name,
                                  w);
        if (!*problem)
                *problem = strdup("cannot stop what QEMU sends out");
}

/*
 * Pause the domain and keep it paused: the guest must not run past a
 * violation.  Fail closed: suspend whatever virDomainGetState says (it may
 * fail, or lag behind an outside resume); QEMU takes a suspend of a paused
 * domain as success.  Only when the suspend fails is the state asked, to
 * tell "already paused or off" (other drivers refuse to suspend those) from
 * "still running": then the domain is destroyed, and what failed is kept in
 * sup->hold_problem (status "hold-failed") and audited once.
 */
static void hold(struct shim_supervisor *sup, const char *event, const char *why) {
        struct shim_stack *s = sup->stack;
        bool first = !sup->violation;
        if (first)
                (void) ecl_reason(&sup->violation, 0, "%s", why);
        _cleanup_free_ char *problem = NULL;
        /* libvirt's own save, dump or migration would hold the pause back for 30 s: aborted first */
        if (s->hooks->stop_qemu_leaks && shim_domain_active(s->dom) == 1) {
                const char *job = NULL;
                _cleanup_free_ char *job_why = NULL;
                int r = shim_qmp_stop_libvirt_job(s->dom, &job, &job_why);
                /*
                 * Aborted or not, destroyed: libvirt clears the job's stats before
                 * its async job ends, so "over" cannot be told from "still
                 * holding every pause and QMP call back" (fail closed).
                 */
                if (r > 0 && !job_why)
                        (void) ecl_reason(&job_why, 0, "%s was running, aborted", job);
                if (r != 0) {
                        sup->check_due = true;
                        if (virDomainDestroy(s->dom) < 0 && shim_domain_active(s->dom) != 0)
                                (void) ecl_reason(&problem, 0, "cannot stop what libvirt of %s sends out (%s) nor destroy it (%s)",
                                                  s->dom_name, job_why ? job_why : strerror(-r), shim_virt_error());
                        else
                                (void) ecl_reason(&problem, 0, "cannot stop what libvirt of %s sends out (%s); destroyed it",
                                                  s->dom_name, job_why ? job_why : strerror(-r));
                        if (!problem)
                                problem = strdup("cannot stop what libvirt sends out");
                }
        }
        if (problem) {
                /* destroyed (or not even that): no pause to try */
        } else if (virDomainSuspend(s->dom) < 0) {
                _cleanup_free_ char *err = strdup(shim_virt_error());
                int state = VIR_DOMAIN_NOSTATE;
                if (virDomainGetState(s->dom, &state, NULL, 0) < 0 ||
                    (state != VIR_DOMAIN_PAUSED && state != VIR_DOMAIN_SHUTOFF)) {
                        if (virDomainDestroy(s->dom) < 0) {
                                if (asprintf(&problem, "cannot pause %s (%s) nor destroy it (%s)", s->dom_name,
                                             err ? err : "?", shim_virt_error()) < 0)
                                        problem = NULL;
                        } else if (asprintf(&problem, "cannot pause %s (%s); destroyed it", s->dom_name,
                                            err ? err : "?") < 0) {
                                problem = NULL;
                        }
                        if (!problem)
                                problem = strdup("cannot pause the domain");
                }
        }
        if (first) {
                (void) shim_run_report(s, ECL_LOG_ERROR, 0, "domain %s %s: %s", s->dom_name,
                                       problem ? "not paused" : "paused", why);
                audit(sup, event, why);
        }
        if (!problem)
                stop_leaks(sup, &problem);
        if (problem && !sup->hold_problem) {
                (void) shim_run_report(s, ECL_LOG_ERROR, 0, "after a violation (%s): %s", why, problem);
                audit(sup, "hold-failed", problem);
        } else if (!problem && sup->hold_problem) {
                (void) shim_run_report(s, ECL_LOG_NOTICE, 0, "domain %s paused now (%s)", s->dom_name, why);
        }
        /* every problem is a destroy, tried or done: the run does not end as a power-off */
        if (problem && !sup->destroyed)
                (void) ecl_reason(&sup->destroyed, 0, "%s", problem);
        free(sup->hold_problem);
        sup->hold_problem = TAKE_PTR(problem);
}

static void turn(struct shim_supervisor *sup) {
        struct shim_stack *s = sup->stack;
        if (sup->suspend_seen) {
                sup->suspend_seen = false;
                int state = VIR_DOMAIN_NOSTATE, reason = 0;
                const char *leak = NULL;
                if (virDomainGetState(s->dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED)
                        leak = shim_supervise_paused_leak(reason);
                if (leak)
                        add_leak(sup, leak);
        }
        int gone = sup->stop_seen ? shim_domain_active(s->dom) == 0 : -1; /* -1: no STOPPED event */
        /* a leak heard in the same dispatch as the stop is audited first: never lost behind the power-off */
        if (sup->pending_leak && !sup->domain_gone) {
                _cleanup_free_ char *why = NULL;
                (void) ecl_reason(&why, 0, "QEMU or libvirt says data may have left: %s", sup->pending_leak);
                free(sup->pending_leak);
                sup->pending_leak = NULL;
                (void) ecl_reason(&sup->last_event, 0, "%s", why ? why : "data may have left");
                if (gone == 1) {
                        (void) shim_run_report(s, ECL_LOG_ERROR, 0, "domain %s (stopped): %s", s->dom_name,
                                               why ? why : "data may have left");
                        audit(sup, "qemu-event", why ? why : "data may have left");
                } else {
                        hold(sup, "qemu-event", why ? why : "data may have left");
                        sup->check_due = true; /* and what QEMU has now */
                }
        }
        if (sup->stop_seen) {
                sup->stop_seen = false;
                const char *leak = sup->stop_leak;
                sup->stop_leak = NULL;
                if (gone == 1) {
                        sup->domain_gone = true;
                        sup->crashed = sup->stop_crashed;
                        if (leak) {
                                /* not a power-off: the guest's memory is in a file or on another host */
                                (void) ecl_reason(&sup->leaked, 0, "%s", leak);
                                (void) shim_run_report(s, ECL_LOG_ERROR, 0, "domain %s %s: its memory left the stack",
                                                       s->dom_name, leak);
                                audit(sup, "leak", leak);
                        }
                        return;
                }
        }
        if (sup->pending_added) {
                _cleanup_free_ char *why = NULL;
                (void) ecl_reason(&why, 0, "device added from outside: %s", sup->pending_added);
                free(sup->pending_added);
                sup->pending_added = NULL;
                (void) ecl_reason(&sup->last_event, 0, "%s", why ? why : "device added from outside");
                hold(sup, "device-added", why ? why : "device added from outside");
        }
        if (sup->check_due && !sup->domain_gone) {
                sup->check_due = false;
                if (sup->n_pending > 0)
                        (void) flush_pending(sup); /* the domain stays held: a reload resumes it */
                if (sup->violation) {
                        hold(sup, "violation", sup->violation);
                } else {
                        int active = shim_domain_active(s->dom);
                        const char *job = NULL;
                        _cleanup_free_ char *job_why = NULL;
                        /* libvirt's own save, dump or migration would hold the check's QMP calls back 30 s */
                        if (active == 1 && s->hooks->stop_qemu_leaks &&
                            shim_qmp_libvirt_job_now(s->dom, &job, &job_why) > 0) {
                                _cleanup_free_ char *why = NULL;
                                (void) ecl_reason(&why, 0, "libvirt streams the guest out: %s", job);
                                hold(sup, "violation", why ? why : "libvirt streams the guest out");
                        } else if (active == 1) {
                                sup->unknown_checks = 0;
                                _cleanup_free_ char *why = NULL;
                                if (shim_run_check_live(s, &why) < 0)
                                        hold(sup, "violation", why ? why : "live check failed");
                        } else if (active == 0) {
                                sup->unknown_checks = 0; /* not running: the loop ends below */
                        } else if (++sup->unknown_checks < SHIM_SUPERVISE_MAX_UNKNOWN) {
                                (void) shim_run_report(s, ECL_LOG_WARNING, 0,
                                                       "cannot tell whether domain %s is running (%s); check %u of %d",
                                                       s->dom_name, shim_virt_error(), sup->unknown_checks,
                                                       SHIM_SUPERVISE_MAX_UNKNOWN);
                        } else {
                                _cleanup_free_ char *why = NULL;
                                (void) ecl_reason(&why, 0,
                                                  "libvirt cannot tell whether the domain runs (%s), %u checks in a "
                                                  "row: nothing is checked any more",
                                                  shim_virt_error(), sup->unknown_checks);
                                hold(sup, "violation", why ? why : "libvirt cannot tell whether the domain runs");
                        }
                }
                virEventUpdateTimeout(sup->timer, SHIM_SUPERVISE_CHECK_MS);
        }
        if (sup->reload_requested && !sup->quit && s->watch.nft >= 0 && (sup->nft_watch < 0 || sup->rtnl_watch < 0)) {
                /* a watch that failed stays failed: a reload would run the guest unwatched */
                sup->reload_requested = false;
                (void) shim_run_report(s, ECL_LOG_ERROR, 0,
                                       "not reloading %s: its network is no longer watched (stop and run it again)",
                                       s->dom_name);
                audit(sup, "reload-refused", "the network watch failed");
                reload_not_done(sup, SHIM_SUP_RELOAD_REFUSED,
                                "its network is no longer watched (stop and run it again)");
        }
        if (!sup->reload_requested || sup->quit)
                return;
        sup->reload_requested = false;
        /* nothing may run that the audit log cannot tell: the records pending first, then the reload's */
        if (flush_pending(sup) >= 0)
                audit(sup, "reload", NULL);
        if (sup->n_pending > 0 || sup->audit_problem) {
                (void) shim_run_report(s, ECL_LOG_ERROR, 0, "not reloading %s: %s", s->dom_name,
                                       sup->audit_problem ? sup->audit_problem
                                                          : "an audit record could not be written");
                reload_not_done(sup, SHIM_SUP_RELOAD_REFUSED,
                                sup->audit_problem ? sup->audit_problem : "an audit record could not be written");
                return;
        }
        sup->reload = SHIM_SUP_RELOAD_RESTARTING; /* status may be asked while the old guest shuts down */
        int r = shim_run_restart(s);
        if (r < 0) {
                (void) shim_run_report(s, ECL_LOG_ERROR, r, "reload of %s failed; the domain stays stopped",
                                       s->dom_name);
                _cleanup_free_ char *why = NULL;
                (void) ecl_reason_errno(&why, r, "the restart failed; the domain stays stopped");
                reload_not_done(sup, SHIM_SUP_RELOAD_FAILED, why ? why : "the restart failed");
                sup->domain_gone = true;
                sup->crashed = true;
        } else {
                reload_not_done(sup, sup->reload_requested ? SHIM_SUP_RELOAD_PENDING : SHIM_SUP_RELOAD_DONE, NULL);
                free(sup->violation);
                sup->violation = NULL;
                free(sup->hold_problem);
                sup->hold_problem = NULL;
                free(sup->destroyed);
                sup->destroyed = NULL;
                sup->unknown_checks = 0;
                sup->domain_gone = false;
                sup->crashed = false;
                sup->stop_crashed = false;
        }
}

static void stop_wait_over(int timer, void *opaque) {
        (void) timer;
        *(bool *) opaque = true;
}

/* Run the event loop until the STOPPED event is in, at most SHIM_SUPERVISE_STOP_EVENT_MS. */
static void wait_stop_event(struct shim_supervisor *sup) {
        bool over = false;
        int t = virEventAddTimeout(SHIM_SUPERVISE_STOP_EVENT_MS, stop_wait_over, &over, NULL);
        if (t < 0)
                return;
        while (!sup->stop_seen && !over)
                if (virEventRunDefaultImpl() < 0)
                        break;
        virEventRemoveTimeout(t);
}

bool shim_supervise_iterate(struct shim_supervisor *sup) {
        if (sup->quit || sup->domain_gone)
                return false;
        if (virEventRunDefaultImpl() < 0) {
                (void) shim_run_report(sup->stack, ECL_LOG_ERROR, 0, "event loop failed: %s", shim_virt_error());
                sup->quit = true;
                return false;
        }
        turn(sup);
        /* an event may have been missed: ask libvirt directly */
        if (!sup->domain_gone && shim_domain_active(sup->stack->dom) == 0) {
                /* its STOPPED event says how (saved, migrated: a leak), a transient domain nothing else */
                wait_stop_event(sup);
                turn(sup);
                sup->domain_gone = true;
        }
        return !sup->quit && !sup->domain_gone;
}

enum shim_sup_exit shim_supervise_exit_of(const struct shim_supervisor *sup) {
        /* a leak first: a stop requested meanwhile does not make it a clean end */
        if (sup->leaked)
                return SHIM_SUP_DOMAIN_LEAKED;
        if (sup->destroyed)
                return SHIM_SUP_DOMAIN_DESTROYED;
        if (sup->quit)
                return SHIM_SUP_STOP_REQUESTED;
        return sup->crashed ? SHIM_SUP_DOMAIN_CRASHED : SHIM_SUP_DOMAIN_STOPPED;
}

int shim_supervise_exit_why(const struct shim_supervisor *sup, enum shim_sup_exit e, char **ret_why) {
        switch (e) {
        case SHIM_SUP_STOP_REQUESTED: return ecl_reason(ret_why, 0, "stop requested");
        case SHIM_SUP_DOMAIN_STOPPED: return ecl_reason(ret_why, 0, "guest powered off");
        case SHIM_SUP_DOMAIN_LEAKED:
                return ecl_reason(ret_why, 0, "memory left: %s", sup && sup->leaked ? sup->leaked : "?");
        case SHIM_SUP_DOMAIN_DESTROYED:
                return ecl_reason(ret_why, 0, "destroyed: %s", sup && sup->destroyed ? sup->destroyed : "?");
        case SHIM_SUP_DOMAIN_CRASHED:
        default: return ecl_reason(ret_why, 0, "domain crashed");
        }
}

enum shim_sup_exit shim_supervise_loop(struct shim_supervisor *sup) {
        while (shim_supervise_iterate(sup))
                ;
        return shim_supervise_exit_of(sup);
}

const char *shim_supervise_state(const struct shim_supervisor *sup) {
        if (sup->domain_gone)
                return "stopped";
        if (sup->hold_problem)
                return "hold-failed";
        if (sup->violation && sup->audit_problem)
                return "held-unaudited";
        if (sup->violation)
                return "held";
        int state = VIR_DOMAIN_NOSTATE;
        if (!sup->stack->dom || virDomainGetState(sup->stack->dom, &state, NULL, 0) < 0)
                return "unknown";
        switch (state) {
        case VIR_DOMAIN_RUNNING: return "running";
        case VIR_DOMAIN_PAUSED: return "paused";
        case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
        case VIR_DOMAIN_SHUTOFF: return "stopped";
        case VIR_DOMAIN_CRASHED: return "crashed";
        default: return "unknown";
        }
}
