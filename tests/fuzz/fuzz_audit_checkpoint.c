/* SPDX-License-Identifier: Apache-2.0 */
/* The audit checkpoint parser: whatever it accepts formats back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit-checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ecl_audit_checkpoint cp;
        if (ecl_audit_checkpoint_parse((const char *) data, size, &cp) < 0)
                return 0;
        char *text = NULL;
        if (ecl_audit_checkpoint_format(&cp, &text) < 0)
                abort();
        if (strlen(text) != size || memcmp(text, data, size) != 0)
                abort();
        free(text);
        return 0;
}
