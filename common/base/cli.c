/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stack-name.h"
#include "log.h"
#include "reason.h"
#include "strparse.h"
#include "strutil.h"

#define MAX_OPTIONS 32

static const struct {
        unsigned flag;
        const char *name;
        const char *arg;
        const char *help;
} globals[] = {
        {ECL_GLOBAL_ROOT, "root", "DIR", "prefix for every path (default: /)"},
        {ECL_GLOBAL_JSON, "json", NULL, "listings as one JSON document (--json=pretty: indented)"},
        {ECL_GLOBAL_CONNECT, "connect", "URI", "libvirt connection (default: the embedded driver, one root per stack)"},
        {ECL_GLOBAL_LOG, "log", "FILE", "audit log (default: ROOT/var/lib/ecluse/audit.log)"},
};

/* "--name" or "--name=..." (with_value): the value, "" for a bare flag; NULL when arg is not it. */
static const char *match(const char *arg, const char *name, bool with_value) {
        if (strncmp(arg, "--", 2) != 0)
                return NULL;
        size_t len = strlen(name);
        if (strncmp(arg + 2, name, len) != 0)
                return NULL;
        if (arg[2 + len] == '\0')
                return "";
        if (arg[2 + len] == '=' && with_value)
                return arg + 3 + len;
        return NULL;
}

struct globals_seen {
        bool help, version;
};

/* Take the program's global options out of argv (which keeps the rest, in order). */
static int extract_globals(const struct ecl_program *p, int *argc, char **argv, struct ecl_cli *cli,
                           struct globals_seen *seen) {
        int out = 0, i;
        for (i = 0; i < *argc; i++) {
                const char *a = argv[i];
                if (streq(a, "--"))
                        break;
                if (streq(a, "--help") || streq(a, "-h")) {
                        seen->help = true;
                        continue;
                }
                if (streq(a, "--version")) {
                        seen->version = true;
                        continue;
                }
                bool taken = false;
                for (size_t g = 0; g < ELEMENTSOF(globals) && !taken; g++) {
                        if (!(p->globals & globals[g].flag))
                                continue;
                        if (globals[g].flag == ECL_GLOBAL_JSON) {
                                const char *v = match(a, "json", true);
                                if (!v)
                                        continue;
                                if (streq(v, "") && !strchr(a, '='))
                                        cli->json = ECL_JSON_COMPACT;
                                else if (streq(v, "pretty"))
                                        cli->json = ECL_JSON_PRETTY;
                                else {
                                        log_error("--json takes no value but 'pretty', not '%s' (see %s --help)", v,
                                                  p->name);
                                        return -EINVAL;
                                }
                                taken = true;
                                continue;
                        }
                        const char *v = match(a, globals[g].name, true);
                        if (!v)
                                continue;
                        if (!strchr(a, '=')) {
                                if (i + 1 >= *argc) {
                                        log_error("option --%s needs a value (see %s --help)", globals[g].name,
                                                  p->name);
                                        return -EINVAL;
                                }
                                v = argv[++i];
                        }
                        const char **slot = globals[g].flag == ECL_GLOBAL_ROOT      ? &cli->root
                                            : globals[g].flag == ECL_GLOBAL_CONNECT ? &cli->connect
                                                                                    : &cli->log;
                        *slot = v;
                        taken = true;
                }
                if (!taken)
                        argv[out++] = argv[i];
        }
        for (; i < *argc; i++)
                argv[out++] = argv[i];
        argv[out] = NULL;
        *argc = out;
        return 0;
}

void ecl_cli_synopsis(const struct ecl_command *c, char *buf, size_t size) {
        size_t off = (size_t) snprintf(buf, size, "%s", c->name);
#define PUT(...)                                                                    \
        do {                                                                        \
                if (off < size)                                                     \
                        off += (size_t) snprintf(buf + off, size - off, __VA_ARGS__); \
        } while (0)
        for (const struct ecl_option *o = c->options; o && o->name; o++) {
                const char *open = o->required ? "" : "[", *close = o->required ? "" : "]";
                if (o->arg)
                        PUT(" %s--%s %s%s", open, o->name, o->arg, close);
                else
                        PUT(" %s--%s%s", open, o->name, close);
        }
        if (c->args)
                PUT(" %s", c->args);
#undef PUT
}

static void print_option(const char *name, const char *arg, const char *help) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
        printf("  %-22s %s\n", left, help);
}

static void print_help(const struct ecl_program *p) {
        printf("Usage: %s [OPTIONS] COMMAND [ARGS]\n\n%s\n\nCommands:\n", p->name, p->summary);
        for (size_t i = 0; i < p->n_commands; i++) {
                char syn[512];
                ecl_cli_synopsis(p->commands[i], syn, sizeof syn);
                printf("  %s\n      %s\n", syn, p->commands[i]->summary);
        }
        printf("\nOptions (anywhere on the line, before \"--\"):\n");
        for (size_t g = 0; g < ELEMENTSOF(globals); g++)
                if (p->globals & globals[g].flag)
                        print_option(globals[g].name, globals[g].arg, globals[g].help);
        print_option("help", NULL, "this help; COMMAND --help: the command's");
        print_option("version", NULL, "the version");
        printf("\nExit status: 0 ok, 64 usage, 65 bad data, 66 missing input, 69 service\n"
               "unavailable (libvirt, nftables, a shim not running), 70 internal error,\n"
               "71 out of memory, 73 cannot create (or already running), 74 I/O error,\n"
               "77 permission denied.\n");
}

static void print_command_help(const struct ecl_program *p, const struct ecl_command *c) {
        char syn[512];
        ecl_cli_synopsis(c, syn, sizeof syn);
        printf("Usage: %s %s\n\n%s\n", p->name, syn, c->summary);
        if (c->options && c->options->name) {
                printf("\nOptions:\n");
                for (const struct ecl_option *o = c->options; o->name; o++)
                        print_option(o->name, o->arg, o->help);
        }
}

/* The command argv names: one word, or two ("audit verify"); *ret_words how many it took. */
static const struct ecl_command *find_command(const struct ecl_program *p, int argc, char **argv,
                                              int *ret_words) {
        for (size_t i = 0; i < p->n_commands; i++) {
                const char *name = p->commands[i]->name, *space = strchr(name, ' ');
                if (!space && streq(argv[0], name)) {
                        *ret_words = 1;
                        return p->commands[i];
                }
                if (space && argc >= 2 && strlen(argv[0]) == (size_t) (space - name) &&
                    strncmp(argv[0], name, (size_t) (space - name)) == 0 && streq(argv[1], space + 1)) {
                        *ret_words = 2;
                        return p->commands[i];
                }
        }
        return NULL;
}

/* Whether some command's name begins with the word (a command with sub-commands). */
static bool is_group(const struct ecl_program *p, const char *word) {
        size_t n = strlen(word);
        for (size_t i = 0; i < p->n_commands; i++)
                if (strncmp(p->commands[i]->name, word, n) == 0 && p->commands[i]->name[n] == ' ')
                        return true;
        return false;
}

int ecl_cli_main(const struct ecl_program *p, int argc, char **argv) {
        struct ecl_cli cli = {.program = p->name, .root = ""};
        struct globals_seen seen = {0};
        argc--, argv++;
        if (extract_globals(p, &argc, argv, &cli, &seen) < 0)
                return EX_USAGE;
        if (seen.version) {
                printf("%s %s\n", p->name, ECLUSE_VERSION);
                return EX_OK;
        }
        if (argc < 1) {
                if (seen.help) {
                        print_help(p);
                        return EX_OK;
                }
                log_error("no command given (see %s --help)", p->name);
                return EX_USAGE;
        }
        int words = 0;
        const struct ecl_command *c = find_command(p, argc, argv, &words);
        if (!c) {
                if (is_group(p, argv[0])) {
                        if (seen.help) {
                                for (size_t i = 0; i < p->n_commands; i++)
                                        if (strncmp(p->commands[i]->name, argv[0], strlen(argv[0])) == 0 &&
                                            p->commands[i]->name[strlen(argv[0])] == ' ')
                                                print_command_help(p, p->commands[i]), printf("\n");
                                return EX_OK;
                        }
                        if (argc < 2)
                                log_error("%s: which one? (see %s %s --help)", argv[0], p->name, argv[0]);
                        else
                                log_error("unknown command '%s %s' (see %s %s --help)", argv[0], argv[1], p->name,
                                          argv[0]);
                        return EX_USAGE;
                }
                if (argv[0][0] == '-')
                        log_error("unknown option '%s' (see %s --help)", argv[0], p->name);
                else
                        log_error("unknown command '%s' (see %s --help)", argv[0], p->name);
                return EX_USAGE;
        }
        if (seen.help) {
                print_command_help(p, c);
                return EX_OK;
        }
        cli.command = c;
        if (c->no_json && cli.json)
                return ecl_exit_status(ecl_cli_usage(&cli, "--json: this command has no JSON form"));
        int r = c->run(&cli, argc - (words - 1), argv + (words - 1));
        /* Output that cannot be written (a full disk, a closed pipe) is an I/O error, not a success. */
        errno = 0;
        if ((fflush(stdout) != 0 || ferror(stdout)) && r == EX_OK) {
                int e = errno ? errno : EIO;
                log_error("cannot write the output: %s", strerror(e));
                return EX_IOERR;
        }
        return r < 0 ? ecl_exit_status(r) : r;
}

int ecl_cli_usage(const struct ecl_cli *cli, const char *fmt, ...) {
        char what[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        ecl_str_make_printable(what); /* operands quoted in it stay on the one line */
        const char *name = cli->command ? cli->command->name : "";
        log_error("%s: %s (see %s %s --help)", name, what, cli->program ? cli->program : "", name);
        return -EINVAL;
}

int ecl_cli_next(struct ecl_cli_parse *p) {
        struct option opts[MAX_OPTIONS + 1] = {{0}};
        size_t n = 0;
        const struct ecl_command *c = p->cli->command;
        for (const struct ecl_option *o = c ? c->options : NULL; o && o->name; o++) {
                assert(n < MAX_OPTIONS);
                opts[n++] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->val};
        }
        if (!p->started) {
                optind = 0; /* glibc: start afresh (and re-read the environment) */
                p->started = true;
        }
        opterr = 0;
        int longind = -1;
        int v = getopt_long(p->argc, p->argv, ":", opts, &longind);
        p->arg = optarg;
        if (v == -1) {
                p->ind = optind;
                return 0;
        }
        const char *bad = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "?";
        if (v == ':')
                return ecl_cli_usage(p->cli, "option '%s' needs a value", bad);
        if (v == '?' || v <= 0) {
                if (optopt > 0 && optopt < 128 && strncmp(bad, "--", 2) != 0)
                        return ecl_cli_usage(p->cli, "unknown option '-%c'", optopt);
                return ecl_cli_usage(p->cli, "unknown option '%s'", bad);
        }
        return v;
}

int ecl_cli_operands(const struct ecl_cli_parse *p, int min, int max) {
        int n = p->argc - p->ind;
        const char *args = p->cli->command && p->cli->command->args ? p->cli->command->args : "";
        if (n < min)
                return ecl_cli_usage(p->cli, "%s expected", min == 1 && (max == 1 || max < 0) && *args ? args
                                                                                                      : "more operands");
        if (max >= 0 && n > max) {
                if (max == 0)
                        return ecl_cli_usage(p->cli, "no operands expected, not '%s'", p->argv[p->ind]);
                return ecl_cli_usage(p->cli, "unexpected '%s' (%s)", p->argv[p->ind + max], *args ? args : "");
        }
        return 0;
}

int ecl_cli_parse_plain(const struct ecl_cli *cli, int argc, char **argv, int min, int max, int *ret_first) {
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0)
                ;
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, min, max);
        if (r < 0)
                return r;
        *ret_first = p.ind;
        return 0;
}

int ecl_cli_number(const struct ecl_cli_parse *p, const char *option, long long min, long long max,
                   long long *ret) {
        int64_t v;
        if (!p->arg || ecl_parse_int(p->arg, min, max, &v) < 0)
                return ecl_cli_usage(p->cli, "--%s wants a whole number in %lld..%lld, not '%s'", option, min, max,
                                     p->arg ? p->arg : "");
        *ret = v;
        return 0;
}

int ecl_exit_status(int r) {
        if (r >= 0)
                return r;
        switch (-r) {
        case EINVAL:
        case ENOTUNIQ: /* an ID prefix that names more than one thing */
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
        case EXDEV:
                return EX_DATAERR;
        case ENOENT:
        case ENOTDIR:
        case EISDIR:
        case ELOOP: /* a symbolic link where a file must be: refused, never followed */
                return EX_NOINPUT;
        case EACCES:
        case EPERM:
                return EX_NOPERM;
        case EEXIST:
        case ENOSPC:
        case EROFS:
        case EDQUOT:
                return EX_CANTCREAT;
        case EIO:
                return EX_IOERR;
        case ENOMEM:
                return EX_OSERR;
        case EBUSY: /* already running, or not now */
                return EX_CANTCREAT;
        case ECL_ESERVICE:
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

int ecl_cli_stack_operand(const struct ecl_cli *cli, const char *arg) {
        if (!ecl_stack_name_valid(arg))
                return ecl_cli_usage(cli, "'%s' is not a stack name", arg);
        return 0;
}
