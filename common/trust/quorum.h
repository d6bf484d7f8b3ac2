/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Counting the approvals of one statement (an update's, or a break-glass
 * access grant's): how many distinct officers (officers.h) signed exactly
 * these bytes, in time.  The agent's update gate and, for access grants,
 * the shim (which re-verifies what the agent hands it) both count here.
 *
 * An approval counts only when all of these hold, checked in this order
 * (the first failure is its refusal):
 *   1. its file reads and parses as an armored SSHSIG (ecl_sshsig_load):
 *      otherwise that error (-ENOENT, -ELOOP, -EBADMSG, -EFBIG...);
 *   2. it verifies (ecl_sshsig_verify_buf, principal NULL, policy.now = now,
 *      no counter_dir: counting is a re-check and must not consume
 *      security-key counters) against the officers file, for namespace ns,
 *      over this very statement:
 *        -ENOKEY        the key is not an officer's
 *        -EKEYREJECTED  other namespace, other statement, bad signature,
 *                       security key without user presence, or a line
 *                       whose namespaces= does not allow ns
 *        -EKEYEXPIRED   the officer's line is not valid at now
 *                       (valid-after / valid-before)
 *   3. the statement's own approval time has not passed
 *      (now < approval_expires): -EKEYEXPIRED "the approval expired at T";
 *   4. its officer has not been counted already, by an earlier item:
 *      -EEXIST "officer alice already approved (SOURCE)".  Since two
 *      officers share no principal and no key (officers.h), this counts
 *      each person once by principal and once by key.
 * Items are judged in the order given, so the first valid approval of an
 * officer is the one that counts.
 *
 * Every nonzero result is a refusal of that approval; a command that
 * refuses an approval exits 65 for it whatever the errno (-EEXIST or
 * -ENOENT alone would map to 73 or 66 through ecl_exit_status()).
 */
#include <stddef.h>
#include <stdint.h>

#include "officers.h"
#include "sshkey.h"

struct ecl_approval {
        char *source; /* the path as given, for messages */
        int result;   /* 0: counted; else the refusal (above) */
        char *reason; /* the refusal, one line; NULL when counted */
        /* The officer whose key made the signature (display name and index),
         * also on a refusal after parsing (a bad signature, an expired line,
         * a duplicate) when the key is on an officer's line; NULL and
         * SIZE_MAX when it is nobody's.  That the key is an officer's does
         * not make the approval valid: only result says so. */
        char *officer;
        size_t officer_index;
        char fingerprint[ECL_SSHKEY_FP_MAX]; /* the signing key's "SHA256:..."; "" when unparsed */
};

struct ecl_quorum {
        size_t counted;             /* approvals with result 0: distinct officers */
        struct ecl_approval *items; /* one per signature path, in order */
        size_t n;
};

/*
 * Judge the n signature files sig_paths over statement (len bytes) for
 * namespace ns (e.g. "ecluse-approval") at time now (seconds since the
 * epoch) against the officers o; the statement's approvals expire at
 * approval_expires.  ret must be zero-initialised; it is filled also when
 * no approval counts.  Returns 0 when counting worked (whatever counted
 * is: comparing it with the quorum is the caller's), or -ENOMEM with
 * *ret_reason (and ret cleared).  A file that cannot be read is a refused
 * item, not an error.
 */
int ecl_quorum_count(const struct ecl_officers *o, const char *ns, const void *statement, size_t len,
                     uint64_t approval_expires, uint64_t now, const char *const *sig_paths, size_t n,
                     struct ecl_quorum *ret, char **ret_reason);
/* Free what ret holds and zero it. */
void ecl_quorum_clear(struct ecl_quorum *q);
