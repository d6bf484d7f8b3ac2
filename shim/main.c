/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-shim: runs a licensed stack in a libvirt VM whose remote channels
 * are cut, behind a default-deny policy at its tap.
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "macro.h"

static const struct ecl_command commands[] = {
        {"validate",
         "validate MANIFEST...                                 check manifests, print every problem",
         shim_cmd_validate},
        {"render",
         "render MANIFEST [--domain|--policy]                  print the domain XML or the nftables ruleset",
         shim_cmd_render},
        {"run",
         "run MANIFEST [--connect URI] [--shutdown-timeout S] [--console-cap KIB]  run the stack: the foreground supervisor",
         shim_cmd_run},
        {"status",
         "status [STACK]                                       state of one or every running stack",
         shim_cmd_status},
        {"stop",
         "stop STACK [--no-wait] [--timeout S]                 shut a stack's VM down and clean up",
         shim_cmd_stop},
        {"reload",
         "reload STACK                                         restart a stack's VM with its policy loaded afresh",
         shim_cmd_reload},
        {"blocked",
         "blocked STACK                                        traffic the policy dropped",
         shim_cmd_blocked},
};

int main(int argc, char **argv) {
        struct ecl_cli cli = {.root = ""};
        argc--, argv++;
        if (ecl_cli_extract(&argc, argv, &cli) < 0)
                return EX_USAGE;
        return ecl_cli_dispatch("ecluse-shim", "Run a licensed stack in a VM with every remote channel cut.",
                                commands, ELEMENTSOF(commands), &cli, argc, argv);
}
