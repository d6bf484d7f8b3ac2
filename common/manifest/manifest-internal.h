/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Inside the manifest loader: a schema-driven walk over the libyaml document
 * that reports every problem with its position and keeps going.  Only the
 * manifest-*.c files include this.
 */
#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"
#include "yaml-doc.h"

/* The spelling of each enum value (manifest.c), for parsing and for printing. */
extern const char *const ecl_proto_names[ECL_PROTO_ICMPV6 + 1];
extern const char *const ecl_accel_names[ECL_ACCEL_TCG + 1];
extern const char *const ecl_console_names[ECL_CONSOLE_NONE + 1];
extern const char *const ecl_disk_format_names[ECL_DISK_RAW + 1];

#define MPATH_MAX 160                /* "network.ingress[255].ports[63]" and the like */
#define ECL_MANIFEST_MAX_DEPTH 8     /* root > network > egress > rule > ports is 4 */

struct mctx {
        const char *file;
        struct ecl_yaml_doc *doc;
        struct ecl_diags *diags;
        unsigned n_errors;
        bool gave_up;
        int oom; /* -ENOMEM once an allocation failed */
};

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

/* Why ecluse has no such key (a channel it will not open), or NULL. */
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
/* One of names[] (index into *ret); hint used when the value is unknown. */
bool mctx_enum(struct mctx *c, const char *path, yaml_node_t *node, const char *const *names, size_t n,
               const char *hint, unsigned *ret);
/*
 * An absolute, normalised path (no "." or ".." component, no "//", no
 * trailing '/'); copied.  Whether it lies in the stack's tree is checked once
 * the whole document is read (the stack may be named after vm).
 */
bool mctx_file_path(struct mctx *c, const char *path, yaml_node_t *node, char **ret);

/* The network part (manifest-network.c). */
void mctx_parse_network(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj);
