/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The ecluse-agent commands; each returns a sysexits status. */
#include "cli.h"

/* audit verify [--checkpoint FILE [--signers FILE --signature SIG...]] | show | note | checkpoint */
int agent_cmd_audit(const struct ecl_cli *cli, int argc, char **argv);
int agent_cmd_verify(const struct ecl_cli *cli, int argc, char **argv);
