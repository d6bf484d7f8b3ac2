/* SPDX-License-Identifier: Apache-2.0 */
/* The console log: its directory, its checks, the cap and the rotation (console-log.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-log.h"
#include "reason.h"
#include "paths.h"
#include "secure-dir.h"
#include "stack-name.h"

/* An earlier shim let libvirt's DAC driver give the log to QEMU's user (Debian libvirt-qemu, RHEL qemu). */
static bool owner_ok(uid_t uid) {
        if (uid == 0 || uid == geteuid())
                return true;
        struct passwd pw, *res = NULL;
        char buf[1024];
        return getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res &&
               (streq(res->pw_name, "libvirt-qemu") || streq(res->pw_name, "qemu"));
}

/* NULL if st may be the console log, else what it is. */
static const char *log_refused(const struct stat *st) {
        return S_ISLNK(st->st_mode)   ? "a symbolic link"
               : !S_ISREG(st->st_mode) ? "not a regular file"
               : st->st_nlink != 1     ? "a file with more than one link"
               : !owner_ok(st->st_uid) ? "owned by another user"
                                       : NULL;
}

static int refuse(const char *what, char **ret_reason) {
        return ecl_reason(ret_reason, -EPERM,
                          "the stack's " SHIM_CONSOLE_LOG " is %s: the shim appends the guest's "
                          "console to it as root (remove it; it is created again)",
                          what);
}

int shim_console_prepare(const char *root, const char *stack, int *ret_dir_fd, char **ret_reason) {
        _cleanup_free_ char *rel = NULL;
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name for the console log");
        if (asprintf(&rel, ECL_STACKS_STATE_DIR "/%s", stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_close_ int dfd = -1;
        int r = shim_secure_mkdir(root, rel, 0711, (mode_t) -1, &dfd, ret_reason);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(dfd, SHIM_CONSOLE_LOG, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat %s/" SHIM_CONSOLE_LOG, rel);
        } else if (log_refused(&st)) {
                return refuse(log_refused(&st), ret_reason);
        }
        if (ret_dir_fd)
                *ret_dir_fd = TAKE_FD(dfd);
        return 0;
}

/* console.log, created when missing; never a link, and O_NONBLOCK so that a FIFO cannot block the open. */
static int open_log(struct shim_console_log *l, char **ret_reason) {
        _cleanup_close_ int fd = openat(l->dir_fd, SHIM_CONSOLE_LOG,
                                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                                        0640);
        if (fd < 0 && errno == ELOOP)
                return refuse("a symbolic link", ret_reason);
        if (fd < 0 && errno == ENXIO) /* a FIFO nobody reads */
                return refuse("not a regular file", ret_reason);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open " SHIM_CONSOLE_LOG);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat " SHIM_CONSOLE_LOG);
        if (log_refused(&st))
                return refuse(log_refused(&st), ret_reason);
        l->fd = TAKE_FD(fd);
        l->size = (uint64_t) st.st_size;
        return 0;
}

int shim_console_log_open(int dir_fd, uint64_t cap, struct shim_console_log *ret, char **ret_reason) {
        *ret = (struct shim_console_log){.dir_fd = dir_fd, .fd = -1, .cap = cap ? cap : 1};
        int r = open_log(ret, ret_reason);
        if (r < 0)
                shim_console_log_close(ret);
        return r;
}

/* console.log -> console.log.1 (replacing it: a rename never follows a link), and a new console.log. */
static int rotate(struct shim_console_log *l, char **ret_reason) {
        if (l->fd >= 0) {
                if (renameat(l->dir_fd, SHIM_CONSOLE_LOG, l->dir_fd, SHIM_CONSOLE_LOG_OLD) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot rotate " SHIM_CONSOLE_LOG);
                close(l->fd);
                l->fd = -1;
                l->generation++;
        }
        return open_log(l, ret_reason);
}

int shim_console_log_append(struct shim_console_log *l, const void *buf, size_t n, char **ret_reason) {
        const char *p = buf;
        while (n > 0) {
                if (l->fd < 0 || l->size >= l->cap) {
                        int r = rotate(l, ret_reason);
                        if (r < 0)
                                return r;
                        continue; /* a log left over the cap by an earlier shim rotates at once */
                }
                uint64_t room = l->cap - l->size;
                size_t chunk = n < room ? n : (size_t) room;
                ssize_t w = write(l->fd, p, chunk);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot append to " SHIM_CONSOLE_LOG);
                }
                l->size += (uint64_t) w;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

int shim_console_log_mark(struct shim_console_log *l, struct shim_console_mark *ret, char **ret_reason) {
        if (l->fd < 0) {
                int r = rotate(l, ret_reason); /* after a failed rotation: console.log opened again */
                if (r < 0)
                        return r;
        }
        struct stat st;
        if (fstat(l->fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat " SHIM_CONSOLE_LOG);
        *ret = (struct shim_console_mark){
                .offset = l->size, .inode = (uint64_t) st.st_ino, .generation = l->generation};
        return 0;
}

void shim_console_log_close(struct shim_console_log *l) {
        if (l->fd >= 0)
                close(l->fd);
        if (l->dir_fd >= 0)
                close(l->dir_fd);
        l->fd = l->dir_fd = -1;
}
