/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status [STACK]: ask each running shim over its control socket and print
 * what it answers (the supervisor decides the content; DESIGN.md names at
 * least stack, state, accel, policy and capabilities).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "status-print.h"

/* One stack; not running is reported as such in a listing. */
static int query(const struct ecl_cli *cli, const char *stack, json_t **ret) {
        json_t *j = NULL;
        int r = shim_control_call(cli->root, stack, "status", &j);
        if (r < 0) {
                if (r != -ESRCH)
                        return r;
                j = json_pack("{s:s,s:s}", "stack", stack, "state", "not running");
                if (!j)
                        return log_oom();
        }
        *ret = j;
        return r;
}

int shim_cmd_status(const struct ecl_cli *cli, int argc, char **argv) {
        if (argc > 2) {
                log_error("status takes at most one stack (status [STACK])");
                return EX_USAGE;
        }
        if (argc == 2) {
                json_auto_t *j = NULL;
                int r = shim_control_call(cli->root, argv[1], "status", &j);
                if (r < 0)
                        return ecl_exit_status(r);
                shim_print_object(stdout, j, cli->json);
                return EX_OK;
        }

        _cleanup_strv_free_ char **stacks = NULL;
        int r = shim_control_list(cli->root, &stacks);
        if (r < 0)
                return ecl_exit_status(r);
        json_auto_t *all = json_array();
        if (!all)
                return ecl_exit_status(log_oom());
        int status = EX_OK;
        for (char **s = stacks; *s; s++) {
                json_t *j = NULL;
                r = query(cli, *s, &j);
                if (r < 0 && status == EX_OK)
                        status = ecl_exit_status(r);
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
