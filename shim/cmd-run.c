/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run MANIFEST [--connect URI] [--shutdown-timeout SECONDS] [--console-cap KIB]: the foreground
 * supervisor of one stack (what the systemd unit runs).  The order and the
 * clean-up are in run.c, the event loop in supervise.c; this file wires the
 * other modules in (domain, policy, audit, control socket, sandbox).
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
#include "run.h"
#include "sandbox.h"
#include "strparse.h"
#include "run-status.h"
#include "supervise.h"



#define DEFAULT_SHUTDOWN_TIMEOUT_S 30

struct run_ctx {
        const char *root;
        char *audit_path;
        struct shim_supervisor *sup;
        struct shim_control *control;
        uint64_t console_cap;           /* bytes per console log file */
        struct shim_console *console;   /* opened before the first start, kept across reloads */
        struct pol_image *policy_image; /* what the last load sent: verify compares the kernel's table with it */
        uid_t qemu_id;                  /* the stack's own QEMU uid and gid (qemu-id.h), 0 under qemu:///system */
        const char *stack, *dom_name;   /* with qemu_id: whose pidfile h_check_cut reads */
};

static void run_ctx_done(struct run_ctx *c) {
        shim_policy_image_free(c->policy_image);
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

static int parse_args(const struct ecl_cli *cli, int argc, char **argv, const char **manifest, unsigned *timeout,
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
        *manifest = argv[p.ind];
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
        default:
                return EX_SOFTWARE;
        }
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        const char *path = NULL;
        unsigned timeout = DEFAULT_SHUTDOWN_TIMEOUT_S;
        uint64_t console_kib = SHIM_CONSOLE_CAP_DEFAULT_KIB;
        int pr = parse_args(cli, argc, argv, &path, &timeout, &console_kib);
        if (pr < 0)
                return pr;

        /* Before any thread exists (libvirt starts some): signals go to the signalfd. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return EX_OSERR;

        struct ecl_diags diags = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        log_debug("run: loading %s", path);
        int r = ecl_manifest_load_file(path, &m, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return ecl_exit_status(r);

        _cleanup_(run_ctx_done) struct run_ctx ctx = {.root = cli->root, .console_cap = console_kib * 1024};
        _cleanup_free_ char *state_dir = NULL, *audit_path = NULL;
        if (ecl_path(&audit_path, cli->root, ECL_AUDIT_LOG) < 0 || ecl_path(&state_dir, cli->root, ECL_STATE_DIR) < 0)
                return EX_OSERR;
        ctx.audit_path = audit_path;
        _cleanup_free_ char *why = NULL;
        r = ecl_mkdir_p(state_dir, 0755, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                return ecl_exit_status(r);
        }

        /* The control socket first: giving it to the control group needs CAP_CHOWN, which the
         * remote profile drops.  It starts no thread. */
        _cleanup_control_ struct shim_control *control = NULL;
        _cleanup_free_ char *group_why = NULL;
        gid_t group = shim_control_default_group(&group_why);
        if (group_why)
                log_warning("%s", group_why);
        r = shim_control_listen(cli->root, m->stack, group, &control, &why);
        if (r == -EBUSY) {
                log_error("stack %s is already supervised (its control socket answers)", m->stack);
                return EX_CANTCREAT;
        }
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        /*
         * Under the embedded driver the stack gets a network namespace of its own
         * (netns.h), entered now, before libvirt starts a thread or forks QEMU and
         * while CAP_SYS_ADMIN is still there.  The uplink's outer end is made
         * later through a socket and a namespace fd kept from the host's.
         */
        _cleanup_close_ int host_netns = -1, host_nl = -1;
        bool embed_uri = !cli->connect || shim_uri_is_embed(cli->connect);
        if (m->has_network && embed_uri) {
                _cleanup_free_ char *pin = NULL;
                r = shim_netns_pin_path(cli->root, m->stack, &pin);
                if (r >= 0)
                        r = shim_netns_unpin(pin, &why); /* a stale one: its shim is gone (the control socket said) */
                if (r >= 0) {
                        host_nl = shim_netdev_open();
                        r = host_nl < 0 ? ecl_reason_errno(&why, host_nl, "cannot open rtnetlink")
                                        : shim_netns_create(pin, &host_netns, &why);
                }
                if (r < 0)
                        return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        }
        if (m->has_network && !embed_uri)
                log_warning("stack %s: under %s the tap and the uplink stay in libvirtd's network namespace, not one "
                            "of the stack's own: only the policy stands between the guest and that namespace's "
                            "stack (status shows network_namespace: host)",
                            m->stack, cli->connect);
        log_debug("run: control socket and network namespace made");
        /* Capabilities are per thread: drop them while this is the only one. */
        enum shim_sandbox_profile profile = shim_sandbox_profile_for_uri(cli->connect);
        size_t n_caps;
        const cap_value_t *caps = shim_sandbox_caps(profile, &n_caps);
        r = shim_sandbox_drop_caps(caps, n_caps, &why);
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        /* And the filter now, before libvirt starts a thread or forks the first QEMU (sandbox.h). */
#if defined(__SANITIZE_ADDRESS__)
        /* LeakSanitizer stops the world with ptrace at exit, which the filter refuses: it checks now instead. */
        __lsan_do_leak_check();
#endif
        r = shim_sandbox_seccomp(profile, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                return EX_SOFTWARE;
        }
        ctx.control = control;
        virSetErrorFunc(NULL, quiet_virt_errors);
        if (virEventRegisterDefaultImpl() < 0) {
                log_error("cannot set up libvirt's event loop: %s", shim_virt_error());
                return EX_SOFTWARE;
        }
        _cleanup_free_ char *uri = NULL;
        bool embed = false;
        r = shim_connect_uri(cli->root, m->stack, cli->connect, &uri, &embed, &why);
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        /* Invariant 1 before libvirt, a tap or a rule exists; h_domain_xml() checks again at each start. */
        r = ecl_manifest_check_files(m, cli->root, false, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return ecl_exit_status(r);

        const struct shim_run_hooks hooks = {
                .userdata = &ctx, .domain_xml = h_domain_xml, .check_cut = h_check_cut,
                .check_qemu = h_check_qemu,
                .policy_load = h_policy_load, .policy_verify = h_policy_verify,
                .policy_remove = h_policy_remove, .audit = h_audit, .report = h_report,
        };
        struct shim_run_opts opts = {.shutdown_timeout_s = timeout, .replace_orphan = embed,
                                     .outer_elsewhere = host_netns >= 0, .outer_netns = host_netns,
                                     .outer_nl = host_nl};
        if (embed) {
                /* QEMU as the stack's own uid and gid: its tap, files and domain directory are its alone. */
                ctx.qemu_id = shim_qemu_id(m->stack);
                ctx.stack = m->stack;
                _cleanup_free_ char *id_why = NULL;
                r = shim_qemu_id_check(cli->root, m->stack, ctx.qemu_id, &id_why);
                if (r < 0) {
                        log_error("%s", ecl_reason_text(id_why, r));
                        return ecl_exit_status(r);
                }
                opts.tap_owner = ctx.qemu_id;
                opts.tap_group = ctx.qemu_id;
                r = shim_embed_check_reach(cli->root, m, opts.tap_owner, opts.tap_group, &id_why);
                if (r < 0)
                        return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(id_why, r)));
        } else {
                qemu_user(&opts.tap_owner, &opts.tap_group);
        }

        struct shim_stack s;
        r = shim_stack_init(&s, m, &hooks, &opts);
        if (r < 0)
                return ecl_exit_status(r);
        ctx.dom_name = s.dom_name;
        log_debug("run: connecting to %s", uri);
        r = shim_run_connect(&s, uri);
        if (r < 0) {
                shim_stack_done(&s);
                return ecl_exit_status(r);
        }
        /* Nothing starts that the audit log cannot tell. */
        if (h_audit(&ctx, "run-start", m->stack, uri) < 0) {
                log_error("stack %s not started: its run-start record cannot be written", m->stack);
                shim_stack_done(&s);
                return EX_IOERR;
        }
        /* The domain's events from before it exists: a hot-plug while it is paused is seen too. */
        struct shim_supervisor sup;
        ctx.sup = &sup;
        r = shim_supervise_init(&sup, &s);
        if (r >= 0) {
                r = shim_run_up(&s);
                if (r < 0)
                        (void) h_audit(&ctx, "run-failed", m->stack, NULL);
        }
        if (r >= 0) {
                r = shim_supervise_watch_network(&sup);
                if (r < 0)
                        (void) shim_run_teardown(&s);
        }
        if (r < 0) {
                shim_supervise_done(&sup);
                shim_stack_done(&s);
                shim_console_free(ctx.console);
                return r == -EBUSY ? EX_CANTCREAT : ecl_exit_status(r);
        }
        log_notice("stack %s running (domain %s, accel %s, %s)", m->stack, s.dom_name, ecl_accel_to_string(s.accel),
                   uri);

        enum shim_sup_exit e = SHIM_SUP_DOMAIN_CRASHED;
        int control_watch = virEventAddHandle(shim_control_fd(control), VIR_EVENT_HANDLE_READABLE, on_control, &ctx,
                                              NULL);
        if (control_watch < 0)
                r = log_error_errno(EIO, "cannot watch the control socket");
        if (r >= 0)
                e = shim_supervise_loop(&sup);
        if (control_watch >= 0)
                virEventRemoveHandle(control_watch);
        shim_supervise_done(&sup);

        if (e == SHIM_SUP_STOP_REQUESTED)
                (void) shim_run_stop_domain(&s);
        r = shim_run_teardown(&s);
        if (r < 0) { /* before the socket goes: `stop` reads it */
                _cleanup_free_ char *mark_why = NULL;
                int k = shim_control_mark_failed(control, m->stack, strerror(-r), &mark_why);
                if (k < 0)
                        log_error("%s", ecl_reason_text(mark_why, k));
        }
        (void) h_audit(&ctx, "stop", m->stack,
                e == SHIM_SUP_STOP_REQUESTED ? "stop requested"
                : e == SHIM_SUP_DOMAIN_STOPPED ? "guest powered off" : "domain crashed");
        shim_stack_done(&s);
        shim_console_free(ctx.console);
        if (r < 0)
                return EX_SOFTWARE;
        return exit_for(e);
}

const struct ecl_command shim_cmd_run = {
        .name = "run",
        .args = "MANIFEST",
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
