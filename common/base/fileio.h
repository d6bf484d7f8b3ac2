/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Reading files that someone else may have written, and making directories:
 * one way for the whole tree.
 *
 * An untrusted file is opened without following a final symbolic link and
 * without blocking on a FIFO, checked through that same descriptor (a regular
 * file, not larger than the caller's cap) and read from it, so what is
 * checked is what is used.  The helpers print nothing: on failure they return
 * a negative errno and, when ret_reason is not NULL, set *ret_reason to one
 * line that does not name the file (the caller says which file it was):
 *
 *   -ELOOP    "a symbolic link (refused: opened without following links)"
 *   -EISDIR   "a directory, not a regular file"
 *   -EBADMSG  "not a regular file" (a FIFO, a device, a socket)
 *   -EFBIG    "file too large (S bytes, at most N)", or "(more than N bytes)"
 *             when it grew after the check
 *   -errno    "cannot open: ...", "cannot read: ..."
 *   -ENOMEM   "out of memory"
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The reasons above that other openers of files (with flags of their own) give too. */
#define ECL_FILE_IS_LINK "a symbolic link (refused: opened without following links)"
#define ECL_FILE_IS_DIR "a directory, not a regular file"

/* Open flags for an untrusted file: read only, no final link, no FIFO wait. */
#define ECL_OPEN_UNTRUSTED (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/*
 * Open path (relative to dirfd, AT_FDCWD for the working directory) as an
 * untrusted regular file of at most max bytes.  *ret_fd receives the
 * descriptor; ret_st, when not NULL, what fstat() said of it.
 */
int ecl_file_open_at(int dirfd, const char *path, size_t max, int *ret_fd, struct stat *ret_st, char **ret_reason);

/* Read the rest of fd, at most max bytes, into a NUL-terminated buffer. */
int ecl_file_read_fd(int fd, size_t max, char **ret_buf, size_t *ret_len, char **ret_reason);

/* ecl_file_open_at(AT_FDCWD, path, ...) then ecl_file_read_fd(). */
int ecl_file_read(const char *path, size_t max, char **ret_buf, size_t *ret_len, char **ret_reason);

/*
 * mkdir -p: create every missing component of path with mode (less the
 * umask).  The last component must end up a directory, not a link to one:
 * -ENOTDIR otherwise.  *ret_reason names the component that failed.
 */
int ecl_mkdir_p(const char *path, mode_t mode, char **ret_reason);

/* ecl_mkdir_p() of the directory that holds path ("/" and "" need nothing). */
int ecl_mkdir_parent(const char *path, mode_t mode, char **ret_reason);

/*
 * One step of ecl_mkdir_below(): name (one component) in dfd, created with
 * mode (less the umask) or reused, opened with O_NOFOLLOW | O_DIRECTORY.
 * Returns the descriptor, or -ELOOP for a link, -ENOTDIR for anything else
 * than a directory, another negative errno; where names it in *ret_reason.
 * *ret_created (may be NULL): whether it was made now.
 */
int ecl_mkdirat_nofollow(int dfd, const char *name, mode_t mode, const char *where, bool *ret_created,
                         char **ret_reason);

/*
 * A check of each component ecl_mkdir_below() creates or reuses: fd is it
 * (O_DIRECTORY), where its path, created whether it was just made.  0, or
 * a negative errno with *ret_reason set.
 */
typedef int (*ecl_mkdir_check_fn)(int fd, const char *where, bool created, void *userdata, char **ret_reason);

/*
 * mkdir -p that follows no link, for what root creates: base (the
 * operator's, "/" or --root; NULL or "" is "/") is opened as it is, then
 * each component of rel is created (mode, less the umask) or reused and
 * opened with openat(O_NOFOLLOW | O_DIRECTORY) from the one above, so a
 * link anywhere in rel is refused (-ELOOP), never followed, and something
 * else than a directory is -ENOTDIR; ".." in rel is -EINVAL.  check (may be
 * NULL) is called for each component.  *ret_fd (optional) = a descriptor of
 * the last one.  *ret_reason names the component that failed.
 */
int ecl_mkdir_below(const char *base, const char *rel, mode_t mode, ecl_mkdir_check_fn check, void *userdata,
                    int *ret_fd, char **ret_reason);
