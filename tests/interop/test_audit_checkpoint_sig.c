/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Officers sign an audit checkpoint with the real `ssh-keygen -Y sign -n
 * ecluse-audit`; `ecluse-agent audit verify --checkpoint --signers
 * --signature` accepts exactly the good signatures over the exact checkpoint
 * of a log that was not rewritten.
 */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static char *dir;

static char *P(const char *name) {
        return tl_strf("%s/%s", dir, name);
}

static struct tl_result agent(char *const *args) {
        char *argv[24] = {(char *) ECLUSE_AGENT_BIN};
        size_t n = 1;
        for (; args[n - 1]; n++)
                argv[n] = args[n - 1];
        argv[n] = NULL;
        struct tl_result res;
        tl_run(argv, &res);
        return res;
}
#define AGENT(...) agent((char *const[]){__VA_ARGS__, NULL})

static void run_ok(char *const argv[]) {
        struct tl_result r;
        tl_run(argv, &r);
        if (r.status != 0)
                fail_msg("%s: %s", argv[0], r.err);
        tl_result_free(&r);
}

static void keygen(const char *name, const char *type) {
        _cleanup_free_ char *path = P(name);
        run_ok((char *const[]){"ssh-keygen", "-q", "-t", (char *) type, "-N", "", "-C", (char *) name, "-f", path,
                               NULL});
}

/* Sign a copy of FILE named SIGNAME with KEY in namespace NS; returns the .sig path. */
static char *sign(const char *key, const char *ns, const char *file, const char *signame) {
        _cleanup_free_ char *keyp = P(key), *copy = P(signame);
        size_t len;
        _cleanup_free_ char *data = tl_read_file(file, &len);
        assert_non_null(data);
        tl_write_file(copy, data, len);
        run_ok((char *const[]){"ssh-keygen", "-Y", "sign", "-f", keyp, "-n", (char *) ns, copy, NULL});
        return tl_strf("%s.sig", copy);
}

static char *pubkey(const char *name) {
        _cleanup_free_ char *p = tl_strf("%s/%s.pub", dir, name);
        char *s = tl_read_file(p, NULL);
        assert_non_null(s);
        s[strcspn(s, "\n")] = 0;
        return s;
}

static int setup(void **state) {
        (void) state;
        if (!tl_have_program("ssh-keygen"))
                return 0;
        dir = tl_mkdtemp();
        keygen("officer1", "ed25519");
        keygen("officer2", "ecdsa");
        keygen("stranger", "ed25519");
        _cleanup_free_ char *k1 = pubkey("officer1"), *k2 = pubkey("officer2");
        _cleanup_free_ char *signers = tl_strf("officer1@example.eu namespaces=\"ecluse-audit\" %s\n"
                                               "officer2@example.eu %s\n",
                                               k1, k2);
        _cleanup_free_ char *sp = P("officers");
        tl_write_file(sp, signers, strlen(signers));
        return 0;
}

static int teardown(void **state) {
        (void) state;
        if (dir)
                tl_rm_rf(dir);
        free(dir);
        return 0;
}

static void test_signed_checkpoint(void **state) {
        (void) state;
        if (!dir)
                skip();
        _cleanup_free_ char *log = P("audit.log"), *cp = P("cp"), *signers = P("officers");
        for (int i = 0; i < 3; i++) {
                struct tl_result r = AGENT("--log", log, "audit", "note", "--actor", "alice", "decision");
                assert_int_equal(r.status, 0);
                tl_result_free(&r);
        }
        struct tl_result r = AGENT("--log", log, "audit", "checkpoint");
        assert_int_equal(r.status, 0);
        tl_write_file(cp, r.out, strlen(r.out));
        tl_result_free(&r);

        _cleanup_free_ char *s1 = sign("officer1", "ecluse-audit", cp, "cp1");
        _cleanup_free_ char *s2 = sign("officer2", "ecluse-audit", cp, "cp2");
        _cleanup_free_ char *wrong_ns = sign("officer2", "ecluse-approval", cp, "cp3");
        _cleanup_free_ char *stranger = sign("stranger", "ecluse-audit", cp, "cp4");

        r = AGENT("--log", log, "audit", "verify", "--checkpoint", cp, "--signers", signers, "--signature", s1);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "checkpoint: record 3"));
        assert_non_null(strstr(r.out, "checkpoint signed by officer1@example.eu with ED25519 key SHA256:"));
        tl_result_free(&r);

        r = AGENT("--log", log, "--json", "audit", "verify", "--checkpoint", cp, "--signers", signers,
                  "--signature", s1, "--signature", s2);
        assert_int_equal(r.status, 0);
        json_t *o = json_loads(r.out, 0, NULL);
        assert_non_null(o);
        json_t *sigs = json_object_get(o, "signatures");
        assert_int_equal(json_array_size(sigs), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(sigs, 1), "principal")),
                            "officer2@example.eu");
        assert_true(json_is_true(json_object_get(json_object_get(o, "checkpoint"), "ok")));
        json_decref(o);
        tl_result_free(&r);

        /* The same key twice is one signature, not two. */
        r = AGENT("--log", log, "audit", "verify", "--checkpoint", cp, "--signers", signers, "--signature", s1,
                  "--signature", s1);
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "already signed"));
        tl_result_free(&r);

        /* Wrong namespace, unknown key, wrong principal. */
        char *const *refused[] = {
                (char *const[]){"--signature", wrong_ns, NULL},
                (char *const[]){"--signature", stranger, NULL},
                (char *const[]){"--signature", s1, "--principal", "officer2@example.eu", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char *argv[16] = {(char *) ECLUSE_AGENT_BIN, "--log", log, "audit", "verify", "--checkpoint", cp,
                                  "--signers", signers};
                size_t n = 9;
                for (char *const *a = refused[i]; *a; a++)
                        argv[n++] = *a;
                argv[n] = NULL;
                tl_run(argv, &r);
                assert_int_equal(r.status, 65);
                assert_non_null(strstr(r.err, "refused"));
                tl_result_free(&r);
        }

        /* A changed checkpoint no longer carries the signature. */
        _cleanup_free_ char *forged = P("forged");
        r = AGENT("--log", log, "audit", "note", "--actor", "bob", "one more");
        tl_result_free(&r);
        r = AGENT("--log", log, "audit", "checkpoint");
        assert_int_equal(r.status, 0);
        tl_write_file(forged, r.out, strlen(r.out));
        tl_result_free(&r);
        r = AGENT("--log", log, "audit", "verify", "--checkpoint", forged, "--signers", signers, "--signature", s1);
        assert_int_equal(r.status, 65);
        tl_result_free(&r);

        /* The signed checkpoint catches records removed from the end. */
        size_t len;
        _cleanup_free_ char *all = tl_read_file(log, &len);
        char *third = strchr(strchr(all, '\n') + 1, '\n') + 1;
        tl_write_file(log, all, (size_t) (third - all));
        r = AGENT("--log", log, "audit", "verify");
        assert_int_equal(r.status, 0);
        tl_result_free(&r);
        r = AGENT("--log", log, "audit", "verify", "--checkpoint", cp, "--signers", signers, "--signature", s1);
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "removed from the end"));
        tl_result_free(&r);

        /* Usage: signatures need all three options. */
        r = AGENT("--log", log, "audit", "verify", "--checkpoint", cp, "--signature", s1);
        assert_int_equal(r.status, 64);
        tl_result_free(&r);
        r = AGENT("--log", log, "audit", "verify", "--signers", signers, "--signature", s1);
        assert_int_equal(r.status, 64);
        tl_result_free(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_signed_checkpoint),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
