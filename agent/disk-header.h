/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The header check of a disk image a bundle ships (DESIGN.md, "Bundles,
 * approvals, access"): the file must be what the manifest declares, and must
 * not name another file that QEMU would open beside it.
 *
 * qcow2 (docs/interop/qcow2.txt in QEMU): magic "QFI\xfb", version 2 or 3,
 * cluster_bits 9..21, no backing file (backing_file_offset 0), no
 * encryption (ecluse hands QEMU no secret), version 3: header_length at
 * least 104 and a multiple of 8, no incompatible feature but dirty (bit 0),
 * compression type (bit 3) and extended L2 entries (bit 4): the external
 * data file bit (2), the corrupt bit (1) and every unknown bit are refused.
 * The header extensions (from the end of the header to the end of the first
 * cluster) are walked: an external data file name (0x44415441) or a backing
 * file format (0xe2792aca) is refused even without the feature bit, and an
 * extension that runs past the cluster is malformed.
 *
 * raw: refused when it starts as an image format QEMU's probing would take
 * it for: qcow and qcow2 ("QFI\xfb"), QED ("QED\0"), VMDK ("KDMV", "COWD",
 * "# Disk DescriptorFile"), VPC ("conectix"), VHDX ("vhdxfile"), VDI
 * (0xbeda107f little-endian at byte 64), LUKS ("LUKS\xba\xbe"), Parallels
 * ("WithoutFreeSpace", "WithouFreSpacExt") and Bochs ("Bochs Virtual HD
 * Image").  Whatever else is raw.
 *
 * The header is read with pread() from fd, so the descriptor whose contents
 * were hashed is the one judged; its offset does not move.
 */
#include "manifest.h"

/* Bytes of the first qcow2 cluster read at most (cluster_bits 21). */
#define AGENT_QCOW2_MAX_CLUSTER (2 * 1024 * 1024)

/* 0 when fd holds an image of the declared format that names no other file;
 * -EBADMSG with a one-line *ret_reason (ret_reason may be NULL) when refused,
 * a negative errno when it cannot be read. */
int agent_disk_header_check(int fd, enum ecl_disk_format declared, char **ret_reason);
