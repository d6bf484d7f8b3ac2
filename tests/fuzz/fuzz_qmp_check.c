/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_qmp_compare() on arbitrary input: the live XML and QEMU's ten
 * replies, separated by 0x1e (a part missing is a reply missing).  QEMU's
 * replies are untrusted (a compromised QEMU writes them).  Besides not
 * crashing: only the documented results, a message exactly when it is
 * documented, and nothing but printable ASCII in it (QEMU's names reach the
 * log and the audit record).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "qmp-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, const char *msg, ...) {
        (void) ctx, (void) msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return 0;
        xmlSetGenericErrorFunc(NULL, quiet);
        char *buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        char *part[1 + SHIM_QMP_N_QUERIES] = {0};
        char *p = buf;
        for (size_t i = 0; i < 1 + SHIM_QMP_N_QUERIES && p; i++) {
                part[i] = p;
                p = strchr(p, 0x1e);
                if (p)
                        *p++ = '\0';
        }
        char *v = NULL;
        int r = shim_qmp_compare(part[0], (const char *const *) &part[1], &v);
        if (r != 0 && r != -EPERM && r != -EBADMSG && r != -EINVAL && r != -ENOMEM)
                abort();
        if ((r == 0 || r == -EINVAL) && v)
                abort();
        if ((r == -EPERM || r == -EBADMSG) && !v)
                abort();
        for (const char *c = v; c && *c; c++)
                if (*c < 0x20 || *c > 0x7e)
                        abort();
        free(v);
        free(buf);
        return 0;
}
