/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The ecluse-agent commands; each returns a sysexits status. */
#include "cli.h"

int agent_cmd_verify(const struct ecl_cli *cli, int argc, char **argv);
