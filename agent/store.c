/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle-meta.h"
#include "durable.h"
#include "fileio.h"
#include "macro.h"
#include "paths.h"
#include "reason.h"
#include "stack-name.h"
#include "store.h"
#include "strutil.h"

#define RELEASES_PREFIX "releases/"
#define PHASE_MAX 32
#define AMBIGUOUS_SHOWN 4

struct agent_store {
        int quarantine_fd;
        int stacks_fd;
        char *quarantine; /* the paths, for reasons */
        char *stacks;
};

static const char *const state_names[] = {
        [AGENT_BUNDLE_QUARANTINED] = "quarantined", [AGENT_BUNDLE_APPROVED] = "approved",
        [AGENT_BUNDLE_APPLYING] = "applying",       [AGENT_BUNDLE_APPLIED] = "applied",
        [AGENT_BUNDLE_ROLLED_BACK] = "rolled-back", [AGENT_BUNDLE_REJECTED] = "rejected",
        [AGENT_BUNDLE_EXPIRED] = "expired",         [AGENT_BUNDLE_SUPERSEDED] = "superseded",
        [AGENT_BUNDLE_DAMAGED] = "damaged",
};

static const char *const op_names[] = {
        [AGENT_OP_NONE] = "none",
        [AGENT_OP_APPLY] = "apply",
        [AGENT_OP_ROLLBACK] = "rollback",
};

const char *agent_bundle_state_to_string(enum agent_bundle_state s) {
        return ECL_ENUM_NAME(state_names, s);
}

/* ---- what the values may be --------------------------------------------- */

static bool lower_hex(const char *s, size_t n) {
        return strspn(s, "0123456789abcdef") == n && s[n] == '\0';
}

static bool id_valid(const char *s) {
        return s && strlen(s) == AGENT_BUNDLE_ID_LEN && lower_hex(s, AGENT_BUNDLE_ID_LEN);
}

static bool digest_valid(const char *s) {
        return strlen(s) == 64 && lower_hex(s, 64);
}

/*
 * Dotted numbers: the syntax of bundle.yaml's version (bundle-meta.h) as far
 * as it is needed to trust a stored text as a directory name and a version;
 * agent_version_parse() can take its place when it is there.
 */
static bool version_valid(const char *s) {
        size_t n = strlen(s), parts = 0;
        if (n == 0 || n > AGENT_VERSION_TEXT_MAX)
                return false;
        for (const char *p = s;; p++) {
                size_t d = strspn(p, "0123456789");
                if (d == 0 || (d > 1 && p[0] == '0') || ++parts > AGENT_VERSION_PARTS)
                        return false;
                p += d;
                if (*p == '\0')
                        return true;
                if (*p != '.')
                        return false;
        }
}

static bool phase_valid(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= PHASE_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz-") == n;
}

static bool reason_valid(const char *s) {
        return !ecl_str_has_control(s, strlen(s));
}

/* ---- strict JSON -------------------------------------------------------- */

/* o is an object with exactly the keys keys[0..n). */
static int check_keys(json_t *o, const char *const *keys, size_t n, const char *what, char **ret_reason) {
        if (!json_is_object(o))
                return ecl_reason(ret_reason, -EBADMSG, "%s: not a JSON object", what);
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
                size_t i = 0;
                while (i < n && !streq(keys[i], k))
                        i++;
                if (i == n)
                        return ecl_reason(ret_reason, -EBADMSG, "%s: unknown key \"%.64s\"", what, k);
        }
        for (size_t i = 0; i < n; i++)
                if (!json_object_get(o, keys[i]))
                        return ecl_reason(ret_reason, -EBADMSG, "%s: no \"%s\"", what, keys[i]);
        return 0;
}

/* o[key], a string valid() accepts (or null when nullable: *ret NULL); *ret is a copy. */
static int get_string(json_t *o, const char *key, bool nullable, bool (*valid)(const char *), char **ret,
                      const char *what, char **ret_reason) {
        json_t *v = json_object_get(o, key);
        if (nullable && json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not a string%s", what, key,
                                  nullable ? " or null" : "");
        if (valid && !valid(json_string_value(v)))
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not valid: \"%.64s\"", what, key,
                                  json_string_value(v));
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : ecl_reason(ret_reason, -ENOMEM, "out of memory");
}

/* get_string() into a fixed buffer of size bytes. */
static int get_fixed(json_t *o, const char *key, bool (*valid)(const char *), char *buf, size_t size,
                     const char *what, char **ret_reason) {
        _cleanup_free_ char *s = NULL;
        int r = get_string(o, key, false, valid, &s, what, ret_reason);
        if (r < 0)
                return r;
        assert(strlen(s) < size);
        memcpy(buf, s, strlen(s) + 1);
        return 0;
}

static int get_time(json_t *o, const char *key, uint64_t *ret, const char *what, char **ret_reason) {
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not a time (seconds since the epoch)", what,
                                  key);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int get_enum(json_t *o, const char *key, const char *const *names, size_t n, int *ret, const char *what,
                    char **ret_reason) {
        json_t *v = json_object_get(o, key);
        int e = json_is_string(v) ? ecl_enum_from_name(names, n, json_string_value(v)) : -EINVAL;
        if (e < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not one of its names", what, key);
        *ret = e;
        return 0;
}

/* Parse buf as a JSON document; *ret the object. */
static int load(const char *buf, size_t len, json_t **ret, const char *what, char **ret_reason) {
        json_error_t err;
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                return ecl_reason(ret_reason, -EBADMSG, "%s: not JSON: %s (line %d)", what, err.text, err.line);
        *ret = j;
        return 0;
}

/* Write j to dirfd/name atomically, indented, with a final newline. */
static int store_json(int dirfd, const char *name, json_t *j, const char *what, char **ret_reason) {
        _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t n = strlen(text);
        char *t = realloc(text, n + 2);
        if (!t)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        text = t;
        memcpy(text + n, "\n", 2);
        if (n + 1 > AGENT_STORE_FILE_MAX)
                return ecl_reason(ret_reason, -EINVAL, "%s: too large to store (%zu bytes)", what, n + 1);
        _cleanup_free_ char *why = NULL;
        int r = ecl_write_atomic_at(dirfd, name, text, n + 1, 0600, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", what, ecl_reason_text(why, r));
        return 0;
}

/* Read dirfd/name (fileio.h: no link, a regular file, capped) and parse it. */
static int read_json(int dirfd, const char *name, json_t **ret, const char *what, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len;
        int r = ecl_file_open_at(dirfd, name, AGENT_STORE_FILE_MAX, &fd, NULL, &why);
        if (r >= 0)
                r = ecl_file_read_fd(fd, AGENT_STORE_FILE_MAX, &buf, &len, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", what, ecl_reason_text(why, r));
        return load(buf, len, ret, what, ret_reason);
}

/* ---- the store ---------------------------------------------------------- */

void agent_store_free(struct agent_store *s) {
        if (!s)
                return;
        closep(&s->quarantine_fd);
        closep(&s->stacks_fd);
        free(s->quarantine);
        free(s->stacks);
        free(s);
}

/* dfd/name made (mode) or reused, no link followed; a new one fsync'd into dfd. */
static int subdir(int dfd, const char *name, mode_t mode, const char *where, int *ret_fd, char **ret_reason) {
        bool created;
        int fd = ecl_mkdirat_nofollow(dfd, name, mode, where, &created, ret_reason);
        if (fd < 0)
                return fd;
        if (created && fsync(dfd) < 0) {
                int r = negative_errno();
                close(fd);
                return ecl_reason_errno(ret_reason, r, "cannot fsync the directory above %s", where);
        }
        *ret_fd = fd;
        return 0;
}

int agent_store_open(const char *root, struct agent_store **ret, char **ret_reason) {
        _cleanup_(agent_store_freep) struct agent_store *s = calloc(1, sizeof *s);
        if (!s)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        s->quarantine_fd = s->stacks_fd = -1;
        if (ecl_path(&s->quarantine, root, ECL_QUARANTINE_DIR) < 0 || ecl_path(&s->stacks, root, ECL_STACKS_STATE_DIR) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_close_ int state_fd = -1;
        int r = ecl_mkdir_below(root, ECL_STATE_DIR, 0755, NULL, NULL, &state_fd, ret_reason);
        if (r < 0)
                return r;
        r = subdir(state_fd, strrchr(ECL_QUARANTINE_DIR, '/') + 1, 0750, s->quarantine, &s->quarantine_fd, ret_reason);
        if (r < 0)
                return r;
        r = subdir(state_fd, strrchr(ECL_STACKS_STATE_DIR, '/') + 1, 0711, s->stacks, &s->stacks_fd, ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int agent_store_lock(struct agent_store *s, bool wait, char **ret_reason) {
        while (flock(s->quarantine_fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno == EWOULDBLOCK)
                        return ecl_reason(ret_reason, -EBUSY, "another ecluse-agent is changing %s", s->quarantine);
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot lock %s", s->quarantine);
        }
        return 0;
}

void agent_store_unlock(struct agent_store *s) {
        (void) flock(s->quarantine_fd, LOCK_UN);
}

/* A DIR * of dirfd that leaves dirfd open. */
static DIR *dir_of(int dirfd) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        if (!d && fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return d;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static bool import_name_valid(const char *s) {
        return s && strncmp(s, AGENT_IMPORT_PREFIX, strlen(AGENT_IMPORT_PREFIX)) == 0 && !strchr(s, '/') &&
               s[strlen(AGENT_IMPORT_PREFIX)] != '\0';
}

int agent_store_import_begin(struct agent_store *s, int *ret_dirfd, char **ret_tmpname, char **ret_reason) {
        char name[sizeof AGENT_IMPORT_PREFIX + ECL_TEMP_SUFFIX_LEN];
        for (unsigned attempt = 0;; attempt++) {
                char suffix[ECL_TEMP_SUFFIX_LEN + 1];
                ecl_temp_suffix(suffix);
                snprintf(name, sizeof name, AGENT_IMPORT_PREFIX "%s", suffix);
                if (mkdirat(s->quarantine_fd, name, 0700) == 0)
                        break;
                if (errno != EEXIST || attempt >= 100)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot create an import in %s",
                                                s->quarantine);
        }
        _cleanup_free_ char *copy = strdup(name);
        int fd = openat(s->quarantine_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || !copy) {
                int r = fd < 0 ? negative_errno() : -ENOMEM;
                if (fd >= 0)
                        close(fd);
                (void) unlinkat(s->quarantine_fd, name, AT_REMOVEDIR);
                return ecl_reason_errno(ret_reason, r, "cannot open %s/%s", s->quarantine, name);
        }
        *ret_dirfd = fd;
        *ret_tmpname = TAKE_PTR(copy);
        return 0;
}

static int record_read_at(int dirfd, const char *id, struct agent_bundle_record *ret, char **ret_reason);

int agent_store_import_commit(struct agent_store *s, const char *tmpname, const char *id, char **ret_reason) {
        if (!import_name_valid(tmpname))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not an import", tmpname ? tmpname : "(null)");
        if (!id_valid(id))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not a bundle ID", id ? id : "(null)");
        _cleanup_close_ int fd = openat(s->quarantine_fd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s/%s", s->quarantine, tmpname);
        /* An entry is never without its record: a crash after the rename must find one. */
        struct agent_bundle_record rec = {};
        _cleanup_free_ char *why = NULL;
        int r = record_read_at(fd, id, &rec, &why);
        agent_record_clear(&rec);
        if (r < 0)
                return ecl_reason(ret_reason, -EINVAL, "%s/%s holds no record of %s: %s", s->quarantine, tmpname, id,
                                  ecl_reason_text(why, r));
        r = ecl_fsync_tree_at(s->quarantine_fd, tmpname, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", s->quarantine, ecl_reason_text(why, r));
        r = renameat2(s->quarantine_fd, tmpname, s->quarantine_fd, id, RENAME_NOREPLACE) < 0 ? negative_errno() : 0;
        if (r == -EINVAL || r == -ENOSYS) /* no RENAME_NOREPLACE here: a directory is not renamed over a full one */
                r = renameat(s->quarantine_fd, tmpname, s->quarantine_fd, id) < 0 ? negative_errno() : 0;
        if (r == -EEXIST || r == -ENOTEMPTY) {
                (void) ecl_rm_rf_at(s->quarantine_fd, tmpname, NULL);
                return ecl_reason(ret_reason, -EEXIST, "bundle %s already imported (%s/%s)", id, s->quarantine, id);
        }
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot rename %s/%s to %s", s->quarantine, tmpname, id);
        if (fsync(s->quarantine_fd) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot fsync %s", s->quarantine);
        return 0;
}

int agent_store_import_abort(struct agent_store *s, const char *tmpname) {
        if (!import_name_valid(tmpname))
                return -EINVAL;
        return ecl_rm_rf_at(s->quarantine_fd, tmpname, NULL);
}

/* The temporary files of atomic writes in dfd/name and its immediate subdirectories. */
static int remove_temps(int dfd, const char *name, bool subdirs, const char *where, char **ret_reason) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0; /* not a directory: an entry agent_store_list() shows damaged */
        _cleanup_free_ char *why = NULL;
        int n = ecl_atomic_temps_remove_at(fd, &why);
        if (n < 0)
                return ecl_reason(ret_reason, n, "%s/%s: %s", where, name, ecl_reason_text(why, n));
        if (!subdirs)
                return n;
        _cleanup_free_ char *sub = NULL;
        if (asprintf(&sub, "%s/%s", where, name) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_(closedirp) DIR *d = dir_of(fd);
        if (!d)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", sub);
        for (struct dirent *e; (e = readdir(d));) {
                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                int r = remove_temps(fd, e->d_name, false, sub, ret_reason);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}

int agent_store_recover(struct agent_store *s, char **ret_reason) {
        int n = 0, r;
        {
                _cleanup_(closedirp) DIR *d = dir_of(s->quarantine_fd);
                if (!d)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", s->quarantine);
                for (struct dirent *e; (e = readdir(d));) {
                        if (strncmp(e->d_name, AGENT_IMPORT_PREFIX, strlen(AGENT_IMPORT_PREFIX)) == 0) {
                                _cleanup_free_ char *why = NULL;
                                r = ecl_rm_rf_at(s->quarantine_fd, e->d_name, &why);
                                if (r < 0)
                                        return ecl_reason(ret_reason, r, "%s: %s", s->quarantine,
                                                          ecl_reason_text(why, r));
                                n++;
                        } else if (id_valid(e->d_name)) {
                                r = remove_temps(s->quarantine_fd, e->d_name, true, s->quarantine, ret_reason);
                                if (r < 0)
                                        return r;
                                n += r;
                        }
                }
        }
        _cleanup_free_ char *why = NULL;
        r = ecl_atomic_temps_remove_at(s->quarantine_fd, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", s->quarantine, ecl_reason_text(why, r));
        n += r;
        _cleanup_(closedirp) DIR *d = dir_of(s->stacks_fd);
        if (!d)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", s->stacks);
        for (struct dirent *e; (e = readdir(d));) {
                if (!ecl_stack_name_valid(e->d_name))
                        continue;
                r = remove_temps(s->stacks_fd, e->d_name, false, s->stacks, ret_reason);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}

/* ---- IDs ----------------------------------------------------------------- */

typedef char bundle_id[AGENT_BUNDLE_ID_LEN + 1];

static int id_cmp(const void *a, const void *b) {
        return strcmp(a, b);
}

/* The names in quarantine/ that are IDs (whatever they are: one that is no directory is a damaged entry), sorted. */
static int list_ids(struct agent_store *s, const char *prefix, bundle_id **ret, size_t *ret_n, char **ret_reason) {
        _cleanup_(closedirp) DIR *d = dir_of(s->quarantine_fd);
        if (!d)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", s->quarantine);
        _cleanup_free_ bundle_id *v = NULL;
        size_t n = 0, cap = 0;
        for (struct dirent *e; (errno = 0, e = readdir(d));) {
                if (!id_valid(e->d_name) || (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0))
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        bundle_id *nv = reallocarray(v, cap, sizeof *v);
                        if (!nv)
                                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                        v = nv;
                }
                memcpy(v[n++], e->d_name, sizeof *v);
        }
        if (errno != 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", s->quarantine);
        if (n > 0)
                qsort(v, n, sizeof *v, id_cmp);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int agent_store_resolve(struct agent_store *s, const char *prefix, char ret_id[static AGENT_BUNDLE_ID_LEN + 1],
                        char **ret_reason) {
        size_t len = strlen(prefix);
        if (len < AGENT_BUNDLE_ID_MIN || len > AGENT_BUNDLE_ID_LEN || !lower_hex(prefix, len))
                return ecl_reason(ret_reason, -EINVAL,
                                  "\"%.64s\" is not a bundle ID (%d to %d lowercase hex digits of its digest)",
                                  prefix, AGENT_BUNDLE_ID_MIN, AGENT_BUNDLE_ID_LEN);
        _cleanup_free_ bundle_id *v = NULL;
        size_t n;
        int r = list_ids(s, prefix, &v, &n, ret_reason);
        if (r < 0)
                return r;
        if (n == 0)
                return ecl_reason(ret_reason, -ENOENT, "no bundle ID %s in %s", prefix, s->quarantine);
        if (n > 1) {
                char list[AMBIGUOUS_SHOWN * (AGENT_BUNDLE_ID_LEN + 2) + 1] = "";
                for (size_t i = 0; i < n && i < AMBIGUOUS_SHOWN; i++)
                        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", v[i]);
                if (n > AMBIGUOUS_SHOWN)
                        return ecl_reason(ret_reason, -ENOTUNIQ, "ID %s is ambiguous: %s and %zu more", prefix, list,
                                          n - AMBIGUOUS_SHOWN);
                return ecl_reason(ret_reason, -ENOTUNIQ, "ID %s is ambiguous: %s", prefix, list);
        }
        memcpy(ret_id, v[0], sizeof *v);
        return 0;
}

int agent_store_open_entry(struct agent_store *s, const char *id, int *ret_dirfd, char **ret_reason) {
        if (!id_valid(id))
                return ecl_reason(ret_reason, -EINVAL, "\"%.64s\" is not a bundle ID", id ? id : "(null)");
        int fd = openat(s->quarantine_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                *ret_dirfd = fd;
                return 0;
        }
        int r = negative_errno();
        struct stat st;
        if (r == -ENOENT)
                return ecl_reason(ret_reason, r, "no bundle ID %s in %s", id, s->quarantine);
        if ((r == -ENOTDIR || r == -ELOOP) && fstatat(s->quarantine_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return ecl_reason(ret_reason, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR,
                                  "%s/%s is %s, not a bundle's directory", s->quarantine, id,
                                  S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
        return ecl_reason_errno(ret_reason, r, "cannot open %s/%s", s->quarantine, id);
}

/* ---- records ------------------------------------------------------------- */

static const char *const record_keys[] = {
        "id", "digest", "stack", "version", "state", "downgrade", "imported", "expires", "approval-expires",
        "changed", "reason",
};

void agent_record_clear(struct agent_bundle_record *r) {
        free(r->stack);
        free(r->version);
        free(r->reason);
        *r = (struct agent_bundle_record) {};
}

void agent_record_list_free(struct agent_bundle_record *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                agent_record_clear(&v[i]);
        free(v);
}

static int record_parse(json_t *o, const char *id, struct agent_bundle_record *ret, const char *what,
                        char **ret_reason) {
        struct agent_bundle_record rec = {};
        int state = 0, r = check_keys(o, record_keys, ELEMENTSOF(record_keys), what, ret_reason);
        json_t *down = json_object_get(o, "downgrade");
        if (r >= 0)
                r = get_fixed(o, "id", id_valid, rec.id, sizeof rec.id, what, ret_reason);
        if (r >= 0)
                r = get_fixed(o, "digest", digest_valid, rec.digest, sizeof rec.digest, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "stack", false, ecl_stack_name_valid, &rec.stack, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "version", false, version_valid, &rec.version, what, ret_reason);
        if (r >= 0)
                r = get_enum(o, "state", state_names, ELEMENTSOF(state_names), &state, what, ret_reason);
        if (r >= 0 && state == AGENT_BUNDLE_DAMAGED)
                r = ecl_reason(ret_reason, -EBADMSG, "%s: \"state\" is not one of its names", what);
        if (r >= 0 && !json_is_boolean(down))
                r = ecl_reason(ret_reason, -EBADMSG, "%s: \"downgrade\" is not true or false", what);
        if (r >= 0)
                r = get_time(o, "imported", &rec.imported, what, ret_reason);
        if (r >= 0)
                r = get_time(o, "expires", &rec.expires, what, ret_reason);
        if (r >= 0)
                r = get_time(o, "approval-expires", &rec.approval_expires, what, ret_reason);
        if (r >= 0)
                r = get_time(o, "changed", &rec.changed, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "reason", true, reason_valid, &rec.reason, what, ret_reason);
        if (r >= 0 && (!streq(rec.id, id) || strncmp(rec.digest, id, AGENT_BUNDLE_ID_LEN) != 0))
                r = ecl_reason(ret_reason, -EBADMSG, "%s: the record of bundle %s (digest %s)", what, rec.id,
                               rec.digest);
        if (r < 0) {
                agent_record_clear(&rec);
                return r;
        }
        rec.state = state;
        rec.downgrade = json_is_true(down);
        *ret = rec;
        return 0;
}

static int record_read_at(int dirfd, const char *id, struct agent_bundle_record *ret, char **ret_reason) {
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "record of bundle %s", id) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        json_auto_t *o = NULL;
        int r = read_json(dirfd, AGENT_RECORD_FILE, &o, what, ret_reason);
        if (r < 0)
                return r;
        return record_parse(o, id, ret, what, ret_reason);
}

int agent_record_read(struct agent_store *s, const char *id, struct agent_bundle_record *ret, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        int r = agent_store_open_entry(s, id, &fd, ret_reason);
        if (r < 0)
                return r;
        return record_read_at(fd, id, ret, ret_reason);
}

#define TIME_OK(t) ((t) <= (uint64_t) INT64_MAX)

int agent_record_write_at(int dirfd, const struct agent_bundle_record *rec, char **ret_reason) {
        const char *state = agent_bundle_state_to_string(rec->state);
        if (!id_valid(rec->id) || !digest_valid(rec->digest) || strncmp(rec->digest, rec->id, AGENT_BUNDLE_ID_LEN) != 0)
                return ecl_reason(ret_reason, -EINVAL, "a record needs an ID and the digest it starts");
        if (!rec->stack || !ecl_stack_name_valid(rec->stack) || !rec->version || !version_valid(rec->version) ||
            !state || rec->state == AGENT_BUNDLE_DAMAGED || (rec->reason && !reason_valid(rec->reason)) ||
            !TIME_OK(rec->imported) || !TIME_OK(rec->expires) || !TIME_OK(rec->approval_expires) ||
            !TIME_OK(rec->changed))
                return ecl_reason(ret_reason, -EINVAL, "the record of bundle %s cannot be written as it is", rec->id);
        json_auto_t *o =
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:s?}", "id", rec->id, "digest",
                          rec->digest, "stack", rec->stack, "version", rec->version, "state", state, "downgrade",
                          (int) rec->downgrade, "imported", (json_int_t) rec->imported, "expires",
                          (json_int_t) rec->expires, "approval-expires", (json_int_t) rec->approval_expires,
                          "changed", (json_int_t) rec->changed, "reason", rec->reason);
        if (!o)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "record of bundle %s", rec->id) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return store_json(dirfd, AGENT_RECORD_FILE, o, what, ret_reason);
}

int agent_record_write(struct agent_store *s, const struct agent_bundle_record *rec, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        int r = agent_store_open_entry(s, rec->id, &fd, ret_reason);
        if (r < 0)
                return r;
        return agent_record_write_at(fd, rec, ret_reason);
}

static int record_order(const void *a, const void *b) {
        const struct agent_bundle_record *x = a, *y = b;
        if (x->imported != y->imported)
                return x->imported < y->imported ? -1 : 1;
        return strcmp(x->id, y->id);
}

int agent_store_list(struct agent_store *s, struct agent_bundle_record **ret, size_t *ret_n, char **ret_reason) {
        _cleanup_free_ bundle_id *ids = NULL;
        size_t n;
        int r = list_ids(s, NULL, &ids, &n, ret_reason);
        if (r < 0)
                return r;
        struct agent_bundle_record *v = calloc(n ? n : 1, sizeof *v);
        if (!v)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *why = NULL;
                r = agent_record_read(s, ids[i], &v[i], &why);
                if (r == -ENOMEM) {
                        agent_record_list_free(v, n);
                        return ecl_reason(ret_reason, r, "out of memory");
                }
                if (r < 0) {
                        memcpy(v[i].id, ids[i], sizeof ids[i]);
                        v[i].state = AGENT_BUNDLE_DAMAGED;
                        v[i].reason = TAKE_PTR(why);
                        if (!v[i].reason && asprintf(&v[i].reason, "%s", strerror(-r)) < 0)
                                v[i].reason = NULL;
                }
        }
        if (n > 0)
                qsort(v, n, sizeof *v, record_order);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- stacks -------------------------------------------------------------- */

static const char *const state_keys[] = {
        "floor", "running", "previous", "op", "op-bundle", "op-from", "op-to", "op-phase", "op-started",
};

void agent_stack_state_clear(struct agent_stack_state *st) {
        free(st->floor);
        free(st->running);
        free(st->previous);
        free(st->op_bundle);
        free(st->op_from);
        free(st->op_to);
        free(st->op_phase);
        *st = (struct agent_stack_state) {};
}

static bool op_fields_valid(const struct agent_stack_state *st) {
        if (st->op == AGENT_OP_NONE)
                return !st->op_bundle && !st->op_from && !st->op_to && !st->op_phase && st->op_started == 0;
        return st->op_phase != NULL;
}

static int stack_state_parse(json_t *o, struct agent_stack_state *ret, const char *what, char **ret_reason) {
        struct agent_stack_state st = {};
        int op = 0, r = check_keys(o, state_keys, ELEMENTSOF(state_keys), what, ret_reason);
        if (r >= 0)
                r = get_string(o, "floor", true, version_valid, &st.floor, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "running", true, version_valid, &st.running, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "previous", true, version_valid, &st.previous, what, ret_reason);
        if (r >= 0)
                r = get_enum(o, "op", op_names, ELEMENTSOF(op_names), &op, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "op-bundle", true, id_valid, &st.op_bundle, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "op-from", true, version_valid, &st.op_from, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "op-to", true, version_valid, &st.op_to, what, ret_reason);
        if (r >= 0)
                r = get_string(o, "op-phase", true, phase_valid, &st.op_phase, what, ret_reason);
        if (r >= 0)
                r = get_time(o, "op-started", &st.op_started, what, ret_reason);
        st.op = op;
        if (r >= 0 && !op_fields_valid(&st))
                r = ecl_reason(ret_reason, -EBADMSG, "%s: %s", what,
                               op == AGENT_OP_NONE ? "no operation, but \"op-\" values" : "an operation without a phase");
        if (r < 0) {
                agent_stack_state_clear(&st);
                return r;
        }
        *ret = st;
        return 0;
}

/* The first release, placed by hand: stacks/STACK/current -> releases/VERSION. */
static int adopt(int stack_fd, const char *where, struct agent_stack_state *ret, char **ret_reason) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(stack_fd, "current", target, sizeof target - 1);
        if (n < 0 && errno == ENOENT)
                return 0;
        if (n < 0 && errno == EINVAL)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s/current is not a link to releases/VERSION: its version cannot be adopted "
                                  "(move it to releases/VERSION and link current to it)",
                                  where);
        if (n < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s/current", where);
        target[n] = '\0';
        const char *version = target + strlen(RELEASES_PREFIX);
        if ((size_t) n == sizeof target - 1 || strncmp(target, RELEASES_PREFIX, strlen(RELEASES_PREFIX)) != 0 ||
            strchr(version, '/') || !*version || streq(version, ".") || streq(version, ".."))
                return ecl_reason(ret_reason, -EXDEV, "%s/current points to '%.128s', not to releases/VERSION", where,
                                  target);
        if (!version_valid(version))
                return ecl_reason(ret_reason, -EBADMSG, "%s/current points to '%.128s', but '%.96s' is not a version",
                                  where, target, version);
        _cleanup_close_ int rel = openat(stack_fd, "releases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int fd = rel < 0 ? -1 : openat(rel, version, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int r = negative_errno();
                return ecl_reason(ret_reason, r == -ENOTDIR ? -ELOOP : r,
                                  "%s/current points to '%s', which %s", where, target,
                                  r == -ENOENT ? "does not exist"
                                  : r == -ENOTDIR || r == -ELOOP ? "is not a directory (or a link, refused)"
                                                                : strerror(-r));
        }
        ret->floor = strdup(version);
        ret->running = strdup(version);
        if (!ret->floor || !ret->running) {
                agent_stack_state_clear(ret);
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        return 0;
}

int agent_stack_state_read(struct agent_store *s, const char *stack, struct agent_stack_state *ret,
                           char **ret_reason) {
        *ret = (struct agent_stack_state) {};
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "\"%.64s\" is not a stack name", stack);
        _cleanup_free_ char *where = NULL;
        if (asprintf(&where, "%s/%s", s->stacks, stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_close_ int fd = openat(s->stacks_fd, stack, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return ecl_reason_errno(ret_reason, errno == ENOTDIR ? -ELOOP : negative_errno(),
                                        "cannot open %s (a link or not a directory?)", where);
        struct stat st;
        if (fstatat(fd, AGENT_STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                return adopt(fd, where, ret, ret_reason);
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "%s/" AGENT_STATE_FILE, where) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        json_auto_t *o = NULL;
        int r = read_json(fd, AGENT_STATE_FILE, &o, what, ret_reason);
        if (r < 0)
                return r;
        return stack_state_parse(o, ret, what, ret_reason);
}

static bool optional(const char *s, bool (*valid)(const char *)) {
        return !s || valid(s);
}

int agent_stack_state_write(struct agent_store *s, const char *stack, const struct agent_stack_state *st,
                            char **ret_reason) {
        const char *op = ECL_ENUM_NAME(op_names, st->op);
        if (!op || !optional(st->floor, version_valid) || !optional(st->running, version_valid) ||
            !optional(st->previous, version_valid) || !optional(st->op_bundle, id_valid) ||
            !optional(st->op_from, version_valid) || !optional(st->op_to, version_valid) ||
            !optional(st->op_phase, phase_valid) || !op_fields_valid(st) || !TIME_OK(st->op_started))
                return ecl_reason(ret_reason, -EINVAL, "the state of stack %.64s cannot be written as it is", stack);
        _cleanup_close_ int fd = -1;
        int r = agent_store_stack_dir(s, stack, &fd, ret_reason);
        if (r < 0)
                return r;
        json_auto_t *o =
                json_pack("{s:s?, s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:I}", "floor", st->floor, "running",
                          st->running, "previous", st->previous, "op", op, "op-bundle", st->op_bundle, "op-from",
                          st->op_from, "op-to", st->op_to, "op-phase", st->op_phase, "op-started",
                          (json_int_t) st->op_started);
        if (!o)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "%s/%s/" AGENT_STATE_FILE, s->stacks, stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return store_json(fd, AGENT_STATE_FILE, o, what, ret_reason);
}

int agent_store_stack_dir(struct agent_store *s, const char *stack, int *ret_dirfd, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "\"%.64s\" is not a stack name", stack);
        _cleanup_free_ char *where = NULL;
        if (asprintf(&where, "%s/%s", s->stacks, stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return subdir(s->stacks_fd, stack, 0711, where, ret_dirfd, ret_reason);
}
