/* SPDX-License-Identifier: Apache-2.0 */
/* common/output: tables that fit 100 columns, JSON arrays compact and pretty. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "strutil.h"
#include "testlib.h"

static const struct ecl_output_column cols[] = {
        ECL_OUTPUT_COLUMN("name", "NAME", ECL_OUTPUT_STRING),
        ECL_OUTPUT_COLUMN("count", "COUNT", ECL_OUTPUT_INTEGER),
        ECL_OUTPUT_COLUMN("ok", "OK", ECL_OUTPUT_BOOLEAN),
        ECL_OUTPUT_COLUMN("when", "WHEN", ECL_OUTPUT_TIME),
        ECL_OUTPUT_FLEX("note", "NOTE", ECL_OUTPUT_STRING, 0),
        ECL_OUTPUT_COLUMNS_END,
};

struct capture {
        char *buf;
        size_t size;
        FILE *f;
};

static void capture_start(struct capture *c) {
        c->buf = NULL;
        c->size = 0;
        c->f = open_memstream(&c->buf, &c->size);
        assert_non_null(c->f);
}

static char *capture_end(struct capture *c) {
        assert_int_equal(fclose(c->f), 0);
        return c->buf;
}

/* Print rows (JSON texts) in a style; returns what was printed. */
static char *print_rows(enum ecl_json_style style, const struct ecl_output_column *columns, const char *const *rows) {
        struct capture c;
        capture_start(&c);
        struct ecl_output *o = NULL;
        assert_int_equal(ecl_output_new(c.f, style, columns, &o), 0);
        for (; *rows; rows++) {
                json_t *j = json_loads(*rows, 0, NULL);
                assert_non_null(j);
                assert_int_equal(ecl_output_add(o, j), 0);
        }
        assert_int_equal(ecl_output_end(o), 0);
        ecl_output_free(o);
        return capture_end(&c);
}

static const char *const two_rows[] = {
        "{\"name\": \"alpha\", \"count\": 3, \"ok\": true, \"when\": \"2026-12-04T10:00:00Z\", \"note\": \"short\"}",
        "{\"name\": \"b\", \"count\": 12345, \"ok\": false, \"when\": null, \"extra\": [1, 2]}",
        NULL,
};

/* Columns as wide as their widest value, one space apart, integers right-aligned, "-" for missing, no trailing spaces. */
static void test_table_aligned(void **state) {
        (void) state;
        _cleanup_free_ char *out = print_rows(ECL_JSON_OFF, cols, two_rows);
        assert_string_equal(out, "NAME  COUNT OK  WHEN                 NOTE\n"
                                 "alpha     3 yes 2026-12-04T10:00:00Z short\n"
                                 "b     12345 no  -                    -\n");
}

/* A line wider than 100 columns: the flex column is cut with "…", the others kept whole. */
static void test_table_cut_to_100(void **state) {
        (void) state;
        char long_note[300];
        memset(long_note, 'x', sizeof long_note - 1);
        long_note[sizeof long_note - 1] = '\0';
        _cleanup_free_ char *row = tl_strf("{\"name\": \"alpha\", \"count\": 1, \"ok\": true, \"when\": null, "
                                           "\"note\": \"%s\"}",
                                           long_note);
        const char *rows[] = {row, NULL};
        _cleanup_free_ char *out = print_rows(ECL_JSON_OFF, cols, rows);
        char *line = strchr(out, '\n') + 1;
        assert_memory_equal(line, "alpha     1 yes -    xxx", 24);
        char *end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        assert_int_equal(ecl_output_text_width(line), ECL_OUTPUT_WIDTH);
        assert_string_equal(end - strlen("x\xe2\x80\xa6"), "x\xe2\x80\xa6");

        /* Two flex columns: the widest narrowed first, both end up sharing the room; UTF-8 cut whole. */
        static const struct ecl_output_column two[] = {
                ECL_OUTPUT_FLEX("a", "A", ECL_OUTPUT_STRING, 0),
                ECL_OUTPUT_FLEX("b", "B", ECL_OUTPUT_STRING, 30),
                ECL_OUTPUT_COLUMNS_END,
        };
        _cleanup_free_ char *r2 = tl_strf("{\"a\": \"%s\", \"b\": \"%s\"}", "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
                                          long_note);
        const char *rows2[] = {r2, NULL};
        _cleanup_free_ char *out2 = print_rows(ECL_JSON_OFF, two, rows2);
        line = strchr(out2, '\n') + 1;
        end = strchr(line, '\n');
        *end = '\0';
        assert_int_equal(ecl_output_text_width(line), ECL_OUTPUT_WIDTH);
        /* a: 63 columns wide, b 299: b goes down to a's width first, then they alternate (49 + 1 + 50) */
        assert_non_null(strstr(line, "éé… xx"));
        assert_int_equal(ecl_output_text_width(strstr(line, " x") + 1), 50);

        /* Nothing flex: the line is wider, nothing is cut. */
        static const struct ecl_output_column rigid[] = {ECL_OUTPUT_COLUMN("a", "A", ECL_OUTPUT_STRING), ECL_OUTPUT_COLUMNS_END};
        _cleanup_free_ char *r3 = tl_strf("{\"a\": \"%s\"}", long_note);
        const char *rows3[] = {r3, NULL};
        _cleanup_free_ char *out3 = print_rows(ECL_JSON_OFF, rigid, rows3);
        assert_non_null(strstr(out3, long_note));
}

/* Control characters (and C1 controls) never reach the terminal; JSON escapes them. */
static void test_control_characters(void **state) {
        (void) state;
        const char *rows[] = {"{\"name\": \"a\\u001b[31mb\\nc\", \"note\": \"\\u009b2J\\u007f\", \"count\": {\"x\": \"\\r\"}}",
                              NULL};
        _cleanup_free_ char *out = print_rows(ECL_JSON_OFF, cols, rows);
        assert_null(strchr(out, '\x1b'));
        assert_null(strchr(out, '\r'));
        assert_null(strstr(out, "\xc2\x9b"));
        assert_null(strchr(out, '\x7f'));
        assert_non_null(strstr(out, "a?[31mb?c"));
        assert_non_null(strstr(out, "  ?2J?\n"));
        assert_non_null(strstr(out, "{\"x\":\"\\r\"}")); /* a non-integer in an integer column: its JSON */
        for (const char *p = out; *p; p++)
                assert_true(*p == '\n' || !ecl_is_control((unsigned char) *p));
        _cleanup_free_ char *json = print_rows(ECL_JSON_COMPACT, cols, rows);
        assert_null(strchr(json, '\x1b'));
        assert_non_null(strstr(json, "\\u001B[31mb\\nc"));
}

/* --json: one line; --json=pretty: indented as jansson indents the whole array; same document. */
static void test_json_compact_pretty(void **state) {
        (void) state;
        _cleanup_free_ char *compact = print_rows(ECL_JSON_COMPACT, cols, two_rows);
        assert_string_equal(compact, "[{\"name\":\"alpha\",\"count\":3,\"ok\":true,\"when\":\"2026-12-04T10:00:00Z\","
                                     "\"note\":\"short\"},{\"name\":\"b\",\"count\":12345,\"ok\":false,\"when\":null,"
                                     "\"extra\":[1,2]}]\n");
        _cleanup_free_ char *pretty = print_rows(ECL_JSON_PRETTY, cols, two_rows);
        json_auto_t *a = json_loads(compact, 0, NULL);
        assert_non_null(a);
        _cleanup_free_ char *want = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        _cleanup_free_ char *want_nl = tl_strf("%s\n", want);
        assert_string_equal(pretty, want_nl);
        assert_non_null(strstr(pretty, "\n    \"name\": \"alpha\",\n"));

        /* a single document */
        struct capture c;
        capture_start(&c);
        assert_int_equal(ecl_output_json(c.f, ECL_JSON_PRETTY, json_array_get(a, 0)), 0);
        assert_int_equal(ecl_output_json(c.f, ECL_JSON_COMPACT, json_array_get(a, 1)), 0);
        _cleanup_free_ char *doc = capture_end(&c);
        assert_memory_equal(doc, "{\n  \"name\": \"alpha\",\n", 21);
        assert_non_null(strstr(doc, "}\n{\"name\":\"b\","));
}

/* JSON is ASCII: a C1 control (U+009B, a CSI to some terminals) or any non-ASCII goes out escaped. */
static void test_json_ascii(void **state) {
        (void) state;
        static const char *const rows[] = {"{\"name\": \"x\\u009b2J\u00e9\"}", NULL};
        _cleanup_free_ char *out = print_rows(ECL_JSON_COMPACT, cols, rows);
        assert_string_equal(out, "[{\"name\":\"x\\u009B2J\\u00E9\"}]\n");
        for (const char *p = out; *p; p++)
                assert_true((unsigned char) *p < 0x80);
}

/* No rows: the header alone, or "[]". */
static void test_empty(void **state) {
        (void) state;
        const char *none[] = {NULL};
        _cleanup_free_ char *t = print_rows(ECL_JSON_OFF, cols, none);
        assert_string_equal(t, "NAME COUNT OK WHEN NOTE\n");
        _cleanup_free_ char *c = print_rows(ECL_JSON_COMPACT, cols, none);
        assert_string_equal(c, "[]\n");
        _cleanup_free_ char *p = print_rows(ECL_JSON_PRETTY, cols, none);
        assert_string_equal(p, "[]\n");
}

/* A row that is not an object is refused; NULL (out of memory upstream) too. */
static void test_bad_rows(void **state) {
        (void) state;
        struct capture c;
        capture_start(&c);
        struct ecl_output *o = NULL;
        assert_int_equal(ecl_output_new(c.f, ECL_JSON_OFF, cols, &o), 0);
        assert_int_equal(ecl_output_add(o, json_integer(1)), -EINVAL);
        assert_int_equal(ecl_output_add(o, NULL), -ENOMEM);
        ecl_output_free(o);
        free(capture_end(&c));
}

/* After ECL_OUTPUT_LAYOUT_ROWS rows the layout is fixed and rows stream; a later, wider flex value is cut to it. */
static void test_streaming_layout(void **state) {
        (void) state;
        struct capture c;
        capture_start(&c);
        struct ecl_output *o = NULL;
        assert_int_equal(ecl_output_new(c.f, ECL_JSON_OFF, cols, &o), 0);
        for (int i = 0; i < ECL_OUTPUT_LAYOUT_ROWS; i++)
                assert_int_equal(ecl_output_add(o, json_pack("{s:s,s:i,s:s}", "name", "n", "count", i, "note", "abc")), 0);
        fflush(c.f);
        size_t printed = c.size;
        assert_true(printed > 0); /* already out */
        assert_int_equal(ecl_output_add(o, json_pack("{s:s,s:i,s:s}", "name", "n", "count", 1, "note", "abcdefgh")), 0);
        assert_int_equal(ecl_output_end(o), 0);
        ecl_output_free(o);
        _cleanup_free_ char *out = capture_end(&c);
        assert_non_null(strstr(out, " abc\xe2\x80\xa6\n"));
        assert_null(strstr(out, "abcdefgh"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_aligned),      cmocka_unit_test(test_table_cut_to_100),
                cmocka_unit_test(test_control_characters), cmocka_unit_test(test_json_compact_pretty),
                cmocka_unit_test(test_empty),              cmocka_unit_test(test_bad_rows),
                cmocka_unit_test(test_json_ascii),
                cmocka_unit_test(test_streaming_layout),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
