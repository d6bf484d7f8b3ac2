/* SPDX-License-Identifier: Apache-2.0 */
/* A stack's releases: staging, verifying, switching current, recovering (release.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "reason.h"
#include "release.h"
#include "strutil.h"

#define RM_RF_DEPTH_MAX 32
#define COPY_CHUNK (1024 * 1024 * 1024) /* bytes per copy_file_range() call */
#define COPY_BLOCK (1024 * 1024)        /* bytes per read()/write() when it cannot be used */

#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static bool name_valid(const char *s) {
        size_t len = strlen(s);
        return len > 0 && len <= AGENT_RELEASE_NAME_MAX && s[0] != '.' && !strchr(s, '/') &&
               !ecl_str_has_control(s, len);
}

static int check_name(const char *s, const char *what, char **ret_reason) {
        if (!name_valid(s))
                return ecl_reason(ret_reason, -EINVAL,
                                  "%s \"%s\" is not a plain file name (empty, a '/', a leading '.', a control "
                                  "character, or over %d bytes)",
                                  what, s, AGENT_RELEASE_NAME_MAX);
        return 0;
}

/* Each install name plain, none twice. */
static int check_files(const struct agent_bundle_file *files, size_t n, char **ret_reason) {
        for (size_t i = 0; i < n; i++) {
                int r = check_name(files[i].install, "install name", ret_reason);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq(files[i].install, files[j].install))
                                return ecl_reason(ret_reason, -EINVAL, "install name %s twice", files[i].install);
        }
        return 0;
}

/*
 * The primitives below are what common/base/durable.h (ecl_fsync_dir_at,
 * ecl_rm_rf_at) will provide; they move there when both land.
 */

/* fsync a descriptor, EINTR retried. */
static int fsync_fd(int fd) {
        while (fsync(fd) < 0) {
                if (errno != EINTR)
                        return negative_errno();
        }
        return 0;
}

/* Remove parent_fd/name and what it holds, following no link (a link is removed, not its target). */
static int rm_rf_at(int parent_fd, const char *name, unsigned depth) {
        if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return negative_errno();
        if (depth >= RM_RF_DEPTH_MAX)
                return -ELOOP;
        int fd = openat(parent_fd, name, DIR_OPEN_FLAGS);
        if (fd < 0)
                return negative_errno();
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *e = readdir(d);
                if (!e) {
                        if (errno != 0 && r == 0)
                                r = negative_errno();
                        break;
                }
                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                int q = rm_rf_at(dirfd(d), e->d_name, depth + 1);
                if (q < 0 && r == 0)
                        r = q;
        }
        if (r < 0)
                return r;
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

/* ---- directories ---------------------------------------------------------- */

/* Open dirfd/name as a directory, never through a link; what went wrong names `shown`. */
static int open_dir(int dirfd, const char *name, const char *shown, int *ret_fd, char **ret_reason) {
        int fd = openat(dirfd, name, DIR_OPEN_FLAGS);
        if (fd < 0) {
                int r = negative_errno();
                struct stat st;
                /* O_DIRECTORY|O_NOFOLLOW on a link says ENOTDIR: tell the link apart */
                if (r == -ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                        r = -ELOOP;
                if (r == -ENOENT)
                        return ecl_reason(ret_reason, r, "%s does not exist", shown);
                if (r == -ELOOP)
                        return ecl_reason(ret_reason, r, "%s is a symbolic link (refused: never followed)", shown);
                if (r == -ENOTDIR)
                        return ecl_reason(ret_reason, r, "%s is not a directory", shown);
                return ecl_reason_errno(ret_reason, r, "cannot open %s", shown);
        }
        *ret_fd = fd;
        return 0;
}

/* releases/ of the stack; with create, made 0711 (and the stack's directory fsync'ed) when missing. */
static int open_releases(int stack_dirfd, bool create, int *ret_fd, char **ret_reason) {
        bool created = false;
        if (create) {
                if (mkdirat(stack_dirfd, AGENT_RELEASES_DIR, 0711) == 0)
                        created = true;
                else if (errno != EEXIST)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot create %s", AGENT_RELEASES_DIR);
        }
        _cleanup_close_ int fd = -EBADF;
        int r = open_dir(stack_dirfd, AGENT_RELEASES_DIR, AGENT_RELEASES_DIR, &fd, ret_reason);
        if (r < 0)
                return r;
        if (created) {
                /* exactly 0711 whatever the umask; a reused one stays as it is */
                if (fchmod(fd, 0711) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot set the mode of %s",
                                                AGENT_RELEASES_DIR);
                r = fsync_fd(stack_dirfd);
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "cannot fsync the stack's directory");
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* releases/VERSION, opened as a directory through no link. */
static int open_release(int stack_dirfd, const char *version, int *ret_rfd, int *ret_vfd, char **ret_reason) {
        int r = check_name(version, "version", ret_reason);
        if (r < 0)
                return r;
        _cleanup_close_ int rfd = -EBADF, vfd = -EBADF;
        r = open_releases(stack_dirfd, false, &rfd, ret_reason);
        if (r < 0)
                return r;
        _cleanup_free_ char *shown = NULL;
        if (asprintf(&shown, AGENT_RELEASES_DIR "/%s", version) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        r = open_dir(rfd, version, shown, &vfd, ret_reason);
        if (r < 0)
                return r;
        if (ret_rfd)
                *ret_rfd = TAKE_FD(rfd);
        *ret_vfd = TAKE_FD(vfd);
        return 0;
}

/* Entry names of a directory (a dup of dirfd is read, dirfd stays as it is), filtered by keep. */
static int read_names(int dirfd, bool (*keep)(int dirfd, const struct dirent *e), size_t max, char ***ret,
                      size_t *ret_n, char **ret_reason) {
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read a directory");
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return ecl_reason_errno(ret_reason, r, "cannot read a directory");
        }
        rewinddir(d);
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!v)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        for (;;) {
                errno = 0;
                struct dirent *e = readdir(d);
                if (!e) {
                        if (errno != 0)
                                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read a directory");
                        break;
                }
                if (streq(e->d_name, ".") || streq(e->d_name, "..") || !keep(dirfd, e))
                        continue;
                if (n >= max)
                        return ecl_reason(ret_reason, -E2BIG, "more than %zu entries", max);
                char **nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                v = nv;
                if (!(v[n] = strdup(e->d_name)))
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                v[++n] = NULL;
        }
        *ret = TAKE_PTR(v);
        if (ret_n)
                *ret_n = n;
        return 0;
}

static bool entry_is(int dirfd, const struct dirent *e, mode_t type) {
        if (e->d_type != DT_UNKNOWN)
                return (mode_t) DTTOIF(e->d_type) == type;
        struct stat st;
        return fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

static bool keep_release(int dirfd, const struct dirent *e) {
        return name_valid(e->d_name) && entry_is(dirfd, e, S_IFDIR);
}

static bool keep_stage(int dirfd, const struct dirent *e) {
        (void) dirfd;
        return strncmp(e->d_name, AGENT_RELEASE_STAGE_PREFIX, strlen(AGENT_RELEASE_STAGE_PREFIX)) == 0;
}

static bool keep_any(int dirfd, const struct dirent *e) {
        (void) dirfd;
        (void) e;
        return true;
}

/* ---- staging -------------------------------------------------------------- */

/* Copy exactly size bytes from the start of in to the start of out. */
static int copy_fd(int in, int out, uint64_t size, const char *name, char **ret_reason) {
        off_t in_off = 0, out_off = 0;
        uint64_t left = size;
        bool cfr = true;
        _cleanup_free_ char *buf = NULL;
        while (left > 0) {
                ssize_t n;
                if (cfr) {
                        n = copy_file_range(in, &in_off, out, &out_off, left < COPY_CHUNK ? left : COPY_CHUNK, 0);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                                      errno == EPERM)) {
                                cfr = false; /* another file system, an old kernel: read and write */
                                continue;
                        }
                        if (n < 0)
                                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot copy", name);
                } else {
                        if (!buf && !(buf = malloc(COPY_BLOCK)))
                                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                        n = pread(in, buf, left < COPY_BLOCK ? left : COPY_BLOCK, in_off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot read", name);
                        for (ssize_t done = 0; done < n;) {
                                ssize_t w = pwrite(out, buf + done, (size_t) (n - done), out_off);
                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w < 0)
                                        return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot write", name);
                                done += w;
                                out_off += w;
                        }
                        in_off += n;
                }
                if (n == 0)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "%s: the quarantined file ended after %ju bytes, bundle.yaml says %ju", name,
                                          (uintmax_t) (size - left), (uintmax_t) size);
                left -= (uint64_t) n;
        }
        return 0;
}

/* Hash fd and compare with what bundle.yaml says of f; `what` names the copy in messages. */
static int check_hash(int fd, const struct agent_bundle_file *f, const char *what, char **ret_reason) {
        uint8_t d[AGENT_SHA256_LEN];
        uint64_t size = 0;
        _cleanup_free_ char *why = NULL;
        int r = agent_sha256_fd(fd, d, &size, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", f->install, ecl_reason_text(why, r));
        if (size != f->size)
                return ecl_reason(ret_reason, -EBADMSG, "%s: size mismatch (%s %ju bytes, bundle.yaml %ju)", f->install,
                                  what, (uintmax_t) size, (uintmax_t) f->size);
        if (memcmp(d, f->sha256, AGENT_SHA256_LEN) != 0) {
                char hex[AGENT_SHA256_HEX_LEN + 1], want[AGENT_SHA256_HEX_LEN + 1];
                agent_sha256_hex(d, hex);
                agent_sha256_hex(f->sha256, want);
                return ecl_reason(ret_reason, -EBADMSG, "%s: sha256 mismatch (%s %s, bundle.yaml %s)", f->install, what,
                                  hex, want);
        }
        return 0;
}

static int stage_one(int sfd, int src_dirfd, const struct agent_bundle_file *f, char **ret_reason) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        _cleanup_free_ char *why = NULL;
        struct stat st;
        int r = ecl_file_open_at(src_dirfd, f->install, 0, &in, &st, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r == -ELOOP || r == -EISDIR ? -EBADMSG : r, "%s (quarantined): %s",
                                  f->install, ecl_reason_text(why, r));
        if ((uint64_t) st.st_size != f->size)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: size mismatch (quarantined file %jd bytes, bundle.yaml %ju)", f->install,
                                  (intmax_t) st.st_size, (uintmax_t) f->size);
        out = openat(sfd, f->install, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (out < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot create the staged copy", f->install);
        if (fchmod(out, 0600) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot set the mode", f->install);
        r = copy_fd(in, out, f->size, f->install, ret_reason);
        if (r < 0)
                return r;
        /* verified from the file about to be used: the staged copy, read back through its own descriptor */
        r = check_hash(out, f, "staged copy", ret_reason);
        if (r < 0)
                return r;
        r = fsync_fd(out);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "%s: cannot fsync", f->install);
        return 0;
}

static int stage_into(int rfd, const char *stage, const char *version, int src_dirfd,
                      const struct agent_bundle_file *files, size_t n, char **ret_reason) {
        _cleanup_close_ int sfd = -EBADF;
        _cleanup_free_ char *shown = NULL;
        if (asprintf(&shown, AGENT_RELEASES_DIR "/%s", stage) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int r = open_dir(rfd, stage, shown, &sfd, ret_reason);
        if (r < 0)
                return r;
        if (fchmod(sfd, 0700) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot set the mode of %s", shown);
        for (size_t i = 0; i < n; i++) {
                r = stage_one(sfd, src_dirfd, &files[i], ret_reason);
                if (r < 0)
                        return r;
        }
        if (fchmod(sfd, 0711) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot set the mode of %s", shown);
        r = fsync_fd(sfd);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot fsync %s", shown);
        /* never over anything: a directory placed meanwhile would otherwise be replaced if empty */
        if (renameat2(rfd, stage, rfd, version, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                if (r == -EEXIST)
                        return ecl_reason(ret_reason, r, AGENT_RELEASES_DIR "/%s exists", version);
                if (r != -EINVAL && r != -ENOSYS)
                        return ecl_reason_errno(ret_reason, r, "cannot rename %s to " AGENT_RELEASES_DIR "/%s", shown,
                                                version);
                /* a file system without RENAME_NOREPLACE: check, then rename (the caller holds the stack's lock) */
                struct stat st;
                if (fstatat(rfd, version, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        return ecl_reason(ret_reason, -EEXIST, AGENT_RELEASES_DIR "/%s exists", version);
                if (renameat(rfd, stage, rfd, version) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(),
                                                "cannot rename %s to " AGENT_RELEASES_DIR "/%s", shown, version);
        }
        r = fsync_fd(rfd);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot fsync " AGENT_RELEASES_DIR);
        return 0;
}

int agent_release_stage(int stack_dirfd, const char *version, int src_dirfd, const struct agent_bundle_file *files,
                        size_t n, char **ret_reason) {
        int r = check_name(version, "version", ret_reason);
        if (r < 0)
                return r;
        r = check_files(files, n, ret_reason);
        if (r < 0)
                return r;
        _cleanup_close_ int rfd = -EBADF;
        r = open_releases(stack_dirfd, true, &rfd, ret_reason);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(rfd, version, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return ecl_reason(ret_reason, -EEXIST, AGENT_RELEASES_DIR "/%s exists", version);
        if (errno != ENOENT)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot look at " AGENT_RELEASES_DIR "/%s",
                                        version);
        _cleanup_free_ char *stage = NULL;
        if (asprintf(&stage, AGENT_RELEASE_STAGE_PREFIX "%s", version) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (mkdirat(rfd, stage, 0700) < 0) {
                r = negative_errno();
                if (r == -EEXIST)
                        return ecl_reason(ret_reason, -EBUSY,
                                          AGENT_RELEASES_DIR "/%s exists: a crash not recovered yet, or another "
                                                             "agent staging the same release",
                                          stage);
                return ecl_reason_errno(ret_reason, r, "cannot create " AGENT_RELEASES_DIR "/%s", stage);
        }
        r = stage_into(rfd, stage, version, src_dirfd, files, n, ret_reason);
        if (r < 0) {
                (void) rm_rf_at(rfd, stage, 0);
                (void) fsync_fd(rfd);
                return r;
        }
        return 0;
}

/* ---- verifying ------------------------------------------------------------ */

static int verify_one(int vfd, const char *version, const struct agent_bundle_file *f, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *why = NULL;
        struct stat st;
        int r = ecl_file_open_at(vfd, f->install, 0, &fd, &st, &why);
        if (r == -ENOENT)
                return ecl_reason(ret_reason, r, AGENT_RELEASES_DIR "/%s/%s: missing", version, f->install);
        if (r < 0)
                return ecl_reason(ret_reason, r == -ELOOP || r == -EISDIR ? -EBADMSG : r,
                                  AGENT_RELEASES_DIR "/%s/%s: %s", version, f->install, ecl_reason_text(why, r));
        if (st.st_nlink != 1)
                return ecl_reason(ret_reason, -EBADMSG, AGENT_RELEASES_DIR "/%s/%s: %ju hard links (one only allowed)",
                                  version, f->install, (uintmax_t) st.st_nlink);
        if ((uint64_t) st.st_size != f->size)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: size mismatch (" AGENT_RELEASES_DIR "/%s has %jd bytes, "
                                  "bundle.yaml %ju)",
                                  f->install, version, (intmax_t) st.st_size, (uintmax_t) f->size);
        return check_hash(fd, f, "release", ret_reason);
}

int agent_release_verify(int stack_dirfd, const char *version, const struct agent_bundle_file *files, size_t n,
                         char **ret_reason) {
        _cleanup_close_ int vfd = -EBADF;
        int r = open_release(stack_dirfd, version, NULL, &vfd, ret_reason);
        if (r < 0)
                return r;
        r = check_files(files, n, ret_reason);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = verify_one(vfd, version, &files[i], ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- current -------------------------------------------------------------- */

int agent_release_switch(int stack_dirfd, const char *version, char **ret_reason) {
        int r = check_name(version, "version", ret_reason);
        if (r < 0)
                return r;
        _cleanup_close_ int rfd = -EBADF;
        r = open_releases(stack_dirfd, false, &rfd, ret_reason);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(rfd, version, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = negative_errno();
                if (r == -ENOENT)
                        return ecl_reason(ret_reason, r, AGENT_RELEASES_DIR "/%s does not exist", version);
                return ecl_reason_errno(ret_reason, r, "cannot look at " AGENT_RELEASES_DIR "/%s", version);
        }
        if (!S_ISDIR(st.st_mode))
                return ecl_reason(ret_reason, -ENOTDIR, AGENT_RELEASES_DIR "/%s is not a directory", version);
        if (fstatat(stack_dirfd, AGENT_RELEASE_CURRENT, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISLNK(st.st_mode))
                        return ecl_reason(ret_reason, -EBADMSG,
                                          AGENT_RELEASE_CURRENT " is not a symbolic link (move a release placed by "
                                                                "hand to " AGENT_RELEASES_DIR "/VERSION and link it)");
        } else if (errno != ENOENT) {
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot look at " AGENT_RELEASE_CURRENT);
        }
        _cleanup_free_ char *target = NULL;
        if (asprintf(&target, AGENT_RELEASES_DIR "/%s", version) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (unlinkat(stack_dirfd, AGENT_RELEASE_CURRENT_NEW, 0) < 0 && errno != ENOENT)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot remove " AGENT_RELEASE_CURRENT_NEW);
        if (symlinkat(target, stack_dirfd, AGENT_RELEASE_CURRENT_NEW) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot create " AGENT_RELEASE_CURRENT_NEW);
        if (renameat(stack_dirfd, AGENT_RELEASE_CURRENT_NEW, stack_dirfd, AGENT_RELEASE_CURRENT) < 0) {
                r = negative_errno();
                (void) unlinkat(stack_dirfd, AGENT_RELEASE_CURRENT_NEW, 0);
                return ecl_reason_errno(ret_reason, r, "cannot switch " AGENT_RELEASE_CURRENT " to %s", target);
        }
        r = fsync_fd(stack_dirfd);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot fsync the stack's directory");
        return 0;
}

int agent_release_current(int stack_dirfd, char **ret_version, char **ret_reason) {
        char buf[PATH_MAX];
        ssize_t n = readlinkat(stack_dirfd, AGENT_RELEASE_CURRENT, buf, sizeof buf);
        if (n < 0) {
                int r = negative_errno();
                if (r == -ENOENT)
                        return ecl_reason(ret_reason, r, "no current release (no " AGENT_RELEASE_CURRENT ")");
                if (r == -EINVAL)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          AGENT_RELEASE_CURRENT " is not a symbolic link to " AGENT_RELEASES_DIR
                                                                "/VERSION");
                return ecl_reason_errno(ret_reason, r, "cannot read " AGENT_RELEASE_CURRENT);
        }
        if ((size_t) n >= sizeof buf)
                return ecl_reason(ret_reason, -EBADMSG,
                                  AGENT_RELEASE_CURRENT " points at a path too long, not " AGENT_RELEASES_DIR
                                                        "/VERSION");
        buf[n] = '\0';
        const char *prefix = AGENT_RELEASES_DIR "/";
        const char *v = buf + strlen(prefix);
        if (strncmp(buf, prefix, strlen(prefix)) != 0 || !name_valid(v))
                return ecl_reason(ret_reason, -EBADMSG,
                                  AGENT_RELEASE_CURRENT " points at %s, not " AGENT_RELEASES_DIR "/VERSION", buf);
        _cleanup_close_ int rfd = -EBADF;
        _cleanup_free_ char *why = NULL;
        int r = open_releases(stack_dirfd, false, &rfd, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r == -ENOMEM ? r : -EBADMSG,
                                  AGENT_RELEASE_CURRENT " points at %s, but %s", buf, ecl_reason_text(why, r));
        struct stat st;
        if (fstatat(rfd, v, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = negative_errno();
                if (r == -ENOENT)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          AGENT_RELEASE_CURRENT " points at %s, which does not exist", buf);
                return ecl_reason_errno(ret_reason, r, "cannot look at %s", buf);
        }
        if (!S_ISDIR(st.st_mode))
                return ecl_reason(ret_reason, -EBADMSG, AGENT_RELEASE_CURRENT " points at %s, which is not a directory",
                                  buf);
        char *s = strdup(v);
        if (!s)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        *ret_version = s;
        return 0;
}

/* ---- listing and recovery ------------------------------------------------- */

int agent_release_list(int stack_dirfd, char ***ret_versions, char **ret_reason) {
        _cleanup_close_ int rfd = -EBADF;
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;
        int r = open_releases(stack_dirfd, false, &rfd, ret_reason);
        if (r == -ENOENT) {
                if (!(v = calloc(1, sizeof(char *))))
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                *ret_versions = TAKE_PTR(v);
                return 0;
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *why = NULL;
        r = read_names(rfd, keep_release, SIZE_MAX, &v, &n, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, AGENT_RELEASES_DIR ": %s", ecl_reason_text(why, r));
        *ret_versions = TAKE_PTR(v);
        return n > INT_MAX ? INT_MAX : (int) n;
}

int agent_release_recover(int stack_dirfd, char **ret_reason) {
        int removed = 0, r;
        _cleanup_close_ int rfd = -EBADF;
        r = open_releases(stack_dirfd, false, &rfd, ret_reason);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == 0) {
                _cleanup_strv_free_ char **stages = NULL;
                _cleanup_free_ char *why = NULL;
                r = read_names(rfd, keep_stage, SIZE_MAX, &stages, NULL, &why);
                if (r < 0)
                        return ecl_reason(ret_reason, r, AGENT_RELEASES_DIR ": %s", ecl_reason_text(why, r));
                for (char **s = stages; *s; s++) {
                        r = rm_rf_at(rfd, *s, 0);
                        if (r < 0)
                                return ecl_reason_errno(ret_reason, r, "cannot remove " AGENT_RELEASES_DIR "/%s", *s);
                        removed++;
                }
                if (removed > 0 && (r = fsync_fd(rfd)) < 0)
                        return ecl_reason_errno(ret_reason, r, "cannot fsync " AGENT_RELEASES_DIR);
        }
        struct stat st;
        if (fstatat(stack_dirfd, AGENT_RELEASE_CURRENT_NEW, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                r = rm_rf_at(stack_dirfd, AGENT_RELEASE_CURRENT_NEW, 0);
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "cannot remove " AGENT_RELEASE_CURRENT_NEW);
                removed++;
                r = fsync_fd(stack_dirfd);
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "cannot fsync the stack's directory");
        } else if (errno != ENOENT) {
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot look at " AGENT_RELEASE_CURRENT_NEW);
        }
        return removed;
}

/* ---- what a release holds ------------------------------------------------- */

void agent_release_files_free(struct agent_release_file *f, size_t n) {
        if (!f)
                return;
        for (size_t i = 0; i < n; i++)
                free(f[i].name);
        free(f);
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int agent_release_files(int stack_dirfd, const char *version, struct agent_release_file **ret, size_t *ret_n,
                        char **ret_reason) {
        _cleanup_close_ int vfd = -EBADF;
        int r = open_release(stack_dirfd, version, NULL, &vfd, ret_reason);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *why = NULL;
        size_t n = 0;
        r = read_names(vfd, keep_any, AGENT_RELEASE_FILES_MAX, &names, &n, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, AGENT_RELEASES_DIR "/%s: %s", version, ecl_reason_text(why, r));
        qsort(names, n, sizeof(char *), cmp_strp);
        struct agent_release_file *out = calloc(n ? n : 1, sizeof(*out));
        size_t k = 0;
        if (!out)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int fd = openat(vfd, names[i], ECL_OPEN_UNTRUSTED);
                struct stat st;
                if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == ENOENT))
                        continue; /* a link, a socket, gone meanwhile: not a file of the release */
                if (fd < 0 || fstat(fd, &st) < 0) {
                        r = ecl_reason_errno(ret_reason, negative_errno(), AGENT_RELEASES_DIR "/%s/%s: cannot open",
                                             version, names[i]);
                        agent_release_files_free(out, k);
                        return r;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                uint8_t d[AGENT_SHA256_LEN];
                free(why);
                why = NULL;
                r = agent_sha256_fd(fd, d, &out[k].size, &why);
                if (r < 0) {
                        r = ecl_reason(ret_reason, r, AGENT_RELEASES_DIR "/%s/%s: %s", version, names[i],
                                       ecl_reason_text(why, r));
                        agent_release_files_free(out, k);
                        return r;
                }
                agent_sha256_hex(d, out[k].sha256_hex);
                if (!(out[k].name = strdup(names[i]))) {
                        agent_release_files_free(out, k);
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                }
                k++;
        }
        *ret = out;
        *ret_n = k;
        return 0;
}

/* ---- comparing ------------------------------------------------------------ */

static const char *const change_names[] = {
        [AGENT_CHANGE_SAME] = "same",
        [AGENT_CHANGE_ADDED] = "added",
        [AGENT_CHANGE_REMOVED] = "removed",
        [AGENT_CHANGE_CHANGED] = "changed",
};

const char *agent_change_to_string(enum agent_change c) {
        return ECL_ENUM_NAME(change_names, c);
}

static int cmp_running(const void *a, const void *b) {
        return strcmp((*(const struct agent_release_file *const *) a)->name,
                      (*(const struct agent_release_file *const *) b)->name);
}

static int cmp_bundle(const void *a, const void *b) {
        return strcmp((*(const struct agent_bundle_file *const *) a)->install,
                      (*(const struct agent_bundle_file *const *) b)->install);
}

int agent_release_compare(const struct agent_release_file *running, size_t n_running,
                          const struct agent_bundle_file *files, size_t n_files, struct agent_release_change **ret,
                          size_t *ret_n) {
        _cleanup_free_ const struct agent_release_file **a = calloc(n_running ? n_running : 1, sizeof(*a));
        _cleanup_free_ const struct agent_bundle_file **b = calloc(n_files ? n_files : 1, sizeof(*b));
        _cleanup_free_ struct agent_release_change *c = NULL;
        if (!a || !b)
                return -ENOMEM;
        for (size_t i = 0; i < n_running; i++)
                a[i] = &running[i];
        for (size_t i = 0; i < n_files; i++)
                b[i] = &files[i];
        qsort(a, n_running, sizeof(*a), cmp_running);
        qsort(b, n_files, sizeof(*b), cmp_bundle);
        if (n_running + n_files > 0 && !(c = calloc(n_running + n_files, sizeof(*c))))
                return -ENOMEM;
        size_t i = 0, j = 0, k = 0;
        while (i < n_running || j < n_files) {
                int cmp = i == n_running ? 1 : j == n_files ? -1 : strcmp(a[i]->name, b[j]->install);
                struct agent_release_change *x = &c[k++];
                if (cmp < 0) {
                        *x = (struct agent_release_change){.name = a[i]->name,
                                                           .change = AGENT_CHANGE_REMOVED,
                                                           .old_size = a[i]->size,
                                                           .old_sha256 = a[i]->sha256_hex};
                        i++;
                } else if (cmp > 0) {
                        *x = (struct agent_release_change){.name = b[j]->install,
                                                           .change = AGENT_CHANGE_ADDED,
                                                           .new_size = b[j]->size,
                                                           .new_sha256 = b[j]->sha256_hex};
                        j++;
                } else {
                        bool same = a[i]->size == b[j]->size && streq(a[i]->sha256_hex, b[j]->sha256_hex);
                        *x = (struct agent_release_change){.name = a[i]->name,
                                                           .change = same ? AGENT_CHANGE_SAME : AGENT_CHANGE_CHANGED,
                                                           .old_size = a[i]->size,
                                                           .new_size = b[j]->size,
                                                           .old_sha256 = a[i]->sha256_hex,
                                                           .new_sha256 = b[j]->sha256_hex};
                        i++, j++;
                }
        }
        *ret = TAKE_PTR(c);
        *ret_n = k;
        return 0;
}
