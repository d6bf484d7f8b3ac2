/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "reason.h"
#include "run-policy.h"

/* Remove a stale table, load, watch, verify. */
static int policy_up(struct shim_stack *s, char **ret_problem) {
        const struct shim_run_hooks *h = s->hooks;
        log_debug("policy of %s: loading", s->m->stack);
        (void) h->policy_remove(h->userdata, s->m->stack); /* a stale one */
        int r = h->policy_load(h->userdata, s->m);
        if (r < 0)
                return r;
        _cleanup_free_ char *table = NULL;
        if (shim_nft_table_name(s->m->stack, &table) < 0)
                return -ENOMEM;
        r = shim_watch_open(&s->watch, s->tap, s->uplink, table, s->opts.outer_elsewhere, ret_problem);
        if (r < 0)
                return r;
        log_debug("policy of %s: loaded and watched, verifying", s->m->stack);
        r = h->policy_verify(h->userdata, s->m, ret_problem);
        if (r < 0 && !*ret_problem)
                (void) ecl_reason(ret_problem, r, "policy not in place (%s)", strerror(-r));
        if (r >= 0)
                log_debug("policy of %s: verified", s->m->stack);
        return r < 0 ? r : 0;
}

static void *job_main(void *arg) {
        struct shim_policy_job *j = arg;
        j->result = policy_up(j->s, &j->problem);
        return NULL;
}

int shim_policy_job_start(struct shim_policy_job *j, struct shim_stack *s) {
        *j = (struct shim_policy_job){.s = s};
        sigset_t all, old;
        sigfillset(&all);
        int r = pthread_sigmask(SIG_SETMASK, &all, &old);
        if (r == 0) {
                r = pthread_create(&j->thread, NULL, job_main, j);
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        if (r == 0) {
                j->running = true;
                return 0;
        }
        (void) shim_run_report(s, ECL_LOG_NOTICE, r,
                               "cannot start a thread for the policy of %s (%m): loading it first", s->m->stack);
        job_main(j);
        j->done = true;
        return 0;
}

int shim_policy_job_join(struct shim_policy_job *j, char **ret_problem) {
        if (j->running) {
                int r = pthread_join(j->thread, NULL);
                if (r != 0) /* cannot be for a joinable thread of ours; fail closed */
                        return ecl_reason_errno(ret_problem, -r, "cannot wait for the policy thread");
                j->running = false;
                j->done = true;
        }
        if (!j->done)
                return 0; /* never started: nothing to wait for */
        if (ret_problem) {
                *ret_problem = j->problem;
                j->problem = NULL;
        } else {
                free(j->problem);
                j->problem = NULL;
        }
        return j->result;
}
