/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* Value of "--name=VALUE" or "--name VALUE"; returns how many argv items it used. */
static int take_value(int *i, int argc, char **argv, const char *name, const char **value) {
        size_t len = strlen(name);
        const char *a = argv[*i];
        if (a[len] == '=') {
                *value = a + len + 1;
                return 1;
        }
        if (*i + 1 >= argc) {
                log_error("option %s needs a value (see --help)", name);
                return -EINVAL;
        }
        *value = argv[++*i];
        return 2;
}

static bool is_opt(const char *arg, const char *name, bool with_value) {
        size_t len = strlen(name);
        if (strncmp(arg, name, len) != 0)
                return false;
        return arg[len] == '\0' || (with_value && arg[len] == '=');
}

int ecl_cli_extract(int *argc, char **argv, struct ecl_cli *cli) {
        int out = 0, i;
        for (i = 0; i < *argc; i++) {
                const char *a = argv[i];
                const char **value = NULL;
                if (streq(a, "--")) {
                        break;
                } else if (is_opt(a, "--root", true)) {
                        value = &cli->root;
                } else if (is_opt(a, "--connect", true)) {
                        value = &cli->connect;
                } else if (is_opt(a, "--log", true)) {
                        value = &cli->log;
                } else if (streq(a, "--json")) {
                        cli->json = true;
                        continue;
                } else if (streq(a, "--help") || streq(a, "-h")) {
                        cli->help = true;
                        continue;
                } else if (streq(a, "--version")) {
                        cli->version = true;
                        continue;
                } else {
                        argv[out++] = argv[i];
                        continue;
                }
                const char *name = streq(a, "--root") || !strncmp(a, "--root=", 7) ? "--root"
                                   : !strncmp(a, "--log", 5)                         ? "--log"
                                                                                     : "--connect";
                int r = take_value(&i, *argc, argv, name, value);
                if (r < 0)
                        return r;
        }
        for (; i < *argc; i++)
                argv[out++] = argv[i];
        argv[out] = NULL;
        *argc = out;
        return 0;
}

static void print_help(const char *program, const char *summary, const struct ecl_command *commands,
                       size_t n) {
        printf("Usage: %s [OPTIONS] COMMAND [ARGS]\n\n%s\n\nCommands:\n", program, summary);
        for (size_t i = 0; i < n; i++)
                printf("  %s\n", commands[i].synopsis);
        printf("\nOptions:\n"
               "  --root DIR     prefix for every path (default: /)\n"
               "  --json         machine-readable output for listings\n"
               "  --connect URI  libvirt connection (ecluse-shim; default: the embedded driver)\n"
               "  --log FILE     audit log (ecluse-agent; default: ROOT/var/lib/ecluse/audit.log)\n"
               "  --help         show this help\n"
               "  --version      show the version\n\n"
               "Exit status: 0 ok, 64 usage, 65 bad data, 66 missing input,\n"
               "69 service unavailable, 73 cannot create, 77 permission denied.\n");
}

int ecl_cli_dispatch(const char *program, const char *summary, const struct ecl_command *commands,
                     size_t n, const struct ecl_cli *cli, int argc, char **argv) {
        if (cli->version) {
                printf("%s %s\n", program, ECLUSE_VERSION);
                return EX_OK;
        }
        if (argc < 1) {
                if (cli->help) {
                        print_help(program, summary, commands, n);
                        return EX_OK;
                }
                log_error("no command given (see %s --help)", program);
                return EX_USAGE;
        }
        for (size_t i = 0; i < n; i++) {
                if (!streq(argv[0], commands[i].name))
                        continue;
                if (cli->help) {
                        printf("Usage: %s %s\n", program, commands[i].synopsis);
                        return EX_OK;
                }
                return commands[i].run(cli, argc, argv);
        }
        log_error("unknown command '%s' (see %s --help)", argv[0], program);
        return EX_USAGE;
}

int ecl_exit_status(int r) {
        switch (r < 0 ? -r : r) {
        case 0:
                return EX_OK;
        case EINVAL:
                return EX_USAGE;
        case EBADMSG:
        case EILSEQ:
        case EKEYREJECTED:
        case EKEYEXPIRED:
        case EKEYREVOKED:
        case ENOKEY:
        case EFBIG:
        case E2BIG:
        case ERANGE:
        case EPROTO:
                return EX_DATAERR;
        case ENOENT:
        case ENOTDIR:
                return EX_NOINPUT;
        case EACCES:
        case EPERM:
                return EX_NOPERM;
        case EEXIST:
        case ENOSPC:
        case EROFS:
        case EDQUOT:
                return EX_CANTCREAT;
        case ECONNREFUSED:
        case ECONNRESET:
        case EHOSTUNREACH:
        case ENOTCONN:
        case EAGAIN:
        case ETIMEDOUT:
        case EOPNOTSUPP:
        case ENODEV:
        case ESRCH:
                return EX_UNAVAILABLE;
        default:
                return EX_SOFTWARE;
        }
}
