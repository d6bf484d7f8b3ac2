/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"
#include "reason.h"
#include "rfc3339.h"
#include "sshsig.h"

void ecl_quorum_clear(struct ecl_quorum *q) {
        for (size_t i = 0; i < q->n; i++) {
                free(q->items[i].source);
                free(q->items[i].reason);
                free(q->items[i].officer);
        }
        free(q->items);
        *q = (struct ecl_quorum){0};
}

/*
 * Judge one approval; 0 when it was judged (a->result says how), or
 * -ENOMEM.  counted_by[officer] is the index in q of the item that counted
 * for that officer, SIZE_MAX while none has.
 */
static int judge(const struct ecl_officers *o, const char *ns, const void *statement, size_t len,
                 uint64_t approval_expires, uint64_t now, const struct ecl_quorum *q, const size_t *counted_by,
                 struct ecl_approval *a) {
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
        _cleanup_free_ char *why = NULL;
        a->officer_index = SIZE_MAX;
        int r = ecl_sshsig_load(a->source, &sig, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                a->result = r;
                return ecl_reason(&a->reason, 0, "%s", ecl_reason_text(why, r));
        }
        memcpy(a->fingerprint, sig->key->fingerprint, sizeof a->fingerprint);
        if (ecl_officers_of_key(o, sig->key, &a->officer_index) == 0 &&
            !(a->officer = strdup(o->names[a->officer_index])))
                return -ENOMEM;

        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        struct ecl_sshsig_policy policy = {.now = now, .counter_dir = NULL};
        r = ecl_sshsig_verify_buf(sig, statement, len, ns, o->signers, NULL, &policy, &v);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                a->result = r;
                return ecl_reason(&a->reason, 0, "%s", ecl_reason_text(v.reason, r));
        }
        /* Verified against the file: the key is on one of its lines. */
        assert(a->officer);
        if (now >= approval_expires) {
                char t[ECL_RFC3339_TEXT_MAX];
                a->result = -EKEYEXPIRED;
                return ecl_reason(&a->reason, 0, "the approval expired at %s", ecl_rfc3339_text(approval_expires, t));
        }
        size_t first = counted_by[a->officer_index];
        if (first != SIZE_MAX) {
                a->result = -EEXIST;
                return ecl_reason(&a->reason, 0, "officer %s already approved (%s)", a->officer,
                                  q->items[first].source);
        }
        a->result = 0;
        return 0;
}

int ecl_quorum_count(const struct ecl_officers *o, const char *ns, const void *statement, size_t len,
                     uint64_t approval_expires, uint64_t now, const char *const *sig_paths, size_t n,
                     struct ecl_quorum *ret, char **ret_reason) {
        assert(o && ns && *ns && (statement || len == 0) && (sig_paths || n == 0) && ret);
        struct ecl_quorum q = {0};
        _cleanup_free_ size_t *counted_by = malloc((o->n_officers ? o->n_officers : 1) * sizeof *counted_by);
        if (!counted_by || (n && !(q.items = calloc(n, sizeof *q.items))))
                goto oom;
        for (size_t i = 0; i < o->n_officers; i++)
                counted_by[i] = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                struct ecl_approval *a = &q.items[q.n++];
                if (!(a->source = strdup(sig_paths[i])))
                        goto oom;
                if (judge(o, ns, statement, len, approval_expires, now, &q, counted_by, a) < 0)
                        goto oom;
                if (a->result == 0) {
                        counted_by[a->officer_index] = i;
                        q.counted++;
                }
        }
        *ret = q;
        return 0;
oom:
        ecl_quorum_clear(&q);
        return ecl_reason(ret_reason, -ENOMEM, "out of memory counting approvals");
}
