/* SPDX-License-Identifier: Apache-2.0 */
/*
 * list: every configured stack (ROOT/etc/ecluse/stacks/STACK.yaml,
 * stack-conf.h) and its state.  A stack whose shim answers on its control
 * socket is in the state the shim reports (running, held, ...; the same
 * request `status` sends); one whose shim does not is "stopped", or
 * "teardown-failed" when its last clean-up failed (control.h).  A manifest
 * that does not load, or whose file name is not its stack's, is "invalid"
 * (65 once every row is printed), one that cannot be read "unreadable"; the
 * shim is then not asked: `status` says whether one runs.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "control-client.h"
#include "log.h"
#include "manifest.h"
#include "output.h"
#include "reason.h"
#include "stack-conf.h"
#include "strutil.h"

/* Bad data outranks the rest: 65 if any manifest is wrong, else the first problem's status. */
static void worse(int *status, int s) {
        if (s != EX_OK && (*status == EX_OK || s == EX_DATAERR))
                *status = s;
}

/* The configured manifest loads and is named for its stack; else its state, and *status. */
static const char *check_manifest(const char *stack, const char *path, int *status) {
        struct ecl_diags diags = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        int r = ecl_manifest_load_file(path, &m, &diags);
        ecl_diags_print(&diags, stderr);
        ecl_diags_clear(&diags);
        if (r >= 0 && !streq(m->stack, stack)) {
                _cleanup_free_ char *why = NULL;
                r = shim_stack_conf_check_name(path, m->stack, &why);
                log_error("%s: %s", path, ecl_reason_text(why, r));
        }
        if (r >= 0)
                return NULL;
        if (r == -ENOMEM)
                log_oom();
        int s = ecl_exit_status(r);
        worse(status, s);
        return s == EX_DATAERR ? "invalid" : "unreadable";
}

static bool in(char **v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

/* What the stack's shim says (a state in *ret_answer, or static), or why none does. */
static const char *shim_state(const char *root, const char *stack, char **listening, json_t **ret_answer,
                              int *status) {
        *ret_answer = NULL;
        if (!in(listening, stack))
                return "stopped"; /* no socket, no failed clean-up: nothing to ask */
        /* A failed clean-up's record stays until the stack's next shim listens: none does now. */
        json_t *j = NULL;
        _cleanup_free_ char *why = NULL;
        int r = ecl_control_read_failed(root, stack, &j, &why);
        if (r > 0) {
                log_error("stack %s: its shim is gone and its clean-up failed: %s (domain, tap or rules may remain; "
                          "see its log)",
                          stack, json_string_value(json_object_get(j, "error")) ?: "unknown error");
                json_decref(j);
                worse(status, EX_SOFTWARE);
                return "teardown-failed";
        }
        if (r == 0)
                r = ecl_control_call(root, stack, "status", &j, &why);
        if (r >= 0) {
                *ret_answer = j;
                return json_string_value(json_object_get(j, "state")) ?: "unknown";
        }
        if (r == -ESRCH) /* a stale socket: its shim is gone */
                return "stopped";
        log_error("stack %s: %s", stack, ecl_reason_text(why, r));
        worse(status, ecl_exit_status(r));
        return "unknown";
}

/*
 * One row.  A configured stack whose manifest is wrong is "invalid" (or
 * "unreadable") unless a shim runs it: then what that shim says, so that a
 * running or held stack never disappears behind its edited manifest.  A
 * stack that runs without being configured (started from a path, or its
 * manifest since removed) gets a row too, with no manifest.
 */
static int row(const struct ecl_cli *cli, const char *stack, bool configured, char **listening, json_t *rows,
               int *status) {
        _cleanup_free_ char *path = NULL;
        if (configured && shim_stack_conf_resolve(cli->root, stack, &path) < 0)
                return log_oom();
        json_auto_t *answer = NULL;
        const char *bad = configured ? check_manifest(stack, path, status) : NULL;
        const char *state = bad;
        if (!bad || in(listening, stack))
                state = shim_state(cli->root, stack, listening, &answer, status);
        if (!configured) {
                if (streq(state, "stopped")) /* a stale socket: nothing runs, nothing to list */
                        return 0;
                log_notice("stack %s is %s but not configured (no %s.yaml in the stacks directory)", stack, state,
                           stack);
        }
        json_t *o = json_pack("{s:s,s:s,s:s?}", "stack", stack, "state", state, "manifest", path);
        if (!o || json_array_append_new(rows, o) < 0)
                return log_error_errno(ENOMEM, "cannot encode the row of stack %s as JSON", stack);
        return 0;
}

static const struct ecl_output_column list_columns[] = {
        ECL_OUTPUT_COLUMN("stack", "STACK", ECL_OUTPUT_STRING),
        ECL_OUTPUT_COLUMN("state", "STATE", ECL_OUTPUT_STRING),
        ECL_OUTPUT_FLEX("manifest", "MANIFEST", ECL_OUTPUT_STRING, 20),
        ECL_OUTPUT_COLUMNS_END,
};

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int r = ecl_cli_parse_plain(cli, argc, argv, 0, 0, &ind);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **stacks = NULL, **skipped = NULL, **listening = NULL;
        _cleanup_free_ char *why = NULL;
        r = shim_stack_conf_list(cli->root, &stacks, &skipped, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                return ecl_exit_status(r);
        }
        for (char **s = skipped; *s; s++)
                log_warning("skipped %s", *s);
        free(TAKE_PTR(why));
        r = ecl_control_list(cli->root, &listening, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));

        json_auto_t *rows = json_array();
        if (!rows)
                return ecl_exit_status(log_oom());
        int status = EX_OK;
        for (char **s = stacks; *s; s++) {
                r = row(cli, *s, true, listening, rows, &status);
                if (r < 0)
                        return ecl_exit_status(r);
        }
        for (char **s = listening; *s; s++) {
                if (in(stacks, *s))
                        continue;
                r = row(cli, *s, false, listening, rows, &status);
                if (r < 0)
                        return ecl_exit_status(r);
        }
        if (!cli->json && json_array_size(rows) == 0) {
                _cleanup_free_ char *dir = NULL;
                if (shim_stack_conf_dir(cli->root, &dir) < 0)
                        return ecl_exit_status(log_oom());
                printf("no stacks configured in ");
                ecl_fput_printable(stdout, dir);
                putchar('\n');
                return status;
        }
        _cleanup_(ecl_output_freep) struct ecl_output *out = NULL;
        r = ecl_output_new(stdout, cli->json, list_columns, &out);
        size_t i;
        json_t *o;
        json_array_foreach(rows, i, o)
                if (r >= 0)
                        r = ecl_output_add(out, json_incref(o));
        if (r >= 0)
                r = ecl_output_end(out);
        if (r < 0)
                return ecl_exit_status(log_oom());
        return status;
}

const struct ecl_command shim_cmd_list = {
        .name = "list",
        .args = NULL,
        .summary = "every configured stack (/etc/ecluse/stacks/STACK.yaml) and its state: what its shim reports, "
                   "stopped, or invalid",
        .run = run,
};
