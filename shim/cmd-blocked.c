/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "commands.h"
#include "log.h"
#include "policy.h"

static void rfc3339(time_t t, char buf[static 21]) {
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 21, "?");
}

static const char *direction_name(enum shim_blocked_direction d) {
        return d == SHIM_BLOCKED_EGRESS ? "egress" : "ingress";
}

static int print_json(const struct shim_blocked_entry *e, size_t n) {
        json_t *a = json_array();
        if (!a)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                char first[21], last[21];
                rfc3339(e[i].first, first);
                rfc3339(e[i].last, last);
                json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s}", "dst", e[i].dst, "proto", e[i].proto,
                                      "port", (int) e[i].port, "count", (json_int_t) e[i].count, "first", first,
                                      "last", last, "src", e[i].src, "direction", direction_name(e[i].direction));
                if (json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return log_oom();
                }
        }
        int r = json_dumpf(a, stdout, JSON_INDENT(2));
        json_decref(a);
        if (r < 0)
                return log_error_errno(EIO, "cannot write the report");
        putchar('\n');
        return 0;
}

/* blocked STACK: what the stack's policy dropped, newest first. */
int shim_cmd_blocked(const struct ecl_cli *cli, int argc, char **argv) {
        if (argc != 2) {
                log_error("blocked needs one stack name (blocked STACK)");
                return EX_USAGE;
        }
        struct shim_blocked_entry *e = NULL;
        size_t n = 0;
        int r = shim_policy_blocked(argv[1], &e, &n);
        if (r < 0)
                return ecl_exit_status(r);
        if (cli->json)
                r = print_json(e, n);
        else {
                printf("%-7s  %-39s  %-39s  %-9s  %5s  %10s  %-20s  %-20s\n", "DIR", "SOURCE", "DESTINATION", "PROTO",
                       "PORT", "COUNT", "FIRST", "LAST");
                for (size_t i = 0; i < n; i++) {
                        char first[21], last[21];
                        rfc3339(e[i].first, first);
                        rfc3339(e[i].last, last);
                        printf("%-7s  %-39s  %-39s  %-9s  %5u  %10llu  %-20s  %-20s\n",
                               direction_name(e[i].direction), e[i].src, e[i].dst, e[i].proto, e[i].port,
                               (unsigned long long) e[i].count, first, last);
                }
        }
        shim_blocked_entries_free(e);
        return r < 0 ? ecl_exit_status(r) : EX_OK;
}
