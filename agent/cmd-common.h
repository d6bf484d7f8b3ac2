/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What several of the agent's commands do the same way, printing their errors (a command-level helper). */
#include "cli.h"
#include "store.h"

/* Open the state tree under --root; on failure one error line and the negative errno. */
int agent_cmd_open_store(const struct ecl_cli *cli, struct agent_store **ret);
