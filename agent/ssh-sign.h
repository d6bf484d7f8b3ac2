/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Signing with an officer's own key through OpenSSH (`ecluse-agent approve
 * --key`): ecluse never reads a private key, ssh-keygen does, so
 * passphrases, ssh-agent and hardware-backed (FIDO) keys work as they do
 * for ssh-keygen itself.
 *
 * What runs is fixed: `ssh-keygen -Y sign -f KEY -n NS`, found on PATH by
 * execvp() (no shell), with no file operand, so that ssh-keygen 9.2 reads
 * the message from its standard input and writes the armored signature to
 * its standard output (it says "Signing data on standard input" on stderr).
 * The message goes through a pipe; the signature is read from another one,
 * at most ECL_SSHSIG_MAX_SIZE bytes (more kills ssh-keygen and is
 * -EFBIG).  Standard error is left as it is, normally the officer's
 * terminal, so ssh-keygen's passphrase and "Confirm user presence for key"
 * prompts reach the officer.  The child gets only descriptors 0, 1 and 2;
 * SIGPIPE, should ssh-keygen exit before reading the whole message, is
 * kept from the caller.
 *
 * The signature is returned as ssh-keygen printed it and is NOT verified
 * here: the caller (approve) verifies it with ecl_sshsig against the
 * officers file before storing it, which also refuses a security-key
 * signature made without user presence (sshsig.h).
 *
 * Errors, with *ret_reason:
 *   -ENOENT        the key file does not exist, or ssh-keygen is not installed
 *   -EKEYREJECTED  ssh-keygen failed (wrong passphrase, presence not
 *                  confirmed, not a private key...): its own message is on
 *                  stderr; the reason gives its exit status
 *   -EBADMSG       it succeeded but printed no armored signature
 *   -EFBIG         it printed more than ECL_SSHSIG_MAX_SIZE bytes
 *   -ENOMEM, -errno of pipe(), fork(), poll(), read()
 */
#include <stddef.h>

/*
 * Sign msg (len bytes) with the private key at key_path (or a public key
 * whose private half ssh-agent holds, as ssh-keygen -Y sign accepts) in
 * namespace ns (not empty).  On success *ret_sig is the NUL-terminated
 * armored signature (caller frees) and *ret_sig_len its length.
 */
int agent_ssh_sign(const char *key_path, const char *ns, const void *msg, size_t len, char **ret_sig,
                   size_t *ret_sig_len, char **ret_reason);
