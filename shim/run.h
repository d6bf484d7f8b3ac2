/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Bringing a stack up and down on a libvirt connection, in the order of
 * DESIGN.md invariant 3:
 *
 *   up:   uplink (a veth pair: inner end beside the tap, outer end on the
 *         operator's bridge, netns.h), tap, then the policy (nftables on both,
 *         which forwards what it accepts between them: loaded, watched and read
 *         back from the kernel and checked, in a thread, run-policy.h) while
 *         the domain is created (transient) and started PAUSED in one call
 *         (virDomainCreateXML); then wait for the policy,
 *         read the live XML back and check it is cut, read the watch, resume.
 *         Any failure of either undoes what was done: no domain, no tap, no
 *         rule remain.
 *   down: ACPI shutdown with a timeout, destroy (the domain is gone), remove policy,
 *         remove tap and uplink.
 *
 * What other modules do (domain XML, its check, the nftables policy,
 * audit records) comes in through struct shim_run_hooks, which cmd-run.c
 * fills with the real implementations.  The libvirt connection must have an
 * event loop (virEventRegisterDefaultImpl) before shim_run_connect().
 */
#include <libvirt/libvirt.h>
#include <net/if.h>
#include <stdbool.h>

#include "console-log.h"
#include "log.h"
#include "manifest.h"
#include "watch.h"

struct shim_run_hooks {
        void *userdata;
        /* Resolve m's accelerator and build the domain XML; *ret_accel is KVM or TCG. */
        int (*domain_xml)(void *ud, const struct ecl_manifest *m, enum ecl_accel *ret_accel, char **ret_xml);
        /* 0 if the (live) XML is cut; -EPERM with *ret_violation otherwise. */
        int (*check_cut)(void *ud, const char *xml, const char *tap, char **ret_violation);
        /*
         * 0 if what the domain's QEMU has (asked over QMP: qmp-check.h) is what
         * the live XML declares; -EPERM (or another error) with *ret_violation.
         * NULL: not asked (a connection without a QEMU monitor).
         */
        int (*check_qemu)(void *ud, virDomainPtr dom, const char *xml, char **ret_violation);
        /*
         * At every hold: stop what QEMU is sending out through its monitor
         * (qmp-stop.h): 0 nothing was, 1 stopped (*ret_stopped says what), < 0
         * still going or unknown (*ret_why): the supervisor destroys the
         * domain.  NULL: not asked, and QEMU's monitor events are not heard.
         */
        int (*stop_qemu_leaks)(void *ud, virDomainPtr dom, char **ret_stopped, char **ret_why);
        /*
         * Right before each start of the domain (at a reload the old one is
         * destroyed by then): where the new boot's console output begins in
         * console.log (console-pipe.h).  1 and *ret, 0 when the console is
         * not logged, or a negative errno (the start goes on, without a
         * mark: status then shows none).  NULL: no mark.
         */
        int (*console_mark)(void *ud, struct shim_console_mark *ret);
        int (*policy_load)(void *ud, const struct ecl_manifest *m);
        /* 0 if the policy in the kernel is m's; -EPERM (or another error) with *ret_problem. */
        int (*policy_verify)(void *ud, const struct ecl_manifest *m, char **ret_problem);
        /* Remove the stack's policy; 0 also when there is none. */
        int (*policy_remove)(void *ud, const char *stack);
        /* One audit record (details may be NULL): 0 once it is in the log, or a negative errno. */
        int (*audit)(void *ud, const char *event, const char *subject, const char *details);
        /*
         * One line for the operator (no newline): why bringing the stack up or
         * down failed (ECL_LOG_ERROR, once per failure), and the events of the
         * stack and its supervisor (a violation, a held guest, something left
         * by an earlier run removed: warning or notice).  This code prints
         * nothing itself: cmd-run.c prints the line, the agent's daemon will
         * send it to syslog and its audit log.  NULL: debug log only.
         */
        void (*report)(void *ud, enum ecl_log_level level, const char *text);
};

struct shim_run_opts {
        uid_t tap_owner;           /* QEMU's user, (uid_t) -1 for none */
        gid_t tap_group;
        unsigned tap_mtu;          /* 0: kernel default */
        unsigned shutdown_timeout_s; /* ACPI shutdown before destroy */
        /*
         * A running domain of the stack found at start was left by a killed
         * supervisor: destroy it and start afresh.  Right for the embedded
         * driver (its root opens in one process only, so nobody else manages
         * that domain); on shared connections a running domain is refused.
         */
        bool replace_orphan;
        /*
         * Where the uplink's outer end goes when outer_elsewhere: an fd of
         * that network namespace and an rtnetlink socket opened there
         * (netdev.h).  Otherwise it stays beside the tap (qemu:///system:
         * libvirtd's namespace).
         */
        bool outer_elsewhere;
        int outer_netns, outer_nl;
};

struct shim_stack {
        const struct ecl_manifest *m;
        const struct shim_run_hooks *hooks;
        struct shim_run_opts opts;
        char *uri;
        virConnectPtr conn;
        virDomainPtr dom;
        char *dom_name;
        char tap[IFNAMSIZ];
        char uplink[IFNAMSIZ], outer[IFNAMSIZ]; /* the uplink's ends (names.h) */
        int tap_queue;          /* ecluse's disabled queue of the tap, kept while it lives (tap.h); -1: none */
        enum ecl_accel accel;
        bool tap_created, uplink_created, policy_loaded;
        /*
         * Starts of the domain: 1 after the first, one more at each restart
         * (a reload); with has_console_mark, where that boot's console
         * output begins (hooks->console_mark).
         */
        uint64_t boot;
        bool has_console_mark;
        struct shim_console_mark console_mark;
        struct shim_watch watch; /* outside changes to tap, uplink and table; open once the policy is loaded */
};

/* Fill s (nothing is created yet). */
int shim_stack_init(struct shim_stack *s, const struct ecl_manifest *m, const struct shim_run_hooks *hooks,
                    const struct shim_run_opts *opts);
/* Close the connection and free; does not tear anything down. */
void shim_stack_done(struct shim_stack *s);

/* Open the connection; -EHOSTUNREACH (exit 69) with the libvirt message when it cannot. */
int shim_run_connect(struct shim_stack *s, const char *uri);

/*
 * Bring the stack up (see above).  -EBUSY if its domain is running already
 * (and opts.replace_orphan is false).
 * On failure everything this call made is removed again.
 */
int shim_run_up(struct shim_stack *s);

/*
 * Start the domain again (the `reload` of the control socket: the current
 * release): shut down/destroy the running domain, load the policy again (one
 * transaction: a policy changed from outside is replaced), create and start
 * paused, verify, resume.  Tap and uplink stay in place throughout.
 */
int shim_run_restart(struct shim_stack *s);

/*
 * Stop the guest: ACPI shutdown, waiting up to the timeout while running
 * the event loop, then destroy.  Leaves tap and policy.
 */
int shim_run_stop_domain(struct shim_stack *s);

/* Destroy (if active), remove policy and tap: whatever exists. Returns the first error. */
int shim_run_teardown(struct shim_stack *s);

/*
 * Read the live XML and check it is cut, that QEMU has nothing it does not
 * declare (hooks->check_qemu), and that the policy is in place: 0, or -EPERM
 * with *ret_why.
 */
int shim_run_check_live(struct shim_stack *s, char **ret_why);

/*
 * virDomainIsActive(), with a domain libvirt no longer knows (a transient
 * domain that stopped) as 0: 1 running, 0 not, -1 libvirt cannot say.
 */
int shim_domain_active(virDomainPtr dom);

/*
 * Format a line ("%m" is strerror(err)) and hand it to s->hooks->report (the
 * debug log without one).  Returns -abs(err), -EIO for 0, so that
 * `return shim_run_report(s, ECL_LOG_ERROR, r, "...: %m")` reads as one step.
 */
int shim_run_report(const struct shim_stack *s, enum ecl_log_level level, int err, const char *fmt, ...) _printf_(4, 5);

/* The last libvirt error message, or "unknown libvirt error". */
const char *shim_virt_error(void);
