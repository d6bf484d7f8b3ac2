/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The guest's serial console on disk: ROOT/var/lib/ecluse/stacks/STACK/
 * console.log, written by the shim alone (console-pipe.h reads what the
 * guest prints), never by libvirt or QEMU.  It is bounded: when console.log
 * reaches the cap it becomes console.log.1 (replacing the previous one) and
 * a new console.log starts, so at most two caps of console stay on disk
 * (the first rotation of a log left larger by an earlier shim excepted).
 *
 * The stack's directory is root's alone (shim_secure_mkdir), so nobody can
 * plant anything in it between the checks and the opens; the checks refuse
 * what an earlier, less careful setup left (a link, a hard link, a FIFO, a
 * device, a file of another user).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHIM_CONSOLE_LOG "console.log"
#define SHIM_CONSOLE_LOG_OLD "console.log.1"
/* `run --console-cap KIB`: the cap of each of the two files. */
#define SHIM_CONSOLE_CAP_DEFAULT_KIB 8192
#define SHIM_CONSOLE_CAP_MIN_KIB 64
#define SHIM_CONSOLE_CAP_MAX_KIB (UINT64_C(1) << 30) /* 1 TiB */

/*
 * Make the stack's directory (as shim_secure_mkdir() does:
 * ROOT/var/lib/ecluse/stacks/STACK, root's, no group/other write, created
 * 0711 so that QEMU's user can reach the release under it) and check
 * console.log in it, without following a link: absent, or a regular file
 * with a single link owned by root, the effective user or QEMU's user
 * (libvirt-qemu, qemu: an earlier shim let libvirt give it to QEMU).
 * Anything else is refused (-EPERM, *ret_reason saying what to remove).
 * *ret_dir_fd (optional): the directory, O_DIRECTORY.  Every failure has
 * *ret_reason (if not NULL); nothing here prints.
 */
int shim_console_prepare(const char *root, const char *stack, int *ret_dir_fd, char **ret_reason);

struct shim_console_log {
        int dir_fd;    /* the stack's directory (owned) */
        int fd;        /* console.log, O_APPEND; -1 after a failed rotation (opened again at the next write) */
        uint64_t cap;  /* bytes per file */
        uint64_t size; /* of console.log */
        uint64_t generation; /* rotations by this log so far: console.log became console.log.1 so many times */
};

/*
 * Where the next byte appended goes: console.log's inode, the offset in it
 * (its size) and the log's generation then.  A reader that finds console.log
 * of another generation finds that file as console.log.1 one rotation
 * later (by its inode), and after two it is gone.
 */
struct shim_console_mark {
        uint64_t offset, inode, generation;
};

/*
 * Open (create 0640) console.log in dir_fd, which the log takes over
 * (closed on failure too), with the checks of shim_console_prepare().
 * cap in bytes, at least 1.
 */
int shim_console_log_open(int dir_fd, uint64_t cap, struct shim_console_log *ret, char **ret_reason);

/*
 * Append n bytes, rotating whenever console.log reaches the cap (a line may
 * be split across the two files).  0, or a negative errno (with
 * *ret_reason): what was not written is lost, and the next call tries again.
 */
int shim_console_log_append(struct shim_console_log *l, const void *buf, size_t n, char **ret_reason);

/*
 * The mark of what is appended next (console.log opened again first when a
 * rotation had failed).  0, or a negative errno with *ret_reason.
 */
int shim_console_log_mark(struct shim_console_log *l, struct shim_console_mark *ret, char **ret_reason);

void shim_console_log_close(struct shim_console_log *l);
