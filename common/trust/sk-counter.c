/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "reason.h"
#include "sk-counter.h"
#include "sshbuf.h"
#include "strparse.h"


/* "SHA256:" + 43 base64 chars -> "sha256-" + base64url. */
static int file_name(const char *fp, char name[64]) {
        if (strncmp(fp, "SHA256:", 7) != 0)
                return -EINVAL;
        const char *b = fp + 7;
        size_t n = strlen(b);
        if (n != 43)
                return -EINVAL;
        memcpy(name, "sha256-", 7);
        for (size_t i = 0; i < n; i++) {
                char c = b[i];
                if (c == '/')
                        c = '_';
                else if (c == '+')
                        c = '-';
                else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                        return -EINVAL;
                name[7 + i] = c;
        }
        name[7 + n] = '\0';
        return 0;
}

static int open_dir(const char *dir, bool create) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT && create) {
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return -errno;
                fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        }
        if (fd < 0)
                return -errno;
        /* Whoever may delete a mark may replay: the directory must be ours alone to write. */
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

/* 0 and *mark, -ENOENT when absent, -EBADMSG when unreadable. */
static int read_mark(int dfd, const char *name, uint32_t *mark) {
        _cleanup_close_ int fd = -EBADF;
        int r = ecl_file_open_at(dfd, name, 31, &fd, NULL, NULL);
        _cleanup_free_ char *buf = NULL;
        if (r >= 0)
                r = ecl_file_read_fd(fd, 31, &buf, NULL, NULL);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        const char *end;
        int64_t v;
        if (buf[0] == '-' || ecl_parse_int_prefix(buf, 0, UINT32_MAX, &v, &end) < 0 || (*end != '\n' && *end != '\0'))
                return -EBADMSG;
        *mark = (uint32_t) v;
        return 0;
}

int ecl_sk_counter_get(const char *dir, const char *fingerprint, uint32_t *mark, bool *found) {
        char name[64];
        int r = file_name(fingerprint, name);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = open_dir(dir, false);
        if (dfd == -ENOENT) {
                *found = false;
                *mark = 0;
                return 0;
        }
        if (dfd < 0)
                return dfd;
        if (flock(dfd, LOCK_SH) < 0)
                return -errno;
        r = read_mark(dfd, name, mark);
        if (r == -ENOENT) {
                *found = false;
                *mark = 0;
                return 0;
        }
        if (r < 0)
                return r;
        *found = true;
        return 0;
}

static int write_mark(int dfd, const char *name, uint32_t v) {
        char tmp[80], buf[16];
        snprintf(tmp, sizeof tmp, ".%s.tmp", name);
        int len = snprintf(buf, sizeof buf, "%" PRIu32 "\n", v);
        (void) unlinkat(dfd, tmp, 0);
        _cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, (size_t) len) != len || fsync(fd) < 0) {
                int r = errno ? -errno : -EIO;
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        if (renameat(dfd, tmp, dfd, name) < 0) {
                int r = -errno;
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int ecl_sk_counter_advance(const char *dir, const char *fingerprint, uint32_t counter, uint32_t *previous,
                           char **ret_reason) {
        char name[64];
        int r = file_name(fingerprint, name);
        if (r < 0)
                return ecl_reason(ret_reason, r, "malformed key fingerprint \"%.60s\"", fingerprint);
        _cleanup_close_ int dfd = open_dir(dir, true);
        if (dfd < 0)
                return ecl_reason(ret_reason, dfd, "cannot open counter directory %s: %s", dir, strerror(-dfd));
        /* The lock is released when dfd is closed. */
        if (flock(dfd, LOCK_EX) < 0)
                return ecl_reason(ret_reason, -errno, "cannot lock counter directory %s: %s", dir, strerror(errno));
        uint32_t mark = 0;
        bool found = true;
        r = read_mark(dfd, name, &mark);
        if (r == -ENOENT)
                found = false, mark = 0;
        else if (r < 0)
                return ecl_reason(ret_reason, r, "cannot read counter %s/%s: %s", dir, name, strerror(-r));
        if (previous)
                *previous = mark;
        if (found && counter <= mark && !(counter == 0 && mark == 0))
                return ecl_reason(ret_reason, -EKEYREVOKED,
                         "security key counter %" PRIu32 " is not above the last accepted %" PRIu32
                         " for key %s (replayed signature or cloned token)",
                         counter, mark, fingerprint);
        if (found && counter == mark)
                return 0; /* both 0: nothing to record */
        r = write_mark(dfd, name, counter);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot record counter in %s: %s", dir, strerror(-r));
        return 0;
}
