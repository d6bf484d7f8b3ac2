/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allowed-signers.h"
#include "sshsig-testsign.h"
#include "testlib.h"

static void test_patterns(void **state) {
        (void) state;
        static const struct {
                const char *s, *p;
                bool match;
        } pats[] = {
                {"alice@example.org", "alice@example.org", true},
                {"alice@example.org", "*@example.org", true},
                {"alice@example.org", "*@example.com", false},
                {"alice@example.org", "alic?@example.org", true},
                {"alice@example.org", "alice?@example.org", false},
                {"alice", "*", true},
                {"", "*", true},
                {"", "", true},
                {"a", "", false},
                {"abc", "a**c", true},
                {"abc", "*b*", true},
                {"abc", "*d*", false},
                {"aaab", "*a*b", true},
                {"aaaa", "*a*b", false},
                {"ecluse-approval", "ecluse-*", true},
                {"ecluse", "ecluse-*", false},
        };
        for (size_t i = 0; i < ELEMENTSOF(pats); i++)
                if (ecl_allowed_signers_match_pattern(pats[i].s, pats[i].p) != pats[i].match)
                        fail_msg("pattern '%s' on '%s'", pats[i].p, pats[i].s);
        /* A pathological pattern stays fast (no exponential backtracking). */
        char s[4001], p[4001];
        memset(s, 'a', 4000), s[4000] = '\0';
        for (int i = 0; i < 2000; i++)
                p[2 * i] = '*', p[2 * i + 1] = 'a';
        p[3999] = 'b', p[4000] = '\0';
        assert_false(ecl_allowed_signers_match_pattern(s, p));

        assert_int_equal(ecl_allowed_signers_match_list("alice", "bob,alice"), 1);
        assert_int_equal(ecl_allowed_signers_match_list("alice", "bob,carol"), 0);
        assert_int_equal(ecl_allowed_signers_match_list("mallory@x", "!mallory@x,*@x"), -1);
        assert_int_equal(ecl_allowed_signers_match_list("alice@x", "!mallory@x,*@x"), 1);
        assert_int_equal(ecl_allowed_signers_match_list("alice@x", "!mallory@x"), 0);
        assert_int_equal(ecl_allowed_signers_match_list("", "a,,b"), 1);
        char longp[1100];
        memset(longp, 'x', sizeof longp - 1), longp[sizeof longp - 1] = '\0';
        assert_int_equal(ecl_allowed_signers_match_list("x", longp), 0);
}

static void test_times(void **state) {
        (void) state;
        uint64_t t;
        assert_int_equal(ecl_allowed_signers_parse_time("20300101Z", &t), 0);
        assert_int_equal(t, 1893456000);
        assert_int_equal(ecl_allowed_signers_parse_time("203001010000UTC", &t), 0);
        assert_int_equal(t, 1893456000);
        assert_int_equal(ecl_allowed_signers_parse_time("20300101123456z", &t), 0);
        assert_int_equal(t, 1893456000 + 12 * 3600 + 34 * 60 + 56);
        /* Without a suffix: local time, as ssh-keygen. */
        struct tm tm = {.tm_year = 130, .tm_mon = 0, .tm_mday = 2, .tm_hour = 3, .tm_min = 4};
        time_t local = mktime(&tm);
        assert_int_equal(ecl_allowed_signers_parse_time("203001020304", &t), 0);
        assert_int_equal(t, (uint64_t) local);
        assert_int_equal(ecl_allowed_signers_parse_time("2030010", &t), -EINVAL);
        assert_int_equal(ecl_allowed_signers_parse_time("2030ab01", &t), -EINVAL);
        assert_int_equal(ecl_allowed_signers_parse_time("20301301Z", &t), -EINVAL);
        assert_int_equal(ecl_allowed_signers_parse_time("", &t), -EINVAL);
        assert_int_equal(ecl_allowed_signers_parse_time("Z", &t), -EINVAL);
}

struct fixture {
        struct ts_key k1, k2, k3;
        char *pub1, *pub2, *pub3;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        f->k1 = ts_keygen(ECL_SSHKEY_ED25519, 0);
        f->k2 = ts_keygen(ECL_SSHKEY_ECDSA_P256, 0);
        f->k3 = ts_keygen(ECL_SSHKEY_SK_ED25519, 0);
        f->pub1 = ts_pubtext(&f->k1);
        f->pub2 = ts_pubtext(&f->k2);
        f->pub3 = ts_pubtext(&f->k3);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        ts_key_free(&f->k1), ts_key_free(&f->k2), ts_key_free(&f->k3);
        free(f->pub1), free(f->pub2), free(f->pub3);
        free(f);
        return 0;
}

static struct ecl_sshkey *key_of(const char *pub) {
        struct ecl_sshkey *k = NULL;
        assert_int_equal(ecl_sshkey_from_text(pub, &k, NULL, NULL), 0);
        return k;
}

static void test_parse_good_file(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *text = tl_strf(
                "# officers of the lock\n"
                "\n"
                "   \t\n"
                "alice@example.org %s alice's yubikey\n"
                "bob@example.org,carol@example.org NAMESPACES=\"ecluse-approval,ecluse-access\",Valid-After=\"20250101Z\" %s\n"
                "\"dave smith\" valid-before=\"20990101\" %s\r\n"
                "*@ops.example.org,!mallory@ops.example.org namespaces=\"ecl\\\"q\" %s",
                f->pub1, f->pub2, f->pub3, f->pub1);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = NULL;
        _cleanup_(ecl_diags_clear) struct ecl_diags d = {0};
        int r = ecl_allowed_signers_parse(text, strlen(text), "officers", &s, &d);
        ecl_diags_print(&d, stderr);
        assert_int_equal(r, 0);
        assert_int_equal(s->n, 4);
        assert_string_equal(s->file, "officers");
        assert_string_equal(s->items[0].principals, "alice@example.org");
        assert_int_equal(s->items[0].line, 4);
        assert_null(s->items[0].namespaces);
        assert_int_equal(s->items[0].valid_after, 0);
        assert_string_equal(s->items[1].principals, "bob@example.org,carol@example.org");
        assert_string_equal(s->items[1].namespaces, "ecluse-approval,ecluse-access");
        assert_int_equal(s->items[1].valid_after, 1735689600);
        assert_int_equal(s->items[1].key->type, ECL_SSHKEY_ECDSA_P256);
        assert_string_equal(s->items[2].principals, "dave smith");
        assert_true(s->items[2].valid_before > 4000000000u);
        assert_int_equal(s->items[2].key->type, ECL_SSHKEY_SK_ED25519);
        assert_string_equal(s->items[2].key->sk_application, "ssh:");
        assert_string_equal(s->items[3].namespaces, "ecl\"q");
        assert_int_equal(s->items[3].line, 7);
        assert_true(ecl_sshkey_equal(s->items[0].key, s->items[3].key));
}

static void expect_error(const char *text, const char *want, unsigned line, unsigned col) {
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = NULL;
        _cleanup_(ecl_diags_clear) struct ecl_diags d = {0};
        assert_int_equal(ecl_allowed_signers_parse(text, strlen(text), "signers", &s, &d), -EBADMSG);
        assert_null(s);
        assert_true(d.n >= 1);
        _cleanup_free_ char *got = ecl_diag_format(&d.items[0]);
        if (!strstr(got, want) || d.items[0].pos.line != line || d.items[0].pos.col != col)
                fail_msg("got '%s', want '%s' at %u:%u", got, want, line, col);
}

static void test_parse_errors(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *ca = tl_strf("# ca\n*@example.org cert-authority %s\n", f->pub1);
        expect_error(ca, "cert-authority lines are not supported", 2, 15);
        _cleanup_free_ char *unk = tl_strf("alice no-touch-required %s\n", f->pub1);
        expect_error(unk, "unknown option", 1, 7);
        expect_error("alice\n", "missing key", 1, 6);
        expect_error("alice ssh-ed25519 !!!!\n", "key data is not valid base64", 1, 7);
        _cleanup_free_ char *mism = tl_strf("alice ecdsa-sha2-nistp256 %s\n", f->pub1 + strlen("ssh-ed25519 "));
        expect_error(mism, "does not match its data", 1, 7);
        _cleanup_free_ char *order = tl_strf("alice valid-after=\"20300101Z\",valid-before=\"20200101Z\" %s\n", f->pub1);
        expect_error(order, "\"valid-before\" is not after \"valid-after\"", 1, 7);
        _cleanup_free_ char *twice = tl_strf("alice namespaces=\"a\",namespaces=\"b\" %s\n", f->pub1);
        expect_error(twice, "multiple \"namespaces\" options", 1, 22);
        _cleanup_free_ char *noquote = tl_strf("alice namespaces=a %s\n", f->pub1);
        expect_error(noquote, "missing start quote", 1, 18);
        _cleanup_free_ char *badtime = tl_strf("alice valid-after=\"2030\" %s\n", f->pub1);
        expect_error(badtime, "invalid \"valid-after\" time", 1, 19);
        _cleanup_free_ char *unterminated = tl_strf("alice namespaces=\"a %s\n", f->pub1);
        expect_error(unterminated, "unterminated quote in options", 1, 7);
        expect_error("\"alice ssh-ed25519 AAAA\n", "unterminated quote in principals", 1, 1);
        expect_error("alice ssh-dss AAAAB3NzaC1kc3MAAAA=\n", "", 1, 7);
        _cleanup_free_ char *comma = tl_strf("alice namespaces=\"a\", %s\n", f->pub1);
        expect_error(comma, "unexpected end of options", 1, 22);
        /* Every problem is reported, with its own line. */
        _cleanup_free_ char *many = tl_strf("alice %s\nbob cert-authority %s\ncarol\ndave %s\n", f->pub1, f->pub2, f->pub3);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = NULL;
        _cleanup_(ecl_diags_clear) struct ecl_diags d = {0};
        assert_int_equal(ecl_allowed_signers_parse(many, strlen(many), "signers", &s, &d), -EBADMSG);
        assert_int_equal(d.n, 2);
        assert_int_equal(d.items[0].pos.line, 2);
        assert_int_equal(d.items[1].pos.line, 3);
}

static void test_find(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *text = tl_strf(
                "*@ops.example.org,!mallory@ops.example.org %s\n"
                "alice@example.org namespaces=\"ecluse-access\" %s\n"
                "alice@example.org namespaces=\"ecluse-approval\",valid-before=\"20200101Z\" %s\n"
                "alice@example.org namespaces=\"ecluse-approval\",valid-after=\"20200101Z\" %s\n"
                "bob@example.org valid-after=\"20300101Z\" %s\n",
                f->pub1, f->pub2, f->pub2, f->pub2, f->pub3);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = NULL;
        _cleanup_(ecl_diags_clear) struct ecl_diags d = {0};
        assert_int_equal(ecl_allowed_signers_parse(text, strlen(text), "officers", &s, &d), 0);
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k1 = key_of(f->pub1);
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k2 = key_of(f->pub2);
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k3 = key_of(f->pub3);
        const struct ecl_allowed_signer *a = NULL;
        _cleanup_free_ char *why = NULL;
        uint64_t now = 1800000000; /* 2027 */
        assert_int_equal(ecl_allowed_signers_find(s, k1, "eve@ops.example.org", "x", now, &a, &why), 0);
        assert_int_equal(a->line, 1);
        assert_int_equal(ecl_allowed_signers_find(s, k1, "mallory@ops.example.org", "x", now, &a, &why),
                         -ENOKEY);
        assert_non_null(strstr(why, "belongs to \"*@ops.example.org,!mallory@ops.example.org\", not to \"mallory@ops.example.org\" (officers:1)"));
        /* The first line that fits wins; others explain refusals. */
        assert_int_equal(ecl_allowed_signers_find(s, k2, "alice@example.org", "ecluse-approval", now, &a, &why), 0);
        assert_int_equal(a->line, 4);
        assert_int_equal(ecl_allowed_signers_find(s, k2, "alice@example.org", "ecluse-access", now, &a, &why), 0);
        assert_int_equal(a->line, 2);
        assert_int_equal(ecl_allowed_signers_find(s, k2, "alice@example.org", "ecluse-bundle", now, &a, &why),
                         -EKEYREJECTED);
        assert_non_null(strstr(why, "not allowed to sign in namespace \"ecluse-bundle\""));
        /* In 2017 line 3 (valid before 2020) is the one that fits. */
        assert_int_equal(ecl_allowed_signers_find(s, k2, "alice@example.org", "ecluse-approval", 1500000000, &a, &why),
                         0);
        assert_int_equal(a->line, 3);
        assert_int_equal(ecl_allowed_signers_find(s, k3, NULL, "ecluse-approval", now, &a, &why), -EKEYEXPIRED);
        assert_non_null(strstr(why, "of \"bob@example.org\" is not yet valid: 2027-01-15T08:00:00Z is before valid-after 2030-01-01T00:00:00Z (officers:5)"));
        assert_int_equal(ecl_allowed_signers_find(s, k3, NULL, "ecluse-approval", 1900000000, &a, &why), 0);
        assert_string_equal(a->principals, "bob@example.org");
        assert_int_equal(ecl_allowed_signers_find(s, k3, "carol@example.org", "n", 1900000000, &a, &why),
                         -ENOKEY);
        /* Boundaries are inclusive, as ssh-keygen. */
        assert_int_equal(ecl_allowed_signers_find(s, k3, NULL, "n", 1893456000, &a, &why), 0);
        assert_int_equal(ecl_allowed_signers_find(s, k3, NULL, "n", 1893456000 - 1, &a, &why), -EKEYEXPIRED);
}

static void test_load(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/officers", dir), *link = tl_strf("%s/link", dir);
        _cleanup_free_ char *big = tl_strf("%s/big", dir), *missing = tl_strf("%s/missing", dir);
        _cleanup_free_ char *text = tl_strf("alice %s\n", f->pub1);
        tl_write_file(path, text, strlen(text));
        assert_int_equal(symlink(path, link), 0);
        _cleanup_free_ char *huge = malloc(ECL_ALLOWED_SIGNERS_MAX_SIZE + 1);
        memset(huge, '#', ECL_ALLOWED_SIGNERS_MAX_SIZE + 1);
        tl_write_file(big, huge, ECL_ALLOWED_SIGNERS_MAX_SIZE + 1);
        struct ecl_allowed_signers *s = NULL;
        struct ecl_diags d = {0};
        assert_int_equal(ecl_allowed_signers_load(path, &s, &d), 0);
        assert_int_equal(s->n, 1);
        assert_string_equal(s->file, path);
        ecl_allowed_signers_free(s);
        s = NULL;
        assert_int_equal(ecl_allowed_signers_load(link, &s, &d), -ELOOP);
        assert_int_equal(ecl_allowed_signers_load(big, &s, &d), -EFBIG);
        assert_int_equal(ecl_allowed_signers_load(missing, &s, &d), -ENOENT);
        assert_int_equal(ecl_allowed_signers_load(dir, &s, &d), -EISDIR);
        assert_null(s);
        /* One diagnostic each, at the file, in the same wording as every untrusted file. */
        assert_int_equal(d.n, 4);
        assert_string_equal(d.items[0].what, "allowed signers file: a symbolic link (refused: opened without following links)");
        assert_non_null(strstr(d.items[1].what, "allowed signers file: file too large ("));
        assert_string_equal(d.items[2].what, "allowed signers file: cannot open: No such file or directory");
        assert_string_equal(d.items[3].what, "allowed signers file: a directory, not a regular file");
        assert_string_equal(d.items[3].file, dir);
        ecl_diags_clear(&d);
        /* A NUL byte inside is refused. */
        const char nul[] = "alice\0 ssh-ed25519 AAAA\n";
        assert_int_equal(ecl_allowed_signers_parse(nul, sizeof nul - 1, "f", &s, &d), -EBADMSG);
        assert_non_null(strstr(d.items[0].what, "NUL byte"));
        ecl_diags_clear(&d);
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_patterns),
                cmocka_unit_test(test_times),
                cmocka_unit_test_setup_teardown(test_parse_good_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_find, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
