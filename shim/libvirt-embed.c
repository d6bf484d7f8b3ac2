/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "libvirt-embed.h"
#include "log.h"
#include "reason.h"
#include "paths.h"
#include "secure-dir.h"
#include "stack-name.h"
#include "strparse.h"

/* dir/name = text, replaced atomically through the checked directory dir (never through a link). */
static int write_atomic_at(int dirfd, const char *dir, const char *name, const char *text, mode_t mode,
                           char **ret_reason) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp.%d", name, (int) getpid()) < 0)
                return -ENOMEM;
        (void) unlinkat(dirfd, tmp, 0); /* a leftover of a crash of this PID's namesake */
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot create %s/%s", dir, tmp);
        size_t len = strlen(text);
        ssize_t n = write(fd, text, len);
        int r = (n == (ssize_t) len && fchmod(fd, mode) == 0 && fsync(fd) == 0) ? 0
                : (n < 0 ? negative_errno() : -EIO);
        if (close(fd) < 0 && r == 0)
                r = negative_errno();
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return ecl_reason_errno(ret_reason, r, "cannot write %s/%s", dir, name);
        }
        return 0;
}

/* What libvirt made in the root before (lib/, run/, cache/, log/...): real directories, root's alone. */
static int check_entries(int dirfd, const char *dir, char **ret_reason) {
        int dup_fd = dup(dirfd);
        if (dup_fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", dir);
        DIR *d = fdopendir(dup_fd);
        if (!d) {
                close(dup_fd);
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", dir);
        }
        int r = 0;
        for (struct dirent *e; r == 0 && (e = readdir(d));) {
                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        r = ecl_reason_errno(ret_reason, negative_errno(), "cannot stat %s/%s", dir, e->d_name);
                else if (!shim_secure_dir_ok(&st))
                        r = ecl_reason(ret_reason, -EPERM,
                                       "%s/%s (owner uid %u, mode %04o) is not a directory of root's "
                                       "alone: the embedded root holds nothing else (remove it)",
                                       dir, e->d_name, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
        }
        closedir(d);
        return r;
}

int shim_embed_prepare(const char *root, const char *stack, char **ret_dir, char **ret_reason) {
        _cleanup_free_ char *dir = NULL, *etc = NULL, *rel = NULL;
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name for the embedded root");
        if (ecl_path(&dir, root, ECL_LIBVIRT_DIR "/%s", stack) < 0 || ecl_path(&etc, dir, "etc") < 0 ||
            asprintf(&rel, ECL_LIBVIRT_DIR "/%s", stack) < 0)
                return -ENOMEM;
        /* QEMU runs as its own user and must traverse to lib/qemu/domain-N (libvirt's, 0750):
         * the root is 0711; what leads to it 0755; etc/ 0700.  Nothing reused is anybody else's. */
        _cleanup_close_ int dfd = -1, efd = -1;
        int r = shim_secure_mkdir(root, rel, 0755, 0711, &dfd, ret_reason);
        if (r < 0)
                return r;
        r = check_entries(dfd, dir, ret_reason);
        if (r < 0)
                return r;
        r = shim_secure_mkdir(dir, "etc", 0700, 0700, &efd, ret_reason);
        if (r < 0)
                return r;
        r = write_atomic_at(efd, etc, "qemu.conf", SHIM_EMBED_QEMU_CONF, 0600, ret_reason);
        if (r < 0)
                return r;
        /* libvirt wants an absolute root; --root may be relative. */
        char *abs = realpath(dir, NULL);
        if (!abs)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot resolve %s", dir);
        *ret_dir = abs;
        return 0;
}

/* ---- short roots ------------------------------------------------------- */

int shim_embed_monitor_path(const char *embed_root, const char *dom_name, int id, char **ret) {
        /* virDomainDefGetShortName(): "%d-%.*s" with the name cut to 20 characters (ASCII names) */
        if (asprintf(ret, "%s/lib/qemu/domain-%d-%.*s/monitor.sock", embed_root, id, SHIM_EMBED_SHORT_NAME_MAX,
                     dom_name) < 0)
                return -ENOMEM;
        return 0;
}

int shim_embed_qemu_pid(const char *root, const char *stack, const char *dom_name, pid_t *ret) {
        _cleanup_free_ char *path = NULL;
        if (ecl_path(&path, root, ECL_LIBVIRT_DIR "/%s/run/qemu/%s.pid", stack, dom_name) < 0)
                return -ENOMEM;
        _cleanup_free_ char *buf = NULL;
        int r = ecl_file_read(path, 31, &buf, NULL, NULL);
        if (r < 0)
                return r;
        const char *end;
        int64_t v;
        if (ecl_parse_int_prefix(buf, 1, INT32_MAX, &v, &end) < 0 || (*end && *end != '\n'))
                return -EBADMSG;
        *ret = (pid_t) v;
        return 0;
}

size_t shim_embed_socket_path_max(const char *embed_root) {
        return strlen(embed_root) + SHIM_EMBED_SOCKET_TAIL_MAX;
}

int shim_embed_root_path(const char *alias_dir, const char *dir, char **ret_root, bool *ret_alias) {
        if (shim_embed_socket_path_max(dir) <= SHIM_UNIX_PATH_MAX) {
                *ret_alias = false;
                return (*ret_root = strdup(dir)) ? 0 : -ENOMEM;
        }
        unsigned char d[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *) dir, strlen(dir), d);
        char hex[2 * SHIM_EMBED_ALIAS_BYTES + 1];
        for (size_t i = 0; i < SHIM_EMBED_ALIAS_BYTES; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
        *ret_alias = true;
        return asprintf(ret_root, "%s/%s", alias_dir, hex) < 0 ? -ENOMEM : 0;
}

/* Aliases whose target is gone (a removed test root, a stack moved away): nobody can use them. */
static void alias_gc(int dirfd) {
        int dup_fd = dup(dirfd);
        DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
        if (!d) {
                if (dup_fd >= 0)
                        close(dup_fd);
                return;
        }
        for (struct dirent *e; (e = readdir(d));) {
                struct stat st;
                if (e->d_name[0] == '.' || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISLNK(st.st_mode))
                        continue;
                if (fstatat(dirfd, e->d_name, &st, 0) < 0 && errno == ENOENT)
                        (void) unlinkat(dirfd, e->d_name, 0);
        }
        closedir(d);
}

int shim_embed_root(const char *alias_base, const char *alias_rel, const char *dir, char **ret_root,
                    char **ret_reason) {
        _cleanup_free_ char *alias_dir = NULL, *path = NULL;
        if (ecl_path(&alias_dir, alias_base, "%s", alias_rel) < 0)
                return -ENOMEM;
        bool alias;
        if (shim_embed_root_path(alias_dir, dir, &path, &alias) < 0)
                return -ENOMEM;
        if (!alias) {
                *ret_root = TAKE_PTR(path);
                return 0;
        }
        _cleanup_close_ int afd = -1;
        _cleanup_free_ char *why = NULL;
        int r = shim_secure_mkdir(alias_base, alias_rel, 0755, (mode_t) -1, &afd, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r,
                                  "the embedded root %s is too long for libvirt's sockets, and its short "
                                  "alias cannot be made in %s: %s",
                                  dir, alias_dir, ecl_reason_text(why, r));
        alias_gc(afd);
        const char *name = strrchr(path, '/') + 1;
        char target[PATH_MAX];
        ssize_t n = readlinkat(afd, name, target, sizeof target - 1);
        if (n >= 0) {
                target[n] = '\0';
                if (streq(target, dir)) {
                        *ret_root = TAKE_PTR(path);
                        return 0;
                }
                return ecl_reason(ret_reason, -EEXIST,
                                  "%s names %s, not %s (two roots with one hash?): remove it if that "
                                  "root is not in use",
                                  path, target, dir);
        }
        if (errno != ENOENT)
                return ecl_reason(ret_reason, errno == EINVAL ? -EEXIST : negative_errno(),
                                  "%s exists and is not ecluse's alias of %s (remove it)", path, dir);
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, ".%s.%d", name, (int) getpid()) < 0)
                return -ENOMEM;
        (void) unlinkat(afd, tmp, 0);
        if (symlinkat(dir, afd, tmp) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot create %s/%s", alias_dir, tmp);
        /* RENAME_NOREPLACE semantics by hand: a concurrent creator of the same alias made the same link */
        if (renameat(afd, tmp, afd, name) < 0) {
                r = negative_errno();
                (void) unlinkat(afd, tmp, 0);
                return ecl_reason_errno(ret_reason, r, "cannot create %s", path);
        }
        log_debug("embedded root %s through %s (socket paths of at most %zu bytes)", dir, path,
                  shim_embed_socket_path_max(path));
        *ret_root = TAKE_PTR(path);
        return 0;
}

static bool unreserved(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~' || c == '/';
}

int shim_embed_uri(const char *dir, char **ret_uri) {
        static const char prefix[] = "qemu:///embed?root=";
        size_t n = strlen(dir);
        char *u = malloc(sizeof prefix + 3 * n);
        if (!u)
                return -ENOMEM;
        char *p = stpcpy(u, prefix);
        for (const unsigned char *s = (const unsigned char *) dir; *s; s++) {
                if (unreserved(*s))
                        *p++ = (char) *s;
                else
                        p += sprintf(p, "%%%02X", *s);
        }
        *p = '\0';
        *ret_uri = u;
        return 0;
}

bool shim_uri_is_embed(const char *uri) {
        return !uri || !*uri || strncmp(uri, "qemu:///embed", 13) == 0;
}

int shim_connect_uri(const char *root, const char *stack, const char *connect, char **ret_uri, bool *ret_embed,
                     char **ret_reason) {
        if (connect && *connect) {
                if (shim_uri_is_embed(connect))
                        return ecl_reason(ret_reason, -EINVAL,
                                          "--connect %s: the embedded driver is the default; its root follows --root",
                                          connect);
                char *u = strdup(connect);
                if (!u)
                        return -ENOMEM;
                *ret_uri = u;
                *ret_embed = false;
                return 0;
        }
        _cleanup_free_ char *dir = NULL, *eroot = NULL;
        int r = shim_embed_prepare(root, stack, &dir, ret_reason);
        if (r < 0)
                return r;
        r = shim_embed_root(SHIM_EMBED_ALIAS_BASE, SHIM_EMBED_ALIAS_REL, dir, &eroot, ret_reason);
        if (r < 0)
                return r;
        r = shim_embed_uri(eroot, ret_uri);
        if (r < 0)
                return -ENOMEM;
        *ret_embed = true;
        return 0;
}

static int reach_one(const char *path, const char *real, const char *user, uid_t uid, gid_t gid, const char *who,
                     char **ret_reason) {
        _cleanup_free_ char *problem = NULL;
        int r = shim_reach_check(path, user, uid, gid, who, &problem);
        if (r == -EACCES)
                return ecl_reason(ret_reason, -EACCES, "%s (it must reach %s%s%s)", ecl_reason_text(problem, r), path,
                                  real ? ", that is " : "", real ? real : "");
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(problem, r));
        return r;
}

int shim_embed_check_reach(const char *root, const struct ecl_manifest *m, uid_t uid, gid_t gid, char **ret_reason) {
        if (uid == (uid_t) -1 || uid == 0)
                return 0;
        struct passwd pw, *res = NULL;
        char buf[1024];
        const char *user = getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res ? res->pw_name : NULL;
        _cleanup_free_ char *who = NULL, *dir = NULL, *real = NULL, *alias_dir = NULL, *eroot = NULL;
        if ((user ? asprintf(&who, "QEMU runs as %s", user) : asprintf(&who, "QEMU runs as uid %u", (unsigned) uid)) < 0)
                return -ENOMEM;
        if (ecl_path(&dir, root, ECL_LIBVIRT_DIR "/%s", m->stack) < 0 ||
            ecl_path(&alias_dir, SHIM_EMBED_ALIAS_BASE, "%s", SHIM_EMBED_ALIAS_REL) < 0)
                return -ENOMEM;
        real = realpath(dir, NULL);
        bool alias;
        if (!real || shim_embed_root_path(alias_dir, real, &eroot, &alias) < 0)
                return real ? -ENOMEM : ecl_reason_errno(ret_reason, negative_errno(), "cannot resolve %s", dir);
        int r = reach_one(eroot, alias ? real : NULL, user, uid, gid, who, ret_reason);
        if (r < 0)
                return r;
        const char *files[] = {m->vm.kernel, m->vm.initrd};
        for (size_t i = 0; i < ELEMENTSOF(files) + m->vm.n_disks; i++) {
                const char *f = i < ELEMENTSOF(files) ? files[i] : m->vm.disks[i - ELEMENTSOF(files)].path;
                _cleanup_free_ char *p = NULL;
                if (!f)
                        continue;
                if (ecl_path(&p, root, "%s", f) < 0)
                        return -ENOMEM;
                r = reach_one(p, NULL, user, uid, gid, who, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}
