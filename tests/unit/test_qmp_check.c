/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_qmp_compare() on what a real ecluse stack answered (tests/data/qmp/,
 * libvirt 9.0 and QEMU 7.2 on qemu:///system, the stack of
 * tests/e2e/test_hotplug_system.sh): its live XML and QEMU's replies as
 * started (base-*), after a QMP chardev-add of "evilchar" (chardev-*), a
 * device_add of a virtio-rng-pci without id (anon-*), and another with
 * id "evil0" (withid-*).  Plus edited replies for what that run did not try.
 */
#include <errno.h>
#include <string.h>

#include "qmp-check.h"
#include "testlib.h"

#define DATA ECLUSE_SOURCE_DIR "/tests/data/qmp/"

struct sample {
        char *xml;
        char *reply[SHIM_QMP_N_QUERIES];
};

static char *load(const char *name) {
        char *path = tl_strf(DATA "%s", name);
        char *s = tl_read_file(path, NULL);
        if (!s)
                fail_msg("cannot read %s", path);
        free(path);
        return s;
}

static void set(struct sample *s, enum shim_qmp_query q, char *reply) {
        free(s->reply[q]);
        s->reply[q] = reply;
}

/* The stack as it started. */
static void base(struct sample *s) {
        static const char *const files[SHIM_QMP_N_QUERIES] = {
                [SHIM_QMP_PERIPHERAL] = "base-peripheral.json", [SHIM_QMP_PERIPHERAL_ANON] = "base-anon.json",
                [SHIM_QMP_PCI] = "base-pci.json", [SHIM_QMP_CHARDEV] = "base-chardev.json",
                [SHIM_QMP_OBJECTS] = "base-objects.json"};
        *s = (struct sample){.xml = load("live.xml")};
        for (int q = 0; q < SHIM_QMP_N_QUERIES; q++)
                s->reply[q] = load(files[q]);
}

static void done(struct sample *s) {
        free(s->xml);
        for (int q = 0; q < SHIM_QMP_N_QUERIES; q++)
                free(s->reply[q]);
}

/* The status; *why gets the message (NULL when none). */
static int compare(struct sample *s, char **why) {
        return shim_qmp_compare(s->xml, (const char *const *) s->reply, why);
}

/* s with the first `from` replaced by `to`. */
static char *replace(const char *s, const char *from, const char *to) {
        const char *at = strstr(s, from);
        if (!at)
                fail_msg("sample does not contain \"%s\"", from);
        return tl_strf("%.*s%s%s", (int) (at - s), s, to, at + strlen(from));
}

/* Reply q of s with the first `from` replaced by `to`. */
static void edit(struct sample *s, enum shim_qmp_query q, const char *from, const char *to) {
        set(s, q, replace(s->reply[q], from, to));
}

static void expect_violation(struct sample *s, const char *needle) {
        char *why = NULL;
        assert_int_equal(compare(s, &why), -EPERM);
        assert_non_null(why);
        if (!strstr(why, needle))
                fail_msg("violation \"%s\" does not name \"%s\"", why, needle);
        free(why);
}

/* What libvirt made is what the XML says: no violation (and the commands are the ones asked). */
static void test_as_started(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        char *why = (char *) 1;
        assert_int_equal(compare(&s, &why), 0);
        assert_null(why);
        assert_int_equal(shim_qmp_compare(s.xml, (const char *const *) s.reply, NULL), 0);
        assert_non_null(strstr(shim_qmp_command(SHIM_QMP_PCI), "query-pci"));
        assert_non_null(strstr(shim_qmp_command(SHIM_QMP_PERIPHERAL_ANON), "/machine/peripheral-anon"));
        assert_null(shim_qmp_command(SHIM_QMP_N_QUERIES));
        done(&s);
}

static void test_chardev_add(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        set(&s, SHIM_QMP_CHARDEV, load("chardev-chardev.json"));
        expect_violation(&s, "QEMU has what the live XML does not declare: chardev evilchar (null)");
        done(&s);
}

/* device_add without id: in peripheral-anon, and a PCI function without id behind a root port. */
static void test_device_add_without_id(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        set(&s, SHIM_QMP_PERIPHERAL_ANON, load("anon-anon.json"));
        expect_violation(&s, "device without id device[0] (virtio-rng-pci)");
        /* QEMU's PCI view alone tells it too */
        set(&s, SHIM_QMP_PERIPHERAL_ANON, load("base-anon.json"));
        set(&s, SHIM_QMP_PCI, load("anon-pci.json"));
        expect_violation(&s, "PCI device without id at 02:00.0");
        done(&s);
}

static void test_device_add_with_id(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        set(&s, SHIM_QMP_PERIPHERAL, load("withid-peripheral.json"));
        expect_violation(&s, "device evil0 (virtio-rng-pci)");
        set(&s, SHIM_QMP_PERIPHERAL, load("base-peripheral.json"));
        set(&s, SHIM_QMP_PCI, load("withid-pci.json"));
        expect_violation(&s, "PCI device evil0 at 02:01.0");
        /* every finding is named, not just the first */
        set(&s, SHIM_QMP_PERIPHERAL, load("withid-peripheral.json"));
        set(&s, SHIM_QMP_PERIPHERAL_ANON, load("anon-anon.json"));
        set(&s, SHIM_QMP_CHARDEV, load("chardev-chardev.json"));
        char *why = NULL;
        assert_int_equal(compare(&s, &why), -EPERM);
        assert_string_equal(why, "QEMU has what the live XML does not declare: device evil0 (virtio-rng-pci), "
                                 "device without id device[0] (virtio-rng-pci), "
                                 "PCI device without id at 02:00.0 (unknown class), "
                                 "PCI device evil0 at 02:01.0 (unknown class), chardev evilchar (null)");
        free(why);
        done(&s);
}

/* An id that is an alias of the XML, but of something that is no -device (the PS/2 mouse, the q35 SATA): seen. */
static void test_builtin_alias_reused(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        static const char *const builtin[] = {"input0", "ide", "pcie.0", "usb", "video0"};
        for (size_t i = 0; i < ELEMENTSOF(builtin); i++) {
                char *alias = tl_strf("<alias name='%s'/>", builtin[i]);
                assert_non_null(strstr(s.xml, alias));
                free(alias);
                char *to = tl_strf("{\"name\":\"%s\",\"type\":\"child<virtio-net-pci>\"},{\"name\":\"net0\"",
                                   builtin[i]);
                edit(&s, SHIM_QMP_PERIPHERAL, "{\"name\":\"net0\"", to);
                free(to);
                char *needle = tl_strf("device %s (virtio-net-pci)", builtin[i]);
                expect_violation(&s, needle);
                free(needle);
                set(&s, SHIM_QMP_PERIPHERAL, load("base-peripheral.json"));
        }
        done(&s);
}

/* object-add (a netfilter on the NIC's netdev would carry its traffic around the tap): seen. */
static void test_object_add(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        edit(&s, SHIM_QMP_OBJECTS, "{\"name\":\"pc.ram\"",
             "{\"name\":\"f0\",\"type\":\"child<filter-redirector>\"},{\"name\":\"pc.ram\"");
        expect_violation(&s, "object f0 (filter-redirector)");
        done(&s);
}

/* An rng the XML declares: its device rng0 and its backend objrng0 are libvirt's. */
static void test_declared_rng(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        char *xml = replace(s.xml, "<memballoon",
                            "<rng model='virtio'><backend model='random'>/dev/urandom</backend>"
                            "<alias name='rng0'/></rng><memballoon");
        free(s.xml);
        s.xml = xml;
        edit(&s, SHIM_QMP_PERIPHERAL, "{\"name\":\"net0\"",
             "{\"name\":\"rng0\",\"type\":\"child<virtio-rng-pci>\"},{\"name\":\"net0\"");
        edit(&s, SHIM_QMP_OBJECTS, "{\"name\":\"pc.ram\"",
             "{\"name\":\"objrng0\",\"type\":\"child<rng-random>\"},{\"name\":\"pc.ram\"");
        assert_int_equal(compare(&s, NULL), 0);
        /* but a chardev named after it is not (its backend is no egd) */
        edit(&s, SHIM_QMP_CHARDEV, "{\"frontend-open\":true,\"filename\":\"file\"",
             "{\"label\":\"charrng0\",\"filename\":\"socket\"},{\"frontend-open\":true,\"filename\":\"file\"");
        expect_violation(&s, "chardev charrng0 (socket)");
        done(&s);
}

/* QEMU's strings are untrusted: no control characters reach the message. */
static void test_names_sanitized(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        edit(&s, SHIM_QMP_CHARDEV, "\"label\":\"charserial0\"",
             "\"label\":\"charserial0\"},{\"label\":\"x\\nFAKE\\u001b[0m\",\"filename\":\"f\"");
        expect_violation(&s, "chardev x?FAKE?[0m (f)");
        done(&s);
}

/* Many findings: the message stays bounded. */
static void test_many_findings(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        char *list = tl_strf("{\"return\":[");
        for (int i = 0; i < 100; i++) {
                char *next = tl_strf("%s%s{\"name\":\"device[%d]\",\"type\":\"child<virtio-rng-pci>\"}", list,
                                     i ? "," : "", i);
                free(list);
                list = next;
        }
        set(&s, SHIM_QMP_PERIPHERAL_ANON, tl_strf("%s]}", list));
        free(list);
        char *why = NULL;
        assert_int_equal(compare(&s, &why), -EPERM);
        assert_non_null(strstr(why, "device[15] (virtio-rng-pci), ..."));
        assert_null(strstr(why, "device[16]"));
        free(why);
        done(&s);
}

/* Replies that are no answer: refused (the check fails closed), saying which. */
static void test_bad_replies(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        static const struct {
                enum shim_qmp_query q;
                const char *reply, *needle;
        } bad[] = {
                {SHIM_QMP_PCI, "{\"id\":\"libvirt-1\",\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"nope\"}}",
                 "query-pci is an error (nope)"},
                {SHIM_QMP_CHARDEV, "not json", "query-chardev is not JSON"},
                {SHIM_QMP_PERIPHERAL, "{\"return\":{}}", "/machine/peripheral is no list"},
                {SHIM_QMP_PERIPHERAL_ANON, "{\"return\":[{\"name\":\"device[0]\"}]}", "without name or type"},
                {SHIM_QMP_PCI, "{\"return\":[{\"bus\":0,\"devices\":[{\"qdev_id\":\"\"}]}]}",
                 "without qdev_id, bus, slot or function"},
                {SHIM_QMP_OBJECTS, "{\"return\":[],\"return\":[]}", "is not JSON"},
                {SHIM_QMP_CHARDEV, "{\"id\":\"x\"}", "is an error (no return value)"},
                {SHIM_QMP_CHARDEV, NULL, "is missing"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *saved = s.reply[bad[i].q];
                s.reply[bad[i].q] = (char *) bad[i].reply;
                char *why = NULL;
                assert_int_equal(compare(&s, &why), -EBADMSG);
                if (!why || !strstr(why, bad[i].needle))
                        fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why ? why : "(null)", bad[i].needle);
                free(why);
                s.reply[bad[i].q] = saved;
        }
        char *why = NULL;
        free(s.xml);
        s.xml = strdup("<domain><devices>");
        assert_int_equal(compare(&s, &why), -EBADMSG);
        assert_non_null(strstr(why, "not well formed"));
        free(why);
        done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_as_started),
                cmocka_unit_test(test_chardev_add),
                cmocka_unit_test(test_device_add_without_id),
                cmocka_unit_test(test_device_add_with_id),
                cmocka_unit_test(test_builtin_alias_reused),
                cmocka_unit_test(test_object_add),
                cmocka_unit_test(test_declared_rng),
                cmocka_unit_test(test_names_sanitized),
                cmocka_unit_test(test_many_findings),
                cmocka_unit_test(test_bad_replies),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
