/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent audit verify|show|note|checkpoint: the command-line face of
 * the audit log (common/audit-log.h).  The log is --log FILE, or
 * <root>/var/lib/ecluse/audit.log.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "allowed-signers.h"
#include "audit-json.h"
#include "audit-log.h"
#include "commands.h"
#include "diag.h"
#include "fileio.h"
#include "log.h"
#include "output.h"
#include "reason.h"
#include "paths.h"
#include "sshsig.h"

#define MAX_CHECKPOINT_SIGNATURES 16

static int log_path(const struct ecl_cli *cli, char **ret) {
        if (cli->log && *cli->log) {
                *ret = strdup(cli->log);
                return *ret ? 0 : -ENOMEM;
        }
        return ecl_path(ret, cli->root, ECL_AUDIT_LOG);
}

static void report_bad(const char *path, const struct ecl_audit_verify *v) {
        log_error("%s: record %" PRIu64 " (line %" PRIu64 ", offset %" PRIu64 "): %s", path, v->bad_record,
                  v->bad_record, v->bad_offset, v->reason);
}

static void print_json(const struct ecl_cli *cli, json_t *o) {
        if (ecl_output_json(stdout, cli->json, o) < 0)
                log_oom();
}

/*
 * Every signature must be a good SSHSIG in namespace "ecluse-audit" over the
 * exact bytes of the checkpoint file, by an allowed signer (for principal,
 * if given), each by a different key.  Adds a "signatures" array to json.
 * Returns a sysexits status.
 */
static int check_signatures(const char *text, size_t len, char *const *sigs, size_t n, const char *signers_path,
                            const char *principal, json_t *json) {
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *signers = NULL;
        int r = ecl_allowed_signers_load(signers_path, &signers, &diags);
        if (r < 0) {
                ecl_diags_print(&diags, stderr);
                return ecl_exit_status(r);
        }
        char fps[MAX_CHECKPOINT_SIGNATURES][ECL_SSHKEY_FP_MAX];
        json_t *arr = json_array();
        if (!arr || json_object_set_new(json, "signatures", arr) < 0)
                return ecl_exit_status(log_oom());
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *why = NULL;
                _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
                r = ecl_sshsig_load(sigs[i], &sig, &why);
                if (r < 0) {
                        log_error("%s", ecl_reason_text(why, r));
                        return ecl_exit_status(r);
                }
                /* No counter_dir: re-checking an old signature must not consume sk counters. */
                struct ecl_sshsig_policy policy = {0};
                _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
                r = ecl_sshsig_verify_buf(sig, text, len, ECL_AUDIT_CHECKPOINT_NAMESPACE, signers, principal,
                                          &policy, &v);
                if (r < 0) {
                        log_error("%s: checkpoint signature refused: %s", sigs[i], ecl_reason_text(v.reason, r));
                        return ecl_exit_status(r);
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(fps[j], v.fingerprint)) {
                                log_error("%s: key %s already signed this checkpoint", sigs[i], v.fingerprint);
                                return EX_DATAERR;
                        } else if (streq(json_string_value(json_object_get(json_array_get(arr, j), "principal")),
                                         v.principal)) {
                                /* One officer with two keys is still one officer. */
                                log_error("%s: %s already signed this checkpoint (with another key)", sigs[i],
                                          v.principal);
                                return EX_DATAERR;
                        }
                snprintf(fps[i], sizeof fps[i], "%s", v.fingerprint);
                if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "principal", v.principal, "key_type",
                                                         v.key_type, "fingerprint", v.fingerprint)) < 0)
                        return ecl_exit_status(log_oom());
        }
        return EX_OK;
}

enum { OPT_CHECKPOINT = 1, OPT_SIGNATURE, OPT_SIGNERS, OPT_PRINCIPAL, OPT_ACTOR, OPT_SUBJECT };

static int cmd_verify(const struct ecl_cli *cli, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        if (log_path(cli, &path) < 0)
                return log_oom();
        const char *cp_path = NULL, *signers_path = NULL, *principal = NULL;
        char *sigs[MAX_CHECKPOINT_SIGNATURES];
        size_t n_sigs = 0;
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0) {
                if (c == OPT_CHECKPOINT)
                        cp_path = p.arg;
                else if (c == OPT_SIGNERS)
                        signers_path = p.arg;
                else if (c == OPT_PRINCIPAL)
                        principal = p.arg;
                else if (c == OPT_SIGNATURE && n_sigs < MAX_CHECKPOINT_SIGNATURES)
                        sigs[n_sigs++] = (char *) p.arg;
                else if (c == OPT_SIGNATURE)
                        return ecl_cli_usage(cli, "at most %d --signature options", MAX_CHECKPOINT_SIGNATURES);
        }
        if (c < 0)
                return c;
        if (p.ind != argc)
                return ecl_cli_usage(cli, "no operands expected, not '%s'", argv[p.ind]);
        if ((n_sigs > 0 || signers_path || principal) && (!cp_path || !signers_path || n_sigs == 0))
                return ecl_cli_usage(cli, "signatures need --checkpoint FILE, --signers FILE and --signature SIG");
        struct ecl_audit_checkpoint cp;
        _cleanup_free_ char *cp_text = NULL;
        size_t cp_len = 0;
        if (cp_path) {
                _cleanup_free_ char *why = NULL;
                int r = ecl_audit_checkpoint_load(cp_path, &cp, &cp_text, &cp_len, &why);
                if (r < 0) {
                        log_error("%s", ecl_reason_text(why, r));
                        return ecl_exit_status(r);
                }
        }
        _cleanup_(json_decrefp) json_t *o = json_object();
        if (!o)
                return ecl_exit_status(log_oom());
        /* The signature first: a checkpoint nobody vouches for proves nothing. */
        if (n_sigs > 0) {
                int st = check_signatures(cp_text, cp_len, sigs, n_sigs, signers_path, principal, o);
                if (st != EX_OK)
                        return st;
        }
        struct ecl_audit_verify v;
        int r = ecl_audit_verify(path, cp_path ? &cp : NULL, &v);
        if (r < 0 && (r != -EBADMSG || !v.bad_record)) {
                log_error("%s", ecl_reason_text(v.reason[0] ? v.reason : NULL, r));
                return ecl_exit_status(r);
        }
        if (cli->json) {
                json_t *sigs_json = json_incref(json_object_get(o, "signatures"));
                json_object_clear(o);
                if (json_object_set_new(o, "ok", json_boolean(r == 0)) < 0 ||
                    json_object_set_new(o, "records", json_integer((json_int_t) v.records)) < 0 ||
                    json_object_set_new(o, "head", json_string(v.head)) < 0 ||
                    json_object_set_new(o, "size", json_integer((json_int_t) v.size)) < 0 ||
                    json_object_set_new(o, "torn_bytes", json_integer((json_int_t) v.torn_bytes)) < 0)
                        return ecl_exit_status(log_oom());
                if (r < 0)
                        json_object_set_new(o, "bad",
                                            json_pack("{s:I,s:I,s:I,s:s}", "record", (json_int_t) v.bad_record,
                                                      "line", (json_int_t) v.bad_record, "offset",
                                                      (json_int_t) v.bad_offset, "reason", v.reason));
                if (cp_path)
                        json_object_set_new(o, "checkpoint",
                                            json_pack("{s:I,s:s,s:b}", "records", (json_int_t) cp.records, "head",
                                                      cp.head, "ok", v.checkpoint_ok));
                if (sigs_json)
                        json_object_set_new(o, "signatures", sigs_json);
                print_json(cli, o);
        }
        if (r < 0) {
                report_bad(path, &v);
                return EX_DATAERR;
        }
        if (v.torn_bytes > 0)
                log_warning("%s: the last line (%" PRIu64 " bytes) is incomplete: an interrupted write, not "
                            "tampering; the next append removes it and records that",
                            path, v.torn_bytes);
        if (!cli->json) {
                printf("ok: %" PRIu64 " records, head %s\n", v.records, v.head);
                if (cp_path && n_sigs > 0)
                        printf("checkpoint: record %" PRIu64 " has head %s: the log was not rewritten up to it\n",
                               cp.records, cp.head);
                else if (cp_path)
                        printf("checkpoint: record %" PRIu64 " has head %s (unsigned: by itself this proves "
                               "nothing, since whoever rewrites the log can make a matching checkpoint)\n",
                               cp.records, cp.head);
                json_t *sj = json_object_get(o, "signatures");
                for (size_t i = 0; i < json_array_size(sj); i++) {
                        json_t *e = json_array_get(sj, i);
                        printf("checkpoint signed by %s with %s key %s\n",
                               json_string_value(json_object_get(e, "principal")),
                               json_string_value(json_object_get(e, "key_type")),
                               json_string_value(json_object_get(e, "fingerprint")));
                }
        }
        return EX_OK;
}

/* audit show: the records' members; the table shows all but prev and hash, details as compact JSON. */
static const struct ecl_output_column show_columns[] = {
        ECL_OUTPUT_COLUMN("seq", "SEQ", ECL_OUTPUT_INTEGER),
        ECL_OUTPUT_COLUMN("time", "TIME", ECL_OUTPUT_TIME),
        ECL_OUTPUT_FLEX("actor", "ACTOR", ECL_OUTPUT_STRING, 8),
        ECL_OUTPUT_COLUMN("event", "EVENT", ECL_OUTPUT_STRING),
        ECL_OUTPUT_FLEX("subject", "SUBJECT", ECL_OUTPUT_STRING, 8),
        ECL_OUTPUT_FLEX("details", "DETAILS", ECL_OUTPUT_STRING, 16),
        ECL_OUTPUT_COLUMNS_END,
};

struct show_state {
        const char *path;
        struct ecl_output *out;
        uint64_t bad;
};

static int show_line(const char *line, size_t len, uint64_t lineno, uint64_t offset, void *userdata) {
        struct show_state *s = userdata;
        const char *why;
        struct ecl_audit_line l;
        if (ecl_audit_line_scan(line, len, &l, &why) < 0) {
                log_error("%s: line %" PRIu64 " (offset %" PRIu64 "): not a valid record: %s", s->path, lineno,
                          offset, why);
                s->bad++;
                return 0;
        }
        /* A canonical line is a JSON object with the members in their order (audit-record.h). */
        json_t *row = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
        if (!row) {
                log_error("%s: line %" PRIu64 " (offset %" PRIu64 "): not a valid record: not JSON", s->path, lineno,
                          offset);
                s->bad++;
                return 0;
        }
        return ecl_output_add(s->out, row);
}

/*
 * The records as they are, then the chain checked over the same bytes: a
 * log that does not verify is shown, and then one line says where it breaks
 * (exit 65).
 */
static int cmd_show(const struct ecl_cli *cli, int argc, char **argv) {
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c = ecl_cli_next(&p);
        if (c < 0)
                return c;
        if (p.ind != argc)
                return ecl_cli_usage(cli, "no operands expected, not '%s'", argv[p.ind]);
        _cleanup_free_ char *path = NULL;
        if (log_path(cli, &path) < 0)
                return log_oom();
        _cleanup_close_ int fd = -1;
        uint64_t size, torn;
        _cleanup_free_ char *why = NULL;
        int r = ecl_audit_open_read(path, &fd, &size, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                return ecl_exit_status(r);
        }
        _cleanup_(ecl_output_freep) struct ecl_output *out = NULL;
        if (ecl_output_new(stdout, cli->json, show_columns, &out) < 0)
                return ecl_exit_status(log_oom());
        struct show_state s = {.path = path, .out = out};
        r = ecl_audit_foreach_line(fd, size, show_line, &s, &torn);
        if (r == -ENOMEM)
                return ecl_exit_status(log_oom());
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "cannot read %s: %m", path));
        if (ecl_output_end(out) < 0)
                return ecl_exit_status(log_oom());
        if (torn > 0)
                log_warning("%s: the last line (%" PRIu64 " bytes) is incomplete (an interrupted write)", path, torn);
        struct ecl_audit_verify v;
        r = ecl_audit_verify_fd(fd, size, NULL, &v);
        if (r < 0 && v.bad_record != 0) {
                log_error("%s: the chain does not verify: record %" PRIu64 " (line %" PRIu64 ", offset %" PRIu64
                          "): %s",
                          path, v.bad_record, v.bad_record, v.bad_offset, v.reason);
                return EX_DATAERR;
        }
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s: %s", path, v.reason[0] ? v.reason : strerror(-r)));
        if (s.bad > 0) { /* cannot be: the chain has every line */
                log_error("%s: %" PRIu64 " invalid lines; run ecluse-agent audit verify", path, s.bad);
                return EX_DATAERR;
        }
        return EX_OK;
}

static int cmd_note(const struct ecl_cli *cli, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        if (log_path(cli, &path) < 0)
                return log_oom();
        const char *actor = NULL, *subject = "";
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0) {
                if (c == OPT_ACTOR)
                        actor = p.arg;
                else if (c == OPT_SUBJECT)
                        subject = p.arg;
        }
        if (c < 0)
                return c;
        if (!actor)
                return ecl_cli_usage(cli, "--actor NAME is required");
        if (p.ind + 1 != argc)
                return ecl_cli_usage(cli, "exactly one TEXT operand expected");
        const char *text = argv[p.ind];
        if (ecl_audit_json_check_utf8(text, strlen(text)) < 0) {
                log_error("the note text is not valid UTF-8");
                return EX_DATAERR;
        }
        json_t *details = json_pack("{s:s}", "text", text);
        if (!details)
                return ecl_exit_status(log_oom());
        _cleanup_free_ char *why = NULL;
        int r = ecl_mkdir_parent(path, 0750, &why);
        struct ecl_audit_record rec = {0};
        struct ecl_audit_repair repair = {0};
        if (r >= 0)
                r = ecl_audit_append(path, actor, "note", subject, details, &rec, &repair, &why);
        json_decref(details);
        if (repair.kind != ECL_AUDIT_REPAIR_NONE)
                log_warning("%s: %s", path, repair.text);
        if (r < 0)
                log_error("%s", ecl_reason_text(why, r));
        if (r < 0)
                return ecl_exit_status(r);
        if (cli->json) {
                json_auto_t *o = json_pack("{s:I,s:s}", "seq", (json_int_t) rec.seq, "hash", rec.hash);
                if (o)
                        print_json(cli, o);
                else
                        log_oom();
        } else
                printf("recorded: seq %" PRIu64 ", hash %s\n", rec.seq, rec.hash);
        ecl_audit_record_done(&rec);
        return EX_OK;
}

static int cmd_checkpoint(const struct ecl_cli *cli, int argc, char **argv) {
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c = ecl_cli_next(&p);
        if (c < 0)
                return c;
        if (p.ind != argc)
                return ecl_cli_usage(cli, "no operands expected, not '%s'", argv[p.ind]);
        _cleanup_free_ char *path = NULL;
        if (log_path(cli, &path) < 0)
                return log_oom();
        struct ecl_audit_verify v;
        int r = ecl_audit_verify(path, NULL, &v);
        if (r == -EBADMSG && v.bad_record) {
                /* One line: where the chain breaks, and that nothing was written. */
                log_error("%s: record %" PRIu64 " (line %" PRIu64 ", offset %" PRIu64 "): %s; no checkpoint of a "
                          "broken log",
                          path, v.bad_record, v.bad_record, v.bad_offset, v.reason);
                return EX_DATAERR;
        }
        if (r < 0) {
                log_error("%s", ecl_reason_text(v.reason[0] ? v.reason : NULL, r));
                return ecl_exit_status(r);
        }
        struct ecl_audit_checkpoint cp = {.records = v.records};
        memcpy(cp.head, v.head, sizeof cp.head);
        if (cli->json) {
                json_auto_t *o = json_pack("{s:I,s:s}", "records", (json_int_t) cp.records, "head", cp.head);
                if (!o)
                        return ecl_exit_status(log_oom());
                print_json(cli, o);
                return EX_OK;
        }
        _cleanup_free_ char *text = NULL;
        if (ecl_audit_checkpoint_format(&cp, &text) < 0)
                return ecl_exit_status(log_oom());
        fputs(text, stdout);
        return EX_OK;
}

const struct ecl_command agent_cmd_audit_verify = {
        .name = "audit verify",
        .summary = "walk the audit log's hash chain; with a (signed) checkpoint, prove it was not rewritten up to it",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("checkpoint", OPT_CHECKPOINT, "FILE", "a checkpoint the log must still contain"),
                        ECL_OPTION("signers", OPT_SIGNERS, "FILE", "allowed_signers of the officers who sign checkpoints"),
                        ECL_OPTION("signature", OPT_SIGNATURE, "SIG", "a signature of the checkpoint (repeatable)"),
                        ECL_OPTION("principal", OPT_PRINCIPAL, "P", "the principal every signature must be by"),
                        ECL_OPTIONS_END,
                },
        .run = cmd_verify,
};

const struct ecl_command agent_cmd_audit_show = {
        .name = "audit show",
        .summary = "the records with their details, as a table or (--json) a JSON array; exit 65 when the chain does not verify",
        .run = cmd_show,
};

const struct ecl_command agent_cmd_audit_note = {
        .name = "audit note",
        .args = "TEXT",
        .summary = "record a decision taken elsewhere",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION_REQUIRED("actor", OPT_ACTOR, "NAME", "who took it"),
                        ECL_OPTION("subject", OPT_SUBJECT, "S", "what it is about"),
                        ECL_OPTIONS_END,
                },
        .run = cmd_note,
};

const struct ecl_command agent_cmd_audit_checkpoint = {
        .name = "audit checkpoint",
        .summary = "print the chain head for officers to sign (ssh-keygen -Y sign -n ecluse-audit)",
        .run = cmd_checkpoint,
};
