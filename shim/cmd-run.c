/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run MANIFEST [--connect URI] [--shutdown-timeout SECONDS] [--console-cap KIB]: the foreground
 * supervisor of one stack (what the systemd unit runs).  This file wires the
 * other modules in (domain, policy, audit, control socket, sandbox); bringing
 * the stack up and down is in run.c, the event loop in supervise.c.
 *
 * The order, one step function each (step_*, 0 or a negative errno), run()
 * calling them in this order:
 *
 *   1. signals     SIGTERM and SIGINT blocked before any thread exists (libvirt
 *                  starts some): the supervisor reads them from a signalfd;
 *   2. manifest    loaded and checked (exit 65/66 with every problem), its file
 *                  named STACK.yaml for its stack (65: a unit never starts another);
 *   3. state       the audit log's path, the state directory made;
 *   4. control     the control socket bound (a second supervisor of the stack
 *                  is refused here, 73): giving it to the control group needs
 *                  CAP_CHOWN, which the remote profile drops;
 *   5. notify      $NOTIFY_SOCKET connected (sd-notify.h), before the stack's
 *                  namespace (an abstract address is per network namespace)
 *                  and the filter (send(2) is not on its deny list); sent to
 *                  at 13 and 15 only;
 *   6. netns       the stack's own network namespace (embedded driver), entered
 *                  while CAP_SYS_ADMIN is still there and no thread exists;
 *   7. caps        capabilities dropped to the profile's set (per thread: while
 *                  this is the only one);
 *   8. seccomp     the filter, before libvirt starts a thread or forks QEMU
 *                  (sandbox.h): everything below runs under it;
 *   9. libvirt     its event loop, the connection URI, the files the VM opens
 *                  checked (invariant 1) before a tap or a rule exists, QEMU's
 *                  identity (the stack's own uid and gid under the embedded
 *                  driver);
 *  10. connect     the connection opened, the run-start record written (nothing
 *                  starts that the audit log cannot tell: 74);
 *  11. watch       the domain's events registered before it exists (a hot-plug
 *                  while it is paused is seen too);
 *  12. up          run.c, DESIGN.md invariant 3: uplink and tap, the policy
 *                  loaded while the domain is defined (transient) and started
 *                  PAUSED, the live XML, QEMU's devices and the policy verified,
 *                  resumed; then its network watched.  A failure tears down
 *                  whatever was made: no domain, tap or rule remain;
 *  13. ready       the control socket answers in the event loop; READY=1
 *                  (and a STATUS= naming the stack) to the service manager:
 *                  the guest runs, its cut and its policy verified;
 *  14. supervise   the event loop until a stop, a power-off or a crash;
 *  15. teardown    STOPPING=1, ACPI shutdown then destroy, policy, tap and
 *                  uplink removed, the stop record.
 */
#include <errno.h>
#include <inttypes.h>
#include <libvirt/virterror.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"
#include "audit-log.h"
#include "commands.h"
#include "console-pipe.h"
#include "control.h"
#include "domain-check.h"
#include "domain.h"
#include "libvirt-embed.h"
#include "fileio.h"
#include "log.h"
#include "reason.h"
#include "manifest.h"
#include "netdev.h"
#include "netns.h"
#include "paths.h"
#include "policy.h"
#include "names.h"
#include "qemu-id.h"
#include "qmp-check.h"
#include "qmp-stop.h"
#include "run.h"
#include "sandbox.h"
#include "sd-notify.h"
#include "stack-conf.h"
#include "strparse.h"
#include "run-status.h"
#include "supervise.h"



#define DEFAULT_SHUTDOWN_TIMEOUT_S 30

struct run_ctx {
        /* what the hooks and the control socket use */
        const char *root;
        char *audit_path;
        struct shim_supervisor *sup;    /* &supervisor once step_watch registered it */
        struct shim_control *control;
        uint64_t console_cap;           /* bytes per console log file */
        struct shim_console *console;   /* opened before the first start, kept across reloads */
        struct pol_image *policy_image; /* what the last load sent: verify compares the kernel's table with it */
        uid_t qemu_id;                  /* the stack's own QEMU uid and gid (qemu-id.h), 0 under qemu:///system */
        const char *stack, *dom_name;   /* with qemu_id: whose pidfile h_check_cut reads */

        /* what the steps hand on, in their order */
        const struct ecl_cli *cli;
        const char *manifest_path;
        unsigned shutdown_timeout;
        struct ecl_manifest *m;
        char *state_dir;
        int host_netns, host_nl;        /* the host's namespace and a netlink socket there, -1 without */
        enum shim_sandbox_profile profile;
        char *uri;
        bool embed;
        struct shim_run_hooks hooks;
        struct shim_run_opts opts;
        struct shim_stack s;
        bool stack_init;
        struct shim_supervisor supervisor;
        int control_watch;
        int notify_fd;                  /* connected to $NOTIFY_SOCKET (sd-notify.h), -1 without */
        enum shim_sup_exit exit_reason;
        int exit_status;                /* when not 0: run's exit status, whatever the step's errno says */
};

static void run_ctx_done(struct run_ctx *c) {
        if (c->sup)
                shim_supervise_done(c->sup);
        if (c->stack_init)
                shim_stack_done(&c->s);
        shim_console_free(c->console);
        free(c->uri);
        closep(&c->notify_fd);
        closep(&c->host_nl);
        closep(&c->host_netns);
        shim_control_free(c->control);
        free(c->state_dir);
        free(c->audit_path);
        shim_policy_image_free(c->policy_image);
        ecl_manifest_free(c->m);
}

/* ---- hooks: the other modules ------------------------------------------ */

/* What the stack, its supervisor and the console say (run.h, console-pipe.h): one line, as any command's. */
static void h_report(void *ud, enum ecl_log_level level, const char *text) {
        (void) ud;
        (void) ecl_log_errno(level, 0, "%s", text);
}

static int h_domain_xml(void *ud, const struct ecl_manifest *m, enum ecl_accel *ret_accel, char **ret_xml) {
        struct run_ctx *c = ud;
        struct shim_domain_opts o = {.root = c->root, .qemu_id = c->qemu_id};
        _cleanup_free_ char *reason = NULL;
        int r = shim_accel_resolve(m->vm.accel, SHIM_ACCEL_PROBE_TIMEOUT_MS, &o.accel, &reason);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(reason, r));
        if (reason)
                log_warning("%s", reason);
        /* The stack's own QEMU identity is in no group: udev's kvm group does not reach it. */
        if (o.accel == ECL_ACCEL_KVM && c->qemu_id) {
                _cleanup_free_ char *acl_why = NULL;
                r = shim_qemu_id_allow_kvm(SHIM_KVM_DEVICE, c->qemu_id, &acl_why);
                if (r < 0)
                        return log_error_errno(r, "stack %s: its QEMU (uid %u) cannot be given %s: %s", m->stack,
                                               (unsigned) c->qemu_id, SHIM_KVM_DEVICE, ecl_reason_text(acl_why, r));
        }
        /* the stack's directory, no planted console.log; the serial FIFO read before libvirt opens it */
        if (m->console == ECL_CONSOLE_LOG && !c->console) {
                _cleanup_free_ char *why = NULL;
                r = shim_console_open(c->root, m->stack, c->console_cap, &c->console, &why);
                if (r >= 0) {
                        c->console->report = h_report;
                        r = shim_console_watch(c->console, &why);
                }
                if (r < 0)
                        log_error("%s", ecl_reason_text(why, r));
        } else {
                _cleanup_free_ char *why = NULL;
                r = shim_console_prepare(c->root, m->stack, NULL, &why);
                if (r < 0)
                        log_error("%s", ecl_reason_text(why, r));
        }
        if (r < 0)
                return r;
        /* Invariant 1: the files the domain names resolve in the stack's own tree, now (and at each reload). */
        struct ecl_diags diags = {0};
        r = ecl_manifest_check_files(m, c->root, false, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(-r, "stack %s: the files its VM opens are refused", m->stack);
        _cleanup_free_ char *why = NULL;
        r = shim_domain_render(m, &o, ret_xml, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        *ret_accel = o.accel;
        return 0;
}

static int h_check_cut(void *ud, const char *xml, const char *tap, char **ret_violation) {
        struct run_ctx *c = ud;
        /* The live XML may come from a remote libvirtd: no DTD, no entities, size-limited.  Parsed once. */
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        int r = shim_domain_parse_xml(xml, &doc, ret_violation);
        if (r >= 0)
                r = shim_domain_check_cut(doc, tap, ret_violation);
        if (r < 0 || !c->qemu_id)
                return r;
        r = shim_domain_check_identity(doc, c->qemu_id, ret_violation);
        if (r < 0)
                return r;
        /* and what the kernel says QEMU runs as */
        pid_t pid;
        r = shim_embed_qemu_pid(c->root, c->stack, c->dom_name, &pid);
        if (r < 0) {
                if (asprintf(ret_violation, "cannot read the pid of QEMU from libvirt's pidfile (%s)", strerror(-r)) < 0)
                        *ret_violation = NULL;
                return -EPERM;
        }
        return shim_qemu_id_check_process(pid, c->qemu_id, ret_violation);
}

static int h_check_qemu(void *ud, virDomainPtr dom, const char *xml, char **ret_violation) {
        (void) ud;
        return shim_qmp_check(dom, xml, ret_violation);
}

static int h_stop_qemu_leaks(void *ud, virDomainPtr dom, char **ret_stopped, char **ret_why) {
        (void) ud;
        return shim_qmp_stop_leaks(dom, ret_stopped, ret_why);
}

/* Where the boot about to start begins in console.log: the FIFO drained first (the old QEMU is gone). */
static int h_console_mark(void *ud, struct shim_console_mark *ret) {
        struct run_ctx *c = ud;
        if (!c->console)
                return 0;
        _cleanup_free_ char *why = NULL;
        int r = shim_console_mark(c->console, ret, &why);
        if (r < 0) {
                log_warning("no console mark for this boot (status shows none): %s", ecl_reason_text(why, r));
                return r;
        }
        return 1;
}

static int h_policy_load(void *ud, const struct ecl_manifest *m) {
        struct run_ctx *c = ud;
        struct pol_image *img = NULL;
        _cleanup_free_ char *why = NULL;
        int r = shim_policy_load_image(m, &img, &why);
        shim_policy_image_free(c->policy_image);
        c->policy_image = img; /* NULL when the load failed: verify then rebuilds it from the manifest */
        if (r < 0)
                log_error("%s", ecl_reason_text(why, r));
        return r;
}
static int h_policy_verify(void *ud, const struct ecl_manifest *m, char **ret_problem) {
        struct run_ctx *c = ud;
        return shim_policy_verify_image(m, c->policy_image, ret_problem);
}
static int h_policy_remove(void *ud, const char *stack) {
        (void) ud;
        _cleanup_free_ char *why = NULL;
        int r = shim_policy_remove(stack, &why);
        if (r < 0)
                log_error("%s", ecl_reason_text(why, r));
        return r;
}

/* The single audit call site of the supervisor (which holds the domain when a record fails, supervise.h). */
static int h_audit(void *ud, const char *event, const char *subject, const char *details) {
        struct run_ctx *c = ud;
        json_t *d = details ? json_pack("{s:s}", "detail", details) : NULL;
        if (details && !d)
                return log_oom();
        _cleanup_free_ char *why = NULL;
        struct ecl_audit_repair repair;
        int r = ecl_audit_append(c->audit_path, ECL_AUDIT_SELF_ACTOR, event, subject, d, NULL, &repair, &why);
        json_decref(d);
        if (repair.kind != ECL_AUDIT_REPAIR_NONE)
                log_warning("%s: %s", c->audit_path, repair.text);
        if (r < 0)
                log_warning("audit record %s for %s not written: %s", event, subject, ecl_reason_text(why, r));
        return r;
}

/* ---- control socket: status, stop, reload ------------------------------- */

static int control_handler(const char *request, const struct shim_control_peer *peer, json_t **ret, void *ud) {
        struct run_ctx *c = ud;
        const char *stack = c->sup->stack->m->stack;
        if (streq(request, "status")) {
                json_t *o = NULL;
                int r = shim_supervise_status_json(c->sup, &o);
                if (r < 0)
                        return r;
                json_t *console = shim_status_console_json(&c->s, c->console ? c->console->log.generation : 0);
                if (!console || json_object_set_new(o, "console", console) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }
                _cleanup_free_ char *caps = NULL, *seccomp = NULL;
                if (shim_sandbox_describe(&caps, &seccomp) >= 0) {
                        json_object_set_new(o, "capabilities", json_string(caps));
                        json_object_set_new(o, "seccomp", json_string(seccomp));
                }
                *ret = o;
                return 0;
        }
        if (!peer->privileged)
                return -EPERM;
        if (streq(request, "stop")) {
                log_notice("stop requested on the control socket (uid %u, pid %d)", (unsigned) peer->uid,
                           (int) peer->pid);
                shim_supervise_request_stop(c->sup);
        } else if (streq(request, "reload")) {
                log_notice("reload requested on the control socket (uid %u, pid %d)", (unsigned) peer->uid,
                           (int) peer->pid);
                shim_supervise_request_reload(c->sup);
        } else {
                return -EINVAL;
        }
        *ret = json_pack("{s:s,s:s,s:s}", "stack", stack, "request", request, "state",
                         streq(request, "stop") ? "stopping" : "reloading");
        return *ret ? 0 : -ENOMEM;
}

static void on_control(int watch, int fd, int events, void *opaque) {
        (void) watch, (void) fd, (void) events;
        struct run_ctx *c = opaque;
        _cleanup_free_ char *why = NULL;
        int r = shim_control_handle(c->control, control_handler, c, &why);
        if (r < 0)
                log_warning("control socket failed: %s", ecl_reason_text(why, r));
}

/* ---- the command ------------------------------------------------------- */

/* libvirt prints every error by default; ours name the step instead (shim_virt_error()). */
static void quiet_virt_errors(void *ud, virErrorPtr err) {
        (void) ud, (void) err;
}

enum { OPT_SHUTDOWN_TIMEOUT = 1, OPT_CONSOLE_CAP };

/* *manifest: the operand, a stack's name resolved to its configured manifest (stack-conf.h); caller frees. */
static int parse_args(const struct ecl_cli *cli, int argc, char **argv, char **manifest, unsigned *timeout,
                      uint64_t *console_kib) {
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        long long v;
        while ((c = ecl_cli_next(&p)) > 0) {
                int r = 0;
                if (c == OPT_CONSOLE_CAP && (r = ecl_cli_number(&p, "console-cap", SHIM_CONSOLE_CAP_MIN_KIB,
                                                               (long long) SHIM_CONSOLE_CAP_MAX_KIB, &v)) >= 0)
                        *console_kib = (uint64_t) v;
                else if (c == OPT_SHUTDOWN_TIMEOUT && (r = ecl_cli_number(&p, "shutdown-timeout", 0, 3600, &v)) >= 0)
                        *timeout = (unsigned) v;
                if (r < 0)
                        return r;
        }
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        return shim_stack_conf_resolve(cli->root, argv[p.ind], manifest) < 0 ? log_oom() : 0;
}

/*
 * The unit of one stack never starts another: the manifest's file is named
 * for its stack (STACK.yaml), checked before anything is made.  0 or 65.
 */
static int refuse_misnamed(const char *path, const struct ecl_manifest *m) {
        _cleanup_free_ char *why = NULL;
        int r = shim_stack_conf_check_name(path, m->stack, &why);
        if (r < 0)
                return log_error_errno(r, "%s: %s", path, ecl_reason_text(why, r));
        return 0;
}

/* QEMU's user (Debian libvirt-qemu, RHEL qemu) owns the tap. */
static void qemu_user(uid_t *uid, gid_t *gid) {
        *uid = (uid_t) -1;
        *gid = (gid_t) -1;
        const char *names[] = {"libvirt-qemu", "qemu"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                struct passwd *pw = getpwnam(names[i]);
                if (pw) {
                        *uid = pw->pw_uid;
                        *gid = pw->pw_gid;
                        return;
                }
        }
}

static int exit_for(enum shim_sup_exit e) {
        switch (e) {
        case SHIM_SUP_STOP_REQUESTED:
        case SHIM_SUP_DOMAIN_STOPPED:
                return EX_OK;
        case SHIM_SUP_DOMAIN_LEAKED:
                return EX_NOPERM; /* 77: the guest's memory left the stack (migrated, saved) */
        case SHIM_SUP_DOMAIN_DESTROYED: /* by the supervisor: a leak it could not stop, a failed pause */
        default:
                return EX_SOFTWARE;
        }
}

/* ---- the steps, in their order ------------------------------------------- */

/* A step whose exit status is not what its errno says (ecl_exit_status()). */
static int fail_with(struct run_ctx *c, int status, int r) {
        c->exit_status = status;
        return r;
}

static int step_signals(struct run_ctx *c) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return fail_with(c, EX_OSERR, negative_errno());
        return 0;
}

static int step_manifest(struct run_ctx *c) {
        struct ecl_diags diags = {0};
        log_debug("run: loading %s", c->manifest_path);
        int r = ecl_manifest_load_file(c->manifest_path, &c->m, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return r;
        /* The unit of one stack never starts another: STACK.yaml holds stack STACK. */
        return refuse_misnamed(c->manifest_path, c->m);
}

static int step_state(struct run_ctx *c) {
        if (ecl_path(&c->audit_path, c->root, ECL_AUDIT_LOG) < 0 || ecl_path(&c->state_dir, c->root, ECL_STATE_DIR) < 0)
                return fail_with(c, EX_OSERR, -ENOMEM);
        _cleanup_free_ char *why = NULL;
        int r = ecl_mkdir_below(c->root, ECL_STATE_DIR, 0755, NULL, NULL, NULL, &why); /* root: no link followed */
        if (r < 0)
                log_error("%s", ecl_reason_text(why, r));
        return r;
}

/* It starts no thread. */
static int step_control(struct run_ctx *c) {
        _cleanup_free_ char *group_why = NULL, *why = NULL;
        gid_t group = shim_control_default_group(&group_why);
        if (group_why)
                log_warning("%s", group_why);
        int r = shim_control_listen(c->root, c->m->stack, group, &c->control, &why);
        if (r == -EBUSY)
                return log_error_errno(r, "stack %s is already supervised (its control socket answers)", c->m->stack);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        return 0;
}

/*
 * Connected now, sent to once the stack is up and when it goes down: an
 * abstract address is reachable only from the network namespace it was made
 * in, which the shim leaves next.  Not a reason to refuse to run: the unit
 * (Type=notify) then times out, and the warning says why.
 */
static int step_notify(struct run_ctx *c) {
        _cleanup_free_ char *why = NULL;
        int r = ecl_notify_open(getenv(ECL_NOTIFY_SOCKET_ENV), &c->notify_fd, &why);
        if (r < 0)
                log_warning("%s: the service manager is not told when the stack is up", ecl_reason_text(why, r));
        (void) unsetenv(ECL_NOTIFY_SOCKET_ENV); /* libvirt and QEMU are not the service */
        return 0;
}

static void notify(struct run_ctx *c, const char *state) {
        _cleanup_free_ char *why = NULL;
        int r = ecl_notify_send(c->notify_fd, state, &why);
        if (r < 0)
                log_warning("%s", ecl_reason_text(why, r));
}

/*
 * Under the embedded driver the stack gets a network namespace of its own
 * (netns.h), entered now, before libvirt starts a thread or forks QEMU and
 * while CAP_SYS_ADMIN is still there.  The uplink's outer end is made
 * later through a socket and a namespace fd kept from the host's.
 */
static int step_netns(struct run_ctx *c) {
        const char *connect = c->cli->connect;
        bool embed_uri = !connect || shim_uri_is_embed(connect);
        if (c->m->has_network && embed_uri) {
                _cleanup_free_ char *pin = NULL, *why = NULL;
                int r = shim_netns_pin_path(c->root, c->m->stack, &pin);
                if (r >= 0)
                        r = shim_netns_unpin(pin, &why); /* a stale one: its shim is gone (the control socket said so) */
                if (r >= 0) {
                        c->host_nl = shim_netdev_open();
                        r = c->host_nl < 0 ? ecl_reason_errno(&why, c->host_nl, "cannot open rtnetlink")
                                           : shim_netns_create(pin, &c->host_netns, &why);
                }
                if (r < 0)
                        return log_error_errno(r, "%s", ecl_reason_text(why, r));
        }
        if (c->m->has_network && !embed_uri)
                log_warning("stack %s: under %s the tap and the uplink stay in libvirtd's network namespace, not one "
                            "of the stack's own: only the policy stands between the guest and that namespace's "
                            "stack (status shows network_namespace: host)",
                            c->m->stack, connect);
        log_debug("run: control socket and network namespace made");
        return 0;
}

/* Capabilities are per thread: dropped while this is the only one. */
static int step_caps(struct run_ctx *c) {
        c->profile = shim_sandbox_profile_for_uri(c->cli->connect);
        size_t n_caps;
        const cap_value_t *caps = shim_sandbox_caps(c->profile, &n_caps);
        _cleanup_free_ char *why = NULL;
        int r = shim_sandbox_drop_caps(caps, n_caps, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        return 0;
}

/* And the filter now, before libvirt starts a thread or forks the first QEMU (sandbox.h). */
static int step_seccomp(struct run_ctx *c) {
#if defined(__SANITIZE_ADDRESS__)
        /* LeakSanitizer stops the world with ptrace at exit, which the filter refuses: it checks now instead. */
        __lsan_do_leak_check();
#endif
        _cleanup_free_ char *why = NULL;
        int r = shim_sandbox_seccomp(c->profile, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                /* The filter is fixed, built from our own table: libseccomp refusing it (its -EINVAL,
                 * -EFAULT, -EOPNOTSUPP) or the kernel not synchronising a thread is a bug of ours, 70,
                 * not a usage error; only memory is what its errno says. */
                return r == -ENOMEM ? r : fail_with(c, EX_SOFTWARE, r);
        }
        return 0;
}

static int step_libvirt(struct run_ctx *c) {
        virSetErrorFunc(NULL, quiet_virt_errors);
        if (virEventRegisterDefaultImpl() < 0) {
                log_error("cannot set up libvirt's event loop: %s", shim_virt_error());
                return -ECL_ESERVICE; /* 69, like every libvirt failure */
        }
        const struct ecl_manifest *m = c->m;
        _cleanup_free_ char *why = NULL;
        int r = shim_connect_uri(c->root, m->stack, c->cli->connect, &c->uri, &c->embed, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        /* Invariant 1 before libvirt, a tap or a rule exists; h_domain_xml() checks again at each start. */
        struct ecl_diags diags = {0};
        r = ecl_manifest_check_files(m, c->root, false, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return r;

        c->hooks = (struct shim_run_hooks){
                .userdata = c, .domain_xml = h_domain_xml, .check_cut = h_check_cut,
                .check_qemu = h_check_qemu,
                .stop_qemu_leaks = h_stop_qemu_leaks, .console_mark = h_console_mark,
                .policy_load = h_policy_load, .policy_verify = h_policy_verify,
                .policy_remove = h_policy_remove, .audit = h_audit, .report = h_report,
        };
        c->opts = (struct shim_run_opts){.shutdown_timeout_s = c->shutdown_timeout, .replace_orphan = c->embed,
                                         .outer_elsewhere = c->host_netns >= 0, .outer_netns = c->host_netns,
                                         .outer_nl = c->host_nl};
        if (!c->embed) {
                qemu_user(&c->opts.tap_owner, &c->opts.tap_group);
                return 0;
        }
        /* QEMU as the stack's own uid and gid: its tap, files and domain directory are its alone. */
        c->qemu_id = shim_qemu_id(m->stack);
        c->stack = m->stack;
        _cleanup_free_ char *id_why = NULL;
        r = shim_qemu_id_check(c->root, m->stack, c->qemu_id, &id_why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(id_why, r));
        c->opts.tap_owner = c->qemu_id;
        c->opts.tap_group = c->qemu_id;
        r = shim_embed_check_reach(c->root, m, c->opts.tap_owner, c->opts.tap_group, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        return 0;
}

static int step_connect(struct run_ctx *c) {
        int r = shim_stack_init(&c->s, c->m, &c->hooks, &c->opts);
        c->stack_init = true; /* shim_stack_done() frees what it filled, even on failure */
        if (r < 0)
                return r;
        c->dom_name = c->s.dom_name;
        log_debug("run: connecting to %s", c->uri);
        r = shim_run_connect(&c->s, c->uri);
        if (r < 0)
                return r;
        /* Nothing starts that the audit log cannot tell. */
        if (h_audit(c, "run-start", c->m->stack, c->uri) < 0) {
                log_error("stack %s not started: its run-start record cannot be written", c->m->stack);
                return fail_with(c, EX_IOERR, -EIO);
        }
        return 0;
}

/* The domain's events from before it exists: a hot-plug while it is paused is seen too. */
static int step_watch(struct run_ctx *c) {
        c->sup = &c->supervisor;
        return shim_supervise_init(c->sup, &c->s);
}

/* run.c: tap and policy, define and start paused, verify, resume; a failure there undoes it all. */
static int step_up(struct run_ctx *c) {
        int r = shim_run_up(&c->s);
        if (r < 0) {
                (void) h_audit(c, "run-failed", c->m->stack, NULL);
                return r;
        }
        r = shim_supervise_watch_network(c->sup);
        if (r < 0)
                (void) shim_run_teardown(&c->s);
        return r;
}

static int step_ready(struct run_ctx *c) {
        log_notice("stack %s running (domain %s, accel %s, %s)", c->m->stack, c->s.dom_name,
                   ecl_accel_to_string(c->s.accel), c->uri);
        c->control_watch = virEventAddHandle(shim_control_fd(c->control), VIR_EVENT_HANDLE_READABLE, on_control, c,
                                             NULL);
        if (c->control_watch < 0)
                return log_error_errno(EIO, "cannot watch the control socket");
        /* resumed, with the cut and the policy verified (step_up): what Type=notify waits for */
        _cleanup_free_ char *state = NULL;
        if (asprintf(&state, "READY=1\nSTATUS=stack %s running (domain %s, accel %s)", c->m->stack, c->s.dom_name,
                     ecl_accel_to_string(c->s.accel)) < 0)
                state = NULL;
        notify(c, state ? state : "READY=1");
        return 0;
}

static int step_supervise(struct run_ctx *c) {
        c->exit_reason = shim_supervise_loop(c->sup);
        return 0;
}

/* After the supervisor (or ready) ended: whatever the stack still has goes. */
static int step_teardown(struct run_ctx *c) {
        enum shim_sup_exit e = c->exit_reason;
        _cleanup_free_ char *why_text = NULL, *state = NULL;
        (void) shim_supervise_exit_why(c->sup, e, &why_text);
        const char *why = why_text ? why_text : "stopping";
        if (asprintf(&state, "STOPPING=1\nSTATUS=stack %s stopping (%s)", c->m->stack, why) < 0)
                state = NULL;
        notify(c, state ? state : "STOPPING=1");

        if (c->control_watch >= 0)
                virEventRemoveHandle(c->control_watch);
        c->control_watch = -1;
        shim_supervise_done(c->sup);
        c->sup = NULL;

        if (e == SHIM_SUP_STOP_REQUESTED)
                (void) shim_run_stop_domain(&c->s);
        int r = shim_run_teardown(&c->s);
        if (r < 0) { /* before the socket goes: `stop` reads it */
                _cleanup_free_ char *mark_why = NULL;
                int k = shim_control_mark_failed(c->control, c->m->stack, strerror(-r), &mark_why);
                if (k < 0)
                        log_error("%s", ecl_reason_text(mark_why, k));
        }
        (void) h_audit(c, "stop", c->m->stack, why);
        return r;
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        unsigned timeout = DEFAULT_SHUTDOWN_TIMEOUT_S;
        uint64_t console_kib = SHIM_CONSOLE_CAP_DEFAULT_KIB;
        int pr = parse_args(cli, argc, argv, &path, &timeout, &console_kib);
        if (pr < 0)
                return pr;

        _cleanup_(run_ctx_done) struct run_ctx c = {
                .root = cli->root, .console_cap = console_kib * 1024, .cli = cli, .manifest_path = path,
                .shutdown_timeout = timeout, .host_netns = -1, .host_nl = -1, .control_watch = -1,
                .notify_fd = -1,
                .exit_reason = SHIM_SUP_DOMAIN_CRASHED,
        };
        int r;
        if ((r = step_signals(&c)) < 0 ||
            (r = step_manifest(&c)) < 0 ||
            (r = step_state(&c)) < 0 ||
            (r = step_control(&c)) < 0 ||
            (r = step_notify(&c)) < 0 ||
            (r = step_netns(&c)) < 0 ||
            (r = step_caps(&c)) < 0 ||
            (r = step_seccomp(&c)) < 0 ||
            (r = step_libvirt(&c)) < 0 ||
            (r = step_connect(&c)) < 0 ||
            (r = step_watch(&c)) < 0 ||
            (r = step_up(&c)) < 0)
                return c.exit_status ? c.exit_status : ecl_exit_status(r);

        /* The stack is up: from here on every way out goes through the teardown. */
        r = step_ready(&c);
        if (r >= 0)
                r = step_supervise(&c);
        r = step_teardown(&c);
        return r < 0 ? EX_SOFTWARE : exit_for(c.exit_reason);
}

const struct ecl_command shim_cmd_run = {
        .name = "run",
        .args = "MANIFEST",
        .no_json = true, /* a supervisor: its output is the log */
        .summary = "run the stack: the foreground supervisor (what the systemd unit runs)",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("shutdown-timeout", OPT_SHUTDOWN_TIMEOUT, "S",
                                   "seconds the guest gets to shut down before it is destroyed (0..3600)"),
                        ECL_OPTION("console-cap", OPT_CONSOLE_CAP, "KIB", "size of the console log before it rotates"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};
