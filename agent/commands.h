/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* ecluse-agent's commands: each entry (name, operands, options, code) is defined in its cmd-*.c. */
#include "cli.h"

extern const struct ecl_command agent_cmd_verify;
extern const struct ecl_command agent_cmd_audit_verify;
extern const struct ecl_command agent_cmd_audit_show;
extern const struct ecl_command agent_cmd_audit_note;
extern const struct ecl_command agent_cmd_audit_checkpoint;
extern const struct ecl_command agent_cmd_serve;
extern const struct ecl_command agent_cmd_import;
extern const struct ecl_command agent_cmd_list;
extern const struct ecl_command agent_cmd_show;
extern const struct ecl_command agent_cmd_statement;
extern const struct ecl_command agent_cmd_approve;
extern const struct ecl_command agent_cmd_reject;
extern const struct ecl_command agent_cmd_apply;
extern const struct ecl_command agent_cmd_rollback;
extern const struct ecl_command agent_cmd_releases;
