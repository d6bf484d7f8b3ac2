/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command-line layer (common/base/cli.c) through both real programs:
 * --help against the README's command tables, and for every command the exit
 * status and the single error line of bad arguments, a missing file and a
 * symbolic link.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static size_t count_lines(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* The synopsis lines of `PROGRAM --help` ("  NAME ..." under "Commands:"), joined by '\n'. */
static char *help_synopses(const char *bin) {
        struct tl_result res;
        tl_run((char *[]){(char *) bin, (char *) "--help", NULL}, &res);
        assert_int_equal(res.status, 0);
        char *out = tl_strf("%s", "");
        const char *p = strstr(res.out, "\nCommands:\n");
        assert_non_null(p);
        for (p += strlen("\nCommands:\n"); *p && *p != '\n'; p = strchr(p, '\n') + 1) {
                const char *eol = strchr(p, '\n');
                assert_non_null(eol);
                if (strncmp(p, "  ", 2) == 0 && p[2] != ' ') {
                        char *n = tl_strf("%s%.*s\n", out, (int) (eol - p - 2), p + 2);
                        free(out);
                        out = n;
                }
        }
        tl_result_free(&res);
        return out;
}

/* The first cells of the README's command table under the heading, joined by '\n' (markdown \| unescaped). */
static char *readme_synopses(const char *readme, const char *heading) {
        const char *p = strstr(readme, heading);
        assert_non_null(p);
        const char *end = strstr(p + strlen(heading), "\n#");
        char *out = tl_strf("%s", "");
        for (p = strstr(p, "\n| `"); p && (!end || p < end); p = strstr(p + 1, "\n| `")) {
                const char *s = p + 4, *e = strstr(s, "` |");
                assert_non_null(e);
                char *cell = tl_strf("%.*s", (int) (e - s), s);
                for (char *q; (q = strstr(cell, "\\|"));)
                        memmove(q, q + 1, strlen(q));
                char *n = tl_strf("%s%s\n", out, cell);
                free(cell);
                free(out);
                out = n;
        }
        return out;
}

static void test_readme_tables_are_the_help(void **state) {
        (void) state;
        _cleanup_free_ char *path = tl_strf("%s/README.md", ECLUSE_SOURCE_DIR);
        _cleanup_free_ char *readme = tl_read_file(path, NULL);
        assert_non_null(readme);
        _cleanup_free_ char *shim_help = help_synopses(ECLUSE_SHIM_BIN);
        _cleanup_free_ char *shim_readme = readme_synopses(readme, "### ecluse-shim\n");
        assert_string_equal(shim_readme, shim_help);
        _cleanup_free_ char *agent_help = help_synopses(ECLUSE_AGENT_BIN);
        _cleanup_free_ char *agent_readme = readme_synopses(readme, "### ecluse-agent\n");
        assert_string_equal(agent_readme, agent_help);
        assert_true(count_lines(shim_help) >= 7);
        assert_true(count_lines(agent_help) >= 5);
}

struct cmd_case {
        const char *bin;
        const char *args[12]; /* {MISSING} stands for a missing file, {LINK} a link, {DIR} a directory */
        int status;
        const char *says; /* in the one error line */
};

static void run_case(const struct cmd_case *c, const char *root, const char *missing, const char *link,
                     const char *dir) {
        char *argv[16] = {(char *) c->bin, (char *) "--root", (char *) root};
        size_t n = 3;
        for (size_t i = 0; i < ELEMENTSOF(c->args) && c->args[i]; i++) {
                const char *a = c->args[i];
                argv[n++] = (char *) (streq(a, "{MISSING}") ? missing
                                      : streq(a, "{LINK}")  ? link
                                      : streq(a, "{DIR}")   ? dir
                                                            : a);
        }
        argv[n] = NULL;
        struct tl_result res;
        tl_run(argv, &res);
        _cleanup_free_ char *line = tl_strf("%s", "");
        for (size_t i = 3; argv[i]; i++) {
                char *l = tl_strf("%s %s", line, argv[i]);
                free(line);
                line = l;
        }
        if (res.status != c->status || count_lines(res.err) != 1 || !strstr(res.err, c->says))
                fail_msg("%s%s: status %d (want %d), stderr (want one line with \"%s\"):\n%s", c->bin, line,
                         res.status, c->status, c->says, res.err);
        tl_result_free(&res);
}

static void test_every_command_fails_the_same_way(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *missing = tl_strf("%s/missing.yaml", root), *link = tl_strf("%s/link.yaml", root),
                            *target = tl_strf("%s/manifests/minimal.yaml", ECLUSE_SOURCE_DIR),
                            *dir = tl_strf("%s/dir.yaml", root);
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        const char *S = ECLUSE_SHIM_BIN, *A = ECLUSE_AGENT_BIN;
        const struct cmd_case cases[] = {
                /* bad arguments: 64 */
                {S, {"validate", "--bogus", "x.yaml"}, 64, "validate: unknown option '--bogus'"},
                {S, {"list", "x"}, 64, "list: no operands expected, not 'x'"},
                {S, {"render", "--bogus", "x.yaml"}, 64, "render: unknown option '--bogus'"},
                {S, {"render", "a.yaml", "b.yaml"}, 64, "render: unexpected 'b.yaml'"},
                {S, {"run", "--bogus", "x.yaml"}, 64, "run: unknown option '--bogus'"},
                {S, {"run", "--console-cap", "1", "x.yaml"}, 64, "run: --console-cap wants a whole number"},
                {S, {"run", "--shutdown-timeout"}, 64, "run: option '--shutdown-timeout' needs a value"},
                {S, {"status", "--bogus"}, 64, "status: unknown option '--bogus'"},
                {S, {"status", "a", "b"}, 64, "status: unexpected 'b'"},
                {S, {"stop", "--bogus", "x"}, 64, "stop: unknown option '--bogus'"},
                {S, {"stop", "--timeout=0", "x"}, 64, "stop: --timeout wants a whole number in 1..3600"},
                {S, {"stop"}, 64, "stop: STACK expected"},
                {S, {"reload", "--bogus", "x"}, 64, "reload: unknown option '--bogus'"},
                {S, {"blocked"}, 64, "blocked: STACK expected"},
                {S, {"status", "Bad/x"}, 64, "status: 'Bad/x' is not a stack name (see ecluse-shim status --help)"},
                {S, {"stop", "Bad/x"}, 64, "stop: 'Bad/x' is not a stack name (see ecluse-shim stop --help)"},
                {S, {"reload", "Bad/x"}, 64, "reload: 'Bad/x' is not a stack name (see ecluse-shim reload --help)"},
                {S, {"blocked", "Bad/x"}, 64, "blocked: 'Bad/x' is not a stack name (see ecluse-shim blocked --help)"},
                {S, {"status", "a\nb"}, 64, "status: 'a?b' is not a stack name"},
                {S, {"--json", "render", "x.yaml"}, 64, "render: --json: this command has no JSON form (see ecluse-shim render --help)"},
                {S, {"run", "--json", "x.yaml"}, 64, "run: --json: this command has no JSON form (see ecluse-shim run --help)"},
                {S, {"bogus"}, 64, "unknown command 'bogus'"},
                {S, {"--log", "x", "status"}, 64, "unknown option '--log'"},
                {A, {"verify", "--bogus"}, 64, "verify: unknown option '--bogus'"},
                {A, {"verify", "x"}, 64, "verify: --signers, --namespace and --signature are required"},
                {A, {"audit", "verify", "--bogus"}, 64, "audit verify: unknown option '--bogus'"},
                {A, {"audit", "show", "x"}, 64, "audit show: no operands expected, not 'x'"},
                {A, {"audit", "note", "text"}, 64, "audit note: --actor NAME is required"},
                {A, {"audit", "checkpoint", "--bogus"}, 64, "audit checkpoint: unknown option '--bogus'"},
                {A, {"audit", "bogus"}, 64, "unknown command 'audit bogus'"},
                {A, {"--connect", "x", "audit", "show"}, 64, "unknown option '--connect'"},
                /* a missing file: 66 */
                {S, {"validate", "{MISSING}"}, 66, "cannot open: No such file or directory"},
                {S, {"render", "{MISSING}"}, 66, "cannot open: No such file or directory"},
                {S, {"run", "{MISSING}"}, 66, "cannot open: No such file or directory"},
                /* no stacks configured under the root: 66 */
                {S, {"validate"}, 66, "no stacks directory"},
                {S, {"list"}, 66, "no stacks directory"},
                {A, {"verify", "--signers", "{MISSING}", "--namespace", "n", "--signature", "{MISSING}"}, 66,
                 "cannot open: No such file or directory"},
                {A, {"--log", "{MISSING}", "audit", "verify"}, 66, "No such file or directory"},
                {A, {"--log", "{MISSING}", "audit", "show"}, 66, "No such file or directory"},
                {A, {"--log", "{MISSING}", "audit", "checkpoint"}, 66, "No such file or directory"},
                /* a symbolic link where a file must be: refused, 66 */
                {S, {"validate", "{LINK}"}, 66, "a symbolic link (refused: opened without following links)"},
                {S, {"render", "{LINK}"}, 66, "a symbolic link (refused: opened without following links)"},
                {S, {"run", "{LINK}"}, 66, "a symbolic link (refused: opened without following links)"},
                {A, {"verify", "--signers", "{LINK}", "--namespace", "n", "--signature", "{LINK}"}, 66,
                 "a symbolic link (refused: opened without following links)"},
                /* a directory where a file must be: refused, 66, in the same words */
                {S, {"validate", "{DIR}"}, 66, "a directory, not a regular file"},
                {S, {"render", "{DIR}"}, 66, "a directory, not a regular file"},
                {S, {"run", "{DIR}"}, 66, "a directory, not a regular file"},
                {A, {"verify", "--signers", "{DIR}", "--namespace", "n", "--signature", "{DIR}"}, 66,
                 "a directory, not a regular file"},
                {A, {"--log", "{DIR}", "audit", "verify"}, 66, "a directory, not a regular file"},
                {A, {"--log", "{DIR}", "audit", "show"}, 66, "a directory, not a regular file"},
                {A, {"--log", "{DIR}", "audit", "checkpoint"}, 66, "a directory, not a regular file"},
                {A, {"--log", "{DIR}", "audit", "note", "--actor", "a", "t"}, 66, "a directory, not a regular file"},
                /* a stack that is not running: 69 */
                {S, {"status", "office"}, 69, "office"},
                {S, {"stop", "office"}, 69, "office"},
                {S, {"reload", "office"}, 69, "office"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(&cases[i], root, missing, link, dir);
        tl_rm_rf(root);
}

/* A configured STACK.yaml that is a link: refused alike by run STACK, validate and list (66, one line). */
static void test_configured_link_is_refused_everywhere(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/etc/ecluse/stacks", root), *link = tl_strf("%s/office.yaml", dir),
                            *target = tl_strf("%s/manifests/minimal.yaml", ECLUSE_SOURCE_DIR);
        tl_mkdir_p(dir);
        assert_int_equal(symlink(target, link), 0);
        const char *S = ECLUSE_SHIM_BIN;
        const struct cmd_case cases[] = {
                {S, {"run", "office"}, 66, "office.yaml: error: a symbolic link (refused: opened without following links)"},
                {S, {"validate", "office"}, 66, "office.yaml: error: a symbolic link (refused: opened without following links)"},
                {S, {"validate"}, 66, "office.yaml: error: a symbolic link (refused: opened without following links)"},
                {S, {"list"}, 66, "office.yaml: error: a symbolic link (refused: opened without following links)"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(&cases[i], root, "", "", "");
        tl_rm_rf(root);
}

/*
 * The agent's files, each a link, missing, a directory: refused in fileio's words, 66, one line naming
 * the file.  The other inputs are good, so that the one under test is what is refused.
 */
static void test_agent_files_refused_alike(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        const char *A = ECLUSE_AGENT_BIN;
        _cleanup_free_ char *log = tl_strf("%s/audit.log", root), *cp = tl_strf("%s/cp", root),
                            *signers = tl_strf("%s/signers", root), *sig = tl_strf("%s/sig", root);
        char *note[] = {(char *) A, (char *) "--log", log, (char *) "audit", (char *) "note", (char *) "--actor",
                        (char *) "a", (char *) "t", NULL};
        struct tl_result res;
        tl_run(note, &res);
        assert_int_equal(res.status, 0);
        tl_result_free(&res);
        char *mkcp[] = {(char *) A, (char *) "--log", log, (char *) "audit", (char *) "checkpoint", NULL};
        tl_run(mkcp, &res);
        assert_int_equal(res.status, 0);
        tl_write_file(cp, res.out, strlen(res.out));
        tl_result_free(&res);
        tl_write_file(signers, "", 0);
        tl_write_file(sig, "x", 1);
        struct {
                const char *name, *says;
        } kinds[] = {
                {"link", "a symbolic link (refused: opened without following links)"},
                {"missing", "cannot open: No such file or directory"},
                {"dir", "a directory, not a regular file"},
        };
        _cleanup_free_ char *link = tl_strf("%s/link", root), *missing = tl_strf("%s/missing", root),
                            *dir = tl_strf("%s/dir", root);
        assert_int_equal(symlink(log, link), 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        const char *bad[] = {link, missing, dir};
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                const char *f = bad[k];
                _cleanup_free_ char *as_log = tl_strf("audit log %s: %s", f, kinds[k].says),
                                    *as_cp = tl_strf("checkpoint %s: %s", f, kinds[k].says),
                                    *as_sig = tl_strf("signature file %s: %s", f, kinds[k].says),
                                    *as_msg = tl_strf("message file %s: %s", f, kinds[k].says);
                const struct cmd_case cases[] = {
                        {A, {"--log", f, "audit", "verify"}, 66, as_log},
                        {A, {"--log", f, "audit", "show"}, 66, as_log},
                        {A, {"--log", f, "audit", "checkpoint"}, 66, as_log},
                        {A, {"--log", log, "audit", "verify", "--checkpoint", f}, 66, as_cp},
                        {A, {"--log", log, "audit", "verify", "--checkpoint", cp, "--signers", signers, "--signature", f},
                         66, as_sig},
                        {A, {"verify", "--signers", signers, "--namespace", "n", "--signature", sig, f}, 66, as_msg},
                };
                for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                        run_case(&cases[i], root, "", "", "");
                /* A missing log is where a note starts one; a link or a directory is refused. */
                if (f != missing) {
                        const struct cmd_case n = {A, {"--log", f, "audit", "note", "--actor", "a", "t"}, 66, as_log};
                        run_case(&n, root, "", "", "");
                }
        }
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_readme_tables_are_the_help),
                cmocka_unit_test(test_every_command_fails_the_same_way),
                cmocka_unit_test(test_configured_link_is_refused_everywhere),
                cmocka_unit_test(test_agent_files_refused_alike),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
