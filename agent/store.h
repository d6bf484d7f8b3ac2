/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent's persisted state under ROOT/var/lib/ecluse (DESIGN.md, "Paths"):
 * the quarantine (one directory per imported bundle, its record inside) and
 * each stack's update state.  Written with the same care as the audit log, so
 * that a restarted agent finds either the state before a step or the state
 * after it, never a mix:
 *
 *   quarantine/ID/              an imported bundle; ID = 12 lowercase hex
 *   quarantine/ID/record.json   its record (agent_record_*), replaced atomically
 *   quarantine/.import-XXXXXX/  an import in progress (0700): built there,
 *                               fsync'd, then renamed to ID in one step; a
 *                               crash leaves it behind and agent_store_recover()
 *                               removes it, so no entry is ever half there
 *   stacks/STACK/state          the stack's floor, running and previous
 *                               releases, and the operation in flight
 *
 * Every file is written with ecl_write_atomic_at() (durable.h) and read back
 * strictly (fileio.h: no link, a regular file, at most AGENT_STORE_FILE_MAX
 * bytes; JSON with no unknown key, no duplicate, no wrong type: -EBADMSG).
 * Nothing is followed through a link: the directories are opened with
 * O_NOFOLLOW from the ones above.  Nothing here prints: functions return 0
 * (or a count) or a negative errno with one line in *ret_reason (when not
 * NULL).  Versions are dotted numbers; a stack name is ecl_stack_name_valid().
 *
 * One agent at a time changes the store: take agent_store_lock() before
 * agent_store_recover() or any import, record or state change.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define AGENT_STORE_FILE_MAX (64 * 1024) /* record.json, state */
#define AGENT_BUNDLE_ID_LEN 12
#define AGENT_BUNDLE_ID_MIN 6            /* shortest prefix agent_store_resolve() accepts */
#define AGENT_IMPORT_PREFIX ".import-"
#define AGENT_RECORD_FILE "record.json"
#define AGENT_STATE_FILE "state"

enum agent_bundle_state {
        AGENT_BUNDLE_QUARANTINED,
        AGENT_BUNDLE_APPROVED,
        AGENT_BUNDLE_APPLYING,
        AGENT_BUNDLE_APPLIED,
        AGENT_BUNDLE_ROLLED_BACK,
        AGENT_BUNDLE_REJECTED,
        AGENT_BUNDLE_EXPIRED,
        AGENT_BUNDLE_SUPERSEDED,
        /* Only from agent_store_list(): the entry's record cannot be read (reason says why); never written. */
        AGENT_BUNDLE_DAMAGED,
};

/* "quarantined", "approved", "applying", "applied", "rolled-back", "rejected", "expired", "superseded", "damaged". */
const char *agent_bundle_state_to_string(enum agent_bundle_state s);

struct agent_store;

/*
 * Open ROOT/var/lib/ecluse (root NULL or "" is "/"), creating what is missing
 * without following a link (ecl_mkdir_below(), ecl_mkdirat_nofollow()):
 * var/lib/ecluse 0755, quarantine/ 0750, stacks/ 0711 (as the shim makes
 * stacks/STACK: QEMU's user must search it).  A directory created is fsync'd
 * into its parent.
 */
int agent_store_open(const char *root, struct agent_store **ret, char **ret_reason);
void agent_store_free(struct agent_store *s);
/* The root the store was opened under ("" for the host), for the files beside it (/etc/ecluse). */
const char *agent_store_root(const struct agent_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_store *, agent_store_free);

/*
 * Take the store's lock (flock on quarantine/), held until agent_store_unlock()
 * or agent_store_free(): wait for it, or -EBUSY at once when !wait and
 * another agent holds it.
 */
int agent_store_lock(struct agent_store *s, bool wait, char **ret_reason);
void agent_store_unlock(struct agent_store *s);

/*
 * Start an import: a new quarantine/.import-XXXXXX (0700).  *ret_dirfd: a
 * descriptor of it to write the entry's files into (the caller closes it),
 * *ret_tmpname its name (the caller frees it).
 */
int agent_store_import_begin(struct agent_store *s, int *ret_dirfd, char **ret_tmpname, char **ret_reason);

/*
 * Make the import tmpname the entry id: it must hold record.json for id
 * (agent_record_write_at()), or -EINVAL.  Everything in it is fsync'd
 * (ecl_fsync_tree_at()), then it is renamed to id without replacing anything
 * and quarantine/ is fsync'd.  When id exists already: -EEXIST ("already
 * imported") and tmpname removed.  Other failures leave tmpname for
 * agent_store_import_abort().
 */
int agent_store_import_commit(struct agent_store *s, const char *tmpname, const char *id, char **ret_reason);

/* Remove the import tmpname (an import refused half way).  0 or a negative errno. */
int agent_store_import_abort(struct agent_store *s, const char *tmpname);

/*
 * What a crash left: every quarantine/.import-*, and every temporary file of
 * an atomic write (ecl_atomic_temp_name()) in quarantine/ID/, its immediate
 * subdirectories (approvals/) and stacks/STACK/.  Returns how many it
 * removed.  The operation in flight in a stack's state is the caller's to
 * finish or undo.
 */
int agent_store_recover(struct agent_store *s, char **ret_reason);

/*
 * The entry whose ID starts with prefix: AGENT_BUNDLE_ID_MIN to
 * AGENT_BUNDLE_ID_LEN lowercase hex digits, or -EINVAL (the user's mistake:
 * exit 64); -ENOENT "no bundle ID PREFIX in quarantine"; -ENOTUNIQ "ID
 * PREFIX is ambiguous: ID1, ID2[, ... and N more]".
 */
int agent_store_resolve(struct agent_store *s, const char *prefix, char ret_id[static AGENT_BUNDLE_ID_LEN + 1],
                        char **ret_reason);

/* A descriptor of quarantine/ID (no link followed): -EINVAL a malformed ID, -ENOENT none such. */
int agent_store_open_entry(struct agent_store *s, const char *id, int *ret_dirfd, char **ret_reason);

/*
 * The record of a bundle, quarantine/ID/record.json:
 *
 *   {"id": "0123456789ab", "digest": "<64 hex>", "stack": "office",
 *    "version": "2.4.1", "state": "quarantined", "downgrade": false,
 *    "imported": 1764583200, "expires": ..., "approval-expires": ...,
 *    "changed": ..., "reason": null}
 *
 * Every key is required ("reason" may be null); times are seconds since the
 * epoch (at most INT64_MAX).  id is the first 12 digits of digest.
 */
struct agent_bundle_record {
        char id[AGENT_BUNDLE_ID_LEN + 1];
        char digest[65];  /* sha256 of bundle.yaml, lowercase hex */
        char *stack;
        char *version;
        enum agent_bundle_state state;
        bool downgrade;   /* the decision is "downgrade", not "apply" */
        uint64_t imported, expires, approval_expires, changed;
        char *reason;     /* why rejected, rolled back, superseded (or, when damaged, unreadable); NULL */
};

/* Read quarantine/ID/record.json: -ENOENT no entry, -EBADMSG malformed (or for another ID than id). */
int agent_record_read(struct agent_store *s, const char *id, struct agent_bundle_record *ret, char **ret_reason);
/* Replace quarantine/ID/record.json (ID = rec->id): -ENOENT no entry, -EINVAL a record that cannot be written. */
int agent_record_write(struct agent_store *s, const struct agent_bundle_record *rec, char **ret_reason);
/* The same into the directory dirfd (an import's, before agent_store_import_commit()). */
int agent_record_write_at(int dirfd, const struct agent_bundle_record *rec, char **ret_reason);
void agent_record_clear(struct agent_bundle_record *r);

/*
 * Every entry of the quarantine, sorted by imported time, then ID.  An entry
 * whose record cannot be read is listed with its ID, state
 * AGENT_BUNDLE_DAMAGED, the reason in ->reason and every other field zero
 * or NULL (so first, with no time), so it is seen, never skipped.  Names that are not IDs (imports
 * in progress, anything else) are not entries.  Free with
 * agent_record_list_free().
 */
int agent_store_list(struct agent_store *s, struct agent_bundle_record **ret, size_t *ret_n, char **ret_reason);
void agent_record_list_free(struct agent_bundle_record *v, size_t n);

/*
 * A stack's update state, stacks/STACK/state:
 *
 *   {"floor": "2.4.1", "running": "2.4.1", "previous": "2.3.0",
 *    "op": "none", "op-bundle": null, "op-from": null, "op-to": null,
 *    "op-phase": null, "op-started": 0}
 *
 * Every key is required, the strings may be null.  op-bundle is an ID,
 * op-phase a word of lowercase letters and '-' ("staged", "switched",
 * "reloaded": the caller's).  With op "none", every op- field is null (0).
 */
enum agent_op { AGENT_OP_NONE, AGENT_OP_APPLY, AGENT_OP_ROLLBACK };

struct agent_stack_state {
        char *floor;    /* versions, or NULL */
        char *running;
        char *previous;
        enum agent_op op;
        char *op_bundle;
        char *op_from;
        char *op_to;
        char *op_phase;
        uint64_t op_started;
};

/*
 * Read the state of stack.  Without a state file, adopt what the integrator
 * placed (DESIGN.md): `current` a link "releases/VERSION" to a directory
 * (no link) of that name, VERSION a version: running = floor = VERSION.  No
 * `current` (or no stacks/STACK): every field NULL.  A `current` that
 * cannot be adopted is an error, never taken for "nothing runs" (which would
 * let any version in): -EBADMSG a directory or another file, not a link, or
 * a link to releases/NAME where NAME is not a version; -EXDEV a link
 * elsewhere; -ENOENT a link to a release that is not there (or -ELOOP, a
 * link).  Adopting writes nothing: the caller writes the state when it acts.
 */
int agent_stack_state_read(struct agent_store *s, const char *stack, struct agent_stack_state *ret,
                           char **ret_reason);
/* Replace stacks/STACK/state (stacks/STACK created if missing); -EINVAL a state that cannot be written. */
int agent_stack_state_write(struct agent_store *s, const char *stack, const struct agent_stack_state *st,
                            char **ret_reason);
void agent_stack_state_clear(struct agent_stack_state *st);

/* A descriptor of stacks/STACK, created (0711) if missing, following no link. */
int agent_store_stack_dir(struct agent_store *s, const char *stack, int *ret_dirfd, char **ret_reason);
