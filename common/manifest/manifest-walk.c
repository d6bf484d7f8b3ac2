/* SPDX-License-Identifier: Apache-2.0 */
/* The schema-driven walk of a strict YAML document: mappings, lists, scalars, messages. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest-walk.h"
#include "manifest.h" /* ECL_MANIFEST_MAX_ERRORS */
#include "stack-name.h"
#include "strutil.h"
#include "strparse.h"

#define EXCERPT_MAX 60
#define TOO_MANY "too many errors, stopping here"

void mctx_error(struct mctx *c, struct ecl_pos pos, const char *hint, const char *fmt, ...) {
        if (c->gave_up || c->oom)
                return;
        if (c->n_errors >= ECL_MANIFEST_MAX_ERRORS) {
                if (ecl_diags_add(c->diags, c->file, pos, NULL, TOO_MANY) < 0)
                        c->oom = -ENOMEM;
                c->gave_up = true;
                return;
        }
        va_list ap;
        va_start(ap, fmt);
        if (ecl_diags_addv(c->diags, c->file, pos, hint, fmt, ap) < 0)
                c->oom = -ENOMEM;
        va_end(ap);
        c->n_errors++;
}

char *mctx_strdup(struct mctx *c, const char *s) {
        char *d = strdup(s);
        if (!d)
                c->oom = -ENOMEM;
        return d;
}

char *mctx_excerpt(struct mctx *c, const char *s) {
        char *e = ecl_yaml_excerpt(s, strlen(s), EXCERPT_MAX);
        if (!e)
                c->oom = -ENOMEM;
        return e;
}

const char *mctx_subpath(char buf[static MPATH_MAX], const char *parent, const char *key) {
        snprintf(buf, MPATH_MAX, "%s%s%s", parent, *parent ? "." : "", key);
        return buf;
}

const char *mctx_itempath(char buf[static MPATH_MAX], const char *parent, size_t index) {
        snprintf(buf, MPATH_MAX, "%s[%zu]", parent, index);
        return buf;
}

/* ---- keys that would open a channel to the VM ---- */

static const struct {
        const char *const *keys;
        const char *reason;
} forbidden[] = {
        {(const char *const[]){"graphics", "graphic", "vnc", "spice", "display", "video", "rdp", "remote-console",
                               "remote-display", NULL},
         "ecluse has no remote console: a graphics device would open a channel to the VM"},
        {(const char *const[]){"channel", "channels", "guest-agent", "qemu-agent", "qemu-guest-agent", "agent",
                               "spicevmc", "virtio-serial", NULL},
         "ecluse has no channel devices: a channel would open a path between the host and the guest"},
        {(const char *const[]){"vsock", "vsocks", NULL},
         "ecluse has no vsock: a vsock device would open a socket between the host and the guest"},
        {(const char *const[]){"hostdev", "hostdevs", "passthrough", "pci-passthrough", "pci", NULL},
         "ecluse passes no host device through: it would give the guest a path around the policy"},
        {(const char *const[]){"filesystem", "filesystems", "fs", "virtiofs", "9p", "share", "shares", "shared-folders",
                               "shared-folder", "mounts", "mount", NULL},
         "ecluse shares no filesystem: a shared filesystem would open a channel between the host and the guest"},
        {(const char *const[]){"usb", "usb-devices", "redirdev", "redirdevs", "usbredir", "usb-redirect",
                               "smartcard", NULL},
         "ecluse has no USB: a USB device or redirection would open a channel to the VM"},
        {(const char *const[]){"tpm", "tpms", NULL},
         "ecluse has no TPM: a TPM passthrough or emulator socket would open a channel to the host"},
        {(const char *const[]){"rng", "random", "entropy", NULL},
         "ecluse has no random-number device: its backend could reach the network"},
        {(const char *const[]){"memballoon", "balloon", "memory-balloon", NULL},
         "ecluse has no memory balloon: it is a control channel between the host and the guest"},
        {(const char *const[]){"qemu-commandline", "qemu:commandline", "commandline", "qemu-args", "qemu-arguments",
                               "qemu-options", "qemu", "xml", "domain-xml", "libvirt-xml", "libvirt", NULL},
         "ecluse takes no raw QEMU or libvirt settings: they would bypass every check"},
        {(const char *const[]){"serial", "serials", "chardev", "chardevs", "console-tcp", "tcp-console", "telnet",
                               NULL},
         "ecluse has no remote console: the only serial port is the local log, set by 'console: log'"},
        {(const char *const[]){"parallel", "parallels", NULL},
         "ecluse has no parallel port: it would open a channel to the VM"},
        {(const char *const[]){"shmem", "ivshmem", "shared-memory", NULL},
         "ecluse has no shared memory device: it would open a channel between the host and the guest"},
        {(const char *const[]){"interface", "interfaces", "nic", "nics", "netdev", "netdevs", NULL},
         "the VM's only interface is the tap ecluse creates: describe it under 'network'"},
};

const char *mctx_forbidden_reason(const char *key) {
        char norm[32];
        size_t n = strlen(key);
        if (n >= sizeof norm)
                return NULL;
        for (size_t i = 0; i <= n; i++)
                norm[i] = key[i] == '_' ? '-' : (char) tolower((unsigned char) key[i]);
        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                for (const char *const *k = forbidden[i].keys; *k; k++)
                        if (streq(norm, *k))
                                return forbidden[i].reason;
        return NULL;
}

/* Optimal string alignment distance, case-insensitive, '_' equal to '-'; capped at 3. */
static unsigned distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > lb + 3 || lb > la + 3 || lb >= 32)
                return 3;
        unsigned prev2[33], prev[33], cur[33];
        for (size_t j = 0; j <= lb; j++)
                prev[j] = (unsigned) j;
#define NORM(ch) ((ch) == '_' ? '-' : tolower((unsigned char) (ch)))
        for (size_t i = 1; i <= la; i++) {
                cur[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cost = NORM(a[i - 1]) == NORM(b[j - 1]) ? 0 : 1;
                        unsigned v = prev[j] + 1;
                        if (cur[j - 1] + 1 < v)
                                v = cur[j - 1] + 1;
                        if (prev[j - 1] + cost < v)
                                v = prev[j - 1] + cost;
                        if (i > 1 && j > 1 && NORM(a[i - 1]) == NORM(b[j - 2]) && NORM(a[i - 2]) == NORM(b[j - 1]) &&
                            prev2[j - 2] + 1 < v)
                                v = prev2[j - 2] + 1;
                        cur[j] = v;
                }
                memcpy(prev2, prev, sizeof prev);
                memcpy(prev, cur, sizeof cur);
        }
#undef NORM
        return prev[lb] < 3 ? prev[lb] : 3;
}

const char *mctx_suggest(const char *key, const char *const *names, size_t n) {
        const char *best = NULL;
        unsigned best_d = 3;
        for (size_t i = 0; i < n; i++) {
                unsigned d = distance(key, names[i]);
                unsigned limit = strlen(names[i]) <= 4 ? 1 : 2;
                if (d <= limit && d < best_d) {
                        best = names[i];
                        best_d = d;
                }
        }
        return best;
}

/* ---- mappings ---- */

/* Report an unknown key; returns the index of the key suggested instead, or -1. */
static int report_unknown_key(struct mctx *c, const char *path, yaml_node_t *key, const char *name,
                              const struct mkey *keys, size_t n_keys) {
        _cleanup_free_ char *shown = mctx_excerpt(c, name);
        if (!shown)
                return -1;
        char in[MPATH_MAX + 8] = "";
        if (*path)
                snprintf(in, sizeof in, " in '%s'", path);
        const char *reason = c->no_such_key ? c->no_such_key(name) : NULL;
        if (reason) {
                mctx_error_at(c, key, reason, "unknown key '%s'%s", shown, in);
                return -1;
        }
        for (size_t i = 0; i < n_keys; i++)
                if (keys[i].mistaken && streq(keys[i].mistaken, name)) {
                        mctx_error_at(c, key, keys[i].mistaken_hint, "unknown key '%s'%s", shown, in);
                        return (int) i;
                }
        const char *names[32];
        size_t n = 0;
        for (size_t i = 0; i < n_keys && n < ELEMENTSOF(names); i++)
                names[n++] = keys[i].name;
        const char *s = mctx_suggest(name, names, n);
        char hint[512];
        if (s)
                snprintf(hint, sizeof hint, "did you mean '%s'?", s);
        else {
                size_t off = (size_t) snprintf(hint, sizeof hint, "valid keys here: ");
                for (size_t i = 0; i < n && off < sizeof hint; i++)
                        off += (size_t) snprintf(hint + off, sizeof hint - off, "%s%s", i ? ", " : "", names[i]);
        }
        mctx_error_at(c, key, hint, "unknown key '%s'%s", shown, in);
        for (size_t i = 0; s && i < n_keys; i++)
                if (keys[i].name == s)
                        return (int) i;
        return -1;
}

bool mctx_mapping(struct mctx *c, const char *path, struct ecl_pos where, yaml_node_t *node, const struct mkey *keys,
                  size_t n_keys, void *obj, yaml_node_t **found) {
        yaml_node_t *seen_key[32] = {0};
        bool suggested[32] = {0}; /* a misspelt key already said "did you mean": no "missing" for it too */
        if (n_keys > ELEMENTSOF(seen_key))
                abort(); /* a schema bug, not an input problem */
        if (found)
                for (size_t i = 0; i < n_keys; i++)
                        found[i] = NULL;
        if (node->type != YAML_MAPPING_NODE) {
                if (*path)
                        mctx_error_at(c, node, NULL, "'%s' must be a mapping, got %s", path, ecl_yaml_kind(node));
                else
                        mctx_error_at(c, node, c->root_hint, "%s must be a mapping of keys, got %s", c->what,
                                      ecl_yaml_kind(node));
                return false;
        }
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
                if (c->gave_up || c->oom)
                        break;
                yaml_node_t *k = ecl_yaml_node(c->doc, p->key), *v = ecl_yaml_node(c->doc, p->value);
                if (!k || !v)
                        continue;
                if (k->type != YAML_SCALAR_NODE || ecl_yaml_is_null(k) ||
                    memchr(k->data.scalar.value, 0, k->data.scalar.length)) {
                        mctx_error_at(c, k, NULL, "keys must be plain strings, got %s", ecl_yaml_kind(k));
                        continue;
                }
                const char *name = (const char *) k->data.scalar.value;
                size_t i = 0;
                while (i < n_keys && !streq(keys[i].name, name))
                        i++;
                if (i == n_keys) {
                        int s = report_unknown_key(c, path, k, name, keys, n_keys);
                        if (s >= 0)
                                suggested[s] = true;
                        continue;
                }
                if (seen_key[i]) {
                        char hint[64];
                        snprintf(hint, sizeof hint, "first at line %u, column %u", ecl_yaml_pos(seen_key[i]).line,
                                 ecl_yaml_pos(seen_key[i]).col);
                        if (*path)
                                mctx_error_at(c, k, hint, "duplicate key '%s' in '%s'", name, path);
                        else
                                mctx_error_at(c, k, hint, "duplicate key '%s'", name);
                        continue;
                }
                seen_key[i] = k;
                if (found)
                        found[i] = v;
                char sub[MPATH_MAX];
                keys[i].parse(c, mctx_subpath(sub, path, name), k, v, obj);
        }
        for (size_t i = 0; i < n_keys; i++) {
                if (seen_key[i] || suggested[i] || !keys[i].required || c->gave_up)
                        continue;
                if (*path)
                        mctx_error(c, where, keys[i].missing_hint, "missing key '%s' in '%s'", keys[i].name, path);
                else
                        mctx_error(c, where, keys[i].missing_hint, "missing key '%s'", keys[i].name);
        }
        return true;
}

/* ---- lists ---- */

yaml_node_t *mctx_item(struct mctx *c, yaml_node_t *list, size_t i) {
        if (i >= (size_t) (list->data.sequence.items.top - list->data.sequence.items.start))
                return NULL;
        return ecl_yaml_node(c->doc, list->data.sequence.items.start[i]);
}

bool mctx_list(struct mctx *c, const char *path, yaml_node_t *node, size_t max, bool allow_empty, size_t *n_items) {
        if (node->type != YAML_SEQUENCE_NODE) {
                mctx_error_at(c, node, NULL, "'%s' must be a list, got %s", path, ecl_yaml_kind(node));
                return false;
        }
        size_t n = (size_t) (node->data.sequence.items.top - node->data.sequence.items.start);
        if (n == 0 && !allow_empty) {
                mctx_error_at(c, node, NULL, "'%s' must not be empty", path);
                return false;
        }
        if (n > max) {
                mctx_error_at(c, node, NULL, "'%s' has too many entries (%zu, at most %zu)", path, n, max);
                return false;
        }
        *n_items = n;
        return true;
}

void *mctx_list_alloc(struct mctx *c, const char *path, yaml_node_t *node, size_t max, bool allow_empty,
                      size_t size, size_t *n_items) {
        size_t n;
        if (!mctx_list(c, path, node, max, allow_empty, &n) || n == 0)
                return NULL;
        void *v = calloc(n, size);
        if (!v) {
                c->oom = -ENOMEM;
                return NULL;
        }
        *n_items = n;
        return v;
}

/* ---- scalars ---- */

bool mctx_scalar(struct mctx *c, const char *path, yaml_node_t *node, const char **ret) {
        if (node->type != YAML_SCALAR_NODE || ecl_yaml_is_null(node)) {
                mctx_error_at(c, node, NULL, "'%s' must be a single value, got %s", path, ecl_yaml_kind(node));
                return false;
        }
        if (memchr(node->data.scalar.value, 0, node->data.scalar.length)) {
                mctx_error_at(c, node, NULL, "'%s' contains a NUL character", path);
                return false;
        }
        *ret = (const char *) node->data.scalar.value;
        return true;
}

bool mctx_string(struct mctx *c, const char *path, yaml_node_t *node, size_t max, char **ret) {
        const char *s;
        if (node->type == YAML_SCALAR_NODE && ecl_yaml_is_null(node)) {
                mctx_error_at(c, node, NULL, "'%s' must not be empty", path);
                return false;
        }
        if (node->type != YAML_SCALAR_NODE) {
                mctx_error_at(c, node, NULL, "'%s' must be a string, got %s", path, ecl_yaml_kind(node));
                return false;
        }
        if (!mctx_scalar(c, path, node, &s))
                return false;
        size_t len = strlen(s);
        if (strspn(s, " \t") == len) {
                mctx_error_at(c, node, NULL, "'%s' must not be empty", path);
                return false;
        }
        for (size_t i = 0; i < len; i++)
                if (ecl_utf8_unsafe_char(s + i, len - i)) {
                        mctx_error_at(c, node, "line breaks, control and bidirectional characters are not allowed",
                                      "'%s' contains a control character", path);
                        return false;
                }
        if (len > max) {
                mctx_error_at(c, node, NULL, "'%s' is too long (%zu bytes, at most %zu)", path, len, max);
                return false;
        }
        *ret = mctx_strdup(c, s);
        return *ret != NULL;
}

bool mctx_int(struct mctx *c, const char *path, yaml_node_t *node, int64_t min, int64_t max, int64_t *ret) {
        const char *s;
        if (node->type != YAML_SCALAR_NODE || ecl_yaml_is_null(node)) {
                mctx_error_at(c, node, NULL, "'%s' must be an integer, got %s", path, ecl_yaml_kind(node));
                return false;
        }
        if (!mctx_scalar(c, path, node, &s))
                return false;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return false;
        int r = ecl_parse_int(s, min, max, ret);
        if (r == 0 && node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
                char hint[64];
                snprintf(hint, sizeof hint, "write %s without quotes", s);
                mctx_error_at(c, node, hint, "'%s' must be an integer, got the string '%s'", path, shown);
                return false;
        }
        if (r == -EINVAL) {
                mctx_error_at(c, node, NULL, "'%s' must be a decimal integer, got '%s'", path, shown);
                return false;
        }
        if (r < 0) {
                mctx_error_at(c, node, NULL, "'%s' must be between %lld and %lld, got %s", path, (long long) min,
                              (long long) max, shown);
                return false;
        }
        return true;
}

bool mctx_stack_name(struct mctx *c, const char *path, yaml_node_t *node, char **ret) {
        const char *s;
        if (!mctx_scalar(c, path, node, &s))
                return false;
        if (!ecl_stack_name_valid(s)) {
                _cleanup_free_ char *shown = mctx_excerpt(c, s);
                if (shown)
                        mctx_error_at(c, node, "a lowercase letter, then up to 30 lowercase letters, digits or '-'",
                                      "invalid stack name '%s'", shown);
                return false;
        }
        *ret = mctx_strdup(c, s);
        return *ret != NULL;
}

bool mctx_enum(struct mctx *c, const char *path, yaml_node_t *node, const char *const *names, size_t n,
               const char *hint, unsigned *ret) {
        const char *s;
        char list[256];
        size_t off = (size_t) snprintf(list, sizeof list, "one of: ");
        for (size_t i = 0; i < n && off < sizeof list; i++)
                off += (size_t) snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
        if (node->type != YAML_SCALAR_NODE || ecl_yaml_is_null(node)) {
                mctx_error_at(c, node, list, "'%s' must be a single value, got %s", path, ecl_yaml_kind(node));
                return false;
        }
        if (!mctx_scalar(c, path, node, &s))
                return false;
        int v = ecl_enum_from_name(names, n, s);
        if (v >= 0) {
                *ret = (unsigned) v;
                return true;
        }
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return false;
        mctx_error_at(c, node, hint ? hint : list, "invalid value '%s' for '%s'", shown, path);
        return false;
}

bool mctx_file_path(struct mctx *c, const char *path, yaml_node_t *node, char **ret) {
        _cleanup_free_ char *p = NULL;
        if (!mctx_string(c, path, node, 4095, &p))
                return false;
        _cleanup_free_ char *shown = mctx_excerpt(c, p);
        if (!shown)
                return false;
        if (p[0] != '/') {
                mctx_error_at(c, node, NULL, "'%s' must be an absolute path, got '%s'", path, shown);
                return false;
        }
        size_t len = strlen(p);
        if (p[len - 1] == '/') {
                mctx_error_at(c, node, NULL, "'%s' must name a file, got the directory '%s'", path, shown);
                return false;
        }
        if (strstr(p, "//")) {
                mctx_error_at(c, node, NULL, "'%s' must not contain '//', got '%s'", path, shown);
                return false;
        }
        for (const char *s = p; *s;) {
                s += strspn(s, "/");
                size_t n = strcspn(s, "/");
                if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
                        mctx_error_at(c, node, NULL, "'%s' must not contain '.' or '..' components, got '%s'", path,
                                      shown);
                        return false;
                }
                s += n;
        }
        *ret = TAKE_PTR(p);
        return true;
}

static bool pos_before(struct ecl_pos a, struct ecl_pos b) {
        return a.line < b.line || (a.line == b.line && a.col < b.col);
}

static void sort_diags(struct ecl_diags *diags, size_t from, bool keep_last) {
        size_t end = diags->n - (keep_last && diags->n > from ? 1 : 0);
        for (size_t i = from + 1; i < end; i++) {
                struct ecl_diag d = diags->items[i];
                size_t j = i;
                while (j > from && pos_before(d.pos, diags->items[j - 1].pos)) {
                        diags->items[j] = diags->items[j - 1];
                        j--;
                }
                diags->items[j] = d;
        }
}

int mctx_load(struct mctx *c, const char *buf, size_t len, size_t max_size, const struct ecl_yaml_limits *limits,
              const char *empty, yaml_node_t **ret_root) {
        c->first_diag = c->diags->n;
        c->doc->loaded = false;
        if (len > max_size) {
                if (ecl_diags_add(c->diags, c->file, (struct ecl_pos){0, 0}, NULL,
                                  "file too large (%zu bytes, at most %zu)", len, max_size) < 0)
                        return -ENOMEM;
                return -EFBIG;
        }
        int r = ecl_yaml_doc_load(c->doc, c->file, buf, len, limits, c->diags);
        if (r < 0) {
                struct ecl_diags *d = c->diags;
                sort_diags(d, c->first_diag, c->first_diag < d->n && streq(d->items[d->n - 1].what, TOO_MANY));
                return r;
        }
        *ret_root = ecl_yaml_root(c->doc);
        if (!*ret_root) {
                if (ecl_diags_add(c->diags, c->file, (struct ecl_pos){1, 1}, c->root_hint, "%s", empty) < 0)
                        return -ENOMEM;
                return -EBADMSG;
        }
        return 0;
}

int mctx_done(struct mctx *c) {
        sort_diags(c->diags, c->first_diag, c->gave_up);
        if (c->oom)
                return c->oom;
        if (c->n_errors > 0 || c->gave_up)
                return -EBADMSG;
        return 0;
}

bool mctx_check_format(struct mctx *c, yaml_node_t *root, const char *key, int64_t version, const char *what) {
        if (root->type != YAML_MAPPING_NODE)
                return true;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
                yaml_node_t *k = ecl_yaml_node(c->doc, p->key), *v = ecl_yaml_node(c->doc, p->value);
                if (!k || !v || k->type != YAML_SCALAR_NODE || !streq((const char *) k->data.scalar.value, key))
                        continue;
                int64_t n;
                if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                    ecl_parse_int((const char *) v->data.scalar.value, INT64_MIN, INT64_MAX, &n) < 0 || n == version)
                        return true; /* good, or wrong in a way the walk reports */
                char hint[64];
                snprintf(hint, sizeof hint, "this ecluse reads version %lld", (long long) version);
                mctx_error_at(c, v, hint, "unsupported %s %lld", what, (long long) n);
                return false;
        }
        return true;
}
