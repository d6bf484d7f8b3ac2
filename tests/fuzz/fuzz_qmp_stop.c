/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_qmp_leak_plan() and shim_qmp_event_classify() on arbitrary input:
 * QEMU's five replies, then an event's name and its data, separated by
 * 0x1e (a part missing is NULL).  QEMU's replies and events are untrusted
 * (a compromised QEMU writes them).  Besides not crashing: only the
 * documented results, a text exactly when documented, printable ASCII in
 * what is logged and audited, and every command JSON (its ids escaped).
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "qmp-stop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ascii_or_abort(const char *s) {
        for (const char *c = s; c && *c; c++)
                if (*c < 0x20 || *c > 0x7e)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return 0;
        char *buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        enum { N = SHIM_QMP_LEAK_N + 2 };
        char *part[N] = {0};
        char *p = buf;
        for (size_t i = 0; i < N && p; i++) {
                part[i] = p;
                p = strchr(p, 0x1e);
                if (p)
                        *p++ = '\0';
        }
        char *going = NULL;
        char **cmds = NULL;
        int r = shim_qmp_leak_plan((const char *const *) part, &going, &cmds);
        if (r != 0 && r != 1 && r != -EBADMSG && r != -ENOMEM)
                abort();
        if ((r == 1 || r == -EBADMSG) != (going != NULL) || (r == 1) != (cmds != NULL))
                abort();
        ascii_or_abort(going);
        for (char **c = cmds; c && *c; c++) {
                json_t *j = json_loads(*c, 0, NULL);
                if (!j || !json_is_string(json_object_get(j, "execute")))
                        abort();
                json_decref(j);
        }
        free(going);
        strv_free(cmds);
        char *what = NULL;
        r = shim_qmp_event_classify(part[SHIM_QMP_LEAK_N], part[SHIM_QMP_LEAK_N + 1], &what);
        if (r != SHIM_QMP_EVENT_IGNORE && r != SHIM_QMP_EVENT_RECHECK && r != SHIM_QMP_EVENT_LEAK && r != -ENOMEM)
                abort();
        if ((r == SHIM_QMP_EVENT_LEAK) != (what != NULL))
                abort();
        ascii_or_abort(what);
        free(what);
        free(buf);
        return 0;
}
