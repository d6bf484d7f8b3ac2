/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the bundle reader: the input is a bundle, read with
 * agent_bundle_tar_open(), _read_head() and _extract() into a scratch
 * directory against a fixed bundle.yaml model (two files, one in a
 * subdirectory).  The same bytes are then judged as a disk image header,
 * declared qcow2 and declared raw (agent_disk_header_check()).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bundle-tar.h"
#include "disk-header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The sha256 of "a kernel\n" and of "an initrd, in a subdirectory\n". */
static struct agent_bundle_file files[] = {
        {.path = (char *) "payload/vmlinuz", .size = 9, .install = (char *) "vmlinuz",
         .sha256 = {0x0e, 0xa0, 0xe4, 0xd9, 0x8d, 0x96, 0x3a, 0x16, 0xe4, 0xae, 0x69, 0xa3, 0x02, 0x42, 0x3f, 0x76,
                    0x48, 0x05, 0x62, 0x05, 0xea, 0x74, 0x0c, 0x95, 0x59, 0xc9, 0x27, 0x25, 0xd9, 0x54, 0x4e, 0x4d}},
        {.path = (char *) "payload/boot/initrd.img", .size = 29, .install = (char *) "initrd.img",
         .sha256 = {0x8e, 0x8a, 0x0a, 0xd4, 0xb6, 0x6a, 0xd4, 0xc7, 0x2a, 0xf4, 0x45, 0x29, 0xce, 0xae, 0x77, 0xb3,
                    0xf9, 0xdd, 0x24, 0x55, 0x72, 0xa2, 0x52, 0xb4, 0x2f, 0xc0, 0x14, 0xd3, 0xcd, 0x8a, 0x88, 0x8a}},
};
static const struct agent_bundle_meta meta = {.file = (char *) "bundle.yaml", .payload = files, .n_payload = 2};

static void progress(uint64_t done, uint64_t total, void *userdata) {
        (void) userdata;
        if (done > total)
                abort();
}

static void bundle(int fd) {
        char dir[] = "/tmp/ecluse-fuzz-bundle-XXXXXX";
        if (!mkdtemp(dir))
                abort();
        int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                abort();
        _cleanup_free_ char *why = NULL, *m = NULL, *s = NULL;
        size_t m_len, s_len;
        struct agent_bundle_tar *t = NULL;
        if (agent_bundle_tar_open(fd, "fuzz.tar", &t, &why) == 0 &&
            agent_bundle_tar_read_head(t, &m, &m_len, &s, &s_len, &why) == 0)
                (void) agent_bundle_tar_extract(t, &meta, dirfd, progress, NULL, &why);
        agent_bundle_tar_free(t);
        /* A reason is one line. */
        if (why && strchr(why, '\n'))
                abort();
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                (void) unlinkat(dirfd, files[i].install, 0);
        close(dirfd);
        if (rmdir(dir) < 0)
                abort(); /* something else was created */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int fd = memfd_create("fuzz-bundle", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, data + done, size - done);
                if (n <= 0)
                        abort();
                done += (size_t) n;
        }
        if (lseek(fd, 0, SEEK_SET) != 0)
                abort();
        bundle(fd);
        _cleanup_free_ char *why = NULL;
        (void) agent_disk_header_check(fd, ECL_DISK_QCOW2, &why);
        (void) agent_disk_header_check(fd, ECL_DISK_RAW, &why);
        close(fd);
        return 0;
}
