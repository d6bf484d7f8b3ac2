/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "strutil.h"

static int set(char **ret_reason, int err, char *text) {
        if (!text)
                return -ENOMEM;
        ecl_str_make_printable(text);
        free(*ret_reason);
        *ret_reason = text;
        return err;
}

int ecl_reason(char **ret_reason, int err, const char *fmt, ...) {
        if (!ret_reason)
                return err;
        char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text) {
                free(*ret_reason);
                *ret_reason = NULL;
        }
        return set(ret_reason, err, text);
}

int ecl_reason_errno(char **ret_reason, int err, const char *fmt, ...) {
        if (!ret_reason)
                return err;
        char *what = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        char *text = NULL;
        if (what && asprintf(&text, "%s: %s", what, strerror(err < 0 ? -err : err)) < 0)
                text = NULL;
        free(what);
        if (!text) {
                free(*ret_reason);
                *ret_reason = NULL;
        }
        return set(ret_reason, err, text);
}

const char *ecl_reason_text(const char *reason, int err) {
        return reason ? reason : strerror(err < 0 ? -err : err);
}
