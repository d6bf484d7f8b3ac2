/* SPDX-License-Identifier: Apache-2.0 */
/* Crafted image headers (QEMU's docs/interop/qcow2.txt); real ones from qemu-img are in tests/interop. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disk-header.h"
#include "testlib.h"

#define CLUSTER 65536

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static void put64(uint8_t *p, uint64_t v) {
        put32(p, (uint32_t) (v >> 32));
        put32(p + 4, (uint32_t) v);
}

struct img {
        uint8_t buf[2 * CLUSTER];
        size_t len;
        size_t ext; /* where the next extension goes */
};

/* A qcow2 header as qemu-img writes one: version 3, 64 KiB clusters, no feature. */
static void qcow2(struct img *m, uint32_t version) {
        memset(m, 0, sizeof *m);
        memcpy(m->buf, "QFI\xfb", 4);
        put32(m->buf + 4, version);
        put32(m->buf + 20, 16);
        put64(m->buf + 24, 1 << 20);
        put32(m->buf + 36, 1);
        put64(m->buf + 40, 3 * CLUSTER);
        put64(m->buf + 48, CLUSTER);
        put32(m->buf + 56, 1);
        if (version == 3) {
                put32(m->buf + 96, 4);
                put32(m->buf + 100, 112);
                m->ext = 112;
        } else
                m->ext = 72;
        m->len = sizeof m->buf;
}

static void ext(struct img *m, uint32_t type, const char *data) {
        size_t len = strlen(data);
        put32(m->buf + m->ext, type);
        put32(m->buf + m->ext + 4, (uint32_t) len);
        memcpy(m->buf + m->ext + 8, data, len);
        m->ext += 8 + ((len + 7) & ~(size_t) 7);
}

static int check(const void *data, size_t len, enum ecl_disk_format f, char **reason) {
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *path = tl_strf("%s/img", dir);
        tl_write_file(path, data, len);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        /* The check reads with pread: the offset stays where it was. */
        assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
        int r = agent_disk_header_check(fd, f, reason);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
        tl_rm_rf(dir);
        return r;
}

#define assert_ok(m, f)                                                                \
        do {                                                                           \
                _cleanup_free_ char *why_ = NULL;                                      \
                int r_ = check((m)->buf, (m)->len, (f), &why_);                        \
                if (r_ < 0)                                                            \
                        fail_msg("refused: %s", why_);                                 \
        } while (0)
#define assert_refused(data, len, f, needle)                                                              \
        do {                                                                                              \
                _cleanup_free_ char *why_ = NULL;                                                         \
                int r_ = check((data), (len), (f), &why_);                                                \
                if (r_ != -EBADMSG || !why_ || !strstr(why_, (needle)) || strchr(why_, '\n'))             \
                        fail_msg("expected -EBADMSG with \"%s\", got %d: %s", (needle), r_, why_ ?: "(none)"); \
        } while (0)
#define assert_qcow2_refused(m, needle) assert_refused((m)->buf, (m)->len, ECL_DISK_QCOW2, (needle))

static void test_qcow2_good(void **state) {
        (void) state;
        struct img m;
        qcow2(&m, 3);
        assert_ok(&m, ECL_DISK_QCOW2);
        qcow2(&m, 2);
        assert_ok(&m, ECL_DISK_QCOW2);
        /* Known harmless features and extensions. */
        qcow2(&m, 3);
        put64(m.buf + 72, 1 | 8 | 16);
        put64(m.buf + 80, 1);
        ext(&m, 0x6803f857, "feature name table, whatever it says");
        ext(&m, 0x12345678, "an unknown extension");
        assert_ok(&m, ECL_DISK_QCOW2);
        /* Extensions that end exactly at the cluster's end, without an end marker. */
        qcow2(&m, 2);
        m.len = 512;
        put32(m.buf + 20, 9);
        put32(m.buf + m.ext, 0x12345678);
        put32(m.buf + m.ext + 4, 512 - 72 - 8);
        assert_ok(&m, ECL_DISK_QCOW2);
}

static void test_qcow2_refused(void **state) {
        (void) state;
        struct img m;
        qcow2(&m, 3);
        put64(m.buf + 8, 0x200);
        put32(m.buf + 16, 4);
        memcpy(m.buf + 0x200, "base", 4);
        assert_qcow2_refused(&m, "qcow2 names a backing file: refused");
        qcow2(&m, 2);
        put64(m.buf + 8, 0x200);
        assert_qcow2_refused(&m, "qcow2 names a backing file: refused");

        qcow2(&m, 3);
        put64(m.buf + 72, 4);
        assert_qcow2_refused(&m, "qcow2 uses an external data file: refused");
        qcow2(&m, 3);
        put64(m.buf + 72, 2);
        assert_qcow2_refused(&m, "qcow2 is marked corrupt");
        for (int bit = 5; bit < 64; bit += 29) {
                qcow2(&m, 3);
                put64(m.buf + 72, UINT64_C(1) << bit);
                assert_qcow2_refused(&m, "unknown incompatible features");
        }

        /* The extensions, even without the feature bit. */
        qcow2(&m, 3);
        ext(&m, 0x6803f857, "names");
        ext(&m, 0x44415441, "/etc/shadow");
        assert_qcow2_refused(&m, "qcow2 names an external data file: refused");
        qcow2(&m, 2);
        ext(&m, 0x44415441, "data.raw");
        assert_qcow2_refused(&m, "qcow2 names an external data file: refused");
        qcow2(&m, 3);
        ext(&m, 0xe2792aca, "raw");
        assert_qcow2_refused(&m, "backing file format");
        /* After the end marker, nothing counts. */
        qcow2(&m, 3);
        m.ext += 8;
        ext(&m, 0x44415441, "data.raw");
        assert_ok(&m, ECL_DISK_QCOW2);
        /* An extension that runs past the first cluster. */
        qcow2(&m, 3);
        put32(m.buf + m.ext, 0x12345678);
        put32(m.buf + m.ext + 4, CLUSTER);
        assert_qcow2_refused(&m, "runs past the first cluster");

        /* One 32-bit field of a good version 3 header changed. */
        static const struct {
                size_t off;
                uint32_t value;
                const char *needle;
        } fields[] = {
                {4, 1, "qcow2 version 1: only 2 and 3"},
                {4, 4, "qcow2 version 4"},
                {20, 8, "cluster_bits 8"},
                {20, 22, "cluster_bits 22"},
                {32, 2, "encrypted"},
                {100, 100, "header_length 100"},
                {100, 108, "header_length 108"},
        };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                qcow2(&m, 3);
                put32(m.buf + fields[i].off, fields[i].value);
                assert_qcow2_refused(&m, fields[i].needle);
        }

        /* Too short, or not qcow2 at all. */
        qcow2(&m, 3);
        assert_refused(m.buf, 80, ECL_DISK_QCOW2, "qcow2 version 3 header truncated");
        assert_refused(m.buf, 40, ECL_DISK_QCOW2, "qcow2 header truncated");
        assert_refused("", 0, ECL_DISK_QCOW2, "declared qcow2, but the file has no qcow2 magic");
        static const uint8_t zero[4096];
        assert_refused(zero, sizeof zero, ECL_DISK_QCOW2, "declared qcow2, but the file has no qcow2 magic");
}

static void test_raw(void **state) {
        (void) state;
        static uint8_t zero[4096];
        _cleanup_free_ char *why = NULL;
        assert_int_equal(check(zero, sizeof zero, ECL_DISK_RAW, &why), 0);
        assert_int_equal(check("", 0, ECL_DISK_RAW, &why), 0);
        assert_int_equal(check("QFI", 3, ECL_DISK_RAW, &why), 0);
        struct img m;
        qcow2(&m, 3);
        assert_refused(m.buf, m.len, ECL_DISK_RAW, "declared raw, but the file starts as a qcow/qcow2 image");
        static const struct {
                size_t off;
                const char *magic;
                const char *name;
        } magics[] = {
                {0, "QFI\xfb", "qcow/qcow2"},
                {0, "QED", "QED"}, /* and the NUL after it */
                {0, "KDMV", "VMDK"},
                {0, "COWD", "VMDK (version 3)"},
                {0, "# Disk DescriptorFile", "VMDK descriptor"},
                {0, "conectix", "VPC"},
                {0, "vhdxfile", "VHDX"},
                {64, "\x7f\x10\xda\xbe", "VDI"},
                {0, "LUKS\xba\xbe", "LUKS"},
                {0, "WithoutFreeSpace", "Parallels"},
                {0, "WithouFreSpacExt", "Parallels"},
                {0, "Bochs Virtual HD Image", "Bochs"},
        };
        for (size_t i = 0; i < ELEMENTSOF(magics); i++) {
                uint8_t buf[512] = {0};
                memcpy(buf + magics[i].off, magics[i].magic, strlen(magics[i].magic));
                _cleanup_free_ char *needle = tl_strf("starts as a %s image", magics[i].name);
                assert_refused(buf, sizeof buf, ECL_DISK_RAW, needle);
                /* Elsewhere in the file, a magic is data. */
                uint8_t later[1024] = {0};
                memcpy(later + 512 + magics[i].off, magics[i].magic, strlen(magics[i].magic));
                assert_int_equal(check(later, sizeof later, ECL_DISK_RAW, &why), 0);
        }
}

static void test_not_a_file(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_disk_header_check(fd, ECL_DISK_RAW, &why), -EBADMSG);
        assert_non_null(strstr(why, "not a regular file"));
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_qcow2_good),
                cmocka_unit_test(test_qcow2_refused),
                cmocka_unit_test(test_raw),
                cmocka_unit_test(test_not_a_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
