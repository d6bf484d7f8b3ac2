/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counting approvals (quorum.h) made by the real ssh-keygen: keys and
 * signatures are made at test time, the officers file lists them, and each
 * case checks the exact count and each item's verdict.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "keygen-test.h"
#include "officers.h"
#include "quorum.h"
#include "testlib.h"

#define NS "ecluse-approval"

static const char STATEMENT[] = "ecluse approval v1\n"
                                "decision: apply\n"
                                "stack: office\n"
                                "licensor: Example Cloud Inc.\n"
                                "version: 2.4.1\n"
                                "bundle: sha256:3b1f000000000000000000000000000000000000000000000000000000000000\n"
                                "imported: 2026-12-01T10:00:00Z\n"
                                "nonce: 0123456789abcdef0123456789abcdef\n"
                                "approval-expires: 2026-12-04T10:00:00Z\n";
/* The same, one version later: another statement. */
static const char OTHER[] = "ecluse approval v1\n"
                            "decision: apply\n"
                            "stack: office\n"
                            "licensor: Example Cloud Inc.\n"
                            "version: 2.4.2\n"
                            "bundle: sha256:3b1f000000000000000000000000000000000000000000000000000000000000\n"
                            "imported: 2026-12-01T10:00:00Z\n"
                            "nonce: 0123456789abcdef0123456789abcdef\n"
                            "approval-expires: 2026-12-04T10:00:00Z\n";

static struct {
        char *dir;
        struct ecl_officers *officers;
        uint64_t now, expires;
} E;

static char *P(const char *name) {
        return tl_strf("%s/%s", E.dir, name);
}

static void keygen(const char *name, const char *type) {
        kt_keygen(E.dir, name, type, NULL);
}

/* Sign the file MSGFILE with key in ns; the signature becomes SIGNAME. */
static void sign(const char *key, const char *ns, const char *msgfile, const char *signame) {
        _cleanup_free_ char *kp = P(key), *mp = P(msgfile), *sp = P(signame);
        kt_sign(kp, ns, mp, NULL, sp);
}

static void fingerprint(const char *key, char out[static ECL_SSHKEY_FP_MAX]) {
        _cleanup_free_ char *t = kt_pub(E.dir, key);
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k = NULL;
        assert_int_equal(ecl_sshkey_from_text(t, &k, NULL, NULL), 0);
        memcpy(out, k->fingerprint, ECL_SSHKEY_FP_MAX);
}

/* Counted alone, sig is judged with the fingerprint of key. */
static void expect_fingerprint(const char *sig, const char *key, int result) {
        char fp[ECL_SSHKEY_FP_MAX];
        fingerprint(key, fp);
        _cleanup_free_ char *p = P(sig);
        const char *paths[] = {p};
        struct ecl_quorum q = {0};
        assert_int_equal(
                ecl_quorum_count(E.officers, NS, STATEMENT, strlen(STATEMENT), E.expires, E.now, paths, 1, &q, NULL),
                0);
        assert_int_equal(q.items[0].result, result);
        assert_int_equal(q.counted, result == 0);
        assert_string_equal(q.items[0].fingerprint, fp);
        ecl_quorum_clear(&q);
}

static int setup(void **state) {
        (void) state;
        if (kt_require_ssh_keygen() < 0)
                return -1;
        E.dir = tl_mkdtemp();
        E.now = (uint64_t) time(NULL);
        E.expires = E.now + 3600;
        _cleanup_free_ char *sp = P("statement"), *op = P("other");
        tl_write_file(sp, STATEMENT, strlen(STATEMENT));
        tl_write_file(op, OTHER, strlen(OTHER));

        keygen("alice", "ed25519");
        keygen("alice2", "ecdsa"); /* alice's second key, on a line that shares a principal */
        keygen("bob", "ecdsa");
        keygen("carol", "rsa");     /* not an officer */
        keygen("dave", "ed25519");  /* an officer whose line expired */
        keygen("erin", "ed25519");  /* an officer for access grants only */
        keygen("frank", "ed25519"); /* an officer from 2099 on */

        sign("alice", NS, "statement", "alice.sig");
        sign("alice", NS, "statement", "alice-again.sig");
        sign("alice", NS, "other", "alice-other.sig");
        sign("alice", "ecluse-bundle", "statement", "alice-bundle.sig");
        sign("alice2", NS, "statement", "alice2.sig");
        sign("bob", NS, "statement", "bob.sig");
        sign("carol", NS, "statement", "carol.sig");
        sign("dave", NS, "statement", "dave.sig");
        sign("erin", NS, "statement", "erin.sig");
        sign("frank", NS, "statement", "frank.sig");

        _cleanup_free_ char *pa = kt_pub(E.dir, "alice"), *pa2 = kt_pub(E.dir, "alice2"), *pb = kt_pub(E.dir, "bob"),
                            *pd = kt_pub(E.dir, "dave"), *pe = kt_pub(E.dir, "erin"), *pf = kt_pub(E.dir, "frank");
        _cleanup_free_ char *text = tl_strf("alice %s\n"
                                            "bob@corp %s\n"
                                            "alice@corp,alice %s\n"
                                            "dave valid-before=\"20200101Z\" %s\n"
                                            "erin namespaces=\"ecluse-access\" %s\n"
                                            "frank valid-after=\"20990101Z\" %s\n",
                                            pa, pb, pa2, pd, pe, pf);
        _cleanup_free_ char *op2 = P("officers");
        tl_write_file(op2, text, strlen(text));
        struct ecl_diags d = {0};
        int r = ecl_officers_load(op2, &E.officers, &d);
        ecl_diags_print(&d, stderr);
        ecl_diags_clear(&d);
        return r < 0 ? -1 : 0;
}

static int teardown(void **state) {
        (void) state;
        ecl_officers_free(E.officers);
        if (E.dir)
                tl_rm_rf(E.dir);
        free(E.dir);
        return 0;
}

struct item {
        int result;
        const char *officer; /* NULL: nobody's key */
        const char *reason;  /* substring of the reason, when refused */
};

/* Count sigs (names in E.dir) at now and check each item; returns the count. */
static size_t count_at(uint64_t now, const char *const *sigs, size_t n, const struct item *want) {
        _cleanup_free_ char **paths = calloc(n ? n : 1, sizeof *paths);
        assert_non_null(paths);
        for (size_t i = 0; i < n; i++)
                paths[i] = P(sigs[i]);
        struct ecl_quorum q = {0};
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_quorum_count(E.officers, NS, STATEMENT, strlen(STATEMENT), E.expires, now,
                                          (const char *const *) paths, n, &q, &why),
                         0);
        assert_int_equal(q.n, n);
        size_t counted = 0;
        for (size_t i = 0; i < n; i++) {
                const struct ecl_approval *a = &q.items[i];
                print_message("  %s: %d %s (officer %s, %s)\n", sigs[i], a->result, a->reason ? a->reason : "counted",
                              a->officer ? a->officer : "-", a->fingerprint);
                assert_string_equal(a->source, paths[i]);
                if (a->result != want[i].result)
                        fail_msg("%s: result %d, want %d (%s)", sigs[i], a->result, want[i].result,
                                 a->reason ? a->reason : "counted");
                if (want[i].officer) {
                        assert_non_null(a->officer);
                        assert_string_equal(a->officer, want[i].officer);
                        assert_true(a->officer_index < E.officers->n_officers);
                        assert_string_equal(E.officers->names[a->officer_index], want[i].officer);
                } else {
                        assert_null(a->officer);
                        assert_int_equal(a->officer_index, SIZE_MAX);
                }
                if (a->result == 0) {
                        assert_null(a->reason);
                        counted++;
                } else {
                        assert_non_null(a->reason);
                        if (want[i].reason && !strstr(a->reason, want[i].reason))
                                fail_msg("%s: reason \"%s\" lacks \"%s\"", sigs[i], a->reason, want[i].reason);
                }
        }
        assert_int_equal(q.counted, counted);
        ecl_quorum_clear(&q);
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
        return counted;
}

#define COUNT(now, sigs, want)                                                                \
        count_at((now), (const char *const[]) sigs, ELEMENTSOF(((const char *const[]) sigs)), \
                 (const struct item[]) want)
#define L(...) \
        { __VA_ARGS__ }

static void test_two_officers(void **state) {
        (void) state;
        assert_int_equal(COUNT(E.now, L("alice.sig", "bob.sig"), L({0, "alice", NULL}, {0, "bob@corp", NULL})), 2);

        /* The audit record names the officer (COUNT checks it) and the key's fingerprint. */
        expect_fingerprint("bob.sig", "bob", 0);
        expect_fingerprint("alice.sig", "alice", 0);
}

static void test_same_officer_twice(void **state) {
        (void) state;
        /* The same signature file twice, and a second signature by the same key. */
        _cleanup_free_ char *first = P("alice.sig");
        _cleanup_free_ char *dup = tl_strf("officer alice already approved (%s)", first);
        assert_int_equal(COUNT(E.now, L("alice.sig", "alice.sig"), L({0, "alice", NULL}, {-EEXIST, "alice", dup})), 1);
        assert_int_equal(COUNT(E.now, L("alice.sig", "alice-again.sig", "bob.sig"),
                               L({0, "alice", NULL}, {-EEXIST, "alice", dup}, {0, "bob@corp", NULL})),
                         2);
}

static void test_same_officer_second_key(void **state) {
        (void) state;
        /* alice2's line "alice@corp,alice" shares a principal with "alice". */
        _cleanup_free_ char *first = P("alice2.sig");
        _cleanup_free_ char *dup = tl_strf("officer alice already approved (%s)", first);
        assert_int_equal(COUNT(E.now, L("alice2.sig", "alice.sig"), L({0, "alice", NULL}, {-EEXIST, "alice", dup})), 1);
        expect_fingerprint("alice2.sig", "alice2", 0);
}

static void test_other_statement(void **state) {
        (void) state;
        assert_int_equal(COUNT(E.now, L("alice-other.sig"), L({-EKEYREJECTED, "alice", "does not verify"})), 0);
        /* The first valid approval of an officer is the one that counts. */
        assert_int_equal(
                COUNT(E.now, L("alice-other.sig", "alice.sig"), L({-EKEYREJECTED, "alice", NULL}, {0, "alice", NULL})),
                1);
}

static void test_wrong_namespace(void **state) {
        (void) state;
        assert_int_equal(COUNT(E.now, L("alice-bundle.sig", "bob.sig"),
                               L({-EKEYREJECTED, "alice", "namespace"}, {0, "bob@corp", NULL})),
                         1);
        /* A line whose namespaces= does not allow approvals. */
        assert_int_equal(COUNT(E.now, L("erin.sig"), L({-EKEYREJECTED, "erin", "namespace"})), 0);
}

static void test_not_an_officer(void **state) {
        (void) state;
        assert_int_equal(COUNT(E.now, L("carol.sig", "alice.sig"),
                               L({-ENOKEY, NULL, "not an allowed signer"}, {0, "alice", NULL})),
                         1);
        expect_fingerprint("carol.sig", "carol", -ENOKEY);
}

static void test_statement_expired(void **state) {
        (void) state;
        /* One second before the approval time ends both count; at it, none. */
        assert_int_equal(COUNT(E.expires - 1, L("alice.sig", "bob.sig"), L({0, "alice", NULL}, {0, "bob@corp", NULL})),
                         2);
        assert_int_equal(COUNT(E.expires, L("alice.sig", "bob.sig"),
                               L({-EKEYEXPIRED, "alice", "the approval expired at "},
                                 {-EKEYEXPIRED, "bob@corp", "the approval expired at "})),
                         0);
        assert_int_equal(
                COUNT(E.expires + 86400, L("alice.sig"), L({-EKEYEXPIRED, "alice", "the approval expired at "})), 0);
}

static void test_officer_expired(void **state) {
        (void) state;
        assert_int_equal(
                COUNT(E.now, L("dave.sig", "bob.sig"), L({-EKEYEXPIRED, "dave", "has expired"}, {0, "bob@corp", NULL})),
                1);
}

static void test_officer_not_yet_valid(void **state) {
        (void) state;
        assert_int_equal(COUNT(E.now, L("frank.sig"), L({-EKEYEXPIRED, "frank", "not yet valid"})), 0);
        /* Judged at the time given, not at the clock's: in 2099 frank counts. */
        const uint64_t later = 4070908800 + 86400; /* 2099-01-02 */
        _cleanup_free_ char *p = P("frank.sig"), *a = P("alice.sig");
        const char *paths[] = {p, a};
        struct ecl_quorum q = {0};
        assert_int_equal(
                ecl_quorum_count(E.officers, NS, STATEMENT, strlen(STATEMENT), later + 60, later, paths, 2, &q, NULL),
                0);
        assert_int_equal(q.items[0].result, 0);
        assert_int_equal(q.items[1].result, 0);
        assert_int_equal(q.counted, 2);
        ecl_quorum_clear(&q);
}

static void test_unreadable(void **state) {
        (void) state;
        _cleanup_free_ char *garbage = P("garbage.sig");
        tl_write_file(garbage, "not a signature\n", 16);
        assert_int_equal(COUNT(E.now, L("missing.sig", "garbage.sig", "bob.sig"),
                               L({-ENOENT, NULL, "missing.sig"}, {-EBADMSG, NULL, NULL}, {0, "bob@corp", NULL})),
                         1);
        struct ecl_quorum q = {0};
        assert_int_equal(
                ecl_quorum_count(E.officers, NS, STATEMENT, strlen(STATEMENT), E.expires, E.now, NULL, 0, &q, NULL), 0);
        assert_int_equal(q.counted, 0);
        assert_int_equal(q.n, 0);
        ecl_quorum_clear(&q);
}

static void test_mixed(void **state) {
        (void) state;
        assert_int_equal(
                COUNT(E.now, L("carol.sig", "alice2.sig", "dave.sig", "alice.sig", "bob.sig", "alice-again.sig"),
                      L({-ENOKEY, NULL, NULL}, {0, "alice", NULL}, {-EKEYEXPIRED, "dave", NULL},
                        {-EEXIST, "alice", "alice2.sig"}, {0, "bob@corp", NULL}, {-EEXIST, "alice", "alice2.sig"})),
                2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_two_officers),
                cmocka_unit_test(test_same_officer_twice),
                cmocka_unit_test(test_same_officer_second_key),
                cmocka_unit_test(test_other_statement),
                cmocka_unit_test(test_wrong_namespace),
                cmocka_unit_test(test_not_an_officer),
                cmocka_unit_test(test_statement_expired),
                cmocka_unit_test(test_officer_expired),
                cmocka_unit_test(test_officer_not_yet_valid),
                cmocka_unit_test(test_unreadable),
                cmocka_unit_test(test_mixed),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
