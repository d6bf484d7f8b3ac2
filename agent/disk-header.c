/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk-header.h"
#include "macro.h"
#include "reason.h"

#define QCOW2_MAGIC "QFI\xfb"
#define QCOW2_V2_HEADER 72
#define QCOW2_V3_HEADER 104
#define QCOW2_INCOMPAT_DIRTY (UINT64_C(1) << 0)
#define QCOW2_INCOMPAT_CORRUPT (UINT64_C(1) << 1)
#define QCOW2_INCOMPAT_DATA_FILE (UINT64_C(1) << 2)
#define QCOW2_INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define QCOW2_INCOMPAT_EXTL2 (UINT64_C(1) << 4)
#define QCOW2_INCOMPAT_ALLOWED (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2)
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* How much of a raw image the probe looks at. */
#define PROBE_SIZE 512

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p) {
        return (uint64_t) be32(p) << 32 | be32(p + 4);
}

/* Read up to len bytes at off; the count (short only at the end of the file), or a negative errno. */
static ssize_t pread_full(int fd, uint8_t *buf, size_t len, off_t off) {
        size_t got = 0;
        while (got < len) {
                ssize_t n = pread(fd, buf + got, len - got, off + (off_t) got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        return (ssize_t) got;
}

struct probe {
        size_t offset;
        const char *magic;
        size_t len;
        const char *format;
};

#define PROBE(off, m, name) {(off), (m), sizeof(m) - 1, (name)}

/* The magics of QEMU's probing block drivers (block/<driver>.c, bdrv_probe). */
static const struct probe probes[] = {
        PROBE(0, QCOW2_MAGIC, "qcow/qcow2"),
        PROBE(0, "QED\0", "QED"),
        PROBE(0, "KDMV", "VMDK"),
        PROBE(0, "COWD", "VMDK (version 3)"),
        PROBE(0, "# Disk DescriptorFile", "VMDK descriptor"),
        PROBE(0, "conectix", "VPC"),
        PROBE(0, "vhdxfile", "VHDX"),
        PROBE(64, "\x7f\x10\xda\xbe", "VDI"),
        PROBE(0, "LUKS\xba\xbe", "LUKS"),
        PROBE(0, "WithoutFreeSpace", "Parallels"),
        PROBE(0, "WithouFreSpacExt", "Parallels"),
        PROBE(0, "Bochs Virtual HD Image", "Bochs"),
};

static int check_raw(const uint8_t *buf, size_t len, char **ret_reason) {
        for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
                const struct probe *p = &probes[i];
                if (len >= p->offset + p->len && memcmp(buf + p->offset, p->magic, p->len) == 0)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "declared raw, but the file starts as a %s image: refused", p->format);
        }
        return 0;
}

static int check_extensions(const uint8_t *c, size_t start, size_t end, char **ret_reason) {
        size_t off = start;
        while (off < end) {
                if (end - off < 8)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "qcow2 header extension at byte %zu runs past the first cluster", off);
                uint32_t type = be32(c + off), len = be32(c + off + 4);
                if (type == QCOW2_EXT_END)
                        return 0;
                if (type == QCOW2_EXT_DATA_FILE)
                        return ecl_reason(ret_reason, -EBADMSG, "qcow2 names an external data file: refused");
                if (type == QCOW2_EXT_BACKING_FORMAT)
                        return ecl_reason(ret_reason, -EBADMSG, "qcow2 names a backing file format: refused");
                uint64_t padded = ((uint64_t) len + 7) & ~UINT64_C(7);
                if (padded > end - off - 8)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "qcow2 header extension 0x%08x at byte %zu runs past the first cluster",
                                          type, off);
                off += 8 + (size_t) padded;
        }
        return 0;
}

static int check_qcow2(int fd, const uint8_t *h, size_t len, uint64_t file_size, char **ret_reason) {
        if (len < 4 || memcmp(h, QCOW2_MAGIC, 4) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "declared qcow2, but the file has no qcow2 magic");
        if (len < QCOW2_V2_HEADER)
                return ecl_reason(ret_reason, -EBADMSG, "qcow2 header truncated (%zu bytes)", len);
        uint32_t version = be32(h + 4);
        if (version != 2 && version != 3)
                return ecl_reason(ret_reason, -EBADMSG, "qcow2 version %u: only 2 and 3 are accepted", version);
        if (be64(h + 8) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "qcow2 names a backing file: refused");
        uint32_t cluster_bits = be32(h + 20);
        if (cluster_bits < 9 || cluster_bits > 21)
                return ecl_reason(ret_reason, -EBADMSG, "qcow2 cluster_bits %u outside 9..21", cluster_bits);
        uint32_t crypt = be32(h + 32);
        if (crypt != 0)
                return ecl_reason(ret_reason, -EBADMSG, "qcow2 is encrypted (crypt_method %u): refused", crypt);

        size_t header_len = QCOW2_V2_HEADER;
        if (version == 3) {
                if (len < QCOW2_V3_HEADER)
                        return ecl_reason(ret_reason, -EBADMSG, "qcow2 version 3 header truncated (%zu bytes)", len);
                uint64_t incompat = be64(h + 72);
                if (incompat & QCOW2_INCOMPAT_DATA_FILE)
                        return ecl_reason(ret_reason, -EBADMSG, "qcow2 uses an external data file: refused");
                if (incompat & QCOW2_INCOMPAT_CORRUPT)
                        return ecl_reason(ret_reason, -EBADMSG, "qcow2 is marked corrupt: refused");
                if (incompat & ~QCOW2_INCOMPAT_ALLOWED)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "qcow2 has unknown incompatible features (0x%016llx): refused",
                                          (unsigned long long) (incompat & ~QCOW2_INCOMPAT_ALLOWED));
                uint32_t hl = be32(h + 100);
                if (hl < QCOW2_V3_HEADER || hl % 8 != 0 || hl > (UINT32_C(1) << cluster_bits))
                        return ecl_reason(ret_reason, -EBADMSG, "qcow2 header_length %u is invalid", hl);
                header_len = hl;
        }

        /* The extensions fill the rest of the first cluster (without a backing file, which is refused above). */
        size_t cluster = (size_t) 1 << cluster_bits;
        if (file_size < cluster)
                cluster = (size_t) file_size;
        if (header_len >= cluster)
                return 0;
        _cleanup_free_ uint8_t *c = malloc(cluster);
        if (!c)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        ssize_t n = pread_full(fd, c, cluster, 0);
        if (n < 0)
                return ecl_reason_errno(ret_reason, (int) n, "cannot read the qcow2 header");
        if ((size_t) n < header_len)
                return ecl_reason(ret_reason, -EBADMSG, "qcow2 header truncated");
        return check_extensions(c, header_len, (size_t) n, ret_reason);
}

int agent_disk_header_check(int fd, enum ecl_disk_format declared, char **ret_reason) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat the disk image");
        if (!S_ISREG(st.st_mode))
                return ecl_reason(ret_reason, -EBADMSG, "the disk image is not a regular file");
        uint8_t h[PROBE_SIZE];
        ssize_t n = pread_full(fd, h, sizeof h, 0);
        if (n < 0)
                return ecl_reason_errno(ret_reason, (int) n, "cannot read the disk image header");
        switch (declared) {
        case ECL_DISK_RAW:
                return check_raw(h, (size_t) n, ret_reason);
        case ECL_DISK_QCOW2:
                return check_qcow2(fd, h, (size_t) n, (uint64_t) st.st_size, ret_reason);
        }
        assert(!"unknown disk format");
        return -EINVAL;
}
