/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Importing a vendor bundle into quarantine (DESIGN.md, "Bundles, approvals,
 * access"), in this order, the first failure being the answer:
 *
 *   1. the bundle file: a regular file, opened without following a link;
 *   2. the tar's first two entries, bundle.yaml (at most 1 MiB, refused
 *      before it is read) and bundle.yaml.sig;
 *   3. the vendor's signature over bundle.yaml: namespace ecluse-bundle,
 *      signer in /etc/ecluse/vendors (nothing of bundle.yaml is parsed
 *      before this holds);
 *   4. bundle.yaml, strictly (bundle-meta.h);
 *   5. against this host (after what a crash left in flight on the stack is
 *      finished or undone, apply.h): the stack is configured here, its licensor is the
 *      bundle's, the bundle has not expired, its version is newer than the
 *      stack's floor (or the import is a downgrade), it provides every file
 *      the manifest boots from current/, and it is not imported already;
 *   6. the payload, streamed once from the tar into a temporary quarantine
 *      entry, hashed as it is written (bundle-tar.h), then each disk
 *      checked against the manifest's declared format (disk-header.h);
 *   7. the statement officers sign, fixed now (statement.h), and the
 *      bundle's record; then the entry is renamed to quarantine/ID in one
 *      step.
 *
 * A refusal removes the temporary entry: quarantine and releases are as
 * they were.  Nothing prints; the command audits and reports.
 */
#include <stdbool.h>
#include <stdint.h>

#include "bundle-tar.h"
#include "diag.h"
#include "statement.h"

/* How long officers have to approve, at most (never past the bundle's own expiry). */
#define AGENT_APPROVAL_WINDOW_S (7 * 86400)

struct agent_import_result;

struct agent_import_options {
        bool downgrade;           /* --downgrade: a version not newer than the floor is its own decision */
        uint64_t now;             /* seconds since the epoch; 0: time(NULL) */
        const char *log;          /* --log: the audit log of a recovery (apply.h); NULL: the default */
        agent_progress_fn progress; /* may be NULL */
        /* Called once everything is written and checked, right before the
         * entry becomes quarantine/ID (the command writes its audit record
         * there: a bundle the log cannot tell of is not imported).  Non-zero
         * aborts the import with that error.  May be NULL. */
        int (*before_commit)(const struct agent_import_result *r, void *userdata, char **ret_reason);
        void *userdata;
};

struct agent_import_result {
        char id[13];
        char digest[65];          /* sha256 of bundle.yaml */
        char *stack;              /* set as soon as bundle.yaml was read (also on a later refusal) */
        char *version;
        enum agent_decision decision;
        char *vendor;             /* the principal that signed, after step 3 */
        char vendor_fingerprint[64];
        uint64_t payload_bytes;
        size_t n_payload;
        uint64_t approval_expires;
};
void agent_import_result_clear(struct agent_import_result *r);

/*
 * Import the bundle at path under root.  0 and *ret, or a negative errno
 * with one line in *ret_reason: -EBADMSG, -EKEY* (a signature refused),
 * -EFBIG for a refused bundle (exit 65); -EEXIST when it is imported
 * already (65 as well: the caller maps it); -ENOENT/-ELOOP/... for the
 * bundle file; other errors for the host (disk full, ...).  *ret is filled
 * as far as the import got, also on failure, for the audit record.
 */
int agent_import(const char *root, const char *path, const struct agent_import_options *o,
                 struct agent_import_result *ret, char **ret_reason);
