/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Files and trees that survive a crash: state a restarted program reads
 * back (the agent's records, a stack's update state) is replaced whole or
 * not at all, and what is removed is removed without following a link out
 * of the tree.
 *
 * ecl_write_atomic_at() writes a temporary file beside the target, named
 * ".NAME.tmp-XXXXXX" (ecl_atomic_temp_name()), fsyncs it, renames it over
 * NAME and fsyncs the directory: a crash leaves the old content or the new
 * one under NAME, never a mix, and at most a temporary file that
 * ecl_atomic_temps_remove_at() clears.  Nothing here prints; every function
 * returns 0 (or a count) or a negative errno with one line in *ret_reason
 * (when not NULL) that names the file as the caller gave it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How deep ecl_rm_rf_at() and ecl_fsync_tree_at() descend; deeper is -E2BIG. */
#define ECL_TREE_DEPTH_MAX 64

/*
 * Replace dirfd/name (one file name: no '/', not "." or "..") with len bytes
 * of data, mode exactly mode (no umask): a temporary file in the same
 * directory (O_CREAT | O_EXCL | O_NOFOLLOW), every byte written, fsync,
 * renameat() over name, fsync of dirfd.  On failure before the rename the
 * temporary file is removed and name is as it was.  A failure of the last
 * fsync is reported although name already holds the new content (it may not
 * survive a crash).
 */
int ecl_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, char **ret_reason);

/*
 * ECL_TEMP_SUFFIX_LEN random letters and digits, for the name of something
 * temporary (made with O_EXCL or mkdir: retry on EEXIST).
 */
#define ECL_TEMP_SUFFIX_LEN 6
void ecl_temp_suffix(char out[static ECL_TEMP_SUFFIX_LEN + 1]);

/* Whether name is a temporary file of ecl_write_atomic_at(): ".X.tmp-" and six letters or digits. */
bool ecl_atomic_temp_name(const char *name);

/*
 * Remove every temporary file of ecl_write_atomic_at() in dirfd (what a
 * crash during the write left; only regular files, never a link's target).
 * Returns how many, or a negative errno.
 */
int ecl_atomic_temps_remove_at(int dirfd, char **ret_reason);

/* fsync the directory dirfd (name NULL) or its subdirectory name (opened without following a link). */
int ecl_fsync_dir_at(int dirfd, const char *name, char **ret_reason);

/*
 * fsync every regular file and directory of the tree dirfd/name, the
 * directories after what they hold, following no link (links themselves
 * are entries of their directory, made durable with it).
 */
int ecl_fsync_tree_at(int dirfd, const char *name, char **ret_reason);

/*
 * rm -rf dirfd/name, following no link: a link is unlinked itself, a
 * directory is opened with O_NOFOLLOW | O_DIRECTORY and emptied first, at
 * most ECL_TREE_DEPTH_MAX levels deep (-E2BIG beyond, with what was above
 * left in place).  name missing is 0.  The directory is not fsync'd.
 */
int ecl_rm_rf_at(int dirfd, const char *name, char **ret_reason);
