/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_disk_header_check() on images made by the real `qemu-img create`:
 * a plain qcow2 passes, one with a backing file or an external data file
 * does not, and a declared format that is not the file's is refused both
 * ways.  qemu-img must be installed (qemu-utils): its absence fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "disk-header.h"
#include "testlib.h"

struct env {
        char *dir;
};

static int setup(void **state) {
        if (!tl_have_program("qemu-img"))
                fail_msg("qemu-img not found (install qemu-utils)");
        struct env *e = calloc(1, sizeof *e);
        assert_non_null(e);
        e->dir = tl_mkdtemp();
        *state = e;
        return 0;
}

static int teardown(void **state) {
        struct env *e = *state;
        tl_rm_rf(e->dir);
        free(e->dir);
        free(e);
        return 0;
}

/* qemu-img create -f FORMAT [options...] NAME 1M, in the scratch directory; the image's path. */
static char *create(struct env *e, const char *format, const char *name, const char *const *opts) {
        char *path = tl_strf("%s/%s", e->dir, name);
        char *argv[16] = {(char *) "qemu-img", (char *) "create", (char *) "-q", (char *) "-f", (char *) format};
        size_t n = 5;
        for (; opts && *opts; opts++)
                argv[n++] = (char *) *opts;
        argv[n++] = path;
        argv[n++] = (char *) "1M";
        argv[n] = NULL;
        struct tl_result res = {0};
        tl_run(argv, &res);
        if (res.status != 0)
                fail_msg("qemu-img create %s: %s", name, res.err);
        tl_result_free(&res);
        return path;
}

static int check(const char *path, enum ecl_disk_format f, char **why) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        return agent_disk_header_check(fd, f, why);
}

static void assert_refused(const char *path, enum ecl_disk_format f, const char *needle) {
        _cleanup_free_ char *why = NULL;
        int r = check(path, f, &why);
        if (r != -EBADMSG || !why || !strstr(why, needle) || strchr(why, '\n'))
                fail_msg("%s: expected -EBADMSG with \"%s\", got %d: %s", path, needle, r, why ?: "(none)");
}

static void test_plain(void **state) {
        struct env *e = *state;
        static const struct {
                const char *format, *name, *opts;
        } images[] = {
                {"qcow2", "plain.qcow2", NULL},
                {"qcow2", "v2.qcow2", "compat=0.10"},
                {"qcow2", "lazy.qcow2", "lazy_refcounts=on,cluster_size=2M,extended_l2=on"},
                {"qcow2", "zstd.qcow2", "compression_type=zstd"},
                {"raw", "plain.raw", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(images); i++) {
                const char *const opts[] = {"-o", images[i].opts, NULL};
                _cleanup_free_ char *p = create(e, images[i].format, images[i].name, images[i].opts ? opts : NULL);
                _cleanup_free_ char *why = NULL;
                if (check(p, streq(images[i].format, "raw") ? ECL_DISK_RAW : ECL_DISK_QCOW2, &why) < 0)
                        fail_msg("%s refused: %s", images[i].name, why);
        }
}

static void test_backing_file(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *base = create(e, "raw", "base.raw", NULL);
        const char *const opts[] = {"-b", base, "-F", "raw", NULL};
        _cleanup_free_ char *over = create(e, "qcow2", "overlay.qcow2", opts);
        assert_refused(over, ECL_DISK_QCOW2, "qcow2 names a backing file: refused");
        const char *const v2[] = {"-o", "compat=0.10", "-b", base, "-F", "raw", NULL};
        _cleanup_free_ char *over2 = create(e, "qcow2", "overlay-v2.qcow2", v2);
        assert_refused(over2, ECL_DISK_QCOW2, "qcow2 names a backing file: refused");
}

static void test_data_file(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *data = tl_strf("%s/data.raw", e->dir);
        _cleanup_free_ char *opt = tl_strf("data_file=%s", data);
        const char *const opts[] = {"-o", opt, NULL};
        _cleanup_free_ char *q = create(e, "qcow2", "external.qcow2", opts);
        assert_refused(q, ECL_DISK_QCOW2, "external data file: refused");
        _cleanup_free_ char *opt_raw = tl_strf("data_file=%s,data_file_raw=on", data);
        const char *const opts_raw[] = {"-o", opt_raw, NULL};
        _cleanup_free_ char *qr = create(e, "qcow2", "external-raw.qcow2", opts_raw);
        assert_refused(qr, ECL_DISK_QCOW2, "external data file: refused");
}

static void test_declared_wrong(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *q = create(e, "qcow2", "disk.qcow2", NULL);
        assert_refused(q, ECL_DISK_RAW, "declared raw, but the file starts as a qcow/qcow2 image");
        _cleanup_free_ char *raw = create(e, "raw", "disk.raw", NULL);
        assert_refused(raw, ECL_DISK_QCOW2, "declared qcow2, but the file has no qcow2 magic");
        /* Other formats QEMU would probe, declared raw. */
        static const char *const formats[][2] = {
                {"vmdk", "VMDK"}, {"vpc", "VPC"}, {"vhdx", "VHDX"}, {"vdi", "VDI"}, {"qed", "QED"}, {"parallels", "Parallels"},
        };
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_free_ char *name = tl_strf("disk.%s", formats[i][0]);
                _cleanup_free_ char *p = create(e, formats[i][0], name, NULL);
                _cleanup_free_ char *needle = tl_strf("starts as a %s image", formats[i][1]);
                assert_refused(p, ECL_DISK_RAW, needle);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backing_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_data_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_declared_wrong, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
