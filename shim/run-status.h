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
 * record sets full now), both null when the policy cannot be read.  The
 * caller adds the shim's capabilities.
 */
int shim_supervise_status_json(struct shim_supervisor *sup, json_t **ret);
