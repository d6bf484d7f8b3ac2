/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "blocked.h"
#include "commands.h"
#include "log.h"
#include "reason.h"
#include "netns.h"
#include "policy.h"
#include "rfc3339.h"

static const char *direction_name(enum shim_blocked_direction d) {
        return d == SHIM_BLOCKED_EGRESS ? "egress" : "ingress";
}

static const char *chain_name(enum shim_blocked_direction d) {
        return d == SHIM_BLOCKED_EGRESS ? "drop_out" : "drop_in";
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
 * What could not be recorded, as one more object of the array: the contract's
 * keys (dst and src "*", proto "unrecorded", port 0, first and last null: the
 * final counter keeps no time) and the direction's full record sets.
 */
static int append_unrecorded(json_t *a, const struct shim_blocked_unrecorded *u, enum shim_blocked_direction d) {
        json_t *full = shim_blocked_full_sets_json(u, (int) d);
        json_t *o = full ? json_pack("{s:s,s:s,s:i,s:I,s:n,s:n,s:s,s:s,s:o}", "dst", "*", "proto", "unrecorded", "port", 0,
                                     "count", (json_int_t) u->packets[d], "first", "last", "src", "*", "direction",
                                     direction_name(d), "full_sets", full)
                         : NULL;
        if (!o || json_array_append_new(a, o) < 0)
                return log_oom();
        return 0;
}

static int print_json(const struct shim_blocked_entry *e, size_t n, const struct shim_blocked_unrecorded *u) {
        json_t *a = json_array();
        if (!a)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                char first[ECL_RFC3339_TEXT_MAX], last[ECL_RFC3339_TEXT_MAX];
                ecl_rfc3339_text((uint64_t) e[i].first, first);
                ecl_rfc3339_text((uint64_t) e[i].last, last);
                json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s}", "dst", e[i].dst, "proto", e[i].proto,
                                      "port", (int) e[i].port, "count", (json_int_t) e[i].count, "first", first,
                                      "last", last, "src", e[i].src, "direction", direction_name(e[i].direction));
                if (json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return log_oom();
                }
        }
        for (int d = SHIM_BLOCKED_EGRESS; d <= SHIM_BLOCKED_INGRESS; d++)
                if (unrecorded_shown(u, d) && append_unrecorded(a, u, d) < 0) {
                        json_decref(a);
                        return -ENOMEM;
                }
        int r = json_dumpf(a, stdout, JSON_INDENT(2));
        json_decref(a);
        if (r < 0)
                return log_error_errno(EIO, "cannot write the report");
        putchar('\n');
        return 0;
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

/* blocked STACK: what the stack's policy dropped, newest first. */
static int run(const struct ecl_cli *cli, int argc, char **argv) {
        int ind;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &ind);
        if (r < 0)
                return r;
        const char *stack = argv[ind];
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
        if (cli->json)
                r = print_json(e, n, &u);
        else {
                printf("%-7s  %-39s  %-39s  %-9s  %5s  %10s  %-20s  %-20s\n", "DIR", "SOURCE", "DESTINATION", "PROTO",
                       "PORT", "COUNT", "FIRST", "LAST");
                for (size_t i = 0; i < n; i++) {
                        char first[ECL_RFC3339_TEXT_MAX], last[ECL_RFC3339_TEXT_MAX];
                        ecl_rfc3339_text((uint64_t) e[i].first, first);
                        ecl_rfc3339_text((uint64_t) e[i].last, last);
                        printf("%-7s  %-39s  %-39s  %-9s  %5u  %10llu  %-20s  %-20s\n",
                               direction_name(e[i].direction), e[i].src, e[i].dst, e[i].proto, e[i].port,
                               (unsigned long long) e[i].count, first, last);
                }
                for (int d = SHIM_BLOCKED_EGRESS; d <= SHIM_BLOCKED_INGRESS; d++)
                        if (unrecorded_shown(&u, d))
                                print_unrecorded(&u, d);
        }
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
