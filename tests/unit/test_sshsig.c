/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "allowed-signers.h"
#include "sk-counter.h"
#include "sshsig-testsign.h"
#include "sshsig.h"
#include "testlib.h"

#define NS "ecluse-approval"
static const char msg[] = "ecluse statement: approve bundle 1234 for office 1.2.3\n";

/* Signers for one key: "principals [options] key". */
static struct ecl_allowed_signers *signers_for(const struct ts_key *k, const char *principals, const char *opts) {
        _cleanup_free_ char *pub = ts_pubtext(k);
        _cleanup_free_ char *text = tl_strf("# officers\n%s %s %s comment\n", principals, opts ? opts : "", pub);
        struct ecl_allowed_signers *s = NULL;
        struct ecl_diags d = {0};
        assert_int_equal(ecl_allowed_signers_parse(text, strlen(text), "officers", &s, &d), 0);
        ecl_diags_clear(&d);
        return s;
}

static struct ecl_sshsig *parse(const char *armored) {
        struct ecl_sshsig *sig = NULL;
        _cleanup_free_ char *why = NULL;
        int r = ecl_sshsig_parse_armor(armored, strlen(armored), &sig, &why);
        if (r < 0)
                fail_msg("parse: %s", why);
        return sig;
}

static void check_good(enum ecl_sshkey_type type, const struct ts_opts *o, const char *label, const char *alg) {
        struct ts_key k = ts_keygen(type, 2048);
        _cleanup_free_ char *a = ts_sign(&k, NS, msg, strlen(msg), o);
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = parse(a);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = signers_for(&k, "alice@example.org", NULL);
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        int r = ecl_sshsig_verify_buf(sig, msg, strlen(msg), NS, s, "alice@example.org", NULL, &v);
        if (r < 0)
                fail_msg("%s: %s", label, v.reason);
        assert_string_equal(v.principal, "alice@example.org");
        assert_string_equal(v.key_type, label);
        assert_string_equal(v.sig_alg, alg);
        assert_int_equal(v.signers_line, 2);
        assert_string_equal(v.fingerprint, s->items[0].key->fingerprint);
        assert_null(v.reason);
        /* The same through a file descriptor, and with the digest. */
        char path[] = "/tmp/ecluse-sshsig-msg-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t) strlen(msg));
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(ecl_sshsig_verify_fd(sig, fd, NS, s, NULL, NULL, &v), 0);
        assert_string_equal(v.principal, "alice@example.org");
        close(fd);
        unlink(path);
        uint8_t h[64];
        unsigned hl;
        EVP_Digest(msg, strlen(msg), h, &hl, streq(sig->hash_alg, "sha256") ? EVP_sha256() : EVP_sha512(), NULL);
        assert_int_equal(ecl_sshsig_verify_digest(sig, h, hl, NS, s, NULL, NULL, &v), 0);
        assert_int_equal(ecl_sshsig_verify_digest(sig, h, hl - 1, NS, s, NULL, NULL, &v), -EINVAL);
        /* A changed message is refused. */
        assert_int_equal(ecl_sshsig_verify_buf(sig, msg, strlen(msg) - 1, NS, s, NULL, NULL, &v), -EKEYREJECTED);
        assert_non_null(strstr(v.reason, "does not verify"));
        assert_null(v.principal);
        ts_key_free(&k);
}

static void test_good_signatures(void **state) {
        (void) state;
        struct ts_opts up = {.sk_flags = ECL_SK_USER_PRESENT, .sk_counter = 1};
        struct ts_opts sha256 = {.hash_alg = "sha256", .sk_flags = ECL_SK_USER_PRESENT};
        check_good(ECL_SSHKEY_ED25519, NULL, "ED25519", "ssh-ed25519");
        check_good(ECL_SSHKEY_ED25519, &sha256, "ED25519", "ssh-ed25519");
        check_good(ECL_SSHKEY_ECDSA_P256, NULL, "ECDSA", "ecdsa-sha2-nistp256");
        check_good(ECL_SSHKEY_ECDSA_P256, &sha256, "ECDSA", "ecdsa-sha2-nistp256");
        check_good(ECL_SSHKEY_RSA, NULL, "RSA", "rsa-sha2-512");
        check_good(ECL_SSHKEY_RSA, &(struct ts_opts){.rsa_alg = "rsa-sha2-256"}, "RSA", "rsa-sha2-256");
        check_good(ECL_SSHKEY_SK_ED25519, &up, "ED25519-SK", "sk-ssh-ed25519@openssh.com");
        check_good(ECL_SSHKEY_SK_ECDSA_P256, &up, "ECDSA-SK", "sk-ecdsa-sha2-nistp256@openssh.com");
        check_good(ECL_SSHKEY_SK_ECDSA_P256, &sha256, "ECDSA-SK", "sk-ecdsa-sha2-nistp256@openssh.com");
}

static int verify(const char *armored, const struct ecl_allowed_signers *s, const char *ns, const char *principal,
                  const struct ecl_sshsig_policy *pol, struct ecl_sshsig_verdict *v) {
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = parse(armored);
        return ecl_sshsig_verify_buf(sig, msg, strlen(msg), ns, s, principal, pol, v);
}

static void test_namespace_and_principal(void **state) {
        (void) state;
        struct ts_key k = ts_keygen(ECL_SSHKEY_ED25519, 0), other = ts_keygen(ECL_SSHKEY_ED25519, 0);
        _cleanup_free_ char *a = ts_sign(&k, NS, msg, strlen(msg), NULL);
        _cleanup_free_ char *b = ts_sign(&other, NS, msg, strlen(msg), NULL);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s =
                signers_for(&k, "alice@example.org,*@ops.example.org", NULL);
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        assert_int_equal(verify(a, s, "ecluse-access", NULL, NULL, &v), -EKEYREJECTED);
        assert_string_equal(v.reason, "signature is for namespace \"ecluse-approval\", not \"ecluse-access\"");
        assert_int_equal(verify(a, s, NS, "bob@ops.example.org", NULL, &v), 0);
        assert_string_equal(v.principal, "bob@ops.example.org");
        assert_int_equal(verify(a, s, NS, NULL, NULL, &v), 0);
        assert_string_equal(v.principal, "alice@example.org,*@ops.example.org");
        assert_int_equal(verify(a, s, NS, "mallory@example.org", NULL, &v), -ENOKEY);
        assert_non_null(strstr(v.reason, "not to \"mallory@example.org\""));
        assert_int_equal(verify(b, s, NS, NULL, NULL, &v), -ENOKEY);
        assert_non_null(strstr(v.reason, "is not an allowed signer"));
        assert_string_not_equal(v.fingerprint, "");
        /* Bad arguments. */
        assert_int_equal(verify(a, s, "", NULL, NULL, &v), -EINVAL);
        assert_int_equal(verify(a, NULL, NS, NULL, NULL, &v), -EINVAL);
        ts_key_free(&k);
        ts_key_free(&other);
}

static void test_validity_window(void **state) {
        (void) state;
        struct ts_key k = ts_keygen(ECL_SSHKEY_ECDSA_P256, 0);
        _cleanup_free_ char *a = ts_sign(&k, NS, msg, strlen(msg), NULL);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s =
                signers_for(&k, "alice", "valid-after=\"20300101Z\",valid-before=\"20310101Z\"");
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        struct ecl_sshsig_policy before = {.now = 1893456000 - 1}; /* 2029-12-31T23:59:59Z */
        struct ecl_sshsig_policy during = {.now = 1893456000};
        struct ecl_sshsig_policy after = {.now = 1924992000 + 1};
        assert_int_equal(verify(a, s, NS, "alice", &before, &v), -EKEYEXPIRED);
        assert_non_null(strstr(v.reason, "not yet valid: 2029-12-31T23:59:59Z is before valid-after 2030-01-01T00:00:00Z"));
        assert_int_equal(verify(a, s, NS, "alice", &during, &v), 0);
        assert_int_equal(verify(a, s, NS, "alice", &after, &v), -EKEYEXPIRED);
        assert_non_null(strstr(v.reason, "has expired"));
        /* Without a policy the time is now: the verdict is the window's verdict for time(NULL). */
        time_t now = time(NULL);
        bool inside = now >= 1893456000 && now <= 1924992000;
        assert_int_equal(verify(a, s, NS, "alice", NULL, &v), inside ? 0 : -EKEYEXPIRED);
        ts_key_free(&k);
}

static void test_refused_algorithms(void **state) {
        (void) state;
        struct ts_key rsa = ts_keygen(ECL_SSHKEY_RSA, 2048), small = ts_keygen(ECL_SSHKEY_RSA, 1024);
        struct ts_key ed = ts_keygen(ECL_SSHKEY_ED25519, 0);
        struct ecl_sshsig *sig = NULL;
        _cleanup_free_ char *why = NULL;
        _cleanup_free_ char *sha1 = ts_sign(&rsa, NS, msg, strlen(msg), &(struct ts_opts){.rsa_alg = "ssh-rsa"});
        assert_int_equal(ecl_sshsig_parse_armor(sha1, strlen(sha1), &sig, &why), -EKEYREJECTED);
        assert_non_null(strstr(why, "ssh-rsa (SHA-1) is refused"));
        _cleanup_free_ char *tiny = ts_sign(&small, NS, msg, strlen(msg), NULL);
        assert_int_equal(ecl_sshsig_parse_armor(tiny, strlen(tiny), &sig, &why), -EKEYREJECTED);
        assert_string_equal(why, "RSA key of 1024 bits is too small (minimum 2048)");
        _cleanup_free_ char *md5 = ts_sign(&ed, NS, msg, strlen(msg), &(struct ts_opts){.hash_alg = "md5"});
        assert_int_equal(ecl_sshsig_parse_armor(md5, strlen(md5), &sig, &why), -EKEYREJECTED);
        assert_non_null(strstr(why, "unsupported hash algorithm \"md5\""));
        assert_null(sig);
        ts_key_free(&rsa);
        ts_key_free(&small);
        ts_key_free(&ed);
}

static void test_malformed_armor(void **state) {
        (void) state;
        struct ts_key k = ts_keygen(ECL_SSHKEY_ED25519, 0);
        _cleanup_free_ char *a = ts_sign(&k, NS, msg, strlen(msg), NULL);
        struct ecl_sshsig *sig = NULL;
        _cleanup_free_ char *why = NULL;
        size_t n = strlen(a);
        /* Truncated in the middle: no footer. */
        assert_int_equal(ecl_sshsig_parse_armor(a, n / 2, &sig, &why), -EBADMSG);
        assert_non_null(strstr(why, "missing \"-----END SSH SIGNATURE-----\""));
        /* Truncated base64 with the footer kept. */
        _cleanup_free_ char *cut = tl_strf("-----BEGIN SSH SIGNATURE-----\n%.60s\n-----END SSH SIGNATURE-----\n",
                                           a + strlen("-----BEGIN SSH SIGNATURE-----\n"));
        assert_int_equal(ecl_sshsig_parse_armor(cut, strlen(cut), &sig, &why), -EBADMSG);
        /* Missing header. */
        assert_int_equal(ecl_sshsig_parse_armor(a + 1, n - 1, &sig, &why), -EBADMSG);
        assert_non_null(strstr(why, "BEGIN SSH SIGNATURE"));
        /* Empty body. */
        const char *empty = "-----BEGIN SSH SIGNATURE-----\n\n-----END SSH SIGNATURE-----\n";
        assert_int_equal(ecl_sshsig_parse_armor(empty, strlen(empty), &sig, &why), -EBADMSG);
        assert_null(sig);

        /* Binary: version 2, trailing data, every truncation. */
        size_t bl;
        _cleanup_free_ uint8_t *blob = ts_sign_blob(&k, NS, msg, strlen(msg), NULL, &bl);
        assert_int_equal(ecl_sshsig_parse_blob(blob, bl, &sig, &why), 0);
        ecl_sshsig_free(sig);
        sig = NULL;
        for (size_t cutlen = 0; cutlen < bl; cutlen++)
                assert_int_equal(ecl_sshsig_parse_blob(blob, cutlen, &sig, &why), -EBADMSG);
        _cleanup_free_ uint8_t *longer = malloc(bl + 1);
        memcpy(longer, blob, bl);
        longer[bl] = 0;
        assert_int_equal(ecl_sshsig_parse_blob(longer, bl + 1, &sig, &why), -EBADMSG);
        assert_string_equal(why, "SSH signature has trailing data");
        blob[9] = 2;
        assert_int_equal(ecl_sshsig_parse_blob(blob, bl, &sig, &why), -EBADMSG);
        assert_non_null(strstr(why, "version 2"));
        /* Oversized input. */
        _cleanup_free_ char *huge = calloc(1, ECL_SSHSIG_MAX_SIZE + 2);
        memset(huge, 'A', ECL_SSHSIG_MAX_SIZE + 1);
        assert_int_equal(ecl_sshsig_parse_armor(huge, ECL_SSHSIG_MAX_SIZE + 1, &sig, &why), -EFBIG);
        ts_key_free(&k);
}

static void test_changed_signature(void **state) {
        (void) state;
        struct ts_key k = ts_keygen(ECL_SSHKEY_ED25519, 0);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = signers_for(&k, "alice", NULL);
        size_t bl;
        _cleanup_free_ uint8_t *blob = ts_sign_blob(&k, NS, msg, strlen(msg), NULL, &bl);
        blob[bl - 10] ^= 0x01; /* inside the ed25519 signature bytes */
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_sshsig_parse_blob(blob, bl, &sig, &why), 0);
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        assert_int_equal(ecl_sshsig_verify_buf(sig, msg, strlen(msg), NS, s, NULL, NULL, &v), -EKEYREJECTED);
        assert_string_equal(v.reason,
                            "ssh-ed25519 signature does not verify (wrong key, or signature or message changed)");
        ts_key_free(&k);
}

static void test_security_key_flags(void **state) {
        (void) state;
        struct ts_key k = ts_keygen(ECL_SSHKEY_SK_ED25519, 0);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = signers_for(&k, "alice", NULL);
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        _cleanup_free_ char *none = ts_sign(&k, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = 0, .sk_counter = 7});
        assert_int_equal(verify(none, s, NS, NULL, NULL, &v), -EKEYREJECTED);
        assert_non_null(strstr(v.reason, "without user presence (flags 0x00)"));
        assert_true(v.sk);
        assert_int_equal(v.sk_counter, 7);
        _cleanup_free_ char *up = ts_sign(&k, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = ECL_SK_USER_PRESENT});
        struct ecl_sshsig_policy uv = {.require_uv = true};
        assert_int_equal(verify(up, s, NS, NULL, NULL, &v), 0);
        assert_int_equal(verify(up, s, NS, NULL, &uv, &v), -EKEYREJECTED);
        assert_non_null(strstr(v.reason, "without user verification"));
        _cleanup_free_ char *both = ts_sign(&k, NS, msg, strlen(msg),
                                            &(struct ts_opts){.sk_flags = ECL_SK_USER_PRESENT | ECL_SK_USER_VERIFIED});
        assert_int_equal(verify(both, s, NS, NULL, &uv, &v), 0);
        assert_int_equal(v.sk_flags, ECL_SK_USER_PRESENT | ECL_SK_USER_VERIFIED);

        /* Flags and counter are signed: setting the presence bit afterwards breaks the signature. */
        size_t bl;
        _cleanup_free_ uint8_t *blob = ts_sign_blob(&k, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = 0}, &bl);
        blob[bl - 5] |= ECL_SK_USER_PRESENT;
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_sshsig_parse_blob(blob, bl, &sig, &why), 0);
        assert_int_equal(sig->sig.sk_flags, ECL_SK_USER_PRESENT);
        assert_int_equal(ecl_sshsig_verify_buf(sig, msg, strlen(msg), NS, s, NULL, NULL, &v), -EKEYREJECTED);
        assert_non_null(strstr(v.reason, "does not verify"));

        /* The application is part of the key: same point, other application. */
        struct ts_key other_app = k;
        other_app.app = "ssh:other";
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s2 = signers_for(&other_app, "alice", NULL);
        assert_int_equal(verify(up, s2, NS, NULL, NULL, &v), -ENOKEY);
        ts_key_free(&k);
}

static void test_security_key_counter(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *counters = tl_strf("%s/sk-counters", dir);
        struct ts_key k = ts_keygen(ECL_SSHKEY_SK_ECDSA_P256, 0), k2 = ts_keygen(ECL_SSHKEY_SK_ED25519, 0);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = signers_for(&k, "alice", NULL);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s2 = signers_for(&k2, "bob", NULL);
        struct ecl_sshsig_policy pol = {.counter_dir = counters};
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        char *sig5 = ts_sign(&k, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = 1, .sk_counter = 5});
        char *sig4 = ts_sign(&k, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = 1, .sk_counter = 4});
        char *sig6 = ts_sign(&k, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = 1, .sk_counter = 6});
        char *other = ts_sign(&k2, NS, msg, strlen(msg), &(struct ts_opts){.sk_flags = 1, .sk_counter = 1});
        assert_int_equal(verify(sig5, s, NS, NULL, &pol, &v), 0);
        /* Replayed: the same signature again. */
        assert_int_equal(verify(sig5, s, NS, NULL, &pol, &v), -EKEYREVOKED);
        assert_non_null(strstr(v.reason, "counter 5 is not above the last accepted 5"));
        assert_null(v.principal);
        /* Cloned token: an older counter. */
        assert_int_equal(verify(sig4, s, NS, NULL, &pol, &v), -EKEYREVOKED);
        assert_int_equal(verify(sig6, s, NS, NULL, &pol, &v), 0);
        /* Keys are independent. */
        assert_int_equal(verify(other, s2, NS, NULL, &pol, &v), 0);
        /* Without a counter store nothing is consumed (re-checks of old signatures). */
        assert_int_equal(verify(sig5, s, NS, NULL, NULL, &v), 0);
        /* A refused signature (wrong namespace) does not move the mark. */
        char *sig9 = ts_sign(&k, "ecluse-access", msg, strlen(msg), &(struct ts_opts){.sk_flags = 1, .sk_counter = 9});
        assert_int_equal(verify(sig9, s, NS, NULL, &pol, &v), -EKEYREJECTED);
        uint32_t mark;
        bool found;
        assert_int_equal(ecl_sk_counter_get(counters, s->items[0].key->fingerprint, &mark, &found), 0);
        assert_true(found);
        assert_int_equal(mark, 6);
        free(sig5), free(sig4), free(sig6), free(other), free(sig9);
        ts_key_free(&k);
        ts_key_free(&k2);
        tl_rm_rf(dir);
}

static long maxrss_kib(void) {
        struct rusage ru;
        assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
        return ru.ru_maxrss;
}

static void test_streams_large_message(void **state) {
        (void) state;
        /* A 1 GiB sparse file: hashing it must not read it into memory. */
        const off_t size = (off_t) 1 << 30;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/big", dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, size), 0);
        assert_int_equal(pwrite(fd, "end", 3, size - 3), 3);
        /* The test signs the same stream, hashing it here chunk by chunk. */
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
        static uint8_t chunk[1 << 20];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
                EVP_DigestUpdate(ctx, chunk, (size_t) n);
        uint8_t h[32];
        EVP_DigestFinal_ex(ctx, h, NULL);
        EVP_MD_CTX_free(ctx);
        struct ts_key k = ts_keygen(ECL_SSHKEY_ED25519, 0);
        _cleanup_free_ char *a = ts_sign(&k, NS, NULL, 0, &(struct ts_opts){.hash_alg = "sha256", .digest = h});
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = parse(a);
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *s = signers_for(&k, "alice", NULL);
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        long before = maxrss_kib();
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        int r = ecl_sshsig_verify_fd(sig, fd, NS, s, NULL, NULL, &v);
        if (r < 0)
                fail_msg("%s", v.reason);
        long grown = maxrss_kib() - before;
        /* Constant memory: far below the 1 GiB message (allow 32 MiB of noise). */
        assert_true(grown < 32 * 1024);
        close(fd);
        ts_key_free(&k);
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_signatures),
                cmocka_unit_test(test_namespace_and_principal),
                cmocka_unit_test(test_validity_window),
                cmocka_unit_test(test_refused_algorithms),
                cmocka_unit_test(test_malformed_armor),
                cmocka_unit_test(test_changed_signature),
                cmocka_unit_test(test_security_key_flags),
                cmocka_unit_test(test_security_key_counter),
                cmocka_unit_test(test_streams_large_message),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
