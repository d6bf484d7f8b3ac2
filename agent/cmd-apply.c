/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent apply ID        apply an approved bundle; blocks until the health verdict
 * ecluse-agent rollback STACK  return to the release that ran before
 * ecluse-agent releases STACK  the releases on disk: which runs, which ran before, the floor
 *
 * apply exits 0 when the new release runs healthy; when the gate fails it
 * has switched back by itself and exits with the failure's status (69 for
 * a guest that did not come up in time, 65 for a refused check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apply.h"
#include "bundle-meta.h"
#include "cmd-common.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "reason.h"
#include "release.h"
#include "stack-name.h"
#include "store.h"

static void report(void *userdata, const char *line) {
        (void) userdata;
        log_notice("%s", line);
}

static int print_verdict(const struct ecl_cli *cli, const char *what, const struct agent_apply_result *res, int r,
                         const char *why) {
        if (cli->json) {
                json_auto_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:b, s:s?}", "op", what, "stack", res->stack,
                                           "version", res->version, "from", res->from, "verdict",
                                           r >= 0 ? "healthy" : res->rolled_back ? "rolled-back" : "failed",
                                           "rolled_back", res->rolled_back, "reason",
                                           r >= 0 ? NULL : ecl_reason_text(why, r));
                if (!j || ecl_output_json(stdout, cli->json, j) < 0)
                        log_oom();
        }
        if (r < 0) {
                log_error("%s%s", ecl_reason_text(why, r),
                          res->rolled_back ? "; switched back: the release that ran before runs again" : "");
                return r;
        }
        if (!cli->json)
                printf("%s: stack %s runs %s (was %s), healthy\n", what, res->stack, res->version,
                       res->from ? res->from : "-");
        return EX_OK;
}

static int cmd_apply(const struct ecl_cli *cli, int argc, char **argv) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &first);
        if (r < 0)
                return r;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        struct agent_apply_options o = {.root = cli->root, .log = cli->log, .report = report};
        struct agent_apply_result res = {0};
        _cleanup_free_ char *why = NULL;
        r = agent_apply(s, argv[first], &o, &res, &why);
        if (r == -EINVAL && !res.stack) {
                agent_apply_result_clear(&res);
                return ecl_cli_usage(cli, "%s", ecl_reason_text(why, r));
        }
        r = print_verdict(cli, "applied", &res, r, why);
        agent_apply_result_clear(&res);
        return r;
}

static int stack_operand(const struct ecl_cli *cli, int argc, char **argv, const char **ret) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &first);
        if (r < 0)
                return r;
        if ((r = ecl_cli_stack_operand(cli, argv[first])) < 0)
                return r;
        *ret = argv[first];
        return 0;
}

static int cmd_rollback(const struct ecl_cli *cli, int argc, char **argv) {
        const char *stack;
        int r = stack_operand(cli, argc, argv, &stack);
        if (r < 0)
                return r;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        struct agent_apply_options o = {.root = cli->root, .log = cli->log, .report = report};
        struct agent_apply_result res = {0};
        _cleanup_free_ char *why = NULL;
        r = agent_rollback(s, stack, &o, &res, &why);
        r = print_verdict(cli, "rolled back", &res, r, why);
        agent_apply_result_clear(&res);
        return r;
}

static int cmp_version(const void *a, const void *b) {
        struct agent_version va, vb;
        const char *sa = *(const char *const *) a, *sb = *(const char *const *) b;
        bool oka = agent_version_parse(sa, &va, NULL) >= 0, okb = agent_version_parse(sb, &vb, NULL) >= 0;
        if (oka && okb)
                return -agent_version_compare(&va, &vb); /* newest first */
        return oka ? -1 : okb ? 1 : strcmp(sa, sb);
}

static int cmd_releases(const struct ecl_cli *cli, int argc, char **argv) {
        const char *stack;
        int r = stack_operand(cli, argc, argv, &stack);
        if (r < 0)
                return r;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        _cleanup_free_ char *why = NULL;
        /* what a crash left in flight is finished or undone first: never shown as it is */
        struct agent_apply_options ao = {.root = cli->root, .log = cli->log, .report = report};
        r = agent_stack_settle(s, stack, &ao, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        free(why);
        why = NULL;
        _cleanup_(agent_stack_state_clear) struct agent_stack_state st = {0};
        r = agent_stack_state_read(s, stack, &st, &why);
        if (r < 0)
                return log_error_errno(r, "stack %s: %s", stack, ecl_reason_text(why, r));
        _cleanup_close_ int sfd = -1;
        r = agent_store_stack_dir(s, stack, &sfd, &why);
        if (r < 0)
                return log_error_errno(r, "stack %s: %s", stack, ecl_reason_text(why, r));
        _cleanup_strv_free_ char **versions = NULL;
        r = agent_release_list(sfd, &versions, &why);
        if (r < 0)
                return log_error_errno(r, "stack %s: %s", stack, ecl_reason_text(why, r));
        size_t n = 0;
        while (versions && versions[n])
                n++;
        if (n)
                qsort(versions, n, sizeof *versions, cmp_version);
        _cleanup_free_ char *current = NULL;
        (void) agent_release_current(sfd, &current, NULL);
        static const struct ecl_output_column cols[] = {
                ECL_OUTPUT_FLEX("version", "VERSION", ECL_OUTPUT_STRING, 8),
                ECL_OUTPUT_COLUMN("current", "CURRENT", ECL_OUTPUT_BOOLEAN),
                ECL_OUTPUT_COLUMN("role", "ROLE", ECL_OUTPUT_STRING),
                ECL_OUTPUT_COLUMN("floor", "FLOOR", ECL_OUTPUT_BOOLEAN),
                ECL_OUTPUT_COLUMNS_END,
        };
        _cleanup_(ecl_output_freep) struct ecl_output *o = NULL;
        r = ecl_output_new(stdout, cli->json, cols, &o);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *v = versions[i];
                const char *role = st.running && streq(v, st.running)     ? "running"
                                   : st.previous && streq(v, st.previous) ? "previous"
                                                                          : NULL;
                r = ecl_output_add(o, json_pack("{s:s, s:b, s:s?, s:b}", "version", v, "current",
                                                current && streq(v, current), "role", role, "floor",
                                                st.floor && streq(v, st.floor)));
        }
        if (r >= 0)
                r = ecl_output_end(o);
        if (r < 0)
                return log_oom();
        return EX_OK;
}

const struct ecl_command agent_cmd_apply = {
        .name = "apply",
        .args = "ID",
        .summary = "apply an approved bundle: stage, switch current, reload, health gate; rolls back by itself",
        .run = cmd_apply,
};

const struct ecl_command agent_cmd_rollback = {
        .name = "rollback",
        .args = "STACK",
        .summary = "return a stack to the release that ran before the current one (the floor stays)",
        .run = cmd_rollback,
};

const struct ecl_command agent_cmd_releases = {
        .name = "releases",
        .args = "STACK",
        .summary = "list a stack's releases: which runs, which ran before, the version floor",
        .run = cmd_releases,
};
