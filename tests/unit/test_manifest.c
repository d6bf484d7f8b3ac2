/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest loader and validator: the model it builds, and how it reports problems
 * (the network section's own checks: test_manifest_network.c). */
#include "manifest-testlib.h"

static void test_office_example(void **state) {
        (void) state;
        _cleanup_manifest_ struct ecl_manifest *m = load_example("office.yaml");
        assert_true(strstr(m->file, "manifests/office.yaml") != NULL);
        assert_int_equal(m->version, 1);
        assert_string_equal(m->stack, "office");
        assert_string_equal(m->licensor, "Example Cloud Inc.");
        assert_int_equal(m->vm.vcpus, 4);
        assert_int_equal(m->vm.memory_mib, 8192);
        assert_int_equal(m->vm.accel, ECL_ACCEL_KVM);
        assert_null(m->vm.kernel);
        assert_null(m->vm.initrd);
        assert_null(m->vm.cmdline);
        assert_int_equal(m->vm.n_disks, 2);
        assert_string_equal(m->vm.disks[0].path, "/var/lib/ecluse/stacks/office/current/disk.qcow2");
        assert_int_equal(m->vm.disks[0].format, ECL_DISK_QCOW2);
        assert_string_equal(m->vm.disks[1].path, "/var/lib/ecluse/stacks/office/data/data.raw");
        assert_int_equal(m->vm.disks[1].format, ECL_DISK_RAW);
        assert_int_equal(m->vm.disks[1].pos.line, 14);
        assert_true(m->has_network);
        assert_string_equal(m->network.bridge, "ecl-br0");
        assert_true(m->network.has_mac);
        static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
        assert_memory_equal(m->network.mac, mac, 6);
        assert_int_equal(m->network.n_addresses, 2);
        assert_cidr(&m->network.addresses[0], AF_INET, "192.0.2.2/32");
        assert_cidr(&m->network.addresses[1], AF_INET6, "2001:db8:0:1::2/128");
        assert_int_equal(m->network.n_neighbours, 1);
        assert_cidr(&m->network.neighbours[0], AF_INET, "192.0.2.1/32");
        assert_int_equal(m->network.n_egress, 4);
        const struct ecl_rule *e = &m->network.egress[0];
        assert_cidr(&e->net, AF_INET, "192.0.2.10/32");
        assert_int_equal(e->proto, ECL_PROTO_TCP);
        assert_int_equal(e->n_ports, 2);
        assert_int_equal(e->ports[0].first, 443);
        assert_int_equal(e->ports[0].last, 443);
        assert_int_equal(e->ports[1].first, 8000);
        assert_int_equal(e->ports[1].last, 8080);
        assert_string_equal(e->why, "internal identity provider (OIDC and its admin API)");
        assert_int_equal(e->pos.line, 26);
        assert_int_equal(e->pos.col, 7);
        assert_cidr(&m->network.egress[3].net, AF_INET6, "2001:db8:0:53::/64");
        assert_int_equal(m->network.egress[3].proto, ECL_PROTO_UDP);
        assert_int_equal(m->network.n_ingress, 3);
        assert_cidr(&m->network.ingress[0].net, AF_INET, "198.51.100.0/24");
        assert_int_equal(m->network.ingress[2].proto, ECL_PROTO_ICMP);
        assert_int_equal(m->network.ingress[2].n_ports, 0);
        assert_null(m->network.ingress[2].ports);
        assert_int_equal(m->console, ECL_CONSOLE_LOG);
        assert_int_equal(m->updates_quorum, 2);
        assert_string_equal(m->health_console, "APP READY");
        assert_int_equal(m->health_timeout_s, 120);
        assert_int_equal(m->access_quorum, 2);
        assert_int_equal(m->access_max_duration_s, 4 * 3600);
}

static void test_test_guest_example(void **state) {
        (void) state;
        _cleanup_manifest_ struct ecl_manifest *m = load_example("test-guest.yaml");
        assert_string_equal(m->stack, "test-guest");
        assert_int_equal(m->vm.accel, ECL_ACCEL_TCG);
        assert_int_equal(m->vm.memory_mib, 256);
        assert_string_equal(m->vm.kernel, "/var/lib/ecluse/stacks/test-guest/current/vmlinuz");
        assert_string_equal(m->vm.initrd, "/var/lib/ecluse/stacks/test-guest/current/initrd.img");
        assert_string_equal(m->vm.cmdline, "console=ttyS0 panic=-1 quiet");
        assert_int_equal(m->vm.n_disks, 0);
        assert_true(m->has_network);
        assert_null(m->network.bridge);
        assert_int_equal(m->network.n_addresses, 2);
        assert_cidr(&m->network.addresses[0], AF_INET, "10.99.0.2/32");
        assert_cidr(&m->network.addresses[1], AF_INET6, "fd00:ec::2/128");
        assert_int_equal(m->network.n_neighbours, 0);
        assert_null(m->network.neighbours);
        assert_int_equal(m->network.n_egress, 3);
        assert_int_equal(m->network.egress[2].proto, ECL_PROTO_ICMPV6);
        assert_int_equal(m->updates_quorum, 1);
        assert_int_equal(m->access_quorum, 1);
        assert_int_equal(m->access_max_duration_s, 30 * 60);
}

static void test_minimal_example_defaults(void **state) {
        (void) state;
        _cleanup_manifest_ struct ecl_manifest *m = load_example("minimal.yaml");
        assert_int_equal(m->vm.vcpus, 1);
        assert_int_equal(m->vm.accel, ECL_ACCEL_AUTO);
        assert_int_equal(m->vm.memory_mib, 512);
        assert_false(m->has_network);
        assert_false(m->network.has_mac);
        assert_int_equal(m->network.n_egress + m->network.n_ingress + m->network.n_addresses +
                                 m->network.n_neighbours,
                         0);
        assert_int_equal(m->console, ECL_CONSOLE_LOG);
        assert_int_equal(m->updates_quorum, ECL_QUORUM_DEFAULT);
        assert_null(m->health_console);
        assert_int_equal(m->health_timeout_s, ECL_HEALTH_TIMEOUT_DEFAULT_S);
        assert_int_equal(m->access_quorum, ECL_QUORUM_DEFAULT);
        assert_int_equal(m->access_max_duration_s, ECL_ACCESS_MAX_DURATION_DEFAULT_S);
}

static void test_edge_values(void **state) {
        (void) state;
        _cleanup_free_ char *p = tl_strf("%s/tests/data/manifests/good/edge-values.yaml", ECLUSE_SOURCE_DIR);
        _cleanup_manifest_ struct ecl_manifest *m = load_ok(p);
        assert_int_equal(strlen(m->stack), ECL_STACK_NAME_MAX);
        assert_string_equal(m->licensor, "Société Générale d'Informatique — ×");
        assert_int_equal(m->vm.vcpus, 64);
        assert_int_equal(m->vm.memory_mib, ECL_MEMORY_MIB_MAX);
        assert_string_equal(m->vm.cmdline, "console=ttyS0 root=/dev/vda1 \"quoted\" ro");
        assert_string_equal(m->network.bridge, "br0.100");
        static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
        assert_memory_equal(m->network.mac, mac, 6);
        assert_int_equal(m->network.n_addresses, 3);
        assert_cidr(&m->network.addresses[2], AF_INET6, "::ffff:192.0.2.3/128");
        assert_int_equal(m->network.n_neighbours, 4);
        assert_cidr(&m->network.neighbours[0], AF_INET, "192.0.2.1/32");
        assert_cidr(&m->network.neighbours[1], AF_INET6, "fe80::1/128");
        assert_cidr(&m->network.neighbours[2], AF_INET6, "2001:db8::1/128");
        assert_cidr(&m->network.neighbours[3], AF_INET6, "fe80::5054:ff:feab:cdef/128");
        const struct ecl_rule *e = &m->network.egress[0];
        assert_cidr(&e->net, AF_INET, "0.0.0.0/0");
        assert_int_equal(e->n_ports, 5);
        assert_int_equal(e->ports[0].first, 1);
        assert_int_equal(e->ports[1].last, 65535);
        assert_int_equal(e->ports[2].first, 2);
        assert_int_equal(e->ports[2].last, 1024);
        assert_int_equal(e->ports[3].first, 1025); /* an unquoted range is a string too */
        assert_int_equal(e->ports[3].last, 2048);
        assert_int_equal(e->ports[4].first, 2049);
        assert_int_equal(e->ports[4].last, 2049);
        assert_cidr(&m->network.egress[1].net, AF_INET6, "::/0");
        assert_int_equal(m->network.egress[1].n_ports, 0);
        assert_string_equal(m->network.ingress[0].why, "monitoring, folded over two lines");
        assert_int_equal(m->console, ECL_CONSOLE_NONE);
        assert_int_equal(m->updates_quorum, 16);
        assert_int_equal(m->access_max_duration_s, 7 * 86400);
}

static void test_updates_health(void **state) {
        (void) state;
        _cleanup_manifest_ struct ecl_manifest *m1 = load_ok_with("updates:\n  health: {console: \"ok: up\", timeout: 1h30m}\n");
        assert_string_equal(m1->health_console, "ok: up");
        assert_int_equal(m1->health_timeout_s, 5400);
        assert_int_equal(m1->updates_quorum, ECL_QUORUM_DEFAULT);

        /* Without console: the guest only has to stay up for the timeout. */
        _cleanup_manifest_ struct ecl_manifest *m2 = load_ok_with("updates:\n  quorum: 3\n  health:\n    timeout: 24h\n");
        assert_null(m2->health_console);
        assert_int_equal(m2->health_timeout_s, 86400);
        assert_int_equal(m2->updates_quorum, 3);

        _cleanup_manifest_ struct ecl_manifest *m3 = load_ok_with("updates:\n  health: {timeout: 1s}\n");
        assert_int_equal(m3->health_timeout_s, 1);

        /* A console text alone keeps the default timeout; 256 bytes is the limit. */
        char long_text[ECL_HEALTH_CONSOLE_MAX + 2];
        memset(long_text, 'x', sizeof long_text - 1);
        long_text[ECL_HEALTH_CONSOLE_MAX] = 0;
        _cleanup_free_ char *t4 = tl_strf("updates:\n  health: {console: %s}\n", long_text);
        _cleanup_manifest_ struct ecl_manifest *m4 = load_ok_with(t4);
        assert_int_equal(strlen(m4->health_console), ECL_HEALTH_CONSOLE_MAX);
        assert_int_equal(m4->health_timeout_s, 120);

        long_text[ECL_HEALTH_CONSOLE_MAX] = 'x';
        long_text[ECL_HEALTH_CONSOLE_MAX + 1] = 0;
        _cleanup_free_ char *t5 = tl_strf("updates:\n  health: {console: %s}\n", long_text);
        _cleanup_free_ char *o5 = load_bad_with(t5);
        assert_string_equal(o5, "t.yaml:8:21: error: 'updates.health.console' is too long (257 bytes, at most 256)");
}

static void test_updates_health_refused(void **state) {
        (void) state;
        static const struct {
                const char *tail, *err;
        } cases[] = {
                {"updates:\n  health:\n    console: ok\n    interval: 5s\n",
                 "t.yaml:10:5: error: unknown key 'interval' in 'updates.health' (valid keys here: console, timeout)"},
                {"updates:\n  health:\n    consol: ok\n",
                 "t.yaml:9:5: error: unknown key 'consol' in 'updates.health' (did you mean 'console'?)"},
                {"updates:\n  health:\n    console: a\n    console: b\n",
                 "t.yaml:10:5: error: duplicate key 'console' in 'updates.health' (first at line 9, column 5)"},
                {"updates:\n  health: {timeout: 0s}\n",
                 "t.yaml:8:21: error: 'updates.health.timeout' must be at least 1s and at most 24h, got 0s"},
                {"updates:\n  health: {timeout: 25h}\n",
                 "t.yaml:8:21: error: 'updates.health.timeout' must be at least 1s and at most 24h, got 25h"},
                {"updates:\n  health: {timeout: 2 minutes}\n",
                 "t.yaml:8:21: error: invalid duration '2 minutes' for 'updates.health.timeout' (a number and a unit "
                 "d, h, m or s, e.g. 4h, 30m, 1h30m)"},
                {"updates:\n  health: {console: \"\"}\n",
                 "t.yaml:8:21: error: 'updates.health.console' must not be empty"},
                {"updates:\n  health: {console: \"READY\\e[0m\"}\n",
                 "t.yaml:8:21: error: 'updates.health.console' contains a control character (line breaks, control "
                 "and bidirectional characters are not allowed)"},
                {"updates:\n  health: {console: \"a\\u202eb\"}\n",
                 "t.yaml:8:21: error: 'updates.health.console' contains a control character (line breaks, control "
                 "and bidirectional characters are not allowed)"},
                {"updates:\n  health: {console: [a]}\n",
                 "t.yaml:8:21: error: 'updates.health.console' must be a string, got a list"},
                {"updates:\n  health: APP READY\n",
                 "t.yaml:8:11: error: 'updates.health' must be a mapping, got a single value"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = load_bad_with(cases[i].tail);
                assert_string_equal(out, cases[i].err);
        }
}

static void test_buffer_without_name(void **state) {
        (void) state;
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        static const char text[] = "ecluse: 1\n";
        assert_int_equal(ecl_manifest_load_buffer(NULL, text, strlen(text), &m, &d), -EBADMSG);
        assert_null(m);
        assert_int_equal(d.n, 3); /* stack, licensor, vm */
        assert_string_equal(d.items[0].file, "<input>");
        assert_string_equal(d.items[0].what, "missing key 'stack'");
        assert_string_equal(d.items[1].what, "missing key 'licensor'");
        assert_string_equal(d.items[2].what, "missing key 'vm'");
        ecl_diags_clear(&d);
        /* The buffer needs no terminating NUL: a prefix of a good text is read as that prefix. */
        static const char good[] =
                "ecluse: 1\nstack: s\nlicensor: L\nvm: {memory: 64MiB, kernel: /var/lib/ecluse/stacks/s/current/k}\nXXXX";
        assert_int_equal(ecl_manifest_load_buffer("p", good, strlen(good) - 4, &m, &d), 0);
        assert_string_equal(m->file, "p");
        ecl_manifest_free(m);
}

static void test_diags_are_appended(void **state) {
        (void) state;
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_diags_add(&d, "earlier", (struct ecl_pos){9, 9}, NULL, "from before"), 0);
        static const char text[] = "ecluse: 1\nstack: Bad\n";
        assert_int_equal(ecl_manifest_load_buffer("x", text, strlen(text), &m, &d), -EBADMSG);
        assert_int_equal(d.n, 4);
        assert_string_equal(d.items[0].what, "from before"); /* not sorted into this file's lines */
        assert_int_equal(d.items[1].pos.line, 1);            /* missing keys: at the mapping */
        assert_string_equal(d.items[1].what, "missing key 'licensor'");
        assert_string_equal(d.items[2].what, "missing key 'vm'");
        assert_int_equal(d.items[3].pos.line, 2);
        ecl_diags_clear(&d);
}

static void test_file_errors(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *missing = tl_strf("%s/missing.yaml", dir);
        _cleanup_free_ char *link = tl_strf("%s/link.yaml", dir);
        _cleanup_free_ char *fifo = tl_strf("%s/fifo.yaml", dir);
        _cleanup_free_ char *big = tl_strf("%s/big.yaml", dir);
        _cleanup_free_ char *good = tl_strf("%s/manifests/minimal.yaml", ECLUSE_SOURCE_DIR);
        struct {
                const char *path;
                int r;
                const char *what;
        } cases[] = {
                {missing, -ENOENT, "cannot open: No such file or directory"},
                {link, -ELOOP, "a symbolic link (refused: opened without following links)"},
                {dir, -EISDIR, "a directory, not a regular file"},
                {fifo, -EBADMSG, "not a regular file"}, /* and the open does not block */
                {big, -EFBIG, "file too large (1048577 bytes, at most 1048576)"},
        };
        assert_int_equal(symlink(good, link), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        _cleanup_free_ char *blob = malloc(ECL_MANIFEST_MAX_SIZE + 1);
        assert_non_null(blob);
        memset(blob, '#', ECL_MANIFEST_MAX_SIZE + 1);
        tl_write_file(big, blob, ECL_MANIFEST_MAX_SIZE + 1);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ecl_diags d = {0};
                struct ecl_manifest *m = NULL;
                assert_int_equal(ecl_manifest_load_file(cases[i].path, &m, &d), cases[i].r);
                assert_null(m);
                assert_int_equal(d.n, 1);
                assert_string_equal(d.items[0].file, cases[i].path);
                assert_int_equal(d.items[0].pos.line, 0);
                assert_int_equal(d.items[0].pos.col, 0);
                assert_string_equal(d.items[0].what, cases[i].what);
                ecl_diags_clear(&d);
        }
        /* Exactly the limit is read and parsed (a YAML comment: an empty manifest). */
        tl_write_file(big, blob, ECL_MANIFEST_MAX_SIZE);
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_manifest_load_file(big, &m, &d), -EBADMSG);
        assert_string_equal(d.items[0].what, "empty manifest");
        ecl_diags_clear(&d);
        assert_int_equal(ecl_manifest_load_buffer("b", blob, ECL_MANIFEST_MAX_SIZE + 1, &m, &d), -EFBIG);
        ecl_diags_clear(&d);
        tl_rm_rf(dir);
}

static void test_several_problems_all_reported_in_order(void **state) {
        (void) state;
        _cleanup_free_ char *out = load_bad("ecluse: 1\n"
                                            "stack: Bad_Name\n"
                                            "licensor: L\n"
                                            "vm:\n"
                                            "  memory: 1TB\n"
                                            "  vcpus: 0\n"
                                            "  vsock: true\n"
                                            "network:\n"
                                            "  egress:\n"
                                            "    - to: 10.0.0.1/8\n"
                                            "      proto: tcp\n"
                                            "      why: ok\n"
                                            "  addresses: [192.0.2.2]\n"
                                            "access: {quorum: 0}\n",
                                            -EBADMSG);
        assert_string_equal(
                out,
                "t.yaml:2:8: error: invalid stack name 'Bad_Name' (a lowercase letter, then up to 30 lowercase "
                "letters, digits or '-')\n"
                "t.yaml:4:1: error: 'vm' needs a 'kernel' or at least one disk (without a kernel the VM boots its "
                "first disk with firmware)\n"
                "t.yaml:5:11: error: invalid size '1TB' for 'vm.memory' (an integer and MiB or GiB, e.g. 2GiB or "
                "512MiB)\n"
                "t.yaml:6:10: error: 'vm.vcpus' must be between 1 and 64, got 0\n"
                "t.yaml:7:3: error: unknown key 'vsock' in 'vm' (ecluse has no vsock: a vsock device would open a "
                "socket between the host and the guest)\n"
                "t.yaml:10:11: error: 'network.egress[0].to' has host bits set: '10.0.0.1/8' (did you mean "
                "'10.0.0.0/8'?)\n"
                "t.yaml:14:18: error: 'access.quorum' must be between 1 and 16, got 0");
}

static void test_too_many_errors_stop(void **state) {
        (void) state;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        fputs(head, f);
        for (int i = 0; i < 150; i++)
                fprintf(f, "unknown%d: x\n", i);
        fclose(f);
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_manifest_load_buffer("t", text, size, &m, &d), -EBADMSG);
        assert_int_equal(d.n, ECL_MANIFEST_MAX_ERRORS + 1);
        assert_string_equal(d.items[0].what, "unknown key 'unknown0'");
        assert_string_equal(d.items[ECL_MANIFEST_MAX_ERRORS].what, "too many errors, stopping here");
        ecl_diags_clear(&d);
        free(text);
}

static void test_channel_keys_refused_everywhere(void **state) {
        (void) state;
        static const char *const keys[] = {"graphics", "vnc", "spice", "channel", "channels", "vsock", "hostdev",
                                           "filesystem", "filesystems", "usb", "redirdev", "tpm", "rng",
                                           "memballoon", "qemu:commandline", "qemu-commandline", "serial",
                                           "parallel", "shmem", "Graphics", "QEMU_COMMANDLINE", "interfaces"};
        static const char *const where[] = {"%s: x\n", "  %s: x\n", "network:\n  addresses: [192.0.2.2]\n  %s: x\n",
                                            ("network:\n  addresses: [192.0.2.2]\n  egress:\n    - to: 192.0.2.1\n"
                                             "      proto: udp\n      why: w\n      %s: x\n")};
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                for (size_t j = 0; j < ELEMENTSOF(where); j++) {
                        _cleanup_free_ char *tail = tl_strf(where[j], keys[i]);
                        _cleanup_free_ char *out = load_bad_with(tail);
                        _cleanup_free_ char *expect = tl_strf("error: unknown key '%s'", keys[i]);
                        assert_non_null(strstr(out, expect));
                        /* The reason given is this key's own reason, not just any. */
                        const char *reason = mctx_forbidden_reason(keys[i]);
                        assert_non_null(reason);
                        assert_non_null(strstr(out, reason));
                        assert_null(strchr(out, '\n')); /* exactly one line */
                }
        _cleanup_free_ char *g = load_bad_with("graphics:\n  type: vnc\n");
        assert_string_equal(g, "t.yaml:7:1: error: unknown key 'graphics' (ecluse has no remote console: a graphics "
                               "device would open a channel to the VM)");
        static const char *const consoles[] = {"tcp", "udp", "telnet", "pty", "unix", "vnc", "spice"};
        for (size_t i = 0; i < ELEMENTSOF(consoles); i++) {
                _cleanup_free_ char *tail = tl_strf("console: %s\n", consoles[i]);
                _cleanup_free_ char *out = load_bad_with(tail);
                _cleanup_free_ char *expect =
                        tl_strf("t.yaml:7:10: error: invalid value '%s' for 'console' (ecluse has no remote console: "
                                "a %s console would open a channel to the VM; use log or none)",
                                consoles[i], consoles[i]);
                assert_string_equal(out, expect);
        }
}

static void test_did_you_mean(void **state) {
        (void) state;
        static const char *const names[] = {"vcpus", "memory", "accel", "kernel", "initrd", "cmdline", "disks"};
        assert_string_equal(mctx_suggest("vcpu", names, ELEMENTSOF(names)), "vcpus");
        assert_string_equal(mctx_suggest("VCPUS", names, ELEMENTSOF(names)), "vcpus");
        assert_string_equal(mctx_suggest("memroy", names, ELEMENTSOF(names)), "memory"); /* transposition */
        assert_string_equal(mctx_suggest("acel", names, ELEMENTSOF(names)), "accel");
        assert_string_equal(mctx_suggest("kernal", names, ELEMENTSOF(names)), "kernel");
        assert_string_equal(mctx_suggest("disk", names, ELEMENTSOF(names)), "disks");
        assert_null(mctx_suggest("graphics", names, ELEMENTSOF(names)));
        assert_null(mctx_suggest("x", names, ELEMENTSOF(names)));
        assert_null(mctx_suggest("", names, ELEMENTSOF(names)));
        static const char *const access[] = {"quorum", "max-duration"};
        assert_string_equal(mctx_suggest("max_duration", access, 2), "max-duration");
        assert_string_equal(mctx_suggest("maxduration", access, 2), "max-duration");
        assert_string_equal(mctx_suggest("qorum", access, 2), "quorum");
        static const char *const top[] = {"vm", "stack"};
        assert_string_equal(mctx_suggest("VM", top, 2), "vm");
        assert_null(mctx_suggest("xy", top, 2)); /* two edits on a two-letter key is no suggestion */
        /* A misspelt required key is one error, not also "missing". */
        _cleanup_free_ char *out = load_bad("ecluse: 1\nstack: s\nlicensor: l\nvm:\n  memroy: 1GiB\n"
                                            "  kernel: /var/lib/ecluse/stacks/s/current/k\n",
                                            -EBADMSG);
        assert_string_equal(out, "t.yaml:5:3: error: unknown key 'memroy' in 'vm' (did you mean 'memory'?)");
}

static void test_values_are_shown_safely(void **state) {
        (void) state;
        /* A control character in a key or a value never breaks the one-line format. */
        _cleanup_free_ char *a = load_bad_with("\"bad\\nkey\": 1\n");
        assert_string_equal(a, "t.yaml:7:1: error: unknown key 'bad\\x0akey' (valid keys here: ecluse, stack, "
                               "licensor, vm, network, console, updates, access)");
        _cleanup_free_ char *b = load_bad_with("console: \"lo\\tg\"\n");
        assert_string_equal(b, "t.yaml:7:10: error: invalid value 'lo\\x09g' for 'console' (one of: log, none)");
        _cleanup_free_ char *c = load_bad("ecluse: 1\nstack: s\nlicensor: \"a\\0b\"\n"
                                          "vm: {memory: 64MiB, kernel: /var/lib/ecluse/stacks/s/current/k}\n",
                                          -EBADMSG);
        assert_string_equal(c, "t.yaml:3:11: error: 'licensor' contains a NUL character");
        /* Long values are cut. */
        _cleanup_free_ char *longkey = malloc(5001);
        memset(longkey, 'k', 5000);
        longkey[5000] = '\0';
        _cleanup_free_ char *tail = tl_strf("console: %s\n", longkey);
        _cleanup_free_ char *d = load_bad_with(tail);
        assert_true(strlen(d) < 300);
        assert_non_null(strstr(d, "kkk...'"));
        _cleanup_free_ char *why = malloc(ECL_WHY_MAX + 2);
        memset(why, 'w', ECL_WHY_MAX + 1);
        why[ECL_WHY_MAX + 1] = '\0';
        _cleanup_free_ char *t2 = tl_strf("network:\n  egress:\n    - {to: 192.0.2.1, proto: tcp, why: %s}\n"
                                          "  addresses: [192.0.2.2]\n",
                                          why);
        _cleanup_free_ char *e = load_bad_with(t2);
        assert_string_equal(e, "t.yaml:9:40: error: 'network.egress[0].why' is too long (513 bytes, at most 512)");
}

static void test_limits_on_lists(void **state) {
        (void) state;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        fprintf(f, "%snetwork:\n  egress:\n", head);
        for (int i = 0; i <= ECL_RULES_MAX; i++)
                fprintf(f, "    - {to: 192.0.2.1, proto: tcp, ports: [%d], why: w}\n", i + 1);
        fputs("  addresses: [192.0.2.2]\n", f);
        fclose(f);
        _cleanup_free_ char *out = load_bad(text, -EBADMSG);
        assert_string_equal(out, "t.yaml:9:5: error: 'network.egress' has too many entries (257, at most 256)");
        free(text);
        /* At the limit it loads. */
        text = NULL;
        f = open_memstream(&text, &size);
        fprintf(f, "%snetwork:\n  ingress:\n", head);
        for (int i = 0; i < ECL_RULES_MAX; i++)
                fprintf(f, "    - {from: 192.0.2.1, proto: udp, ports: [%d], why: w}\n", i + 1);
        fputs("  addresses: [192.0.2.2]\n", f);
        fclose(f);
        struct ecl_diags d = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_manifest_load_buffer("t", text, size, &m, &d), 0);
        assert_int_equal(m->network.n_ingress, ECL_RULES_MAX);
        assert_int_equal(m->network.ingress[ECL_RULES_MAX - 1].ports[0].first, ECL_RULES_MAX);
        free(text);
        _cleanup_free_ char *ports = load_bad_with("network:\n  egress:\n    - to: 192.0.2.1\n      proto: tcp\n"
                                                   "      why: w\n      ports: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,"
                                                   "15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,"
                                                   "36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,"
                                                   "57,58,59,60,61,62,63,64,65]\n"
                                                   "  addresses: [192.0.2.2]\n");
        assert_string_equal(ports, "t.yaml:12:14: error: 'network.egress[0].ports' has too many entries (65, at most 64)");
}

static void test_cross_checks_do_not_cascade(void **state) {
        (void) state;
        /* A vm of the wrong type: one error, no "missing memory". */
        _cleanup_free_ char *a = load_bad("ecluse: 1\nstack: s\nlicensor: l\nvm: [1]\n", -EBADMSG);
        assert_string_equal(a, "t.yaml:4:5: error: 'vm' must be a mapping, got a list");
        /* Bad disks: no "needs a kernel or a disk" on top. */
        _cleanup_free_ char *b = load_bad("ecluse: 1\nstack: s\nlicensor: l\nvm:\n  memory: 64MiB\n  disks: /d\n",
                                          -EBADMSG);
        assert_string_equal(b, "t.yaml:6:10: error: 'vm.disks' must be a list, got a single value");
        /* A bad address: no protocol/family mismatch on top. */
        _cleanup_free_ char *c = load_bad_with("network:\n  egress:\n    - {to: 2001:db8::zz, proto: icmp, why: w}\n"
                                               "  addresses: [192.0.2.2]\n");
        assert_string_equal(c, "t.yaml:9:12: error: invalid address or network '2001:db8::zz' for "
                               "'network.egress[0].to' (an IPv4 or IPv6 address, or a network like 192.0.2.0/24 "
                               "or 2001:db8::/32)");
        /* An unsupported version: nothing else is said about a schema we do not know. */
        _cleanup_free_ char *d = load_bad("ecluse: 3\nfuture: stuff\n", -EBADMSG);
        assert_string_equal(d, "t.yaml:1:9: error: unsupported manifest version 3 (this ecluse reads version 1)");
}

static void test_paths_in_the_stack_tree(void **state) {
        (void) state;
        static const char good[] = "ecluse: 1\nlicensor: L\nvm:\n  memory: 64MiB\n"
                                   "  kernel: /var/lib/ecluse/stacks/late/current/vmlinuz\n"
                                   "  initrd: /var/lib/ecluse/stacks/late/current/boot/initrd\n"
                                   "  disks:\n    - {path: /var/lib/ecluse/stacks/late/data/d.raw, format: raw}\n"
                                   "stack: late\n";
        struct ecl_diags d = {0};
        _cleanup_manifest_ struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_manifest_load_buffer("t.yaml", good, strlen(good), &m, &d), 0);
        assert_int_equal(m->vm.kernel_pos.line, 5);
        assert_int_equal(m->vm.kernel_pos.col, 11);
        assert_int_equal(m->vm.initrd_pos.line, 6);
        assert_int_equal(m->vm.disks[0].path_pos.line, 8);
        assert_int_equal(m->vm.disks[0].path_pos.col, 14);

        static const char bad[] = "ecluse: 1\nlicensor: L\nvm:\n  memory: 64MiB\n"
                                  "  kernel: /var/lib/ecluse/audit.log\n"
                                  "  initrd: /var/lib/ecluse/stacks/other/current/initrd\n"
                                  "  disks:\n"
                                  "    - {path: /var/lib/ecluse/stacks/late/releases/1/d.raw, format: raw}\n"
                                  "    - {path: /var/lib/ecluse/stacks/late/data/d.raw, format: raw}\n"
                                  "    - {path: /var/lib/ecluse/stacks/late//data/e.raw, format: raw}\n"
                                  "    - {path: /var/lib/ecluse/stacks/late/data, format: raw}\n"
                                  "stack: late\n";
        _cleanup_free_ char *out = load_bad(bad, -EBADMSG);
        static const char hint[] = " (the VM opens files only in its stack's tree: /var/lib/ecluse/stacks/late/current/ "
                                   "for the release, /var/lib/ecluse/stacks/late/data/ for persistent disks)";
        _cleanup_free_ char *expect = tl_strf(
                "t.yaml:5:11: error: 'vm.kernel' must lie in the stack's own tree, got '/var/lib/ecluse/audit.log'%s\n"
                "t.yaml:6:11: error: 'vm.initrd' must lie in the stack's own tree, got "
                "'/var/lib/ecluse/stacks/other/current/initrd'%s\n"
                "t.yaml:8:14: error: 'vm.disks[0].path' must lie in the stack's own tree, got "
                "'/var/lib/ecluse/stacks/late/releases/1/d.raw'%s\n"
                "t.yaml:10:14: error: 'vm.disks[2].path' must not contain '//', got "
                "'/var/lib/ecluse/stacks/late//data/e.raw'\n"
                "t.yaml:11:14: error: 'vm.disks[3].path' must lie in the stack's own tree, got "
                "'/var/lib/ecluse/stacks/late/data'%s",
                hint, hint, hint, hint);
        assert_string_equal(out, expect);

        /* A stack name that is wrong is the one error: there is no tree to hold the paths against. */
        _cleanup_free_ char *nameless = load_bad("ecluse: 1\nlicensor: L\nvm:\n  memory: 64MiB\n  kernel: /srv/k\n"
                                                 "stack: No\n",
                                                 -EBADMSG);
        assert_string_equal(nameless, "t.yaml:6:8: error: invalid stack name 'No' (a lowercase letter, then up to 30 "
                                      "lowercase letters, digits or '-')");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_office_example),
                cmocka_unit_test(test_test_guest_example),
                cmocka_unit_test(test_minimal_example_defaults),
                cmocka_unit_test(test_edge_values),
                cmocka_unit_test(test_updates_health),
                cmocka_unit_test(test_updates_health_refused),
                cmocka_unit_test(test_buffer_without_name),
                cmocka_unit_test(test_diags_are_appended),
                cmocka_unit_test(test_file_errors),
                cmocka_unit_test(test_several_problems_all_reported_in_order),
                cmocka_unit_test(test_too_many_errors_stop),
                cmocka_unit_test(test_channel_keys_refused_everywhere),
                cmocka_unit_test(test_did_you_mean),
                cmocka_unit_test(test_values_are_shown_safely),
                cmocka_unit_test(test_limits_on_lists),
                cmocka_unit_test(test_cross_checks_do_not_cascade),
                cmocka_unit_test(test_paths_in_the_stack_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
