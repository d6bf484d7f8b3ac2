/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What officers read before they sign, and their veto:
 *   ecluse-agent list              every bundle, its state and approvals
 *   ecluse-agent show ID           metadata, notes, payload, what changes, approvals
 *   ecluse-agent statement ID      the exact bytes officers sign
 *   ecluse-agent reject ID --reason TEXT
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent-audit.h"
#include "apply.h"
#include "bundles.h"
#include "cmd-common.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "reason.h"
#include "release.h"
#include "rfc3339.h"
#include "store.h"
#include "strutil.h"

#define NOTES_WIDTH 72

static json_t *time_or_null(uint64_t t) {
        char buf[ECL_RFC3339_TEXT_MAX];
        return t ? json_string(ecl_rfc3339_text(t, buf)) : json_null();
}

static int load(const struct ecl_cli *cli, struct agent_store *s, const char *id, uint64_t now, bool change,
                struct agent_bundle *b) {
        _cleanup_free_ char *why = NULL, *warning = NULL;
        int r = agent_bundle_load(s, id, b, &why);
        if (r == -EINVAL || r == -ENOTUNIQ)
                return ecl_cli_usage(cli, "%s", ecl_reason_text(why, r));
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        /* a reader does not wait for an apply that holds the bundle: it shows the state as it is */
        r = change ? agent_bundle_lock(b, &why) : agent_bundle_trylock(b, &why);
        if (r == -EBUSY && !change)
                r = 0;
        else if (r >= 0)
                r = agent_bundle_refresh(s, b, now, cli->root, cli->log, &warning, &why);
        if (warning)
                log_warning("%s", warning);
        if (r < 0) {
                agent_bundle_done(b);
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        }
        return 0;
}

/* Approvals counted so far (0 when they cannot be counted: said once as a warning). */
static size_t approvals_of(const struct ecl_cli *cli, const struct agent_bundle *b, uint64_t now,
                           struct ecl_quorum *q) {
        _cleanup_free_ char *why = NULL;
        int r = agent_bundle_count(cli->root, b, now, NULL, q, &why);
        if (r < 0) {
                log_warning("%s", ecl_reason_text(why, r));
                return 0;
        }
        return q->counted;
}

static json_t *row_of(const struct ecl_cli *cli, const struct agent_bundle *b, uint64_t now) {
        _cleanup_(ecl_quorum_clear) struct ecl_quorum q = {0};
        size_t approvals = approvals_of(cli, b, now, &q);
        unsigned quorum = 0;
        _cleanup_free_ char *why = NULL;
        bool have_quorum = agent_stack_quorum(cli->root, b->rec.stack, &quorum, &why) >= 0;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o}", "id", b->rec.id, "stack",
                         b->rec.stack, "version", b->rec.version, "state", agent_bundle_state_to_string(b->rec.state),
                         "decision", b->rec.downgrade ? "downgrade" : "apply", "approvals", (json_int_t) approvals,
                         "quorum", have_quorum ? json_integer(quorum) : json_null(), "imported",
                         time_or_null(b->rec.imported), "expires", time_or_null(b->rec.expires),
                         "approval_expires", time_or_null(b->rec.approval_expires));
}

static int cmd_list(const struct ecl_cli *cli, int argc, char **argv) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 0, 0, &first);
        if (r < 0)
                return r;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        struct agent_bundle_record *recs = NULL;
        size_t n = 0;
        _cleanup_free_ char *why = NULL;
        r = agent_store_list(s, &recs, &n, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        static const struct ecl_output_column cols[] = {
                ECL_OUTPUT_COLUMN("id", "ID", ECL_OUTPUT_STRING),
                ECL_OUTPUT_COLUMN("stack", "STACK", ECL_OUTPUT_STRING),
                ECL_OUTPUT_FLEX("version", "VERSION", ECL_OUTPUT_STRING, 8),
                ECL_OUTPUT_COLUMN("state", "STATE", ECL_OUTPUT_STRING),
                ECL_OUTPUT_COLUMN("decision", "DECISION", ECL_OUTPUT_STRING),
                ECL_OUTPUT_COLUMN("approvals", "APPROVALS", ECL_OUTPUT_INTEGER),
                ECL_OUTPUT_COLUMN("quorum", "QUORUM", ECL_OUTPUT_INTEGER),
                ECL_OUTPUT_COLUMN("imported", "IMPORTED", ECL_OUTPUT_TIME),
                ECL_OUTPUT_COLUMNS_END,
        };
        uint64_t now = (uint64_t) time(NULL);
        _cleanup_(ecl_output_freep) struct ecl_output *o = NULL;
        r = ecl_output_new(stdout, cli->json, cols, &o);
        int status = EX_OK;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
                int k = load(cli, s, recs[i].id, now, false, &b);
                if (k < 0) {
                        status = EX_DATAERR; /* said; the others are still listed */
                        continue;
                }
                r = ecl_output_add(o, row_of(cli, &b, now));
        }
        agent_record_list_free(recs, n);
        if (r >= 0)
                r = ecl_output_end(o);
        if (r < 0)
                return log_oom();
        return status;
}

static json_t *changes_of(const struct ecl_cli *cli, struct agent_store *s, const struct agent_bundle *b,
                          char **ret_running) {
        *ret_running = NULL;
        _cleanup_(agent_stack_state_clear) struct agent_stack_state st = {0};
        _cleanup_free_ char *why = NULL;
        struct agent_apply_options ao = {.root = cli->root, .log = cli->log};
        if (agent_stack_settle(s, b->rec.stack, &ao, &why) < 0 || agent_stack_state_read(s, b->rec.stack, &st, &why) < 0 ||
            !st.running) {
                if (why)
                        log_warning("stack %s: %s", b->rec.stack, why);
                return json_null();
        }
        _cleanup_close_ int sfd = -1;
        if (agent_store_stack_dir(s, b->rec.stack, &sfd, &why) < 0) {
                log_warning("stack %s: %s", b->rec.stack, ecl_reason_text(why, -EIO));
                return json_null();
        }
        struct agent_release_file *files = NULL;
        size_t n = 0;
        int r = agent_release_files(sfd, st.running, &files, &n, &why);
        if (r < 0) {
                log_warning("stack %s release %s: %s", b->rec.stack, st.running, ecl_reason_text(why, r));
                return json_null();
        }
        struct agent_release_change *ch = NULL;
        size_t nch = 0;
        json_t *a = NULL;
        if (agent_release_compare(files, n, b->meta->payload, b->meta->n_payload, &ch, &nch) >= 0 &&
            (a = json_array())) {
                static const char *const names[] = {
                        [AGENT_CHANGE_SAME] = "same",
                        [AGENT_CHANGE_ADDED] = "added",
                        [AGENT_CHANGE_REMOVED] = "removed",
                        [AGENT_CHANGE_CHANGED] = "changed",
                };
                for (size_t i = 0; i < nch; i++) {
                        json_t *o = json_pack("{s:s, s:s}", "name", ch[i].name, "change", names[ch[i].change]);
                        if (o && ch[i].change != AGENT_CHANGE_ADDED) {
                                json_object_set_new(o, "old_size", json_integer((json_int_t) ch[i].old_size));
                                json_object_set_new(o, "old_sha256", json_string(ch[i].old_sha256));
                        }
                        if (o && ch[i].change != AGENT_CHANGE_REMOVED) {
                                json_object_set_new(o, "new_size", json_integer((json_int_t) ch[i].new_size));
                                json_object_set_new(o, "new_sha256", json_string(ch[i].new_sha256));
                        }
                        json_array_append_new(a, o);
                }
        }
        free(ch);
        agent_release_files_free(files, n);
        *ret_running = TAKE_PTR(st.running);
        return a ? a : json_null();
}

static json_t *approvals_json(const struct ecl_quorum *q) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < q->n; i++) {
                const struct ecl_approval *ap = &q->items[i];
                json_array_append_new(a, json_pack("{s:s, s:s?, s:s, s:b, s:s?}", "file", ap->source, "officer",
                                                   ap->officer, "key", ap->fingerprint, "counted", ap->result == 0,
                                                   "refused", ap->result == 0 ? NULL : ap->reason));
        }
        return a;
}

static void print_show(const json_t *j, const struct agent_bundle *b) {
        char t1[ECL_RFC3339_TEXT_MAX];
        printf("bundle     %s (sha256:%s)\n", b->rec.id, b->rec.digest);
        printf("stack      %s, licensed from ", b->rec.stack);
        ecl_fput_printable(stdout, b->meta->licensor);
        printf("\nversion    %s (%s)\n", b->rec.version, b->rec.downgrade ? "downgrade" : "apply");
        printf("state      %s\n", agent_bundle_state_to_string(b->rec.state));
        printf("released   %s\n", ecl_rfc3339_text(b->meta->released, t1));
        printf("expires    %s\n", ecl_rfc3339_text(b->meta->expires, t1));
        printf("imported   %s\n", ecl_rfc3339_text(b->rec.imported, t1));
        printf("sign by    %s\n", ecl_rfc3339_text(b->rec.approval_expires, t1));
        if (b->meta->notes) {
                printf("notes\n");
                const char *p = b->meta->notes;
                while (*p) {
                        /* at most NOTES_WIDTH bytes a row (cut at a character boundary), each behind "  | ":
                         * a long line wrapped by the terminal could otherwise pose as a line of show's own */
                        const char *e = strchrnul(p, '\n');
                        size_t n = (size_t) (e - p);
                        if (n > NOTES_WIDTH) {
                                n = NOTES_WIDTH;
                                while (n > 1 && ((unsigned char) p[n] & 0xc0) == 0x80)
                                        n--;
                        }
                        _cleanup_free_ char *line = strndup(p, n);
                        fputs("  | ", stdout);
                        if (line)
                                ecl_fput_printable(stdout, line);
                        fputc('\n', stdout);
                        p += n;
                        if (*p == '\n')
                                p++;
                }
        }
        printf("payload\n");
        for (size_t i = 0; i < b->meta->n_payload; i++)
                printf("  %-24s %12" PRIu64 " bytes  sha256:%s\n", b->meta->payload[i].install, b->meta->payload[i].size,
                       b->meta->payload[i].sha256_hex);
        const json_t *changes = json_object_get(j, "changes");
        const json_t *running = json_object_get(j, "running");
        if (json_is_array(changes)) {
                printf("changes against the running release %s\n", json_string_value(running));
                size_t i;
                const json_t *c;
                json_array_foreach(changes, i, c) {
                        printf("  %-8s %s\n", json_string_value(json_object_get(c, "change")),
                               json_string_value(json_object_get(c, "name")));
                }
        } else
                printf("changes    (no running release to compare with)\n");
        const json_t *aps = json_object_get(j, "signatures");
        const json_t *quorum = json_object_get(j, "quorum");
        printf("approvals  %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " needed\n",
               json_integer_value(json_object_get(j, "approvals")), json_is_integer(quorum) ? json_integer_value(quorum) : 0);
        size_t i;
        const json_t *a;
        json_array_foreach(aps, i, a) {
                const char *officer = json_string_value(json_object_get(a, "officer"));
                printf("  %s %s %s%s%s\n", json_is_true(json_object_get(a, "counted")) ? "counted" : "refused",
                       officer ? officer : "-", json_string_value(json_object_get(a, "key")),
                       json_is_string(json_object_get(a, "refused")) ? ": " : "",
                       json_is_string(json_object_get(a, "refused")) ? json_string_value(json_object_get(a, "refused"))
                                                                     : "");
        }
}

static int cmd_show(const struct ecl_cli *cli, int argc, char **argv) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &first);
        if (r < 0)
                return r;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        uint64_t now = (uint64_t) time(NULL);
        _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
        if ((r = load(cli, s, argv[first], now, false, &b)) < 0)
                return r;
        _cleanup_(ecl_quorum_clear) struct ecl_quorum q = {0};
        size_t counted = approvals_of(cli, &b, now, &q);
        unsigned quorum = 0;
        _cleanup_free_ char *why = NULL, *running = NULL;
        bool have_quorum = agent_stack_quorum(cli->root, b.rec.stack, &quorum, &why) >= 0;
        json_t *payload = json_array();
        for (size_t i = 0; payload && i < b.meta->n_payload; i++)
                json_array_append_new(payload, json_pack("{s:s, s:s, s:I, s:s}", "path", b.meta->payload[i].path,
                                                         "install", b.meta->payload[i].install, "size",
                                                         (json_int_t) b.meta->payload[i].size, "sha256",
                                                         b.meta->payload[i].sha256_hex));
        json_t *changes = changes_of(cli, s, &b, &running);
        char digest[80];
        snprintf(digest, sizeof digest, "sha256:%s", b.rec.digest);
        json_auto_t *j = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s?, s:o, s:s?, s:o, s:o, s:I, s:o}", "id",
                b.rec.id, "digest", digest, "stack", b.rec.stack, "licensor", b.meta->licensor, "version",
                b.rec.version, "state", agent_bundle_state_to_string(b.rec.state), "decision",
                b.rec.downgrade ? "downgrade" : "apply", "released", time_or_null(b.meta->released), "expires",
                time_or_null(b.meta->expires), "imported", time_or_null(b.rec.imported), "approval_expires",
                time_or_null(b.rec.approval_expires), "notes", b.meta->notes, "payload", payload ? payload : json_null(),
                "running", running, "changes", changes, "signatures", approvals_json(&q), "approvals", (json_int_t) counted,
                "quorum", have_quorum ? json_integer(quorum) : json_null());
        if (!j)
                return log_oom();
        if (cli->json)
                return ecl_output_json(stdout, cli->json, j) < 0 ? log_oom() : EX_OK;
        print_show(j, &b);
        return EX_OK;
}

static int cmd_statement(const struct ecl_cli *cli, int argc, char **argv) {
        int first;
        int r = ecl_cli_parse_plain(cli, argc, argv, 1, 1, &first);
        if (r < 0)
                return r;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
        if ((r = load(cli, s, argv[first], (uint64_t) time(NULL), false, &b)) < 0)
                return r;
        /* the exact bytes: officers sign what this prints (ssh-keygen -Y sign -n ecluse-approval) */
        if (fwrite(b.statement, 1, b.statement_len, stdout) != b.statement_len || fflush(stdout) != 0)
                return log_error_errno(-EIO, "cannot write the statement");
        return EX_OK;
}

enum { OPT_REASON = 1 };

static int cmd_reject(const struct ecl_cli *cli, int argc, char **argv) {
        const char *reason = NULL;
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0)
                if (c == OPT_REASON)
                        reason = p.arg;
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        if (!reason || !*reason)
                return ecl_cli_usage(cli, "--reason TEXT is required (it goes to the audit log)");
        if (ecl_str_has_control(reason, strlen(reason)) || strlen(reason) > 1024)
                return ecl_cli_usage(cli, "the reason must be one line of at most 1024 bytes");
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        uint64_t now = (uint64_t) time(NULL);
        _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
        if ((r = load(cli, s, argv[p.ind], now, true, &b)) < 0)
                return r;
        if (b.rec.state != AGENT_BUNDLE_QUARANTINED && b.rec.state != AGENT_BUNDLE_APPROVED) {
                log_error("bundle %s is %s: only a quarantined or approved bundle can be rejected", b.rec.id,
                          agent_bundle_state_to_string(b.rec.state));
                return EX_DATAERR;
        }
        json_auto_t *d = json_pack("{s:s, s:s, s:s, s:s}", "id", b.rec.id, "version", b.rec.version, "was",
                                   agent_bundle_state_to_string(b.rec.state), "reason", reason);
        char self[128];
        _cleanup_free_ char *why = NULL, *warning = NULL;
        if (!d)
                return log_oom();
        r = agent_audit(cli->root, cli->log, agent_audit_self(self, sizeof self), "rejected", b.rec.stack, d, &warning,
                        &why);
        if (warning)
                log_warning("%s", warning);
        if (r < 0)
                return log_error_errno(r, "not rejected: %s", ecl_reason_text(why, r));
        b.rec.state = AGENT_BUNDLE_REJECTED;
        free(b.rec.reason);
        b.rec.reason = strdup(reason);
        r = agent_bundle_save(s, &b, now, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        if (!cli->json)
                printf("rejected %s (stack %s version %s)\n", b.rec.id, b.rec.stack, b.rec.version);
        else {
                json_auto_t *j = json_pack("{s:s, s:s}", "id", b.rec.id, "state", "rejected");
                if (!j || ecl_output_json(stdout, cli->json, j) < 0)
                        return log_oom();
        }
        return EX_OK;
}

const struct ecl_command agent_cmd_list = {
        .name = "list",
        .summary = "list the bundles: state, decision, approvals so far and the quorum",
        .run = cmd_list,
};

const struct ecl_command agent_cmd_show = {
        .name = "show",
        .args = "ID",
        .summary = "show a bundle: metadata, notes, payload, what changes against the running release, approvals",
        .run = cmd_show,
};

const struct ecl_command agent_cmd_statement = {
        .name = "statement",
        .args = "ID",
        .summary = "print the exact text officers sign to approve a bundle (namespace ecluse-approval)",
        .no_json = true,
        .run = cmd_statement,
};

const struct ecl_command agent_cmd_reject = {
        .name = "reject",
        .args = "ID",
        .summary = "reject a quarantined bundle; it can never be applied",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION_REQUIRED("reason", OPT_REASON, "TEXT", "why (recorded in the audit log)"),
                        ECL_OPTIONS_END,
                },
        .run = cmd_reject,
};
