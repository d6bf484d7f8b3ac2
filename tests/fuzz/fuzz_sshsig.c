/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the SSHSIG armor, signature blob and public key blob
 * parsers.  Whatever parses is then verified (against an allowed_signers list
 * holding its own key) so the signature paths see fuzzed keys too.
 */
#include <stdint.h>
#include <string.h>

#include "allowed-signers.h"
#include "sshsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct ecl_sshsig *sig) {
        struct ecl_allowed_signer line = {
                .principals = (char *) "fuzz@example.org,!x*",
                .key = sig->key,
                .namespaces = (char *) "*",
                .line = 1,
        };
        struct ecl_allowed_signers signers = {.file = (char *) "fuzz", .items = &line, .n = 1};
        struct ecl_sshsig_verdict v = {0};
        struct ecl_sshsig_policy uv = {.require_uv = true, .now = 1};
        const char *ns = sig->namespace[0] ? sig->namespace : "ecluse-approval";
        (void) ecl_sshsig_verify_buf(sig, "fuzz", 4, ns, &signers, NULL, NULL, &v);
        (void) ecl_sshsig_verify_buf(sig, "", 0, ns, &signers, "fuzz@example.org", &uv, &v);
        (void) ecl_sshsig_verify_buf(sig, "", 0, "other", &signers, "xy", &uv, &v);
        ecl_sshsig_verdict_clear(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *why = NULL;
        struct ecl_sshsig *sig = NULL;
        if (ecl_sshsig_parse_armor((const char *) data, size, &sig, &why) == 0) {
                exercise(sig);
                ecl_sshsig_free(sig);
                sig = NULL;
        }
        if (ecl_sshsig_parse_blob(data, size, &sig, &why) == 0) {
                exercise(sig);
                ecl_sshsig_free(sig);
        }
        struct ecl_sshkey *key = NULL;
        if (ecl_sshkey_from_blob(data, size, &key, &why) == 0) {
                struct ecl_sshkey_sig s;
                (void) ecl_sshkey_sig_parse(key, data, size, &s, &why);
                ecl_sshkey_free(key);
        }
        return 0;
}
