/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The service manager's notification protocol (sd_notify(3)) in libc alone,
 * no libsystemd: a state string ("READY=1\nSTATUS=...", "STOPPING=1") sent
 * as one datagram to the AF_UNIX socket $NOTIFY_SOCKET names.  What a unit
 * of Type=notify waits for before it calls the service started.
 *
 * The address is an absolute path, or '@' and the name of an abstract
 * socket (which is per network namespace: a process that moves to another
 * namespace connects first, ecl_notify_open(), and sends later).  Anything
 * else (a relative path, "", "@" alone, vsock:, a path beyond sun_path) is
 * -EINVAL with a reason.  Without the variable nothing is sent and every
 * call returns 0: the supervisor runs the same from a shell.
 */

#define ECL_NOTIFY_SOCKET_ENV "NOTIFY_SOCKET"

/*
 * Connect a datagram socket (SOCK_CLOEXEC) to address: *ret_fd, or -1 when
 * address is NULL (nothing to notify).  -EINVAL for an address of the wrong
 * form; the errno of socket() or connect() (-ENOENT, -ECONNREFUSED...)
 * otherwise; both with *ret_reason.
 */
int ecl_notify_open(const char *address, int *ret_fd, char **ret_reason);

/*
 * Send state (not empty) as one datagram on fd from ecl_notify_open(); fd
 * < 0: nothing, 0.  Never blocks: a receiver whose queue is full gets
 * nothing (-EAGAIN).  The errno of send(), with *ret_reason.
 */
int ecl_notify_send(int fd, const char *state, char **ret_reason);

/* Both at once on $NOTIFY_SOCKET (0 when it is not set), the socket closed again. */
int ecl_sd_notify(const char *state, char **ret_reason);
