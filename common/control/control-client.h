/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The client side of the shim's control socket (control-proto.h): what
 * `ecluse-shim status|stop|reload` use, and what the agent may use to talk
 * to a shim without any of the shim's code.  Nothing here prints: each
 * failure comes with a one-line reason naming the stack.
 */
#include <jansson.h>

/*
 * Send request to the stack's shim and set *ret to its answer, a JSON
 * object (ownership passes).  Errors, each with a reason:
 *   -EINVAL  stack is not a stack name
 *   -ESRCH   the shim is not running (no socket, or nobody listening): 69
 *   -EACCES/-EPERM   refused by the filesystem or by the shim: 77
 *   -ETIMEDOUT  no answer within ECL_CONTROL_CALL_TIMEOUT_MS: 69
 *   -ECONNRESET  the shim closed the connection without answering: 69
 *   -EBADMSG  the answer is not a JSON object, or larger than
 *             ECL_CONTROL_MAX_RESPONSE: 65
 *   an error answer: the negative errno it carries (-EIO when it has none),
 *             and its message in the reason.
 */
int ecl_control_call(const char *root, const char *stack, const char *request, json_t **ret, char **ret_reason);

/*
 * Stack names that have a socket or a failed clean-up record (.failed) in
 * ROOT/run/ecluse, sorted, each once; NULL-terminated (strv_free).  No
 * ROOT/run/ecluse: none.  Files that are neither, or whose name is not a
 * stack name, are skipped.
 */
int ecl_control_list(const char *root, char ***ret_stacks, char **ret_reason);

/*
 * 1 and *ret (that record) when the stack's last clean-up failed, 0 when
 * not, or a negative errno and a reason.  A record that is not a JSON object
 * (or too large, or a link) still says the clean-up failed: *ret is then a
 * record with the error "unreadable failure record".
 */
int ecl_control_read_failed(const char *root, const char *stack, json_t **ret, char **ret_reason);
