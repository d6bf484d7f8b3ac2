/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "strutil.h"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */
#define SEPARATOR " "
/* ASCII only: a C1 control (U+0080..U+009F) in a value goes out as \u0080.., never raw to a terminal. */
#define JSON_FLAGS (JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_ENSURE_ASCII)

struct ecl_output {
        FILE *f;
        enum ecl_json_style style;
        const struct ecl_output_column *columns;
        size_t n_columns;
        size_t *width;  /* per column, once laid out */
        bool laid_out;  /* the header is printed; later rows go out as they come */
        json_t **rows;  /* buffered until laid out */
        size_t n_rows, cap_rows;
        size_t n_json;  /* rows printed as JSON */
};

int ecl_output_new(FILE *f, enum ecl_json_style style, const struct ecl_output_column *columns,
                   struct ecl_output **ret) {
        *ret = NULL;
        struct ecl_output *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->f = f;
        o->style = style;
        o->columns = columns;
        while (columns[o->n_columns].key)
                o->n_columns++;
        o->width = calloc(o->n_columns ? o->n_columns : 1, sizeof *o->width);
        if (!o->width) {
                free(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

void ecl_output_free(struct ecl_output *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n_rows; i++)
                json_decref(o->rows[i]);
        free(o->rows);
        free(o->width);
        free(o);
}

size_t ecl_output_text_width(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

char *ecl_output_cell(enum ecl_output_kind kind, const json_t *v) {
        if (!v || json_is_null(v))
                return strdup("-");
        if (kind == ECL_OUTPUT_INTEGER && json_is_integer(v)) {
                char *s = NULL;
                return asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? NULL : s;
        }
        if (kind == ECL_OUTPUT_BOOLEAN && json_is_boolean(v))
                return strdup(json_is_true(v) ? "yes" : "no");
        char *s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_FLAGS);
        return s ? ecl_str_make_printable(s) : NULL;
}

/* The columns' natural widths from the header and the buffered rows, then narrowed to ECL_OUTPUT_WIDTH. */
static int lay_out(struct ecl_output *o) {
        size_t total = 0;
        for (size_t c = 0; c < o->n_columns; c++) {
                const struct ecl_output_column *col = &o->columns[c];
                size_t w = ecl_output_text_width(col->header);
                for (size_t r = 0; r < o->n_rows; r++) {
                        _cleanup_free_ char *s = ecl_output_cell(col->kind, json_object_get(o->rows[r], col->key));
                        if (!s)
                                return -ENOMEM;
                        size_t sw = ecl_output_text_width(s);
                        if (sw > w)
                                w = sw;
                }
                o->width[c] = w;
                total += w + (c ? strlen(SEPARATOR) : 0);
        }
        while (total > ECL_OUTPUT_WIDTH) {
                size_t widest = o->n_columns;
                for (size_t c = 0; c < o->n_columns; c++) {
                        const struct ecl_output_column *col = &o->columns[c];
                        size_t floor = ecl_output_text_width(col->header);
                        if (col->min > floor)
                                floor = col->min;
                        if (floor < 2)
                                floor = 2;
                        if (col->flex && o->width[c] > floor && (widest == o->n_columns || o->width[c] > o->width[widest]))
                                widest = c;
                }
                if (widest == o->n_columns)
                        break; /* nothing left to narrow: the line is wider */
                o->width[widest]--;
                total--;
        }
        o->laid_out = true;
        return 0;
}

static void put_spaces(FILE *f, size_t n) {
        while (n-- > 0)
                fputc(' ', f);
}

/* One cell: cut to w when flex (the first w-1 code points and "…"), padded unless it is the line's last. */
static void put_cell(struct ecl_output *o, size_t c, const char *s) {
        const struct ecl_output_column *col = &o->columns[c];
        size_t w = o->width[c], sw = ecl_output_text_width(s);
        bool last = c + 1 == o->n_columns;
        if (c > 0)
                fputs(SEPARATOR, o->f);
        if (sw > w && col->flex) {
                size_t keep = w - 1, n = 0;
                const char *p = s;
                for (; *p; p++) {
                        if (((unsigned char) *p & 0xc0) != 0x80 && n++ == keep)
                                break;
                }
                fwrite(s, 1, (size_t) (p - s), o->f);
                fputs(ELLIPSIS, o->f);
                sw = w;
        } else if (col->kind == ECL_OUTPUT_INTEGER) {
                put_spaces(o->f, sw < w ? w - sw : 0);
                fputs(s, o->f);
                return;
        } else {
                fputs(s, o->f);
        }
        if (!last)
                put_spaces(o->f, sw < w ? w - sw : 0);
}

static int put_row(struct ecl_output *o, const json_t *row) {
        for (size_t c = 0; c < o->n_columns; c++) {
                _cleanup_free_ char *s = row ? ecl_output_cell(o->columns[c].kind, json_object_get(row, o->columns[c].key))
                                             : strdup(o->columns[c].header);
                if (!s)
                        return -ENOMEM;
                put_cell(o, c, s);
        }
        fputc('\n', o->f);
        return 0;
}

/* Lay out from what is buffered, print the header and the buffered rows. */
static int flush_table(struct ecl_output *o) {
        int r = lay_out(o);
        if (r < 0)
                return r;
        r = put_row(o, NULL);
        for (size_t i = 0; r >= 0 && i < o->n_rows; i++)
                r = put_row(o, o->rows[i]);
        for (size_t i = 0; i < o->n_rows; i++)
                json_decref(o->rows[i]);
        o->n_rows = 0;
        return r;
}

/* jansson's own layout of an array: "[...,...]" compact, "[\n  ...,\n  ...\n]" indented by 2. */
static int put_json_row(struct ecl_output *o, const json_t *row) {
        bool pretty = o->style == ECL_JSON_PRETTY;
        _cleanup_free_ char *s = json_dumps(row, JSON_FLAGS | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
        if (!s)
                return -ENOMEM;
        fputs(o->n_json == 0 ? (pretty ? "[\n  " : "[") : (pretty ? ",\n  " : ","), o->f);
        if (!pretty)
                fputs(s, o->f);
        else
                for (const char *p = s; *p; p++) {
                        fputc(*p, o->f);
                        if (*p == '\n')
                                fputs("  ", o->f);
                }
        o->n_json++;
        return 0;
}

int ecl_output_add(struct ecl_output *o, json_t *row) {
        _cleanup_(json_decrefp) json_t *j = row;
        if (!json_is_object(j))
                return j ? -EINVAL : -ENOMEM;
        if (o->style != ECL_JSON_OFF)
                return put_json_row(o, j);
        if (o->laid_out)
                return put_row(o, j);
        if (o->n_rows == o->cap_rows) {
                size_t cap = o->cap_rows ? 2 * o->cap_rows : 16;
                json_t **rows = realloc(o->rows, cap * sizeof *rows);
                if (!rows)
                        return -ENOMEM;
                o->rows = rows;
                o->cap_rows = cap;
        }
        o->rows[o->n_rows++] = TAKE_PTR(j);
        return o->n_rows >= ECL_OUTPUT_LAYOUT_ROWS ? flush_table(o) : 0;
}

int ecl_output_end(struct ecl_output *o) {
        if (o->style != ECL_JSON_OFF) {
                fputs(o->n_json == 0 ? "[]\n" : o->style == ECL_JSON_PRETTY ? "\n]\n" : "]\n", o->f);
                return 0;
        }
        return o->laid_out ? 0 : flush_table(o);
}

int ecl_output_json(FILE *f, enum ecl_json_style style, const json_t *doc) {
        _cleanup_free_ char *s = json_dumps(doc, JSON_FLAGS | (style == ECL_JSON_PRETTY ? JSON_INDENT(2) : JSON_COMPACT));
        if (!s)
                return -ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        return 0;
}
