/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What QEMU itself has, compared with what the live domain XML declares
 * (issue 13, "QEMU is not confined").  A device, chardev or object added
 * through QEMU's monitor (QMP `device_add`, `chardev-add`, `object-add`,
 * by whoever reaches the monitor socket) never shows in libvirt's live XML,
 * so the check of that XML (domain-check.h) cannot see it; QEMU's own view
 * can.  Asked over QMP (virDomainQemuMonitorCommand, libvirt-qemu):
 *
 *   qom-list /machine/peripheral       every device with an id: each must be
 *                                      the alias of a device the XML declares
 *                                      and libvirt instantiates (libvirt gives
 *                                      every -device id=ALIAS); the aliases of
 *                                      what is built into the machine or no
 *                                      device at all (the PS/2 input0/input1,
 *                                      the q35 SATA "ide", pcie.0, a usb or
 *                                      video of model none, the console that
 *                                      mirrors serial0, an iTCO watchdog) do
 *                                      not count, so a device_add with
 *                                      id=input0 is seen too
 *   qom-list /machine/peripheral-anon  devices without an id: libvirt makes
 *                                      none, so any is a violation
 *   query-pci                          every PCI function, behind every bridge:
 *                                      one with a qdev id must be such an
 *                                      alias; one without is allowed only on
 *                                      the root bus (the machine's host
 *                                      bridge, LPC, SATA, SMBus)
 *   query-chardev                      "charmonitor" (libvirt's monitor) and
 *                                      "char" + the alias of a serial,
 *                                      console, parallel, channel, redirdev,
 *                                      smartcard, vhost-user interface or egd
 *                                      rng the XML declares
 *   qom-list /objects                  "masterKey0" (libvirt's secret),
 *                                      "pc.ram" (the machine's memory
 *                                      backend) and "obj" + an rng's alias;
 *                                      anything else (a netfilter that
 *                                      mirrors or redirects the NIC's traffic
 *                                      around the tap, say) is a violation
 *
 * These are the names libvirt 9.0 gives (read from a running ecluse stack
 * on qemu:///system).  What the XML declares and QEMU lacks is not checked
 * here (the XML check covers the XML).  Netdevs and block nodes are not QOM
 * objects and are not listed; a netdev or block node reaches the guest only
 * through a device, which is.
 *
 * The comparison (shim_qmp_compare) is separate from the QMP calls so that
 * it can be tested on canned replies.
 */
#include <libvirt/libvirt.h>

enum shim_qmp_query {
        SHIM_QMP_PERIPHERAL,
        SHIM_QMP_PERIPHERAL_ANON,
        SHIM_QMP_PCI,
        SHIM_QMP_CHARDEV,
        SHIM_QMP_OBJECTS,
        SHIM_QMP_N_QUERIES,
};

/* The QMP command (JSON) of each query. */
const char *shim_qmp_command(enum shim_qmp_query q);

/* Largest QMP reply compared; a larger one is -EBADMSG. */
#define SHIM_QMP_REPLY_MAX (4 * 1024 * 1024)

/*
 * Compare QEMU's replies (replies[q] is the whole QMP reply text to
 * shim_qmp_command(q), {"return": ...}) with the live XML.  0 when QEMU has
 * nothing the XML does not declare; -EPERM with *ret_violation (caller
 * frees) naming everything it has beyond, e.g. "QEMU has what the live XML
 * does not declare: device evil0 (virtio-rng-pci), chardev evilchar (null)";
 * -EBADMSG (with *ret_violation saying which) for a reply that is an error,
 * not JSON, or not of the expected shape, and for XML that does not parse
 * (domain-check.h); -ENOMEM.  Logs nothing.
 */
int shim_qmp_compare(const char *live_xml, const char *const replies[SHIM_QMP_N_QUERIES], char **ret_violation);

/*
 * Ask dom's QEMU (one QMP command per query, through libvirt) and compare
 * with live_xml.  As shim_qmp_compare; -EIO with *ret_violation when a
 * command cannot be sent (a connection whose driver has no QEMU monitor).
 * Needs a read-write connection.  libvirt marks the domain tainted
 * ("custom-monitor", logged once) the first time.
 */
int shim_qmp_check(virDomainPtr dom, const char *live_xml, char **ret_violation);
