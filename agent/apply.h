/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Applying an approved bundle to its stack, and going back (DESIGN.md,
 * "Bundles, approvals, access").  In this order, each step persisted in the
 * stack's state file before it takes effect, so that a crash anywhere leaves
 * either the old or the new release running and agent_stack_recover()
 * knows which:
 *
 *   1. check again: state approved, quorum of valid distinct officers now,
 *      the bundle and the approvals not expired, the version still newer
 *      than the floor (a downgrade: not newer), the stack's shim running;
 *   2. state: op apply from RUNNING to VERSION, phase "staging"; audited
 *      `apply-started`;
 *   3. stage releases/VERSION from the quarantined payload, every file
 *      hashed again from the staged copy, fsync'd (release.h);
 *   4. phase "switched", then `current` switched in one rename;
 *   5. the shim reloads; the health gate (health.h): the guest comes up,
 *      prints the manifest's updates.health.console line after the reload
 *      (when set) within its timeout, and stays up;
 *   6. healthy: running = VERSION, previous = the old one, the floor raised
 *      (never lowered), op none; the bundle `applied`, audited `applied`;
 *      older quarantined updates of the stack `superseded`.
 *      Not healthy: `current` switched back, the shim reloads the old
 *      release, which must pass the same gate again; the bundle
 *      `rolled-back`, audited `rolled-back`; the floor stays.
 *
 * Every audit record is written before the change it tells of.  Nothing
 * prints; progress goes through the report hook.
 */
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct agent_apply_options {
        const char *root;
        const char *log;      /* --log, or NULL */
        uint64_t now;         /* 0: time(NULL) */
        /* What is happening, one line at a time (may be NULL). */
        void (*report)(void *userdata, const char *line);
        void *userdata;
};

/* The verdict: 0 applied and healthy; otherwise the error, and rolled_back says whether it was undone. */
struct agent_apply_result {
        char id[13];
        char *stack;
        char *version;
        char *from;           /* the release that ran before (NULL: none) */
        bool rolled_back;     /* the health gate failed and the old release runs again */
};
void agent_apply_result_clear(struct agent_apply_result *r);

/*
 * Apply bundle id.  0 when applied and healthy; -EBADMSG/-EKEY* when a
 * check refused it (nothing changed); -ETIMEDOUT/-ESRCH... when the health
 * gate failed (then rolled_back, when the old release was restored);
 * *ret_reason one line.
 */
int agent_apply(struct agent_store *s, const char *id, const struct agent_apply_options *o,
                struct agent_apply_result *ret, char **ret_reason);

/*
 * Return the stack to the release that ran before the current one (no new
 * approval: it was approved before), audited `rollback`; the floor stays.
 * It passes the manifest's health gate, as at its apply; when it does not,
 * `current` goes back to the release that ran and the shim reloads that
 * (audited `rolled-back`, ret->rolled_back), and the error is returned.
 */
int agent_rollback(struct agent_store *s, const char *stack, const struct agent_apply_options *o,
                   struct agent_apply_result *ret, char **ret_reason);

/*
 * What a crash left in flight for stack: an apply or rollback whose state
 * says it had not finished is undone (`current` back to the release that
 * ran before it, staged leftovers removed, the shim asked to reload when
 * `current` moved and it runs), audited `apply-interrupted`; the bundle
 * returns to `approved`.  1 when something was undone, 0 when nothing was
 * in flight.
 */
int agent_stack_recover(struct agent_store *s, const char *stack, const struct agent_apply_options *o,
                        char **ret_reason);

/*
 * agent_stack_recover() under the stack's lock (held only for it), for a
 * command that reads a stack without changing it (`releases`): what it
 * shows is never a state in flight.  The same returns.
 */
int agent_stack_settle(struct agent_store *s, const char *stack, const struct agent_apply_options *o,
                       char **ret_reason);
