/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The shim runs as root and hands paths under --root to libvirt, which
 * opens them as root (qemu.conf, the console log) or gives them to QEMU.
 * A link or a directory somebody else can write on the way would let that
 * somebody choose what root reads or appends to.  These helpers walk a
 * tree component by component, never following a link, and check what they
 * reuse the way they make what they create; and they say, before QEMU
 * fails with a bare "Permission denied", which directory QEMU's user
 * cannot search.
 */
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Open base/rel as a directory, creating what is missing: rel's components
 * one by one (openat with O_NOFOLLOW, so a link anywhere in rel is refused,
 * not followed).  Each component of rel, created or reused, must be a real
 * directory owned by root or the effective user, with no group or other
 * write; the ones created get exactly `mode` (and are owned by the
 * effective user).  base itself is the operator's (--root, "/"): opened as
 * it is, not checked.  With `last_mode` not (mode_t) -1 the last component
 * is set to it (fchmod), created or not.  *ret_fd (optional) = an
 * O_DIRECTORY descriptor of the last component.  0, or a negative errno
 * with *ret_reason (if not NULL) naming the path and what is wrong with it.
 * Nothing here prints.
 */
int shim_secure_mkdir(const char *base, const char *rel, mode_t mode, mode_t last_mode, int *ret_fd, char **ret_reason);

/* Whether st (a directory of the tree) may be reused: owner root or euid, no group/other write. */
bool shim_secure_dir_ok(const struct stat *st);

/*
 * Can user `uid` (primary group gid, supplementary groups those of `user`
 * when it is not NULL) reach `path`: search every directory on the way
 * (path itself too when it is a directory), following each link as the
 * kernel would (the directories of the link's target count as well)?
 * Permissions are judged from the mode bits (no ACLs), as that user, not
 * as the caller: uid 0 reaches everything.  A component that does not
 * exist ends the walk (whoever creates it decides).  Returns 0, or -EACCES
 * with *ret_problem = one sentence naming the directory, its mode and
 * owner, and what to change; `who` names the user in it ("QEMU runs as
 * libvirt-qemu").  Other errors: a negative errno, *ret_problem saying so.
 */
int shim_reach_check(const char *path, const char *user, uid_t uid, gid_t gid, const char *who, char **ret_problem);
