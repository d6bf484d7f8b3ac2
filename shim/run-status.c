/* SPDX-License-Identifier: Apache-2.0 */
/* What `status` shows of a supervised stack (the control socket's answer). */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "blocked.h"
#include "console-log.h"
#include "log.h"
#include "reason.h"
#include "run-status.h"
#include "supervise.h"

/*
 * What the drop chains could not record (DESIGN.md invariant 4): "unrecorded"
 * {"egress": N, "ingress": N} and "full_sets" [...], both null when they
 * cannot be read now.  Read directly (not through the hooks), at a bounded
 * cost: see shim_policy_unrecorded_read.
 */
static int add_unrecorded(json_t *o, const struct shim_stack *s) {
        json_t *counts = NULL, *full = NULL;
        if (s->policy_loaded) {
                struct shim_blocked_unrecorded u;
                _cleanup_free_ char *why = NULL;
                int r = shim_policy_unrecorded_read(s->m->stack, &u, &why);
                if (r < 0)
                        log_debug("status: %s", ecl_reason_text(why, r)); /* shown as null: cannot be read now */
                if (r >= 0) {
                        counts = shim_blocked_unrecorded_counts_json(&u);
                        full = shim_blocked_full_sets_json(&u, -1);
                        shim_blocked_unrecorded_done(&u);
                        if (!counts || !full) {
                                json_decref(counts);
                                json_decref(full);
                                return -ENOMEM;
                        }
                }
        }
        int k = json_object_set_new(o, "unrecorded", counts ? counts : json_null());
        k |= json_object_set_new(o, "full_sets", full ? full : json_null());
        return k ? -ENOMEM : 0;
}

int shim_supervise_status_json(struct shim_supervisor *sup, json_t **ret) {
        struct shim_stack *s = sup->stack;
        const struct ecl_manifest *m = s->m;
        _cleanup_free_ char *problem = NULL;
        const char *policy = "none"; /* no network: no interface at all */
        if (m->has_network) {
                int r = s->policy_loaded ? s->hooks->policy_verify(s->hooks->userdata, m, &problem) : -ESRCH;
                policy = r >= 0 ? "verified" : "missing";
        }
        json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        int k = 0;
        k |= json_object_set_new(o, "stack", json_string(m->stack));
        k |= json_object_set_new(o, "licensor", m->licensor ? json_string(m->licensor) : json_null());
        k |= json_object_set_new(o, "state", json_string(shim_supervise_state(sup)));
        k |= json_object_set_new(o, "accel", json_string(ecl_accel_to_string(s->accel)));
        k |= json_object_set_new(o, "policy", json_string(policy));
        if (problem)
                k |= json_object_set_new(o, "policy_problem", json_string(problem));
        k |= json_object_set_new(o, "domain", json_string(s->dom_name));
        k |= json_object_set_new(o, "tap", m->has_network ? json_string(s->tap) : json_null());
        /*
         * "stack": tap and uplink in the stack's own network namespace;
         * "host": in libvirtd's (qemu:///system), where the host's own stack
         * is one flushed ruleset away from the guest (README "Where the
         * stack's network lives").
         */
        k |= json_object_set_new(o, "network_namespace",
                                 !m->has_network ? json_null() : json_string(s->opts.outer_elsewhere ? "stack" : "host"));
        k |= json_object_set_new(o, "connection", json_string(s->uri ? s->uri : ""));
        k |= json_object_set_new(o, "violation", sup->violation ? json_string(sup->violation) : json_null());
        k |= json_object_set_new(o, "hold_problem", sup->hold_problem ? json_string(sup->hold_problem) : json_null());
        k |= json_object_set_new(o, "audit_problem",
                                 sup->audit_problem ? json_string(sup->audit_problem) : json_null());
        k |= json_object_set_new(o, "last_event", sup->last_event ? json_string(sup->last_event) : json_null());
        k |= json_object_set_new(o, "boot", json_integer((json_int_t) s->boot));
        const char *reload = shim_supervise_reload_state(sup);
        k |= json_object_set_new(o, "reload", reload ? json_string(reload) : json_null());
        k |= json_object_set_new(o, "reload_problem",
                                 sup->reload_problem ? json_string(sup->reload_problem) : json_null());
        if (!k && m->has_network && add_unrecorded(o, s) < 0)
                k = -1;
        if (k) {
                json_decref(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

json_t *shim_status_console_json(const struct shim_stack *s, uint64_t generation_now) {
        if (!s->has_console_mark)
                return json_null();
        const struct shim_console_mark *k = &s->console_mark;
        return json_pack("{s:s,s:I,s:I,s:I,s:I}", "file", SHIM_CONSOLE_LOG, "offset", (json_int_t) k->offset, "inode",
                         (json_int_t) k->inode, "generation", (json_int_t) k->generation, "generation_now",
                         (json_int_t) generation_now);
}
