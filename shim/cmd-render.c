/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "accel.h"
#include "commands.h"
#include "domain.h"
#include "libvirt-embed.h"
#include "names.h"
#include "policy.h"
#include "log.h"
#include "reason.h"
#include "manifest.h"
#include "stack-conf.h"

enum render_what { RENDER_DOMAIN, RENDER_POLICY };

/* What `accel: auto` renders as: tcg with a notice (the default), the one chosen, or what the probe finds. */
enum render_auto { AUTO_NOTICE, AUTO_CHOSEN, AUTO_PROBE };

struct render_args {
        const char *operand;
        enum render_what what;
        enum render_auto how;
        enum ecl_accel accel; /* with AUTO_CHOSEN */
};

enum { OPT_DOMAIN = 1, OPT_POLICY, OPT_ACCEL, OPT_PROBE };

static int parse_args(const struct ecl_cli *cli, int argc, char **argv, struct render_args *a) {
        bool domain = false, policy = false, accel = false, probe = false;
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0) {
                if (c == OPT_DOMAIN)
                        domain = true;
                else if (c == OPT_POLICY)
                        policy = true;
                else if (c == OPT_PROBE)
                        probe = true;
                else if (c == OPT_ACCEL) {
                        accel = true;
                        if (streq(p.arg, "kvm"))
                                a->accel = ECL_ACCEL_KVM;
                        else if (streq(p.arg, "tcg"))
                                a->accel = ECL_ACCEL_TCG;
                        else
                                return ecl_cli_usage(cli, "--accel takes kvm or tcg, not '%s'", p.arg);
                }
        }
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        if (domain && policy)
                return ecl_cli_usage(cli, "--domain or --policy, not both");
        if (accel && probe)
                return ecl_cli_usage(cli, "--accel or --probe, not both");
        if (policy && (accel || probe))
                return ecl_cli_usage(cli, "--%s is for the domain, not --policy", accel ? "accel" : "probe");
        a->operand = argv[p.ind];
        a->what = policy ? RENDER_POLICY : RENDER_DOMAIN;
        a->how = accel ? AUTO_CHOSEN : probe ? AUTO_PROBE : AUTO_NOTICE;
        return 0;
}

/*
 * The domain `run` would define, the console log under --root.  The
 * manifest's accelerator as it is written, but for `auto`, which is run's
 * bounded KVM probe: render touches nothing of the host unless asked, so
 * auto is tcg with a notice, or --accel's choice, or with --probe what the
 * probe finds here (a host whose KVM hangs renders tcg, with the probe's
 * warning on stderr).  An explicit kvm is shown as asked: `run` is what
 * refuses it on a host without working KVM.  Under the embedded driver (no
 * --connect, or qemu:///embed) it carries the stack's own QEMU identity, as
 * run's does.
 */
static int render_domain(const struct ecl_cli *cli, const struct render_args *a, const struct ecl_manifest *m,
                         char **ret, char **ret_reason) {
        struct shim_domain_opts o = {.root = cli->root, .accel = m->vm.accel,
                                     .qemu_id = shim_uri_is_embed(cli->connect) ? shim_qemu_id(m->stack) : 0};
        if (o.accel == ECL_ACCEL_AUTO) {
                if (a->how == AUTO_PROBE) {
                        _cleanup_free_ char *reason = NULL;
                        int r = shim_accel_resolve(ECL_ACCEL_AUTO, SHIM_ACCEL_PROBE_TIMEOUT_MS, &o.accel, &reason);
                        if (r < 0) {
                                *ret_reason = TAKE_PTR(reason);
                                return r;
                        }
                        if (reason)
                                log_warning("%s", reason);
                } else if (a->how == AUTO_CHOSEN) {
                        o.accel = a->accel;
                } else {
                        o.accel = ECL_ACCEL_TCG;
                        log_notice("stack %s: accel auto rendered as tcg, without probing KVM (--probe renders what "
                                   "this host would get, --accel kvm|tcg chooses)",
                                   m->stack);
                }
        }
        return shim_domain_render(m, &o, ret, ret_reason);
}

/*
 * render MANIFEST [--domain|--policy] [--accel kvm|tcg|--probe]: exactly the XML
 * (or ruleset) on stdout.  A stack's name is its configured manifest.
 */
static int run(const struct ecl_cli *cli, int argc, char **argv) {
        struct render_args a = {0};
        int r = parse_args(cli, argc, argv, &a);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        if (shim_stack_conf_resolve(cli->root, a.operand, &path) < 0)
                return log_oom();

        struct ecl_diags diags = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        r = ecl_manifest_load_file(path, &m, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return r;

        _cleanup_free_ char *text = NULL, *why = NULL;
        if (a.what == RENDER_POLICY)
                r = shim_policy_render(m, &text, &why);
        else
                r = render_domain(cli, &a, m, &text, &why);
        if (r < 0)
                log_error("%s", ecl_reason_text(why, r));
        if (r < 0)
                return r;
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
                log_error_errno(errno, "render: cannot write to stdout: %m");
                return EX_IOERR;
        }
        return EX_OK;
}

const struct ecl_command shim_cmd_render = {
        .name = "render",
        .args = "MANIFEST",
        .no_json = true, /* it prints XML or nftables' own syntax */
        .summary = "print the libvirt domain XML (the default) or the nftables ruleset run would load",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("domain", OPT_DOMAIN, NULL, "the domain XML"),
                        ECL_OPTION("policy", OPT_POLICY, NULL, "the nftables ruleset"),
                        ECL_OPTION("accel", OPT_ACCEL, "kvm|tcg", "what accel auto renders as (default: tcg, said on stderr)"),
                        ECL_OPTION("probe", OPT_PROBE, NULL, "accel auto as this host would run it: the bounded KVM probe"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};
