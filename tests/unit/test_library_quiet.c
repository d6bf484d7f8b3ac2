/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Library code prints nothing above debug level (common/base/reason.h): it
 * returns a negative errno and hands the reason back, and only commands
 * print.  The agent's daemon will send those reasons to its audit log and
 * syslog, where a line on stderr would be lost.  This test reads the sources
 * of the modules that already follow the rule and fails on any call that
 * prints to the terminal or a log: log_error*, log_warning*, log_notice,
 * log_oom, ecl_logv, ecl_log_errno at any level but a literal ECL_LOG_DEBUG
 * (a level in a variable counts), printf, vprintf, puts, putchar, perror,
 * syslog, vsyslog, any use of stdout, stderr, STDOUT_FILENO or
 * STDERR_FILENO, and write() or dprintf() on fd 1 or 2.
 *
 * Output is not logging: a function that writes to a FILE * (or a file
 * descriptor) its caller gives it (fprintf(f, ...), fputs(s, f) into a
 * memstream, a file, or the stdout a command passes in) prints nothing by
 * itself, and passes.  Only the command chooses stdout.
 *
 * Exceptions are listed, each with its reason, in
 * tests/data/library-quiet.allow.
 */
#include <ctype.h>
#include <glob.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/*
 * The library code, relative to the source tree: everything but the
 * commands (cmd-*.c, which print what they are asked for and every error
 * once) and the programs' main.c.  A new module is covered by being there.
 */
static const char *const quiet[] = {
        "common/*/*.c",
        "shim/*.c",
        "agent/*.c",
};

static bool is_command(const char *rel) {
        const char *base = strrchr(rel, '/');
        base = base ? base + 1 : rel;
        return strncmp(base, "cmd-", 4) == 0 || streq(base, "main.c");
}

#define PRINTS                                                                                          \
        "\\b(log_(error|warning)[a-z_]*|log_notice|log_oom|ecl_logv|ecl_log_errno|printf|vprintf|puts|" \
        "putchar|perror|syslog|vsyslog)[[:space:]]*\\(|"                                                \
        "\\b(stdout|stderr|STDOUT_FILENO|STDERR_FILENO)\\b|"                                             \
        "\\b(write|dprintf)[[:space:]]*\\([[:space:]]*[12][[:space:]]*,"

/* ecl_log_errno(ECL_LOG_DEBUG, ...), what log_debug() is, prints nothing by default. */
static bool is_debug(const char *code, const regmatch_t *m) {
        const char *call = code + m->rm_so;
        if (strncmp(call, "ecl_log_errno", strlen("ecl_log_errno")) != 0)
                return false;
        const char *arg = code + m->rm_eo;
        arg += strspn(arg, " \t\n");
        return strncmp(arg, "ECL_LOG_DEBUG", 13) == 0 && !isalnum((unsigned char) arg[13]) && arg[13] != '_';
}

/* The code of a C source with comments and the contents of string and character literals blanked out. */
static char *code_only(const char *src) {
        char *out = strdup(src);
        assert_non_null(out);
        enum { CODE, LINE, BLOCK, STR, CHR } st = CODE;
        for (size_t i = 0; out[i]; i++) {
                char c = src[i], n = src[i + 1];
                switch (st) {
                case CODE:
                        if (c == '/' && n == '/')
                                st = LINE, out[i] = ' ';
                        else if (c == '/' && n == '*')
                                st = BLOCK, out[i] = ' ';
                        else if (c == '"')
                                st = STR;
                        else if (c == '\'')
                                st = CHR;
                        continue;
                case LINE:
                        if (c == '\n')
                                st = CODE;
                        else
                                out[i] = ' ';
                        continue;
                case BLOCK:
                        if (c == '*' && n == '/') {
                                out[i] = out[i + 1] = ' ';
                                i++;
                                st = CODE;
                        } else if (c != '\n') {
                                out[i] = ' ';
                        }
                        continue;
                case STR:
                case CHR:
                        if (c == '\\' && n) {
                                out[i] = out[i + 1] = ' ';
                                i++;
                        } else if (c == (st == STR ? '"' : '\'')) {
                                st = CODE;
                        } else if (c != '\n') {
                                out[i] = ' ';
                        }
                        continue;
                }
        }
        return out;
}

/* Append "PATH:LINE: TEXT" for each printing call in src to *report; returns how many. */
static size_t find_prints(const char *path, const char *src, char **report) {
        regex_t re;
        assert_int_equal(regcomp(&re, PRINTS, REG_EXTENDED | REG_NEWLINE), 0);
        _cleanup_free_ char *code = code_only(src);
        size_t found = 0;
        regmatch_t m;
        for (const char *p = code; regexec(&re, p, 1, &m, p == code ? 0 : REG_NOTBOL) == 0; p += m.rm_eo) {
                if (is_debug(p, &m))
                        continue;
                size_t at = (size_t) (p - code) + (size_t) m.rm_so, line = 1, bol = 0;
                for (size_t i = 0; i < at; i++)
                        if (code[i] == '\n')
                                line++, bol = i + 1;
                size_t eol = bol + strcspn(src + bol, "\n");
                char *r = tl_strf("%s%s:%zu: %.*s\n", *report ? *report : "", path, line, (int) (eol - bol), src + bol);
                free(*report);
                *report = r;
                found++;
        }
        regfree(&re);
        return found;
}

struct allowed {
        char path[256];
        bool used;
};

static size_t load_allowed(struct allowed *a, size_t max) {
        _cleanup_free_ char *file = tl_strf("%s/tests/data/library-quiet.allow", ECLUSE_SOURCE_DIR);
        _cleanup_free_ char *text = tl_read_file(file, NULL);
        assert_non_null(text);
        size_t n = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (l[0] == '#' || l[0] == '\0')
                        continue;
                size_t plen = strcspn(l, " \t");
                const char *why = l + plen + strspn(l + plen, " \t");
                if (strlen(why) < 10)
                        fail_msg("library-quiet.allow: %.*s: give the reason it must print", (int) plen, l);
                assert_true(n < max && plen < sizeof a[n].path);
                snprintf(a[n].path, sizeof a[n].path, "%.*s", (int) plen, l);
                a[n++].used = false;
        }
        return n;
}

/* The scanner itself: a call counts, the same words in a comment or a string do not. */
static void test_scanner(void **state) {
        (void) state;
        const char *src = "/* log_error(\"x\"); */\n"
                          "int f(void) {\n"
                          "        // log_warning(\"y\");\n"
                          "        const char *s = \"log_notice(\\\"z\\\") stderr\";\n"
                          "        log_debug(\"fine\");\n"
                          "        my_log_error(1);\n"
                          "        return log_error_errno(EIO, \"planted\");\n"
                          "}\n"
                          "void g(void) { fprintf(stderr, \"a\"); (void) ecl_log_errno(ECL_LOG_NOTICE, 0, \"b\"); }\n"
                          "void h(void) { (void) ecl_log_errno(ECL_LOG_DEBUG, 0, \"c\"); log_oom (); }\n";
        _cleanup_free_ char *report = NULL;
        assert_int_equal(find_prints("x.c", src, &report), 4);
        assert_non_null(strstr(report, "x.c:7:         return log_error_errno(EIO, \"planted\");\n"));
        assert_non_null(strstr(report, "x.c:9: void g"));
        assert_non_null(strstr(report, "x.c:10: void h"));
}

/* Every other way to print to the terminal or a log counts; output to a stream the caller gives does not. */
static void test_scanner_output(void **state) {
        (void) state;
        static const char *const prints[] = {
                "printf(\"x\");",
                "vprintf(fmt, ap);",
                "puts(\"x\");",
                "putchar ('x');",
                "fprintf(stdout, \"x\");",
                "fputs(s, stderr);",
                "fflush(stdout);",
                "(void) write(STDOUT_FILENO, s, n);",
                "(void) write(STDERR_FILENO, s, n);",
                "(void) write(1, s, n);",
                "(void) write( 2 , s, n);",
                "dprintf(1, \"x\");",
                "dprintf(2, \"x\");",
                "syslog(LOG_NOTICE, \"x\");",
                "vsyslog(LOG_NOTICE, fmt, ap);",
                "(void) ecl_log_errno(level, 0, \"x\");",
                "(void) ecl_log_errno(ECL_LOG_DEBUGGING, 0, \"x\");",
                "perror(\"x\");",
        };
        for (size_t i = 0; i < ELEMENTSOF(prints); i++) {
                _cleanup_free_ char *src = tl_strf("void f(void) {\n        %s\n}\n", prints[i]);
                _cleanup_free_ char *report = NULL;
                if (find_prints("y.c", src, &report) != 1)
                        fail_msg("not found once: %s", prints[i]);
                _cleanup_free_ char *want = tl_strf("y.c:2:         %s\n", prints[i]);
                assert_string_equal(report, want);
        }
        const char *quiet_src = "void f(FILE *f, int fd) {\n"
                                "        fprintf(f, \"%d\", 1);\n"
                                "        fputs(\"x\", f); fputc('x', f); fwrite(s, 1, n, f);\n"
                                "        snprintf(buf, sizeof buf, \"x\"); dprintf(fd, \"x\"); dprintf(12, \"x\");\n"
                                "        (void) write(fd, s, n); (void) fwrite(s, 1, 2, f); (void) write(21, s, n);\n"
                                "        (void) ecl_log_errno(ECL_LOG_DEBUG, 0, \"x\"); log_debug(\"printf(stdout)\");\n"
                                "        /* printf(\"x\"); syslog(LOG_ERR, \"x\"); write(2, s, n); */\n"
                                "        const char *w = \"puts(stderr) STDERR_FILENO\";\n"
                                "        my_printf(\"x\"); fputs_stdout_like(f); int stdout_lines = 0;\n"
                                "}\n";
        _cleanup_free_ char *report = NULL;
        if (find_prints("z.c", quiet_src, &report) != 0)
                fail_msg("output to a given stream counted:\n%s", report);
}

static void test_quiet_modules_print_nothing(void **state) {
        (void) state;
        struct allowed allowed[32];
        size_t n_allowed = load_allowed(allowed, ELEMENTSOF(allowed));
        _cleanup_free_ char *report = NULL;
        size_t files = 0;
        for (size_t i = 0; i < ELEMENTSOF(quiet); i++) {
                _cleanup_free_ char *pattern = tl_strf("%s/%s", ECLUSE_SOURCE_DIR, quiet[i]);
                glob_t g;
                if (glob(pattern, 0, NULL, &g) != 0)
                        fail_msg("%s: no such module (update the list in %s)", quiet[i], __FILE__);
                for (size_t k = 0; k < g.gl_pathc; k++) {
                        const char *rel = g.gl_pathv[k] + strlen(ECLUSE_SOURCE_DIR) + 1;
                        if (is_command(rel))
                                continue;
                        _cleanup_free_ char *src = tl_read_file(g.gl_pathv[k], NULL);
                        assert_non_null(src);
                        files++;
                        _cleanup_free_ char *found = NULL;
                        size_t hits = find_prints(rel, src, &found);
                        bool ok = false;
                        for (size_t a = 0; a < n_allowed; a++)
                                if (streq(allowed[a].path, rel)) {
                                        ok = true;
                                        allowed[a].used = hits > 0;
                                        if (!hits)
                                                fail_msg("library-quiet.allow: %s prints nothing now: drop it", rel);
                                }
                        if (hits && !ok) {
                                char *r = tl_strf("%s%s", report ? report : "", found);
                                free(report);
                                report = r;
                        }
                }
                globfree(&g);
        }
        assert_true(files > ELEMENTSOF(quiet));
        for (size_t a = 0; a < n_allowed; a++)
                if (!allowed[a].used)
                        fail_msg("library-quiet.allow: %s is not a quiet module's file", allowed[a].path);
        if (report)
                fail_msg("library code prints; return the errno and hand the reason back (char **ret_reason, "
                         "reason.h), log_debug for diagnostics, and let the command print it:\n%s",
                         report);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scanner),
                cmocka_unit_test(test_scanner_output),
                cmocka_unit_test(test_quiet_modules_print_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
