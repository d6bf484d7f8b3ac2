/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "testlib.h"
#include "yaml-doc.h"

static const struct ecl_yaml_limits limits = {.max_depth = 4, .max_errors = 5, .what = "a test file"};

/* Load text; returns the diagnostics joined by newlines ("" when clean). */
static char *load(const char *text, int expect_r) {
        struct ecl_yaml_doc doc;
        struct ecl_diags d = {0};
        int r = ecl_yaml_doc_load(&doc, "f", text, strlen(text), &limits, &d);
        ecl_yaml_doc_done(&doc);
        if (r != expect_r)
                fail_msg("'%s': %d, expected %d", text, r, expect_r);
        return tl_diags_text(&d);
}

static void test_clean_document_and_positions(void **state) {
        (void) state;
        static const char text[] = "# comment\na: 1\nb:\n  - x\n  - \"y\"\n";
        struct ecl_yaml_doc doc;
        struct ecl_diags d = {0};
        assert_int_equal(ecl_yaml_doc_load(&doc, "f", text, strlen(text), &limits, &d), 0);
        assert_int_equal(d.n, 0);
        yaml_node_t *root = ecl_yaml_root(&doc);
        assert_non_null(root);
        assert_int_equal(root->type, YAML_MAPPING_NODE);
        assert_string_equal(ecl_yaml_kind(root), "a mapping");
        yaml_node_pair_t *p = root->data.mapping.pairs.start;
        yaml_node_t *b = ecl_yaml_node(&doc, p[1].key), *list = ecl_yaml_node(&doc, p[1].value);
        assert_int_equal(ecl_yaml_pos(b).line, 3);
        assert_int_equal(ecl_yaml_pos(b).col, 1);
        assert_string_equal(ecl_yaml_kind(list), "a list");
        yaml_node_t *y = ecl_yaml_node(&doc, list->data.sequence.items.start[1]);
        assert_int_equal(ecl_yaml_pos(y).line, 5);
        assert_int_equal(ecl_yaml_pos(y).col, 5);
        assert_string_equal(ecl_yaml_kind(y), "a single value");
        assert_null(ecl_yaml_node(&doc, 0));
        assert_null(ecl_yaml_node(&doc, 1000));
        ecl_yaml_doc_done(&doc);
        ecl_yaml_doc_done(&doc); /* idempotent */
        assert_null(ecl_yaml_root(&doc));
        /* Empty streams have no root. */
        assert_int_equal(ecl_yaml_doc_load(&doc, "f", "", 0, &limits, &d), 0);
        assert_null(ecl_yaml_root(&doc));
        ecl_yaml_doc_done(&doc);
        /* A UTF-8 byte order mark is skipped; positions stay those of the text. */
        static const char bom[] = "\xef\xbb\xbf" "a: 1\nb: [\n";
        assert_int_equal(ecl_yaml_doc_load(&doc, "f", bom, strlen(bom), &limits, &d), -EBADMSG);
        assert_int_equal(d.items[0].pos.line, 3);
        ecl_yaml_doc_done(&doc);
        ecl_diags_clear(&d);
        /* A %YAML directive is harmless. */
        _cleanup_free_ char *v = load("%YAML 1.1\n---\na: 1\n", 0);
        assert_string_equal(v, "");
}

static void test_aliases_and_anchors_refused(void **state) {
        (void) state;
        _cleanup_free_ char *a = load("a: &x 1\nb: *x\n", -EBADMSG);
        assert_string_equal(a, "f:1:4: error: anchors and aliases are not allowed in a test file (write the value "
                               "out in full; 1 more in this file)");
        _cleanup_free_ char *b = load("a: &x 1\n", -EBADMSG); /* an anchor alone is refused too */
        assert_string_equal(b, "f:1:4: error: anchors and aliases are not allowed in a test file (write the value "
                               "out in full)");
        _cleanup_free_ char *c = load("- &s [1]\n- &m {a: 1}\n", -EBADMSG);
        assert_string_equal(c, "f:1:3: error: anchors and aliases are not allowed in a test file (write the value "
                               "out in full; 1 more in this file)");
        /* A billion laughs is refused without being expanded (the test would run out of memory otherwise). */
        char *bomb = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&bomb, &size);
        fputs("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n", f);
        for (int i = 1; i < 30; i++) {
                fprintf(f, "a%d: &a%d [", i, i);
                for (int j = 0; j < 10; j++)
                        fprintf(f, "%s*a%d", j ? ", " : "", i - 1);
                fputs("]\n", f);
        }
        fclose(f);
        _cleanup_free_ char *d = load(bomb, -EBADMSG);
        assert_string_equal(d, "f:1:5: error: anchors and aliases are not allowed in a test file (write the value "
                               "out in full; 319 more in this file)");
        free(bomb);
}

static void test_tags_directives_documents(void **state) {
        (void) state;
        _cleanup_free_ char *a = load("a: !!int 1\nb: !x y\nc: !<tag:example.com,2000:t> z\n", -EBADMSG);
        assert_string_equal(a, "f:1:4: error: YAML tag '!!int' is not allowed in a test file (write plain values; "
                               "the schema gives each its type)\n"
                               "f:2:4: error: YAML tag '!x' is not allowed in a test file (write plain values; the "
                               "schema gives each its type)\n"
                               "f:3:4: error: YAML tag 'tag:example.com,2000:t' is not allowed in a test file (write "
                               "plain values; the schema gives each its type)");
        _cleanup_free_ char *b = load("%TAG !e! tag:example.com,2000:\n---\na: 1\n", -EBADMSG);
        assert_string_equal(b, "f:1:1: error: YAML tag directives are not allowed in a test file");
        _cleanup_free_ char *c = load("a: 1\n---\nb: 2\n", -EBADMSG);
        assert_string_equal(c, "f:2:1: error: more than one YAML document (a test file is a single document)");
        _cleanup_free_ char *d = load("! a: 1\n", -EBADMSG);
        assert_non_null(strstr(d, "YAML tag '!' is not allowed"));
}

static void test_depth_limit(void **state) {
        (void) state;
        _cleanup_free_ char *ok = load("a: [[[1]]]\n", 0); /* 4 levels */
        assert_string_equal(ok, "");
        _cleanup_free_ char *deep = load("a: [[[[1]]]]\n", -EBADMSG);
        assert_string_equal(deep, "f:1:7: error: nesting too deep (at most 4 levels)");
        /* A very deep document stops at the limit instead of building it. */
        char *text = malloc(200001);
        memset(text, '[', 100000);
        memset(text + 100000, ']', 100000);
        text[200000] = '\0';
        _cleanup_free_ char *d = load(text, -EBADMSG);
        assert_string_equal(d, "f:1:5: error: nesting too deep (at most 4 levels)");
        free(text);
}

static void test_syntax_and_encoding_errors(void **state) {
        (void) state;
        _cleanup_free_ char *a = load("a: 1\n b: 2\n", -EBADMSG);
        assert_string_equal(a, "f:2:3: error: YAML syntax error: mapping values are not allowed in this context");
        _cleanup_free_ char *b = load("a: [1, 2\n", -EBADMSG);
        assert_string_equal(b, "f:2:1: error: YAML syntax error: did not find expected ',' or ']' (while parsing a "
                               "flow sequence at line 1, column 4)");
        /* Reader errors carry a byte offset: the column counts characters. */
        _cleanup_free_ char *c = load("a: é\xff\n", -EBADMSG);
        assert_string_equal(c, "f:1:5: error: invalid text: invalid leading UTF-8 octet (0xff)");
        _cleanup_free_ char *d = load("a: 1\nb: \x01\n", -EBADMSG);
        assert_string_equal(d, "f:2:4: error: invalid text: control characters are not allowed (0x01)");
        /* UTF-16 is not taken for UTF-8. */
        _cleanup_free_ char *e = load("\xff\xfe" "a\0:\0 \0001\0\n\0", -EBADMSG);
        assert_non_null(strstr(e, "invalid text"));
        /* Errors after the limit are summed up. */
        _cleanup_free_ char *f =
                load("a: !t 1\nb: !t 1\nc: !t 1\nd: !t 1\ne: !t 1\nf: !t 1\ng: !t 1\n", -EBADMSG);
        assert_non_null(strstr(f, "f:5:4: error: YAML tag '!t'"));
        assert_non_null(strstr(f, "\nf:6:4: error: too many errors, stopping here"));
        assert_null(strstr(f, "f:7:"));
}

static void test_helpers(void **state) {
        (void) state;
        _cleanup_free_ char *a = ecl_yaml_excerpt("plain", 5, 60);
        assert_string_equal(a, "plain");
        _cleanup_free_ char *b = ecl_yaml_excerpt("a\nb\\c\x7f", 6, 60);
        assert_string_equal(b, "a\\x0ab\\\\c\\x7f");
        _cleanup_free_ char *c = ecl_yaml_excerpt("abcdefgh", 8, 4);
        assert_string_equal(c, "abcd...");
        /* Never cut inside a character. */
        _cleanup_free_ char *d = ecl_yaml_excerpt("abcéé", 7, 4);
        assert_string_equal(d, "abcé...");
        _cleanup_free_ char *e = ecl_yaml_excerpt("a\0b", 3, 60);
        assert_string_equal(e, "a\\x00b");
        static const char unsafe[] = "a\u2028b\xc2\x85" "c\u202ed\u2069e\u00e9\u2027\u202f";
        _cleanup_free_ char *u = ecl_yaml_excerpt(unsafe, strlen(unsafe), 60);
        assert_string_equal(u, "a\\u{2028}b\\u{0085}c\\u{202e}d\\u{2069}e\u00e9\u2027\u202f");
        assert_int_equal(ecl_utf8_unsafe_char("\n", 1), 1);
        assert_int_equal(ecl_utf8_unsafe_char("\xc2\x85", 2), 2);
        assert_int_equal(ecl_utf8_unsafe_char("\xc2\x85", 1), 0); /* truncated: not this character */
        assert_int_equal(ecl_utf8_unsafe_char("\u2029", 3), 3);
        assert_int_equal(ecl_utf8_unsafe_char("\u2066", 3), 3);
        assert_int_equal(ecl_utf8_unsafe_char("\u00a0", 2), 0);
        assert_int_equal(ecl_utf8_unsafe_char("\u2030", 3), 0);
        assert_int_equal(ecl_utf8_unsafe_char("x", 1), 0);
        static const char text[] = "a: ~\nb: null\nc:\nd: ''\ne: \"null\"\nf: NULL\ng: nil\n";
        struct ecl_yaml_doc doc;
        struct ecl_diags diags = {0};
        assert_int_equal(ecl_yaml_doc_load(&doc, "f", text, strlen(text), &limits, &diags), 0);
        yaml_node_t *root = ecl_yaml_root(&doc);
        static const bool is_null[] = {true, true, true, false, false, true, false};
        for (size_t i = 0; i < ELEMENTSOF(is_null); i++) {
                yaml_node_t *v = ecl_yaml_node(&doc, root->data.mapping.pairs.start[i].value);
                assert_int_equal(ecl_yaml_is_null(v), is_null[i]);
                assert_string_equal(ecl_yaml_kind(v), is_null[i] ? "nothing" : "a single value");
        }
        assert_false(ecl_yaml_is_null(root));
        ecl_yaml_doc_done(&doc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_document_and_positions),
                cmocka_unit_test(test_aliases_and_anchors_refused),
                cmocka_unit_test(test_tags_directives_documents),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_syntax_and_encoding_errors),
                cmocka_unit_test(test_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
