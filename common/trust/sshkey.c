/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "reason.h"
#include "sshkey.h"
#include "ssl-cleanup.h"



static const struct {
        const char *name;
        const char *label;
} key_types[] = {
        [ECL_SSHKEY_ED25519] = {"ssh-ed25519", "ED25519"},
        [ECL_SSHKEY_ECDSA_P256] = {"ecdsa-sha2-nistp256", "ECDSA"},
        [ECL_SSHKEY_RSA] = {"ssh-rsa", "RSA"},
        [ECL_SSHKEY_SK_ED25519] = {"sk-ssh-ed25519@openssh.com", "ED25519-SK"},
        [ECL_SSHKEY_SK_ECDSA_P256] = {"sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK"},
};

/* Key type names OpenSSH knows but ecluse refuses (so they read as keys). */
static const char *const other_key_types[] = {
        "ssh-dss",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-xmss@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
        "ssh-dss-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ssh-xmss-cert-v01@openssh.com",
};

const char *ecl_sshkey_type_name(enum ecl_sshkey_type type) {
        return key_types[type].name;
}

const char *ecl_sshkey_type_label(enum ecl_sshkey_type type) {
        return key_types[type].label;
}

void ecl_sshkey_free(struct ecl_sshkey *k) {
        if (!k)
                return;
        EVP_PKEY_free(k->pkey);
        free(k->blob);
        free(k->sk_application);
        free(k);
}

bool ecl_sshkey_equal(const struct ecl_sshkey *a, const struct ecl_sshkey *b) {
        return a->blob_len == b->blob_len && memcmp(a->blob, b->blob, a->blob_len) == 0;
}

static int fingerprint(struct ecl_sshkey *k) {
        unsigned char md[32], b64[48];
        if (!EVP_Digest(k->blob, k->blob_len, md, NULL, EVP_sha256(), NULL))
                return -ENOMEM;
        int n = EVP_EncodeBlock(b64, md, sizeof md);
        while (n > 0 && b64[n - 1] == '=')
                n--;
        snprintf(k->fingerprint, sizeof k->fingerprint, "SHA256:%.*s", n, (const char *) b64);
        return 0;
}

static int pkey_fromdata(const char *alg, OSSL_PARAM *params, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
        if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0)
                return -ENOMEM;
        if (EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
                ERR_clear_error();
                return -EBADMSG;
        }
        return 0;
}

static int ec_p256_pkey(const uint8_t *q, size_t q_len, EVP_PKEY **ret) {
        if (q_len != 65 || q[0] != POINT_CONVERSION_UNCOMPRESSED)
                return -EBADMSG;
        OSSL_PARAM params[] = {
                OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0),
                OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *) q, q_len),
                OSSL_PARAM_END,
        };
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        int r = pkey_fromdata("EC", params, &pkey);
        if (r < 0)
                return r;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_public_check(ctx) != 1) {
                ERR_clear_error();
                return -EBADMSG;
        }
        *ret = TAKE_PTR(pkey);
        return 0;
}

static int rsa_pkey(const uint8_t *e, size_t e_len, const uint8_t *n, size_t n_len, EVP_PKEY **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = BN_bin2bn(n, (int) n_len, NULL);
        _cleanup_(BN_freep) BIGNUM *be = BN_bin2bn(e, (int) e_len, NULL);
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (!bn || !be || !bld)
                return -ENOMEM;
        if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
                return -ENOMEM;
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
        if (!params)
                return -ENOMEM;
        return pkey_fromdata("RSA", params, ret);
}

static int parse_key(struct ecl_sshbuf *b, struct ecl_sshkey *k, struct ecl_sshbuf_w *w, char **ret_reason) {
        const uint8_t *p, *p2;
        size_t n, n2;
        int r;
        _cleanup_free_ char *type = NULL;
        if ((r = ecl_sshbuf_get_cstring(b, &type)) < 0)
                return r == -ENOMEM ? r : ecl_reason(ret_reason, -EBADMSG, "key blob: missing key type");
        size_t i;
        for (i = 0; i < ELEMENTSOF(key_types); i++)
                if (streq(type, key_types[i].name))
                        break;
        if (i == ELEMENTSOF(key_types)) {
                if (strstr(type, "-cert-v01@openssh.com"))
                        return ecl_reason(ret_reason, -EKEYREJECTED, "certificate keys (%.64s) are not supported", type);
                return ecl_reason(ret_reason, -EKEYREJECTED, "unsupported key type \"%.64s\"", type);
        }
        k->type = (enum ecl_sshkey_type) i;
        ecl_sshbuf_w_put_cstring(w, type);
        switch (k->type) {
        case ECL_SSHKEY_ED25519:
        case ECL_SSHKEY_SK_ED25519:
                if (ecl_sshbuf_get_string(b, &p, &n) < 0 || n != 32)
                        return ecl_reason(ret_reason, -EBADMSG, "%s key blob: bad public key", type);
                k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, n);
                if (!k->pkey && (ERR_clear_error(), true))
                        return ecl_reason(ret_reason, -EBADMSG, "%s key blob: bad public key", type);
                ecl_sshbuf_w_put_string(w, p, n);
                break;
        case ECL_SSHKEY_ECDSA_P256:
        case ECL_SSHKEY_SK_ECDSA_P256:
                if ((r = ecl_sshbuf_get_string_eq(b, "nistp256")) <= 0)
                        return ecl_reason(ret_reason, -EBADMSG, "%s key blob: curve is not nistp256", type);
                if (ecl_sshbuf_get_string(b, &p, &n) < 0)
                        return ecl_reason(ret_reason, -EBADMSG, "%s key blob: missing point", type);
                if ((r = ec_p256_pkey(p, n, &k->pkey)) < 0)
                        return r == -ENOMEM ? r : ecl_reason(ret_reason, r, "%s key blob: invalid curve point", type);
                ecl_sshbuf_w_put_cstring(w, "nistp256");
                ecl_sshbuf_w_put_string(w, p, n);
                break;
        case ECL_SSHKEY_RSA:
                if (ecl_sshbuf_get_mpint(b, &p, &n) < 0 || ecl_sshbuf_get_mpint(b, &p2, &n2) < 0)
                        return ecl_reason(ret_reason, -EBADMSG, "ssh-rsa key blob: bad exponent or modulus");
                /* p = e, p2 = n */
                if (n == 0 || !(p[n - 1] & 1) || (n == 1 && p[0] == 1) || n2 == 0 || !(p2[n2 - 1] & 1))
                        return ecl_reason(ret_reason, -EBADMSG, "ssh-rsa key blob: invalid exponent or modulus");
                if (n > n2)
                        return ecl_reason(ret_reason, -EBADMSG, "ssh-rsa key blob: exponent larger than modulus");
                {
                        unsigned bits = (unsigned) (n2 - 1) * 8;
                        for (uint8_t top = p2[0]; top; top >>= 1)
                                bits++;
                        if (bits < ECL_SSHKEY_RSA_MIN_BITS)
                                return ecl_reason(ret_reason, -EKEYREJECTED, "RSA key of %u bits is too small (minimum %u)", bits,
                                         ECL_SSHKEY_RSA_MIN_BITS);
                        if (bits > ECL_SSHKEY_RSA_MAX_BITS)
                                return ecl_reason(ret_reason, -EKEYREJECTED, "RSA key of %u bits is too large (maximum %u)", bits,
                                         ECL_SSHKEY_RSA_MAX_BITS);
                }
                if ((r = rsa_pkey(p, n, p2, n2, &k->pkey)) < 0)
                        return r == -ENOMEM ? r : ecl_reason(ret_reason, r, "ssh-rsa key blob: invalid key");
                ecl_sshbuf_w_put_mpint(w, p, n);
                ecl_sshbuf_w_put_mpint(w, p2, n2);
                break;
        }
        if (ecl_sshkey_is_sk(k)) {
                if ((r = ecl_sshbuf_get_cstring(b, &k->sk_application)) < 0)
                        return r == -ENOMEM ? r : ecl_reason(ret_reason, -EBADMSG, "%s key blob: bad application", type);
                ecl_sshbuf_w_put_cstring(w, k->sk_application);
        }
        if (!ecl_sshbuf_empty(b))
                return ecl_reason(ret_reason, -EBADMSG, "%s key blob: trailing data", type);
        return ecl_sshbuf_w_error(w);
}

int ecl_sshkey_from_blob(const uint8_t *blob, size_t len, struct ecl_sshkey **ret, char **ret_reason) {
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k = calloc(1, sizeof *k);
        if (!k)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        struct ecl_sshbuf b = ecl_sshbuf_init(blob, len);
        _cleanup_(ecl_sshbuf_w_free) struct ecl_sshbuf_w w = {0};
        int r = parse_key(&b, k, &w, ret_reason);
        if (r == -ENOMEM)
                return ecl_reason(ret_reason, r, "out of memory");
        if (r < 0)
                return r;
        k->blob = ecl_sshbuf_w_steal(&w, &k->blob_len);
        if ((r = fingerprint(k)) < 0)
                return ecl_reason(ret_reason, r, "out of memory");
        *ret = TAKE_PTR(k);
        return 0;
}

static size_t word_len(const char *s) {
        return strcspn(s, " \t\r\n");
}

bool ecl_sshkey_text_is_key(const char *s) {
        size_t n = word_len(s);
        for (size_t i = 0; i < ELEMENTSOF(key_types); i++)
                if (strlen(key_types[i].name) == n && !strncmp(s, key_types[i].name, n))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(other_key_types); i++)
                if (strlen(other_key_types[i]) == n && !strncmp(s, other_key_types[i], n))
                        return true;
        return false;
}

int ecl_sshkey_from_text(const char *text, struct ecl_sshkey **ret, const char **end, char **ret_reason) {
        size_t tn = word_len(text);
        if (tn == 0)
                return ecl_reason(ret_reason, -EBADMSG, "missing key");
        const char *b64 = text + tn;
        b64 += strspn(b64, " \t");
        size_t bn = word_len(b64);
        if (bn == 0)
                return ecl_reason(ret_reason, -EBADMSG, "key \"%.*s\" has no base64 data", (int) (tn > 64 ? 64 : tn), text);
        _cleanup_free_ uint8_t *blob = NULL;
        size_t len;
        int r = ecl_sshbuf_b64decode(b64, bn, &blob, &len);
        if (r == -ENOMEM)
                return ecl_reason(ret_reason, r, "out of memory");
        if (r < 0)
                return ecl_reason(ret_reason, -EBADMSG, "key data is not valid base64");
        _cleanup_(ecl_sshkey_freep) struct ecl_sshkey *k = NULL;
        if ((r = ecl_sshkey_from_blob(blob, len, &k, ret_reason)) < 0)
                return r;
        const char *name = ecl_sshkey_type_name(k->type);
        if (strlen(name) != tn || strncmp(name, text, tn) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "key type \"%.*s\" does not match its data (%s)", (int) (tn > 64 ? 64 : tn),
                         text, name);
        if (end)
                *end = b64 + bn;
        *ret = TAKE_PTR(k);
        return 0;
}

/* Signature algorithms each key type accepts. */
static bool sig_alg_for_key(enum ecl_sshkey_type type, const char *alg, int *md_bits) {
        switch (type) {
        case ECL_SSHKEY_RSA:
                if (streq(alg, "rsa-sha2-256"))
                        *md_bits = 256;
                else if (streq(alg, "rsa-sha2-512"))
                        *md_bits = 512;
                else
                        return false;
                return true;
        default:
                return streq(alg, ecl_sshkey_type_name(type));
        }
}

int ecl_sshkey_sig_parse(const struct ecl_sshkey *key, const uint8_t *blob, size_t len,
                         struct ecl_sshkey_sig *sig, char **ret_reason) {
        struct ecl_sshbuf b = ecl_sshbuf_init(blob, len);
        const uint8_t *alg;
        size_t alg_len;
        char name[64];
        *sig = (struct ecl_sshkey_sig){0};
        if (ecl_sshbuf_get_string(&b, &alg, &alg_len) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "signature: missing algorithm name");
        if (alg_len >= sizeof name || memchr(alg, '\0', alg_len))
                return ecl_reason(ret_reason, -EKEYREJECTED, "signature: unsupported algorithm");
        memcpy(name, alg, alg_len);
        name[alg_len] = '\0';
        if (key->type == ECL_SSHKEY_RSA && streq(name, "ssh-rsa"))
                return ecl_reason(ret_reason, -EKEYREJECTED, "RSA signature made with ssh-rsa (SHA-1) is refused; sign with "
                                        "rsa-sha2-256 or rsa-sha2-512");
        if (!sig_alg_for_key(key->type, name, &sig->md_bits))
                return ecl_reason(ret_reason, -EKEYREJECTED, "signature algorithm \"%s\" does not suit a %s key", name,
                         ecl_sshkey_type_name(key->type));
        sig->alg = key->type == ECL_SSHKEY_RSA ? (sig->md_bits == 256 ? "rsa-sha2-256" : "rsa-sha2-512")
                                               : ecl_sshkey_type_name(key->type);
        struct ecl_sshbuf s;
        if (ecl_sshbuf_get_sub(&b, &s) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s signature: truncated", sig->alg);
        switch (key->type) {
        case ECL_SSHKEY_ED25519:
        case ECL_SSHKEY_SK_ED25519:
                if (s.len != 64)
                        return ecl_reason(ret_reason, -EBADMSG, "%s signature: length %zu, expected 64", sig->alg, s.len);
                sig->s = s.p;
                sig->s_len = s.len;
                break;
        case ECL_SSHKEY_ECDSA_P256:
        case ECL_SSHKEY_SK_ECDSA_P256:
                if (ecl_sshbuf_get_mpint(&s, &sig->s, &sig->s_len) < 0 ||
                    ecl_sshbuf_get_mpint(&s, &sig->s2, &sig->s2_len) < 0 || !ecl_sshbuf_empty(&s))
                        return ecl_reason(ret_reason, -EBADMSG, "%s signature: bad (r, s)", sig->alg);
                if (sig->s_len > 32 || sig->s2_len > 32)
                        return ecl_reason(ret_reason, -EBADMSG, "%s signature: (r, s) out of range", sig->alg);
                break;
        case ECL_SSHKEY_RSA: {
                size_t mod = (size_t) (EVP_PKEY_get_bits(key->pkey) + 7) / 8;
                if (s.len == 0 || s.len > mod)
                        return ecl_reason(ret_reason, -EBADMSG, "%s signature: length %zu for a %zu-byte modulus", sig->alg, s.len, mod);
                sig->s = s.p;
                sig->s_len = s.len;
                break;
        }
        }
        if (ecl_sshkey_is_sk(key)) {
                sig->sk = true;
                if (ecl_sshbuf_get_u8(&b, &sig->sk_flags) < 0 || ecl_sshbuf_get_u32(&b, &sig->sk_counter) < 0)
                        return ecl_reason(ret_reason, -EBADMSG, "%s signature: missing flags or counter", sig->alg);
        }
        if (!ecl_sshbuf_empty(&b))
                return ecl_reason(ret_reason, -EBADMSG, "%s signature: trailing data", sig->alg);
        return 0;
}

static int digest_verify(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *sig, size_t sig_len,
                         const uint8_t *data, size_t len) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1) {
                ERR_clear_error();
                return -ENOMEM;
        }
        int ok = EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
        /* A failed verification leaves errors on OpenSSL's queue; drop them. */
        ERR_clear_error();
        return ok ? 0 : -EKEYREJECTED;
}

static int ecdsa_der(const struct ecl_sshkey_sig *sig, uint8_t **der, size_t *der_len) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig->s, (int) sig->s_len, NULL);
        BIGNUM *s = BN_bin2bn(sig->s2, (int) sig->s2_len, NULL);
        if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
                BN_free(r);
                BN_free(s);
                return -ENOMEM;
        }
        int n = i2d_ECDSA_SIG(es, NULL);
        if (n <= 0)
                return -ENOMEM;
        uint8_t *out = malloc((size_t) n), *p = out;
        if (!out)
                return -ENOMEM;
        if (i2d_ECDSA_SIG(es, &p) != n) {
                free(out);
                return -ENOMEM;
        }
        *der = out;
        *der_len = (size_t) n;
        return 0;
}

int ecl_sshkey_sig_verify(const struct ecl_sshkey *key, const struct ecl_sshkey_sig *sig,
                          const uint8_t *data, size_t len, char **ret_reason) {
        uint8_t sk_data[32 + 1 + 4 + 32];
        if (sig->sk) {
                /* What the token signed (PROTOCOL.u2f). */
                if (!EVP_Digest(key->sk_application, strlen(key->sk_application), sk_data, NULL, EVP_sha256(),
                                NULL) ||
                    !EVP_Digest(data, len, sk_data + 37, NULL, EVP_sha256(), NULL))
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                sk_data[32] = sig->sk_flags;
                sk_data[33] = (uint8_t) (sig->sk_counter >> 24);
                sk_data[34] = (uint8_t) (sig->sk_counter >> 16);
                sk_data[35] = (uint8_t) (sig->sk_counter >> 8);
                sk_data[36] = (uint8_t) sig->sk_counter;
                data = sk_data;
                len = sizeof sk_data;
        }
        int r;
        switch (key->type) {
        case ECL_SSHKEY_ED25519:
        case ECL_SSHKEY_SK_ED25519:
                r = digest_verify(key->pkey, NULL, sig->s, sig->s_len, data, len);
                break;
        case ECL_SSHKEY_ECDSA_P256:
        case ECL_SSHKEY_SK_ECDSA_P256: {
                _cleanup_free_ uint8_t *der = NULL;
                size_t der_len;
                uint8_t *tmp = NULL;
                if ((r = ecdsa_der(sig, &tmp, &der_len)) < 0)
                        return ecl_reason(ret_reason, r, "out of memory");
                der = tmp;
                r = digest_verify(key->pkey, EVP_sha256(), der, der_len, data, len);
                break;
        }
        case ECL_SSHKEY_RSA: {
                size_t mod = (size_t) (EVP_PKEY_get_bits(key->pkey) + 7) / 8;
                _cleanup_free_ uint8_t *padded = calloc(1, mod);
                if (!padded)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                if (sig->s_len > mod)
                        return ecl_reason(ret_reason, -EKEYREJECTED, "%s signature does not verify", sig->alg);
                memcpy(padded + (mod - sig->s_len), sig->s, sig->s_len);
                r = digest_verify(key->pkey, sig->md_bits == 256 ? EVP_sha256() : EVP_sha512(), padded, mod,
                                  data, len);
                break;
        }
        default:
                r = -EKEYREJECTED;
        }
        if (r == -ENOMEM)
                return ecl_reason(ret_reason, r, "out of memory");
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s signature does not verify (wrong key, or signature or message changed)",
                         sig->alg);
        return 0;
}
