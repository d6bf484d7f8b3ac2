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

enum render_what { RENDER_DOMAIN, RENDER_POLICY };

enum { OPT_DOMAIN = 1, OPT_POLICY };

static int parse_args(const struct ecl_cli *cli, int argc, char **argv, const char **manifest,
                      enum render_what *what) {
        bool domain = false, policy = false;
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0) {
                if (c == OPT_DOMAIN)
                        domain = true;
                else if (c == OPT_POLICY)
                        policy = true;
        }
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        if (domain && policy)
                return ecl_cli_usage(cli, "--domain or --policy, not both");
        *manifest = argv[p.ind];
        *what = policy ? RENDER_POLICY : RENDER_DOMAIN;
        return 0;
}

/*
 * The domain `run` would define: the manifest's accelerator, with auto
 * resolved by the same bounded KVM probe `run` uses (so a host whose KVM
 * hangs renders tcg, with the probe's warning on stderr); the console log
 * under --root.  An explicit kvm is shown as asked: `run` is what refuses it
 * on a host without working KVM.  Under the embedded driver (no --connect,
 * or qemu:///embed) it carries the stack's own QEMU identity, as run's does.
 */
static int render_domain(const struct ecl_cli *cli, const struct ecl_manifest *m, char **ret, char **ret_reason) {
        struct shim_domain_opts o = {.root = cli->root, .accel = m->vm.accel,
                                     .qemu_id = shim_uri_is_embed(cli->connect) ? shim_qemu_id(m->stack) : 0};
        if (o.accel == ECL_ACCEL_AUTO) {
                _cleanup_free_ char *reason = NULL;
                int r = shim_accel_resolve(ECL_ACCEL_AUTO, SHIM_ACCEL_PROBE_TIMEOUT_MS, &o.accel, &reason);
                if (r < 0) {
                        *ret_reason = TAKE_PTR(reason);
                        return r;
                }
                if (reason)
                        log_warning("%s", reason);
        }
        return shim_domain_render(m, &o, ret, ret_reason);
}

/* render MANIFEST [--domain|--policy]: exactly the XML (or ruleset) on stdout. */
static int run(const struct ecl_cli *cli, int argc, char **argv) {
        const char *path = NULL;
        enum render_what what = RENDER_DOMAIN;
        int r = parse_args(cli, argc, argv, &path, &what);
        if (r < 0)
                return r;

        struct ecl_diags diags = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        r = ecl_manifest_load_file(path, &m, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return r;

        _cleanup_free_ char *text = NULL, *why = NULL;
        if (what == RENDER_POLICY)
                r = shim_policy_render(m, &text, &why);
        else
                r = render_domain(cli, m, &text, &why);
        if (r < 0)
                log_error("%s", ecl_reason_text(why, r));
        if (r == -EINVAL) /* a manifest the loader let through but the builder cannot express */
                return EX_DATAERR;
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
        .summary = "print the libvirt domain XML (the default) or the nftables ruleset run would load",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("domain", OPT_DOMAIN, NULL, "the domain XML"),
                        ECL_OPTION("policy", OPT_POLICY, NULL, "the nftables ruleset"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};
