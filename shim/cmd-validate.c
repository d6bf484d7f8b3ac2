/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "commands.h"
#include "log.h"
#include "manifest.h"
#include "output.h"

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

/*
 * validate MANIFEST...: every problem of every file, one line each on stderr.
 * The kernel, initrd and disks that exist under --root are resolved as run
 * would (no link but current -> releases/VERSION, regular files).
 * With --json, stdout also gets one array with an object per file.
 */
static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int pr = ecl_cli_parse_plain(cli, argc, argv, 1, -1, &ind);
        if (pr < 0)
                return pr;
        _cleanup_(json_decrefp) json_t *all = cli->json ? json_array() : NULL;
        if (cli->json && !all)
                return log_oom(), EX_OSERR;
        int status = EX_OK;
        for (int i = ind; i < argc; i++) {
                struct ecl_diags diags = {0};
                _cleanup_manifest_ struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(argv[i], &m, &diags);
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
                if (all && json_array_append_new(all, result_json(argv[i], m, &diags)) < 0) {
                        ecl_diags_clear(&diags);
                        /* Out of memory, or a file name that is not UTF-8. */
                        log_error("cannot encode the result for %s as JSON", argv[i]);
                        return EX_SOFTWARE;
                }
                ecl_diags_clear(&diags);
                if (r < 0) {
                        int s = ecl_exit_status(r);
                        /* Bad data outranks a missing file: 65 if any manifest is wrong. */
                        if (status == EX_OK || s == EX_DATAERR)
                                status = s;
                } else if (!cli->json) {
                        printf("%s: ok (stack %s)\n", argv[i], m->stack);
                }
        }
        if (all && ecl_output_json(stdout, cli->json, all) < 0)
                return log_oom(), EX_OSERR;
        return status;
}

const struct ecl_command shim_cmd_validate = {
        .name = "validate",
        .args = "MANIFEST...",
        .summary = "check manifests strictly; print every problem, one line each (--json: one object per file)",
        .run = run,
};
