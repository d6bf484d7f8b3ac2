/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the allowed_signers parser, the pattern matcher and
 * the validity times.  What parses is then searched for each of its keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allowed-signers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ecl_allowed_signers *s = NULL;
        struct ecl_diags d = {0};
        if (ecl_allowed_signers_parse((const char *) data, size, "fuzz", &s, &d) == 0) {
                _cleanup_free_ char *why = NULL;
                const struct ecl_allowed_signer *a;
                for (size_t i = 0; i < s->n; i++) {
                        (void) ecl_allowed_signers_find(s, s->items[i].key, NULL, "ecluse-approval", 1800000000, &a, &why);
                        (void) ecl_allowed_signers_find(s, s->items[i].key, "alice@example.org", "ecluse-access", 1, &a,
                                                        &why);
                        (void) ecl_allowed_signers_find(s, s->items[i].key, s->items[i].principals,
                                                        s->items[i].namespaces ? s->items[i].namespaces : "x",
                                                        s->items[i].valid_after, &a, &why);
                }
                ecl_allowed_signers_free(s);
        }
        for (size_t i = 0; i < d.n; i++)
                free(ecl_diag_format(&d.items[i]));
        ecl_diags_clear(&d);

        /* "STRING\nPATTERN-LIST" for the matcher; the first line also as a time. */
        char *text = strndup((const char *) data, size);
        if (!text)
                return 0;
        char *nl = strchr(text, '\n');
        if (nl) {
                *nl = '\0';
                (void) ecl_allowed_signers_match_list(text, nl + 1);
                (void) ecl_allowed_signers_match_pattern(text, nl + 1);
        }
        uint64_t t;
        (void) ecl_allowed_signers_parse_time(text, &t);
        free(text);
        return 0;
}
