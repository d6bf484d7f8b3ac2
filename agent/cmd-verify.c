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
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>


#include "allowed-signers.h"
#include "commands.h"
#include "log.h"
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
                _cleanup_free_ char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                if (s)
                        printf("%s\n", s);
                return;
        }
        printf("Good \"%s\" signature for %s with %s key %s\n", ns, v->principal, v->key_type, v->fingerprint);
}

/* Inputs that cannot be used (symlink, directory) count as missing input. */
static int status_of(int r) {
        if (r == -ELOOP || r == -EISDIR)
                return EX_NOINPUT;
        return ecl_exit_status(r);
}

int agent_cmd_verify(const struct ecl_cli *cli, int argc, char **argv) {
        static const struct option opts[] = {
                {"signers", required_argument, NULL, 's'},
                {"namespace", required_argument, NULL, 'n'},
                {"principal", required_argument, NULL, 'p'},
                {"signature", required_argument, NULL, 'S'},
                {"require-uv", no_argument, NULL, 'u'},
                {"counter-dir", required_argument, NULL, 'c'},
                {},
        };
        const char *signers_path = NULL, *ns = NULL, *principal = NULL, *sig_path = NULL;
        struct ecl_sshsig_policy policy = {0};
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        signers_path = optarg;
                        break;
                case 'n':
                        ns = optarg;
                        break;
                case 'p':
                        principal = optarg;
                        break;
                case 'S':
                        sig_path = optarg;
                        break;
                case 'u':
                        policy.require_uv = true;
                        break;
                case 'c':
                        policy.counter_dir = optarg;
                        break;
                default:
                        log_error("verify: unknown option or missing value '%s' (see --help)", argv[optind - 1]);
                        return EX_USAGE;
                }
        }
        if (!signers_path || !ns || !sig_path) {
                log_error("verify: --signers, --namespace and --signature are required (see --help)");
                return EX_USAGE;
        }
        if (!*ns) {
                log_error("verify: the namespace must not be empty");
                return EX_USAGE;
        }
        if (argc - optind > 1) {
                log_error("verify: at most one message FILE (see --help)");
                return EX_USAGE;
        }
        const char *msg_path = optind < argc ? argv[optind] : NULL;

        _cleanup_free_ char *why = NULL;
        _cleanup_(ecl_sshsig_freep) struct ecl_sshsig *sig = NULL;
        int r = ecl_sshsig_load(sig_path, &sig, &why);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                return status_of(r);
        }
        _cleanup_(ecl_diags_clear) struct ecl_diags diags = {0};
        _cleanup_(ecl_allowed_signers_freep) struct ecl_allowed_signers *signers = NULL;
        r = ecl_allowed_signers_load(signers_path, &signers, &diags);
        if (r < 0) {
                ecl_diags_print(&diags, stderr);
                return status_of(r);
        }
        _cleanup_close_ int fd = -1;
        if (msg_path) {
                fd = open(msg_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (fd < 0) {
                        r = -errno;
                        if (r == -ELOOP)
                                log_error("message file %s is a symbolic link (refused)", msg_path);
                        else
                                log_error_errno(r, "cannot open message file %s: %m", msg_path);
                        return status_of(r);
                }
                struct stat st;
                if (fstat(fd, &st) < 0)
                        return status_of(log_error_errno(errno, "cannot stat %s: %m", msg_path));
                if (S_ISDIR(st.st_mode)) {
                        log_error("message file %s is a directory", msg_path);
                        return EX_NOINPUT;
                }
        }
        _cleanup_(ecl_sshsig_verdict_clear) struct ecl_sshsig_verdict v = {0};
        r = ecl_sshsig_verify_fd(sig, fd >= 0 ? fd : STDIN_FILENO, ns, signers, principal, &policy, &v);
        if (r < 0) {
                log_error("%s", ecl_reason_text(v.reason, r));
                return ecl_exit_status(r);
        }
        print_good(cli, ns, &v);
        return EX_OK;
}
