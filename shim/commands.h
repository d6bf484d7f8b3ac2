/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The ecluse-shim commands; each returns a sysexits status. */
#include "cli.h"

int shim_cmd_validate(const struct ecl_cli *cli, int argc, char **argv);
int shim_cmd_render(const struct ecl_cli *cli, int argc, char **argv);
int shim_cmd_blocked(const struct ecl_cli *cli, int argc, char **argv);
int shim_cmd_status(const struct ecl_cli *cli, int argc, char **argv);
int shim_cmd_stop(const struct ecl_cli *cli, int argc, char **argv);
int shim_cmd_reload(const struct ecl_cli *cli, int argc, char **argv);
int shim_cmd_run(const struct ecl_cli *cli, int argc, char **argv);
