/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The domain builder: manifests built by hand (and every good manifest of the
 * tree, once the loader reads them) are rendered, the text is parsed again,
 * and invariant 1 is checked by XPath over the parsed document, independently
 * of shim_domain_check_cut().
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domain-check.h"
#include "domain.h"
#include "names.h"
#include "testlib.h"

#define ROOT "/srv/ecl root"

/* ---- helpers over a parsed document ---- */

static xmlDocPtr parse(const char *xml) {
        xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
        assert_non_null(doc);
        return doc;
}

static xmlXPathObjectPtr eval(xmlDocPtr doc, const char *expr) {
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        assert_non_null(ctx);
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *) expr, ctx);
        xmlXPathFreeContext(ctx);
        if (!o)
                fail_msg("bad XPath %s", expr);
        return o;
}

static double num(xmlDocPtr doc, const char *expr) {
        xmlXPathObjectPtr o = eval(doc, expr);
        double d = xmlXPathCastToNumber(o);
        xmlXPathFreeObject(o);
        return d;
}

/* String value of expr; caller frees. */
static char *str(xmlDocPtr doc, const char *expr) {
        xmlXPathObjectPtr o = eval(doc, expr);
        xmlChar *s = xmlXPathCastToString(o);
        xmlXPathFreeObject(o);
        char *r = strdup((const char *) s);
        xmlFree(s);
        return r;
}

#define assert_xpath_str(doc, expr, want)                        \
        do {                                                     \
                _cleanup_free_ char *_s = str((doc), (expr));    \
                assert_string_equal(_s, (want));                 \
        } while (0)
#define assert_xpath_count(doc, expr, n) assert_int_equal((int) num((doc), "count(" expr ")"), (n))

/*
 * Invariant 1, written down once more without the checker's allow-list: none
 * of these may match a domain ecluse builds.
 */
static const char *const forbidden_xpaths[] = {
        "//devices/graphics",
        "//devices/channel",
        "//devices/vsock",
        "//devices/redirdev",
        "//devices/hostdev",
        "//devices/filesystem",
        "//devices/controller[@type='usb' and not(@model='none')]",
        "//devices/controller[@type='virtio-serial' or @type='ccid']",
        "//devices/hub",
        "//devices/*[@bus='usb']",
        "//devices/memballoon[not(@model='none')]",
        "//devices/shmem",
        "//devices/rng",
        "//devices/parallel",
        "//devices/tpm",
        "//devices/smartcard",
        "//devices/sound",
        "//devices/audio[not(@type='none')]",
        "//devices/video/model[not(@type='none')]",
        "//devices/serial[not(@type='file')]",
        "//devices/console[not(@type='file')]",
        "//devices/interface[not(@type='ethernet')]",
        "//devices/interface[not(target/@managed='no')]",
        "//devices/interface/ip",
        "//devices/interface/script",
        "//devices/disk[not(@type='file')]",
        "//devices/disk//source[@protocol]",
        "/domain/*[namespace-uri()='http://libvirt.org/schemas/domain/qemu/1.0']",
        "//*[local-name()='commandline']",
};

/*
 * Render m, parse the text again and check invariant 1 on it: nothing
 * forbidden, only the stack's tap (at most 15 characters), on_crash destroy,
 * serial only to the stack's console FIFO (console-pipe.h).  Returns the parsed document.
 */
static xmlDocPtr render_and_check(const struct ecl_manifest *m, enum ecl_accel accel) {
        struct shim_domain_opts o = {.root = ROOT, .accel = accel};
        _cleanup_free_ char *xml = NULL;
        assert_int_equal(shim_domain_render(m, &o, &xml, NULL), 0);
        assert_non_null(xml);
        assert_true(strlen(xml) > 0 && xml[strlen(xml) - 1] == '\n');
        xmlDocPtr doc = parse(xml);

        for (size_t i = 0; i < ELEMENTSOF(forbidden_xpaths); i++) {
                _cleanup_free_ char *e = tl_strf("count(%s)", forbidden_xpaths[i]);
                if (num(doc, e) != 0)
                        fail_msg("stack %s: forbidden %s present in\n%s", m->stack, forbidden_xpaths[i], xml);
        }
        assert_xpath_str(doc, "/domain/on_crash", "destroy");
        assert_xpath_str(doc, "/domain/@type", accel == ECL_ACCEL_KVM ? "kvm" : "qemu");

        char tap[IFNAMSIZ];
        shim_tap_name(m->stack, 0, tap);
        if (m->has_network) {
                assert_xpath_count(doc, "//devices/interface", 1);
                assert_xpath_str(doc, "//devices/interface/target/@dev", tap);
                assert_true(num(doc, "string-length(//devices/interface/target/@dev)") <= 15);
        } else {
                assert_xpath_count(doc, "//devices/interface", 0);
        }
        if (m->console == ECL_CONSOLE_LOG) {
                _cleanup_free_ char *want = tl_strf(ROOT "/var/lib/ecluse/stacks/%s/console.pipe", m->stack);
                assert_xpath_count(doc, "//devices/serial", 1);
                assert_xpath_str(doc, "//devices/serial/source/@path", want);
                assert_xpath_count(doc, "//devices/serial/source/seclabel[@model='dac' and @relabel='no']", 1);
                assert_xpath_count(doc, "//devices/serial/source/seclabel", 1);
        } else {
                assert_xpath_count(doc, "//devices/serial", 0);
        }
        assert_xpath_count(doc, "//devices/console", 0);

        _cleanup_free_ char *v = NULL;
        assert_int_equal(shim_domain_check_cut(doc, m->has_network ? tap : NULL, &v), 0);
        return doc;
}

/* ---- a manifest by hand ---- */

static struct ecl_disk office_disks[] = {
        {.path = (char *) "/var/lib/ecluse/stacks/office/current/disk.qcow2", .format = ECL_DISK_QCOW2},
        {.path = (char *) "/var/lib/ecluse/stacks/office/current/data.raw", .format = ECL_DISK_RAW},
};

/* The guest's own address: a manifest with a network always names one. */
static struct ecl_cidr office_addresses[] = {{.family = AF_INET, .addr = {192, 0, 2, 2}, .prefix = 32}};

static struct ecl_manifest office(void) {
        return (struct ecl_manifest){
                .version = 1,
                .stack = (char *) "office",
                .licensor = (char *) "Example Cloud Inc.",
                .vm = {.vcpus = 2,
                       .memory_mib = 2048,
                       .accel = ECL_ACCEL_AUTO,
                       .kernel = (char *) "/var/lib/ecluse/stacks/office/current/vmlinuz",
                       .initrd = (char *) "/var/lib/ecluse/stacks/office/current/initrd",
                       .cmdline = (char *) "console=ttyS0 root=/dev/vda",
                       .disks = office_disks,
                       .n_disks = ELEMENTSOF(office_disks)},
                .has_network = true,
                .network = {.has_mac = true,
                            .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
                            .addresses = office_addresses,
                            .n_addresses = ELEMENTSOF(office_addresses)},
                .console = ECL_CONSOLE_LOG,
                .updates_quorum = 2,
                .access_quorum = 2,
        };
}

static void test_full_manifest(void **state) {
        (void) state;
        struct ecl_manifest m = office();
        _cleanup_xml_doc_ xmlDocPtr doc = render_and_check(&m, ECL_ACCEL_TCG);
        assert_xpath_str(doc, "/domain/name", "ecluse-office");
        assert_xpath_count(doc, "/domain/uuid", 0);
        assert_xpath_str(doc, "/domain/memory/@unit", "MiB");
        assert_xpath_str(doc, "/domain/memory", "2048");
        assert_xpath_str(doc, "/domain/vcpu", "2");
        assert_xpath_str(doc, "/domain/os/type", "hvm");
        assert_xpath_str(doc, "/domain/os/type/@arch", "x86_64");
        assert_xpath_str(doc, "/domain/os/kernel", ROOT "/var/lib/ecluse/stacks/office/current/vmlinuz");
        assert_xpath_str(doc, "/domain/os/initrd", ROOT "/var/lib/ecluse/stacks/office/current/initrd");
        assert_xpath_str(doc, "/domain/os/cmdline", "console=ttyS0 root=/dev/vda");
        assert_xpath_count(doc, "/domain/os/boot", 0);
        assert_xpath_count(doc, "/domain/features/acpi", 1);
        assert_xpath_str(doc, "/domain/on_poweroff", "destroy");
        assert_xpath_str(doc, "/domain/on_reboot", "restart");

        assert_xpath_count(doc, "//devices/disk", 2);
        assert_xpath_str(doc, "//devices/disk[1]/source/@file", ROOT "/var/lib/ecluse/stacks/office/current/disk.qcow2");
        assert_xpath_str(doc, "//devices/disk[1]/driver/@type", "qcow2");
        assert_xpath_str(doc, "//devices/disk[1]/target/@dev", "vda");
        assert_xpath_str(doc, "//devices/disk[1]/target/@bus", "virtio");
        assert_xpath_str(doc, "//devices/disk[2]/driver/@type", "raw");
        assert_xpath_str(doc, "//devices/disk[2]/target/@dev", "vdb");
        /* An empty backingStore: no backing file named inside an image is opened. */
        assert_xpath_count(doc, "//devices/disk/backingStore[not(node()) and not(@*)]", 2);

        assert_xpath_str(doc, "//devices/interface/mac/@address", "52:54:00:12:34:56");
        assert_xpath_str(doc, "//devices/interface/target/@dev", "ecl-office");
        assert_xpath_str(doc, "//devices/interface/target/@managed", "no");
        assert_xpath_str(doc, "//devices/interface/model/@type", "virtio");
        /* Two queues: libvirt opens the multi-queue tap as ecluse made it, without virtio-net headers (tap.h). */
        assert_xpath_str(doc, "//devices/interface/driver/@queues", "2");
        assert_xpath_count(doc, "//devices/interface/driver/@*", 1);
        assert_xpath_str(doc, "//devices/interface/rom/@enabled", "no");
        assert_xpath_count(doc, "//devices/controller[@type='usb' and @model='none']", 1);
        assert_xpath_count(doc, "//devices/memballoon[@model='none']", 1);

        /* Every device element is one of the few the builder makes. */
        assert_xpath_count(doc, "/domain/devices/*[not(self::disk or self::interface or self::serial or "
                                "self::controller or self::video or self::memballoon)]", 0);

        assert_xpath_str(doc, "/domain/metadata/*[local-name()='stack' and "
                              "namespace-uri()='https://ecluse.invalid/ns/1']/@name", "office");
        assert_xpath_str(doc, "/domain/metadata/*/*[local-name()='licensor']", "Example Cloud Inc.");
}

static void test_accel_and_uuid(void **state) {
        (void) state;
        struct ecl_manifest m = office();
        xmlFreeDoc(render_and_check(&m, ECL_ACCEL_KVM));
        xmlDocPtr doc = NULL;
        struct shim_domain_opts o = {.accel = ECL_ACCEL_TCG, .uuid = "8337f2bd-dd33-41f5-8ed9-86f328320239"};
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), 0);
        assert_xpath_str(doc, "/domain/uuid", "8337f2bd-dd33-41f5-8ed9-86f328320239");
        /* No root: every path is the host's. */
        assert_xpath_str(doc, "//devices/serial/source/@path", "/var/lib/ecluse/stacks/office/console.pipe");
        assert_xpath_str(doc, "/domain/os/kernel", "/var/lib/ecluse/stacks/office/current/vmlinuz");
        assert_xpath_str(doc, "//devices/disk[2]/source/@file", "/var/lib/ecluse/stacks/office/current/data.raw");
        xmlFreeDoc(doc);

        /* AUTO is resolved by the caller, never by the builder. */
        o.accel = ECL_ACCEL_AUTO;
        doc = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_domain_build(&m, &o, &doc, &why), -EINVAL);
        assert_null(doc);
        assert_string_equal(why, "domain: accelerator auto not resolved (kvm or tcg)");

        assert_string_equal(shim_domain_type(ECL_ACCEL_KVM), "kvm");
        assert_string_equal(shim_domain_type(ECL_ACCEL_TCG), "qemu");
        assert_null(shim_domain_type(ECL_ACCEL_AUTO));
}

static void test_firmware_boot_no_network_no_console(void **state) {
        (void) state;
        struct ecl_manifest m = office();
        m.vm.kernel = m.vm.initrd = m.vm.cmdline = NULL;
        m.vm.n_disks = 1;
        m.has_network = false;
        m.console = ECL_CONSOLE_NONE;
        m.licensor = NULL;
        _cleanup_xml_doc_ xmlDocPtr doc = render_and_check(&m, ECL_ACCEL_TCG);
        assert_xpath_count(doc, "/domain/os/kernel | /domain/os/initrd | /domain/os/cmdline", 0);
        assert_xpath_str(doc, "/domain/os/boot/@dev", "hd");
        assert_xpath_count(doc, "//devices/disk", 1);
        assert_xpath_count(doc, "//devices/interface | //devices/serial | //devices/console", 0);
        assert_xpath_count(doc, "/domain/metadata/*/*[local-name()='licensor']", 0);
}

/* Markup in manifest strings stays text: nothing is injected. */
static void test_strings_are_escaped(void **state) {
        (void) state;
        static const char *const nasty = "x'\"<>&]]></cmdline><qemu:commandline "
                                         "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>&amp;";
        struct ecl_manifest m = office();
        m.vm.cmdline = (char *) nasty;
        m.licensor = (char *) nasty;
        struct ecl_disk disk = {.path = (char *) "/srv/a'b\"c<d>&e.qcow2", .format = ECL_DISK_QCOW2};
        m.vm.disks = &disk;
        m.vm.n_disks = 1;
        _cleanup_xml_doc_ xmlDocPtr doc = render_and_check(&m, ECL_ACCEL_TCG);
        assert_xpath_str(doc, "/domain/os/cmdline", nasty);
        assert_xpath_str(doc, "/domain/metadata/*/*[local-name()='licensor']", nasty);
        assert_xpath_str(doc, "//devices/disk/source/@file", ROOT "/srv/a'b\"c<d>&e.qcow2");
        assert_xpath_count(doc, "/domain/os/*", 4);
        assert_xpath_count(doc, "//*[namespace-uri()='http://libvirt.org/schemas/domain/qemu/1.0']", 0);
}

static void test_long_stack_and_many_disks(void **state) {
        (void) state;
        struct ecl_manifest m = office();
        m.stack = (char *) "a-very-long-stack-name-of-31-ch";
        m.network.has_mac = false;
        struct ecl_disk disks[28];
        char paths[28][32];
        for (size_t i = 0; i < ELEMENTSOF(disks); i++) {
                snprintf(paths[i], sizeof paths[i], "/srv/disk%zu.raw", i);
                disks[i] = (struct ecl_disk){.path = paths[i], .format = ECL_DISK_RAW};
        }
        m.vm.disks = disks;
        m.vm.n_disks = ELEMENTSOF(disks);
        _cleanup_xml_doc_ xmlDocPtr doc = render_and_check(&m, ECL_ACCEL_KVM);
        assert_xpath_str(doc, "/domain/name", "ecluse-a-very-long-stack-name-of-31-ch");
        assert_xpath_str(doc, "string-length(//devices/interface/target/@dev)", "15");
        /* The derived MAC. */
        uint8_t mac[6];
        shim_guest_mac(&m, mac);
        _cleanup_free_ char *want = tl_strf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                                            mac[5]);
        assert_xpath_str(doc, "//devices/interface/mac/@address", want);
        assert_xpath_str(doc, "//devices/disk[26]/target/@dev", "vdz");
        assert_xpath_str(doc, "//devices/disk[27]/target/@dev", "vdaa");
        assert_xpath_str(doc, "//devices/disk[28]/target/@dev", "vdab");
        assert_xpath_count(doc, "//devices/disk/target[@dev='vdz']", 1);
}

/* What the loader should never let through is refused, not rendered. */
static void test_refused_input(void **state) {
        (void) state;
        struct shim_domain_opts o = {.accel = ECL_ACCEL_TCG};
        xmlDocPtr doc = NULL;
        struct ecl_manifest m;
        struct ecl_disk rel = {.path = (char *) "disk.qcow2", .format = ECL_DISK_QCOW2};

        m = office(), m.stack = (char *) "../../etc";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.stack = (char *) "Office";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.stack = (char *) "a-stack-name-that-is-32-chars-xx";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.vm.disks = &rel, m.vm.n_disks = 1;
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.vm.kernel = (char *) "vmlinuz";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.vm.kernel = NULL, m.vm.n_disks = 0;
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.vm.cmdline = (char *) "console=ttyS0\x01";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.licensor = (char *) "bad \xff utf-8";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        m = office(), m.vm.vcpus = 0;
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), -EBADMSG);
        assert_int_equal(shim_domain_build(NULL, &o, &doc, NULL), -EINVAL);
        assert_null(doc);
        /* Non-ASCII UTF-8 is fine. */
        m = office(), m.licensor = (char *) "Société Générale d'Écluses";
        assert_int_equal(shim_domain_build(&m, &o, &doc, NULL), 0);
        assert_xpath_str(doc, "/domain/metadata/*/*[local-name()='licensor']", "Société Générale d'Écluses");
        xmlFreeDoc(doc);
}

/*
 * Every good manifest of the tree (the *.yaml files of manifests/ and of
 * tests/data/manifests/good/) loads, renders for both accelerators, and is
 * cut.  Skipped while the tree has none.
 */
static void test_every_good_manifest(void **state) {
        (void) state;
        glob_t g = {0};
        int r1 = glob(ECLUSE_SOURCE_DIR "/manifests/*.yaml", 0, NULL, &g);
        int r2 = glob(ECLUSE_SOURCE_DIR "/tests/data/manifests/good/*.yaml", r1 == 0 ? GLOB_APPEND : 0, NULL, &g);
        if ((r1 != 0 && r1 != GLOB_NOMATCH) || (r2 != 0 && r2 != GLOB_NOMATCH))
                fail_msg("glob failed");
        if (g.gl_pathc == 0) {
                globfree(&g);
                skip();
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                struct ecl_diags diags = {0};
                _cleanup_manifest_ struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(g.gl_pathv[i], &m, &diags);
                ecl_diags_print(&diags, stderr);
                ecl_diags_clear(&diags);
                if (r < 0)
                        fail_msg("%s: loading failed (%d)", g.gl_pathv[i], r);
                xmlFreeDoc(render_and_check(m, ECL_ACCEL_TCG));
                xmlFreeDoc(render_and_check(m, ECL_ACCEL_KVM));
        }
        globfree(&g);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_manifest),
                cmocka_unit_test(test_accel_and_uuid),
                cmocka_unit_test(test_firmware_boot_no_network_no_console),
                cmocka_unit_test(test_strings_are_escaped),
                cmocka_unit_test(test_long_stack_and_many_disks),
                cmocka_unit_test(test_refused_input),
                cmocka_unit_test(test_every_good_manifest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
