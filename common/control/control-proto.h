/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The shim's control socket as both sides see it (DESIGN.md, "Paths"): where
 * it lives, how a request and its answer are framed, the limits.  The
 * server is the shim's (shim/control.h), the client is control-client.h;
 * neither needs the other's code.
 *
 *   ROOT/run/ecluse/STACK.sock     the socket, while the stack's shim runs
 *   ROOT/run/ecluse/STACK.failed   the record of a clean-up that failed,
 *                                  {"stack", "state": "teardown-failed", "error"}
 *
 * Protocol: AF_UNIX SOCK_SEQPACKET, one connection per request.  The client
 * sends one message, the request word ("status", "stop" or "reload",
 * optionally followed by a newline, at most ECL_CONTROL_MAX_REQUEST bytes);
 * the server answers with one message, a JSON object of at most
 * ECL_CONTROL_MAX_RESPONSE bytes, and closes.  A failure is the object
 * {"error": "one line", "errno": N} with a positive errno.
 */
#include <jansson.h>
#include <sys/un.h>

#define ECL_CONTROL_MAX_REQUEST 256
#define ECL_CONTROL_MAX_RESPONSE (64 * 1024)
/* How long a client waits for its answer ("stop" answers once the request is taken). */
#define ECL_CONTROL_CALL_TIMEOUT_MS 30000
#define ECL_CONTROL_FAILED_STATE "teardown-failed"

/*
 * ROOT/run/ecluse/STACK.sock and ROOT/run/ecluse/STACK.failed.  -EINVAL (and
 * a reason) for a name that is not a stack name: no path is built from it.
 */
int ecl_control_socket_path(const char *root, const char *stack, char **ret, char **ret_reason);
int ecl_control_failed_path(const char *root, const char *stack, char **ret, char **ret_reason);

/*
 * The address of the socket file path, for bind() and connect().  A path
 * longer than sun_path (ROOT/run/ecluse/STACK.sock is 112 bytes with a
 * 64-byte root and a 31-character name) is reached through its directory:
 * *ret_dirfd is then an O_PATH descriptor of it (close it after bind or
 * connect; -1 otherwise) and the address /proc/self/fd/N/STACK.sock.
 * -ENAMETOOLONG, or what open() said of the directory, with a reason.
 */
int ecl_control_sockaddr(const char *path, struct sockaddr_un *ret, int *ret_dirfd, char **ret_reason);

/* The failure answer {"error": message, "errno": |err|}; NULL when out of memory. */
json_t *ecl_control_error_new(int err, const char *message);
/* The failed clean-up record of stack; NULL when out of memory. */
json_t *ecl_control_failed_new(const char *stack, const char *error);
