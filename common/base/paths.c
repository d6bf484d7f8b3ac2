/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "paths.h"

int ecl_path(char **ret, const char *root, const char *fmt, ...) {
        _cleanup_free_ char *tail = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&tail, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        size_t rl = root ? strlen(root) : 0;
        while (rl > 0 && root[rl - 1] == '/')
                rl--;
        const char *t = tail;
        while (*t == '/')
                t++;
        if (asprintf(ret, "%.*s/%s", (int) rl, root ? root : "", t) < 0)
                return -ENOMEM;
        return 0;
}
