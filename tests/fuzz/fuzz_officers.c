/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the officers file (officers.h): what parses must be
 * grouped consistently, so the checks below abort on a wrong grouping.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "officers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ecl_officers *o = NULL;
        struct ecl_diags d = {0};
        if (ecl_officers_parse((const char *) data, size, "fuzz", &o, &d) == 0) {
                const struct ecl_allowed_signers *s = o->signers;
                for (size_t i = 0; i < s->n; i++) {
                        size_t off = o->officer_of_line[i], k = SIZE_MAX;
                        if (off >= o->n_officers || !o->names[off] || strpbrk(s->items[i].principals, "*?!"))
                                abort();
                        /* The key finds this line's officer; an equal key is the same officer. */
                        if (ecl_officers_of_key(o, s->items[i].key, &k) < 0 || k != off)
                                abort();
                        for (size_t j = 0; j < i; j++)
                                if (ecl_sshkey_equal(s->items[i].key, s->items[j].key) && o->officer_of_line[j] != off)
                                        abort();
                }
                ecl_officers_free(o);
        }
        for (size_t i = 0; i < d.n; i++)
                free(ecl_diag_format(&d.items[i]));
        ecl_diags_clear(&d);
        return 0;
}
