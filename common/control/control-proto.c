/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control-proto.h"
#include "macro.h"
#include "paths.h"
#include "reason.h"
#include "stack-name.h"

static int run_file(const char *root, const char *stack, const char *suffix, char **ret, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "'%s' is not a stack name", stack);
        if (ecl_path(ret, root, ECL_RUN_DIR "/%s.%s", stack, suffix) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return 0;
}

int ecl_control_socket_path(const char *root, const char *stack, char **ret, char **ret_reason) {
        return run_file(root, stack, "sock", ret, ret_reason);
}

int ecl_control_failed_path(const char *root, const char *stack, char **ret, char **ret_reason) {
        return run_file(root, stack, "failed", ret, ret_reason);
}

int ecl_control_sockaddr(const char *path, struct sockaddr_un *ret, int *ret_dirfd, char **ret_reason) {
        *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
        *ret_dirfd = -1;
        if (strlen(path) < sizeof ret->sun_path) {
                strcpy(ret->sun_path, path);
                return 0;
        }
        const char *slash = strrchr(path, '/');
        if (!slash)
                return ecl_reason(ret_reason, -ENAMETOOLONG, "socket path too long: %s", path);
        _cleanup_free_ char *dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int fd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                return ecl_reason(ret_reason, r, "cannot open %s: %s", dir, strerror(-r));
        }
        int n = snprintf(ret->sun_path, sizeof ret->sun_path, "/proc/self/fd/%d/%s", fd, slash + 1);
        if (n < 0 || (size_t) n >= sizeof ret->sun_path) {
                close(fd);
                *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
                return ecl_reason(ret_reason, -ENAMETOOLONG, "socket path too long: %s", path);
        }
        *ret_dirfd = fd;
        return 0;
}

json_t *ecl_control_error_new(int err, const char *message) {
        return json_pack("{s:s,s:i}", "error", message, "errno", err < 0 ? -err : err);
}

json_t *ecl_control_failed_new(const char *stack, const char *error) {
        return json_pack("{s:s,s:s,s:s}", "stack", stack, "state", ECL_CONTROL_FAILED_STATE, "error", error);
}
