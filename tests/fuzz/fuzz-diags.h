/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * For fuzz targets of parsers that report to struct ecl_diags: success gives
 * a model and no diagnostic; a refusal gives no model and between 1 and max
 * diagnostics, each one line naming the file; running out of memory is a
 * failure.  Anything else aborts.  Header-only: the targets link no test
 * library.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static inline void fuzz_check_diags(const struct ecl_diags *d, const char *file, size_t max) {
        if (d->n == 0 || d->n > max)
                abort();
        size_t len = strlen(file);
        for (size_t i = 0; i < d->n; i++) {
                char *line = ecl_diag_format(&d->items[i]);
                if (!line || strchr(line, '\n') || strncmp(line, file, len) != 0 || line[len] != ':')
                        abort();
                free(line);
        }
}

/* The result r of a parse into model with diags d: true when it succeeded (check the model, free it). */
static inline bool fuzz_parsed(int r, const void *model, struct ecl_diags *d, const char *file, size_t max) {
        if (r == -ENOMEM || (r == 0) != (model != NULL))
                abort();
        if (r == 0 && d->n != 0)
                abort();
        if (r < 0)
                fuzz_check_diags(d, file, max);
        return r == 0;
}
