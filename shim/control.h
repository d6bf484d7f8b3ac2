/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The server of the shim's control socket, ROOT/run/ecluse/STACK.sock: the
 * paths, the framing and the limits are the protocol's (control-proto.h),
 * the client is control-client.h.
 *
 * Who may ask (SO_PEERCRED, and SO_PEERGROUPS for supplementary groups):
 *   - uid 0 and the shim's own effective uid: every request;
 *   - members of the control group (primary or supplementary): "status"
 *     only, since it changes nothing;
 *   - anybody else: refused with EPERM.
 * The control group is the group "ecluse" when it exists
 * (shim_control_default_group()); the socket file is then owned by that
 * group with mode 0660, so the filesystem lets the same people in.  The
 * directory ROOT/run/ecluse is created 0755 when missing; it and ROOT/run
 * must be owned by root (or the shim's user) and writable by neither group
 * nor others, or listening fails with -EPERM.
 *
 * The server is driven from the supervisor's event loop: poll
 * shim_control_fd() for POLLIN and call shim_control_handle(), which never
 * waits.  Each client accepted is kept pending until its request arrives
 * (then it is answered) or SHIM_CONTROL_REQUEST_TIMEOUT_MS have passed
 * (then it is dropped unanswered), so a client that connects and sends
 * nothing delays nobody.  At most SHIM_CONTROL_MAX_PENDING clients are
 * pending; more wait in the listen backlog until one is done with.  An
 * answer the client does not take at once (a full socket buffer) is dropped.
 *
 * Nothing here prints: failures return a negative errno with *ret_reason
 * (may be NULL; caller frees: reason.h), for the command to print.
 */
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"

#define SHIM_CONTROL_REQUEST_TIMEOUT_MS 1000
#define SHIM_CONTROL_MAX_PENDING 8
#define SHIM_CONTROL_GROUP "ecluse"
#define SHIM_CONTROL_NO_GROUP ((gid_t) -1)
#define SHIM_CONTROL_GROUP_BUF_MAX (16 * 1024 * 1024)

struct shim_control;

struct shim_control_peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool privileged; /* uid 0 or the shim's own uid: may stop and reload */
};

/*
 * The supervisor's answer to an authorised, well-formed request ("status",
 * "stop" or "reload").  Set *ret to a new JSON object (ownership passes) and
 * return 0, or return a negative errno (the client gets {"error": ...}).
 * For "status" the object has at least "stack", "state", "accel", "policy"
 * and "capabilities" (DESIGN.md); see shim_sandbox_describe().
 */
typedef int (*shim_control_handler_t)(const char *request, const struct shim_control_peer *peer, json_t **ret,
                                      void *userdata);

/* gid of the group "ecluse", or SHIM_CONTROL_NO_GROUP when there is none (see below). */
gid_t shim_control_default_group(char **ret_warning);
/*
 * gid of the group name, or SHIM_CONTROL_NO_GROUP when there is none or it
 * cannot be looked up (then *ret_warning says so, for the caller to print).  The entry is read into a buffer of
 * buf_size bytes (0: the system's hint), doubled while getgrnam_r says
 * ERANGE (a group with many members), up to SHIM_CONTROL_GROUP_BUF_MAX.
 */
gid_t shim_control_group_gid(const char *name, size_t buf_size, char **ret_warning);

/*
 * Create and listen on the stack's socket.  A socket file nobody listens on
 * (a killed shim) is replaced; one that answers means the stack is already
 * running: -EBUSY.  Anything else at that path: -EEXIST.  An untrusted
 * ROOT/run/ecluse or ROOT/run (see above): -EPERM.  group: the
 * control group, or SHIM_CONTROL_NO_GROUP.
 */
int shim_control_listen(const char *root, const char *stack, gid_t group, struct shim_control **ret, char **ret_reason);

/*
 * What to poll for POLLIN (an epoll descriptor: new clients, requests that
 * arrived, a pending client's deadline); then call shim_control_handle().
 */
int shim_control_fd(const struct shim_control *c);

/*
 * Without waiting: accept new clients, and for each client whose request has
 * arrived check its credentials, read the request, call handler, answer,
 * close; drop the clients past their deadline.  Returns 0 at once when
 * there is nothing to do.  Problems
 * of the client (refused, silent, oversized, unknown request, gone) are
 * answered when possible and logged at debug level; they are not errors of
 * the server.  Returns a negative errno (and *ret_reason) only when the
 * listening socket itself fails.
 */
int shim_control_handle(struct shim_control *c, shim_control_handler_t handler, void *userdata, char **ret_reason);

/*
 * The shim's clean-up failed (domain, tap or rules may remain): write
 * ROOT/run/ecluse/STACK.failed (ecl_control_failed_new()) before the socket
 * file goes, so that `stop`, which waits for the socket to go, can tell a
 * failed clean-up from a done one (ecl_control_read_failed()).  The file
 * stays until the stack's next shim_control_listen().
 */
int shim_control_mark_failed(struct shim_control *c, const char *stack, const char *error, char **ret_reason);

/* Close the socket and remove its file (if it is still ours). */
void shim_control_free(struct shim_control *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct shim_control *, shim_control_free)
#define _cleanup_control_ _cleanup_(shim_control_freep)
