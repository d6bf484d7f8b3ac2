/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status [STACK]: ask each running shim over its control socket and print
 * what it answers (the supervisor decides the content; DESIGN.md names at
 * least stack, state, accel, policy and capabilities).  A stack whose shim
 * is gone after its clean-up failed (ROOT/run/ecluse/STACK.failed, control-proto.h)
 * shows state "teardown-failed" and the error, and makes the exit status 70:
 * its domain, tap or rules may remain.  --json prints one array, of one
 * object when a stack is named.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "control-client.h"
#include "log.h"
#include "output.h"
#include "reason.h"
#include "stack-name.h"
#include "status-print.h"

/*
 * One stack.  No shim: its failed clean-up (*ret that record, 1), or
 * -ESRCH with *ret saying "not running" (NULL unless `listing`: alone, the
 * error says it).
 */
static int query(const struct ecl_cli *cli, const char *stack, bool listing, json_t **ret) {
        json_t *j = NULL;
        _cleanup_free_ char *why = NULL;
        *ret = NULL;
        int r = ecl_control_call(cli->root, stack, "status", &j, &why);
        if (r < 0)
                log_error_errno(r, "%s", ecl_reason_text(why, r));
        if (r != -ESRCH) {
                *ret = j;
                return r;
        }
        free(TAKE_PTR(why));
        int k = ecl_control_read_failed(cli->root, stack, &j, &why);
        if (k < 0)
                return log_error_errno(k, "%s", ecl_reason_text(why, k));
        if (k > 0) {
                log_error("stack %s: its shim is gone and its clean-up failed: %s (domain, tap or rules may remain; "
                          "see its log)",
                          stack, json_string_value(json_object_get(j, "error")) ?: "unknown error");
                *ret = j;
                return 1;
        }
        if (listing) {
                j = json_pack("{s:s,s:s}", "stack", stack, "state", "not running");
                if (!j)
                        return log_oom();
                *ret = j;
        }
        return r;
}

static int status_exit(int r) {
        return r > 0 ? EX_SOFTWARE : r < 0 ? ecl_exit_status(r) : EX_OK;
}

/* --json: one array, of one object when a stack is named (output.h; the table's columns are unused). */
static const struct ecl_output_column no_columns[] = {ECL_OUTPUT_COLUMNS_END};

static int print_json(const struct ecl_cli *cli, json_t *all) {
        _cleanup_(ecl_output_freep) struct ecl_output *o = NULL;
        int r = ecl_output_new(stdout, cli->json, no_columns, &o);
        size_t i;
        json_t *j;
        json_array_foreach(all, i, j)
                if (r >= 0)
                        r = ecl_output_add(o, json_incref(j));
        if (r >= 0)
                r = ecl_output_end(o);
        return r < 0 ? log_oom() : 0;
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int r = ecl_cli_parse_plain(cli, argc, argv, 0, 1, &ind);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **stacks = NULL;
        if (ind < argc) {
                int k = ecl_cli_stack_operand(cli, argv[ind]);
                if (k < 0)
                        return k;
                stacks = calloc(2, sizeof *stacks);
                if (!stacks || !(stacks[0] = strdup(argv[ind])))
                        return ecl_exit_status(log_oom());
        } else {
                _cleanup_free_ char *why = NULL;
                r = ecl_control_list(cli->root, &stacks, &why);
                if (r < 0)
                        return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        }
        /* Alone, a stack that is not running is an error line and nothing more, but in JSON a row. */
        bool listing = ind == argc || cli->json;
        json_auto_t *all = json_array();
        if (!all)
                return ecl_exit_status(log_oom());
        int status = EX_OK;
        for (char **s = stacks; *s; s++) {
                json_t *j = NULL;
                r = query(cli, *s, listing, &j);
                if (r != 0 && (status == EX_OK || r > 0))
                        status = status_exit(r);
                if (j && json_array_append_new(all, j) < 0)
                        return ecl_exit_status(log_oom());
        }
        if (cli->json) {
                r = print_json(cli, all);
                if (r < 0)
                        return ecl_exit_status(r);
        } else if (json_array_size(all) == 0 && ind == argc) {
                printf("no stacks running\n");
        } else {
                size_t i;
                json_t *j;
                json_array_foreach(all, i, j) {
                        if (i > 0)
                                putchar('\n');
                        (void) shim_print_object(stdout, j, ECL_JSON_OFF); /* text: cannot fail but in ferror */
                }
        }
        return status;
}

const struct ecl_command shim_cmd_status = {
        .name = "status",
        .args = "[STACK]",
        .summary = "state of one or every running stack: domain, policy, accelerator, the shim's capabilities",
        .run = run,
};
