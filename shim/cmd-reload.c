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
#include "control.h"
#include "log.h"
#include "status-print.h"

int shim_cmd_reload(const struct ecl_cli *cli, int argc, char **argv) {
        if (argc != 2) {
                log_error("reload needs exactly one stack (reload STACK)");
                return EX_USAGE;
        }
        json_auto_t *j = NULL;
        int r = shim_control_call(cli->root, argv[1], "reload", &j);
        if (r < 0)
                return ecl_exit_status(r);
        shim_print_object(stdout, j, cli->json);
        return EX_OK;
}
