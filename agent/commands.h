/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The ecluse-agent commands; each returns a sysexits status. */
#include "cli.h"

/* audit verify [--checkpoint FILE] | show | note --actor NAME [--subject S] TEXT | checkpoint */
int agent_cmd_audit(const struct ecl_cli *cli, int argc, char **argv);
