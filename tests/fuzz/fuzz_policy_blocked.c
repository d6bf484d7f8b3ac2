/* SPDX-License-Identifier: Apache-2.0 */
/* The drop-record parser (shim/blocked.c) on arbitrary listings. */
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
        free(s);
        return 0;
}
