/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * bundle.yaml (DESIGN.md, "Bundles, approvals, access"): the vendor's
 * description of an update, parsed as strictly as a manifest (unknown and
 * duplicate keys, aliases, wrong types: FILE:LINE:COL diagnostics, every
 * problem reported).  Every value in the model has been validated:
 *
 *   ecluse-bundle  1
 *   stack          a stack name (stack-name.h)
 *   licensor       1..ECL_LICENSOR_MAX bytes, no unsafe character
 *   version        dotted numbers ("2.4.1"), 1..AGENT_VERSION_PARTS parts,
 *                  each 0..UINT32_MAX without leading zeros; also a safe
 *                  directory name (releases/VERSION)
 *   released, expires  RFC 3339, in UTC from 1970 to 9999, released before expires
 *   notes          optional text, at most AGENT_BUNDLE_NOTES_MAX bytes; lines
 *                  kept, no unsafe character but '\n' (yaml-doc.h)
 *   payload        1..AGENT_BUNDLE_PAYLOAD_MAX entries: path "payload/NAME..."
 *                  (no "." or ".." component, no "//", no trailing "/", no
 *                  control, at most AGENT_BUNDLE_PATH_MAX bytes), size (an
 *                  unquoted decimal, no leading zero, fits 64 bits), sha256
 *                  (64 lowercase hex), install (a file name of at most 255
 *                  bytes of ASCII letters, digits, '.', '_', '+', '-', not
 *                  starting with '.' or '-': so not "." or "..", and no
 *                  invisible or look-alike character in what `show` lists);
 *                  no path and no install name twice (reported at the second,
 *                  naming the first)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "macro.h"

#define AGENT_BUNDLE_FORMAT 1
#define AGENT_BUNDLE_META_MAX_SIZE (1024 * 1024) /* bundle.yaml; larger is refused unread */
#define AGENT_BUNDLE_PAYLOAD_MAX 64              /* payload entries */
#define AGENT_BUNDLE_NOTES_MAX (64 * 1024)       /* bytes */
#define AGENT_BUNDLE_PATH_MAX 255                /* bytes of a payload path */
#define AGENT_VERSION_PARTS 8
#define AGENT_VERSION_TEXT_MAX 96

struct agent_version {
        uint32_t part[AGENT_VERSION_PARTS];
        unsigned n;
};

struct agent_bundle_file {
        char *path;        /* the tar entry, "payload/..." */
        uint64_t size;     /* bytes */
        uint8_t sha256[32];
        char sha256_hex[65];
        char *install;     /* file name inside releases/VERSION/ */
        struct ecl_pos pos; /* where the entry stands in bundle.yaml */
        struct ecl_pos path_pos, install_pos; /* where its path and install name are written */
};

struct agent_bundle_meta {
        char *file;        /* name used in messages */
        unsigned format;   /* ecluse-bundle: 1 */
        char *stack;
        char *licensor;
        char *version_text; /* as written, validated */
        struct agent_version version;
        uint64_t released;  /* seconds since the epoch */
        uint64_t expires;
        char *notes;        /* NULL when absent */
        struct agent_bundle_file *payload;
        size_t n_payload;
};

/*
 * Parse bundle.yaml (len bytes, need not be NUL-terminated).  name is used in
 * diagnostics (NULL: "bundle.yaml").  Returns 0 and *ret, -EBADMSG with every
 * problem in diags (at most ECL_MANIFEST_MAX_ERRORS), -EFBIG when len is over
 * AGENT_BUNDLE_META_MAX_SIZE (one diag at 0:0, nothing parsed), -ENOMEM.
 */
int agent_bundle_meta_parse(const char *name, const char *buf, size_t len, struct agent_bundle_meta **ret,
                          struct ecl_diags *diags);
void agent_bundle_meta_free(struct agent_bundle_meta *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_bundle_meta *, agent_bundle_meta_free);

/* The payload entry whose path is path, or NULL. */
const struct agent_bundle_file *agent_bundle_meta_find(const struct agent_bundle_meta *m, const char *path);

/* Parse dotted numbers as above.  0, or -EINVAL with *ret_reason (may be NULL). */
int agent_version_parse(const char *s, struct agent_version *ret, char **ret_reason);
/* <0, 0, >0 as a is older than, equal to, newer than b; numerically, part by
 * part, a missing part counting as 0 (2.10 > 2.9, 1.0 == 1). */
int agent_version_compare(const struct agent_version *a, const struct agent_version *b);
