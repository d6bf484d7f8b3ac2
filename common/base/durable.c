/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "macro.h"
#include "reason.h"

#define TEMP_MARK ".tmp-"
#define TEMP_RANDOM ECL_TEMP_SUFFIX_LEN

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static bool file_name_valid(const char *name) {
        return name && *name && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

/* The kernel's randomness, or the clock if it has none to give. */
void ecl_temp_suffix(char out[static ECL_TEMP_SUFFIX_LEN + 1]) {
        uint8_t b[TEMP_RANDOM];
        if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t) sizeof b) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t x = (uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 20) ^ ((uint64_t) getpid() << 40);
                for (size_t i = 0; i < sizeof b; i++, x >>= 8)
                        b[i] = (uint8_t) x;
        }
        for (size_t i = 0; i < TEMP_RANDOM; i++)
                out[i] = alnum[b[i] % (sizeof alnum - 1)];
        out[TEMP_RANDOM] = '\0';
}

bool ecl_atomic_temp_name(const char *name) {
        size_t n = strlen(name), tail = strlen(TEMP_MARK) + TEMP_RANDOM;
        if (n < 2 + tail || name[0] != '.' || strncmp(name + n - tail, TEMP_MARK, strlen(TEMP_MARK)) != 0)
                return false;
        return strspn(name + n - TEMP_RANDOM, alnum) == TEMP_RANDOM;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int ecl_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, char **ret_reason) {
        if (!file_name_valid(name))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not a file name", name ? name : "(null)");
        char tmp[NAME_MAX + 1];
        if (strlen(name) + 1 + strlen(TEMP_MARK) + TEMP_RANDOM > NAME_MAX)
                return ecl_reason(ret_reason, -ENAMETOOLONG, "%s: name too long for a temporary file beside it", name);
        _cleanup_close_ int fd = -1;
        for (unsigned attempt = 0; fd < 0; attempt++) {
                char suffix[TEMP_RANDOM + 1];
                ecl_temp_suffix(suffix);
                snprintf(tmp, sizeof tmp, ".%s" TEMP_MARK "%s", name, suffix);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd < 0 && (errno != EEXIST || attempt >= 100))
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot create a temporary file for %s",
                                                name);
        }
        int r = write_all(fd, data, len);
        const char *step = "cannot write";
        if (r == 0 && fchmod(fd, mode) < 0)
                r = negative_errno(), step = "cannot set the mode of";
        if (r == 0 && fsync(fd) < 0)
                r = negative_errno(), step = "cannot fsync";
        if (r == 0 && close(TAKE_FD(fd)) < 0)
                r = negative_errno(), step = "cannot write";
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno(), step = "cannot rename the temporary file over";
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return ecl_reason_errno(ret_reason, r, "%s %s", step, name);
        }
        if (fsync(dirfd) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot fsync the directory of %s", name);
        return 0;
}

/* A DIR * of dirfd that leaves dirfd open. */
static int dir_open(int dirfd, DIR **ret) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

int ecl_atomic_temps_remove_at(int dirfd, char **ret_reason) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r = dir_open(dirfd, &d);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read the directory");
        int n = 0;
        for (struct dirent *e; (errno = 0, e = readdir(d));) {
                struct stat st;
                if (!ecl_atomic_temp_name(e->d_name) || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot remove %s", e->d_name);
                n++;
        }
        if (errno != 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read the directory");
        return n;
}

int ecl_fsync_dir_at(int dirfd, const char *name, char **ret_reason) {
        if (!name) {
                if (fsync(dirfd) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot fsync the directory");
                return 0;
        }
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int r = negative_errno();
                struct stat st;
                if (r == -ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                        r = -ELOOP; /* O_DIRECTORY answers first */
                return ecl_reason_errno(ret_reason, r, "cannot open %s", name);
        }
        if (fsync(fd) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot fsync %s", name);
        return 0;
}

/* ---- walking a tree without following links ----------------------------- */

enum walk { WALK_REMOVE, WALK_FSYNC };

/* What the walk does to dfd/name when it is not a directory (a file, a link, a device...). */
static int leaf(int dfd, const char *name, enum walk what, const char *where, char **ret_reason) {
        if (what == WALK_REMOVE) {
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot remove %s", where);
                return 0;
        }
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat %s", where);
        if (!S_ISREG(st.st_mode))
                return 0;
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot fsync %s", where);
        return 0;
}

static int walk(int dfd, const char *name, enum walk what, unsigned depth, const char *where, char **ret_reason) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                int r = negative_errno();
                if (r == -ENOTDIR || r == -ELOOP) /* not a directory, or a link (to one or not) */
                        return leaf(dfd, name, what, where, ret_reason);
                if (r == -ENOENT && what == WALK_REMOVE)
                        return 0;
                return ecl_reason_errno(ret_reason, r, "cannot open %s", where);
        }
        if (depth >= ECL_TREE_DEPTH_MAX)
                return ecl_reason(ret_reason, -E2BIG, "%s: nested deeper than %d directories", where,
                                  ECL_TREE_DEPTH_MAX);
        _cleanup_(closedirp) DIR *d = NULL;
        int r = dir_open(fd, &d);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read %s", where);
        for (struct dirent *e; (errno = 0, e = readdir(d));) {
                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s/%s", where, e->d_name) < 0)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                r = walk(fd, e->d_name, what, depth + 1, sub, ret_reason);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", where);
        if (what == WALK_REMOVE) {
                if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot remove %s", where);
        } else if (fsync(fd) < 0) {
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot fsync %s", where);
        }
        return 0;
}

int ecl_fsync_tree_at(int dirfd, const char *name, char **ret_reason) {
        if (!file_name_valid(name))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not a file name", name ? name : "(null)");
        return walk(dirfd, name, WALK_FSYNC, 0, name, ret_reason);
}

int ecl_rm_rf_at(int dirfd, const char *name, char **ret_reason) {
        if (!file_name_valid(name))
                return ecl_reason(ret_reason, -EINVAL, "\"%s\" is not a file name", name ? name : "(null)");
        return walk(dirfd, name, WALK_REMOVE, 0, name, ret_reason);
}
