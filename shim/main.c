/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-shim: runs a licensed stack in a libvirt VM whose remote channels
 * are cut, behind a default-deny policy at its tap.
 */
#include "cli.h"
#include "commands.h"
#include "macro.h"

static const struct ecl_command *const commands[] = {
        &shim_cmd_validate, &shim_cmd_render, &shim_cmd_run,    &shim_cmd_list,
        &shim_cmd_status,   &shim_cmd_stop,   &shim_cmd_reload, &shim_cmd_blocked,
};

int main(int argc, char **argv) {
        static const struct ecl_program program = {
                .name = "ecluse-shim",
                .summary = "Run a licensed stack in a VM with every remote channel cut.",
                .globals = ECL_GLOBAL_ROOT | ECL_GLOBAL_JSON | ECL_GLOBAL_CONNECT,
                .commands = commands,
                .n_commands = ELEMENTSOF(commands),
        };
        return ecl_cli_main(&program, argc, argv);
}
