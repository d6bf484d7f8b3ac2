/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse's SSHSIG verdicts against OpenSSH's own: keys and signatures are
 * made at test time by the real ssh-keygen (ed25519, ecdsa, rsa), and every
 * case of the corpus is judged by `ssh-keygen -Y verify`, by the library
 * (ecl_sshsig_verify_fd) and by `ecluse-agent verify`; all three must agree,
 * and on success print the same line.  Security-key signatures, which need
 * hardware to make, are built with OpenSSL in the exact sk layout
 * (sshsig-testsign.h) and also shown to ssh-keygen.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allowed-signers.h"
#include "keygen-test.h"
#include "../unit/sshsig-testsign.h"
#include "sshsig.h"
#include "testlib.h"

struct env {
        char *dir;
        char *signers;
        char *signers_small; /* only the RSA 1024 key, which ecluse refuses to load */
        char *msg;   /* the signed message */
        char *msg2;  /* a changed message */
};
static struct env E;

static char *P(const char *name) {
        return tl_strf("%s/%s", E.dir, name);
}

/* Run argv with stdin from a file; stdout captured, stderr captured. */
static void run_stdin(char *const argv[], const char *in, struct tl_result *res) {
        int out[2], err[2];
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(in, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        _exit(126);
                dup2(fd, 0);
                dup2(out[1], 1);
                dup2(err[1], 2);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(out[1]);
        close(err[1]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        char buf[65536];
        ssize_t n = read(out[0], buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        res->out = strdup(buf);
        n = read(err[0], buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        res->err = strdup(buf);
        close(out[0]);
        close(err[0]);
        res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void keygen(const char *name, const char *type, const char *bits) {
        kt_keygen(E.dir, name, type, bits);
}

/* ssh-keygen -Y sign; the signature is moved to SIGNAME. */
static void sign(const char *key, const char *ns, const char *signame, const char *hashalg) {
        _cleanup_free_ char *kp = P(key), *sp = P(signame);
        kt_sign(kp, ns, E.msg, hashalg, sp);
}

static char *pub(const char *key) {
        return kt_pub(E.dir, key);
}

static void write_ts_sig(const char *name, const struct ts_key *k, const char *ns, const struct ts_opts *o) {
        size_t n;
        _cleanup_free_ char *m = tl_read_file(E.msg, &n);
        _cleanup_free_ char *a = ts_sign(k, ns, m, n, o);
        _cleanup_free_ char *p = P(name);
        tl_write_file(p, a, strlen(a));
}

static int setup(void **state) {
        (void) state;
        if (kt_require_ssh_keygen() < 0)
                return -1;
        E.dir = tl_mkdtemp();
        E.msg = P("statement.txt");
        E.msg2 = P("statement-changed.txt");
        const char *m = "ecluse statement v1\nbundle sha256:0123abcd\nstack office\nversion 1.2.3\ndecision approve\n";
        tl_write_file(E.msg, m, strlen(m));
        tl_write_file(E.msg2, "ecluse statement v1\nbundle sha256:0123abcd\nstack office\nversion 1.2.4\n", 66);

        keygen("alice", "ed25519", NULL);
        keygen("bob", "ecdsa", NULL);
        keygen("carol", "rsa", NULL);
        keygen("frank", "ed25519", NULL);
        keygen("gina", "ecdsa", NULL);
        keygen("eve", "ed25519", NULL);
        keygen("small", "rsa", "1024");
        sign("alice", "ecluse-approval", "alice.sig", NULL);
        sign("alice", "ecluse-approval", "alice-sha256.sig", "sha256");
        sign("alice", "ecluse-bundle", "alice-bundle.sig", NULL);
        sign("bob", "ecluse-approval", "bob.sig", NULL);
        sign("bob", "ecluse-approval", "bob-sha256.sig", "sha256");
        sign("carol", "ecluse-approval", "carol.sig", NULL);
        sign("frank", "ecluse-approval", "frank.sig", NULL);
        sign("gina", "ecluse-approval", "gina.sig", NULL);
        sign("eve", "ecluse-approval", "eve.sig", NULL);
        sign("small", "ecluse-approval", "small.sig", NULL);

        /* Security keys (OpenSSL, PROTOCOL.u2f layout) and an ssh-rsa (SHA-1) signature. */
        struct ts_key ske = ts_keygen(ECL_SSHKEY_SK_ED25519, 0), skc = ts_keygen(ECL_SSHKEY_SK_ECDSA_P256, 0);
        struct ts_key rsa = ts_keygen(ECL_SSHKEY_RSA, 2048);
        write_ts_sig("sk-ed25519.sig", &ske, "ecluse-approval", &(struct ts_opts){.sk_flags = 0x01, .sk_counter = 17});
        write_ts_sig("sk-ecdsa.sig", &skc, "ecluse-approval", &(struct ts_opts){.sk_flags = 0x05, .sk_counter = 3});
        write_ts_sig("sk-ecdsa-sha256.sig", &skc, "ecluse-approval",
                     &(struct ts_opts){.hash_alg = "sha256", .sk_flags = 0x01, .sk_counter = 4});
        write_ts_sig("sk-nopresence.sig", &ske, "ecluse-approval", &(struct ts_opts){.sk_flags = 0x00, .sk_counter = 18});
        write_ts_sig("sk-counter-20.sig", &ske, "ecluse-approval", &(struct ts_opts){.sk_flags = 0x01, .sk_counter = 20});
        write_ts_sig("sk-counter-19.sig", &ske, "ecluse-approval", &(struct ts_opts){.sk_flags = 0x01, .sk_counter = 19});
        write_ts_sig("ssh-rsa-sha1.sig", &rsa, "ecluse-approval", &(struct ts_opts){.rsa_alg = "ssh-rsa"});
        _cleanup_free_ char *ske_pub = ts_pubtext(&ske), *skc_pub = ts_pubtext(&skc), *rsa_pub = ts_pubtext(&rsa);

        /* Changed signature: one bit of the signature proper, re-armored. */
        const char *orig[] = {"alice.sig", "bob.sig", "carol.sig"};
        const char *changed[] = {"alice-changed.sig", "bob-changed.sig", "carol-changed.sig"};
        for (size_t i = 0; i < ELEMENTSOF(orig); i++) {
                _cleanup_free_ char *p = P(orig[i]), *q = P(changed[i]);
                size_t n;
                _cleanup_free_ char *a = tl_read_file(p, &n);
                _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
                assert_int_equal(ecl_sshsig_parse_armor(a, n, &sig, NULL), 0);
                sig->blob[sig->blob_len - 10] ^= 0x04;
                _cleanup_free_ char *armored = ts_armor(sig->blob, sig->blob_len);
                tl_write_file(q, armored, strlen(armored));
        }
        /* Truncated armor: cut in the middle; and base64 cut short but the footer kept. */
        {
                _cleanup_free_ char *p = P("alice.sig"), *q = P("alice-truncated.sig"), *q2 = P("bob-short.sig");
                _cleanup_free_ char *p2 = P("bob.sig");
                size_t n;
                _cleanup_free_ char *a = tl_read_file(p, &n);
                tl_write_file(q, a, n / 2);
                _cleanup_free_ char *b = tl_read_file(p2, &n);
                char *end = strstr(b, "-----END");
                assert_non_null(end);
                _cleanup_free_ char *s = tl_strf("%.*s\n%s", (int) (end - b - 80), b, end);
                tl_write_file(q2, s, strlen(s));
        }

        _cleanup_free_ char *pa = pub("alice"), *pb = pub("bob"), *pc = pub("carol"), *pf = pub("frank"),
                            *pg = pub("gina"), *ps = pub("small");
        _cleanup_free_ char *signers = tl_strf(
                "# ecluse officers (interop)\n"
                "alice@example.org namespaces=\"ecluse-approval,ecluse-access\" %s\n"
                "bob@example.org %s\n"
                "*@ops.example.org,!mallory@ops.example.org %s\n"
                "frank@example.org valid-after=\"20990101Z\" %s\n"
                "gina@example.org valid-before=\"20200101Z\" %s\n"
                "sk@example.org %s\n"
                "sk@example.org %s\n"
                "rsa@example.org %s\n",
                pa, pb, pc, pf, pg, ske_pub, skc_pub, rsa_pub);
        E.signers = P("allowed_signers");
        tl_write_file(E.signers, signers, strlen(signers));
        _cleanup_free_ char *small = tl_strf("small@example.org %s\n", ps);
        E.signers_small = P("allowed_signers_small");
        tl_write_file(E.signers_small, small, strlen(small));
        ts_key_free(&ske);
        ts_key_free(&skc);
        ts_key_free(&rsa);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        tl_rm_rf(E.dir);
        free(E.dir), free(E.signers), free(E.signers_small), free(E.msg), free(E.msg2);
        return 0;
}

struct verdicts {
        bool openssh, library, cli;
        char *openssh_line, *cli_line, *why;
};

static void verdicts_free(struct verdicts *v) {
        free(v->openssh_line), free(v->cli_line), free(v->why);
}

static struct verdicts judge_with(const char *signers_path, const char *signame, const char *msg, const char *ns,
                                  const char *principal) {
        struct verdicts v = {0};
        _cleanup_free_ char *sig = P(signame);
        /* OpenSSH */
        char *ok_argv[] = {"ssh-keygen", "-Y", "verify", "-f", (char *) signers_path, "-I", (char *) principal, "-n",
                           (char *) ns, "-s", sig, NULL};
        struct tl_result r;
        run_stdin(ok_argv, msg, &r);
        v.openssh = r.status == 0;
        v.openssh_line = strdup(r.out);
        tl_result_free(&r);
        /* the library */
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *s = NULL;
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *signers = NULL;
        _cleanup_(ecl_diags_clear) struct ecl_diags d = {0};
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict vd = {0};
        _cleanup_free_ char *why = NULL;
        if (ecl_allowed_signers_load(signers_path, &signers, &d) < 0) {
                assert_true(d.n > 0);
                v.why = ecl_diag_format(&d.items[0]);
        } else if (ecl_sshsig_load(sig, &s, &why) == 0) {
                _cleanup_close_ int fd = open(msg, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                v.library = ecl_sshsig_verify_fd(s, fd, ns, signers, principal, NULL, &vd) == 0;
                v.why = strdup(v.library ? "" : vd.reason);
        } else {
                v.why = strdup(why);
        }
        /* the command */
        char *argv[] = {ECLUSE_AGENT_BIN, "verify", "--signers", (char *) signers_path, "--namespace", (char *) ns,
                        "--principal", (char *) principal, "--signature", sig, (char *) msg, NULL};
        tl_run(argv, &r);
        v.cli = r.status == 0;
        if (!v.cli && r.status != 65)
                fail_msg("%s: ecluse-agent verify exited %d: %s", signame, r.status, r.err);
        v.cli_line = strdup(r.out);
        tl_result_free(&r);
        return v;
}

static struct verdicts judge(const char *signame, const char *msg, const char *ns, const char *principal) {
        return judge_with(E.signers, signame, msg, ns, principal);
}

static void expect(const char *signame, const char *msg, const char *ns, const char *principal, bool good) {
        struct verdicts v = judge(signame, msg, ns, principal);
        if (v.openssh != good || v.library != good || v.cli != good)
                fail_msg("%s (ns %s, principal %s): expected %s; ssh-keygen %s, library %s (%s), cli %s", signame, ns,
                         principal, good ? "good" : "refused", v.openssh ? "good" : "refused",
                         v.library ? "good" : "refused", v.why, v.cli ? "good" : "refused");
        if (good)
                assert_string_equal(v.cli_line, v.openssh_line);
        else
                assert_string_not_equal(v.why, "");
        verdicts_free(&v);
}

static void test_good_signatures(void **state) {
        (void) state;
        expect("alice.sig", E.msg, "ecluse-approval", "alice@example.org", true);
        expect("alice-sha256.sig", E.msg, "ecluse-approval", "alice@example.org", true);
        expect("bob.sig", E.msg, "ecluse-approval", "bob@example.org", true);
        expect("bob-sha256.sig", E.msg, "ecluse-approval", "bob@example.org", true);
        expect("carol.sig", E.msg, "ecluse-approval", "eve@ops.example.org", true);
}

static void test_changed_message(void **state) {
        (void) state;
        expect("alice.sig", E.msg2, "ecluse-approval", "alice@example.org", false);
        expect("bob.sig", E.msg2, "ecluse-approval", "bob@example.org", false);
        expect("carol.sig", E.msg2, "ecluse-approval", "eve@ops.example.org", false);
}

static void test_changed_signature(void **state) {
        (void) state;
        expect("alice-changed.sig", E.msg, "ecluse-approval", "alice@example.org", false);
        expect("bob-changed.sig", E.msg, "ecluse-approval", "bob@example.org", false);
        expect("carol-changed.sig", E.msg, "ecluse-approval", "eve@ops.example.org", false);
}

static void test_wrong_namespace(void **state) {
        (void) state;
        expect("alice.sig", E.msg, "ecluse-access", "alice@example.org", false);
        expect("bob.sig", E.msg, "ecluse-bundle", "bob@example.org", false);
        /* Signed for ecluse-bundle, which alice's namespaces= does not allow. */
        expect("alice-bundle.sig", E.msg, "ecluse-bundle", "alice@example.org", false);
}

static void test_wrong_principal(void **state) {
        (void) state;
        expect("bob.sig", E.msg, "ecluse-approval", "alice@example.org", false);
        expect("alice.sig", E.msg, "ecluse-approval", "bob@example.org", false);
        expect("carol.sig", E.msg, "ecluse-approval", "mallory@ops.example.org", false);
        expect("carol.sig", E.msg, "ecluse-approval", "nobody@example.org", false);
        expect("eve.sig", E.msg, "ecluse-approval", "eve@ops.example.org", false);
}

static void test_validity(void **state) {
        (void) state;
        expect("frank.sig", E.msg, "ecluse-approval", "frank@example.org", false);
        expect("gina.sig", E.msg, "ecluse-approval", "gina@example.org", false);
}

static void test_truncated_armor(void **state) {
        (void) state;
        expect("alice-truncated.sig", E.msg, "ecluse-approval", "alice@example.org", false);
        expect("bob-short.sig", E.msg, "ecluse-approval", "bob@example.org", false);
}

static void test_security_keys(void **state) {
        (void) state;
        /* ssh-keygen accepts the OpenSSL-built sk signatures: the layout is OpenSSH's. */
        expect("sk-ed25519.sig", E.msg, "ecluse-approval", "sk@example.org", true);
        expect("sk-ecdsa.sig", E.msg, "ecluse-approval", "sk@example.org", true);
        expect("sk-ecdsa-sha256.sig", E.msg, "ecluse-approval", "sk@example.org", true);
        expect("sk-ed25519.sig", E.msg2, "ecluse-approval", "sk@example.org", false);
        expect("sk-ecdsa.sig", E.msg, "ecluse-access", "sk@example.org", false);
        /* Stricter than ssh-keygen: no user presence is refused. */
        struct verdicts v = judge("sk-nopresence.sig", E.msg, "ecluse-approval", "sk@example.org");
        assert_true(v.openssh);
        assert_false(v.library);
        assert_false(v.cli);
        assert_non_null(strstr(v.why, "without user presence"));
        verdicts_free(&v);
        /* Counters: with a store, a replay and an older counter are refused. */
        _cleanup_free_ char *store = P("sk-counters");
        _cleanup_free_ char *s20 = P("sk-counter-20.sig"), *s19 = P("sk-counter-19.sig");
        const char *seq[][2] = {{s20, "0"}, {s20, "65"}, {s19, "65"}};
        for (size_t i = 0; i < ELEMENTSOF(seq); i++) {
                char *argv[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                                "--signature", (char *) seq[i][0], "--counter-dir", store, E.msg, NULL};
                struct tl_result r;
                tl_run(argv, &r);
                if (r.status != atoi(seq[i][1]))
                        fail_msg("counter step %zu: exit %d: %s", i, r.status, r.err);
                if (r.status)
                        assert_non_null(strstr(r.err, "replayed signature or cloned token"));
                tl_result_free(&r);
        }
}

static void test_refused_algorithms(void **state) {
        (void) state;
        /* ssh-rsa (SHA-1): both refuse. */
        expect("ssh-rsa-sha1.sig", E.msg, "ecluse-approval", "rsa@example.org", false);
        /* RSA 1024: ssh-keygen 9.2 still accepts it, ecluse demands 2048 bits. */
        struct verdicts v = judge_with(E.signers_small, "small.sig", E.msg, "ecluse-approval", "small@example.org");
        assert_true(v.openssh);
        assert_false(v.library);
        assert_false(v.cli);
        assert_non_null(strstr(v.why, "too small"));
        verdicts_free(&v);
}

static void test_find_principal(void **state) {
        (void) state;
        /* Without --principal, ecluse names the signer as ssh-keygen -Y find-principals does. */
        const char *sigs[] = {"alice.sig", "bob.sig", "carol.sig"};
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                _cleanup_free_ char *sig = P(sigs[i]);
                char *fp_argv[] = {"ssh-keygen", "-Y", "find-principals", "-f", E.signers, "-s", sig, NULL};
                struct tl_result o, e;
                tl_run(fp_argv, &o);
                assert_int_equal(o.status, 0);
                char *argv[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                                "--signature", sig, E.msg, NULL};
                tl_run(argv, &e);
                assert_int_equal(e.status, 0);
                _cleanup_free_ char *want = tl_strf("signature for %s with", o.out);
                want[strlen("signature for ") + strcspn(o.out, "\n")] = '\0';
                assert_non_null(strstr(e.out, want));
                tl_result_free(&o);
                tl_result_free(&e);
        }
}

static void test_cli_exit_codes(void **state) {
        (void) state;
        _cleanup_free_ char *sig = P("alice.sig"), *missing = P("missing");
        struct tl_result r;
        char *usage[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, NULL};
        tl_run(usage, &r);
        assert_int_equal(r.status, 64);
        tl_result_free(&r);
        char *nofile[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                          "--signature", sig, missing, NULL};
        tl_run(nofile, &r);
        assert_int_equal(r.status, 66);
        tl_result_free(&r);
        char *nosig[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                         "--signature", missing, E.msg, NULL};
        tl_run(nosig, &r);
        assert_int_equal(r.status, 66);
        tl_result_free(&r);
        /* Symbolic links are not followed, for the signature and the message. */
        _cleanup_free_ char *link = P("link.sig");
        assert_int_equal(symlink(sig, link), 0);
        char *symsig[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                          "--signature", link, E.msg, NULL};
        tl_run(symsig, &r);
        assert_int_equal(r.status, 66);
        assert_non_null(strstr(r.err, "symbolic link"));
        tl_result_free(&r);
        char *symmsg[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                          "--signature", sig, link, NULL};
        tl_run(symmsg, &r);
        assert_int_equal(r.status, 66);
        tl_result_free(&r);
        char *bad[] = {ECLUSE_AGENT_BIN, "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                       "--signature", sig, E.msg2, NULL};
        tl_run(bad, &r);
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "ecluse-agent: error: ssh-ed25519 signature does not verify"));
        assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long) strlen(r.err)); /* one line */
        tl_result_free(&r);
        char *json[] = {ECLUSE_AGENT_BIN, "--json", "verify", "--signers", E.signers, "--namespace", "ecluse-approval",
                        "--signature", sig, E.msg, NULL};
        tl_run(json, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "\"principal\":\"alice@example.org\""));
        tl_result_free(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_signatures),
                cmocka_unit_test(test_changed_message),
                cmocka_unit_test(test_changed_signature),
                cmocka_unit_test(test_wrong_namespace),
                cmocka_unit_test(test_wrong_principal),
                cmocka_unit_test(test_validity),
                cmocka_unit_test(test_truncated_armor),
                cmocka_unit_test(test_security_keys),
                cmocka_unit_test(test_refused_algorithms),
                cmocka_unit_test(test_find_principal),
                cmocka_unit_test(test_cli_exit_codes),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
