/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "reason.h"

int ecl_file_open_at(int dirfd, const char *path, size_t max, int *ret_fd, struct stat *ret_st, char **ret_reason) {
        _cleanup_close_ int fd = openat(dirfd, path, ECL_OPEN_UNTRUSTED);
        if (fd < 0) {
                int r = negative_errno();
                if (r == -ELOOP)
                        return ecl_reason(ret_reason, r, ECL_FILE_IS_LINK);
                return ecl_reason(ret_reason, r, "cannot open: %s", strerror(-r));
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = negative_errno();
                return ecl_reason(ret_reason, r, "cannot stat: %s", strerror(-r));
        }
        if (S_ISDIR(st.st_mode))
                return ecl_reason(ret_reason, -EISDIR, ECL_FILE_IS_DIR);
        if (!S_ISREG(st.st_mode))
                return ecl_reason(ret_reason, -EBADMSG, "not a regular file");
        if (max && (uint64_t) st.st_size > max)
                return ecl_reason(ret_reason, -EFBIG, "file too large (%lld bytes, at most %zu)", (long long) st.st_size,
                                  max);
        if (ret_st)
                *ret_st = st;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int ecl_file_read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len, char **ret_reason) {
        /* One byte more than allowed tells a file that grew after fstat(). */
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        for (;;) {
                if (len + 1 >= cap) {
                        if (max && cap > max + 1)
                                return ecl_reason(ret_reason, -EFBIG, "file too large (more than %zu bytes)", max);
                        size_t ncap = cap * 2;
                        if (max && ncap > max + 2)
                                ncap = max + 2;
                        char *n = realloc(buf, ncap);
                        if (!n)
                                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                        buf = n;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = negative_errno();
                        return ecl_reason(ret_reason, r, "cannot read: %s", strerror(-r));
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (max && len > max)
                        return ecl_reason(ret_reason, -EFBIG, "file too large (more than %zu bytes)", max);
        }
        buf[len] = '\0';
        *ret_buf = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int ecl_file_read(const char *path, size_t max, char **ret_buf, size_t *ret_len, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        int r = ecl_file_open_at(AT_FDCWD, path, max, &fd, NULL, ret_reason);
        if (r < 0)
                return r;
        return ecl_file_read_fd(fd, max, ret_buf, ret_len, ret_reason);
}

int ecl_mkdir_p(const char *path, mode_t mode, char **ret_reason) {
        if (!*path)
                return ecl_reason(ret_reason, -EINVAL, "empty directory name");
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST) {
                        int r = negative_errno();
                        return ecl_reason(ret_reason, r, "cannot create %s: %s", p, strerror(-r));
                }
                *s = c;
                if (c == '\0')
                        break;
        }
        struct stat st;
        if (lstat(path, &st) < 0) {
                int r = negative_errno();
                return ecl_reason(ret_reason, r, "cannot stat %s: %s", path, strerror(-r));
        }
        if (!S_ISDIR(st.st_mode))
                return ecl_reason(ret_reason, -ENOTDIR, "%s is not a directory", path);
        return 0;
}

int ecl_mkdir_parent(const char *path, mode_t mode, char **ret_reason) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        return ecl_mkdir_p(dir, mode, ret_reason);
}

/* ---- mkdir -p following no link ---------------------------------------- */

int ecl_mkdirat_nofollow(int dfd, const char *name, mode_t mode, const char *where, bool *ret_created,
                         char **ret_reason) {
        bool created = mkdirat(dfd, name, mode) == 0;
        if (ret_created)
                *ret_created = created;
        if (!created && errno != EEXIST)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot create %s", where);
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        int r = negative_errno();
        struct stat st;
        if ((r == -ELOOP || r == -ENOTDIR) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return ecl_reason(ret_reason, -ELOOP, "%s: a symbolic link (refused: no link is followed on the way "
                                  "to a directory ecluse creates)", where);
        if (r == -ENOTDIR)
                return ecl_reason(ret_reason, r, "%s is not a directory", where);
        return ecl_reason_errno(ret_reason, r, "cannot open %s", where);
}

int ecl_mkdir_below(const char *base, const char *rel, mode_t mode, ecl_mkdir_check_fn check, void *userdata,
                    int *ret_fd, char **ret_reason) {
        const char *b = base && *base ? base : "/";
        _cleanup_close_ int fd = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s", b);
        _cleanup_free_ char *copy = strdup(rel), *where = strdup(b);
        if (!copy || !where)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, ".."))
                        return ecl_reason(ret_reason, -EINVAL, "%s: no '..' in a directory ecluse creates", rel);
                char *next = NULL;
                size_t wl = strlen(where);
                if (asprintf(&next, "%s%s%s", where, wl > 0 && where[wl - 1] == '/' ? "" : "/", c) < 0)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                free(where);
                where = next;
                bool created;
                int nfd = ecl_mkdirat_nofollow(fd, c, mode, where, &created, ret_reason);
                if (nfd < 0)
                        return nfd;
                close(fd);
                fd = nfd;
                if (check) {
                        int r = check(fd, where, created, userdata, ret_reason);
                        if (r < 0)
                                return r;
                }
        }
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return 0;
}
