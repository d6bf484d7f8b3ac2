/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A schema-driven walk over a strict libyaml document (yaml-doc.h) that
 * reports every problem with its FILE:LINE:COL and keeps going: unknown keys
 * (with "did you mean"), duplicate keys (with the first one's position),
 * missing keys, wrong kinds, bad scalars.  The manifest loader is built on
 * it; so is every other file that must be as strict as a manifest
 * (bundle.yaml, agent/bundle-meta.c).  At most ECL_MANIFEST_MAX_ERRORS
 * problems are reported, then "too many errors, stopping here".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "yaml-doc.h"

#define MPATH_MAX 160                /* "network.ingress[255].ports[63]" and the like */

struct mctx {
        const char *file;
        struct ecl_yaml_doc *doc;
        struct ecl_diags *diags;
        const char *what;      /* "a manifest": for "... must be a mapping of keys" at the root */
        const char *root_hint; /* hint for that message, e.g. "a manifest starts with 'ecluse: 1'" (may be NULL) */
        /* Why the file has no such key (mctx_forbidden_reason for the manifest), or NULL; optional. */
        const char *(*no_such_key)(const char *key);
        unsigned n_errors;
        bool gave_up;
        int oom; /* -ENOMEM once an allocation failed */
        size_t first_diag; /* diags->n before the load (mctx_load) */
};

/*
 * Load buf (len bytes) into c->doc for a walk: over max_size it is refused
 * unread (-EFBIG, one diag "file too large" at 0:0), then
 * ecl_yaml_doc_load() with limits (-EBADMSG, diags in file order), and an
 * empty document is -EBADMSG with the message `empty` at 1:1 (hint
 * c->root_hint).  Returns 0 and *ret_root otherwise, or -ENOMEM.  Call
 * ecl_yaml_doc_done(c->doc) in every case.
 */
int mctx_load(struct mctx *c, const char *buf, size_t len, size_t max_size, const struct ecl_yaml_limits *limits,
              const char *empty, yaml_node_t **ret_root);
/* After the walk: the new diags in file order; then c->oom, -EBADMSG when anything was reported, or 0. */
int mctx_done(struct mctx *c);

/*
 * When the root mapping's `key` is an integer other than version, report
 * "unsupported WHAT N" there and return false: another version means another
 * schema, and a cascade of unknown keys would say nothing useful.  True
 * otherwise (a bad value is left for the walk to report).
 */
bool mctx_check_format(struct mctx *c, yaml_node_t *root, const char *key, int64_t version, const char *what);

void mctx_error(struct mctx *c, struct ecl_pos pos, const char *hint, const char *fmt, ...) _printf_(4, 5);
#define mctx_error_at(c, node, hint, ...) mctx_error((c), ecl_yaml_pos(node), (hint), __VA_ARGS__)
/* strdup that records ENOMEM in c; NULL then. */
char *mctx_strdup(struct mctx *c, const char *s);
/* A printable, shortened copy of a value for messages; caller frees; NULL (and c->oom) on ENOMEM. */
char *mctx_excerpt(struct mctx *c, const char *s);

/* "parent.key" (or "key" at the root) and "parent[i]". */
const char *mctx_subpath(char buf[static MPATH_MAX], const char *parent, const char *key);
const char *mctx_itempath(char buf[static MPATH_MAX], const char *parent, size_t index);

/* A key that the schema knows at one level. */
struct mkey {
        const char *name;
        bool required;
        const char *missing_hint; /* for "missing key" */
        /* Check the value and fill obj; path is the key's full path ("vm.memory"). */
        void (*parse)(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj);
        /* A key people write by mistake for this one, and what to tell them (optional). */
        const char *mistaken;
        const char *mistaken_hint;
};
#define MKEY(n, req, hint, fn) {.name = (n), .required = (req), .missing_hint = (hint), .parse = (fn)}

/*
 * Check that node is a mapping whose keys are all in keys[], each at most
 * once, the required ones present, and call each key's parse().  Unknown keys
 * get a "did you mean" or, for anything that would open a channel to the VM,
 * the reason ecluse has no such key.  `where` is the position for missing
 * keys.  found[] (optional, n_keys entries) receives each key's value node.
 * Returns false when node is not a mapping (reported).
 */
bool mctx_mapping(struct mctx *c, const char *path, struct ecl_pos where, yaml_node_t *node, const struct mkey *keys,
                  size_t n_keys, void *obj, yaml_node_t **found);

/* Why ecluse has no such key in a manifest (a channel it will not open), or NULL. */
const char *mctx_forbidden_reason(const char *key);
/* The key of keys[] closest to key by edit distance, if close enough; or NULL. */
const char *mctx_suggest(const char *key, const char *const *names, size_t n);

/* Check that node is a list of at most max items (empty only when allow_empty); reports otherwise. */
bool mctx_list(struct mctx *c, const char *path, yaml_node_t *node, size_t max, bool allow_empty, size_t *n_items);
/*
 * mctx_list(), then a zeroed array of size-byte items for it.  NULL when the
 * list is bad (reported), empty, or memory runs out (c->oom); *n_items is set
 * only when an array is returned.
 */
void *mctx_list_alloc(struct mctx *c, const char *path, yaml_node_t *node, size_t max, bool allow_empty,
                      size_t size, size_t *n_items);
/* Item i of a list checked by mctx_list(). */
yaml_node_t *mctx_item(struct mctx *c, yaml_node_t *list, size_t i);

/*
 * Scalars.  Each returns true and sets *ret when the value is good, reports
 * and returns false otherwise.
 */
/* Any non-null scalar; the text is NUL-free.  Not copied: valid while the document lives. */
bool mctx_scalar(struct mctx *c, const char *path, yaml_node_t *node, const char **ret);
/* Non-empty, not only blanks, no control characters, at most max bytes; copied. */
bool mctx_string(struct mctx *c, const char *path, yaml_node_t *node, size_t max, char **ret);
/* A plain decimal integer in [min, max]. */
bool mctx_int(struct mctx *c, const char *path, yaml_node_t *node, int64_t min, int64_t max, int64_t *ret);
/* A stack name (stack-name.h); copied. */
bool mctx_stack_name(struct mctx *c, const char *path, yaml_node_t *node, char **ret);
/* One of names[] (index into *ret); hint used when the value is unknown. */
bool mctx_enum(struct mctx *c, const char *path, yaml_node_t *node, const char *const *names, size_t n,
               const char *hint, unsigned *ret);
/*
 * An absolute, normalised path (no "." or ".." component, no "//", no
 * trailing '/'); copied.  Whether it lies in the stack's tree is checked once
 * the whole document is read (the stack may be named after vm).
 */
bool mctx_file_path(struct mctx *c, const char *path, yaml_node_t *node, char **ret);

