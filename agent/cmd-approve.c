/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent approve ID (--key KEY | --signature SIG)
 *
 * An officer's approval of a quarantined bundle: an SSHSIG over its
 * statement (namespace ecluse-approval), made here with `ssh-keygen -Y sign`
 * (--key: security keys ask for a touch) or brought along (--signature).
 * It is kept only if it counts: signer an officer, over this very statement,
 * not expired, an officer not counted already (by principal and by key).
 * Otherwise it is refused (65) and nothing but an `approval-refused` record
 * remains.  The `approved` record names the officer and the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent-audit.h"
#include "bundles.h"
#include "cmd-common.h"
#include "commands.h"
#include "fileio.h"
#include "log.h"
#include "output.h"
#include "paths.h"
#include "quarantine.h"
#include "reason.h"
#include "ssh-sign.h"
#include "sshsig.h"
#include "store.h"

enum { OPT_KEY = 1, OPT_SIGNATURE };

/* Write the candidate as approvals/.new-RANDOM.sig; *ret_name its name. */
static int write_candidate(int approvals_fd, const char *text, size_t len, char ret_name[32], char **ret_reason) {
        uint8_t rnd[6];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return ecl_reason_errno(ret_reason, -errno, "getrandom");
        snprintf(ret_name, 32, ".new-%02x%02x%02x%02x%02x%02x.sig", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
        _cleanup_close_ int fd =
                openat(approvals_fd, ret_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot create %s", ret_name);
        for (size_t off = 0; off < len;) {
                ssize_t k = write(fd, text + off, len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        int r = k < 0 ? -errno : -EIO;
                        (void) unlinkat(approvals_fd, ret_name, 0);
                        return ecl_reason_errno(ret_reason, r, "cannot write %s", ret_name);
                }
                off += (size_t) k;
        }
        if (fsync(fd) < 0) {
                int r = -errno;
                (void) unlinkat(approvals_fd, ret_name, 0);
                return ecl_reason_errno(ret_reason, r, "cannot write %s", ret_name);
        }
        return 0;
}

static int audit_refused(const struct ecl_cli *cli, const struct agent_bundle *b, const struct ecl_approval *a,
                         const char *reason) {
        json_auto_t *d = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "id", b->rec.id, "version", b->rec.version,
                                   "reason", reason, "officer", a ? a->officer : NULL, "key",
                                   a && a->fingerprint[0] ? a->fingerprint : NULL);
        if (!d)
                return log_oom();
        char self[128];
        _cleanup_free_ char *why = NULL, *warning = NULL;
        int r = agent_audit(cli->root, cli->log, agent_audit_self(self, sizeof self), "approval-refused", b->rec.stack,
                            d, &warning, &why);
        if (warning)
                log_warning("%s", warning);
        if (r < 0)
                log_error("the refusal is not in the audit log: %s", ecl_reason_text(why, r));
        return r;
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        const char *key = NULL, *sig_path = NULL;
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0) {
                if (c == OPT_KEY)
                        key = p.arg;
                else if (c == OPT_SIGNATURE)
                        sig_path = p.arg;
        }
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        if (!key == !sig_path)
                return ecl_cli_usage(cli, "give exactly one of --key KEY and --signature SIG");

        _cleanup_free_ char *why = NULL, *warning = NULL;
        _cleanup_(agent_store_freep) struct agent_store *s = NULL;
        if ((r = agent_cmd_open_store(cli, &s)) < 0)
                return r;
        uint64_t now = (uint64_t) time(NULL);
        _cleanup_(agent_bundle_done) struct agent_bundle b = {.dirfd = -1, .lock_fd = -1};
        r = agent_bundle_load(s, argv[p.ind], &b, &why);
        if (r == -EINVAL || r == -ENOTUNIQ)
                return ecl_cli_usage(cli, "%s", ecl_reason_text(why, r));
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        /* The signature: made now (before the bundle is locked: a touch or a passphrase may take long, and
         * nobody waits for it), or brought along.  The statement is fixed at import. */
        _cleanup_free_ char *sig = NULL;
        size_t sig_len = 0;
        if (key)
                r = agent_ssh_sign(key, AGENT_APPROVAL_NAMESPACE, b.statement, b.statement_len, &sig, &sig_len, &why);
        else {
                r = ecl_file_read(sig_path, ECL_SSHSIG_MAX_SIZE, &sig, &sig_len, &why);
                if (r < 0) {
                        _cleanup_free_ char *w = why;
                        why = NULL;
                        (void) ecl_reason(&why, r, "%s: %s", sig_path, ecl_reason_text(w, r));
                }
        }
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));

        r = agent_bundle_lock(&b, &why);
        if (r >= 0) { /* the record as it is now that the bundle is ours: another command may have changed it */
                char id[sizeof b.rec.id];
                memcpy(id, b.rec.id, sizeof id);
                agent_record_clear(&b.rec);
                r = agent_record_read(s, id, &b.rec, &why);
        }
        if (r >= 0)
                r = agent_bundle_refresh(s, &b, now, cli->root, cli->log, &warning, &why);
        if (warning)
                log_warning("%s", warning);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        if (b.rec.state != AGENT_BUNDLE_QUARANTINED && b.rec.state != AGENT_BUNDLE_APPROVED) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "bundle %s is %s: it takes no more approvals", b.rec.id,
                             agent_bundle_state_to_string(b.rec.state)) < 0)
                        return log_oom();
                log_error("%s", text);
                (void) audit_refused(cli, &b, NULL, text);
                return EX_DATAERR;
        }

        _cleanup_close_ int afd =
                openat(b.dirfd, AGENT_APPROVALS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (afd < 0)
                return log_error_errno(-errno, "bundle %s: %s: %m", b.rec.id, AGENT_APPROVALS_DIR);
        char cand[32];
        r = write_candidate(afd, sig, sig_len, cand, &why);
        if (r < 0)
                return log_error_errno(r, "bundle %s: %s", b.rec.id, ecl_reason_text(why, r));
        _cleanup_free_ char *cand_path = NULL;
        if (ecl_path(&cand_path, cli->root, ECL_QUARANTINE_DIR "/%s/" AGENT_APPROVALS_DIR "/%s", b.rec.id, cand) < 0) {
                (void) unlinkat(afd, cand, 0);
                return log_oom();
        }
        _cleanup_(ecl_quorum_clear) struct ecl_quorum q = {0};
        r = agent_bundle_count(cli->root, &b, now, cand_path, &q, &why);
        if (r < 0) {
                (void) unlinkat(afd, cand, 0);
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        }
        const struct ecl_approval *mine = &q.items[q.n - 1];
        if (mine->result != 0) {
                (void) unlinkat(afd, cand, 0);
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "approval of %s refused: %s", b.rec.id, ecl_reason_text(mine->reason, mine->result)) <
                    0)
                        return log_oom();
                log_error("%s", text);
                (void) audit_refused(cli, &b, mine, text);
                return EX_DATAERR;
        }

        unsigned quorum = 0;
        r = agent_stack_quorum(cli->root, b.rec.stack, &quorum, &why);
        if (r < 0) {
                (void) unlinkat(afd, cand, 0);
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        }
        bool reached = q.counted >= quorum;
        json_auto_t *d = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "id", b.rec.id, "version", b.rec.version, "key",
                                   mine->fingerprint, "approvals", (json_int_t) q.counted, "quorum",
                                   (json_int_t) quorum, "quorum_reached", reached);
        if (!d) {
                (void) unlinkat(afd, cand, 0);
                return log_oom();
        }
        /* the record before the approval counts: an approval the log does not tell of never counts */
        r = agent_audit(cli->root, cli->log, mine->officer, "approved", b.rec.stack, d, &warning, &why);
        if (warning)
                log_warning("%s", warning);
        if (r < 0) {
                (void) unlinkat(afd, cand, 0);
                return log_error_errno(r, "approval not recorded: %s", ecl_reason_text(why, r));
        }
        char final[32];
        snprintf(final, sizeof final, "%06zu.sig", q.n);
        if (renameat(afd, cand, afd, final) < 0 || fsync(afd) < 0) {
                r = -errno;
                (void) unlinkat(afd, cand, 0);
                return log_error_errno(r, "bundle %s: cannot keep the approval: %m", b.rec.id);
        }
        if (reached && b.rec.state == AGENT_BUNDLE_QUARANTINED) {
                b.rec.state = AGENT_BUNDLE_APPROVED;
                r = agent_bundle_save(s, &b, now, &why);
                if (r < 0)
                        return log_error_errno(r, "%s", ecl_reason_text(why, r));
        }
        if (cli->json) {
                json_auto_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", b.rec.id, "officer", mine->officer,
                                           "key", mine->fingerprint, "approvals", (json_int_t) q.counted, "quorum",
                                           (json_int_t) quorum, "state", agent_bundle_state_to_string(b.rec.state));
                if (!j || ecl_output_json(stdout, cli->json, j) < 0)
                        return log_oom();
        } else {
                printf("approved by %s (%s): %zu of %u approvals\n", mine->officer, mine->fingerprint, q.counted, quorum);
                if (reached)
                        printf("quorum reached: `ecluse-agent apply %s` applies it\n", b.rec.id);
        }
        return EX_OK;
}

const struct ecl_command agent_cmd_approve = {
        .name = "approve",
        .args = "ID",
        .summary = "approve a bundle as an officer: sign its statement with KEY (ssh-keygen) or bring SIG",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("key", OPT_KEY, "KEY", "your SSH private key (a FIDO key asks for a touch)"),
                        ECL_OPTION("signature", OPT_SIGNATURE, "SIG",
                                   "a signature you made: ssh-keygen -Y sign -n ecluse-approval over `statement ID`"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};
