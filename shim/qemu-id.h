/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Each stack's QEMU runs under its own DAC identity (DESIGN.md invariants 1 and 5):
 * under the embedded driver the domain carries
 *   <seclabel type='static' model='dac' relabel='yes'><label>+ID:+ID</label></seclabel>
 * with ID = shim_qemu_id(stack) (names.h), so libvirt starts QEMU as uid
 * and gid ID with no supplementary group and labels the stack's disks,
 * kernel, initrd and domain directory (monitor socket, master key) for
 * it.  Another stack's QEMU, or any process of libvirt's QEMU user, can
 * then neither ptrace, signal nor pidfd_getfd it, nor open its files or
 * attach to its tap (TUNSETOWNER).
 *
 * Under qemu:///system the daemon's qemu.conf decides; the shim leaves it.
 */
#include <stdbool.h>
#include <sys/types.h>

/* "+ID:+ID" */
#define SHIM_QEMU_ID_LABEL_MAX 24

/* The device an identity needs under accel kvm. */
#define SHIM_KVM_DEVICE "/dev/kvm"
/*
 * Give id read-write access to dev (SHIM_KVM_DEVICE) through a named-user
 * ACL entry (file-acl.h), after checking dev is the KVM device (character
 * device 10:232, not a link); -EPERM when it is not.  Every failure has
 * *ret_reason (if not NULL) naming dev.  Nothing here prints.
 */
int shim_qemu_id_allow_kvm(const char *dev, uid_t id, char **ret_reason);
void shim_qemu_id_label(uid_t id, char buf[static SHIM_QEMU_ID_LABEL_MAX]);

/*
 * Whether `id` may be the identity of `stack`: -EEXIST (with *ret_reason
 * saying what to change) when a user or group of this host has that
 * number, a subordinate range of /etc/subuid or /etc/subgid holds it (its
 * user could map itself to it), or another stack known under ROOT (a directory of
 * ROOT/var/lib/ecluse/stacks or ROOT/var/lib/ecluse/libvirt) hashes to
 * the same id; 0 otherwise; another negative errno when a directory or
 * those files cannot be read, or NSS cannot answer (fail closed), also with
 * *ret_reason.
 */
int shim_qemu_id_check(const char *root, const char *stack, uid_t id, char **ret_reason);

#define SHIM_SUBUID_FILE "/etc/subuid"
#define SHIM_SUBGID_FILE "/etc/subgid"
/* The subordinate-id part: -EEXIST when a NAME:FIRST:COUNT line of path holds id; a missing file is 0. */
int shim_qemu_id_check_subids(const char *path, const char *stack, uid_t id, char **ret_reason);

/*
 * What the kernel says QEMU (pid) runs as: real, effective, saved and
 * filesystem uid and gid all `id`, no supplementary group but `id`.  0 when
 * so; -EPERM with *ret_violation (caller frees) saying what it runs as;
 * -ESRCH when there is no such process; another negative errno when its
 * status cannot be read, *ret_violation saying so.
 */
int shim_qemu_id_check_process(pid_t pid, uid_t id, char **ret_violation);
