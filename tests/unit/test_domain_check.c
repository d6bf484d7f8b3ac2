/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_domain_check_cut() against the live XML libvirt 9.0 reports for a
 * built domain (tests/data/domain/live-q35.xml), and against that XML with
 * one forbidden element added or one allowed element turned forbidden.
 */
#include <errno.h>
#include <string.h>

#include <libxml/parser.h>

#include "domain-check.h"
#include "domain.h"
#include "testlib.h"

#define LIVE_XML ECLUSE_SOURCE_DIR "/tests/data/domain/live-q35.xml"
#define TAP "ecl-office"
#define CONSOLE "/var/lib/ecluse/stacks/office/console.pipe"

static char *live_xml(void) {
        char *s = tl_read_file(LIVE_XML, NULL);
        assert_non_null(s);
        return s;
}

static xmlDocPtr parse(const char *xml) {
        xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "test.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
        assert_non_null(doc);
        return doc;
}

/* xml with the first occurrence of `from` replaced by `to`; asserts that `from` occurs. */
static char *replace(const char *xml, const char *from, const char *to) {
        const char *at = strstr(xml, from);
        if (!at)
                fail_msg("sample does not contain \"%s\"", from);
        return tl_strf("%.*s%s%s", (int) (at - xml), xml, to, at + strlen(from));
}

/* Check and return the status; *violation gets the message (or NULL). */
static int check(const char *xml, const char *tap, char **violation) {
        _cleanup_xml_doc_ xmlDocPtr doc = parse(xml);
        return shim_domain_check_cut(doc, tap, violation);
}

static void test_live_xml_is_cut(void **state) {
        (void) state;
        _cleanup_free_ char *xml = live_xml();
        _cleanup_free_ char *v = NULL;
        assert_int_equal(check(xml, TAP, &v), 0);
        assert_null(v);
        /* Without a place for the message, too. */
        assert_int_equal(check(xml, TAP, NULL), 0);
}

/* A forbidden thing, as an added device or as a rewrite of the sample. */
struct bad {
        const char *from;     /* text of the sample to replace; NULL: add `to` at the end of <devices> */
        const char *to;
        const char *expect;   /* in the violation message */
};

static const struct bad bad_samples[] = {
        {NULL, "<graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'/>", "<graphics type='vnc'> at /domain/devices/graphics"},
        {NULL, "<graphics type='spice' autoport='yes'/>", "remote display"},
        {NULL, "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>", "<channel type='unix'>"},
        {NULL, "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>", "guest channel"},
        {NULL, "<vsock model='virtio'><cid auto='yes'/></vsock>", "<vsock model='virtio'>"},
        {NULL, "<redirdev bus='usb' type='tcp'><source mode='connect' host='192.0.2.1' service='4000'/></redirdev>", "USB redirection"},
        {NULL, "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/></source></hostdev>", "host device passthrough"},
        {NULL, "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><source dir='/srv'/><target dir='srv'/></filesystem>", "shared filesystem"},
        {"<controller type='usb' index='0' model='none'>", "<controller type='usb' index='0' model='qemu-xhci'>", "<controller type='usb' model='qemu-xhci'>"},
        {NULL, "<controller type='usb' index='1'/>", "<controller type='usb'>"},
        {NULL, "<controller type='virtio-serial' index='0'/>", "virtio-serial"},
        {NULL, "<controller type='ccid' index='0'/>", "<controller type='ccid'>"},
        {NULL, "<hub type='usb'/>", "USB hub"},
        {NULL, "<input type='tablet' bus='usb'/>", "<input type='tablet'>"},
        {NULL, "<input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>", "<input type='passthrough'>"},
        {NULL, "<input type='evdev'><source dev='/dev/input/event1'/></input>", "<input type='evdev'>"},
        {"<memballoon model='none'/>", "<memballoon model='virtio'/>", "memory balloon"},
        {NULL, "<shmem name='ivshmem'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>", "shared memory"},
        {NULL, "<rng model='virtio'><backend model='egd' type='tcp'><source mode='connect' host='192.0.2.1' service='1234'/></backend></rng>", "egd is a socket"},
        {NULL, "<rng model='virtio'><backend model='random'>/srv/entropy-pipe</backend></rng>", "random-number source"},
        {NULL, "<parallel type='pty'><target port='0'/></parallel>", "parallel port"},
        {NULL, "<parallel type='file'><source path='/tmp/p'/><target port='0'/></parallel>", "parallel port"},
        {NULL, "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>", "TPM"},
        {NULL, "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>", "TPM"},
        {"<serial type='file'>", "<serial type='pty'>", "<serial type='pty'>"},
        {NULL, "<serial type='tcp'><source mode='bind' host='0.0.0.0' service='2445'/><protocol type='telnet'/><target port='1'/></serial>", "<serial type='tcp'>"},
        {"<console type='file'>", "<console type='pty'>", "<console type='pty'>"},
        /* the FIFO given to QEMU's user (or another label): only relabel='no' keeps it root's */
        {"<source path='/var/lib/ecluse/stacks/office/console.pipe' append='on'>\n        <seclabel model='dac' relabel='no'/>",
         "<source path='/var/lib/ecluse/stacks/office/console.pipe' append='on'>\n        <seclabel model='dac' relabel='yes'><label>+64055:+64055</label></seclabel>",
         "its file relabelled"},
        {"<seclabel model='dac' relabel='no'/>", "<seclabel model='selinux' relabel='no'/><seclabel model='dac' relabel='yes'/>",
         "its file relabelled"},
        {"<target type='serial' port='0'/>\n      <alias name='serial0'/>\n    </console>",
         "<target type='serial' port='0'/>\n    </console>\n    <console type='file'><source path='/tmp/elsewhere.log'/><target type='virtio' port='1'/></console>",
         "mirror of a file serial"},
        {"</domain>", "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-vnc'/><qemu:arg value=':0'/></qemu:commandline></domain>", "QEMU passthrough"},
        {"</domain>", "<qemu:override xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:device alias='net0'/></qemu:override></domain>", "QEMU passthrough"},
        {"<interface type='ethernet'>", "<interface type='network'>", "<interface type='network'>"},
        {"<interface type='ethernet'>", "<interface type='user'>", "an interface other than an ecluse tap"},
        {"<interface type='ethernet'>", "<interface type='bridge'>", "<interface type='bridge'>"},
        {"dev='ecl-office' managed='no'", "dev='vnet0'", "not on the stack's tap"},
        {"<target dev='ecl-office' managed='no'/>", "", "not on the stack's tap"},
        {NULL, "<interface type='ethernet'><target dev='ecl-office' managed='no'/></interface>", "a second interface"},
        {"<target dev='ecl-office' managed='no'/>", "<target dev='vnet9'/><target dev='ecl-office' managed='no'/>", "two targets"},
        {NULL, "<interface type='mcast'><source address='230.0.0.1' port='5558'/></interface>", "<interface type='mcast'>"},
        {NULL, "<interface type='vhostuser'><source type='unix' path='/tmp/vhost.sock' mode='client'/></interface>", "<interface type='vhostuser'>"},
        {"<rom enabled='no'/>", "<rom enabled='no'/><ip address='192.0.2.1' family='ipv4' prefix='24'/>", "host-side addresses"},
        {"<rom enabled='no'/>", "<rom enabled='no'/><script path='/etc/qemu-ifup'/>", "an interface other than an ecluse tap"},
        {NULL, "<smartcard mode='passthrough' type='tcp'><source mode='connect' host='192.0.2.1' service='2001'/></smartcard>", "smartcard"},
        {NULL, "<sound model='ich9'/>", "sound card"},
        {"<audio id='1' type='none'/>", "<audio id='1' type='spice'/>", "<audio type='spice'>"},
        {"<model type='none'/>\n      <alias name='video0'/>", "<model type='vga'/>", "a video device"},
        {NULL, "<video><model type='virtio'/></video>", "a video device"},
        {NULL, "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='x'><host name='192.0.2.1' port='10809'/></source><target dev='vdc' bus='virtio'/></disk>", "<disk type='network'>"},
        {"<backingStore/>", "<backingStore type='network' index='3'><format type='raw'/><source protocol='http' name='/x'><host name='192.0.2.1'/></source></backingStore>", "not backed by a local file"},
        {NULL, "<disk type='vhostuser' device='disk'><driver name='qemu' type='raw'/><source type='unix' path='/tmp/vhost-blk.sock'/><target dev='vdd' bus='virtio'/></disk>", "<disk type='vhostuser'>"},
        {NULL, "<crypto model='virtio' type='qemu'><backend model='builtin' queues='1'/></crypto>", "crypto device"},
        {NULL, "<something-new/>", "<something-new> at /domain/devices/something-new: not on the allow-list"},
        {"<on_crash>destroy</on_crash>", "<on_crash>coredump-restart</on_crash>", "on_crash must be destroy"},
};

static void test_each_forbidden_element_is_found(void **state) {
        (void) state;
        _cleanup_free_ char *xml = live_xml();
        for (size_t i = 0; i < ELEMENTSOF(bad_samples); i++) {
                const struct bad *b = &bad_samples[i];
                _cleanup_free_ char *to = b->from ? NULL : tl_strf("%s\n  </devices>", b->to);
                _cleanup_free_ char *bad = replace(xml, b->from ? b->from : "</devices>", b->from ? b->to : to);
                _cleanup_free_ char *v = NULL;
                int r = check(bad, TAP, &v);
                if (r != -EPERM)
                        fail_msg("sample %zu (%s): check returned %d, not -EPERM", i, b->expect, r);
                assert_non_null(v);
                if (!strstr(v, b->expect))
                        fail_msg("sample %zu: violation \"%s\" does not mention \"%s\"", i, v, b->expect);
                /* Without a place for the message, the answer is the same. */
                assert_int_equal(check(bad, TAP, NULL), -EPERM);
        }
}

/* What is local and harmless passes: so the allow-list is not "nothing but the sample". */
static void test_harmless_additions_pass(void **state) {
        (void) state;
        static const char *const ok[] = {
                "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
                "<rng model='virtio'><backend model='builtin'/></rng>",
                "<watchdog model='i6300esb' action='poweroff'/>",
                "<panic model='isa'/>",
                "<serial type='file'><source path='/var/log/other.log'/><target port='1'/></serial>",
                "<disk type='block' device='disk'><source dev='/dev/vg/lv'/><target dev='vdc' bus='virtio'/></disk>",
                "<controller type='scsi' index='0' model='virtio-scsi'/>",
        };
        _cleanup_free_ char *xml = live_xml();
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *to = tl_strf("%s\n  </devices>", ok[i]);
                _cleanup_free_ char *s = replace(xml, "</devices>", to);
                _cleanup_free_ char *v = NULL;
                int r = check(s, TAP, &v);
                if (r != 0)
                        fail_msg("harmless addition %zu refused (%d): %s", i, r, v ? v : "");
        }
}

static void test_no_network_means_no_interface(void **state) {
        (void) state;
        _cleanup_free_ char *xml = live_xml();
        _cleanup_free_ char *v = NULL;
        assert_int_equal(check(xml, NULL, &v), -EPERM);
        assert_non_null(strstr(v, "no network"));
        free(v), v = NULL;
        /* The same domain without its interface is fine with no tap expected. */
        const char *start = strstr(xml, "    <interface");
        const char *end = strstr(xml, "</interface>");
        assert_non_null(start);
        assert_non_null(end);
        _cleanup_free_ char *noif = tl_strf("%.*s%s", (int) (start - xml), xml, end + strlen("</interface>"));
        assert_int_equal(check(noif, NULL, &v), 0);
        /* ...and a tap expected but absent is not a violation of the cut. */
        assert_int_equal(check(noif, TAP, &v), 0);
}

static void test_wrong_input(void **state) {
        (void) state;
        _cleanup_free_ char *xml = live_xml();
        _cleanup_free_ char *v = NULL;
        assert_int_equal(shim_domain_check_cut(NULL, TAP, &v), -EINVAL);
        assert_int_equal(check("<network><name>x</name></network>", TAP, &v), -EINVAL);
        assert_int_equal(check("<d:domain xmlns:d='urn:x'/>", TAP, &v), -EINVAL);
        assert_null(v);
        /* A tap name longer than an interface name can be. */
        assert_int_equal(check(xml, "ecl-0123456789ab", &v), -EINVAL);
        assert_int_equal(check(xml, "", &v), -EINVAL);
        /* The longest tap name is fine. */
        _cleanup_free_ char *longtap = replace(xml, "dev='ecl-office'", "dev='ecl-0123456789a'");
        assert_int_equal(check(longtap, "ecl-0123456789a", &v), 0);
}

/* A device in another namespace is not a device libvirt knows about: refused. */
static void test_foreign_namespace_device(void **state) {
        (void) state;
        _cleanup_free_ char *xml = live_xml();
        _cleanup_free_ char *s = replace(xml, "</devices>", "<x:memballoon xmlns:x='urn:x' model='none'/></devices>");
        _cleanup_free_ char *v = NULL;
        assert_int_equal(check(s, TAP, &v), -EPERM);
        assert_non_null(strstr(v, "not on the allow-list"));
}

static void test_xml_text(void **state) {
        (void) state;
        _cleanup_free_ char *xml = live_xml();
        _cleanup_free_ char *v = NULL;
        assert_int_equal(shim_domain_check_cut_xml(xml, TAP, &v), 0);
        assert_null(v);
        _cleanup_free_ char *bad = replace(xml, "</devices>", "<graphics type='vnc'/></devices>");
        assert_int_equal(shim_domain_check_cut_xml(bad, TAP, &v), -EPERM);
        assert_non_null(strstr(v, "remote display"));
        free(v), v = NULL;
        assert_int_equal(shim_domain_check_cut_xml("<domain><devices>", TAP, &v), -EBADMSG);
        assert_non_null(strstr(v, "not well formed"));
        free(v), v = NULL;
        /* An entity that would hide a device from a reader that expands entities. */
        assert_int_equal(shim_domain_check_cut_xml("<!DOCTYPE domain [<!ENTITY g \"<graphics type='vnc'/>\">]>"
                                                   "<domain><devices>&g;</devices></domain>",
                                                   NULL, &v),
                         -EBADMSG);
        assert_non_null(strstr(v, "document type"));
        free(v), v = NULL;
        assert_int_equal(shim_domain_check_cut_xml(NULL, NULL, &v), -EINVAL);
        assert_int_equal(shim_domain_check_cut_xml("<network/>", NULL, NULL), -EINVAL);
}

/* The QEMU identity in the live XML: one static dac seclabel with the stack's label, nothing else. */
static void test_identity(void **state) {
        (void) state;
        static const struct {
                const char *seclabels;
                int want;
                const char *why;
        } cases[] = {
                /* what libvirt 9.0 reports for the seclabel the builder writes */
                {"<seclabel type='static' model='dac' relabel='yes'><label>+2130706435:+2130706435</label>"
                 "<imagelabel>+2130706435:+2130706435</imagelabel></seclabel>", 0, NULL},
                {"<seclabel type='dynamic' model='selinux' relabel='yes'><label>x</label></seclabel>"
                 "<seclabel type='static' model='dac'><label>+2130706435:+2130706435</label></seclabel>", 0, NULL},
                {"", -EPERM, "no dac seclabel"},
                {"<seclabel type='none' model='dac'/>", -EPERM, "type 'none'"},
                {"<seclabel type='dynamic' model='dac'><label>+2130706435:+2130706435</label></seclabel>", -EPERM,
                 "type 'dynamic'"},
                {"<seclabel type='static' model='dac' relabel='no'><label>+2130706435:+2130706435</label></seclabel>",
                 -EPERM, "relabel='no'"},
                {"<seclabel type='static' model='dac'><label>+64055:+64055</label></seclabel>", -EPERM,
                 "'+64055:+64055'"},
                {"<seclabel type='static' model='dac'><label>+2130706435:+0</label></seclabel>", -EPERM, "+0"},
                {"<seclabel type='static' model='dac'/>", -EPERM, "exactly one label"},
                {"<seclabel type='static' model='dac'><label>+2130706435:+2130706435</label>"
                 "<label>+0:+0</label></seclabel>", -EPERM, "exactly one label"},
                {"<seclabel type='static' model='dac'><label>+2130706435:+2130706435</label></seclabel>"
                 "<seclabel type='static' model='dac'><label>+0:+0</label></seclabel>", -EPERM, "more than one"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *xml = tl_strf("<domain type='qemu'><name>ecluse-x</name>%s</domain>",
                                                   cases[i].seclabels);
                _cleanup_free_ char *v = NULL;
                xmlDocPtr d = parse(xml);
                int r = shim_domain_check_identity(d, 0x7f000003, &v);
                xmlFreeDoc(d);
                if (r != cases[i].want)
                        fail_msg("case %zu: %d, not %d (%s)", i, r, cases[i].want, v ? v : "");
                if (cases[i].why && (!v || !strstr(v, cases[i].why)))
                        fail_msg("case %zu: '%s' does not say '%s'", i, v ? v : "", cases[i].why);
        }
        /* the builder's seclabel passes, and only with its own id */
        xmlDocPtr doc = parse("<domain type='qemu'><name>x</name></domain>");
        assert_int_equal(shim_domain_check_identity(doc, 0, NULL), -EINVAL);
        xmlFreeDoc(doc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_live_xml_is_cut),
                cmocka_unit_test(test_each_forbidden_element_is_found),
                cmocka_unit_test(test_harmless_additions_pass),
                cmocka_unit_test(test_no_network_means_no_interface),
                cmocka_unit_test(test_wrong_input),
                cmocka_unit_test(test_foreign_namespace_device),
                cmocka_unit_test(test_xml_text),
                cmocka_unit_test(test_identity),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
