/* SPDX-License-Identifier: Apache-2.0 */
/* stop STACK: ask the stack's shim to shut its VM down and clean up. */
#include <jansson.h>
#include <stdio.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "status-print.h"

int shim_cmd_stop(const struct ecl_cli *cli, int argc, char **argv) {
        if (argc != 2) {
                log_error("stop needs exactly one stack (stop STACK)");
                return EX_USAGE;
        }
        json_auto_t *j = NULL;
        int r = shim_control_call(cli->root, argv[1], "stop", &j);
        if (r < 0)
                return ecl_exit_status(r);
        shim_print_object(stdout, j, cli->json);
        return EX_OK;
}
