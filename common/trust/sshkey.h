/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * OpenSSH public keys and signatures, verified with OpenSSL 3.
 *
 * Supported key types (blob/text names):
 *   ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa (2048..16384-bit modulus),
 *   sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com
 * Signature algorithms: ssh-ed25519, ecdsa-sha2-nistp256, rsa-sha2-256,
 * rsa-sha2-512 and the two sk ones (PROTOCOL.u2f).  "ssh-rsa" (SHA-1)
 * signatures are refused.  Certificates, DSA, other curves and webauthn
 * signatures are refused with a reason naming them.
 *
 * A parsed key keeps its canonical blob (re-encoded, so two encodings of the
 * same key compare equal) and its fingerprint in ssh-keygen's default form,
 * "SHA256:" + unpadded base64 of SHA-256(blob).
 *
 * Errors: -EBADMSG malformed, -EKEYREJECTED well-formed but refused (type,
 * size, algorithm, bad signature), -ENOMEM; *ret_reason is set (reason.h)
 * when ret_reason is not NULL.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "macro.h"
#include "sshbuf.h"

enum ecl_sshkey_type {
        ECL_SSHKEY_ED25519,
        ECL_SSHKEY_ECDSA_P256,
        ECL_SSHKEY_RSA,
        ECL_SSHKEY_SK_ED25519,
        ECL_SSHKEY_SK_ECDSA_P256,
};

#define ECL_SSHKEY_RSA_MIN_BITS 2048
#define ECL_SSHKEY_RSA_MAX_BITS 16384
/* "SHA256:" + 43 base64 characters + NUL */
#define ECL_SSHKEY_FP_MAX 51

/* Flags of a security-key signature (CTAP authenticator data). */
#define ECL_SK_USER_PRESENT 0x01
#define ECL_SK_USER_VERIFIED 0x04

struct ecl_sshkey {
        enum ecl_sshkey_type type;
        EVP_PKEY *pkey;
        uint8_t *blob; /* canonical public key blob */
        size_t blob_len;
        char *sk_application; /* sk keys: the FIDO application, e.g. "ssh:" */
        char fingerprint[ECL_SSHKEY_FP_MAX];
};

/* A parsed signature blob; pointers refer into the blob it was parsed from. */
struct ecl_sshkey_sig {
        const char *alg;  /* static: the algorithm name */
        int md_bits;      /* RSA: 256 or 512 */
        const uint8_t *s; /* ed25519: 64 bytes; RSA: signature; ECDSA: r */
        size_t s_len;
        const uint8_t *s2; /* ECDSA: s */
        size_t s2_len;
        bool sk;
        uint8_t sk_flags;
        uint32_t sk_counter;
};

/* "ssh-ed25519", ... as in blobs and authorized_keys lines. */
const char *ecl_sshkey_type_name(enum ecl_sshkey_type type);
/* "ED25519", "ECDSA", "RSA", "ED25519-SK", "ECDSA-SK", as ssh-keygen prints. */
const char *ecl_sshkey_type_label(enum ecl_sshkey_type type);
static inline bool ecl_sshkey_is_sk(const struct ecl_sshkey *k) {
        return k->type == ECL_SSHKEY_SK_ED25519 || k->type == ECL_SSHKEY_SK_ECDSA_P256;
}

/* Parse a public key blob (all of blob, no trailing bytes). */
int ecl_sshkey_from_blob(const uint8_t *blob, size_t len, struct ecl_sshkey **ret, char **ret_reason);
/*
 * Parse "TYPE BASE64" at the start of text (authorized_keys style, without
 * options); TYPE must match the blob's type.  *end (if not NULL) is set after
 * the base64 word, where a comment may follow.
 */
int ecl_sshkey_from_text(const char *text, struct ecl_sshkey **ret, const char **end, char **ret_reason);
/* True when s starts with a key type name OpenSSH knows, supported or not
 * (so a caller can tell a key from options). */
bool ecl_sshkey_text_is_key(const char *s);

bool ecl_sshkey_equal(const struct ecl_sshkey *a, const struct ecl_sshkey *b);
void ecl_sshkey_free(struct ecl_sshkey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_sshkey *, ecl_sshkey_free);

/*
 * Parse an SSH signature blob made by key: string algorithm, string
 * signature [, byte flags, uint32 counter for sk].  The algorithm must suit
 * the key; "ssh-rsa" is refused (-EKEYREJECTED).  sig points into blob.
 */
int ecl_sshkey_sig_parse(const struct ecl_sshkey *key, const uint8_t *blob, size_t len,
                         struct ecl_sshkey_sig *sig, char **ret_reason);
/*
 * Check sig over data.  For sk keys data is the message the token signed
 * for (the SSHSIG signed data); the token's layout sha256(application) ||
 * flags || counter || sha256(data) is rebuilt here.  Flags are *not* judged
 * here (see sshsig.h).  0, or -EKEYREJECTED "signature does not verify".
 */
int ecl_sshkey_sig_verify(const struct ecl_sshkey *key, const struct ecl_sshkey_sig *sig,
                          const uint8_t *data, size_t len, char **ret_reason);
