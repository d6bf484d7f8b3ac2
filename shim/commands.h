/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* ecluse-shim's commands: each entry (name, operands, options, code) is defined in its cmd-*.c. */
#include "cli.h"

extern const struct ecl_command shim_cmd_validate;
extern const struct ecl_command shim_cmd_render;
extern const struct ecl_command shim_cmd_run;
extern const struct ecl_command shim_cmd_list;
extern const struct ecl_command shim_cmd_status;
extern const struct ecl_command shim_cmd_stop;
extern const struct ecl_command shim_cmd_reload;
extern const struct ecl_command shim_cmd_blocked;
