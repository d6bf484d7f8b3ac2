/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Test-only SSHSIG *signer* built on OpenSSL, so the tests can make
 * signatures ssh-keygen cannot (security keys without hardware, ssh-rsa
 * SHA-1, missing flags, chosen counters) in the exact OpenSSH formats:
 * PROTOCOL.sshsig for the envelope, PROTOCOL.u2f for sk signatures, whose
 * signed data is sha256(application) || flags || counter || sha256(message).
 * Included by the sshsig unit and interop tests (header-only: each test is
 * one translation unit).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "sshbuf.h"
#include "sshkey.h"

struct ts_key {
        enum ecl_sshkey_type type;
        EVP_PKEY *priv;
        const char *app; /* sk keys */
};

static inline struct ts_key ts_keygen(enum ecl_sshkey_type type, unsigned rsa_bits) {
        struct ts_key k = {.type = type, .app = "ssh:"};
        switch (type) {
        case ECL_SSHKEY_ED25519:
        case ECL_SSHKEY_SK_ED25519:
                k.priv = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
                break;
        case ECL_SSHKEY_ECDSA_P256:
        case ECL_SSHKEY_SK_ECDSA_P256:
                k.priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
                break;
        case ECL_SSHKEY_RSA:
                k.priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) (rsa_bits ? rsa_bits : 2048));
                break;
        }
        if (!k.priv)
                abort();
        return k;
}

static inline void ts_key_free(struct ts_key *k) {
        EVP_PKEY_free(k->priv);
        k->priv = NULL;
}

static inline void ts_put_bn(struct ecl_sshbuf_w *w, EVP_PKEY *p, const char *name) {
        BIGNUM *bn = NULL;
        if (!EVP_PKEY_get_bn_param(p, name, &bn))
                abort();
        uint8_t buf[2048];
        int n = BN_bn2bin(bn, buf);
        ecl_sshbuf_w_put_mpint(w, buf, (size_t) n);
        BN_free(bn);
}

/* The public key blob; caller frees. */
static inline uint8_t *ts_pubblob(const struct ts_key *k, size_t *len) {
        struct ecl_sshbuf_w w = {0};
        ecl_sshbuf_w_put_cstring(&w, ecl_sshkey_type_name(k->type));
        uint8_t pub[65];
        size_t n = sizeof pub;
        switch (k->type) {
        case ECL_SSHKEY_ED25519:
        case ECL_SSHKEY_SK_ED25519:
                if (!EVP_PKEY_get_raw_public_key(k->priv, pub, &n))
                        abort();
                ecl_sshbuf_w_put_string(&w, pub, n);
                break;
        case ECL_SSHKEY_ECDSA_P256:
        case ECL_SSHKEY_SK_ECDSA_P256:
                if (!EVP_PKEY_get_octet_string_param(k->priv, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &n) || n != 65)
                        abort();
                ecl_sshbuf_w_put_cstring(&w, "nistp256");
                ecl_sshbuf_w_put_string(&w, pub, n);
                break;
        case ECL_SSHKEY_RSA:
                ts_put_bn(&w, k->priv, OSSL_PKEY_PARAM_RSA_E);
                ts_put_bn(&w, k->priv, OSSL_PKEY_PARAM_RSA_N);
                break;
        }
        if (k->type == ECL_SSHKEY_SK_ED25519 || k->type == ECL_SSHKEY_SK_ECDSA_P256)
                ecl_sshbuf_w_put_cstring(&w, k->app);
        if (w.error)
                abort();
        return ecl_sshbuf_w_steal(&w, len);
}

static inline char *ts_b64(const uint8_t *p, size_t n) {
        char *out = malloc(4 * ((n + 2) / 3) + 1);
        if (!out)
                abort();
        EVP_EncodeBlock((unsigned char *) out, p, (int) n);
        return out;
}

/* "TYPE BASE64" as in authorized_keys; caller frees. */
static inline char *ts_pubtext(const struct ts_key *k) {
        size_t n;
        uint8_t *blob = ts_pubblob(k, &n);
        char *b = ts_b64(blob, n);
        char *s = NULL;
        if (asprintf(&s, "%s %s", ecl_sshkey_type_name(k->type), b) < 0)
                abort();
        free(blob);
        free(b);
        return s;
}

static inline uint8_t *ts_digest_sign(EVP_PKEY *p, const EVP_MD *md, const uint8_t *d, size_t n, size_t *len) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        size_t sl = 0;
        if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, p) != 1 || EVP_DigestSign(ctx, NULL, &sl, d, n) != 1)
                abort();
        uint8_t *sig = malloc(sl);
        if (!sig || EVP_DigestSign(ctx, sig, &sl, d, n) != 1)
                abort();
        EVP_MD_CTX_free(ctx);
        *len = sl;
        return sig;
}

static inline void ts_put_ecdsa(struct ecl_sshbuf_w *w, const uint8_t *der, size_t n) {
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long) n);
        if (!es)
                abort();
        uint8_t r[66], s[66];
        int rl = BN_bn2bin(ECDSA_SIG_get0_r(es), r), sl = BN_bn2bin(ECDSA_SIG_get0_s(es), s);
        struct ecl_sshbuf_w inner = {0};
        ecl_sshbuf_w_put_mpint(&inner, r, (size_t) rl);
        ecl_sshbuf_w_put_mpint(&inner, s, (size_t) sl);
        ecl_sshbuf_w_put_string(w, inner.data, inner.len);
        ecl_sshbuf_w_free(&inner);
        ECDSA_SIG_free(es);
}

struct ts_opts {
        const char *hash_alg; /* "sha512" (default) or "sha256", or anything to test refusal */
        const char *rsa_alg;  /* "rsa-sha2-512" (default), "rsa-sha2-256", "ssh-rsa" */
        uint8_t sk_flags;     /* sk: flags as signed */
        uint32_t sk_counter;  /* sk: counter as signed */
        const uint8_t *digest; /* the message's hash, when msg is NULL (streamed by the caller) */
};

/* The binary SSHSIG structure over msg; caller frees. */
static inline uint8_t *ts_sign_blob(const struct ts_key *k, const char *ns, const void *msg, size_t msg_len,
                                    const struct ts_opts *o, size_t *len) {
        const char *hash = o && o->hash_alg ? o->hash_alg : "sha512";
        uint8_t h[64];
        unsigned hl = 0;
        if (o && o->digest) {
                hl = streq(hash, "sha256") ? 32 : 64;
                memcpy(h, o->digest, hl);
        } else {
                EVP_Digest(msg, msg_len, h, &hl, streq(hash, "sha256") ? EVP_sha256() : EVP_sha512(), NULL);
        }
        struct ecl_sshbuf_w td = {0};
        ecl_sshbuf_w_put_raw(&td, "SSHSIG", 6);
        ecl_sshbuf_w_put_cstring(&td, ns);
        ecl_sshbuf_w_put_string(&td, NULL, 0);
        ecl_sshbuf_w_put_cstring(&td, hash);
        ecl_sshbuf_w_put_string(&td, h, hl);

        struct ecl_sshbuf_w sig = {0};
        const uint8_t *data = td.data;
        size_t data_len = td.len;
        uint8_t skd[69];
        bool sk = k->type == ECL_SSHKEY_SK_ED25519 || k->type == ECL_SSHKEY_SK_ECDSA_P256;
        if (sk) {
                EVP_Digest(k->app, strlen(k->app), skd, NULL, EVP_sha256(), NULL);
                skd[32] = o ? o->sk_flags : 0;
                uint32_t c = o ? o->sk_counter : 0;
                skd[33] = (uint8_t) (c >> 24), skd[34] = (uint8_t) (c >> 16), skd[35] = (uint8_t) (c >> 8);
                skd[36] = (uint8_t) c;
                EVP_Digest(td.data, td.len, skd + 37, NULL, EVP_sha256(), NULL);
                data = skd;
                data_len = sizeof skd;
        }
        size_t sl;
        uint8_t *s;
        switch (k->type) {
        case ECL_SSHKEY_ED25519:
        case ECL_SSHKEY_SK_ED25519:
                ecl_sshbuf_w_put_cstring(&sig, ecl_sshkey_type_name(k->type));
                s = ts_digest_sign(k->priv, NULL, data, data_len, &sl);
                ecl_sshbuf_w_put_string(&sig, s, sl);
                break;
        case ECL_SSHKEY_ECDSA_P256:
        case ECL_SSHKEY_SK_ECDSA_P256:
                ecl_sshbuf_w_put_cstring(&sig, ecl_sshkey_type_name(k->type));
                s = ts_digest_sign(k->priv, EVP_sha256(), data, data_len, &sl);
                ts_put_ecdsa(&sig, s, sl);
                break;
        default: {
                const char *alg = o && o->rsa_alg ? o->rsa_alg : "rsa-sha2-512";
                const EVP_MD *md = streq(alg, "ssh-rsa")        ? EVP_sha1()
                                   : streq(alg, "rsa-sha2-256") ? EVP_sha256()
                                                                : EVP_sha512();
                ecl_sshbuf_w_put_cstring(&sig, alg);
                s = ts_digest_sign(k->priv, md, data, data_len, &sl);
                ecl_sshbuf_w_put_string(&sig, s, sl);
                break;
        }
        }
        free(s);
        if (sk) {
                ecl_sshbuf_w_put_u8(&sig, skd[32]);
                ecl_sshbuf_w_put_u32(&sig, o ? o->sk_counter : 0);
        }
        size_t pl;
        uint8_t *pub = ts_pubblob(k, &pl);
        struct ecl_sshbuf_w b = {0};
        ecl_sshbuf_w_put_raw(&b, "SSHSIG", 6);
        ecl_sshbuf_w_put_u32(&b, 1);
        ecl_sshbuf_w_put_string(&b, pub, pl);
        ecl_sshbuf_w_put_cstring(&b, ns);
        ecl_sshbuf_w_put_string(&b, NULL, 0);
        ecl_sshbuf_w_put_cstring(&b, hash);
        ecl_sshbuf_w_put_string(&b, sig.data, sig.len);
        free(pub);
        ecl_sshbuf_w_free(&sig);
        ecl_sshbuf_w_free(&td);
        if (b.error)
                abort();
        return ecl_sshbuf_w_steal(&b, len);
}

/* Armor a binary SSHSIG as ssh-keygen does (70 columns); caller frees. */
static inline char *ts_armor(const uint8_t *blob, size_t n) {
        char *b = ts_b64(blob, n);
        size_t bl = strlen(b);
        char *out = malloc(bl + bl / 70 + 128), *o = out;
        if (!out)
                abort();
        o += sprintf(o, "-----BEGIN SSH SIGNATURE-----\n");
        for (size_t i = 0; i < bl; i += 70)
                o += sprintf(o, "%.70s\n", b + i);
        sprintf(o, "-----END SSH SIGNATURE-----\n");
        free(b);
        return out;
}

static inline char *ts_sign(const struct ts_key *k, const char *ns, const void *msg, size_t msg_len,
                            const struct ts_opts *o) {
        size_t n;
        uint8_t *blob = ts_sign_blob(k, ns, msg, msg_len, o, &n);
        char *a = ts_armor(blob, n);
        free(blob);
        return a;
}
