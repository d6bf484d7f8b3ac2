/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status [STACK]: ask each running shim over its control socket and print
 * what it answers (the supervisor decides the content; DESIGN.md names at
 * least stack, state, accel, policy and capabilities).  A stack whose shim
 * is gone after its clean-up failed (ROOT/run/ecluse/STACK.failed, control-proto.h)
 * shows state "teardown-failed" and the error, and makes the exit status 70:
 * its domain, tap or rules may remain.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "control-client.h"
#include "log.h"
#include "reason.h"
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

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int r = ecl_cli_parse_plain(cli, argc, argv, 0, 1, &ind);
        if (r < 0)
                return r;
        if (ind < argc) {
                json_auto_t *j = NULL;
                r = query(cli, argv[ind], false, &j);
                if (j)
                        shim_print_object(stdout, j, cli->json);
                return status_exit(r);
        }

        _cleanup_strv_free_ char **stacks = NULL;
        _cleanup_free_ char *why = NULL;
        r = ecl_control_list(cli->root, &stacks, &why);
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        json_auto_t *all = json_array();
        if (!all)
                return ecl_exit_status(log_oom());
        int status = EX_OK;
        for (char **s = stacks; *s; s++) {
                json_t *j = NULL;
                r = query(cli, *s, true, &j);
                if (r != 0 && (status == EX_OK || r > 0))
                        status = status_exit(r);
                if (j && json_array_append_new(all, j) < 0)
                        return ecl_exit_status(log_oom());
        }
        if (cli->json) {
                shim_print_object(stdout, all, true);
        } else if (json_array_size(all) == 0) {
                printf("no stacks running\n");
        } else {
                size_t i;
                json_t *j;
                json_array_foreach(all, i, j) {
                        if (i > 0)
                                putchar('\n');
                        shim_print_object(stdout, j, false);
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
