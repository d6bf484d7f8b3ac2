/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "blocked.h"
#include "commands.h"
#include "log.h"
#include "reason.h"
#include "stack-name.h"
#include "netns.h"
#include "output.h"
#include "policy.h"
#include "rfc3339.h"
#include "strutil.h"

static const char *const direction_names[] = {
        [SHIM_BLOCKED_EGRESS] = "egress",
        [SHIM_BLOCKED_INGRESS] = "ingress",
};

static const char *const chain_names[] = {
        [SHIM_BLOCKED_EGRESS] = "drop_out",
        [SHIM_BLOCKED_INGRESS] = "drop_in",
};

static const char *direction_name(enum shim_blocked_direction d) {
        return ECL_ENUM_NAME(direction_names, d);
}

static const char *chain_name(enum shim_blocked_direction d) {
        return ECL_ENUM_NAME(chain_names, d);
}

/* Worth a report: packets were not recorded, or the next new attempt would not be. */
static bool unrecorded_shown(const struct shim_blocked_unrecorded *u, enum shim_blocked_direction d) {
        if (!u->known[d])
                return false;
        if (u->packets[d] > 0)
                return true;
        for (char **s = u->full_sets; s && *s; s++) {
                enum shim_blocked_direction sd;
                if (shim_blocked_set_direction(*s, &sd) && sd == d)
                        return true;
        }
        return false;
}

/*
 * What could not be recorded, as one more row of the JSON array: the
 * contract's keys (dst and src "*", proto "unrecorded", port 0, first and
 * last null: the final counter keeps no time) and the direction's full
 * record sets.  The table says it in a line of its own after the rows.
 */
static json_t *unrecorded_json(const struct shim_blocked_unrecorded *u, enum shim_blocked_direction d) {
        json_t *full = shim_blocked_full_sets_json(u, (int) d);
        return full ? json_pack("{s:s,s:s,s:i,s:I,s:n,s:n,s:s,s:s,s:o}", "dst", "*", "proto", "unrecorded", "port", 0,
                                "count", (json_int_t) u->packets[d], "first", "last", "src", "*", "direction",
                                direction_name(d), "full_sets", full)
                    : NULL;
}

/* The table's columns; in JSON the row's keys are DESIGN.md's (dst, proto, port, count, first, last, src, direction). */
static const struct ecl_output_column columns[] = {
        ECL_OUTPUT_COLUMN("direction", "DIR", ECL_OUTPUT_STRING),
        ECL_OUTPUT_FLEX("src", "SOURCE", ECL_OUTPUT_STRING, 0),
        ECL_OUTPUT_FLEX("dst", "DESTINATION", ECL_OUTPUT_STRING, 0),
        ECL_OUTPUT_COLUMN("proto", "PROTO", ECL_OUTPUT_STRING),
        ECL_OUTPUT_COLUMN("port", "PORT", ECL_OUTPUT_INTEGER),
        ECL_OUTPUT_COLUMN("count", "COUNT", ECL_OUTPUT_INTEGER),
        ECL_OUTPUT_COLUMN("first", "FIRST", ECL_OUTPUT_TIME),
        ECL_OUTPUT_COLUMN("last", "LAST", ECL_OUTPUT_TIME),
        ECL_OUTPUT_COLUMNS_END,
};

static json_t *entry_json(const struct shim_blocked_entry *e) {
        char first[ECL_RFC3339_TEXT_MAX], last[ECL_RFC3339_TEXT_MAX];
        ecl_rfc3339_text((uint64_t) e->first, first);
        ecl_rfc3339_text((uint64_t) e->last, last);
        return json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s}", "dst", e->dst, "proto", e->proto, "port", (int) e->port,
                         "count", (json_int_t) e->count, "first", first, "last", last, "src", e->src, "direction",
                         direction_name(e->direction));
}

/* "egress: 1234 packets dropped but not recorded (record sets full: blk_out_p4_first blk_out_p4_last)" */
static void print_unrecorded(const struct shim_blocked_unrecorded *u, enum shim_blocked_direction d) {
        printf("%s: %llu packet%s dropped but not recorded (", direction_name(d), (unsigned long long) u->packets[d],
               u->packets[d] == 1 ? "" : "s");
        bool any = false;
        for (char **s = u->full_sets; s && *s; s++) {
                enum shim_blocked_direction sd;
                if (!shim_blocked_set_direction(*s, &sd) || sd != d)
                        continue;
                printf("%s%s", any ? " " : "record sets full: ", *s);
                any = true;
        }
        printf("%s)\n", any ? "" : "no record set is full now");
}

static int print_report(const struct ecl_cli *cli, const struct shim_blocked_entry *e, size_t n,
                        const struct shim_blocked_unrecorded *u) {
        _cleanup_(ecl_output_freep) struct ecl_output *o = NULL;
        int r = ecl_output_new(stdout, cli->json, columns, &o);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = ecl_output_add(o, entry_json(&e[i]));
        for (int d = SHIM_BLOCKED_EGRESS; r >= 0 && d <= SHIM_BLOCKED_INGRESS; d++)
                if (cli->json && unrecorded_shown(u, d))
                        r = ecl_output_add(o, unrecorded_json(u, d));
        if (r >= 0)
                r = ecl_output_end(o);
        if (r < 0)
                return log_oom();
        for (int d = SHIM_BLOCKED_EGRESS; !cli->json && d <= SHIM_BLOCKED_INGRESS; d++)
                if (unrecorded_shown(u, d))
                        print_unrecorded(u, d);
        return 0;
}

/* blocked STACK: what the stack's policy dropped, newest first. */
static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &ind);
        if (r < 0)
                return r;
        const char *stack = argv[ind];
        if ((r = ecl_cli_stack_operand(cli, stack)) < 0)
                return r;
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        struct shim_blocked_unrecorded u;
        /* The table lives in the stack's own network namespace when it has one (netns.h). */
        _cleanup_free_ char *pin = NULL;
        _cleanup_free_ char *why = NULL;
        r = shim_netns_pin_path(cli->root, stack, &pin);
        if (r >= 0) {
                r = shim_netns_join_pinned(pin, &why);
                if (r == -ENOENT)
                        r = 0;
                else if (r < 0)
                        log_error("%s", ecl_reason_text(why, r));
        }
        if (r >= 0) {
                r = shim_policy_blocked_report(stack, &e, &n, &u, &why);
                if (r < 0)
                        log_error("%s", ecl_reason_text(why, r));
        }
        if (r < 0)
                return ecl_exit_status(r);
        for (int d = SHIM_BLOCKED_EGRESS; d <= SHIM_BLOCKED_INGRESS; d++)
                if (!u.known[d])
                        log_warning("%s: cannot tell what was dropped but not recorded: chain %s has no final "
                                    "counter", direction_name(d), chain_name(d));
        r = print_report(cli, e, n, &u);
        shim_blocked_unrecorded_done(&u);
        shim_blocked_entries_free(e);
        return r < 0 ? ecl_exit_status(r) : EX_OK;
}

const struct ecl_command shim_cmd_blocked = {
        .name = "blocked",
        .args = "STACK",
        .summary = "traffic the policy dropped: source, destination, protocol, port, count, first and last seen",
        .run = run,
};
