/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A strict front end to libyaml's document API for configuration files.
 *
 * Before building the document, the event stream is checked: syntax errors,
 * anchors and aliases (refused outright, so no alias bomb can expand),
 * explicit tags, tag directives, more than one document and nesting beyond a
 * limit are all reported as FILE:LINE:COL diagnostics.  Only a clean stream is
 * loaded with yaml_parser_load().  Positions are libyaml's marks plus one.
 */
#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "diag.h"

struct ecl_yaml_doc {
        yaml_document_t doc;
        bool loaded;
};

struct ecl_yaml_limits {
        unsigned max_depth;  /* nested mappings and lists */
        unsigned max_errors; /* stop reporting after this many */
        const char *what;    /* "a manifest": for messages such as "... are not allowed in a manifest" */
};

/*
 * Parse buf (len bytes, need not be NUL-terminated) into *doc.  Returns 0
 * (the root may be NULL for an empty stream), -EBADMSG with diagnostics for
 * bad YAML, -ENOMEM.  Call ecl_yaml_doc_done() in every case.
 */
int ecl_yaml_doc_load(struct ecl_yaml_doc *doc, const char *name, const char *buf, size_t len,
                      const struct ecl_yaml_limits *limits, struct ecl_diags *diags);
void ecl_yaml_doc_done(struct ecl_yaml_doc *doc);

/* The root node, or NULL for an empty document. */
yaml_node_t *ecl_yaml_root(struct ecl_yaml_doc *doc);
/* The node of a mapping pair or list item index; NULL if out of range. */
yaml_node_t *ecl_yaml_node(struct ecl_yaml_doc *doc, int index);

static inline struct ecl_pos ecl_yaml_pos(const yaml_node_t *n) {
        return (struct ecl_pos){(unsigned) n->start_mark.line + 1, (unsigned) n->start_mark.column + 1};
}

/* A plain scalar that YAML reads as null: empty, "~", "null", "Null", "NULL". */
bool ecl_yaml_is_null(const yaml_node_t *n);
/* "a mapping", "a list", "a single value", "nothing": what the node is, for messages. */
const char *ecl_yaml_kind(const yaml_node_t *n);

/*
 * Characters that must not reach a one-line message or a signed statement
 * unescaped: C0 and C1 controls, DEL, the line and paragraph separators
 * U+2028/U+2029, and the bidirectional overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069).  Returns the byte length of such a
 * character at s (len bytes available), or 0.
 */
size_t ecl_utf8_unsafe_char(const char *s, size_t len);

/*
 * A printable excerpt of s (len bytes) for a one-line message: control
 * characters escaped as \xNN (unsafe characters as \u{XXXX}), cut after about max bytes (at a character
 * boundary) with "...".  Caller frees; NULL on ENOMEM.
 */
char *ecl_yaml_excerpt(const char *s, size_t len, size_t max);
