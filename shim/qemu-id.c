/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "names.h"
#include "paths.h"
#include "qemu-id.h"

void shim_qemu_id_label(uid_t id, char buf[static SHIM_QEMU_ID_LABEL_MAX]) {
        snprintf(buf, SHIM_QEMU_ID_LABEL_MAX, "+%u:+%u", (unsigned) id, (unsigned) id);
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Another stack under dir (a directory per stack) with the same id: -EEXIST. */
static int check_stacks_in(const char *root, const char *rel, const char *stack, uid_t id) {
        _cleanup_free_ char *dir = NULL;
        if (ecl_path(&dir, root, "%s", rel) < 0)
                return log_oom();
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : log_error_errno(negative_errno(), "cannot read %s: %m", dir);
        __attribute__((cleanup(closedirp))) DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return log_error_errno(negative_errno(), "cannot read %s: %m", dir);
        }
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.' || streq(e->d_name, stack))
                        continue;
                if (shim_qemu_id(e->d_name) == id)
                        return log_error_errno(EEXIST,
                                               "stacks %s and %s would run QEMU as the same uid %u (%s/%s): "
                                               "rename one of them",
                                               stack, e->d_name, (unsigned) id, dir, e->d_name);
        }
        return 0;
}

static int taken(const char *stack, uid_t id, const char *what, const char *name) {
        return log_error_errno(EEXIST,
                               "stack %s: QEMU's %s %u is %s %s's on this host: renumber it (ecluse keeps %u-%u "
                               "for QEMU) or rename the stack",
                               stack, what[0] == 'u' ? "uid" : "gid", (unsigned) id, what, name, SHIM_QEMU_ID_BASE,
                               SHIM_QEMU_ID_BASE + (1u << SHIM_QEMU_ID_BITS) - 1);
}

int shim_qemu_id_check(const char *root, const char *stack, uid_t id) {
        char buf[4096];
        struct passwd pw, *pres = NULL;
        if (getpwuid_r(id, &pw, buf, sizeof buf, &pres) == 0 && pres)
                return taken(stack, id, "user", pres->pw_name);
        struct group gr, *gres = NULL;
        if (getgrgid_r(id, &gr, buf, sizeof buf, &gres) == 0 && gres)
                return taken(stack, id, "group", gres->gr_name);
        int r = check_stacks_in(root, ECL_STACKS_STATE_DIR, stack, id);
        if (r < 0)
                return r;
        return check_stacks_in(root, ECL_LIBVIRT_DIR, stack, id);
}
