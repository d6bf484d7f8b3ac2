/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domains ecluse builds are valid libvirt domain XML, as libvirt's own
 * schema checker (virt-xml-validate FILE domain) sees them: hand-built
 * manifests through the library, and every good manifest of the tree
 * through `ecluse-shim render`.
 */
#include <glob.h>
#include <string.h>

#include "domain.h"
#include "testlib.h"

struct scratch {
        char *dir;
        unsigned n;
};

static int setup(void **state) {
        if (!tl_have_program("virt-xml-validate")) {
                print_message("virt-xml-validate not found (Debian: libvirt-clients)\n");
                return -1;
        }
        struct scratch *s = calloc(1, sizeof *s);
        assert_non_null(s);
        s->dir = tl_mkdtemp();
        *state = s;
        return 0;
}

static int teardown(void **state) {
        struct scratch *s = *state;
        tl_rm_rf(s->dir);
        free(s->dir);
        free(s);
        return 0;
}

/* Status of virt-xml-validate on xml; its output goes to the test log on failure. */
static int validate(struct scratch *s, const char *xml, const char *what) {
        _cleanup_free_ char *path = tl_strf("%s/domain-%u.xml", s->dir, s->n++);
        tl_write_file(path, xml, strlen(xml));
        char *argv[] = {(char *) "virt-xml-validate", path, (char *) "domain", NULL};
        struct tl_result res;
        tl_run(argv, &res);
        int status = res.status;
        if (status != 0)
                print_message("%s: virt-xml-validate status %d\n%s%s\n%s", what, status, res.out, res.err, xml);
        tl_result_free(&res);
        return status;
}

static void assert_valid(struct scratch *s, const struct ecl_manifest *m, const char *what) {
        static const enum ecl_accel accels[] = {ECL_ACCEL_KVM, ECL_ACCEL_TCG};
        for (size_t i = 0; i < ELEMENTSOF(accels); i++) {
                struct shim_domain_opts o = {.root = s->dir, .accel = accels[i],
                                             .uuid = "8337f2bd-dd33-41f5-8ed9-86f328320239"};
                _cleanup_free_ char *xml = NULL;
                assert_int_equal(shim_domain_render(m, &o, &xml, NULL), 0);
                if (validate(s, xml, what) != 0)
                        fail_msg("%s (%s): not a valid domain", what, ecl_accel_to_string(accels[i]));
        }
}

/* The checker can fail: a domain libvirt's schema refuses is refused. */
static void test_validator_refuses_garbage(void **state) {
        struct scratch *s = *state;
        assert_int_not_equal(validate(s, "<domain type='qemu'><name>x</name><devices><graphics type='nonsense'/>"
                                         "</devices></domain>\n", "garbage"), 0);
}

static void test_hand_built_manifests(void **state) {
        struct scratch *s = *state;
        struct ecl_disk disks[] = {
                {.path = (char *) "/var/lib/ecluse/stacks/office/current/disk.qcow2", .format = ECL_DISK_QCOW2},
                {.path = (char *) "/var/lib/ecluse/stacks/office/current/data.raw", .format = ECL_DISK_RAW},
        };
        struct ecl_manifest m = {
                .version = 1,
                .stack = (char *) "office",
                .licensor = (char *) "Example <Cloud> & \"Co\"",
                .vm = {.vcpus = 2, .memory_mib = 2048, .kernel = (char *) "/var/lib/ecluse/stacks/office/current/vmlinuz",
                       .initrd = (char *) "/var/lib/ecluse/stacks/office/current/initrd",
                       .cmdline = (char *) "console=ttyS0 quiet x='<&>'", .disks = disks, .n_disks = 2},
                .has_network = true,
                .network = {.has_mac = true, .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}},
                .console = ECL_CONSOLE_LOG,
        };
        assert_valid(s, &m, "kernel boot, network, console log");

        m.vm.kernel = m.vm.initrd = m.vm.cmdline = NULL;
        m.has_network = false;
        m.console = ECL_CONSOLE_NONE;
        m.licensor = NULL;
        m.vm.n_disks = 1;
        assert_valid(s, &m, "firmware boot, no network, no console");

        m.stack = (char *) "a-very-long-stack-name-of-31-ch";
        m.has_network = true;
        m.network.has_mac = false;
        m.vm.kernel = (char *) "/boot/vmlinuz";
        m.vm.n_disks = 0;
        m.console = ECL_CONSOLE_LOG;
        assert_valid(s, &m, "long stack name, kernel without disks");
}

static void test_every_good_manifest(void **state) {
        struct scratch *s = *state;
        glob_t g = {0};
        int r = glob(ECLUSE_SOURCE_DIR "/manifests/*.yaml", 0, NULL, &g);
        assert_true(r == 0 || r == GLOB_NOMATCH);
        r = glob(ECLUSE_SOURCE_DIR "/tests/data/manifests/good/*.yaml", g.gl_pathc > 0 ? GLOB_APPEND : 0, NULL, &g);
        assert_true(r == 0 || r == GLOB_NOMATCH);
        if (g.gl_pathc == 0) {
                globfree(&g);
                skip();
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", s->dir, (char *) "render",
                                g.gl_pathv[i], (char *) "--domain", NULL};
                struct tl_result res;
                tl_run(argv, &res);
                if (res.status != 0)
                        fail_msg("render %s: status %d (stderr: %s)", g.gl_pathv[i], res.status, res.err);
                if (validate(s, res.out, g.gl_pathv[i]) != 0)
                        fail_msg("%s: rendered domain is not valid", g.gl_pathv[i]);
                tl_result_free(&res);
        }
        globfree(&g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_validator_refuses_garbage),
                cmocka_unit_test(test_hand_built_manifests),
                cmocka_unit_test(test_every_good_manifest),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
