/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fileio.h"
#include "reason.h"
#include "sk-counter.h"
#include "sshsig.h"
#include "ssl-cleanup.h"


#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----\n"
#define ARMOR_END "\n-----END SSH SIGNATURE-----"
#define HASH_CHUNK (64 * 1024)

void ecl_sshsig_free(struct ecl_sshsig *sig) {
        if (!sig)
                return;
        ecl_sshkey_free(sig->key);
        free(sig->namespace);
        free(sig->hash_alg);
        free(sig->blob);
        free(sig);
}

void ecl_sshsig_verdict_clear(struct ecl_sshsig_verdict *v) {
        free(v->principal);
        free(v->reason);
        *v = (struct ecl_sshsig_verdict){0};
}

static int parse_blob_owned(uint8_t *blob, size_t len, struct ecl_sshsig **ret, char **ret_reason) {
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *s = calloc(1, sizeof *s);
        if (!s) {
                free(blob);
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        s->blob = blob;
        s->blob_len = len;
        struct ecl_sshbuf b = ecl_sshbuf_init(blob, len);
        const uint8_t *p;
        size_t n;
        int r;
        if (ecl_sshbuf_get_raw(&b, MAGIC_LEN, &p) < 0 || memcmp(p, MAGIC, MAGIC_LEN) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "not an SSH signature (no SSHSIG preamble)");
        if (ecl_sshbuf_get_u32(&b, &s->version) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "SSH signature truncated (version)");
        if (s->version > ECL_SSHSIG_VERSION)
                return ecl_reason(ret_reason, -EBADMSG, "SSH signature version %u is not supported (newest is %u)", s->version,
                         ECL_SSHSIG_VERSION);
        if (ecl_sshbuf_get_string(&b, &p, &n) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "SSH signature truncated (public key)");
        if ((r = ecl_sshkey_from_blob(p, n, &s->key, ret_reason)) < 0)
                return r;
        if ((r = ecl_sshbuf_get_cstring(&b, &s->namespace)) < 0)
                return r == -ENOMEM ? ecl_reason(ret_reason, r, "out of memory") : ecl_reason(ret_reason, r, "SSH signature truncated (namespace)");
        if (ecl_sshbuf_get_string(&b, NULL, NULL) < 0) /* reserved, ignored as OpenSSH does */
                return ecl_reason(ret_reason, -EBADMSG, "SSH signature truncated (reserved)");
        if ((r = ecl_sshbuf_get_cstring(&b, &s->hash_alg)) < 0)
                return r == -ENOMEM ? ecl_reason(ret_reason, r, "out of memory") : ecl_reason(ret_reason, r, "SSH signature truncated (hash algorithm)");
        if (!streq(s->hash_alg, "sha256") && !streq(s->hash_alg, "sha512"))
                return ecl_reason(ret_reason, -EKEYREJECTED, "unsupported hash algorithm \"%.40s\" (sha256 or sha512)", s->hash_alg);
        if (ecl_sshbuf_get_string(&b, &p, &n) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "SSH signature truncated (signature)");
        if ((r = ecl_sshkey_sig_parse(s->key, p, n, &s->sig, ret_reason)) < 0)
                return r;
        if (!ecl_sshbuf_empty(&b))
                return ecl_reason(ret_reason, -EBADMSG, "SSH signature has trailing data");
        *ret = TAKE_PTR(s);
        return 0;
}

int ecl_sshsig_parse_blob(const uint8_t *blob, size_t len, struct ecl_sshsig **ret, char **ret_reason) {
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (len)
                memcpy(copy, blob, len);
        return parse_blob_owned(copy, len, ret, ret_reason);
}

int ecl_sshsig_parse_armor(const char *text, size_t len, struct ecl_sshsig **ret, char **ret_reason) {
        const size_t blen = strlen(ARMOR_BEGIN), elen = strlen(ARMOR_END);
        if (len > ECL_SSHSIG_MAX_SIZE)
                return ecl_reason(ret_reason, -EFBIG, "signature is larger than %d bytes", ECL_SSHSIG_MAX_SIZE);
        if (len < blen || memcmp(text, ARMOR_BEGIN, blen) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "not an armored SSH signature (missing \"-----BEGIN SSH SIGNATURE-----\" line)");
        const char *body = text + blen;
        const char *end = memmem(body, len - blen, ARMOR_END, elen);
        if (!end)
                return ecl_reason(ret_reason, -EBADMSG, "truncated armored SSH signature (missing \"-----END SSH SIGNATURE-----\" line)");
        uint8_t *blob = NULL;
        size_t n = 0;
        int r = ecl_sshbuf_b64decode(body, (size_t) (end - body), &blob, &n);
        if (r == -ENOMEM)
                return ecl_reason(ret_reason, r, "out of memory");
        if (r < 0)
                return ecl_reason(ret_reason, -EBADMSG, "armored SSH signature is not valid base64 (truncated or altered?)");
        return parse_blob_owned(blob, n, ret, ret_reason);
}

int ecl_sshsig_load(const char *path, struct ecl_sshsig **ret, char **ret_reason) {
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len = 0;
        int r = ecl_file_read(path, ECL_SSHSIG_MAX_SIZE, &buf, &len, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "signature file %s: %s", path, why ? why : strerror(-r));
        return ecl_sshsig_parse_armor(buf, len, ret, ret_reason);
}

static const EVP_MD *hash_md(const struct ecl_sshsig *sig) {
        return streq(sig->hash_alg, "sha256") ? EVP_sha256() : EVP_sha512();
}

/* Steps 1 and 2: namespace, allowed signers. */
static int precheck(const struct ecl_sshsig *sig, const char *namespace, const struct ecl_allowed_signers *signers,
                    const char *principal, const struct ecl_sshsig_policy *policy, struct ecl_sshsig_verdict *v,
                    const struct ecl_allowed_signer **line) {
        char **ret_reason = &v->reason;
        snprintf(v->key_type, sizeof v->key_type, "%s", ecl_sshkey_type_label(sig->key->type));
        snprintf(v->sig_alg, sizeof v->sig_alg, "%s", sig->sig.alg);
        memcpy(v->fingerprint, sig->key->fingerprint, sizeof v->fingerprint);
        v->sk = sig->sig.sk;
        v->sk_flags = sig->sig.sk_flags;
        v->sk_counter = sig->sig.sk_counter;
        if (!namespace || !*namespace || !signers)
                return ecl_reason(ret_reason, -EINVAL, "a namespace and an allowed signers list are required");
        if (!streq(sig->namespace, namespace))
                return ecl_reason(ret_reason, -EKEYREJECTED, "signature is for namespace \"%.80s\", not \"%.80s\"", sig->namespace,
                         namespace);
        uint64_t now = policy && policy->now ? policy->now : (uint64_t) time(NULL);
        return ecl_allowed_signers_find(signers, sig->key, principal, namespace, now, line, ret_reason);
}

/* Steps 3 to 5. */
static int finish(const struct ecl_sshsig *sig, const uint8_t *digest, size_t digest_len,
                  const struct ecl_allowed_signer *line, const char *principal,
                  const struct ecl_sshsig_policy *policy, struct ecl_sshsig_verdict *v) {
        char **ret_reason = &v->reason;
        if (digest_len != (size_t) EVP_MD_get_size(hash_md(sig)))
                return ecl_reason(ret_reason, -EINVAL, "message digest has %zu bytes, %s needs %d", digest_len, sig->hash_alg,
                         EVP_MD_get_size(hash_md(sig)));
        /* PROTOCOL.sshsig: what was signed. */
        _cleanup_(ecl_sshbuf_w_free) struct ecl_sshbuf_w w = {0};
        ecl_sshbuf_w_put_raw(&w, MAGIC, MAGIC_LEN);
        ecl_sshbuf_w_put_cstring(&w, sig->namespace);
        ecl_sshbuf_w_put_string(&w, NULL, 0);
        ecl_sshbuf_w_put_cstring(&w, sig->hash_alg);
        ecl_sshbuf_w_put_string(&w, digest, digest_len);
        if (ecl_sshbuf_w_error(&w))
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int r = ecl_sshkey_sig_verify(sig->key, &sig->sig, w.data, w.len, ret_reason);
        if (r < 0)
                return r;
        if (sig->sig.sk) {
                if (!(sig->sig.sk_flags & ECL_SK_USER_PRESENT))
                        return ecl_reason(ret_reason, -EKEYREJECTED,
                                 "security key signature without user presence (flags 0x%02x): the key was not touched",
                                 sig->sig.sk_flags);
                if (policy && policy->require_uv && !(sig->sig.sk_flags & ECL_SK_USER_VERIFIED))
                        return ecl_reason(ret_reason, -EKEYREJECTED,
                                 "security key signature without user verification (flags 0x%02x), which policy requires",
                                 sig->sig.sk_flags);
                if (policy && policy->counter_dir) {
                        r = ecl_sk_counter_advance(policy->counter_dir, sig->key->fingerprint, sig->sig.sk_counter,
                                                   NULL, ret_reason);
                        if (r < 0)
                                return r;
                }
        }
        v->principal = strdup(principal ? principal : line->principals);
        if (!v->principal)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        v->signers_line = line->line;
        free(v->reason);
        v->reason = NULL;
        return 0;
}

int ecl_sshsig_verify_digest(const struct ecl_sshsig *sig, const uint8_t *digest, size_t digest_len,
                             const char *namespace, const struct ecl_allowed_signers *signers,
                             const char *principal, const struct ecl_sshsig_policy *policy,
                             struct ecl_sshsig_verdict *ret) {
        const struct ecl_allowed_signer *line = NULL;
        ecl_sshsig_verdict_clear(ret);
        int r = precheck(sig, namespace, signers, principal, policy, ret, &line);
        if (r < 0)
                return r;
        return finish(sig, digest, digest_len, line, principal, policy, ret);
}

int ecl_sshsig_verify_buf(const struct ecl_sshsig *sig, const void *msg, size_t len, const char *namespace,
                          const struct ecl_allowed_signers *signers, const char *principal,
                          const struct ecl_sshsig_policy *policy, struct ecl_sshsig_verdict *ret) {
        const struct ecl_allowed_signer *line = NULL;
        ecl_sshsig_verdict_clear(ret);
        int r = precheck(sig, namespace, signers, principal, policy, ret, &line);
        if (r < 0)
                return r;
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        if (!EVP_Digest(msg, len, md, &md_len, hash_md(sig), NULL))
                return ecl_reason(&ret->reason, -ENOMEM, "cannot hash the message");
        return finish(sig, md, md_len, line, principal, policy, ret);
}

int ecl_sshsig_verify_fd(const struct ecl_sshsig *sig, int msg_fd, const char *namespace,
                         const struct ecl_allowed_signers *signers, const char *principal,
                         const struct ecl_sshsig_policy *policy, struct ecl_sshsig_verdict *ret) {
        const struct ecl_allowed_signer *line = NULL;
        ecl_sshsig_verdict_clear(ret);
        int r = precheck(sig, namespace, signers, principal, policy, ret, &line);
        if (r < 0)
                return r;
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_free_ uint8_t *buf = malloc(HASH_CHUNK);
        if (!ctx || !buf || EVP_DigestInit_ex(ctx, hash_md(sig), NULL) != 1)
                return ecl_reason(&ret->reason, -ENOMEM, "out of memory");
        for (;;) {
                ssize_t n = read(msg_fd, buf, HASH_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ecl_reason(&ret->reason, -errno, "cannot read the message: %s",
                                          strerror(errno));
                if (n == 0)
                        break;
                if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        return ecl_reason(&ret->reason, -ENOMEM, "cannot hash the message");
        }
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
                return ecl_reason(&ret->reason, -ENOMEM, "cannot hash the message");
        return finish(sig, md, md_len, line, principal, policy, ret);
}
