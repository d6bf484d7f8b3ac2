/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * SSHSIG signatures (OpenSSH PROTOCOL.sshsig), verified as `ssh-keygen -Y
 * verify` does, against an allowed_signers file (allowed-signers.h).
 *
 * Typical use (the agent checking an approval, an auditor, audit checkpoints):
 *
 *         _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
 *         _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
 *         char why[ECL_REASON_MAX];
 *         r = ecl_sshsig_load("approval.sig", &sig, why, sizeof why);   // or _parse_armor()
 *         if (r < 0) ... why says what is wrong with the file ...
 *         struct ecl_sshsig_policy policy = {.counter_dir = ".../sk-counters"};
 *         r = ecl_sshsig_verify_buf(sig, statement, statement_len, "ecluse-approval",
 *                                   officers, NULL, &policy, &v);
 *         if (r < 0) ... refused: v.reason ...
 *         else ... v.principal signed, with v.fingerprint ...
 *
 * What a verification checks, in this order (the first failure is the answer):
 *   1. the signature's namespace equals the expected one;
 *   2. an allowed_signers line lists the signing key, for the principal asked
 *      (or any), for this namespace (namespaces=), valid at policy->now
 *      (valid-after/valid-before);
 *   3. the message hash (sha256/sha512 as the signature says, hashed as a
 *      stream in 64 KiB chunks) and the signature verify (OpenSSL);
 *   4. security keys: the user-presence flag is set; user verification too
 *      when policy->require_uv;
 *   5. security keys, when policy->counter_dir is set: the signature counter
 *      is above the key's high-water mark (sk-counter.h), which is then raised.
 *      NOTE: step 5 consumes the counter.  Verifying the same sk signature
 *      again with a counter_dir refuses it as a replay; re-checks of old
 *      signatures (e.g. `audit verify`) must pass counter_dir = NULL.
 *
 * Deliberate differences from ssh-keygen 9.2: RSA keys under 2048 bits are
 * refused; security-key signatures without user presence are refused; the
 * allowed_signers file must be entirely well-formed; certificates
 * (cert-authority) are not supported.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allowed-signers.h"
#include "macro.h"
#include "sshkey.h"

/* Size limit for a signature file (armored). */
#define ECL_SSHSIG_MAX_SIZE (64 * 1024)
#define ECL_SSHSIG_VERSION 1

struct ecl_sshsig {
        uint32_t version;
        struct ecl_sshkey *key; /* the signing public key (as embedded) */
        char *namespace;
        char *hash_alg;          /* "sha256" or "sha512" */
        struct ecl_sshkey_sig sig; /* algorithm, sk flags and counter; points into blob */
        uint8_t *blob;           /* the decoded SSHSIG structure */
        size_t blob_len;
};

/*
 * Parse an armored signature ("-----BEGIN SSH SIGNATURE-----" ...), or the
 * binary structure.  Returns 0, -EBADMSG (malformed, truncated),
 * -EKEYREJECTED (unsupported key type, hash or algorithm, ssh-rsa SHA-1,
 * RSA < 2048 bits) or -ENOMEM, with reason.
 */
int ecl_sshsig_parse_armor(const char *text, size_t len, struct ecl_sshsig **ret, char **ret_reason);
int ecl_sshsig_parse_blob(const uint8_t *blob, size_t len, struct ecl_sshsig **ret, char **ret_reason);
/* Read and parse an armored signature file: O_NOFOLLOW, regular, at most
 * ECL_SSHSIG_MAX_SIZE.  -ENOENT etc. for I/O, with reason. */
int ecl_sshsig_load(const char *path, struct ecl_sshsig **ret, char **ret_reason);
void ecl_sshsig_free(struct ecl_sshsig *sig);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_sshsig *, ecl_sshsig_free);

struct ecl_sshsig_policy {
        bool require_uv;         /* sk keys: demand the user-verified flag (PIN, biometrics) */
        const char *counter_dir; /* sk keys: counter high-water marks; NULL: no replay check */
        uint64_t now;            /* time checked against valid-after/before; 0: time(NULL) */
};

struct ecl_sshsig_verdict {
        /* Filled on success: the principal that signed.  The principal asked
         * for; or, when none was, the matching line's principals field (as
         * `ssh-keygen -Y find-principals` prints it).  Caller frees
         * (ecl_sshsig_verdict_clear). */
        char *principal;
        unsigned signers_line; /* allowed_signers line that matched, on success */
        /* Always filled (after a successful parse), also on refusal: */
        char key_type[16];     /* "ED25519", "ECDSA", "RSA", "ED25519-SK", "ECDSA-SK" */
        char sig_alg[48];      /* e.g. "rsa-sha2-512" */
        char fingerprint[ECL_SSHKEY_FP_MAX]; /* "SHA256:..." as ssh-keygen -l */
        bool sk;               /* security-key signature: */
        uint8_t sk_flags;      /*   its flags (ECL_SK_USER_PRESENT, ECL_SK_USER_VERIFIED) */
        uint32_t sk_counter;   /*   and counter */
        char *reason;          /* on refusal: why, one line (freed by ecl_sshsig_verdict_clear) */
};
void ecl_sshsig_verdict_clear(struct ecl_sshsig_verdict *v);

/*
 * Verify sig over a message for the expected namespace (not empty), against
 * signers, optionally for one principal (NULL: any).  policy may be NULL
 * (defaults).  ret must be zero-initialised or hold an earlier verdict (it
 * is cleared first).  Returns 0 (good, ret->principal set) or a refusal with
 * ret->reason:
 *   -EKEYREJECTED wrong namespace, bad signature (message or signature
 *                 changed, other key), missing user presence/verification,
 *                 key not allowed for the namespace
 *   -ENOKEY       key not an allowed signer (for that principal)
 *   -EKEYEXPIRED  signer not yet valid or expired
 *   -EKEYREVOKED  sk counter not above the high-water mark (replay, clone)
 *   -EINVAL       bad arguments; -EIO etc. reading msg_fd; -ENOMEM
 * All refusals map to exit status 65 with ecl_exit_status().
 */
int ecl_sshsig_verify_fd(const struct ecl_sshsig *sig, int msg_fd, const char *namespace,
                         const struct ecl_allowed_signers *signers, const char *principal,
                         const struct ecl_sshsig_policy *policy, struct ecl_sshsig_verdict *ret);
int ecl_sshsig_verify_buf(const struct ecl_sshsig *sig, const void *msg, size_t len, const char *namespace,
                          const struct ecl_allowed_signers *signers, const char *principal,
                          const struct ecl_sshsig_policy *policy, struct ecl_sshsig_verdict *ret);
/* Same, given the message's digest already computed with sig->hash_alg
 * (32 bytes for sha256, 64 for sha512). */
int ecl_sshsig_verify_digest(const struct ecl_sshsig *sig, const uint8_t *digest, size_t digest_len,
                             const char *namespace, const struct ecl_allowed_signers *signers,
                             const char *principal, const struct ecl_sshsig_policy *policy,
                             struct ecl_sshsig_verdict *ret);
