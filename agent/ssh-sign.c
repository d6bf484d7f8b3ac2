/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reason.h"
#include "ssh-sign.h"
#include "sshsig.h"

#define SSH_KEYGEN "ssh-keygen"
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"

/*
 * The child: stdin and stdout become the pipes, every other descriptor but
 * stderr is closed, SIGPIPE is back to its default, then ssh-keygen.  A
 * failure before exec reaches the parent as an errno on err_fd.  Only
 * async-signal-safe calls here.
 */
_Noreturn static void child(int in_fd, int out_fd, int err_fd, const sigset_t *mask, char *const argv[]) {
        int e;
        int in = fcntl(in_fd, F_DUPFD, 3), out = fcntl(out_fd, F_DUPFD, 3), err = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
        if (in < 0 || out < 0 || err < 0)
                goto fail;
        /* stdin and stdout: the pipes, as ssh-keygen reads and writes them. */
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
                goto fail;
        if (err != 3) {
                if (dup3(err, 3, O_CLOEXEC) < 0)
                        goto fail;
                err = 3;
        }
        if (close_range(4, UINT_MAX, 0) < 0)
                goto fail;
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, mask, NULL);
        execvp(argv[0], argv);
fail:
        e = errno;
        (void) !write(err >= 0 ? err : err_fd, &e, sizeof e);
        _exit(127);
}

static void reap(pid_t pid, int *status) {
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
}

/* Feed msg to in_fd (closed when done) and read out_fd to its end into buf. */
static int exchange(int *in_fd, int out_fd, const char *msg, size_t len, char *buf, size_t *got, char **ret_reason) {
        size_t sent = 0;
        if (len == 0) {
                close(*in_fd);
                *in_fd = -1;
        }
        for (;;) {
                struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = *in_fd, .events = POLLOUT}};
                int n = poll(p, *in_fd >= 0 ? 2 : 1, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "waiting for ssh-keygen");
                if (*in_fd >= 0 && p[1].revents) {
                        ssize_t k = write(*in_fd, msg + sent, len - sent);
                        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (k < 0 && errno != EPIPE)
                                return ecl_reason_errno(ret_reason, negative_errno(), "writing to ssh-keygen");
                        /* EPIPE: it stopped reading; its exit status will say why. */
                        if (k < 0 || (sent += (size_t) k) == len) {
                                close(*in_fd);
                                *in_fd = -1;
                        }
                }
                if (p[0].revents) {
                        ssize_t k = read(out_fd, buf + *got, ECL_SSHSIG_MAX_SIZE + 1 - *got);
                        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (k < 0)
                                return ecl_reason_errno(ret_reason, negative_errno(), "reading from ssh-keygen");
                        if (k == 0)
                                return 0;
                        *got += (size_t) k;
                        if (*got > ECL_SSHSIG_MAX_SIZE)
                                return ecl_reason(ret_reason, -EFBIG, "ssh-keygen printed more than %d bytes",
                                                  ECL_SSHSIG_MAX_SIZE);
                }
        }
}

/* Take a SIGPIPE our own writes raised, unless one was pending before. */
static void drop_sigpipe(bool was_pending) {
        sigset_t pending, pipe_only;
        if (was_pending || sigpending(&pending) < 0 || !sigismember(&pending, SIGPIPE))
                return;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        (void) sigtimedwait(&pipe_only, NULL, &(struct timespec){0});
}

int agent_ssh_sign(const char *key_path, const char *ns, const void *msg, size_t len, char **ret_sig,
                   size_t *ret_sig_len, char **ret_reason) {
        assert(key_path && ns && *ns && (msg || len == 0) && ret_sig && ret_sig_len);
        struct stat st;
        if (stat(key_path, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "key file %s", key_path);

        int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                int r = negative_errno();
                for (size_t i = 0; i < 2; i++)
                        close(in[i]), close(out[i]), close(err[i]);
                return ecl_reason_errno(ret_reason, r, "cannot make pipes for ssh-keygen");
        }
        _cleanup_close_ int in_w = in[1], out_r = out[0], err_r = err[0];
        _cleanup_free_ char *buf = malloc(ECL_SSHSIG_MAX_SIZE + 2);
        if (!buf || fcntl(in_w, F_SETFL, O_NONBLOCK) < 0) {
                close(in[0]), close(out[1]), close(err[1]);
                return ecl_reason(ret_reason, buf ? negative_errno() : -ENOMEM, "cannot set up ssh-keygen's pipes");
        }

        /* SIGPIPE stays blocked while we write, so an early exit of
         * ssh-keygen is an EPIPE, not the death of the caller. */
        sigset_t block, old, pending;
        sigemptyset(&block);
        sigaddset(&block, SIGPIPE);
        bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
        int r = -pthread_sigmask(SIG_BLOCK, &block, &old);
        if (r < 0) {
                close(in[0]), close(out[1]), close(err[1]);
                return ecl_reason(ret_reason, r, "cannot block SIGPIPE: %s", strerror(-r));
        }

        char *argv[] = {SSH_KEYGEN, "-Y", "sign", "-f", (char *) key_path, "-n", (char *) ns, NULL};
        pid_t pid = fork();
        if (pid == 0)
                child(in[0], out[1], err[1], &old, argv);
        r = pid < 0 ? negative_errno() : 0;
        close(in[0]), close(out[1]), close(err[1]);
        if (r < 0) {
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
                return ecl_reason_errno(ret_reason, r, "cannot start ssh-keygen");
        }

        /* The error pipe closes at exec; an errno on it means there was none. */
        int child_errno = 0;
        ssize_t k;
        while ((k = read(err_r, &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
                ;
        size_t got = 0;
        if (k == (ssize_t) sizeof child_errno) {
                r = -child_errno;
                if (r == -ENOENT)
                        (void) ecl_reason(ret_reason, r,
                                          "%s not found on PATH: signing needs OpenSSH's ssh-keygen "
                                          "(package openssh-client)",
                                          SSH_KEYGEN);
                else
                        (void) ecl_reason(ret_reason, r, "cannot run %s: %s", SSH_KEYGEN, strerror(child_errno));
        } else {
                r = exchange(&in_w, out_r, msg, len, buf, &got, ret_reason);
        }
        if (in_w >= 0) {
                close(in_w);
                in_w = -1;
        }
        if (r < 0)
                kill(pid, SIGKILL);
        int status = 0;
        reap(pid, &status);
        drop_sigpipe(was_pending);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (WIFSIGNALED(status))
                        return ecl_reason(ret_reason, -EKEYREJECTED, "%s -Y sign with %s was killed by signal %d",
                                          SSH_KEYGEN, key_path, WTERMSIG(status));
                return ecl_reason(ret_reason, -EKEYREJECTED,
                                  "%s -Y sign with %s failed (exit status %d; its message is above)", SSH_KEYGEN,
                                  key_path, WEXITSTATUS(status));
        }
        buf[got] = '\0';
        if (got < strlen(ARMOR_BEGIN) || memcmp(buf, ARMOR_BEGIN, strlen(ARMOR_BEGIN)) != 0 || strlen(buf) != got)
                return ecl_reason(ret_reason, -EBADMSG, "%s -Y sign printed no armored SSH signature", SSH_KEYGEN);
        *ret_sig_len = got;
        *ret_sig = TAKE_PTR(buf);
        return 0;
}
