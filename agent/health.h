/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The update gate's health check (DESIGN.md, "Bundles, approvals, access";
 * issue 9): once `current` names the new release, the agent asks the
 * stack's shim to reload, then waits for the verdict: the guest runs again
 * (a later boot than the one before the reload: the shim's status "boot"),
 * prints the manifest's health line after the reload, and stays up.
 *
 * The shim is spoken to through common/control only, never its code.  The
 * console is read from where the shim marked the boot's beginning, after
 * the old domain was gone and its FIFO drained (status "console",
 * shim/run-status.h), following a rotation to console.log.1: nothing the
 * old guest printed counts, and a line the reader cannot account for is
 * never taken for the health line (what it may miss, it misses: the wait
 * times out, the update rolls back).  Nothing here prints; every failure
 * comes with a one-line reason.
 *
 * The scanning is apart from the waiting, so that it is tested without a
 * shim: agent_line_match (the line as plain text over chunks, a line split
 * across them) and agent_console_follow (the console files of one stack
 * directory, by inode, from the mark).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest health line (bytes). */
#define AGENT_HEALTH_LINE_MAX 1024
/* How often the shim's status is asked while waiting. */
#define AGENT_HEALTH_POLL_MS 250
/* Console bytes read at most per poll, in chunks of AGENT_HEALTH_CHUNK. */
#define AGENT_HEALTH_READ_MAX (4u << 20)
#define AGENT_HEALTH_CHUNK 65536

/*
 * Ask the stack's shim to reload (the current release) and return the boot
 * number that ran before (status "boot"), so that the gate waits for a
 * later one.  -EPROTO when the shim reports no boot (older than the
 * agent), else what ecl_control_call() says; with a reason.
 */
int agent_shim_reload(const char *root, const char *stack, uint64_t *ret_boot_before, char **ret_reason);

struct agent_health {
        const char *console_line; /* NULL: the guest only has to stay up */
        uint64_t timeout_ms;      /* for all of it; at least 1 */
        uint64_t settle_ms;       /* how long it must stay up after the line (without one: at all), e.g. 5000 */
};

/*
 * Wait until the shim reports a boot later than boot_before running, then
 * until console.log (from that boot's mark) holds a line containing
 * h->console_line as plain text, then until the same boot has kept running
 * for h->settle_ms; all within h->timeout_ms.  0 healthy, or with a reason:
 *   -ETIMEDOUT  what was missing ("no line containing 'APP READY' within 2m")
 *   -ESRCH      the shim is gone, the guest stopped or was started again
 *               ("the guest stopped after the reload (state crashed)"), the
 *               restart failed
 *   -EPERM      the guest is held after the reload (a violation)
 *   -EBUSY      the shim refused the reload (reload_problem)
 *   -ENOENT     a health line is asked for, but the stack's console is not logged
 *   -EPROTO     the shim's status lacks what the check needs
 *   -EINVAL     a bad h (no timeout, a line empty, too long, with a newline)
 *   what reading the console said (-ELOOP for a link...)
 */
int agent_health_wait(const char *root, const char *stack, uint64_t boot_before, const struct agent_health *h,
                      char **ret_reason);

/* ---- the scanning, pure ---------------------------------------------------- */

/* A line containing needle, seen through chunks of console output. */
struct agent_line_match {
        const char *needle; /* not owned */
        size_t len;
        char carry[AGENT_HEALTH_LINE_MAX]; /* the current line's last len - 1 bytes (a match split by a chunk) */
        size_t n_carry;
        bool found;
};

/* -EINVAL (and a reason) for an empty needle, one with a newline or longer than AGENT_HEALTH_LINE_MAX. */
int agent_line_match_init(struct agent_line_match *m, const char *needle, char **ret_reason);

/* Feed the next n bytes of output; true once a line containing the needle has been seen (and from then on). */
bool agent_line_match_feed(struct agent_line_match *m, const void *buf, size_t n);

/*
 * Reading a stack's console.log from a mark (status "console": offset,
 * inode, generation), into a line match.  It follows the marked file by
 * inode: in console.log, or in console.log.1 after a rotation; when the log
 * has rotated twice since the mark (generation_now), the marked file is
 * gone and all of console.log.1 is after the mark.  When console.log is no
 * longer the file followed, that file is read to its end (the shim writes no
 * more to it) and the next one from its start.
 */
struct agent_console_follow {
        uint64_t offset, inode, generation; /* the mark */
        int fd;                             /* the file followed, -1 before it is found */
        uint64_t ino, pos;                  /* its inode, how far it is read */
        uint64_t done_ino;                  /* the last file read to its end, 0 for none */
        bool started;                       /* the marked file was found (or known gone) */
};

void agent_console_follow_init(struct agent_console_follow *f, uint64_t offset, uint64_t inode, uint64_t generation);

/*
 * Read what is new (at most max bytes this call, chunk bytes a read) from
 * the console files in dir_fd (the stack's directory) into m.  1 once m has
 * found its line, 0 not yet (call again later), or a negative errno and a
 * reason: a console file that is a link (-ELOOP) or no regular file, a
 * generation_now before the mark's (-EPROTO: another shim), a read error.
 */
int agent_console_follow_read(struct agent_console_follow *f, int dir_fd, uint64_t generation_now,
                              struct agent_line_match *m, size_t chunk, size_t max, char **ret_reason);

void agent_console_follow_done(struct agent_console_follow *f);
