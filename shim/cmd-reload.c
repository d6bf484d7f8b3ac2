/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload STACK: ask the stack's supervisor to start its domain again on the
 * current release, with its policy loaded afresh (run.h: shim_run_restart).
 * What an officer does after a held stack has been looked at, and what the
 * unit's ExecReload runs.  The supervisor answers once it has taken the
 * request; `status` says how the restart went.
 */
#include <jansson.h>
#include <stdio.h>

#include "commands.h"
#include "control-client.h"
#include "log.h"
#include "reason.h"
#include "stack-name.h"
#include "status-print.h"

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &first);
        if (r < 0)
                return r;
        if ((r = ecl_cli_stack_operand(cli, argv[first])) < 0)
                return r;
        json_auto_t *j = NULL;
        _cleanup_free_ char *why = NULL;
        r = ecl_control_call(cli->root, argv[first], "reload", &j, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        if (shim_print_object(stdout, j, cli->json) < 0)
                return log_oom();
        return EX_OK;
}

const struct ecl_command shim_cmd_reload = {
        .name = "reload",
        .args = "STACK",
        .summary = "restart a stack's VM with its policy loaded afresh (after a hold was looked at)",
        .run = run,
};
