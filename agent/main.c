/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent: the gate for vendor updates and support access.  Bundles are
 * quarantined, officers approve by signing, every decision is audited.
 */
#include "cli.h"
#include "commands.h"
#include "macro.h"

static const struct ecl_command *const commands[] = {
        &agent_cmd_serve,        &agent_cmd_import,       &agent_cmd_list,       &agent_cmd_show,
        &agent_cmd_statement,    &agent_cmd_approve,      &agent_cmd_reject,     &agent_cmd_apply,
        &agent_cmd_rollback,     &agent_cmd_releases,     &agent_cmd_verify,     &agent_cmd_audit_verify,
        &agent_cmd_audit_show,   &agent_cmd_audit_note,   &agent_cmd_audit_checkpoint,
};

int main(int argc, char **argv) {
        static const struct ecl_program program = {
                .name = "ecluse-agent",
                .summary = "Gate vendor updates and support access behind officer signatures.",
                .globals = ECL_GLOBAL_ROOT | ECL_GLOBAL_JSON | ECL_GLOBAL_LOG,
                .commands = commands,
                .n_commands = ELEMENTSOF(commands),
        };
        return ecl_cli_main(&program, argc, argv);
}
