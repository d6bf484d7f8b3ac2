/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Self-hardening of ecluse-shim (DESIGN.md, invariant 5): keep only the
 * capabilities the supervisor still needs, set no_new_privs, install a
 * seccomp filter, and describe the result for `status`.
 *
 * Order the supervisor follows:
 *
 *   0. its own network namespace (netns.h), which needs CAP_SYS_ADMIN,
 *      unshare, mount and setns: before anything below;
 *   1. shim_sandbox_drop_caps(shim_sandbox_caps(profile, &n), n)
 *      while the process is still single-threaded (capabilities are per
 *      thread: it refuses with -EBUSY otherwise).  Every set below is
 *      enough for the whole life of the supervisor, setup included;
 *   2. shim_sandbox_seccomp(profile) at once (no_new_privs with it), still
 *      before libvirt starts a thread or forks the first QEMU;
 *   3. setup (uplink, tap, nftables, libvirt connection, domain started
 *      paused...), all of it under the filter.
 *
 * QEMU, forked by the embedded libvirt driver, runs with exactly what the
 * shim has then: the capabilities of its set (dropped further by libvirt to
 * QEMU's user, with no effective capability), no_new_privs, and the filter
 * (so no mount, unshare, setns, namespace flags on clone, clone3, bpf,
 * ptrace, module or clock calls), with QEMU's own `-sandbox on` filter
 * stacked on top.  The tap QEMU gets is opened by libvirt.  QEMU's own `-sandbox on` filter stacks on top of ours (it needs
 * no_new_privs or CAP_SYS_ADMIN, and no_new_privs is already set); the
 * unit test starts a real QEMU with `-sandbox on` under the filter.
 * Caveat: with no_new_privs a QEMU exec cannot gain privileges from a file
 * (setuid helpers such as qemu-bridge-helper, file capabilities) and an LSM
 * profile transition on exec must be a subset of the current one; ecluse
 * needs neither (it creates the taps itself).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/types.h>

/*
 * The sets below were found by starting (paused, then resumed) and
 * destroying a guest through qemu:///embed with each capability left out
 * in turn, as root on Debian 12 (libvirt 9.0, QEMU 7.2); every one kept is
 * one whose absence broke that.  CAP_SYS_RESOURCE is not kept: set
 * max_files or max_processes in qemu.conf and libvirt would need it.  The
 * QEMU it starts runs as the stack's own identity under the embedded driver
 * (qemu-id.h; as qemu.conf's user, libvirt-qemu, under qemu:///system) with
 * no effective capability and a bounding set no larger than the shim's.  Without CAP_SYS_ADMIN and bpf,
 * libvirt logs "Group devices ACL is not accessible, disabling filtering":
 * QEMU's device access then rests on its user, file modes and QEMU's own
 * seccomp sandbox instead of a cgroup device filter.
 */
enum shim_sandbox_profile {
        /*
         * qemu:///embed (the default), with the embedded driver configured
         * by ROOT/etc/qemu.conf as SHIM_SANDBOX_EMBED_QEMU_CONF says (no
         * per-domain mount namespace, no owner-remembering xattrs).  libvirt
         * runs inside the shim and forks QEMU itself, so the shim keeps:
         * CHOWN, DAC_OVERRIDE, FOWNER (state directories and files handed
         * to the QEMU user), SETUID, SETGID, SETPCAP (QEMU dropped to that
         * user, its bounding set cleared), KILL (QEMU runs as another user)
         * and NET_ADMIN (taps and the nftables table).  The filter refuses
         * mount, unshare, setns and bpf as well.
         */
        SHIM_SANDBOX_EMBED,
        /*
         * qemu:///system or a remote URI: libvirtd spawns QEMU, the shim
         * only creates and removes its taps and nftables table, so it keeps
         * NET_ADMIN alone; the filter is that of SHIM_SANDBOX_EMBED.
         */
        SHIM_SANDBOX_REMOTE,
};

/* What ROOT/etc/qemu.conf of the embedded driver must contain for SHIM_SANDBOX_EMBED. */
#define SHIM_SANDBOX_EMBED_QEMU_CONF "namespaces = [ ]\nremember_owner = 0\n"

/* "embed" or "remote". */
const char *shim_sandbox_profile_to_string(enum shim_sandbox_profile p);
/* The profile for a libvirt URI: NULL, "" and qemu:///embed[?...] are EMBED, the rest REMOTE. */
enum shim_sandbox_profile shim_sandbox_profile_for_uri(const char *uri);

/* The capabilities kept by default in a profile (static storage). */
const cap_value_t *shim_sandbox_caps(enum shim_sandbox_profile p, size_t *ret_n);

/*
 * Drop every capability but keep[0..n-1] from the bounding set, the
 * effective, permitted and inheritable sets, and clear the ambient set
 * (kept capabilities are not passed on through exec as ambient ones).  A
 * kept capability the process does not hold is simply not there.  Needs
 * CAP_SETPCAP to shrink the bounding set (left as it is without it: a
 * process without CAP_SETPCAP is not root-equivalent to begin with).
 * Returns -EBUSY if the process has more than one thread.  Like every
 * function here it prints nothing: a failure comes with *ret_reason (may be
 * NULL; caller frees: reason.h).
 */
int shim_sandbox_drop_caps(const cap_value_t *keep, size_t n, char **ret_reason);

/* prctl(PR_SET_NO_NEW_PRIVS) on the calling thread. */
int shim_sandbox_no_new_privs(char **ret_reason);

/*
 * Install the deny-list filter of the profile on every thread (TSYNC); it
 * also sets no_new_privs (the kernel requires it without CAP_SYS_ADMIN).
 * Refused calls fail with EPERM, except io_uring_*, userfaultfd,
 * perf_event_open and bpf which fail with ENOSYS so that
 * libraries probing for them take their "not supported" path.
 * Deny-list, not allow-list: the embedded driver forks and execs QEMU,
 * which inherits the filter, so an allow-list would have to cover QEMU too.
 */
int shim_sandbox_seccomp(enum shim_sandbox_profile p, char **ret_reason);

/* What /proc/PID/status says (pid 0: this process). */
struct shim_sandbox_state {
        uint64_t cap_eff, cap_prm, cap_inh, cap_bnd, cap_amb;
        bool no_new_privs;
        int seccomp;              /* 0 disabled, 1 strict, 2 filter */
        unsigned seccomp_filters; /* -1U when the kernel does not say */
};
int shim_sandbox_read_state(pid_t pid, struct shim_sandbox_state *ret, char **ret_reason);

/*
 * For `status`: *ret_caps = the effective capabilities by name
 * ("cap_kill,cap_net_admin", "none" when empty), *ret_seccomp = the seccomp
 * mode and no_new_privs ("filter (1 filter), no_new_privs",
 * "disabled", "strict").  Caller frees both.  A negative errno when
 * /proc cannot tell (the reason goes to the debug log).
 */
int shim_sandbox_describe(char **ret_caps, char **ret_seccomp);
