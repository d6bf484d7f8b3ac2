/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control-client.h"
#include "control-proto.h"
#include "fileio.h"
#include "macro.h"
#include "paths.h"
#include "reason.h"
#include "stack-name.h"

/* The answer buf[0..len) of the stack's shim: its object, or the error it carries. */
static int parse_answer(const char *stack, const char *buf, size_t len, json_t **ret, char **ret_reason) {
        json_error_t err;
        json_auto_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(j))
                return ecl_reason(ret_reason, -EBADMSG, "stack %s: the answer is not a JSON object", stack);
        json_t *e = json_object_get(j, "error");
        if (e) {
                json_int_t code = json_integer_value(json_object_get(j, "errno"));
                int error = code > 0 && code < 4096 ? (int) code : EIO;
                return ecl_reason(ret_reason, -error, "stack %s: %s", stack,
                                  json_is_string(e) ? json_string_value(e) : "request failed");
        }
        *ret = TAKE_PTR(j);
        return 0;
}

int ecl_control_call(const char *root, const char *stack, const char *request, json_t **ret, char **ret_reason) {
        _cleanup_free_ char *path = NULL;
        int r = ecl_control_socket_path(root, stack, &path, ret_reason);
        if (r < 0)
                return r;
        struct sockaddr_un sa;
        _cleanup_close_ int dirfd = -1;
        r = ecl_control_sockaddr(path, &sa, &dirfd, ret_reason);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                return ecl_reason(ret_reason, r, "cannot create a socket: %s", strerror(-r));
        }
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return ecl_reason(ret_reason, -ESRCH, "stack %s: shim not running (no control socket %s)",
                                          stack, path);
                if (r == -ECONNREFUSED)
                        return ecl_reason(ret_reason, -ESRCH, "stack %s: shim not running (stale control socket %s)",
                                          stack, path);
                return ecl_reason(ret_reason, r, "stack %s: cannot connect to %s: %s", stack, path, strerror(-r));
        }
        /* A shim that refuses us may answer and close before we have sent: read its answer anyway. */
        if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET) {
                r = -errno;
                return ecl_reason(ret_reason, r, "stack %s: cannot send the request: %s", stack, strerror(-r));
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n;
        while ((n = poll(&p, 1, ECL_CONTROL_CALL_TIMEOUT_MS)) < 0 && errno == EINTR)
                ;
        if (n < 0) {
                r = -errno;
                return ecl_reason(ret_reason, r, "stack %s: poll: %s", stack, strerror(-r));
        }
        if (n == 0)
                return ecl_reason(ret_reason, -ETIMEDOUT, "stack %s: no answer from the shim within %d s", stack,
                                  ECL_CONTROL_CALL_TIMEOUT_MS / 1000);
        _cleanup_free_ char *buf = malloc(ECL_CONTROL_MAX_RESPONSE + 1);
        if (!buf)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        /* MSG_TRUNC: the length of the whole message, so that a longer one is told from one that fits */
        ssize_t k = recv(fd, buf, ECL_CONTROL_MAX_RESPONSE + 1, MSG_TRUNC);
        if (k < 0) {
                r = -errno;
                if (r == -ECONNRESET)
                        return ecl_reason(ret_reason, r, "stack %s: the shim closed the connection without answering",
                                          stack);
                return ecl_reason(ret_reason, r, "stack %s: cannot read the answer: %s", stack, strerror(-r));
        }
        if (k == 0)
                return ecl_reason(ret_reason, -ECONNRESET,
                                  "stack %s: the shim closed the connection without answering", stack);
        if (k > ECL_CONTROL_MAX_RESPONSE)
                return ecl_reason(ret_reason, -EBADMSG, "stack %s: answer too large (%zd bytes, at most %d)", stack, k,
                                  ECL_CONTROL_MAX_RESPONSE);
        return parse_answer(stack, buf, (size_t) k, ret, ret_reason);
}

int ecl_control_read_failed(const char *root, const char *stack, json_t **ret, char **ret_reason) {
        _cleanup_free_ char *path = NULL;
        int r = ecl_control_failed_path(root, stack, &path, ret_reason);
        if (r < 0)
                return r;
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len = 0;
        r = ecl_file_read(path, 4096, &buf, &len, &why);
        if (r == -ENOENT)
                return 0;
        if (r < 0 && r != -EFBIG && r != -EBADMSG && r != -ELOOP)
                return ecl_reason(ret_reason, r, "%s: %s", path, ecl_reason_text(why, r));
        json_t *j = r < 0 ? NULL : json_loadb(buf, len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                j = ecl_control_failed_new(stack, "unreadable failure record");
                if (!j)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        *ret = j;
        return 1;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* NAME.sock (a socket) or NAME.failed (a file): NAME's length, else 0. */
static size_t stack_file(const struct dirent *de) {
        size_t l = strlen(de->d_name);
        if (l > 5 && streq(de->d_name + l - 5, ".sock") && (de->d_type == DT_SOCK || de->d_type == DT_UNKNOWN))
                return l - 5;
        /* a stack whose shim is gone after a failed clean-up is listed too (by its .failed) */
        if (l > 7 && streq(de->d_name + l - 7, ".failed") && (de->d_type == DT_REG || de->d_type == DT_UNKNOWN))
                return l - 7;
        return 0;
}

int ecl_control_list(const char *root, char ***ret_stacks, char **ret_reason) {
        _cleanup_free_ char *dir = NULL;
        if (ecl_path(&dir, root, ECL_RUN_DIR) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
        if (!v)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t n = 0;
        DIR *d = opendir(dir);
        if (!d) {
                int r = -errno;
                if (r != -ENOENT)
                        return ecl_reason(ret_reason, r, "cannot open %s: %s", dir, strerror(-r));
                *ret_stacks = TAKE_PTR(v);
                return 0;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                size_t l = stack_file(de);
                if (l == 0)
                        continue;
                _cleanup_free_ char *name = strndup(de->d_name, l);
                if (!name) {
                        r = ecl_reason(ret_reason, -ENOMEM, "out of memory");
                        break;
                }
                if (!ecl_stack_name_valid(name))
                        continue;
                char **nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv) {
                        r = ecl_reason(ret_reason, -ENOMEM, "out of memory");
                        break;
                }
                v = nv;
                v[n++] = TAKE_PTR(name);
                v[n] = NULL;
        }
        closedir(d);
        if (r < 0)
                return r;
        qsort(v, n, sizeof(char *), cmp_str);
        /* both files of one stack: once */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && streq(v[k - 1], v[i]))
                        free(v[i]);
                else
                        v[k++] = v[i];
        }
        v[k] = NULL;
        *ret_stacks = TAKE_PTR(v);
        return 0;
}
