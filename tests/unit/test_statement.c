/* SPDX-License-Identifier: Apache-2.0 */
/* The approval statement: its exact bytes, the strict parser, nonces. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "statement.h"
#include "testlib.h"

/* DESIGN.md's example ("Bundles, approvals, access") with real values for the placeholders. */
static const char example[] = "ecluse approval v1\n"
                              "decision: apply\n"
                              "stack: office\n"
                              "licensor: Example Cloud Inc.\n"
                              "version: 2.4.1\n"
                              "bundle: sha256:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
                              "imported: 2026-12-01T10:00:00Z\n"
                              "nonce: 0123456789abcdef0123456789abcdef\n"
                              "approval-expires: 2026-12-04T10:00:00Z\n";

static struct agent_statement example_statement(void) {
        struct agent_statement s = {
                .decision = AGENT_DECISION_APPLY,
                .stack = (char *) "office",
                .licensor = (char *) "Example Cloud Inc.",
                .version = (char *) "2.4.1",
                .imported = 1796119200,
                .nonce = "0123456789abcdef0123456789abcdef",
                .approval_expires = 1796378400,
        };
        for (unsigned i = 0; i < 32; i++)
                s.bundle[i] = (uint8_t) i;
        return s;
}

static void test_format_is_design_example(void **state) {
        (void) state;
        struct agent_statement s = example_statement();
        _cleanup_free_ char *text = NULL, *why = NULL;
        assert_int_equal(agent_statement_format(&s, &text, &why), 0);
        assert_string_equal(text, example);

        s.decision = AGENT_DECISION_DOWNGRADE;
        free(text);
        text = NULL;
        assert_int_equal(agent_statement_format(&s, &text, &why), 0);
        assert_non_null(strstr(text, "\ndecision: downgrade\nstack: office\n"));
}

static void test_format_refuses_fields_that_break_lines(void **state) {
        (void) state;
        static const char *const licensors[] = {"Evil\nnonce: 00", "Evil\r",   "", "   ", "a\tb",
                                                "a\u202eb",        "a\xc2\x85"};
        for (size_t i = 0; i < ELEMENTSOF(licensors); i++) {
                struct agent_statement s = example_statement();
                s.licensor = (char *) licensors[i];
                _cleanup_free_ char *text = NULL, *why = NULL;
                assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
                assert_null(text);
                assert_non_null(why);
        }
        static const char *const versions[] = {"2.4.1\n", "2..4", "02.4", "", "v2"};
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                struct agent_statement s = example_statement();
                s.version = (char *) versions[i];
                _cleanup_free_ char *text = NULL, *why = NULL;
                assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
        }
        struct agent_statement s = example_statement();
        _cleanup_free_ char *text = NULL, *why = NULL;
        s.stack = (char *) "office\nx";
        assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
        s = example_statement();
        s.nonce[5] = 'A';
        assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
        s = example_statement();
        s.nonce[31] = 0;
        assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
        s = example_statement();
        s.approval_expires = 253402300800; /* year 10000 */
        assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
        s = example_statement();
        s.decision = (enum agent_decision) 7;
        assert_int_equal(agent_statement_format(&s, &text, &why), -EINVAL);
        assert_null(text);
}

static void test_parse_round_trip(void **state) {
        (void) state;
        _cleanup_free_ char *why = NULL;
        _cleanup_(agent_statement_clear) struct agent_statement s = {0};
        assert_int_equal(agent_statement_parse(example, strlen(example), &s, &why), 0);
        assert_int_equal(s.decision, AGENT_DECISION_APPLY);
        assert_string_equal(s.stack, "office");
        assert_string_equal(s.licensor, "Example Cloud Inc.");
        assert_string_equal(s.version, "2.4.1");
        struct agent_statement want = example_statement();
        assert_memory_equal(s.bundle, want.bundle, 32);
        assert_int_equal(s.imported, 1796119200);
        assert_string_equal(s.nonce, "0123456789abcdef0123456789abcdef");
        assert_int_equal(s.approval_expires, 1796378400);
        _cleanup_free_ char *again = NULL;
        assert_int_equal(agent_statement_format(&s, &again, &why), 0);
        assert_string_equal(again, example);

        /* A licensor with inner and outer spaces and non-ASCII text comes back the same. */
        struct agent_statement t = example_statement();
        t.licensor = (char *) " Société  Générale ";
        t.decision = AGENT_DECISION_DOWNGRADE;
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        assert_int_equal(agent_statement_format(&t, &text, &why), 0);
        _cleanup_(agent_statement_clear) struct agent_statement u = {0};
        assert_int_equal(agent_statement_parse(text, strlen(text), &u, &why), 0);
        assert_string_equal(u.licensor, " Société  Générale ");
        assert_int_equal(u.decision, AGENT_DECISION_DOWNGRADE);
        assert_int_equal(agent_statement_format(&u, &text2, &why), 0);
        assert_string_equal(text2, text);
}

static void expect_refused(const char *text, size_t len, const char *reason) {
        _cleanup_free_ char *why = NULL;
        struct agent_statement s = {.stack = (char *) "untouched"};
        int r = agent_statement_parse(text, len, &s, &why);
        if (r != -EBADMSG)
                fail_msg("accepted (%d): %s", r, text);
        assert_string_equal(s.stack, "untouched");
        assert_string_equal(why, reason);
}

static void test_parse_refusals(void **state) {
        (void) state;
        static const struct {
                unsigned line;
                const char *with, *reason;
        } cases[] = {
                {1, "ecluse approval v2", "line 1: not 'ecluse approval v1'"},
                {1, "ecluse approval v1 ", "line 1: not 'ecluse approval v1'"},
                {1, NULL, "line 1: not 'ecluse approval v1'"},
                {2, NULL, "line 2: 'stack' where 'decision' belongs"}, /* missing key */
                {9, NULL, "line 9: missing 'approval-expires'"},       /* missing key at the end */
                {2, "decision: apply\ndecision: apply", "line 3: 'decision' where 'stack' belongs"}, /* twice */
                {2, "decision: maybe", "line 2: invalid decision"},
                {2, "decision:  apply", "line 2: invalid decision"},
                {2, "decision:apply", "line 2: expected 'decision: '"},
                {2, "# decision: apply", "line 2: expected 'decision: '"},
                {3, "stack: Office", "line 3: invalid stack name"},
                {4, "licensor: ", "line 4: empty licensor"},
                {4, "licensor: a\x1b[0mb",
                 "line 4: licensor contains a line break, control or bidirectional character"},
                {5, "version: 2.04.1", "line 5: invalid version"},
                {6, "bundle: sha256:000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f",
                 "line 6: the bundle is not sha256: and 64 lowercase hex digits"},
                {6, "bundle: sha256:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
                 "line 6: the bundle is not sha256: and 64 lowercase hex digits"},
                {6, "bundle: sha512:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                 "line 6: the bundle is not sha256: and 64 lowercase hex digits"},
                {7, "imported: 2026-12-01T10:00:00+00:00", "line 7: invalid time (YYYY-MM-DDTHH:MM:SSZ)"},
                {7, "imported: 2026-12-01T10:00:00.5Z", "line 7: invalid time (YYYY-MM-DDTHH:MM:SSZ)"},
                {7, "imported: 2026-02-30T10:00:00Z", "line 7: invalid time (YYYY-MM-DDTHH:MM:SSZ)"},
                {8, "nonce: 0123456789abcdef0123456789abcdeg", "line 8: the nonce is not 32 lowercase hex digits"},
                {8, "nonce: 0123456789abcdef0123456789abcdef0", "line 8: the nonce is not 32 lowercase hex digits"},
                {7, "nonce: 0123456789abcdef0123456789abcdef\nimported: 2026-12-01T10:00:00Z",
                 "line 7: 'nonce' where 'imported' belongs"}, /* reordered */
                {9, "approval-expires: 2026-12-04T10:00:00Z\nextra: 1", "line 10: text after 'approval-expires'"},
                {9, "approval-expires: 2026-12-04T10:00:00Z\n", "line 10: text after 'approval-expires'"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = tl_replace_line(example, cases[i].line, cases[i].with);
                expect_refused(text, strlen(text), cases[i].reason);
        }
}

static void test_parse_refuses_framing(void **state) {
        (void) state;
        /* CRLF line ends: the first line already is not the header. */
        _cleanup_free_ char *crlf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&crlf, &size);
        for (const char *p = example; *p; p++)
                fprintf(f, *p == '\n' ? "\r\n" : "%c", *p);
        fclose(f);
        expect_refused(crlf, strlen(crlf), "line 1: not 'ecluse approval v1'");
        /* Only the last line with CRLF. */
        _cleanup_free_ char *last = tl_replace_line(example, 9, "approval-expires: 2026-12-04T10:00:00Z\r");
        expect_refused(last, strlen(last), "line 9: invalid time (YYYY-MM-DDTHH:MM:SSZ)");
        /* No newline after the last line. */
        expect_refused(example, strlen(example) - 1, "line 9: no newline at its end");
        expect_refused(example, 0, "empty statement");
        /* A NUL inside, even where the rest is good. */
        char nul[sizeof example];
        memcpy(nul, example, sizeof example);
        nul[30] = 0;
        expect_refused(nul, sizeof example - 1, "the statement contains a NUL byte");
        /* The whole text is read, not up to a NUL the caller forgot. */
        expect_refused(example, sizeof example, "the statement contains a NUL byte");

        _cleanup_free_ char *why = NULL;
        struct agent_statement s = {0};
        char big[AGENT_STATEMENT_MAX + 1];
        memset(big, 'a', sizeof big);
        assert_int_equal(agent_statement_parse(big, sizeof big, &s, &why), -EFBIG);
}

static void test_decision_names(void **state) {
        (void) state;
        enum agent_decision d;
        assert_string_equal(agent_decision_to_string(AGENT_DECISION_APPLY), "apply");
        assert_string_equal(agent_decision_to_string(AGENT_DECISION_DOWNGRADE), "downgrade");
        assert_string_equal(agent_decision_to_string((enum agent_decision) 9), "?");
        assert_int_equal(agent_decision_from_string("downgrade", &d), 0);
        assert_int_equal(d, AGENT_DECISION_DOWNGRADE);
        assert_int_equal(agent_decision_from_string("apply", &d), 0);
        assert_int_equal(d, AGENT_DECISION_APPLY);
        assert_int_equal(agent_decision_from_string("Apply", &d), -EINVAL);
        assert_int_equal(agent_decision_from_string("", &d), -EINVAL);
}

static void test_nonce(void **state) {
        (void) state;
        char a[AGENT_NONCE_LEN + 1], b[AGENT_NONCE_LEN + 1];
        _cleanup_free_ char *why = NULL;
        memset(a, 'x', sizeof a);
        assert_int_equal(agent_nonce_new(a, &why), 0);
        assert_int_equal(agent_nonce_new(b, &why), 0);
        assert_int_equal(strlen(a), AGENT_NONCE_LEN);
        assert_int_equal(strspn(a, "0123456789abcdef"), AGENT_NONCE_LEN);
        assert_string_not_equal(a, b);
        /* A new nonce formats and parses. */
        struct agent_statement s = example_statement();
        memcpy(s.nonce, a, sizeof a);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(agent_statement_format(&s, &text, &why), 0);
        _cleanup_(agent_statement_clear) struct agent_statement t = {0};
        assert_int_equal(agent_statement_parse(text, strlen(text), &t, &why), 0);
        assert_string_equal(t.nonce, a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_is_design_example),
                cmocka_unit_test(test_format_refuses_fields_that_break_lines),
                cmocka_unit_test(test_parse_round_trip),
                cmocka_unit_test(test_parse_refusals),
                cmocka_unit_test(test_parse_refuses_framing),
                cmocka_unit_test(test_decision_names),
                cmocka_unit_test(test_nonce),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
