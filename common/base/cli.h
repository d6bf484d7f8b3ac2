/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Command-line plumbing shared by ecluse-shim and ecluse-agent: one table
 * per program lists its global options and its commands with their options;
 * `--help`, `COMMAND --help` and the README's command tables come from it.
 *
 * Global options may stand anywhere before "--".  A command parses its own
 * options with ecl_cli_next() (getopt_long underneath: `--opt value` and
 * `--opt=value`, "--" ends the options) and numbers with ecl_cli_number().
 *
 * Exit status: a command returns a negative errno or a sysexits.h status
 * (>= 0); ecl_cli_main() maps an errno through ecl_exit_status(), the one
 * table of DESIGN.md's codes.  Every error is printed once, as one line, by
 * whoever detects it in the command layer (the parser here for bad
 * arguments); library code hands reasons back (reason.h) and prints nothing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sysexits.h>

/* Global options: which of them a program takes (struct ecl_program.globals). */
enum {
        ECL_GLOBAL_ROOT = 1 << 0,    /* --root DIR */
        ECL_GLOBAL_JSON = 1 << 1,    /* --json[=pretty] */
        ECL_GLOBAL_CONNECT = 1 << 2, /* --connect URI (ecluse-shim) */
        ECL_GLOBAL_LOG = 1 << 3,     /* --log FILE (ecluse-agent) */
};

enum ecl_json_style { ECL_JSON_OFF, ECL_JSON_COMPACT, ECL_JSON_PRETTY };

struct ecl_command;

/* What a command is given: the global options and its own table entry. */
struct ecl_cli {
        const char *program;          /* "ecluse-shim" */
        const struct ecl_command *command;
        const char *root;             /* --root DIR, "" for the host */
        enum ecl_json_style json;     /* --json (compact), --json=pretty */
        const char *connect;          /* --connect URI, NULL when not given */
        const char *log;              /* --log FILE, NULL when not given */
};

/* One option of a command. */
struct ecl_option {
        const char *name;  /* long name without "--"; NULL ends a list */
        int val;           /* what ecl_cli_next() returns for it (> 0) */
        const char *arg;   /* NULL: a flag; else the value's name in --help, "S", "FILE" */
        const char *help;  /* one line */
        bool required;     /* shown without brackets in the synopsis */
};

#define ECL_OPTION(n, v, a, h) {.name = (n), .val = (v), .arg = (a), .help = (h)}
#define ECL_OPTION_REQUIRED(n, v, a, h) {.name = (n), .val = (v), .arg = (a), .help = (h), .required = true}
#define ECL_OPTIONS_END {.name = NULL}

struct ecl_command {
        const char *name;    /* "status", or "audit verify" for a command with a sub-command */
        const char *args;    /* the positional part of the synopsis, "MANIFEST...", or NULL */
        const char *summary; /* one line for --help */
        const struct ecl_option *options; /* NULL-name terminated, or NULL */
        bool no_json;        /* it has no JSON form: --json is a usage error, not ignored */
        /* argv[0] is the command's last word; returns 0, a negative errno or a sysexits status */
        int (*run)(const struct ecl_cli *cli, int argc, char **argv);
};

struct ecl_program {
        const char *name;
        const char *summary;
        unsigned globals; /* ECL_GLOBAL_* */
        /* Each command's entry is defined beside its code (cmd-*.c); this lists them, in --help order. */
        const struct ecl_command *const *commands;
        size_t n_commands;
};

/* Parse the global options, dispatch, print help; returns the exit status. */
int ecl_cli_main(const struct ecl_program *p, int argc, char **argv);

/*
 * The synopsis of a command, "stop [--no-wait] [--timeout S] STACK", into
 * buf; what --help prints and the README's tables show.
 */
void ecl_cli_synopsis(const struct ecl_command *c, char *buf, size_t size);

/* State of a command's option parsing. */
struct ecl_cli_parse {
        const struct ecl_cli *cli;
        int argc;
        char **argv;
        const char *arg; /* the value of the option just returned */
        int ind;         /* after the end: the index of the first operand */
        bool started;
};

/*
 * The next option of the command: its val, with p->arg set for an option
 * that takes a value; 0 when the options end (p->ind then indexes the first
 * operand: options and operands may be mixed, "--" ends the options); or
 * -EINVAL after printing one error line (unknown option, missing value).
 */
int ecl_cli_next(struct ecl_cli_parse *p);

/*
 * After the options: check that there are min..max operands (max -1: no
 * limit); -EINVAL after one error line otherwise.
 */
int ecl_cli_operands(const struct ecl_cli_parse *p, int min, int max);

/* For a command without options of its own: parse (refusing any option) and check the operands. */
int ecl_cli_parse_plain(const struct ecl_cli *cli, int argc, char **argv, int min, int max, int *ret_first);

/* p->arg as an integer in [min, max]; -EINVAL after one error line naming the option. */
int ecl_cli_number(const struct ecl_cli_parse *p, const char *option, long long min, long long max,
                   long long *ret);

/* A STACK operand: 0, or one usage error ("'X' is not a stack name") and -EINVAL. */
int ecl_cli_stack_operand(const struct ecl_cli *cli, const char *arg);

/* Print one usage error for the running command ("see PROGRAM COMMAND --help"); returns -EINVAL. */
int ecl_cli_usage(const struct ecl_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The sysexits status for a negative errno (a status >= 0 is returned as it is). */
int ecl_exit_status(int r);
