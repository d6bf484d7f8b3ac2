/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The guest's serial console, ROOT/var/lib/ecluse/stacks/STACK/console.log
 * (shim_domain_console_path()): libvirt opens it as root, in append mode,
 * creating it when missing, and its DAC driver then gives it to QEMU's
 * user.  A console.log planted as a link (or a hard link, a FIFO, a device)
 * would have root append the guest's output wherever the planter chose.
 */
/*
 * Before the domain is defined: make the stack's directory (checked and
 * created as shim_secure_mkdir() does: ROOT/var/lib/ecluse/stacks/STACK,
 * root's, no group/other write, created 0711 so that QEMU's user can reach
 * the release under it) and check console.log in it, without following a
 * link: absent, or a regular file with a single link owned by root, the
 * effective user or QEMU's user (libvirt-qemu, qemu).  Anything else is refused (-EPERM, with a
 * message saying what to remove).  The directory being root's alone,
 * nobody can plant one between this check and libvirt's open.
 */
int shim_console_prepare(const char *root, const char *stack);
