/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "strutil.h"

int ecl_diags_add(struct ecl_diags *d, const char *file, struct ecl_pos pos, const char *hint,
                  const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = ecl_diags_addv(d, file, pos, hint, fmt, ap);
        va_end(ap);
        return r;
}

int ecl_diags_addv(struct ecl_diags *d, const char *file, struct ecl_pos pos, const char *hint,
                   const char *fmt, va_list ap) {
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 8;
                struct ecl_diag *items = reallocarray(d->items, cap, sizeof *items);
                if (!items)
                        return -ENOMEM;
                d->items = items;
                d->cap = cap;
        }
        char *what = NULL;
        if (vasprintf(&what, fmt, ap) < 0)
                return -ENOMEM;
        struct ecl_diag *diag = &d->items[d->n];
        *diag = (struct ecl_diag){
                .file = strdup(file ? file : "<input>"),
                .pos = pos,
                .what = what,
                .hint = hint ? strdup(hint) : NULL,
        };
        if (!diag->file || (hint && !diag->hint)) {
                free(diag->file);
                free(diag->what);
                free(diag->hint);
                return -ENOMEM;
        }
        /* A file name comes from outside (a directory listing, the command line): one line, no escapes. */
        ecl_str_make_printable(diag->file);
        d->n++;
        return 0;
}

char *ecl_diag_format(const struct ecl_diag *diag) {
        /* A problem without a position (line 0: the file as a whole) reads "FILE: error: ...". */
        char where[32] = "";
        if (diag->pos.line > 0)
                snprintf(where, sizeof where, ":%u:%u", diag->pos.line, diag->pos.col);
        char *s = NULL;
        int r;
        if (diag->hint)
                r = asprintf(&s, "%s%s: error: %s (%s)", diag->file, where, diag->what, diag->hint);
        else
                r = asprintf(&s, "%s%s: error: %s", diag->file, where, diag->what);
        return r < 0 ? NULL : s;
}

void ecl_diags_print(const struct ecl_diags *d, FILE *f) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *line = ecl_diag_format(&d->items[i]);
                if (line)
                        fprintf(f, "%s\n", line);
        }
}

char *ecl_diags_summary(const struct ecl_diags *d) {
        if (!d || d->n == 0)
                return NULL;
        char *first = ecl_diag_format(&d->items[0]);
        if (!first || d->n == 1)
                return first;
        char *s = NULL;
        if (asprintf(&s, "%s (and %zu more problems)", first, d->n - 1) < 0)
                s = NULL;
        free(first);
        return s;
}

void ecl_diags_clear(struct ecl_diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].what);
                free(d->items[i].hint);
        }
        free(d->items);
        *d = (struct ecl_diags){0};
}
