/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "file-acl.h"
#include "reason.h"
#include "strparse.h"
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
static int check_stacks_in(const char *root, const char *rel, const char *stack, uid_t id, char **ret_reason) {
        _cleanup_free_ char *dir = NULL;
        if (ecl_path(&dir, root, "%s", rel) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", dir);
        __attribute__((cleanup(closedirp))) DIR *d = fdopendir(fd);
        if (!d) {
                int e = negative_errno();
                close(fd);
                return ecl_reason_errno(ret_reason, e, "cannot read %s", dir);
        }
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.' || streq(e->d_name, stack))
                        continue;
                if (shim_qemu_id(e->d_name) == id)
                        return ecl_reason(ret_reason, -EEXIST,
                                          "stacks %s and %s would run QEMU as the same uid %u (%s/%s): "
                                          "rename one of them",
                                          stack, e->d_name, (unsigned) id, dir, e->d_name);
        }
        return 0;
}

static int taken(const char *stack, uid_t id, const char *what, const char *name, char **ret_reason) {
        return ecl_reason(ret_reason, -EEXIST,
                          "stack %s: QEMU's %s %u is %s %s's on this host: renumber it (ecluse keeps %u-%u "
                          "for QEMU) or rename the stack",
                          stack, what[0] == 'u' ? "uid" : "gid", (unsigned) id, what, name, SHIM_QEMU_ID_BASE,
                          SHIM_QEMU_ID_BASE + (1u << SHIM_QEMU_ID_BITS) - 1);
}

int shim_qemu_id_check_subids(const char *path, const char *stack, uid_t id, char **ret_reason) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s", path);
        char line[1024];
        for (unsigned n = 1; fgets(line, sizeof line, f); n++) {
                /* NAME:FIRST:COUNT, as shadow-utils' newuidmap reads it */
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (line[0] == '#' || !c1 || !c2)
                        continue;
                *c1 = '\0';
                const char *end;
                int64_t first, count;
                /*
                 * A range this strict parser cannot read (leading zeros, blanks) may still be one
                 * newuidmap reads, and cover QEMU's id: fail closed, naming the line.
                 */
                /* a FIRST without a digit ("bob:x:1") newuidmap skips too */
                bool numeric = strcspn(c1 + 1, "0123456789") < (size_t) (c2 - (c1 + 1));
                if (ecl_parse_int_prefix(c1 + 1, 0, UINT32_MAX, &first, &end) < 0 || end != c2 ||
                    ecl_parse_int_prefix(c2 + 1, 0, INT64_MAX, &count, NULL) < 0) {
                        if (!numeric)
                                continue;
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "stack %s: %s:%u: cannot read the range given to %s, so cannot tell "
                                          "whether it covers QEMU's id %u: write it as NAME:FIRST:COUNT in decimal",
                                          stack, path, n, line, (unsigned) id);
                }
                if (id >= first && id - first < count)
                        return ecl_reason(ret_reason, -EEXIST,
                                          "stack %s: QEMU's id %u is in the range %llu-%llu that %s:%u gives %s "
                                          "(newuidmap would let it become QEMU): move that range or rename the stack",
                                          stack, (unsigned) id, (unsigned long long) first,
                                          (unsigned long long) first + (unsigned long long) count - 1, path, n, line);
        }
        return ferror(f) ? ecl_reason(ret_reason, -EIO, "cannot read %s", path) : 0;
}

int shim_qemu_id_check(const char *root, const char *stack, uid_t id, char **ret_reason) {
        char buf[16384];
        struct passwd pw, *pres = NULL;
        int e = getpwuid_r(id, &pw, buf, sizeof buf, &pres);
        if (e == 0 && pres)
                return taken(stack, id, "user", pres->pw_name, ret_reason);
        if (e != 0) /* NSS cannot say (ERANGE, sssd down): not known to be free */
                return ecl_reason_errno(ret_reason, -e, "stack %s: cannot tell whether uid %u is a user's", stack,
                                        (unsigned) id);
        struct group gr, *gres = NULL;
        e = getgrgid_r(id, &gr, buf, sizeof buf, &gres);
        if (e == 0 && gres)
                return taken(stack, id, "group", gres->gr_name, ret_reason);
        if (e != 0)
                return ecl_reason_errno(ret_reason, -e, "stack %s: cannot tell whether gid %u is a group's", stack,
                                        (unsigned) id);
        int r = shim_qemu_id_check_subids(SHIM_SUBUID_FILE, stack, id, ret_reason);
        if (r >= 0)
                r = shim_qemu_id_check_subids(SHIM_SUBGID_FILE, stack, id, ret_reason);
        if (r < 0)
                return r;
        r = check_stacks_in(root, ECL_STACKS_STATE_DIR, stack, id, ret_reason);
        if (r < 0)
                return r;
        return check_stacks_in(root, ECL_LIBVIRT_DIR, stack, id, ret_reason);
}

int shim_qemu_id_allow_kvm(const char *dev, uid_t id, char **ret_reason) {
        /* checked and changed through one descriptor: what is checked is what gets the entry */
        _cleanup_close_ int fd = open(dev, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s", dev);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat %s", dev);
        /* the KVM device itself (misc 10:232), not a file or link planted at its name */
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 232)
                return ecl_reason(ret_reason, -EPERM,
                                  "%s is not the KVM device (character device 10:232): not given to uid %u", dev,
                                  (unsigned) id);
        return shim_acl_allow_user_fd(fd, dev, id, 6, ret_reason);
}

/* Every number of a status value is id, and there are n of them (any number for n 0: Groups). */
static bool all_ids(const char *line, unsigned n, uid_t id) {
        unsigned seen = 0;
        for (const char *p = line; *p;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p || *p == '\n')
                        break;
                const char *end;
                int64_t v;
                if (ecl_parse_int_prefix(p, 0, UINT32_MAX, &v, &end) < 0 || v != (int64_t) id)
                        return false;
                seen++;
                p = end;
        }
        return n ? seen == n : true;
}

int shim_qemu_id_check_process(pid_t pid, uid_t id, char **ret_violation) {
        *ret_violation = NULL;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH
                                       : ecl_reason_errno(ret_violation, negative_errno(), "cannot read %s", path);
        char line[4096];
        bool uid_ok = false, gid_ok = false, groups_ok = false;
        char shown[3][128] = {"?", "?", "?"};
        while (fgets(line, sizeof line, f)) {
                static const char *const keys[] = {"Uid:", "Gid:", "Groups:"};
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        size_t kl = strlen(keys[k]);
                        if (strncmp(line, keys[k], kl) != 0)
                                continue;
                        const char *v = line + kl;
                        bool ok = all_ids(v, k < 2 ? 4 : 0, id);
                        snprintf(shown[k], sizeof shown[k], "%.*s", (int) strcspn(v + strspn(v, " \t"), "\n"),
                                 v + strspn(v, " \t"));
                        if (k == 0)
                                uid_ok = ok;
                        else if (k == 1)
                                gid_ok = ok;
                        else
                                groups_ok = ok;
                }
        }
        if (uid_ok && gid_ok && groups_ok)
                return 0;
        return ecl_reason(ret_violation, -EPERM,
                          "QEMU (pid %d) runs as uid %s, gid %s, groups '%s', not the stack's own %u alone", (int) pid,
                          shown[0], shown[1], shown[2], (unsigned) id);
}
