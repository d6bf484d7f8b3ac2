/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* ecluse-agent's commands: each entry (name, operands, options, code) is defined in its cmd-*.c. */
#include "cli.h"

extern const struct ecl_command agent_cmd_verify;
extern const struct ecl_command agent_cmd_audit_verify;
extern const struct ecl_command agent_cmd_audit_show;
extern const struct ecl_command agent_cmd_audit_note;
extern const struct ecl_command agent_cmd_audit_checkpoint;
