/* SPDX-License-Identifier: Apache-2.0 */
/* bundle.yaml: the strict walk (manifest-walk.h) with the bundle's schema, and versions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle-meta.h"
#include "hex.h"
#include "manifest-walk.h"
#include "manifest.h" /* ECL_LICENSOR_MAX, ECL_MANIFEST_MAX_ERRORS */
#include "reason.h"
#include "rfc3339.h"
#include "strutil.h"

#define BUNDLE_MAX_DEPTH 4 /* root > payload > entry */
#define INSTALL_MAX 255
#define PAYLOAD_PREFIX "payload/"

/* ---- versions ---- */

int agent_version_parse(const char *s, struct agent_version *ret, char **ret_reason) {
        struct agent_version v = {0};
        size_t len = strlen(s);
        if (len == 0)
                return ecl_reason(ret_reason, -EINVAL, "empty version");
        if (len > AGENT_VERSION_TEXT_MAX)
                return ecl_reason(ret_reason, -EINVAL, "version too long (%zu bytes, at most %d)", len,
                                  AGENT_VERSION_TEXT_MAX);
        for (const char *p = s;; p++) {
                size_t n = strspn(p, "0123456789");
                if (n == 0)
                        return ecl_reason(
                                ret_reason, -EINVAL,
                                "a version is dotted numbers such as 2.4.1 (no empty part, no other character)");
                if (n > 1 && p[0] == '0')
                        return ecl_reason(ret_reason, -EINVAL, "a version part has no leading zero");
                if (v.n == AGENT_VERSION_PARTS)
                        return ecl_reason(ret_reason, -EINVAL, "a version has at most %d parts", AGENT_VERSION_PARTS);
                uint64_t x = 0;
                for (size_t i = 0; i < n; i++) {
                        x = x * 10 + (uint64_t) (p[i] - '0');
                        if (x > UINT32_MAX)
                                return ecl_reason(ret_reason, -EINVAL, "a version part is at most %u", UINT32_MAX);
                }
                v.part[v.n++] = (uint32_t) x;
                p += n;
                if (*p == 0)
                        break;
                if (*p != '.')
                        return ecl_reason(
                                ret_reason, -EINVAL,
                                "a version is dotted numbers such as 2.4.1 (no empty part, no other character)");
        }
        *ret = v;
        return 0;
}

int agent_version_compare(const struct agent_version *a, const struct agent_version *b) {
        unsigned n = a->n > b->n ? a->n : b->n;
        for (unsigned i = 0; i < n; i++) {
                uint32_t x = i < a->n ? a->part[i] : 0, y = i < b->n ? b->part[i] : 0;
                if (x != y)
                        return x < y ? -1 : 1;
        }
        return 0;
}

/* ---- top level ---- */

static void parse_format(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        int64_t v;
        if (mctx_int(c, path, value, AGENT_BUNDLE_FORMAT, AGENT_BUNDLE_FORMAT, &v))
                ((struct agent_bundle_meta *) obj)->format = (unsigned) v;
}

static void parse_stack(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        mctx_stack_name(c, path, value, &((struct agent_bundle_meta *) obj)->stack);
}

static void parse_licensor(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        mctx_string(c, path, value, ECL_LICENSOR_MAX, &((struct agent_bundle_meta *) obj)->licensor);
}

static void parse_version(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct agent_bundle_meta *m = obj;
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return;
        _cleanup_free_ char *why = NULL, *shown = mctx_excerpt(c, s);
        if (!shown)
                return;
        if (agent_version_parse(s, &m->version, &why) < 0) {
                mctx_error_at(c, value, why, "invalid version '%s' for '%s'", shown, path);
                return;
        }
        m->version_text = mctx_strdup(c, s);
}

/* An RFC 3339 date-time from 1970 to 9999 in UTC (what a statement can say); false (reported) otherwise. */
static bool parse_time(struct mctx *c, const char *path, yaml_node_t *value, uint64_t *ret) {
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return false;
        time_t t;
        char utc[ECL_RFC3339_LEN + 1];
        if (ecl_rfc3339_parse(s, strlen(s), &t) < 0 || t < 0 || ecl_rfc3339_format(t, utc) < 0) {
                _cleanup_free_ char *shown = mctx_excerpt(c, s);
                if (shown)
                        mctx_error_at(c, value, "an RFC 3339 date and time, e.g. 2026-11-30T10:00:00Z",
                                      "invalid time '%s' for '%s'", shown, path);
                return false;
        }
        *ret = (uint64_t) t;
        return true;
}

static void parse_released(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        parse_time(c, path, value, &((struct agent_bundle_meta *) obj)->released);
}

static void parse_expires(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        parse_time(c, path, value, &((struct agent_bundle_meta *) obj)->expires);
}

static void parse_notes(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        const char *s;
        if (value->type != YAML_SCALAR_NODE) {
                mctx_error_at(c, value, NULL, "'%s' must be text, got %s", path, ecl_yaml_kind(value));
                return;
        }
        if (!mctx_scalar(c, path, value, &s))
                return;
        size_t len = strlen(s);
        if (len > AGENT_BUNDLE_NOTES_MAX) {
                mctx_error_at(c, value, NULL, "'%s' is too long (%zu bytes, at most %d)", path, len,
                              AGENT_BUNDLE_NOTES_MAX);
                return;
        }
        for (size_t i = 0; i < len; i++)
                if (s[i] != '\n' && ecl_utf8_unsafe_char(s + i, len - i)) {
                        mctx_error_at(c, value,
                                      "line breaks are kept; control and bidirectional characters are not allowed",
                                      "'%s' contains a control character", path);
                        return;
                }
        ((struct agent_bundle_meta *) obj)->notes = mctx_strdup(c, s);
}

/* ---- payload ---- */

static void parse_file_path(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct agent_bundle_file *f = obj;
        _cleanup_free_ char *p = NULL;
        f->path_pos = ecl_yaml_pos(value);
        if (!mctx_string(c, path, value, AGENT_BUNDLE_PATH_MAX, &p))
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, p);
        if (!shown)
                return;
        const char *problem = NULL;
        if (strncmp(p, PAYLOAD_PREFIX, strlen(PAYLOAD_PREFIX)) != 0)
                problem = "must start with 'payload/'";
        else if (p[strlen(p) - 1] == '/')
                problem = "must name a file, not a directory";
        for (const char *s = p; !problem && *s;) {
                size_t n = strcspn(s, "/");
                if (n == 0)
                        problem = "must not contain an empty component ('//')";
                else if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        problem = "must not contain '.' or '..' components";
                s += n;
                if (*s == '/')
                        s++;
        }
        if (problem) {
                mctx_error_at(c, value, "a tar entry under payload/, e.g. payload/vmlinuz", "'%s' %s, got '%s'", path,
                              problem, shown);
                return;
        }
        f->path = TAKE_PTR(p);
}

/* "0" or [1-9][0-9]* that fits in 64 bits. */
static int parse_u64(const char *s, uint64_t *ret) {
        size_t n = strlen(s);
        if (n == 0 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
                return -EINVAL;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static void parse_file_size(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        const char *s;
        if (value->type != YAML_SCALAR_NODE || ecl_yaml_is_null(value)) {
                mctx_error_at(c, value, NULL, "'%s' must be an integer, got %s", path, ecl_yaml_kind(value));
                return;
        }
        if (!mctx_scalar(c, path, value, &s))
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return;
        int r = parse_u64(s, &((struct agent_bundle_file *) obj)->size);
        if (r == -ERANGE)
                mctx_error_at(c, value, NULL, "'%s' is out of range, got %s", path, shown);
        else if (r < 0 || value->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                mctx_error_at(c, value, "the file's size in bytes, an unquoted decimal integer",
                              "'%s' must be a size in bytes, got '%s'", path, shown);
}

static void parse_file_sha256(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct agent_bundle_file *f = obj;
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return;
        if (!ecl_hex_decode(s, strlen(s), f->sha256, sizeof f->sha256)) {
                _cleanup_free_ char *shown = mctx_excerpt(c, s);
                if (shown)
                        mctx_error_at(c, value, "exactly 64 lowercase hexadecimal digits",
                                      "invalid sha256 '%s' for '%s'", shown, path);
                return;
        }
        memcpy(f->sha256_hex, s, 65);
}

static void parse_file_install(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct agent_bundle_file *f = obj;
        _cleanup_free_ char *p = NULL;
        f->install_pos = ecl_yaml_pos(value);
        if (!mctx_string(c, path, value, INSTALL_MAX, &p))
                return;
        /* ASCII letters, digits, '.', '_', '+', '-' only: what `show` lists is what an officer reads, and no
         * invisible or look-alike character can make two names that show the same */
        bool ok = p[0] != '.' && p[0] != '-';
        for (const char *q = p; ok && *q; q++)
                ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                     strchr("._+-", *q);
        if (!ok) {
                _cleanup_free_ char *shown = mctx_excerpt(c, p);
                if (shown)
                        mctx_error_at(c, value,
                                      "a file name inside releases/VERSION/: ASCII letters, digits, '.', '_', '+' "
                                      "and '-', not starting with '.' or '-'",
                                      "invalid file name '%s' for '%s'", shown, path);
                return;
        }
        f->install = TAKE_PTR(p);
}

static const struct mkey file_keys[] = {
        MKEY("path", true, "the tar entry, e.g. 'path: payload/vmlinuz'", parse_file_path),
        MKEY("size", true, "the file's size in bytes", parse_file_size),
        MKEY("sha256", true, "the file's sha256, 64 lowercase hexadecimal digits", parse_file_sha256),
        MKEY("install", true, "the file name inside releases/VERSION/", parse_file_install),
};

/* A second entry with the same value: reported at the second, naming the first. */
static void check_repeat(struct mctx *c, const char *path, const char *what, const char *a, struct ecl_pos a_pos,
                         const char *b, struct ecl_pos b_pos) {
        if (!a || !b || !streq(a, b))
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, b);
        if (!shown)
                return;
        char hint[64];
        snprintf(hint, sizeof hint, "first at line %u, column %u", a_pos.line, a_pos.col);
        mctx_error(c, b_pos, hint, "'%s' repeats the %s '%s'", path, what, shown);
}

static void parse_payload(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct agent_bundle_meta *m = obj;
        size_t n;
        m->payload = mctx_list_alloc(c, path, value, AGENT_BUNDLE_PAYLOAD_MAX, false, sizeof *m->payload, &n);
        if (!m->payload)
                return;
        m->n_payload = n;
        for (size_t i = 0; i < n; i++) {
                yaml_node_t *item = mctx_item(c, value, i);
                struct agent_bundle_file *f = &m->payload[i];
                char sub[MPATH_MAX], key_path[MPATH_MAX];
                f->pos = ecl_yaml_pos(item);
                mctx_itempath(sub, path, i);
                mctx_mapping(c, sub, f->pos, item, file_keys, ELEMENTSOF(file_keys), f, NULL);
                for (size_t j = 0; j < i; j++) {
                        const struct agent_bundle_file *g = &m->payload[j];
                        check_repeat(c, mctx_subpath(key_path, sub, "path"), "payload path", g->path, g->path_pos,
                                     f->path, f->path_pos);
                        check_repeat(c, mctx_subpath(key_path, sub, "install"), "install name", g->install,
                                     g->install_pos, f->install, f->install_pos);
                }
        }
}

/* ---- the document ---- */

enum {
        TOP_FORMAT,
        TOP_STACK,
        TOP_LICENSOR,
        TOP_VERSION,
        TOP_RELEASED,
        TOP_EXPIRES,
        TOP_NOTES,
        TOP_PAYLOAD,
        TOP_N_KEYS
};
static const struct mkey top_keys[TOP_N_KEYS] = {
        [TOP_FORMAT] = {.name = "ecluse-bundle",
                        .required = true,
                        .missing_hint = "bundle.yaml starts with 'ecluse-bundle: 1'",
                        .parse = parse_format,
                        .mistaken = "ecluse",
                        .mistaken_hint = "bundle.yaml starts with 'ecluse-bundle: 1'; 'ecluse: 1' starts a manifest"},
        [TOP_STACK] = MKEY("stack", true, "the stack the update is for, e.g. 'stack: office'", parse_stack),
        [TOP_LICENSOR] = MKEY("licensor", true, "the manifest's licensor", parse_licensor),
        [TOP_VERSION] = MKEY("version", true, "dotted numbers, e.g. 'version: 2.4.1'", parse_version),
        [TOP_RELEASED] = MKEY("released", true, "an RFC 3339 time, e.g. 2026-11-30T10:00:00Z", parse_released),
        [TOP_EXPIRES] = MKEY("expires", true, "an RFC 3339 time after 'released'", parse_expires),
        [TOP_NOTES] = MKEY("notes", false, NULL, parse_notes),
        [TOP_PAYLOAD] =
                MKEY("payload", true, "the files of the release, each with path, size, sha256, install", parse_payload),
};

int agent_bundle_meta_parse(const char *name, const char *buf, size_t len, struct agent_bundle_meta **ret,
                            struct ecl_diags *diags) {
        static const struct ecl_yaml_limits limits = {
                .max_depth = BUNDLE_MAX_DEPTH,
                .max_errors = ECL_MANIFEST_MAX_ERRORS,
                .what = "bundle.yaml",
        };
        struct ecl_yaml_doc doc;
        struct mctx c = {
                .file = name ? name : "bundle.yaml",
                .doc = &doc,
                .diags = diags,
                .what = "bundle.yaml",
                .root_hint = "bundle.yaml starts with 'ecluse-bundle: 1'",
        };
        yaml_node_t *root;
        int r = mctx_load(&c, buf, len, AGENT_BUNDLE_META_MAX_SIZE, &limits, "empty bundle.yaml", &root);
        if (r < 0) {
                ecl_yaml_doc_done(&doc);
                return r;
        }
        _cleanup_(agent_bundle_meta_freep) struct agent_bundle_meta *m = calloc(1, sizeof *m);
        if (!m) {
                ecl_yaml_doc_done(&doc);
                return -ENOMEM;
        }
        m->file = mctx_strdup(&c, c.file);
        m->released = m->expires = UINT64_MAX; /* not (validly) given: no cross-check */
        yaml_node_t *found[TOP_N_KEYS];
        if (mctx_check_format(&c, root, "ecluse-bundle", AGENT_BUNDLE_FORMAT, "bundle format") &&
            mctx_mapping(&c, "", ecl_yaml_pos(root), root, top_keys, ELEMENTSOF(top_keys), m, found) &&
            m->released != UINT64_MAX && m->expires != UINT64_MAX && m->released >= m->expires)
                mctx_error_at(&c, found[TOP_EXPIRES], "a bundle is valid from 'released' until 'expires'",
                              "'expires' must be after 'released'");
        ecl_yaml_doc_done(&doc);
        r = mctx_done(&c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

void agent_bundle_meta_free(struct agent_bundle_meta *m) {
        if (!m)
                return;
        free(m->file);
        free(m->stack);
        free(m->licensor);
        free(m->version_text);
        free(m->notes);
        for (size_t i = 0; i < m->n_payload; i++) {
                free(m->payload[i].path);
                free(m->payload[i].install);
        }
        free(m->payload);
        free(m);
}

const struct agent_bundle_file *agent_bundle_meta_find(const struct agent_bundle_meta *m, const char *path) {
        for (size_t i = 0; i < m->n_payload; i++)
                if (m->payload[i].path && streq(m->payload[i].path, path))
                        return &m->payload[i];
        return NULL;
}
