/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark driver (not a test): verify N SSHSIG signatures in-process with
 * the ecluse library, as the agent does, and print verifications per second.
 *
 *   sshsig-bench SIGNERS NAMESPACE PRINCIPAL DIR N
 *
 * DIR holds messages m0..m(N-1) and their signatures m0.sig...  Each round
 * loads the signature file, opens the message and verifies it (the signers
 * file is loaded once, as a running agent keeps it).  Built by
 * bench/sshsig-verify.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "allowed-signers.h"
#include "sshsig.h"

int main(int argc, char **argv) {
        if (argc != 6) {
                fprintf(stderr, "usage: %s SIGNERS NAMESPACE PRINCIPAL DIR N\n", argv[0]);
                return 64;
        }
        int n = atoi(argv[5]);
        struct ecl_allowed_signers *signers = NULL;
        struct ecl_diags d = {0};
        if (ecl_allowed_signers_load(argv[1], &signers, &d) < 0) {
                ecl_diags_print(&d, stderr);
                return 65;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < n; i++) {
                char sigp[4096], msgp[4096], *why = NULL;
                snprintf(sigp, sizeof sigp, "%s/m%d.sig", argv[4], i);
                snprintf(msgp, sizeof msgp, "%s/m%d", argv[4], i);
                struct ecl_sshsig *sig = NULL;
                if (ecl_sshsig_load(sigp, &sig, &why) < 0) {
                        fprintf(stderr, "%s: %s\n", sigp, why);
                        return 65;
                }
                int fd = open(msgp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        perror(msgp);
                        return 66;
                }
                struct ecl_sshsig_verdict v = {0};
                if (ecl_sshsig_verify_fd(sig, fd, argv[2], signers, argv[3], NULL, &v) < 0) {
                        fprintf(stderr, "%s: %s\n", sigp, v.reason);
                        return 65;
                }
                ecl_sshsig_verdict_clear(&v);
                close(fd);
                ecl_sshsig_free(sig);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%.1f\n", n / s);
        ecl_allowed_signers_free(signers);
        ecl_diags_clear(&d);
        return 0;
}
