/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What a command prints on stdout: the same rows as an aligned table for
 * people or, with --json, as one JSON array (compact on one line, or with
 * --json=pretty indented by 2), and single JSON documents in the same two
 * styles.
 *
 * A command describes its columns once, adds rows, and ends:
 *
 *   static const struct ecl_output_column cols[] = {
 *           ECL_OUTPUT_COLUMN("stack", "STACK", ECL_OUTPUT_STRING),
 *           ECL_OUTPUT_COLUMN("count", "COUNT", ECL_OUTPUT_INTEGER),
 *           ECL_OUTPUT_FLEX("note", "NOTE", ECL_OUTPUT_STRING, 0),
 *           ECL_OUTPUT_COLUMNS_END,
 *   };
 *   _cleanup_(ecl_output_freep) struct ecl_output *o = NULL;
 *   r = ecl_output_new(stdout, cli->json, cols, &o);
 *   for (...)
 *           r = ecl_output_add(o, json_pack("{s:s,s:I,s:s?}", ...));  // takes the row
 *   r = ecl_output_end(o);
 *
 * A row is a JSON object.  In JSON it is printed as it is (all of its
 * members, also those no column shows); the table shows the columns' keys,
 * a missing or null value as "-".  Kinds: STRING (a string; any other value
 * is shown as its compact JSON), INTEGER (right-aligned), BOOLEAN ("yes" or
 * "no"), TIME (an RFC 3339 string, or null).  Every value goes through
 * strutil's control-character rule: what a guest, a log or a shim put in a
 * string never reaches the terminal as a control character.
 *
 * Widths: each column is as wide as its header and its widest value, one
 * space between columns.  When a line would be wider than ECL_OUTPUT_WIDTH
 * (100) columns, the flex columns are narrowed, the widest first, never
 * below their header or .min, and a value cut ends with "…".  Other
 * columns are never cut (give them bounded values: names, numbers, times).
 * The layout is fixed after ECL_OUTPUT_LAYOUT_ROWS rows, so a long listing
 * (an audit log) streams: later rows are printed as they come, cut to that
 * layout.  A table
 * without rows is its header line.  JSON rows are printed as they come.
 *
 * Converting a command (shim `list`, say): replace its printf() table and
 * its json_array() with one static column table (the JSON keys its rows
 * already have, the headers it prints), ecl_output_new(stdout, cli->json,
 * ...), one ecl_output_add() per row (json_pack() of what the row shows),
 * and ecl_output_end(); lines printed after the table (a summary) go out
 * after ecl_output_end(), only when cli->json is ECL_JSON_OFF.  A single
 * object (one answer) goes through ecl_output_json().  Link ecluse-output
 * (part of ecluse-common).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "macro.h"

#define ECL_OUTPUT_WIDTH 100
#define ECL_OUTPUT_LAYOUT_ROWS 1000

enum ecl_output_kind {
        ECL_OUTPUT_STRING,
        ECL_OUTPUT_INTEGER,
        ECL_OUTPUT_BOOLEAN,
        ECL_OUTPUT_TIME,
};

struct ecl_output_column {
        const char *key;    /* the member of a row; NULL ends the list */
        const char *header; /* the table's header, "DESTINATION" */
        enum ecl_output_kind kind;
        bool flex;          /* may be narrowed (and its values cut) to fit ECL_OUTPUT_WIDTH */
        unsigned min;       /* flex: never narrower than this (nor than the header) */
};
#define ECL_OUTPUT_COLUMN(k, h, t) {.key = (k), .header = (h), .kind = (t)}
#define ECL_OUTPUT_FLEX(k, h, t, m) {.key = (k), .header = (h), .kind = (t), .flex = true, .min = (m)}
#define ECL_OUTPUT_COLUMNS_END {.key = NULL}

struct ecl_output;

/* A listing to f in the given style (ECL_JSON_OFF: the table).  0 or -ENOMEM. */
int ecl_output_new(FILE *f, enum ecl_json_style style, const struct ecl_output_column *columns,
                   struct ecl_output **ret);

/* Add a row (a JSON object; the reference is taken, also on failure).  0, -EINVAL (not an object) or -ENOMEM. */
int ecl_output_add(struct ecl_output *o, json_t *row);

/* Print what is left (the table, the array's end).  0, or -ENOMEM; call it once. */
int ecl_output_end(struct ecl_output *o);

void ecl_output_free(struct ecl_output *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_output *, ecl_output_free);

/* One JSON document (an object, an array, any value) and a newline, in the given style (OFF: compact). */
int ecl_output_json(FILE *f, enum ecl_json_style style, const json_t *doc);

/*
 * A table cell as text: v (a string or, per kind, an integer, boolean, time
 * or any JSON value) made printable into a new string; "-" for NULL/null.
 * NULL when out of memory.
 */
char *ecl_output_cell(enum ecl_output_kind kind, const json_t *v);

/* Display columns of UTF-8 text (each code point one column). */
size_t ecl_output_text_width(const char *s);
