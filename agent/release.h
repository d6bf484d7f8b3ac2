/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A stack's releases (DESIGN.md, "Paths" and "Bundles, approvals, access"):
 *
 *         STACK/releases/VERSION/          one directory per release, flat
 *         STACK/releases/.stage-VERSION/   a release being staged (gone after recovery)
 *         STACK/current -> releases/VERSION
 *         STACK/.current.new               the link being switched in (gone after recovery)
 *
 * Everything works from a descriptor of the stack's directory
 * (ROOT/var/lib/ecluse/stacks/STACK, opened by the caller, who also holds
 * whatever lock keeps two agents off one stack) and names below it, opened
 * one component at a time without following a link: `releases`, a release
 * and its files are never reached through a symbolic link, and `current`
 * is read as a link, never followed.
 *
 * Durability: a release is staged under releases/.stage-VERSION/, every
 * file copied, hashed back from the staged copy's own descriptor and
 * compared with bundle.yaml, every file and the directory fsync'ed, then
 * renamed to releases/VERSION (never over anything) and releases/
 * fsync'ed.  `current` is switched by renaming a new link over it, then
 * the stack's directory is fsync'ed.  So a crash at any moment leaves
 * releases/VERSION either absent or complete and `current` either the old
 * or the new link; what a crash leaves behind (.stage-*, .current.new) is
 * removed by agent_release_recover(), which the agent runs before anything
 * else that touches the stack.
 *
 * Modes: releases/ and a release's directory are 0711 (QEMU's user must
 * search them, shim/secure-dir.h; nobody else may list them), a stage
 * directory 0700 until its rename, files 0600 (libvirt hands them to
 * QEMU's user).  Nothing here prints; failures return a negative errno and
 * one line in *ret_reason (when not NULL) naming the file.
 *
 * A VERSION (and a file name) given here must be a plain directory entry
 * name: not empty, no '/', not starting with '.', no control character, at
 * most AGENT_RELEASE_NAME_MAX bytes; anything else is -EINVAL.
 */
#include <stddef.h>
#include <stdint.h>

#include "bundle-meta.h"
#include "file-hash.h"
#include "macro.h"

#define AGENT_RELEASES_DIR "releases"
#define AGENT_RELEASE_CURRENT "current"
#define AGENT_RELEASE_CURRENT_NEW ".current.new"
#define AGENT_RELEASE_STAGE_PREFIX ".stage-"
#define AGENT_RELEASE_NAME_MAX 255
#define AGENT_RELEASE_FILES_MAX 4096 /* entries agent_release_files() reads in one release */

/*
 * Stage releases/VERSION from src_dirfd (the quarantined payload, files named
 * by their install names): each of files[0..n) is opened there without
 * following a link (a regular file of files[i].size bytes), copied into
 * releases/.stage-VERSION/ (created 0700; files 0600, O_CREAT|O_EXCL|
 * O_NOFOLLOW), hashed back from the copy's own descriptor and compared
 * with files[i].size and files[i].sha256; then every file and the directory
 * are fsync'ed, the directory set to 0711, renamed to releases/VERSION and
 * releases/ fsync'ed (releases/ is created 0711 when missing).  Returns 0 or:
 *   -EEXIST   releases/VERSION exists (agent_release_verify() tells whether
 *             it is this release)
 *   -EBUSY    releases/.stage-VERSION exists (a crash not recovered, or
 *             another agent at work)
 *   -EBADMSG  a staged copy is not what bundle.yaml says ("disk.qcow2:
 *             sha256 mismatch (staged copy 9ac4..., bundle.yaml 3b1f...)"),
 *             or a source is not a regular file of the declared size
 *   -EINVAL   a bad version or install name, or one install name twice
 *   -ENOSPC, -EIO... what the kernel said
 * On any failure the stage directory is removed and releases/ holds what it
 * held before.
 */
int agent_release_stage(int stack_dirfd, const char *version, int src_dirfd, const struct agent_bundle_file *files,
                        size_t n, char **ret_reason);

/*
 * Re-hash releases/VERSION's files against files[0..n): each must be there,
 * a regular file (not a link) with one hard link only, of files[i].size
 * bytes and files[i].sha256.  Other files in the release are not looked at.
 * 0, -ENOENT (the release or a file is missing), -EBADMSG (anything else
 * wrong: "vmlinuz: 2 hard links", "vmlinuz: a symbolic link", a size or
 * hash mismatch), -ELOOP/-ENOTDIR when releases/ or the release is a link
 * or no directory, -EINVAL.
 */
int agent_release_verify(int stack_dirfd, const char *version, const struct agent_bundle_file *files, size_t n,
                         char **ret_reason);

/*
 * Point current at releases/VERSION: symlinkat("releases/VERSION",
 * ".current.new") (a leftover one is replaced), renameat() over current,
 * fsync the stack's directory.  Refused: -ENOENT when releases/VERSION does
 * not exist, -ENOTDIR when it is no directory (a link to one included),
 * -EBADMSG when current is there but not a symbolic link (a hand-placed
 * directory must be moved to releases/VERSION first), -EINVAL.
 */
int agent_release_switch(int stack_dirfd, const char *version, char **ret_reason);

/*
 * The version current points at: current must be a symbolic link whose
 * target is exactly "releases/V", V a valid name (as above) of a directory
 * in releases/.  0 and *ret_version; -ENOENT when there is no current;
 * -EBADMSG otherwise ("current points at /etc, not releases/VERSION",
 * "current points at releases/2.0, which is not a directory", "current is
 * not a symbolic link").
 */
int agent_release_current(int stack_dirfd, char **ret_version, char **ret_reason);

/*
 * The releases in releases/: the directories (not links) with a valid name,
 * so never a .stage-*; a NULL-terminated vector, unsorted.  No releases/ is
 * an empty vector.  Returns how many, or a negative errno.
 */
int agent_release_list(int stack_dirfd, char ***ret_versions, char **ret_reason);

/*
 * After a crash: remove every releases/.stage-* (whatever it holds) and a
 * leftover .current.new.  A complete releases/VERSION and current are
 * never touched.  Returns how many entries were removed (0 when there was
 * nothing to do), or a negative errno.
 */
int agent_release_recover(int stack_dirfd, char **ret_reason);

/* What a release holds, for `show`. */
struct agent_release_file {
        char *name;
        uint64_t size;
        char sha256_hex[AGENT_SHA256_HEX_LEN + 1];
};

/*
 * The regular files directly in releases/VERSION (other entries: links,
 * directories, devices are left out), each hashed now from its own
 * descriptor, sorted by name.  At most AGENT_RELEASE_FILES_MAX (-E2BIG).
 * 0, *ret (an array of *ret_n, to agent_release_files_free()), or a
 * negative errno (-ENOENT no such release, -ELOOP/-ENOTDIR, -EIO...).
 */
int agent_release_files(int stack_dirfd, const char *version, struct agent_release_file **ret, size_t *ret_n,
                        char **ret_reason);
void agent_release_files_free(struct agent_release_file *f, size_t n);

/* The comparison `show` prints, against the running release. */
enum agent_change {
        AGENT_CHANGE_SAME,
        AGENT_CHANGE_ADDED,   /* in the bundle only */
        AGENT_CHANGE_REMOVED, /* in the running release only */
        AGENT_CHANGE_CHANGED, /* in both, size or hash differ */
};

/* Names and hashes point into the two inputs, which must outlive it; NULL on the side a name is missing from. */
struct agent_release_change {
        const char *name;
        enum agent_change change;
        uint64_t old_size, new_size;
        const char *old_sha256, *new_sha256;
};

/* "same", "added", "removed", "changed". */
const char *agent_change_to_string(enum agent_change c);

/*
 * Every name in either side once, sorted by name (strcmp), with its change.
 * 0 and *ret (free() it; NULL when both sides are empty), *ret_n; -ENOMEM.
 */
int agent_release_compare(const struct agent_release_file *running, size_t n_running,
                          const struct agent_bundle_file *files, size_t n_files, struct agent_release_change **ret,
                          size_t *ret_n);
