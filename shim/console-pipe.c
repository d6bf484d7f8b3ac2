/* SPDX-License-Identifier: Apache-2.0 */
/* The serial FIFO and its reader in the event loop (console-pipe.h). */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-pipe.h"
#include "log.h"
#include "reason.h"

#define READ_CHUNK 65536
#define READS_PER_DRAIN 16

/* The FIFO as the effective user made it: nothing else is removed or opened. */
static bool pipe_ours(const struct stat *st) {
        return S_ISFIFO(st->st_mode) && st->st_uid == geteuid() && st->st_nlink == 1;
}

static int refuse(char **ret_reason) {
        return ecl_reason(ret_reason, -EPERM,
                          "the stack's " SHIM_CONSOLE_PIPE " is not a FIFO of the shim's: libvirt would "
                          "open it as root for the guest's console (remove it; it is created again)");
}

/* One end of dfd/console.pipe, checked to be the FIFO `want` (or, for the first, ours). */
static int open_end(int dfd, int flags, const struct stat *want, struct stat *ret_st, char **ret_reason) {
        _cleanup_close_ int fd = openat(dfd, SHIM_CONSOLE_PIPE, flags | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP
                               ? refuse(ret_reason)
                               : ecl_reason_errno(ret_reason, negative_errno(), "cannot open " SHIM_CONSOLE_PIPE);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat " SHIM_CONSOLE_PIPE);
        if (!pipe_ours(&st) || (want && (st.st_dev != want->st_dev || st.st_ino != want->st_ino)))
                return refuse(ret_reason);
        if (ret_st)
                *ret_st = st;
        return TAKE_FD(fd);
}

int shim_console_open(const char *root, const char *stack, uint64_t cap_bytes, struct shim_console **ret,
                      char **ret_reason) {
        int dfd = -1;
        int r = shim_console_prepare(root, stack, &dfd, ret_reason);
        if (r < 0)
                return r;
        _cleanup_(shim_console_freep) struct shim_console *c = calloc(1, sizeof *c);
        if (!c) {
                close(dfd);
                return -ENOMEM;
        }
        c->rd = c->wr = c->watch = -1;
        r = shim_console_log_open(dfd, cap_bytes, &c->log, ret_reason);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(c->log.dir_fd, SHIM_CONSOLE_PIPE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!pipe_ours(&st))
                        return refuse(ret_reason);
                if (unlinkat(c->log.dir_fd, SHIM_CONSOLE_PIPE, 0) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(),
                                                "cannot remove the old " SHIM_CONSOLE_PIPE);
        } else if (errno != ENOENT) {
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat " SHIM_CONSOLE_PIPE);
        }
        if (mkfifoat(c->log.dir_fd, SHIM_CONSOLE_PIPE, 0600) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot make " SHIM_CONSOLE_PIPE);
        /* the read end first: the open for writing (ours, then libvirt's) finds a reader and does not block */
        c->rd = open_end(c->log.dir_fd, O_RDONLY, NULL, &st, ret_reason);
        if (c->rd < 0)
                return c->rd;
        if (fchmod(c->rd, 0600) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot set the mode of " SHIM_CONSOLE_PIPE);
        c->wr = open_end(c->log.dir_fd, O_WRONLY, &st, NULL, ret_reason);
        if (c->wr < 0)
                return c->wr;
        *ret = TAKE_PTR(c);
        return 0;
}

/* The line through c->report (the debug log without one). */
static void say(const struct shim_console *c, enum ecl_log_level level, const char *text) {
        if (c->report)
                c->report(c->report_ud, level, text);
        else
                log_debug("%s", text);
}

int64_t shim_console_drain(struct shim_console *c, char **ret_reason) {
        _cleanup_free_ char *buf = malloc(READ_CHUNK);
        if (!buf)
                return -ENOMEM;
        int64_t total = 0;
        for (unsigned i = 0; i < READS_PER_DRAIN; i++) {
                ssize_t n = read(c->rd, buf, READ_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot read " SHIM_CONSOLE_PIPE);
                if (n == 0)
                        break;
                total += n;
                _cleanup_free_ char *why = NULL;
                int r = shim_console_log_append(&c->log, buf, (size_t) n, &why);
                if (r < 0 && !c->failing) {
                        _cleanup_free_ char *text = NULL;
                        (void) ecl_reason(&text, r,
                                          "%s: the guest's console is lost until " SHIM_CONSOLE_LOG
                                          " can be written again",
                                          ecl_reason_text(why, r));
                        say(c, ECL_LOG_WARNING, text ? text : "the guest's console is lost");
                } else if (r >= 0 && c->failing) {
                        say(c, ECL_LOG_NOTICE, "the guest's console is written to " SHIM_CONSOLE_LOG " again");
                }
                c->failing = r < 0;
        }
        return total;
}

int shim_console_mark(struct shim_console *c, struct shim_console_mark *ret, char **ret_reason) {
        for (unsigned i = 0;; i++) {
                if (i == SHIM_CONSOLE_MARK_DRAINS)
                        return ecl_reason(ret_reason, -EBUSY,
                                          SHIM_CONSOLE_PIPE " does not run empty: something still writes to it");
                int64_t n = shim_console_drain(c, ret_reason);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
        }
        return shim_console_log_mark(&c->log, ret, ret_reason);
}

static void on_readable(int watch, int fd, int events, void *opaque) {
        (void) watch, (void) fd, (void) events;
        struct shim_console *c = opaque;
        _cleanup_free_ char *why = NULL;
        int64_t r = shim_console_drain(c, &why);
        if (r < 0)
                say(c, ECL_LOG_ERROR, ecl_reason_text(why, (int) r));
}

int shim_console_watch(struct shim_console *c, char **ret_reason) {
        if (c->watch >= 0)
                return 0;
        c->watch = virEventAddHandle(c->rd, VIR_EVENT_HANDLE_READABLE, on_readable, c, NULL);
        if (c->watch < 0)
                return ecl_reason(ret_reason, -EIO, "cannot watch " SHIM_CONSOLE_PIPE);
        return 0;
}

void shim_console_free(struct shim_console *c) {
        if (!c)
                return;
        if (c->watch >= 0)
                virEventRemoveHandle(c->watch);
        if (c->rd >= 0)
                close(c->rd);
        if (c->wr >= 0)
                close(c->wr);
        shim_console_log_close(&c->log);
        free(c);
}
