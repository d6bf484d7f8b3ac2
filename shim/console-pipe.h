/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The guest's serial port goes to a FIFO, ROOT/var/lib/ecluse/stacks/STACK/
 * console.pipe (shim_domain_console_path()), that the shim reads in
 * libvirt's event loop and writes to the capped console log
 * (console-log.h).  The domain names it as <serial type='file'> with
 * <seclabel model='dac' relabel='no'/> on its source: libvirt (root) opens
 * it for writing and passes the descriptor to QEMU, and its DAC driver
 * leaves it root's, 0600.  QEMU's user can neither open the FIFO nor the
 * log; a guest that prints without end fills the pipe's buffer and the cap,
 * not the disk.  With the shim gone nobody reads and nothing is written.
 *
 * The read end is opened before libvirt starts QEMU (O_NONBLOCK: libvirt's
 * open for writing then finds a reader and does not block), and the shim
 * keeps a write end of its own, so the read end never sees the end of file
 * while QEMU is restarted (a reload) and the loop does not spin.
 */
#include <stdbool.h>
#include <stdint.h>

#include "console-log.h"
#include "log.h"
#include "macro.h"

#define SHIM_CONSOLE_PIPE "console.pipe"

struct shim_console {
        struct shim_console_log log;
        int rd, wr;   /* the FIFO's two ends */
        int watch;    /* libvirt event handle, -1 before shim_console_watch() */
        bool failing; /* the last append failed (said once, until one succeeds again) */
        /*
         * Where the event loop's lines go (a console lost or back, the FIFO
         * unreadable), set by the caller: nothing here prints.  NULL: the
         * debug log.
         */
        void (*report)(void *ud, enum ecl_log_level level, const char *text);
        void *report_ud;
};

/*
 * The stack's directory and console.log as shim_console_prepare() checks
 * them; console.pipe made afresh (a FIFO of the effective user's left by an
 * earlier run is replaced; anything else there is refused, -EPERM), 0600,
 * and both its ends opened (O_NOFOLLOW, checked to be that FIFO).
 * cap_bytes: of each log file.  On failure *ret_reason (may be NULL; caller
 * frees) says why (reason.h).
 */
int shim_console_open(const char *root, const char *stack, uint64_t cap_bytes, struct shim_console **ret,
                      char **ret_reason);

/* Drain the FIFO whenever it is readable, in libvirt's default event loop (its failures go to c->report). */
int shim_console_watch(struct shim_console *c, char **ret_reason);

/*
 * Read what the FIFO holds now (at most about 1 MiB a call, so the loop
 * stays responsive) and append it to the log.  The number of bytes read,
 * or a negative errno (and *ret_reason) when the FIFO cannot be read; an
 * append that fails loses those bytes (said once through c->report until an
 * append succeeds again), the guest is never blocked by a full disk.
 */
int64_t shim_console_drain(struct shim_console *c, char **ret_reason);

/*
 * Where the next boot's console begins (console-log.h), for a start of the
 * domain: the FIFO drained first until it is empty, so that what an earlier
 * QEMU wrote (it is gone: the caller destroyed it) is all before the mark.
 * At most SHIM_CONSOLE_MARK_DRAINS drains (a FIFO holds far less).  0, or a
 * negative errno with *ret_reason.
 */
#define SHIM_CONSOLE_MARK_DRAINS 64
int shim_console_mark(struct shim_console *c, struct shim_console_mark *ret, char **ret_reason);

/* Stop watching, close both ends and the log; NULL is fine.  The FIFO stays (the next run replaces it). */
void shim_console_free(struct shim_console *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct shim_console *, shim_console_free)
