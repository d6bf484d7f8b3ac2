/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The supervisor's answer to "status" (control.h), from its state. */
#include <jansson.h>

#include "supervise.h"

/*
 * The status object of the control socket: stack, licensor, state, accel,
 * policy ("verified", "missing" with policy_problem, "none" without a
 * network; read back from the kernel now), domain, tap, connection,
 * violation (why the domain is held, or null), hold_problem (the pause
 * after a violation failed: what failed, or null), audit_problem (a record
 * that could not be written, or null), last_event; with a network also
 * network_namespace ("stack" or "host"), unrecorded ({"egress": N,
 * "ingress": N}, the drops no record set could hold) and full_sets (the
 * record sets full now), both null when the policy cannot be read.
 *
 * For a reload's health check (agent/health.h): boot (the domain's starts:
 * 1 for the first, one more at each restart by a reload), reload (what
 * became of the last one asked for: "pending", "restarting", "done",
 * "failed", "refused", or null before any) with reload_problem (why it
 * was refused or failed, or null).
 *
 * The caller adds the shim's capabilities and the console
 * (shim_status_console_json).
 */
int shim_supervise_status_json(struct shim_supervisor *sup, json_t **ret);

/*
 * The status's "console": where the running boot's console output begins,
 * {"file": "console.log", "offset": N, "inode": I, "generation": G,
 * "generation_now": G'}: the boot's first byte is at offset N of the file
 * with inode I, console.log when the log was in its rotation G; the log is
 * in rotation G' now (at G + 1 that file is console.log.1, beyond it is
 * gone).  json_null() without a mark (console: none); NULL when out of
 * memory.
 */
json_t *shim_status_console_json(const struct shim_stack *s, uint64_t generation_now);
