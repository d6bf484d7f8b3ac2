/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * POSIX access ACLs through their xattr (system.posix_acl_access), without
 * libacl.  Used for /dev/kvm: the stack's own QEMU identity (qemu-id.h) is in
 * no group, so the kvm group that udev gives the device does not reach it.
 */
#include <sys/types.h>

/*
 * Give uid the permissions `perms` (bits of 4 read, 2 write, 1 execute) on
 * the file fd refers to (an O_PATH descriptor will do; `name` is for
 * messages) with a named-user ACL entry, keeping every other entry.  A
 * missing mask becomes the union of the group class; an existing one gains
 * `perms` (so other named entries may gain them too: the mask bounds them
 * all).  0 when done or already so; a negative errno otherwise (-ELOOP for
 * a link, -EOPNOTSUPP when the file system has no ACLs, -EBADMSG when the
 * existing ACL is malformed), with *ret_reason (if not NULL) naming the
 * file.  Prints nothing.
 */
int shim_acl_allow_user_fd(int fd, const char *name, uid_t uid, unsigned perms, char **ret_reason);
/* The same on path, opened O_PATH | O_NOFOLLOW (a link is -ELOOP). */
int shim_acl_allow_user(const char *path, uid_t uid, unsigned perms, char **ret_reason);
