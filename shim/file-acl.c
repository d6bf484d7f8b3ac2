/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "file-acl.h"
#include "reason.h"
#include "macro.h"

/* The kernel's xattr form (include/uapi/linux/posix_acl_xattr.h), little-endian. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_XATTR_VERSION 2
enum { TAG_USER_OBJ = 0x01, TAG_USER = 0x02, TAG_GROUP_OBJ = 0x04, TAG_GROUP = 0x08, TAG_MASK = 0x10, TAG_OTHER = 0x20 };
#define ACL_MAX_ENTRIES 64

struct acl_entry {
        uint16_t tag;
        uint16_t perm;
        uint32_t id;
};

static int entry_cmp(const void *a, const void *b) {
        const struct acl_entry *x = a, *y = b;
        if (x->tag != y->tag)
                return x->tag < y->tag ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Entries of the xattr value, or the three the mode stands for when there is none. */
static int acl_read(const char *path, const char *name, const struct stat *st, struct acl_entry *e, size_t *n,
                    char **ret_reason) {
        uint8_t buf[4 + ACL_MAX_ENTRIES * 8];
        ssize_t len = getxattr(path, ACL_XATTR, buf, sizeof buf);
        if (len < 0 && errno == ENODATA) {
                e[0] = (struct acl_entry){TAG_USER_OBJ, (st->st_mode >> 6) & 7, UINT32_MAX};
                e[1] = (struct acl_entry){TAG_GROUP_OBJ, (st->st_mode >> 3) & 7, UINT32_MAX};
                e[2] = (struct acl_entry){TAG_OTHER, st->st_mode & 7, UINT32_MAX};
                *n = 3;
                return 0;
        }
        if (len < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read the ACL of %s", name);
        uint32_t version;
        memcpy(&version, buf, 4);
        if (len < 4 || (len - 4) % 8 != 0 || le32toh(version) != ACL_XATTR_VERSION)
                return ecl_reason(ret_reason, -EBADMSG, "the ACL of %s is not one this program understands", name);
        *n = (size_t) (len - 4) / 8;
        for (size_t i = 0; i < *n; i++) {
                uint16_t t, p;
                uint32_t id;
                memcpy(&t, buf + 4 + i * 8, 2);
                memcpy(&p, buf + 6 + i * 8, 2);
                memcpy(&id, buf + 8 + i * 8, 4);
                e[i] = (struct acl_entry){le16toh(t), le16toh(p), le32toh(id)};
        }
        return 0;
}

int shim_acl_allow_user(const char *path, uid_t uid, unsigned perms, char **ret_reason) {
        _cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s", path);
        return shim_acl_allow_user_fd(fd, path, uid, perms, ret_reason);
}

int shim_acl_allow_user_fd(int fd, const char *name, uid_t uid, unsigned perms, char **ret_reason) {
        assert(perms <= 7);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat %s", name);
        if (S_ISLNK(st.st_mode))
                return ecl_reason(ret_reason, -ELOOP, "%s is a symbolic link: its ACL is not changed", name);
        /* the inode fd names, whatever its path is now */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        struct acl_entry e[ACL_MAX_ENTRIES + 2];
        size_t n = 0;
        int r = acl_read(path, name, &st, e, &n, ret_reason);
        if (r < 0)
                return r;
        bool changed = false;
        struct acl_entry *user = NULL, *mask = NULL;
        for (size_t i = 0; i < n; i++) {
                if (e[i].tag == TAG_USER && e[i].id == (uint32_t) uid)
                        user = &e[i];
                else if (e[i].tag == TAG_MASK)
                        mask = &e[i];
        }
        if (!user) {
                if (n >= ACL_MAX_ENTRIES)
                        return ecl_reason(ret_reason, -E2BIG, "the ACL of %s has too many entries", name);
                e[n] = (struct acl_entry){TAG_USER, 0, (uint32_t) uid};
                user = &e[n++];
        }
        if ((user->perm & perms) != perms)
                user->perm = (uint16_t) (user->perm | perms), changed = true;
        /* The mask bounds every named entry and the owning group: it must let the new entry through. */
        unsigned group_class = 0;
        for (size_t i = 0; i < n; i++)
                if (e[i].tag == TAG_USER || e[i].tag == TAG_GROUP || e[i].tag == TAG_GROUP_OBJ)
                        group_class |= e[i].perm;
        if (!mask) {
                e[n++] = (struct acl_entry){TAG_MASK, (uint16_t) group_class, UINT32_MAX};
                changed = true;
        } else if ((mask->perm & perms) != perms) {
                mask->perm = (uint16_t) (mask->perm | perms);
                changed = true;
        }
        if (!changed)
                return 0;
        qsort(e, n, sizeof e[0], entry_cmp);
        uint8_t buf[4 + (ACL_MAX_ENTRIES + 2) * 8];
        uint32_t v = htole32(ACL_XATTR_VERSION);
        memcpy(buf, &v, 4);
        for (size_t i = 0; i < n; i++) {
                uint16_t t = htole16(e[i].tag), p = htole16(e[i].perm);
                uint32_t id = htole32(e[i].id);
                memcpy(buf + 4 + i * 8, &t, 2);
                memcpy(buf + 6 + i * 8, &p, 2);
                memcpy(buf + 8 + i * 8, &id, 4);
        }
        if (setxattr(path, ACL_XATTR, buf, 4 + n * 8, 0) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot give uid %u access to %s through its ACL",
                                        (unsigned) uid, name);
        return 0;
}
