/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Command-line plumbing shared by ecluse-shim and ecluse-agent: global options
 * that may stand anywhere on the line, a command table, and the mapping from
 * a negative errno to the sysexits.h status of DESIGN.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sysexits.h>

/* Options every command understands, wherever they stand (before "--"). */
struct ecl_cli {
        const char *root;       /* --root DIR, "" for the host */
        bool json;              /* --json */
        bool help;              /* --help */
        bool version;           /* --version */
        const char *connect;    /* --connect URI (shim) */
        const char *log;        /* --log FILE (agent) */
};

/*
 * Take the global options out of argv (argv keeps the rest, in order, still
 * NULL-terminated, and *argc shrinks).  Returns 0, or -EINVAL after printing
 * a usage error.
 */
int ecl_cli_extract(int *argc, char **argv, struct ecl_cli *cli);

struct ecl_command {
        const char *name;
        const char *synopsis;   /* one line for --help */
        /* argv[0] is the command name; returns a sysexits status */
        int (*run)(const struct ecl_cli *cli, int argc, char **argv);
};

/* Dispatch argv (after extraction) to a command of the table; prints help. */
int ecl_cli_dispatch(const char *program, const char *summary, const struct ecl_command *commands,
                     size_t n_commands, const struct ecl_cli *cli, int argc, char **argv);

/* sysexits status for a negative errno from a library call. */
int ecl_exit_status(int r);
