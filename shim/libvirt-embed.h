/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * libvirt's embedded QEMU driver (qemu:///embed?root=DIR), the default
 * connection of `ecluse-shim run`: no daemon, the driver runs inside the
 * shim, and the QEMU processes it starts are managed only while the shim
 * lives.  The shim prepares DIR = ROOT/var/lib/ecluse/libvirt/STACK itself, with
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
 *
 * Socket paths (DESIGN.md: every valid stack name starts under any --root
 * of up to 64 bytes).  libvirt 9.0 binds, under the root R it is given,
 * R/lib/qemu/domain-ID-SHORT/monitor.sock, where SHORT is the domain name
 * cut to 20 characters (virDomainDefGetShortName() in src/conf/domain_conf.c)
 * and ID the domain's number; a unix socket path has at most 107 bytes
 * (sun_path).  The domain has no channel (no guest agent: nothing under
 * lib/qemu/channel/), no TPM, no vhost-user, no pr-helper, no dbus: that
 * socket is the only one.  When R = DIR would make it longer than 107 bytes
 * (DIR alone is 24 + 31 bytes at --root /), libvirt gets a short alias of
 * DIR instead: /run/ecluse/v/HASH, HASH the first 16 hex digits of
 * SHA-256(DIR), a symlink to DIR (30 bytes: 91-byte sockets whatever the
 * root).  DIR stays where DESIGN.md puts it and holds everything; the alias
 * is host-wide, outside --root, because no name under a 64-byte root is
 * short enough.  libvirt stores the paths it made through the alias in
 * the status files of DIR/run/qemu/; the alias is the same for the same DIR at every run,
 * so a shim started after a crash finds the monitor where the status file
 * says.  /run is emptied at boot, with every QEMU: `run` makes the alias
 * again before it connects, and removes aliases whose target is gone.
 *
 * Nothing here prints: a failure returns a negative errno with *ret_reason
 * (may be NULL; caller frees: reason.h).
 */
#include <stdbool.h>
#include <sys/types.h>

#include "manifest.h"
#include "sandbox.h"

/* sizeof(sun_path) - 1 */
#define SHIM_UNIX_PATH_MAX 107
/* virDomainDefGetShortName(): VIR_DOMAIN_SHORT_NAME_MAX */
#define SHIM_EMBED_SHORT_NAME_MAX 20
/* What libvirt adds to its root for the longest socket: "/lib/qemu/domain-" ID(<= 10 digits) "-" SHORT "/monitor.sock" */
#define SHIM_EMBED_SOCKET_TAIL_MAX                                                                          \
        (sizeof "/lib/qemu/domain-" - 1 + 10 + 1 + SHIM_EMBED_SHORT_NAME_MAX + sizeof "/monitor.sock" - 1)
/* Where short aliases live: SHIM_EMBED_ALIAS_BASE (the host's, not checked) / SHIM_EMBED_ALIAS_REL (ecluse's). */
#define SHIM_EMBED_ALIAS_BASE "/run"
#define SHIM_EMBED_ALIAS_REL "ecluse/v"
/* Bytes of SHA-256(DIR) in an alias name (twice as many hex digits). */
#define SHIM_EMBED_ALIAS_BYTES 8

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
 * (mode 0600, replaced atomically through the checked etc/).  Parents it
 * creates are 0755.  Every directory from ROOT/var down to etc/, created or
 * reused, is checked as shim_secure_mkdir() does (a real directory, root's,
 * no group/other write), and so is every entry libvirt left in the root
 * (lib/, run/, ...): a pre-created etc/ of another owner, or one others can
 * write, is refused, never used.  *ret_dir = the directory, absolute.
 */
int shim_embed_prepare(const char *root, const char *stack, char **ret_dir, char **ret_reason);

/* The monitor socket libvirt binds for domain dom_name with number id under embed_root. */
int shim_embed_monitor_path(const char *embed_root, const char *dom_name, int id, char **ret);
/*
 * The pid of dom_name's QEMU from the pidfile libvirt keeps in the stack's
 * embedded root (ROOT/var/lib/ecluse/libvirt/STACK/run/qemu/DOM.pid, not
 * followed if a link): 0 and *ret; -ENOENT when there is none; -EBADMSG
 * when it holds no pid.
 */
int shim_embed_qemu_pid(const char *root, const char *stack, const char *dom_name, pid_t *ret);
/* The longest socket path libvirt binds under embed_root, any domain name, any id. */
size_t shim_embed_socket_path_max(const char *embed_root);
/*
 * The root libvirt is given for the prepared dir: dir itself when its
 * sockets fit, otherwise alias_dir/HASH (*ret_alias true).  Computes, creates nothing.
 */
int shim_embed_root_path(const char *alias_dir, const char *dir, char **ret_root, bool *ret_alias);
/*
 * shim_embed_root_path() with alias_dir = alias_base/alias_rel, and the
 * alias made: alias_rel's directories as shim_secure_mkdir() makes them
 * (0755), the symlink HASH -> dir created or found (one naming another
 * target is refused), dangling aliases removed.
 */
int shim_embed_root(const char *alias_base, const char *alias_rel, const char *dir, char **ret_root, char **ret_reason);

/*
 * Before starting: can QEMU, running as uid/gid (QEMU's user; -1 or 0:
 * nothing to check), reach what it opens by path: the embedded root as
 * libvirt is given it (its master-key.aes and monitor live below), the
 * kernel, the initrd and the disks (under root)?  0, or -EACCES with
 * *ret_reason naming the directory to change (shim_reach_check()).
 */
int shim_embed_check_reach(const char *root, const struct ecl_manifest *m, uid_t uid, gid_t gid, char **ret_reason);

/* "qemu:///embed?root=" + DIR percent-encoded (everything but unreserved characters and '/'). */
int shim_embed_uri(const char *dir, char **ret_uri);

/*
 * The URI `run` connects to: `connect` when given (qemu:///system, remote
 * URIs), otherwise the stack's embedded root under `root`, prepared.
 * *ret_embed tells whether it is an embedded connection.
 */
int shim_connect_uri(const char *root, const char *stack, const char *connect, char **ret_uri, bool *ret_embed,
                     char **ret_reason);

/* True for qemu:///embed URIs. */
bool shim_uri_is_embed(const char *uri);
