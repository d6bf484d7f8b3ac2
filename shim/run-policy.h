/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The stack's policy brought up while libvirt starts QEMU paused (issue 13:
 * only the resume must wait for it).  A thread of its own removes a stale
 * table, loads the policy, opens the netlink watch (s->watch) and verifies
 * the policy from the kernel, in that order, so that any change after the
 * load is either seen by the verify or by the watch, which start_verified()
 * reads before resuming.
 *
 * Shared with the thread: s->m, s->hooks (their policy functions only; each
 * call makes its own libnftables context, none is shared) and s->watch,
 * which no one else touches until shim_policy_job_join().  The main thread
 * uses no libnftables meanwhile.  The thread is started with every signal
 * blocked (they stay the main thread's) and inherits its network namespace,
 * capabilities and seccomp filter (clone3 refused: glibc falls back to
 * clone, which the filter allows without namespace flags).  When no thread
 * can be made the job runs at once, in the caller.
 */
#include <pthread.h>
#include <stdbool.h>

#include "run.h"

struct shim_policy_job {
        struct shim_stack *s;
        pthread_t thread;
        bool running;  /* a thread to join */
        bool done;     /* result and problem are final */
        int result;    /* 0, or a negative errno */
        char *problem; /* why the verify failed (or NULL) */
};

/* Start the job for s (tap and uplink exist): 0, the job running or done; never fails otherwise. */
int shim_policy_job_start(struct shim_policy_job *j, struct shim_stack *s);

/*
 * Wait for the job (again: its result again): 0 when the policy is loaded,
 * watched and verified; its negative errno otherwise, with *ret_problem
 * (caller frees; may be NULL) saying why.  Prints nothing: a thread that
 * cannot be started is said through s->hooks->report (run.h).
 */
int shim_policy_job_join(struct shim_policy_job *j, char **ret_problem);
