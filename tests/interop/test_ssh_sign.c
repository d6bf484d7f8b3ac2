/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_ssh_sign() (agent/ssh-sign.h) with the real ssh-keygen: what it
 * signs verifies with ecl_sshsig; and, with stand-ins for ssh-keygen put
 * first on PATH, what it does when ssh-keygen fails, stops reading, prints
 * too much or nothing, is killed, or is not installed; it passes the fixed
 * argv and no descriptor but 0, 1 and 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "allowed-signers.h"
#include "keygen-test.h"
#include "reason.h"
#include "ssh-sign.h"
#include "sshsig.h"
#include "testlib.h"

#define NS "ecluse-approval"
static const char MSG[] = "ecluse approval v1\ndecision: apply\nstack: office\n";

static struct {
        char *dir;
        char *fake; /* directory of stand-in ssh-keygen scripts, put first on PATH */
        char *path; /* PATH as it was */
} E;

static char *P(const char *name) {
        return tl_strf("%s/%s", E.dir, name);
}

static int setup(void **state) {
        (void) state;
        if (kt_require_ssh_keygen() < 0)
                return -1;
        E.dir = tl_mkdtemp();
        E.fake = P("fake");
        tl_mkdir_p(E.fake);
        const char *path = getenv("PATH");
        E.path = strdup(path ? path : "/usr/bin:/bin");
        kt_keygen(E.dir, "ed", "ed25519", NULL);
        kt_keygen(E.dir, "ec", "ecdsa", NULL);
        kt_keygen(E.dir, "rsa", "rsa", "3072");
        return 0;
}

static int teardown(void **state) {
        (void) state;
        tl_rm_rf(E.dir);
        free(E.dir);
        free(E.fake);
        free(E.path);
        return 0;
}

/* Verify sig over msg with the key DIR/NAME.pub in namespace ns. */
static int verify(const char *name, const char *sig, size_t sig_len, const char *ns, const char *msg, size_t len) {
        _cleanup_free_ char *pub = kt_pub(E.dir, name);
        _cleanup_free_ char *line = tl_strf("officer %s\n", pub);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = NULL;
        struct ecl_diags d = {0};
        assert_int_equal(ecl_allowed_signers_parse(line, strlen(line), "signers", &s, &d), 0);
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *parsed = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_sshsig_parse_armor(sig, sig_len, &parsed, &why), 0);
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        int r = ecl_sshsig_verify_buf(parsed, msg, len, ns, s, "officer", NULL, &v);
        if (r < 0)
                print_message("verify: %s\n", v.reason);
        return r;
}

static void test_sign_verifies(void **state) {
        (void) state;
        const char *keys[] = {"ed", "ec", "rsa"};
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *kp = P(keys[i]), *sig = NULL, *why = NULL;
                size_t n = 0;
                int r = agent_ssh_sign(kp, NS, MSG, strlen(MSG), &sig, &n, &why);
                if (r < 0)
                        fail_msg("%s: %s", keys[i], ecl_reason_text(why, r));
                assert_int_equal(strlen(sig), n);
                assert_true(strncmp(sig, "-----BEGIN SSH SIGNATURE-----\n", 30) == 0);
                assert_int_equal(verify(keys[i], sig, n, NS, MSG, strlen(MSG)), 0);
                /* Over these bytes only, in this namespace only. */
                assert_int_equal(verify(keys[i], sig, n, NS, MSG, strlen(MSG) - 1), -EKEYREJECTED);
                assert_int_equal(verify(keys[i], sig, n, "ecluse-access", MSG, strlen(MSG)), -EKEYREJECTED);
        }
}

static void test_sign_large_and_empty(void **state) {
        (void) state;
        /* Larger than a pipe's buffer, so writing and reading must interleave. */
        size_t big = 1024 * 1024;
        _cleanup_free_ char *m = malloc(big);
        assert_non_null(m);
        for (size_t i = 0; i < big; i++)
                m[i] = (char) ('a' + i % 26);
        _cleanup_free_ char *kp = P("ed"), *sig = NULL, *sig0 = NULL, *why = NULL;
        size_t n = 0, n0 = 0;
        assert_int_equal(agent_ssh_sign(kp, NS, m, big, &sig, &n, &why), 0);
        assert_int_equal(verify("ed", sig, n, NS, m, big), 0);
        assert_int_equal(agent_ssh_sign(kp, NS, "", 0, &sig0, &n0, &why), 0);
        assert_int_equal(verify("ed", sig0, n0, NS, "", 0), 0);
}

static void test_missing_key(void **state) {
        (void) state;
        _cleanup_free_ char *kp = P("nobody"), *sig = NULL, *why = NULL;
        size_t n = 0;
        assert_int_equal(agent_ssh_sign(kp, NS, MSG, strlen(MSG), &sig, &n, &why), -ENOENT);
        assert_null(sig);
        assert_non_null(why);
        _cleanup_free_ char *want = tl_strf("key file %s: No such file or directory", kp);
        assert_string_equal(why, want);
}

/* A stand-in ssh-keygen (a shell script body) first on PATH for one call. */
static int sign_with_fake(const char *script, const char *msg, size_t len, char **sig, size_t *n, char **why) {
        _cleanup_free_ char *fp = tl_strf("%s/ssh-keygen", E.fake), *body = tl_strf("#!/bin/sh\n%s\n", script);
        tl_write_file(fp, body, strlen(body));
        assert_int_equal(chmod(fp, 0755), 0);
        _cleanup_free_ char *path = tl_strf("%s:%s", E.fake, E.path);
        assert_int_equal(setenv("PATH", path, 1), 0);
        _cleanup_free_ char *kp = P("ed");
        int r = agent_ssh_sign(kp, NS, msg, len, sig, n, why);
        assert_int_equal(setenv("PATH", E.path, 1), 0);
        return r;
}

static void test_fake_argv_and_fds(void **state) {
        (void) state;
        /* A descriptor the caller left inheritable must not reach ssh-keygen. */
        int fd = open("/dev/null", O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(dup2(fd, 50), 50);
        close(fd);
        _cleanup_free_ char *args = P("args"), *in = P("stdin");
        _cleanup_free_ char *script = tl_strf(
                "for f in /proc/$$/fd/*; do n=${f##*/}; case $n in 0|1|2) ;; *) [ -e \"$f\" ] && "
                "[ \"$(readlink \"$f\")\" != \"$0\" ] && { echo \"leaked fd $n -> $(readlink $f)\" >&2; exit 9; } ;; esac; done\n"
                "printf '%%s\\n' \"$@\" > '%s'\n"
                "cat > '%s'\n"
                "echo '-----BEGIN SSH SIGNATURE-----'\n"
                "echo 'AAAA'\n"
                "echo '-----END SSH SIGNATURE-----'",
                args, in);
        _cleanup_free_ char *sig = NULL, *why = NULL;
        size_t n = 0;
        int r = sign_with_fake(script, MSG, strlen(MSG), &sig, &n, &why);
        close(50);
        if (r < 0)
                fail_msg("%s", ecl_reason_text(why, r));
        assert_string_equal(sig, "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n");
        _cleanup_free_ char *kp = P("ed"), *got_args = tl_read_file(args, NULL), *got_in = tl_read_file(in, NULL);
        _cleanup_free_ char *want_args = tl_strf("-Y\nsign\n-f\n%s\n-n\n%s\n", kp, NS);
        assert_string_equal(got_args, want_args);
        assert_string_equal(got_in, MSG);
}

static void test_fake_failures(void **state) {
        (void) state;
        _cleanup_free_ char *sig = NULL, *why = NULL;
        size_t n = 0;

        /* It fails before reading a message larger than the pipe: no SIGPIPE kills us. */
        size_t big = 4 * 1024 * 1024;
        _cleanup_free_ char *m = calloc(1, big);
        assert_non_null(m);
        assert_int_equal(sign_with_fake("exec 0<&-\nexit 3", m, big, &sig, &n, &why), -EKEYREJECTED);
        assert_non_null(strstr(why, "failed (exit status 3"));
        sigset_t pending;
        assert_int_equal(sigpending(&pending), 0);
        assert_false(sigismember(&pending, SIGPIPE));
        assert_null(sig);

        /* Success without a signature. */
        assert_int_equal(sign_with_fake("cat >/dev/null; echo hello", MSG, strlen(MSG), &sig, &n, &why), -EBADMSG);
        assert_non_null(strstr(why, "no armored SSH signature"));

        /* More than a signature can be. */
        assert_int_equal(sign_with_fake("cat >/dev/null\necho '-----BEGIN SSH SIGNATURE-----'\n"
                                        "exec head -c 70000 /dev/zero | tr '\\0' A",
                                        MSG, strlen(MSG), &sig, &n, &why),
                         -EFBIG);
        assert_non_null(strstr(why, "more than 65536 bytes"));

        /* Killed. */
        assert_int_equal(sign_with_fake("kill -9 $$", MSG, strlen(MSG), &sig, &n, &why), -EKEYREJECTED);
        assert_non_null(strstr(why, "killed by signal 9"));
        assert_null(sig);
}

static void test_not_installed(void **state) {
        (void) state;
        _cleanup_free_ char *empty = P("empty");
        tl_mkdir_p(empty);
        assert_int_equal(setenv("PATH", empty, 1), 0);
        _cleanup_free_ char *kp = P("ed"), *sig = NULL, *why = NULL;
        size_t n = 0;
        int r = agent_ssh_sign(kp, NS, MSG, strlen(MSG), &sig, &n, &why);
        assert_int_equal(setenv("PATH", E.path, 1), 0);
        assert_int_equal(r, -ENOENT);
        assert_non_null(strstr(why, "ssh-keygen not found on PATH"));
        assert_null(sig);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sign_verifies), cmocka_unit_test(test_sign_large_and_empty),
                cmocka_unit_test(test_missing_key),   cmocka_unit_test(test_fake_argv_and_fds),
                cmocka_unit_test(test_fake_failures), cmocka_unit_test(test_not_installed),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
