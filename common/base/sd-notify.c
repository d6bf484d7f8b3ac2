/* SPDX-License-Identifier: Apache-2.0 */
#include "sd-notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "reason.h"

/* sockaddr_un for address, and its length: -EINVAL with a reason when address is not one. */
static int notify_address(const char *address, struct sockaddr_un *sa, socklen_t *ret_len, char **ret_reason) {
        size_t n = strlen(address);
        *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
        if (address[0] == '/') {
                /* a path: with its terminating NUL in sun_path */
                if (n >= sizeof sa->sun_path)
                        return ecl_reason(ret_reason, -EINVAL, "%s=%.32s...: a path of %zu bytes, at most %zu fit",
                                          ECL_NOTIFY_SOCKET_ENV, address, n, sizeof sa->sun_path - 1);
                memcpy(sa->sun_path, address, n + 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
                return 0;
        }
        if (address[0] == '@') {
                /* abstract: a leading NUL and the name, no terminator (its length is the address's) */
                if (n == 1)
                        return ecl_reason(ret_reason, -EINVAL, "%s=@: an abstract address needs a name",
                                          ECL_NOTIFY_SOCKET_ENV);
                if (n > sizeof sa->sun_path)
                        return ecl_reason(ret_reason, -EINVAL,
                                          "%s=%.32s...: an abstract name of %zu bytes, at most %zu fit",
                                          ECL_NOTIFY_SOCKET_ENV, address, n - 1, sizeof sa->sun_path - 1);
                memcpy(sa->sun_path + 1, address + 1, n - 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n);
                return 0;
        }
        return ecl_reason(ret_reason, -EINVAL, "%s='%s': neither an absolute path nor an @abstract address",
                          ECL_NOTIFY_SOCKET_ENV, address);
}

int ecl_notify_open(const char *address, int *ret_fd, char **ret_reason) {
        *ret_fd = -1;
        if (!address)
                return 0;
        struct sockaddr_un sa;
        socklen_t len = 0;
        int r = notify_address(address, &sa, &len, ret_reason);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return ecl_reason(ret_reason, negative_errno(), "cannot make a socket for %s: %s",
                                  ECL_NOTIFY_SOCKET_ENV, strerror(errno));
        if (connect(fd, (const struct sockaddr *) &sa, len) < 0)
                return ecl_reason(ret_reason, negative_errno(), "cannot connect to %s=%s: %s", ECL_NOTIFY_SOCKET_ENV,
                                  address, strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int ecl_notify_send(int fd, const char *state, char **ret_reason) {
        if (fd < 0)
                return 0;
        size_t n = strlen(state);
        if (n == 0)
                return ecl_reason(ret_reason, -EINVAL, "no state to notify");
        /* Never blocks: a receiver whose queue is full must not stop the supervisor (the state is dropped). */
        ssize_t k = send(fd, state, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0)
                return ecl_reason(ret_reason, negative_errno(), "cannot notify the service manager: %s",
                                  strerror(errno));
        if ((size_t) k != n)
                return ecl_reason(ret_reason, -EIO, "the service manager took %zd of %zu bytes", k, n);
        return 0;
}

int ecl_sd_notify(const char *state, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        int r = ecl_notify_open(getenv(ECL_NOTIFY_SOCKET_ENV), &fd, ret_reason);
        if (r < 0)
                return r;
        return ecl_notify_send(fd, state, ret_reason);
}
