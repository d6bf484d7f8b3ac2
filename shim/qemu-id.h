/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Each stack's QEMU runs under its own DAC identity (DESIGN.md invariant 3):
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

/* The device an identity needs under accel kvm (file-acl.h gives it a named-user entry). */
#define SHIM_KVM_DEVICE "/dev/kvm"
void shim_qemu_id_label(uid_t id, char buf[static SHIM_QEMU_ID_LABEL_MAX]);

/*
 * Whether `id` may be the identity of `stack`: -EEXIST (with a message
 * saying what to change) when a user or group of this host has that
 * number, or another stack known under ROOT (a directory of
 * ROOT/var/lib/ecluse/stacks or ROOT/var/lib/ecluse/libvirt) hashes to
 * the same id; 0 otherwise; another negative errno when a directory
 * cannot be read.
 */
int shim_qemu_id_check(const char *root, const char *stack, uid_t id);
