/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A quarantined bundle as the gate's commands see it: its record, its
 * bundle.yaml and the statement officers sign, each read back from the entry
 * and checked against the others (the statement names this bundle.yaml's
 * digest, the record the same), and its approvals counted.
 *
 * Approvals live in approvals/NNNNNN.sig, numbered in the order they were
 * accepted: the first valid approval of an officer is the one that counts.
 * Whoever changes an entry (approve, reject, apply, a state refresh) holds
 * its lock (agent_bundle_lock()).
 */
#include <stdbool.h>
#include <stdint.h>

#include "bundle-meta.h"
#include "manifest.h"
#include "quorum.h"
#include "sshsig.h"
#include "statement.h"
#include "store.h"

#define AGENT_APPROVAL_NAMESPACE "ecluse-approval"
#define AGENT_BUNDLE_NAMESPACE "ecluse-bundle"
#define AGENT_APPROVALS_MAX 64

struct agent_bundle {
        struct agent_bundle_record rec;
        struct agent_bundle_meta *meta;
        char *statement;      /* the exact bytes officers sign */
        size_t statement_len;
        struct agent_statement st;
        int dirfd;            /* quarantine/ID */
        int lock_fd;          /* >= 0 while locked */
};

/*
 * Resolve id (a prefix, store.h) and load the entry: bundle.yaml's digest
 * is the record's, the vendor's signature over it verifies again against
 * ROOT/etc/ecluse/vendors, and bundle.yaml, the statement and the record
 * agree.  -EBADMSG (or the signature's refusal) when they do not.
 */
int agent_bundle_load(struct agent_store *s, const char *id, struct agent_bundle *ret, char **ret_reason);
void agent_bundle_done(struct agent_bundle *b);

/*
 * The vendor's SSHSIG (sig_text, armored) over bundle.yaml (meta): namespace
 * ecluse-bundle, signer in ROOT/etc/ecluse/vendors, valid at now (0: now).
 * 0 and *ret (the principal, the key's fingerprint; ret zeroed or an earlier
 * verdict), or the refusal with one line: the vendors file's first problem,
 * "bundle.yaml.sig: ..." or "the vendor signature is refused: ...".  A
 * vendor key removed from the file, or expired, refuses what it signed from
 * then on: bundles still in quarantine included.
 */
int agent_vendor_verify(const char *root, const char *meta, size_t meta_len, const char *sig_text, size_t sig_len,
                        uint64_t now, struct ecl_sshsig_verdict *ret, char **ret_reason);

/* Take the entry's exclusive lock (flock on its directory), waiting for another command. */
int agent_bundle_lock(struct agent_bundle *b, char **ret_reason);
/* The same without waiting: -EBUSY while another command holds it (an apply waiting for its verdict). */
int agent_bundle_trylock(struct agent_bundle *b, char **ret_reason);

/*
 * Count the approvals under officers (ROOT/etc/ecluse/officers) at now.
 * extra (may be NULL): a candidate signature file, judged last.  The
 * quorum struct is quorum.h's; 0 or a negative errno for the host (an
 * officers file that does not load: -EBADMSG with its first problem).
 */
int agent_bundle_count(const char *root, const struct agent_bundle *b, uint64_t now, const char *extra,
                       struct ecl_quorum *ret, char **ret_reason);

/* Load ROOT/etc/ecluse/stacks/STACK.yaml; the reason is its first problem. */
int agent_stack_manifest(const char *root, const char *stack, struct ecl_manifest **ret, char **ret_reason);

/* The quorum the stack's manifest asks for (updates.quorum); -ENOENT/-EBADMSG when it does not load. */
int agent_stack_quorum(const char *root, const char *stack, unsigned *ret, char **ret_reason);

/*
 * Move a quarantined or approved bundle whose approval window (or the
 * bundle itself) has expired to `expired`: audited ("expired", to the log
 * of root/log, agent-audit.h), then persisted.  1 when it changed, 0 when
 * not, or a negative errno.
 */
int agent_bundle_refresh(struct agent_store *s, struct agent_bundle *b, uint64_t now, const char *root,
                         const char *log, char **ret_warning, char **ret_reason);

/* Write b->rec back (atomically), with changed = now. */
int agent_bundle_save(struct agent_store *s, struct agent_bundle *b, uint64_t now, char **ret_reason);

/* The file name a manifest path under ECL_STACKS_STATE_DIR/STACK/current/ names, or NULL (data/, elsewhere). */
const char *agent_current_name(const char *stack, const char *path);

/* Every file the manifest boots from current/ is a payload entry's install name: 0, or -EBADMSG saying which is not. */
int agent_bundle_provides(const struct ecl_manifest *m, const struct agent_bundle_meta *b, char **ret_reason);
