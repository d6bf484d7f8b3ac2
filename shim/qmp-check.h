/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What QEMU itself has, compared with what the live domain XML declares
 * (issue 13, "QEMU is not confined").  A device, chardev, object, block
 * node, export or migration set up through QEMU's monitor (QMP
 * `device_add`, `chardev-add`, `object-add`, `blockdev-add`,
 * `block-export-add`, `migrate`, by whoever reaches the monitor socket,
 * e.g. virsh qemu-monitor-command) never shows in libvirt's live XML, so
 * the check of that XML (domain-check.h) cannot see it; QEMU's own view
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
 *   query-migrate                      no status, or none; completed, failed
 *                                      and cancelled (ecluse never migrates: a
 *                                      precopy sends the RAM before it fails or
 *                                      is cancelled) and any other (setup, active,
 *                                      pre-switchover, device, postcopy-*,
 *                                      wait-unplug, colo, cancelling, ...) is
 *                                      the guest's RAM streaming to wherever
 *                                      the migrate URI points
 *   query-block-exports                none: an export (nbd-server-start +
 *                                      block-export-add, vhost-user-blk, FUSE)
 *                                      serves a disk over a socket
 *   query-named-block-nodes            every node (flat: true; QEMU names the
 *                                      nodes given no name): a format or
 *                                      filter driver that keeps the data here
 *                                      (raw, qcow2, luks, throttle,
 *                                      copy-on-read, preallocate) or a file,
 *                                      host_device or host_cdrom node on the
 *                                      source of a disk of the XML; any other
 *                                      driver (nbd, iscsi, rbd, http, ssh,
 *                                      gluster, nfs, vvfat, null-co, ...) or a
 *                                      file node elsewhere is a target that a
 *                                      blockdev-backup or -mirror of the
 *                                      guest's disk could be sent to
 *   query-jobs                         none: libvirt runs no job on an ecluse
 *                                      domain, so a job (backup, mirror,
 *                                      commit, stream, create, ...) in any
 *                                      status, concluded included, is a disk
 *                                      copied by someone else
 *   query-dump                         status none: active is the guest's
 *                                      memory being written out by
 *                                      dump-guest-memory (detach), completed
 *                                      or failed that it was
 *
 * These are the names libvirt 9.0 gives (read from a running ecluse stack
 * on qemu:///system: a disk is a "file" node libvirt-N-storage on its
 * source under a "qcow2" or "raw" node libvirt-N-format).  The check needs
 * QEMU 5.2 (query-block-exports; query-jobs is 3.0, query-dump 2.6); an
 * older one answers with an error, which fails the check.  What the XML declares and QEMU lacks is not
 * checked here (the XML check covers the XML).  Netdevs are not listed: a
 * netdev carries nothing but through a device or a netfilter, which are.
 * A migration that completes between two checks is seen at the next one
 * (its final status stays until QEMU exits or migrates again), and so is a
 * dump (query-dump keeps its last status).  What is undone before the next
 * check (an export added and deleted, a backup job whose nodes are gone) is
 * seen through QEMU's monitor events instead (qmp-stop.h, supervise.h).
 * Pausing does not stop QEMU's own threads: every hold also stops a
 * migration, export or block job, or destroys the domain (qmp-stop.h).
 *
 * Not seen: pmemsave and memsave.  Both are synchronous one-shots (guest
 * memory, physical or virtual, written to a file QEMU opens by name as its
 * own user), emit no event and leave nothing any query shows, and QEMU has
 * no way to refuse a stable QMP command.  The same holds for
 * human-monitor-command with `xp`, `x` (guest memory) or `info registers`,
 * which return what they read in the reply itself.  Who can send them:
 *   - embedded driver (`run`'s default): the monitor socket is in libvirt's
 *     domain directory, 0750 and owned by the stack's own QEMU identity
 *     (qemu-id.h: no user, group or subordinate range of the host has it),
 *     so only root and that QEMU reach it; QEMU serves one monitor client
 *     at a time, and libvirt inside the shim is that client for the whole
 *     life of QEMU; the embedded root is locked by the shim's libvirt, so no
 *     other libvirt can open it.  A pmemsave needs root then, and root reads
 *     the guest's memory anyway (/proc/PID/mem, ptrace): no gap beyond root.
 *     The file would be written as the stack's identity, which can write
 *     only the stack's own directories and world-writable ones (/tmp: no
 *     per-domain mount namespace here, sandbox.h).
 *   - qemu:///system: libvirtd is the client; anyone libvirtd lets do
 *     domain:write on the domain (virsh qemu-monitor-command: root, or whom
 *     polkit allows) can pmemsave, and QEMU writes the file as the QEMU user
 *     every VM of that daemon shares.  ecluse cannot see it.  The daemon-side
 *     measure is libvirtd's access control (access_drivers = ["polkit"]
 *     refusing org.libvirt.api.domain.write on ecluse-* domains to everyone
 *     but root); it is coarse (the same permission covers every change to
 *     the domain) and outside the shim.  While libvirtd is restarting it
 *     holds no monitor connection, and a process of the QEMU user could
 *     connect first.
 * dump-guest-memory is seen (query-dump above, the DUMP_COMPLETED event)
 * but not stopped (QEMU has no cancel for it): a hold destroys the domain
 * while one is active.  A non-detached dump of a small guest completes
 * within the monitor command, before any check: seen afterwards only.
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
        SHIM_QMP_MIGRATE,
        SHIM_QMP_BLOCK_EXPORTS,
        SHIM_QMP_BLOCK_NODES,
        SHIM_QMP_JOBS,
        SHIM_QMP_DUMP,
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
 * does not declare: device evil0 (virtio-rng-pci), chardev evilchar (null), migration in
 * progress (active)";
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
