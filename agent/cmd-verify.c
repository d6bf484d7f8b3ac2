/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent verify --signers FILE --namespace NS [--principal P]
 *                     --signature SIG [--require-uv] [--counter-dir DIR] [FILE]
 *
 * Check an SSHSIG signature over FILE (or stdin) as `ssh-keygen -Y verify`
 * does, without OpenSSH: for auditors.  Prints the principal that signed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>


#include "allowed-signers.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "fileio.h"
#include "reason.h"
#include "sshsig.h"


static void print_good(const struct ecl_cli *cli, const char *ns, const struct ecl_sshsig_verdict *v) {
        if (cli->json) {
                _cleanup_(json_decrefp) json_t *o = json_pack(
                        "{s:s, s:s, s:s, s:s, s:s, s:i}", "principal", v->principal, "namespace", ns, "key_type",
                        v->key_type, "signature_algorithm", v->sig_alg, "fingerprint", v->fingerprint,
                        "signers_line", (int) v->signers_line);
                if (o && v->sk) {
                        json_object_set_new(o, "sk_flags", json_integer(v->sk_flags));
                        json_object_set_new(o, "sk_counter", json_integer(v->sk_counter));
                }
                if (!o || ecl_output_json(stdout, cli->json, o) < 0)
                        log_oom();
                return;
        }
        printf("Good \"%s\" signature for %s with %s key %s\n", ns, v->principal, v->key_type, v->fingerprint);
}

enum { OPT_SIGNERS = 1, OPT_NAMESPACE, OPT_PRINCIPAL, OPT_SIGNATURE, OPT_REQUIRE_UV, OPT_COUNTER_DIR };

static int run(const struct ecl_cli *cli, int argc, char **argv);

const struct ecl_command agent_cmd_verify = {
        .name = "verify",
        .args = "[FILE]",
        .summary = "check an OpenSSH SSHSIG signature of FILE (or stdin) as ssh-keygen -Y verify does; print who signed",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION_REQUIRED("signers", OPT_SIGNERS, "FILE", "the allowed_signers file"),
                        ECL_OPTION_REQUIRED("namespace", OPT_NAMESPACE, "NS", "the namespace the signature must be for"),
                        ECL_OPTION("principal", OPT_PRINCIPAL, "P", "the principal that must have signed"),
                        ECL_OPTION_REQUIRED("signature", OPT_SIGNATURE, "SIG", "the armored signature file"),
                        ECL_OPTION("require-uv", OPT_REQUIRE_UV, NULL, "demand user verification from security keys"),
                        ECL_OPTION("counter-dir", OPT_COUNTER_DIR, "DIR", "keep security keys' counter high-water marks there"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        const char *signers_path = NULL, *ns = NULL, *principal = NULL, *sig_path = NULL;
        struct ecl_sshsig_policy policy = {0};
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0) {
                switch (c) {
                case OPT_SIGNERS:
                        signers_path = p.arg;
                        break;
                case OPT_NAMESPACE:
                        ns = p.arg;
                        break;
                case OPT_PRINCIPAL:
                        principal = p.arg;
                        break;
                case OPT_SIGNATURE:
                        sig_path = p.arg;
                        break;
                case OPT_REQUIRE_UV:
                        policy.require_uv = true;
                        break;
                case OPT_COUNTER_DIR:
                        policy.counter_dir = p.arg;
                        break;
                }
        }
        if (c < 0)
                return c;
        if (!signers_path || !ns || !sig_path)
                return ecl_cli_usage(cli, "--signers, --namespace and --signature are required");
        if (!*ns)
                return ecl_cli_usage(cli, "the namespace must not be empty");
        if (argc - p.ind > 1)
                return ecl_cli_usage(cli, "at most one message FILE");
        const char *msg_path = p.ind < argc ? argv[p.ind] : NULL;

        _cleanup_close_ int fd = -1;
        /* Every input is opened before any is judged: a refused file is said first. */
        if (msg_path) {
                /* Any size (it is hashed as it streams), but a regular file, not through a link (fileio.h);
                 * a pipe comes on stdin. */
                _cleanup_free_ char *open_why = NULL;
                int r = ecl_file_open_at(AT_FDCWD, msg_path, 0, &fd, NULL, &open_why);
                if (r < 0) {
                        log_error("message file %s: %s", msg_path, ecl_reason_text(open_why, r));
                        return r;
                }
        }
        _cleanup_free_ char *why = NULL;
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
        int r = ecl_sshsig_load(sig_path, &sig, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                return r;
        }
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *signers = NULL;
        r = ecl_allowed_signers_load(signers_path, &signers, &diags);
        if (r < 0) {
                ecl_diags_print(&diags, stderr);
                return r;
        }
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        r = ecl_sshsig_verify_fd(sig, fd >= 0 ? fd : STDIN_FILENO, ns, signers, principal, &policy, &v);
        if (r < 0) {
                log_error("%s", ecl_reason_text(v.reason, r));
                return r;
        }
        print_good(cli, ns, &v);
        return EX_OK;
}
