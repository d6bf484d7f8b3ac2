/* SPDX-License-Identifier: Apache-2.0 */
/* The drop-record parsers (shim/blocked.c) on arbitrary listings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        if (shim_blocked_parse(s, 1800000000, &e, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                        if (!memchr(e[i].src, '\0', sizeof e[i].src) || !memchr(e[i].proto, '\0', sizeof e[i].proto))
                                abort();
                shim_blocked_entries_free(e);
        }
        /* What could not be recorded: the drop chains' last rules and the full sets. */
        for (int elements = 0; elements < 2; elements++) {
                struct shim_blocked_unrecorded u = {0};
                if (shim_blocked_unrecorded_parse(s, elements, &u) == 0) {
                        for (char **f = u.full_sets; f && *f; f++)
                                if (!shim_blocked_set_direction(*f, NULL) || (f != u.full_sets && strcmp(f[-1], *f) >= 0))
                                        abort(); /* only record sets, sorted, each once */
                        json_t *j = shim_blocked_full_sets_json(&u, -1);
                        json_decref(j);
                        j = shim_blocked_unrecorded_counts_json(&u);
                        json_decref(j);
                }
                shim_blocked_unrecorded_done(&u);
        }
        free(s);
        return 0;
}
