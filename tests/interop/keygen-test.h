/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Keys and signatures made by the real ssh-keygen, for the interop tests
 * (header-only: each test is one translation unit).  Each helper fails the
 * test when ssh-keygen does.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

/* For a setup function: 0 when ssh-keygen is on PATH, else -1 (the tests fail) with why. */
static inline int kt_require_ssh_keygen(void) {
        if (tl_have_program("ssh-keygen"))
                return 0;
        fprintf(stderr, "ssh-keygen not found: interop tests need openssh-client\n");
        return -1;
}

/* ssh-keygen -t TYPE [-b BITS] without passphrase: DIR/NAME and DIR/NAME.pub, comment NAME. */
static inline void kt_keygen(const char *dir, const char *name, const char *type, const char *bits) {
        _cleanup_free_ char *path = tl_strf("%s/%s", dir, name);
        char *argv[] = {"ssh-keygen",  "-q", "-t", (char *) type,      "-N",          "",  "-C",
                        (char *) name, "-f", path, bits ? "-b" : NULL, (char *) bits, NULL};
        struct tl_result r;
        tl_run(argv, &r);
        if (r.status != 0)
                fail_msg("ssh-keygen -t %s: %s", type, r.err);
        tl_result_free(&r);
}

/* ssh-keygen -Y sign of the file msg with key in ns (hashalg NULL: its
 * default); the signature it writes beside msg is moved to sig. */
static inline void kt_sign(const char *key, const char *ns, const char *msg, const char *hashalg, const char *sig) {
        _cleanup_free_ char *made = tl_strf("%s.sig", msg);
        _cleanup_free_ char *opt = hashalg ? tl_strf("hashalg=%s", hashalg) : NULL;
        char *argv[] = {"ssh-keygen", "-q",        "-Y",         "sign", "-f", (char *) key,
                        "-n",         (char *) ns, (char *) msg, NULL,   NULL, NULL};
        if (opt) {
                argv[8] = "-O";
                argv[9] = opt;
                argv[10] = (char *) msg;
        }
        unlink(made);
        struct tl_result r;
        tl_run(argv, &r);
        if (r.status != 0)
                fail_msg("ssh-keygen -Y sign %s: %s", key, r.err);
        tl_result_free(&r);
        assert_int_equal(rename(made, sig), 0);
}

/* The public key line of DIR/NAME.pub ("TYPE BASE64 COMMENT"); caller frees. */
static inline char *kt_pub(const char *dir, const char *name) {
        _cleanup_free_ char *p = tl_strf("%s/%s.pub", dir, name);
        char *s = tl_read_file(p, NULL);
        assert_non_null(s);
        s[strcspn(s, "\n")] = '\0';
        return s;
}
