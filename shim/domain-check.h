/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Is a domain cut?  (DESIGN.md, "What cut means", invariant 1.)  Used on the
 * XML the builder makes and, by the launcher, on the LIVE XML read back from
 * libvirt, so it accepts what libvirt adds on its own (aliases, addresses,
 * PCI/SATA/IDE controllers, the implicit PS/2 mouse and keyboard,
 * <audio type="none">, seclabels) and nothing that opens a channel.
 *
 * The devices are checked against an allow-list; anything not on it is a
 * violation, so a device type libvirt invents tomorrow is refused, not
 * waved through:
 *
 *   emulator                   always
 *   disk                       type file or block, no network protocol
 *   controller                 any but usb (except model="none"), virtio-serial,
 *                              ccid and xenbus
 *   interface                  type ethernet, target dev == expected_tap
 *                              (at most 15 characters), no host-side <ip>,
 *                              <route>, <script> or <downscript>; only one,
 *                              and none at all when expected_tap is NULL
 *   input                      mouse or keyboard on the ps2 bus
 *   video                      model type none only
 *   audio                      type none only
 *   memballoon                 model none only
 *   serial                     type file; a seclabel on its source only
 *                              model='dac' relabel='no' (the console FIFO)
 *   console                    type file, on the path of a file serial
 *   rng                        backend builtin, or random from /dev/urandom
 *                              or /dev/random (never egd: that is a socket)
 *   watchdog, panic            always (local)
 *
 * Everything else under <devices> (graphics, channel, vsock, redirdev,
 * hostdev, filesystem, shmem, parallel, tpm, smartcard, sound, hub, ...) is
 * refused, as are any element of libvirt's qemu namespace directly under
 * <domain> (qemu:commandline, qemu:override, ...) and an on_crash other than
 * destroy.
 */
#include <libxml/tree.h>
#include <sys/types.h>

/* libvirt's namespace for QEMU passthrough (qemu:commandline and friends). */
#define SHIM_LIBVIRT_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/*
 * Returns 0 when doc is cut; -EPERM with *ret_violation (if not NULL; caller
 * frees) describing the first forbidden element and where it stands, e.g.
 * "graphics device (remote display) at /domain/devices/graphics"; -EINVAL if
 * doc is not a domain; -ENOMEM.  expected_tap is the name of the stack's tap,
 * or NULL when the stack has no network.  Logs nothing.
 */
int shim_domain_check_cut(xmlDocPtr doc, const char *expected_tap, char **ret_violation);

/* Largest document shim_domain_check_cut_xml() parses. */
#define SHIM_DOMAIN_XML_MAX (16 * 1024 * 1024)

/*
 * Parse domain XML text as untrusted (it may come from a remote libvirtd):
 * without network access or entity substitution; a document with a DTD,
 * larger than SHIM_DOMAIN_XML_MAX, or not well formed is -EBADMSG (with
 * *ret_why, if not NULL, saying so); NULL is -EINVAL.  The caller frees
 * *ret_doc (xmlFreeDoc).
 */
int shim_domain_parse_xml(const char *xml, xmlDocPtr *ret_doc, char **ret_why);

/*
 * The same on XML text, e.g. what virDomainGetXMLDesc() returns for the
 * running domain.  Parsed without network access or entity substitution;
 * a document with a DTD, larger than SHIM_DOMAIN_XML_MAX, or not well formed
 * is -EBADMSG (with *ret_violation saying so).
 */
int shim_domain_check_cut_xml(const char *xml, const char *expected_tap, char **ret_violation);

/*
 * Whether the domain runs QEMU as `id` (qemu-id.h): exactly one seclabel of
 * model dac, type static, relabel yes (or absent), label "+ID:+ID".  0 when it
 * does; -EPERM with *ret_violation (caller frees) saying what it runs as
 * instead; -EINVAL if doc is not a domain or id is 0; -ENOMEM.
 */
int shim_domain_check_identity(xmlDocPtr doc, uid_t id, char **ret_violation);
