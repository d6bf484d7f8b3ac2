/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control-proto.h"
#include "control.h"
#include "fileio.h"
#include "log.h"
#include "reason.h"
#include "paths.h"

/* A client accepted, its request not read yet. */
struct pending {
        int fd;
        uint64_t deadline_ms; /* CLOCK_MONOTONIC: dropped unanswered after it */
};

struct shim_control {
        int fd;      /* listening */
        int epfd;    /* what the event loop polls: fd (while accepting), timerfd, the pending clients */
        int timerfd; /* the earliest deadline of a pending client */
        bool accepting;
        struct pending pending[SHIM_CONTROL_MAX_PENDING];
        size_t n_pending;
        char *path;
        char *failed_path; /* ROOT/run/ecluse/STACK.failed */
        dev_t dev; /* the socket file we created, to remove only ours: */
        ino_t ino; /* inode numbers are reused, so the change time counts too */
        struct timespec ctim;
        uid_t uid;
        gid_t group;
};

gid_t shim_control_group_gid(const char *name, size_t buf_size, char **ret_warning) {
        if (buf_size == 0) {
                long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
                buf_size = hint > 0 ? (size_t) hint : 4096;
        }
        for (;;) {
                _cleanup_free_ char *buf = malloc(buf_size);
                if (!buf) {
                        (void) ecl_reason(ret_warning, -ENOMEM,
                                          "cannot look up the group %s (out of memory): the "
                                          "control socket stays the shim's group's",
                                          name);
                        return SHIM_CONTROL_NO_GROUP;
                }
                struct group g, *res = NULL;
                int r = getgrnam_r(name, &g, buf, buf_size, &res);
                if (r == 0)
                        return res ? res->gr_gid : SHIM_CONTROL_NO_GROUP;
                /* a group with many members: ask again with room for them */
                if (r == ERANGE && buf_size < SHIM_CONTROL_GROUP_BUF_MAX) {
                        buf_size *= 2;
                        continue;
                }
                (void) ecl_reason(ret_warning, -r,
                                  "cannot look up the group %s (%s): the control socket stays the "
                                  "shim's group's",
                                  name, strerror(r));
                return SHIM_CONTROL_NO_GROUP;
        }
}

gid_t shim_control_default_group(char **ret_warning) {
        return shim_control_group_gid(SHIM_CONTROL_GROUP, 0, ret_warning);
}

/*
 * A directory the control socket may live under: owned by root or by us and
 * writable by nobody else, or someone else could swap the socket (or the
 * directory) for one of their own.
 */
static int check_trusted_dir(const char *dir, const struct stat *st, char **ret_reason) {
        if (!S_ISDIR(st->st_mode))
                return ecl_reason(ret_reason, -ENOTDIR, "%s is not a directory", dir);
        if (st->st_uid != 0 && st->st_uid != geteuid())
                return ecl_reason(ret_reason, -EPERM,
                                  "%s is owned by uid %u, neither root nor the shim's user: refusing to put the "
                                  "control socket there (chown root %s)",
                                  dir, (unsigned) st->st_uid, dir);
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return ecl_reason(ret_reason, -EPERM,
                                  "%s is writable by its group or others (mode %04o): refusing to put the "
                                  "control socket there (chmod go-w %s)",
                                  dir, (unsigned) (st->st_mode & 07777), dir);
        return 0;
}

/*
 * mkdir -p with mode 0755 for what is missing below root, following no link
 * (root creates it: a planted link must not lead it elsewhere); the last one
 * must be a real directory, and it and its parent must be trusted
 * (check_trusted_dir).
 */
static int mkdir_parents(const char *root, const char *dir, char **ret_reason) {
        _cleanup_free_ char *p = strdup(dir);
        if (!p)
                return -ENOMEM;
        int r = ecl_mkdir_below(root, ECL_RUN_DIR, 0755, NULL, NULL, NULL, ret_reason);
        if (r < 0)
                return r;
        struct stat st;
        if (lstat(p, &st) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot stat %s", p);
        r = check_trusted_dir(p, &st, ret_reason);
        if (r < 0)
                return r;
        char *slash = strrchr(p, '/');
        if (slash && slash != p) {
                *slash = 0;
                if (stat(p, &st) < 0)
                        return ecl_reason_errno(ret_reason, -errno, "cannot stat %s", p);
                r = check_trusted_dir(p, &st, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Is somebody listening at path?  1 yes, 0 no (stale or missing), <0 error. */
static int probe_live(const char *path, char **ret_reason) {
        struct sockaddr_un sa;
        _cleanup_close_ int dirfd = -1;
        int r = ecl_control_sockaddr(path, &sa, &dirfd, ret_reason);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot create a socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0)
                return 1;
        if (errno == ECONNREFUSED || errno == ENOENT)
                return 0;
        return ecl_reason_errno(ret_reason, -errno, "cannot check %s", path);
}

int shim_control_listen(const char *root, const char *stack, gid_t group, struct shim_control **ret,
                        char **ret_reason) {
        _cleanup_free_ char *path = NULL, *dir = NULL, *failed = NULL;
        int r = ecl_control_socket_path(root, stack, &path, ret_reason);
        if (r >= 0)
                r = ecl_control_failed_path(root, stack, &failed, ret_reason);
        if (r < 0)
                return r;
        if (ecl_path(&dir, root, ECL_RUN_DIR) < 0)
                return -ENOMEM;
        r = mkdir_parents(root, dir, ret_reason);
        if (r < 0)
                return r;
        struct sockaddr_un sa;
        _cleanup_close_ int dirfd = -1;
        r = ecl_control_sockaddr(path, &sa, &dirfd, ret_reason);
        if (r < 0)
                return r;

        struct stat st;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return ecl_reason(ret_reason, -EEXIST, "%s exists and is not a socket (remove it)", path);
                r = probe_live(path, ret_reason);
                if (r < 0)
                        return r;
                if (r > 0)
                        return ecl_reason(ret_reason, -EBUSY, "stack %s is already running (%s answers)", stack, path);
                log_debug("removing stale control socket %s", path);
                if (unlink(path) < 0 && errno != ENOENT)
                        return ecl_reason_errno(ret_reason, -errno, "cannot remove stale socket %s", path);
        } else if (errno != ENOENT) {
                return ecl_reason_errno(ret_reason, -errno, "cannot stat %s", path);
        }

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot create a socket");
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot bind %s", path);
        /* Nobody can connect before listen(): set owner and mode in between. */
        if (group != SHIM_CONTROL_NO_GROUP && chown(path, (uid_t) -1, group) < 0) {
                r = ecl_reason_errno(ret_reason, -errno, "cannot give %s to group %u", path, (unsigned) group);
                (void) unlink(path);
                return r;
        }
        if (chmod(path, 0660) < 0 || lstat(path, &st) < 0) {
                r = ecl_reason_errno(ret_reason, -errno, "cannot set the mode of %s", path);
                (void) unlink(path);
                return r;
        }
        if (listen(fd, 16) < 0) {
                r = ecl_reason_errno(ret_reason, -errno, "cannot listen on %s", path);
                (void) unlink(path);
                return r;
        }
        /* ours now: what a previous run left of a failed clean-up is the past (the journal keeps it) */
        if (unlink(failed) < 0 && errno != ENOENT) {
                /* left, it would make the next `stop` report this run's clean-up as failed */
                r = ecl_reason_errno(ret_reason, -errno, "cannot remove %s, left by an earlier run", failed);
                (void) unlink(path);
                return r;
        }
        _cleanup_close_ int epfd = epoll_create1(EPOLL_CLOEXEC);
        _cleanup_close_ int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (epfd < 0 || tfd < 0 ||
            epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &(struct epoll_event){.events = EPOLLIN, .data.fd = fd}) < 0 ||
            epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &(struct epoll_event){.events = EPOLLIN, .data.fd = tfd}) < 0) {
                r = ecl_reason_errno(ret_reason, -errno, "cannot set up polling for %s", path);
                (void) unlink(path);
                return r;
        }
        struct shim_control *c = malloc(sizeof *c);
        if (!c) {
                (void) unlink(path);
                return -ENOMEM;
        }
        *c = (struct shim_control){
                .epfd = TAKE_FD(epfd),
                .timerfd = TAKE_FD(tfd),
                .accepting = true,
                .fd = TAKE_FD(fd),
                .path = TAKE_PTR(path),
                .failed_path = TAKE_PTR(failed),
                .dev = st.st_dev,
                .ino = st.st_ino,
                .ctim = st.st_ctim,
                .uid = geteuid(),
                .group = group,
        };
        *ret = c;
        return 0;
}

int shim_control_fd(const struct shim_control *c) {
        return c->epfd;
}

void shim_control_free(struct shim_control *c) {
        if (!c)
                return;
        struct stat st;
        if (c->path && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino &&
            st.st_ctim.tv_sec == c->ctim.tv_sec && st.st_ctim.tv_nsec == c->ctim.tv_nsec)
                (void) unlink(c->path);
        for (size_t i = 0; i < c->n_pending; i++)
                close(c->pending[i].fd);
        if (c->fd >= 0)
                close(c->fd);
        if (c->timerfd >= 0)
                close(c->timerfd);
        if (c->epfd >= 0)
                close(c->epfd);
        free(c->path);
        free(c->failed_path);
        free(c);
}

int shim_control_mark_failed(struct shim_control *c, const char *stack, const char *error, char **ret_reason) {
        json_auto_t *j = ecl_control_failed_new(stack, error);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (!text)
                return -ENOMEM;
        _cleanup_close_ int fd = open(c->failed_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot create %s", c->failed_path);
        size_t n = strlen(text);
        text[n] = '\n'; /* json_dumps' NUL: the file is one line */
        if (write(fd, text, n + 1) != (ssize_t) n + 1)
                return ecl_reason_errno(ret_reason, errno ? -errno : -EIO, "cannot write %s", c->failed_path);
        return 0;
}

static bool peer_in_group(int fd, gid_t group) {
        gid_t small[64];
        _cleanup_free_ gid_t *big = NULL;
        gid_t *groups = small;
        socklen_t len = sizeof small;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                if (errno != ERANGE || len == 0)
                        return false;
                big = malloc(len);
                if (!big)
                        return false;
                groups = big;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                        return false;
        }
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == group)
                        return true;
        return false;
}

static void send_json(int fd, json_t *j) {
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        if (!s)
                return;
        size_t n = strlen(s);
        if (n > ECL_CONTROL_MAX_RESPONSE) {
                /* the client is told; the server goes on */
                log_debug("control: response of %zu bytes exceeds the %d-byte limit", n, ECL_CONTROL_MAX_RESPONSE);
                json_auto_t *e = ecl_control_error_new(EMSGSIZE, "response too large");
                free(s);
                s = e ? json_dumps(e, JSON_COMPACT) : NULL;
                if (!s)
                        return;
                n = strlen(s);
        }
        /* never wait for a client that does not read: its answer is dropped */
        if (send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                log_debug("control: cannot answer: %m");
}

static void send_error(int fd, int error, const char *fmt, ...) _printf_(3, 4);
static void send_error(int fd, int error, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        log_debug("control: %s", msg);
        json_auto_t *j = ecl_control_error_new(error, msg);
        if (j)
                send_json(fd, j);
}

/* A request word we can safely quote in a message. */
static bool quotable(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-' || s[i] == '_'))
                        return false;
        return true;
}

/*
 * Read the request of a pending client and answer it.  0 when it is done
 * with (answered, refused or gone: the caller closes it), -EAGAIN while it
 * has sent nothing yet.
 */
static int serve(const struct shim_control *c, int fd, shim_control_handler_t handler, void *userdata) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        char buf[ECL_CONTROL_MAX_REQUEST + 1];
        ssize_t k = recv(fd, buf, sizeof buf - 1, MSG_TRUNC | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        if (k <= 0)
                return 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                log_debug("control: no peer credentials: %m");
                return 0;
        }
        struct shim_control_peer peer = {
                .pid = cred.pid,
                .uid = cred.uid,
                .gid = cred.gid,
                .privileged = cred.uid == 0 || cred.uid == c->uid,
        };
        /*
         * Judge the peer only now: answering before its request is read
         * would close a socket with unread data, and the peer would see a
         * reset instead of the answer.
         */
        bool member = !peer.privileged && c->group != SHIM_CONTROL_NO_GROUP &&
                      (cred.gid == c->group || peer_in_group(fd, c->group));
        if (!peer.privileged && !member) {
                send_error(fd, EPERM, "permission denied (uid %u is neither root, the shim's user nor in its group)",
                           (unsigned) cred.uid);
                return 0;
        }
        if ((size_t) k > sizeof buf - 1) {
                send_error(fd, EMSGSIZE, "request too large (%zd bytes, at most %d)", k, ECL_CONTROL_MAX_REQUEST);
                return 0;
        }
        buf[k] = 0;
        if (k > 0 && buf[k - 1] == '\n')
                buf[--k] = 0;
        if (strlen(buf) != (size_t) k || !quotable(buf)) {
                send_error(fd, EINVAL, "malformed request (status, stop, reload)");
                return 0;
        }
        if (!streq(buf, "status") && !streq(buf, "stop") && !streq(buf, "reload")) {
                send_error(fd, EINVAL, "unknown request '%s' (status, stop, reload)", buf);
                return 0;
        }
        if (!peer.privileged && !streq(buf, "status")) {
                send_error(fd, EPERM, "permission denied ('%s' needs root or the shim's user)", buf);
                return 0;
        }
        json_auto_t *resp = NULL;
        int r = handler(buf, &peer, &resp, userdata);
        if (r < 0) {
                send_error(fd, r, "%s failed: %s", buf, strerror(-r));
                return 0;
        }
        if (!json_is_object(resp)) {
                send_error(fd, EIO, "%s: the supervisor gave no answer", buf);
                return 0;
        }
        send_json(fd, resp);
        return 0;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void drop_pending(struct shim_control *c, size_t i) {
        (void) epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->pending[i].fd, NULL);
        close(c->pending[i].fd);
        c->pending[i] = c->pending[--c->n_pending];
}

/* Accept what waits, up to SHIM_CONTROL_MAX_PENDING clients in all. */
static int accept_clients(struct shim_control *c, uint64_t now, char **ret_reason) {
        while (c->n_pending < SHIM_CONTROL_MAX_PENDING) {
                int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                        switch (errno) {
                        case EAGAIN:
                        case EINTR:
                        case ECONNABORTED:
                        case EPROTO:
                        case EPERM:
                        case EMFILE:
                        case ENFILE:
                        case ENOBUFS:
                        case ENOMEM:
                                if (errno != EAGAIN)
                                        log_debug("control: accept: %m");
                                return 0;
                        default:
                                return ecl_reason_errno(ret_reason, -errno, "control socket %s: accept", c->path);
                        }
                }
                if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &(struct epoll_event){.events = EPOLLIN, .data.fd = fd}) < 0) {
                        log_debug("control: cannot watch a client: %m");
                        close(fd);
                        continue;
                }
                c->pending[c->n_pending++] = (struct pending){.fd = fd,
                                                              .deadline_ms = now + SHIM_CONTROL_REQUEST_TIMEOUT_MS};
        }
        return 0;
}

/* Serve the pending clients that have sent (or gone); drop those past their deadline.  Nothing here waits. */
static void serve_pending(struct shim_control *c, uint64_t now, shim_control_handler_t handler, void *userdata) {
        for (size_t i = 0; i < c->n_pending;) {
                if (serve(c, c->pending[i].fd, handler, userdata) == -EAGAIN) {
                        if (now < c->pending[i].deadline_ms) {
                                i++;
                                continue;
                        }
                        log_debug("control: no request within %d ms, dropping the client",
                                  SHIM_CONTROL_REQUEST_TIMEOUT_MS);
                }
                drop_pending(c, i);
        }
}

int shim_control_handle(struct shim_control *c, shim_control_handler_t handler, void *userdata, char **ret_reason) {
        uint64_t now = now_ms(), expirations;
        (void) !read(c->timerfd, &expirations, sizeof expirations); /* it only wakes us: deadlines are below */
        /* first those already there, so that a full table makes room for the backlog */
        serve_pending(c, now, handler, userdata);
        int r = accept_clients(c, now, ret_reason);
        if (r < 0)
                return r;
        serve_pending(c, now, handler, userdata); /* a client usually sends right after connecting */
        /* A full table stops accepting, or the listening socket would keep the loop busy. */
        bool want = c->n_pending < SHIM_CONTROL_MAX_PENDING;
        if (want != c->accepting) {
                if (epoll_ctl(c->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->fd,
                              &(struct epoll_event){.events = EPOLLIN, .data.fd = c->fd}) < 0)
                        return ecl_reason_errno(ret_reason, -errno, "control socket %s: epoll", c->path);
                c->accepting = want;
        }
        uint64_t next = 0;
        for (size_t i = 0; i < c->n_pending; i++)
                if (!next || c->pending[i].deadline_ms < next)
                        next = c->pending[i].deadline_ms;
        struct itimerspec its = {.it_value = {.tv_sec = (time_t) (next / 1000),
                                              .tv_nsec = (long) (next % 1000) * 1000000}};
        if (timerfd_settime(c->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return ecl_reason_errno(ret_reason, -errno, "control socket %s: timer", c->path);
        return 0;
}
