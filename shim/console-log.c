/* SPDX-License-Identifier: Apache-2.0 */
/* The console log's directory and file, checked before libvirt opens them (console-log.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-log.h"
#include "log.h"
#include "paths.h"
#include "secure-dir.h"

#define CONSOLE_NAME "console.log"

/* libvirt's DAC driver gives the log to QEMU's user (Debian libvirt-qemu, RHEL qemu). */
static bool owner_ok(uid_t uid) {
        if (uid == 0 || uid == geteuid())
                return true;
        struct passwd pw, *res = NULL;
        char buf[1024];
        return getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res &&
               (streq(res->pw_name, "libvirt-qemu") || streq(res->pw_name, "qemu"));
}

int shim_console_prepare(const char *root, const char *stack) {
        _cleanup_free_ char *rel = NULL, *dir = NULL;
        if (!stack || !*stack || strchr(stack, '/') || stack[0] == '.')
                return log_error_errno(EINVAL, "invalid stack name for the console log");
        if (asprintf(&rel, ECL_STACKS_STATE_DIR "/%s", stack) < 0 || ecl_path(&dir, root, "%s", rel) < 0)
                return log_oom();
        _cleanup_close_ int dfd = -1;
        int r = shim_secure_mkdir(root, rel, 0711, (mode_t) -1, &dfd);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(dfd, CONSOLE_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(negative_errno(), "cannot stat %s/" CONSOLE_NAME ": %m", dir);
        }
        const char *what = S_ISLNK(st.st_mode) ? "a symbolic link"
                           : !S_ISREG(st.st_mode) ? "not a regular file"
                           : st.st_nlink != 1 ? "a file with more than one link"
                           : !owner_ok(st.st_uid) ? "owned by another user"
                                                                                               : NULL;
        if (what)
                return log_error_errno(EPERM, "%s/" CONSOLE_NAME " is %s: libvirt would append the guest's console "
                                              "to it as root (remove it; it is created again)", dir, what);
        return 0;
}
