/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_qmp_compare() on what a real ecluse stack answered (tests/data/qmp/,
 * libvirt 9.0 and QEMU 7.2 on qemu:///system, the stack of
 * tests/e2e/test_hotplug_system.sh): its live XML and QEMU's replies as
 * started (base-*), after a QMP chardev-add of "evilchar" (chardev-*), a
 * device_add of a virtio-rng-pci without id (anon-*), and another with
 * id "evil0" (withid-*).  A later run of that test, its stack with a qcow2
 * disk: as started (disk-*), after nbd-server-start + block-export-add of
 * the disk's node (export-exports.json), a blockdev-add of an nbd node on a
 * qemu-nbd UNIX socket (nbd-nodes.json), then of a file node in the test's
 * temp dir and a null-co node (more-nodes.json), a migrate to a UNIX socket
 * that is never read (migrate-active.json) and its migrate_cancel
 * (migrate-cancelled.json).  Plus edited replies for what those runs did
 * not try.
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

static const char *const suffix[SHIM_QMP_N_QUERIES] = {
        [SHIM_QMP_PERIPHERAL] = "peripheral", [SHIM_QMP_PERIPHERAL_ANON] = "anon", [SHIM_QMP_PCI] = "pci",
        [SHIM_QMP_CHARDEV] = "chardev",       [SHIM_QMP_OBJECTS] = "objects",      [SHIM_QMP_MIGRATE] = "migrate",
        [SHIM_QMP_BLOCK_EXPORTS] = "exports", [SHIM_QMP_BLOCK_NODES] = "nodes",      [SHIM_QMP_JOBS] = "jobs",
        [SHIM_QMP_DUMP] = "dump"};

/* A stack as it started: the sample PREFIX-*.json. */
static void sample(struct sample *s, const char *xml, const char *prefix) {
        *s = (struct sample){.xml = load(xml)};
        for (int q = 0; q < SHIM_QMP_N_QUERIES; q++) {
                char *name = tl_strf("%s-%s.json", prefix, suffix[q]);
                s->reply[q] = load(name);
                free(name);
        }
}

/* The stack without a disk as it started. */
static void base(struct sample *s) {
        sample(s, "live.xml", "base");
}

/* The stack with a qcow2 disk as it started. */
static void disk(struct sample *s) {
        sample(s, "disk-live.xml", "disk");
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
        assert_string_equal(shim_qmp_command(SHIM_QMP_BLOCK_NODES),
                            "{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}");
        done(&s);
}

/* A disk as libvirt 9.0 makes it (a file node under a qcow2 node), no export, no migration: no violation. */
static void test_disk_as_started(void **state) {
        (void) state;
        struct sample s;
        disk(&s);
        assert_non_null(strstr(s.reply[SHIM_QMP_BLOCK_NODES], "\"drv\":\"qcow2\""));
        assert_non_null(strstr(s.reply[SHIM_QMP_BLOCK_NODES], "\"drv\":\"file\""));
        char *why = (char *) 1;
        assert_int_equal(compare(&s, &why), 0);
        assert_null(why);
        /* a raw disk, and the other local drivers (a throttle filter, luks) */
        char *xml = replace(s.xml, "type='qcow2'", "type='raw'");
        free(s.xml);
        s.xml = xml;
        edit(&s, SHIM_QMP_BLOCK_NODES, "\"drv\":\"qcow2\"", "\"drv\":\"raw\"");
        static const char *const local[] = {"throttle", "luks", "copy-on-read", "preallocate"};
        for (size_t i = 0; i < ELEMENTSOF(local); i++) {
                char *to = tl_strf("{\"node-name\":\"n%zu\",\"drv\":\"%s\"},{\"iops_rd\"", i, local[i]);
                edit(&s, SHIM_QMP_BLOCK_NODES, "{\"iops_rd\"", to);
                free(to);
        }
        assert_int_equal(compare(&s, NULL), 0);
        /* what the XML declares and QEMU lacks is not this check's */
        set(&s, SHIM_QMP_BLOCK_NODES, load("base-nodes.json"));
        assert_int_equal(compare(&s, NULL), 0);
        done(&s);
}

/* nbd-server-start + block-export-add of the guest's disk: the export is seen. */
static void test_block_export(void **state) {
        (void) state;
        struct sample s;
        disk(&s);
        set(&s, SHIM_QMP_BLOCK_EXPORTS, load("export-exports.json"));
        expect_violation(&s, "QEMU has what the live XML does not declare: block export qmpexp (nbd of node "
                             "libvirt-1-format)");
        /* any export, of whatever type, even one QEMU describes badly */
        set(&s, SHIM_QMP_BLOCK_EXPORTS, strdup("{\"return\":[{\"type\":\"vhost-user-blk\"}]}"));
        expect_violation(&s, "block export ? (vhost-user-blk of node ?)");
        done(&s);
}

/* blockdev-add of an nbd node (a target for blockdev-backup), of a file node elsewhere, of a null-co node. */
static void test_block_nodes(void **state) {
        (void) state;
        struct sample s;
        disk(&s);
        set(&s, SHIM_QMP_BLOCK_NODES, load("nbd-nodes.json"));
        expect_violation(&s, "QEMU has what the live XML does not declare: block node qmpnbd (nbd "
                             "nbd+unix://?socket=/tmp/ecluse-hotplug.XXXXXX/qmpsock/n.sock)");
        set(&s, SHIM_QMP_BLOCK_NODES, load("more-nodes.json"));
        char *why = NULL;
        assert_int_equal(compare(&s, &why), -EPERM);
        assert_string_equal(why, "QEMU has what the live XML does not declare: block node qmpnull (null-co null-co://), "
                                 "block node qmpfile (file /tmp/ecluse-hotplug.XXXXXX/qmpsock/f.raw, no disk of the "
                                 "XML), block node qmpnbd (nbd "
                                 "nbd+unix://?socket=/tmp/ecluse-hotplug.XXXXXX/qmpsock/n.sock)");
        free(why);
        /* the remote and the odd drivers, whatever they are called */
        static const char *const remote[] = {"iscsi", "rbd", "http", "https", "ftp", "ftps", "ssh",
                                             "gluster", "nfs", "curl", "vvfat", "blkdebug", "NBD"};
        for (size_t i = 0; i < ELEMENTSOF(remote); i++) {
                set(&s, SHIM_QMP_BLOCK_NODES, load("disk-nodes.json"));
                char *to = tl_strf("\"drv\":\"%s\"", remote[i]);
                edit(&s, SHIM_QMP_BLOCK_NODES, "\"drv\":\"qcow2\"", to);
                free(to);
                char *needle = tl_strf("block node libvirt-1-format (%s ", remote[i]);
                expect_violation(&s, needle);
                free(needle);
        }
        /* a host_device or host_cdrom node, and a file node without a file name, on no disk of the XML */
        set(&s, SHIM_QMP_BLOCK_NODES, load("disk-nodes.json"));
        edit(&s, SHIM_QMP_BLOCK_NODES, "\"drv\":\"file\"", "\"drv\":\"host_device\"");
        assert_int_equal(compare(&s, NULL), 0);
        edit(&s, SHIM_QMP_BLOCK_NODES, "{\"iops_rd\"",
             "{\"node-name\":\"#block123\",\"drv\":\"host_cdrom\",\"file\":\"/dev/sr0\"},"
             "{\"node-name\":\"f\",\"drv\":\"file\"},{\"iops_rd\"");
        why = NULL;
        assert_int_equal(compare(&s, &why), -EPERM);
        assert_string_equal(why, "QEMU has what the live XML does not declare: block node #block123 (host_cdrom "
                                 "/dev/sr0, no disk of the XML), block node f (file ?, no disk of the XML)");
        free(why);
        /* the disk's own file is no longer allowed once the XML does not have the disk */
        done(&s);
        disk(&s);
        char *xml = replace(s.xml, "<source file=", "<source x=");
        free(s.xml);
        s.xml = xml;
        expect_violation(&s, "block node libvirt-1-storage (file /tmp/ecluse-hotplug.XXXXXX/root/var/lib/ecluse/"
                             "stacks/hpt/current/disk.qcow2, no disk of the XML)");
        done(&s);
}

/* migrate to a UNIX socket: in progress while it lasts, and completed, failed or cancelled are as bad; none is not. */
static void test_migrate(void **state) {
        (void) state;
        struct sample s;
        disk(&s);
        set(&s, SHIM_QMP_MIGRATE, load("migrate-active.json"));
        expect_violation(&s, "QEMU has what the live XML does not declare: migration in progress (active)");
        static const char *const moving[] = {"setup",           "pre-switchover",   "device",
                                             "postcopy-active", "postcopy-paused",  "postcopy-recover",
                                             "wait-unplug",     "colo",             "cancelling",
                                             "not-yet-invented"};
        for (size_t i = 0; i < ELEMENTSOF(moving); i++) {
                set(&s, SHIM_QMP_MIGRATE, tl_strf("{\"return\":{\"status\":\"%s\"},\"id\":\"x\"}", moving[i]));
                char *needle = tl_strf("migration in progress (%s)", moving[i]);
                expect_violation(&s, needle);
                free(needle);
        }
        set(&s, SHIM_QMP_MIGRATE, load("migrate-cancelled.json"));
        expect_violation(&s, "migration cancelled (the guest's memory may have been sent out)");
        static const char *const ended[] = {"completed", "failed"};
        for (size_t i = 0; i < ELEMENTSOF(ended); i++) {
                set(&s, SHIM_QMP_MIGRATE, tl_strf("{\"return\":{\"status\":\"%s\"}}", ended[i]));
                char *needle = tl_strf("migration %s (the guest's memory may have been sent out)", ended[i]);
                expect_violation(&s, needle);
                free(needle);
        }
        set(&s, SHIM_QMP_MIGRATE, tl_strf("{\"return\":{}}"));
        assert_int_equal(compare(&s, NULL), 0);
        static const char *const idle[] = {"none"};
        for (size_t i = 0; i < ELEMENTSOF(idle); i++) {
                set(&s, SHIM_QMP_MIGRATE, tl_strf("{\"return\":{\"status\":\"%s\"}}", idle[i]));
                assert_int_equal(compare(&s, NULL), 0);
        }
        done(&s);
}

/* A job (blockdev-backup, -mirror, commit, stream, ...) is a disk copied, even concluded. */
static void test_jobs(void **state) {
        (void) state;
        struct sample s;
        disk(&s);
        set(&s, SHIM_QMP_JOBS,
            strdup("{\"return\":[{\"current-progress\":0,\"status\":\"running\",\"total-progress\":0,"
                   "\"type\":\"backup\",\"id\":\"bk0\"}]}"));
        expect_violation(&s, "QEMU has what the live XML does not declare: job bk0 (backup, running)");
        set(&s, SHIM_QMP_JOBS, strdup("{\"return\":[{\"status\":\"concluded\",\"type\":\"mirror\",\"id\":\"m\"}]}"));
        expect_violation(&s, "job m (mirror, concluded)");
        set(&s, SHIM_QMP_JOBS, strdup("{\"return\":[]}"));
        assert_int_equal(compare(&s, NULL), 0);
        done(&s);
}

/* dump-guest-memory: seen while it runs and once it is over. */
static void test_dump(void **state) {
        (void) state;
        struct sample s;
        base(&s);
        set(&s, SHIM_QMP_DUMP, strdup("{\"return\":{\"status\":\"active\",\"completed\":4096,\"total\":67108864}}"));
        expect_violation(&s, "QEMU has what the live XML does not declare: memory dump in progress");
        static const char *const ended[] = {"completed", "failed"};
        for (size_t i = 0; i < ELEMENTSOF(ended); i++) {
                set(&s, SHIM_QMP_DUMP, tl_strf("{\"return\":{\"status\":\"%s\",\"completed\":0,\"total\":0}}", ended[i]));
                char *needle = tl_strf("memory dump %s (the guest's memory may have been written out)", ended[i]);
                expect_violation(&s, needle);
                free(needle);
        }
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
                {SHIM_QMP_MIGRATE, "{\"return\":[]}", "query-migrate is no object"},
                {SHIM_QMP_MIGRATE, "{\"return\":{\"status\":1}}", "status that is no string"},
                {SHIM_QMP_BLOCK_EXPORTS, "{\"return\":{}}", "query-block-exports is no list"},
                {SHIM_QMP_BLOCK_EXPORTS, "{\"return\":[\"nbd\"]}", "export that is no object"},
                {SHIM_QMP_BLOCK_EXPORTS,
                 "{\"id\":\"libvirt-1\",\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"The command "
                 "query-block-exports has not been found\"}}",
                 "query-block-exports is an error (The command query-block-exports has not been found)"},
                {SHIM_QMP_BLOCK_NODES, "{\"return\":{}}", "query-named-block-nodes is no list"},
                {SHIM_QMP_BLOCK_NODES, "{\"return\":[{\"node-name\":\"x\"}]}", "without node-name or drv"},
                {SHIM_QMP_BLOCK_NODES, "{\"return\":[{\"drv\":\"file\"}]}", "without node-name or drv"},
                {SHIM_QMP_JOBS, "{\"return\":{}}", "query-jobs is no list"},
                {SHIM_QMP_JOBS, "{\"return\":[1]}", "job that is no object"},
                {SHIM_QMP_DUMP, "{\"return\":[]}", "query-dump is no object"},
                {SHIM_QMP_DUMP, "{\"return\":{}}", "query-dump has no status"},
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
                cmocka_unit_test(test_disk_as_started),
                cmocka_unit_test(test_block_export),
                cmocka_unit_test(test_block_nodes),
                cmocka_unit_test(test_migrate),
                cmocka_unit_test(test_jobs),
                cmocka_unit_test(test_dump),
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
