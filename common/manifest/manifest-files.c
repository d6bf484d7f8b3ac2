/* SPDX-License-Identifier: Apache-2.0 */
/* The files a manifest names, as they are on disk (manifest.h, ecl_manifest_check_files()). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "reason.h"
#include "stack-path.h"

/*
 * What the file itself must be once found: one name only (libvirt chowns it
 * to QEMU's user: a second name elsewhere, the audit log say, would be handed
 * over too), and for a disk no access for anyone but its owner (the data).
 */
static int check_inode(int fd, const char *path, bool disk, char **problem) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(problem, negative_errno(), "%s cannot be looked at", path);
        if (st.st_nlink > 1)
                return ecl_reason(problem, -EPERM,
                                  "%s has %ju hard links: QEMU is given the file, so every other name would be "
                                  "given with it (copy it instead)",
                                  path, (uintmax_t) st.st_nlink);
        if (disk && (st.st_mode & 0077))
                return ecl_reason(problem, -EPERM,
                                  "%s is open to other users (mode %04o): a disk holds the stack's data (chmod "
                                  "0600 it)",
                                  path, (unsigned) (st.st_mode & 07777));
        return 0;
}

/* n_bad counts the problems, n_other those that are not a missing file. */
static int check_one(const struct ecl_manifest *m, const char *root, bool missing_ok, const char *key,
                     const char *path, struct ecl_pos pos, struct ecl_diags *diags, unsigned *n_bad,
                     unsigned *n_other) {
        if (!path)
                return 0;
        _cleanup_free_ char *problem = NULL;
        _cleanup_close_ int fd = -1;
        int r = ecl_stack_path_open(root, m->stack, path, &fd, &problem);
        if (r >= 0)
                r = check_inode(fd, path, strncmp(key, "vm.disks", 8) == 0, &problem);
        if (r >= 0 || (missing_ok && (r == -ENOENT || r == -EACCES)))
                return 0;
        if (r == -ENOMEM || !problem)
                return -ENOMEM;
        (*n_bad)++;
        if (r != -ENOENT)
                (*n_other)++;
        return ecl_diags_add(diags, m->file, pos, NULL, "'%s': %s", key, problem);
}

int ecl_manifest_check_files(const struct ecl_manifest *m, const char *root, bool missing_ok,
                             struct ecl_diags *diags) {
        unsigned n_bad = 0, n_other = 0;
        int r = check_one(m, root, missing_ok, "vm.kernel", m->vm.kernel, m->vm.kernel_pos, diags, &n_bad, &n_other);
        if (r >= 0)
                r = check_one(m, root, missing_ok, "vm.initrd", m->vm.initrd, m->vm.initrd_pos, diags, &n_bad, &n_other);
        for (size_t i = 0; r >= 0 && i < m->vm.n_disks; i++) {
                char key[48];
                snprintf(key, sizeof key, "vm.disks[%zu].path", i);
                r = check_one(m, root, missing_ok, key, m->vm.disks[i].path, m->vm.disks[i].path_pos, diags, &n_bad, &n_other);
        }
        if (r < 0)
                return r;
        return n_other > 0 ? -EBADMSG : n_bad > 0 ? -ENOENT : 0;
}
