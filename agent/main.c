/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent: the gate for vendor updates and support access.  Bundles are
 * quarantined, officers approve by signing, every decision is audited.
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "macro.h"

static const struct ecl_command commands[] = {
        {"audit", "audit verify [--checkpoint FILE [--signers FILE --signature SIG...]] | show | note --actor NAME TEXT | checkpoint",
         agent_cmd_audit},
        {"verify", "verify --signers FILE --namespace NS [--principal P] --signature SIG [--require-uv] [--counter-dir DIR] [FILE]",
         agent_cmd_verify},
};

int main(int argc, char **argv) {
        struct ecl_cli cli = {.root = ""};
        argc--, argv++;
        if (ecl_cli_extract(&argc, argv, &cli) < 0)
                return EX_USAGE;
        return ecl_cli_dispatch("ecluse-agent", "Gate vendor updates and support access behind officer signatures.",
                                commands, ELEMENTSOF(commands), &cli, argc, argv);
}
