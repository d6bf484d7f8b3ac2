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
#include "manifest.h"

enum render_what { RENDER_DOMAIN, RENDER_POLICY };

static int parse_args(int argc, char **argv, const char **manifest, enum render_what *what) {
        bool domain = false, policy = false;
        *manifest = NULL;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--domain")) {
                        domain = true;
                } else if (streq(argv[i], "--policy")) {
                        policy = true;
                } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
                        log_error("render: unknown option '%s' (render MANIFEST [--domain|--policy])", argv[i]);
                        return -EINVAL;
                } else if (*manifest) {
                        log_error("render: one manifest at a time (render MANIFEST [--domain|--policy])");
                        return -EINVAL;
                } else {
                        *manifest = argv[i];
                }
        }
        if (!*manifest) {
                log_error("render needs a manifest (render MANIFEST [--domain|--policy])");
                return -EINVAL;
        }
        if (domain && policy) {
                log_error("render: --domain or --policy, not both");
                return -EINVAL;
        }
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
static int render_domain(const struct ecl_cli *cli, const struct ecl_manifest *m, char **ret) {
        struct shim_domain_opts o = {.root = cli->root, .accel = m->vm.accel,
                                     .qemu_id = shim_uri_is_embed(cli->connect) ? shim_qemu_id(m->stack) : 0};
        if (o.accel == ECL_ACCEL_AUTO) {
                int r = shim_accel_resolve(ECL_ACCEL_AUTO, SHIM_ACCEL_PROBE_TIMEOUT_MS, &o.accel, NULL);
                if (r < 0)
                        return r;
        }
        return shim_domain_render(m, &o, ret);
}

/* render MANIFEST [--domain|--policy]: exactly the XML (or ruleset) on stdout. */
int shim_cmd_render(const struct ecl_cli *cli, int argc, char **argv) {
        const char *path;
        enum render_what what;
        if (parse_args(argc, argv, &path, &what) < 0)
                return EX_USAGE;

        struct ecl_diags diags = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        int r = ecl_manifest_load_file(path, &m, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r < 0)
                return ecl_exit_status(r);

        _cleanup_free_ char *text = NULL;
        if (what == RENDER_POLICY)
                r = shim_policy_render(m, &text);
        else
                r = render_domain(cli, m, &text);
        if (r == -EINVAL) /* a manifest the loader let through but the builder cannot express */
                return EX_DATAERR;
        if (r < 0)
                return r == -ENOMEM ? EX_OSERR : EX_SOFTWARE;
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
                log_error_errno(errno, "render: cannot write to stdout: %m");
                return EX_IOERR;
        }
        return EX_OK;
}
