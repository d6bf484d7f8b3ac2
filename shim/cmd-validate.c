/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "commands.h"
#include "log.h"
#include "manifest.h"
#include "output.h"
#include "reason.h"
#include "stack-conf.h"
#include "strutil.h"

/* {"file": F, "ok": false, "errors": [{"line": L, "col": C, "error": WHAT, "hint": HINT|null}, ...]} */
static json_t *result_json(const char *file, const struct ecl_manifest *m, const struct ecl_diags *diags) {
        json_t *errors = json_array();
        if (!errors)
                return NULL;
        for (size_t i = 0; i < diags->n; i++) {
                const struct ecl_diag *d = &diags->items[i];
                json_t *e = json_pack("{s:I, s:I, s:s, s:s?}", "line", (json_int_t) d->pos.line, "col",
                                      (json_int_t) d->pos.col, "error", d->what, "hint", d->hint);
                if (!e || json_array_append_new(errors, e) < 0) {
                        json_decref(errors);
                        return NULL;
                }
        }
        if (m)
                return json_pack("{s:s, s:b, s:s, s:o}", "file", file, "ok", 1, "stack", m->stack, "errors", errors);
        return json_pack("{s:s, s:b, s:o}", "file", file, "ok", 0, "errors", errors);
}

/* Bad data outranks a missing file: 65 if any manifest is wrong. */
static void worse(int *status, int s) {
        if (s != EX_OK && (*status == EX_OK || s == EX_DATAERR))
                *status = s;
}

/*
 * One manifest: its problems on stderr, "PATH: ok (stack S)" on stdout (or
 * its object appended to all).  named: a configured one, whose file must be
 * named for its stack.  Returns 0, or the status to exit with at once
 * (out of memory, a result JSON cannot hold).
 */
static int validate_one(const struct ecl_cli *cli, const char *path, bool named, json_t *all, int *status) {
        struct ecl_diags diags = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        int r = ecl_manifest_load_file(path, &m, &diags);
        if (r >= 0 && named) {
                _cleanup_free_ char *why = NULL;
                r = shim_stack_conf_check_name(path, m->stack, &why);
                if (r < 0 && ecl_diags_add(&diags, path, (struct ecl_pos){0, 0}, NULL, "%s",
                                           ecl_reason_text(why, r)) < 0)
                        r = -ENOMEM;
                if (r < 0)
                        ecl_manifest_free(TAKE_PTR(m));
        }
        if (r >= 0) {
                /* The files as they are under --root now; a release not applied yet is no error. */
                r = ecl_manifest_check_files(m, cli->root, true, &diags);
                if (r < 0)
                        ecl_manifest_free(TAKE_PTR(m));
        }
        ecl_diags_print(&diags, stderr);
        if (r == -ENOMEM) {
                ecl_diags_clear(&diags);
                return log_oom(), EX_OSERR;
        }
        if (all && json_array_append_new(all, result_json(path, m, &diags)) < 0) {
                ecl_diags_clear(&diags);
                /* Out of memory, or a file name that is not UTF-8. */
                log_error("cannot encode the result for %s as JSON", path);
                return EX_SOFTWARE;
        }
        ecl_diags_clear(&diags);
        if (r < 0)
                worse(status, ecl_exit_status(r));
        else if (!all) {
                ecl_fput_printable(stdout, path);
                printf(": ok (stack %s)\n", m->stack);
        }
        return 0;
}

/*
 * validate [MANIFEST...]: every problem of every file, one line each on stderr.
 * An operand that is a stack's name is its configured manifest
 * (ROOT/etc/ecluse/stacks/STACK.yaml, stack-conf.h); without operands every
 * configured stack is validated (a STACK.yaml that is a link or a directory
 * is refused by the loader, 66, as for `run STACK`; the directory's other
 * entries are skipped with a warning).  A configured manifest must be named for its stack.
 * The kernel, initrd and disks that exist under --root are resolved as run
 * would (no link but current -> releases/VERSION, regular files).
 * With --json, stdout also gets one array with an object per file.
 */
static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int pr = ecl_cli_parse_plain(cli, argc, argv, 0, -1, &ind);
        if (pr < 0)
                return pr;
        _cleanup_strv_free_ char **stacks = NULL;
        if (ind == argc) {
                _cleanup_strv_free_ char **skipped = NULL;
                _cleanup_free_ char *why = NULL;
                int r = shim_stack_conf_list(cli->root, &stacks, &skipped, &why);
                if (r < 0) {
                        log_error("%s", ecl_reason_text(why, r));
                        return ecl_exit_status(r);
                }
                for (char **s = skipped; *s; s++)
                        log_warning("skipped %s", *s);
                if (!stacks[0] && !cli->json) {
                        _cleanup_free_ char *dir = NULL;
                        if (shim_stack_conf_dir(cli->root, &dir) < 0)
                                return log_oom(), EX_OSERR;
                        fputs("no stacks configured in ", stdout);
                        ecl_fput_printable(stdout, dir);
                        putchar('\n');
                }
        }
        _cleanup_(json_decrefp) json_t *all = cli->json ? json_array() : NULL;
        if (cli->json && !all)
                return log_oom(), EX_OSERR;
        int status = EX_OK;
        char **operands = stacks ? stacks : argv + ind;
        size_t n = stacks ? 0 : (size_t) (argc - ind);
        while (stacks && stacks[n])
                n++;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                int r = shim_stack_conf_resolve(cli->root, operands[i], &path);
                if (r < 0)
                        return log_oom(), EX_OSERR;
                r = validate_one(cli, path, r > 0, all, &status);
                if (r != 0)
                        return r;
        }
        if (all && ecl_output_json(stdout, cli->json, all) < 0)
                return log_oom(), EX_OSERR;
        return status;
}

const struct ecl_command shim_cmd_validate = {
        .name = "validate",
        .args = "[MANIFEST...]",
        .summary = "check manifests strictly (a STACK's or, by default, every configured one); print every "
                   "problem, one line each (--json: one object per file)",
        .run = run,
};
