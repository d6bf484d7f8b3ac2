/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officers file: principals checked (no patterns, none empty, with
 * line and column), lines grouped into officers by shared principal or
 * shared key, transitively, each with its display name.
 */
#include <errno.h>
#include <string.h>

#include "officers.h"
#include "sshsig-testsign.h"
#include "testlib.h"

/* Public keys "TYPE BASE64" for lines; made once. */
static char *K[5];

static int setup(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(K); i++) {
                struct ts_key k = ts_keygen(ECL_SSHKEY_ED25519, 0);
                K[i] = ts_pubtext(&k);
                ts_key_free(&k);
        }
        return 0;
}

static int teardown(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(K); i++)
                free(K[i]);
        return 0;
}

static struct ecl_officers *parse_ok(const char *text) {
        struct ecl_diags d = {0};
        struct ecl_officers *o = NULL;
        int r = ecl_officers_parse(text, strlen(text), "officers", &o, &d);
        if (r < 0) {
                for (size_t i = 0; i < d.n; i++) {
                        _cleanup_free_ char *l = ecl_diag_format(&d.items[i]);
                        print_message("%s\n", l);
                }
                fail_msg("ecl_officers_parse: %d", r);
        }
        assert_true(ecl_diags_empty(&d));
        return o;
}

/* The display name of the officer of line i (signers->items index). */
static const char *name_of(const struct ecl_officers *o, size_t i) {
        assert_true(i < o->signers->n);
        assert_true(o->officer_of_line[i] < o->n_officers);
        return o->names[o->officer_of_line[i]];
}

static void test_one_line_each(void **state) {
        (void) state;
        _cleanup_free_ char *t = tl_strf("# officers\n\nbob %s\nalice %s\ncarol@corp,carol %s\n", K[0], K[1], K[2]);
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = parse_ok(t);
        assert_int_equal(o->signers->n, 3);
        assert_int_equal(o->n_officers, 3);
        /* Numbered in the order of their first line. */
        assert_int_equal(o->officer_of_line[0], 0);
        assert_int_equal(o->officer_of_line[1], 1);
        assert_int_equal(o->officer_of_line[2], 2);
        assert_string_equal(name_of(o, 0), "bob");
        assert_string_equal(name_of(o, 1), "alice");
        assert_string_equal(name_of(o, 2), "carol"); /* lexicographically first, not first written */
}

static void test_shared_principal(void **state) {
        (void) state;
        /* `alice` and `alice,alice@corp` are one officer, with two keys. */
        _cleanup_free_ char *t = tl_strf("alice@corp,alice %s\nbob %s\nalice %s\n", K[0], K[1], K[2]);
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = parse_ok(t);
        assert_int_equal(o->signers->n, 3);
        assert_int_equal(o->n_officers, 2);
        assert_int_equal(o->officer_of_line[0], o->officer_of_line[2]);
        assert_int_not_equal(o->officer_of_line[0], o->officer_of_line[1]);
        assert_string_equal(name_of(o, 2), "alice");
        assert_string_equal(name_of(o, 1), "bob");

        /* The key of the third line finds the first line's officer. */
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k = NULL;
        assert_int_equal(ecl_sshkey_from_text(K[2], &k, NULL, NULL), 0);
        size_t idx = 99;
        assert_int_equal(ecl_officers_of_key(o, k, &idx), 0);
        assert_int_equal(idx, o->officer_of_line[0]);
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *other = NULL;
        assert_int_equal(ecl_sshkey_from_text(K[4], &other, NULL, NULL), 0);
        assert_int_equal(ecl_officers_of_key(o, other, &idx), -ENOKEY);
}

static void test_shared_key(void **state) {
        (void) state;
        /* One key under two names is one person. */
        _cleanup_free_ char *t = tl_strf("alice %s\nbob %s\nmallory %s\n", K[0], K[1], K[0]);
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = parse_ok(t);
        assert_int_equal(o->n_officers, 2);
        assert_int_equal(o->officer_of_line[0], o->officer_of_line[2]);
        assert_int_not_equal(o->officer_of_line[0], o->officer_of_line[1]);
        assert_string_equal(name_of(o, 2), "alice");
}

static void test_transitive(void **state) {
        (void) state;
        /* a-K0, b-K1, c-K2 alone would be three; "x,a"-K3 joins a by principal,
         * y-K3 joins it by key, "z,y,b"-K4 joins y by principal and so b: a and
         * b are one officer through that chain, c is the other. */
        _cleanup_free_ char *t =
                tl_strf("a %s\nb %s\nc %s\nx,a %s\ny %s\nz,y,b %s\n", K[0], K[1], K[2], K[3], K[3], K[4]);
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = parse_ok(t);
        assert_int_equal(o->signers->n, 6);
        assert_int_equal(o->n_officers, 2);
        size_t a = o->officer_of_line[0];
        assert_int_equal(a, 0);
        assert_int_equal(o->officer_of_line[1], a);
        assert_int_equal(o->officer_of_line[2], 1);
        for (size_t i = 3; i < 6; i++)
                assert_int_equal(o->officer_of_line[i], a);
        assert_string_equal(o->names[0], "a");
        assert_string_equal(o->names[1], "c");
}

static void test_options_kept(void **state) {
        (void) state;
        _cleanup_free_ char *t = tl_strf("alice namespaces=\"ecluse-access\",valid-before=\"20300101Z\" %s\n"
                                         "\"bob smith\" valid-after=\"20200101Z\" %s\n",
                                         K[0], K[1]);
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = parse_ok(t);
        assert_int_equal(o->n_officers, 2);
        assert_string_equal(o->signers->items[0].namespaces, "ecluse-access");
        assert_int_equal(o->signers->items[0].valid_before, 1893456000);
        assert_null(o->signers->items[1].namespaces);
        assert_int_equal(o->signers->items[1].valid_after, 1577836800);
        assert_string_equal(o->names[1], "bob smith");
}

static void expect_errors(const char *text, const char *const *want, size_t n_want) {
        struct ecl_diags d = {0};
        struct ecl_officers *o = NULL;
        assert_int_equal(ecl_officers_parse(text, strlen(text), "officers", &o, &d), -EBADMSG);
        assert_null(o);
        for (size_t i = 0; i < d.n; i++) {
                _cleanup_free_ char *l = ecl_diag_format(&d.items[i]);
                print_message("%s\n", l);
        }
        assert_int_equal(d.n, n_want);
        for (size_t i = 0; i < n_want; i++) {
                _cleanup_free_ char *l = ecl_diag_format(&d.items[i]);
                if (strncmp(l, want[i], strlen(want[i])) != 0)
                        fail_msg("diagnostic %zu: got \"%s\", want \"%s...\"", i, l, want[i]);
        }
        ecl_diags_clear(&d);
}

static void test_patterns_refused(void **state) {
        (void) state;
        _cleanup_free_ char *t = tl_strf("alice %s\n"
                                         "*@corp %s\n"
                                         "  bob,car?l %s\n"
                                         "dave,!mallory %s\n"
                                         "al\"ice,e*\" %s\n",
                                         K[0], K[1], K[2], K[3], K[4]);
        expect_errors(t,
                      (const char *const[]){
                              "officers:2:1: error: pattern principal \"*@corp\"",
                              "officers:3:10: error: pattern principal \"car?l\"",
                              "officers:4:6: error: pattern principal \"!mallory\"",
                              /* the column counts the quote as written */
                              "officers:5:9: error: pattern principal \"e*\"",
                      },
                      4);
}

static void test_empty_refused(void **state) {
        (void) state;
        _cleanup_free_ char *t = tl_strf("alice,,bob %s\ncarol, %s\n,dave %s\n", K[0], K[1], K[2]);
        expect_errors(t,
                      (const char *const[]){
                              "officers:1:7: error: empty principal",
                              "officers:2:7: error: empty principal",
                              "officers:3:1: error: empty principal",
                      },
                      3);
}

static void test_syntax_errors_still_reported(void **state) {
        (void) state;
        /* A malformed line is the allowed_signers parser's diagnostic. */
        expect_errors("alice ssh-ed25519 !!!\n", (const char *const[]){"officers:1:7: error:"}, 1);
}

static void test_load(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *p = tl_strf("%s/officers", dir), *l = tl_strf("%s/link", dir);
        _cleanup_free_ char *t = tl_strf("alice %s\nalice,alice@corp %s\n", K[0], K[1]);
        tl_write_file(p, t, strlen(t));
        struct ecl_diags d = {0};
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = NULL;
        assert_int_equal(ecl_officers_load(p, &o, &d), 0);
        assert_int_equal(o->n_officers, 1);
        assert_string_equal(o->names[0], "alice");
        assert_string_equal(o->signers->file, p);

        assert_int_equal(symlink(p, l), 0);
        struct ecl_officers *o2 = NULL;
        assert_int_equal(ecl_officers_load(l, &o2, &d), -ELOOP);
        assert_int_equal(d.n, 1);
        ecl_diags_clear(&d);
        tl_rm_rf(dir);
}

static void test_example_file(void **state) {
        (void) state;
        /* The example the project ships is a valid officers file: four people. */
        struct ecl_diags d = {0};
        _cleanup_(ecl_officers_freep) struct ecl_officers *o = NULL;
        assert_int_equal(ecl_officers_load(ECLUSE_SOURCE_DIR "/manifests/officers.example", &o, &d), 0);
        assert_int_equal(o->n_officers, 4);
        assert_string_equal(o->names[0], "alice@example.eu");
        assert_string_equal(o->names[3], "dave@example.eu");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_line_each), cmocka_unit_test(test_shared_principal),
                cmocka_unit_test(test_shared_key),    cmocka_unit_test(test_transitive),
                cmocka_unit_test(test_options_kept),  cmocka_unit_test(test_patterns_refused),
                cmocka_unit_test(test_empty_refused), cmocka_unit_test(test_syntax_errors_still_reported),
                cmocka_unit_test(test_load),          cmocka_unit_test(test_example_file),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
