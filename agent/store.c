/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "fileio.h"
#include "macro.h"
#include "paths.h"
#include "reason.h"
#include "stack-name.h"
#include "store-internal.h"

#define AMBIGUOUS_SHOWN 4

void agent_store_free(struct agent_store *s) {
        if (!s)
                return;
        closep(&s->quarantine_fd);
        closep(&s->stacks_fd);
        free(s->root);
        free(s->quarantine);
        free(s->stacks);
        free(s);
}

/* dfd/name made (mode) or reused, no link followed; a new one fsync'd into dfd. */
int agent_store_subdir(int dfd, const char *name, mode_t mode, const char *where, int *ret_fd, char **ret_reason) {
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
        s->root = strdup(root ? root : "");
        if (!s->root || ecl_path(&s->quarantine, root, ECL_QUARANTINE_DIR) < 0 ||
            ecl_path(&s->stacks, root, ECL_STACKS_STATE_DIR) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_close_ int state_fd = -1;
        int r = ecl_mkdir_below(root, ECL_STATE_DIR, 0755, NULL, NULL, &state_fd, ret_reason);
        if (r < 0)
                return r;
        r = agent_store_subdir(state_fd, strrchr(ECL_QUARANTINE_DIR, '/') + 1, 0750, s->quarantine, &s->quarantine_fd,
                               ret_reason);
        if (r < 0)
                return r;
        r = agent_store_subdir(state_fd, strrchr(ECL_STACKS_STATE_DIR, '/') + 1, 0711, s->stacks, &s->stacks_fd,
                               ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

const char *agent_store_root(const struct agent_store *s) {
        return s->root;
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

int agent_store_import_commit(struct agent_store *s, const char *tmpname, const char *id, char **ret_reason) {
        if (!import_name_valid(tmpname))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not an import", tmpname ? tmpname : "(null)");
        if (!agent_store_id_valid(id))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not a bundle ID", id ? id : "(null)");
        _cleanup_close_ int fd = openat(s->quarantine_fd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s/%s", s->quarantine, tmpname);
        /* An entry is never without its record: a crash after the rename must find one. */
        struct agent_bundle_record rec = {};
        _cleanup_free_ char *why = NULL;
        int r = agent_record_read_at(fd, id, &rec, &why);
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
                        } else if (agent_store_id_valid(e->d_name)) {
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
                if (!agent_store_id_valid(e->d_name) || (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0))
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
        if (len < AGENT_BUNDLE_ID_MIN || len > AGENT_BUNDLE_ID_LEN || !agent_store_lower_hex(prefix, len))
                return ecl_reason(ret_reason, -EINVAL,
                                  "\"%.64s\" is not a bundle ID (%d to %d lowercase hex digits of its digest)", prefix,
                                  AGENT_BUNDLE_ID_MIN, AGENT_BUNDLE_ID_LEN);
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
        if (!agent_store_id_valid(id))
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
