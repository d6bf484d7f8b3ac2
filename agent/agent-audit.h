/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The agent's audit records: where the log is (--log FILE, else
 * ROOT/var/lib/ecluse/audit.log) and one append per decision.  Officers'
 * decisions carry the officer as actor (the principal that signed), never
 * the account that ran the command; that account is in the details
 * ("by"), as the actor of what it did itself (import, reject, apply).
 * Nothing prints: a repaired tail comes back in *ret_warning.
 */
#include <jansson.h>

/* *ret = the audit log's path.  0 or -ENOMEM. */
int agent_audit_path(const char *root, const char *log, char **ret);

/* The account running this process, "alice" or "uid 1234", into buf. */
const char *agent_audit_self(char *buf, size_t size);

/*
 * Append one record (its parent directory created if missing).  details
 * (may be NULL) is borrowed; "by" (agent_audit_self()) is added to a copy.
 * 0, or a negative errno with *ret_reason.  *ret_warning (may be NULL) is
 * set when the append first repaired a torn tail.
 */
int agent_audit(const char *root, const char *log, const char *actor, const char *event, const char *subject,
                const json_t *details, char **ret_warning, char **ret_reason);
