/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Diagnostics about an input file, kept with file, line and column so that a
 * parser can report every problem, not just the first:
 *
 *         FILE:LINE:COL: error: WHAT (HINT)
 *
 * Lines and columns are 1-based.  A problem with line 0 concerns the file as
 * a whole and reads "FILE: error: WHAT (HINT)".  The file name is kept with
 * its control characters made '?' (strutil.h), so a line stays one line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

struct ecl_pos {
        unsigned line;
        unsigned col;
};

struct ecl_diag {
        char *file;
        struct ecl_pos pos;
        char *what;
        char *hint; /* may be NULL */
};

struct ecl_diags {
        struct ecl_diag *items;
        size_t n;
        size_t cap;
};

/* Record a problem.  hint may be NULL.  Returns 0 or -ENOMEM. */
int ecl_diags_add(struct ecl_diags *d, const char *file, struct ecl_pos pos, const char *hint,
                  const char *fmt, ...) _printf_(5, 6);
int ecl_diags_addv(struct ecl_diags *d, const char *file, struct ecl_pos pos, const char *hint,
                   const char *fmt, va_list ap) _printf_(5, 0);
/* Format one diagnostic as its single line (no newline); caller frees. */
char *ecl_diag_format(const struct ecl_diag *diag);
/* The first diagnostic as one line, "(and N more problems)" after it when there were more; caller
 * frees.  NULL when there is none, or memory ran out. */
char *ecl_diags_summary(const struct ecl_diags *d);
/* Print every diagnostic, one line each. */
void ecl_diags_print(const struct ecl_diags *d, FILE *f);
void ecl_diags_clear(struct ecl_diags *d);
static inline bool ecl_diags_empty(const struct ecl_diags *d) {
        return d->n == 0;
}
