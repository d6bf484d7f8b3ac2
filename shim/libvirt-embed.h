/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * libvirt's embedded QEMU driver (qemu:///embed?root=DIR), the default
 * connection of `ecluse-shim run`: no daemon, the driver runs inside the
 * shim, and the QEMU processes it starts are managed only while the shim
 * lives.  The shim prepares DIR = ROOT/var/lib/ecluse/libvirt itself, with
 * a qemu.conf that forces QEMU's seccomp sandbox (`-sandbox on,...`) and
 * sends QEMU's stdio to files instead of virtlogd.  libvirt holds a lock on
 * DIR/run/qemu/driver.pid while a connection is open, so a second process
 * cannot open the same root while the shim runs.
 *
 * QEMU listens on no network socket: its only listening socket is the QMP
 * monitor, a unix socket DIR/lib/qemu/domain-N-NAME/monitor.sock (root,
 * 0775) in a directory owned by QEMU's user with mode 0750 (so only root
 * and QEMU's user reach it): libvirt's own control channel, not a remote
 * one.  No VNC/SPICE (the domain has no graphics).
 */
#include <stdbool.h>
#include <sys/types.h>

#include "sandbox.h"

/* The qemu.conf ecluse writes (exact content). */
#define SHIM_EMBED_QEMU_CONF                                                    \
        "# Written by ecluse-shim on every run; changes here are overwritten.\n" \
        "# QEMU's own seccomp filter: -sandbox on,obsolete=deny,elevateprivileges=deny,...\n" \
        "seccomp_sandbox = 1\n"                                                 \
        "# No virtlogd: QEMU's stdout/stderr go to a file under the root.\n"    \
        "stdio_handler = \"file\"\n"                                            \
        "# What the shim's sandbox (profile embed) lets libvirt do: no per-domain\n" \
        "# mount namespace, no owner-remembering trusted.* xattrs.\n"           \
        SHIM_SANDBOX_EMBED_QEMU_CONF

/*
 * Create ROOT/var/lib/ecluse/libvirt/STACK (mode 0711: QEMU's user must
 * traverse it to its per-domain directory), etc/ (0700) and etc/qemu.conf
 * (mode 0600, replaced atomically).  Parents it creates are 0755.  *ret_dir = the directory, absolute.
 */
int shim_embed_prepare(const char *root, const char *stack, char **ret_dir);

/* "qemu:///embed?root=" + DIR percent-encoded (everything but unreserved characters and '/'). */
int shim_embed_uri(const char *dir, char **ret_uri);

/*
 * The URI `run` connects to: `connect` when given (qemu:///system, remote
 * URIs), otherwise the stack's embedded root under `root`, prepared.
 * *ret_embed tells whether it is an embedded connection.
 */
int shim_connect_uri(const char *root, const char *stack, const char *connect, char **ret_uri, bool *ret_embed);

/* True for qemu:///embed URIs. */
bool shim_uri_is_embed(const char *uri);

/* mkdir -p: directories it creates get mode; path must end up a directory. */
int shim_mkdir_p(const char *path, mode_t mode);
