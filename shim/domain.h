/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The libvirt domain of a stack (DESIGN.md, "What cut means", invariant 1),
 * built with libxml2 from the validated manifest and nothing else:
 *
 *   - name "ecluse-STACK", type "kvm" (accel kvm) or "qemu" (accel tcg),
 *     x86_64 q35, ACPI, memory in MiB, vcpus;
 *   - direct kernel boot (kernel, initrd, cmdline) or firmware boot from the
 *     first disk;
 *   - on_poweroff destroy, on_reboot restart, on_crash destroy;
 *   - devices: the manifest's disks (virtio, qcow2 or raw), at most one
 *     interface of type "ethernet" on the tap ecluse creates
 *     (shim_tap_name(stack, 0), managed="no", two queues so that libvirt
 *     cannot turn on virtio-net headers on it (tap.h), no option ROM), a serial port
 *     to the FIFO ROOT/var/lib/ecluse/stacks/STACK/console.pipe when console
 *     is "log" (type file, <seclabel model='dac' relabel='no'/> on its source:
 *     libvirt opens it and QEMU never owns it; the shim reads it into the
 *     capped console.log, console-pipe.h),
 *     an explicit "no USB" controller, no memory balloon, no video;
 *   - nothing else: no graphics, channel, vsock, redirdev, hostdev,
 *     filesystem, shmem, rng, parallel port, TPM, sound or qemu:commandline.
 *
 * Manifest strings reach the XML only through libxml2 (xmlNewProp,
 * xmlNewTextChild), which escapes them.  Every path lives under the --root
 * prefix (DESIGN.md: "prefix for every path"): the console log and the
 * manifest's kernel, initrd and disks alike, so that a stack run under a
 * root boots the release the agent applied under that root.  With root ""
 * or "/" the paths are the manifest's own.
 */
#include <libxml/tree.h>
#include <sys/types.h>

#include "macro.h"
#include "manifest.h"
#include "xml-cleanup.h"

/* Namespace of the <metadata> element ecluse adds (stack and licensor). */
#define SHIM_DOMAIN_METADATA_NS "https://ecluse.invalid/ns/1"
#define SHIM_DOMAIN_METADATA_PREFIX "ecluse"

struct shim_domain_opts {
        /* --root prefix of every path (console log, kernel, initrd, disks); NULL or "" for the host. */
        const char *root;
        /* Resolved accelerator: ECL_ACCEL_KVM or ECL_ACCEL_TCG (AUTO is -EINVAL;
         * resolve it first with shim_accel_resolve() of accel.h). */
        enum ecl_accel accel;
        /* Optional domain UUID (canonical text form); NULL lets libvirt choose. */
        const char *uuid;
        /* QEMU's own DAC identity (qemu-id.h): a static dac seclabel "+ID:+ID"; 0 for libvirt's default user. */
        uid_t qemu_id;
};

/*
 * Build the domain document of manifest m.  The result is checked with
 * shim_domain_check_cut() before it is returned.  Returns 0 and *ret (free
 * with xmlFreeDoc), -EINVAL for options or a manifest the builder cannot
 * express, -ENOMEM, or -EPERM if the result would not be cut (a bug); each
 * failure with *ret_reason (if not NULL) saying what.  Prints nothing.
 */
int shim_domain_build(const struct ecl_manifest *m, const struct shim_domain_opts *o, xmlDocPtr *ret,
                      char **ret_reason);

/* Serialise a domain document, indented, without the XML declaration. Caller frees *ret. */
int shim_domain_to_string(xmlDocPtr doc, char **ret);

/* Build and serialise in one step (what `ecluse-shim render --domain` prints). */
int shim_domain_render(const struct ecl_manifest *m, const struct shim_domain_opts *o, char **ret, char **ret_reason);

/* ROOT/var/lib/ecluse/stacks/STACK/console.pipe (console-pipe.h) */
int shim_domain_console_path(const char *root, const char *stack, char **ret);

/* Libvirt's domain type for a resolved accelerator: "kvm" or "qemu" (NULL for AUTO). */
const char *shim_domain_type(enum ecl_accel accel);

