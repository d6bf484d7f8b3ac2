/* SPDX-License-Identifier: Apache-2.0 */
/* log: one line on stderr, "PROGRAM: LEVEL: WHAT", with no control character of what it quotes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testlib.h"

/* What fn printed on stderr. */
static char *stderr_of(void (*fn)(void)) {
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        FILE *tmp = tmpfile();
        assert_non_null(tmp);
        assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
        fn();
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        long n = ftell(tmp);
        assert_true(n >= 0);
        char *buf = calloc(1, (size_t) n + 1);
        assert_non_null(buf);
        rewind(tmp);
        assert_int_equal(fread(buf, 1, (size_t) n, tmp), (size_t) n);
        fclose(tmp);
        return buf;
}

static void print_quoted(void) {
        /* an error text from a shim, libvirt or QEMU that tries to drive the terminal */
        log_error("stack x: %s", "a\x1b]52;c;Zm9v\x07\x1b[2Jb\nc\xc2\x9b" "1m");
}

static void print_errno(void) {
        (void) log_warning_errno(ENOENT, "cannot open %s: %m", "/x");
}

static void test_control_characters_never_printed(void **state) {
        (void) state;
        _cleanup_free_ char *out = stderr_of(print_quoted);
        _cleanup_free_ char *want = tl_strf("%s: error: stack x: a?]52;c;Zm9v??[2Jb?c?1m\n",
                                            program_invocation_short_name);
        assert_string_equal(out, want);
}

static void test_errno_text(void **state) {
        (void) state;
        _cleanup_free_ char *out = stderr_of(print_errno);
        _cleanup_free_ char *want = tl_strf("%s: warning: cannot open /x: No such file or directory\n",
                                            program_invocation_short_name);
        assert_string_equal(out, want);
        assert_int_equal(log_warning_errno(ENOENT, "x"), -ENOENT);
        assert_int_equal(log_error_errno(-EBUSY, "x"), -EBUSY);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_control_characters_never_printed),
                cmocka_unit_test(test_errno_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
