/* SPDX-License-Identifier: Apache-2.0 */
/* bundle.yaml: the model of a good one, every refusal with its position, versions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bundle-meta.h"
#include "manifest.h"
#include "testlib.h"

#define H1 "3b1f0000000000000000000000000000000000000000000000000000000000ff"
#define H2 "9ac4ffffffffffffffffffffffffffffffffffffffffffffffffffffffff0001"

#define INSTALL_HINT \
        "(a file name inside releases/VERSION/: ASCII letters, digits, '.', '_', '+' and '-', not starting with '.' or '-')"

static const char good[] = "ecluse-bundle: 1\n"
                           "stack: office                    # must name a stack configured on this host\n"
                           "licensor: Example Cloud Inc.\n"
                           "version: 2.4.1\n"
                           "released: 2026-11-30T10:00:00Z\n"
                           "expires: 2027-02-28T00:00:00Z\n"
                           "notes: |\n"
                           "  Security fixes for ...\n"
                           "  and a second line.\n"
                           "payload:\n"
                           "  - path: payload/vmlinuz\n"
                           "    size: 8247232\n"
                           "    sha256: " H1 "\n"
                           "    install: vmlinuz\n"
                           "  - path: payload/disk.qcow2\n"
                           "    size: 1073741824\n"
                           "    sha256: " H2 "\n"
                           "    install: disk.qcow2\n";

static struct agent_bundle_meta *parse_ok(const char *text) {
        struct ecl_diags d = {0};
        struct agent_bundle_meta *m = NULL;
        int r = agent_bundle_meta_parse(NULL, text, strlen(text), &m, &d);
        if (r < 0)
                ecl_diags_print(&d, stderr);
        assert_int_equal(r, 0);
        assert_int_equal(d.n, 0);
        assert_non_null(m);
        return m;
}

/* Every diagnostic, one a line, for text that must be refused with -EBADMSG. */
static char *parse_bad(const char *text) {
        struct ecl_diags d = {0};
        struct agent_bundle_meta *m = NULL;
        assert_int_equal(agent_bundle_meta_parse("b.yaml", text, strlen(text), &m, &d), -EBADMSG);
        assert_null(m);
        assert_true(d.n > 0);
        return tl_diags_text(&d);
}

static void test_good_bundle(void **state) {
        (void) state;
        _cleanup_(agent_bundle_meta_freep) struct agent_bundle_meta *m = parse_ok(good);
        assert_string_equal(m->file, "bundle.yaml");
        assert_int_equal(m->format, 1);
        assert_string_equal(m->stack, "office");
        assert_string_equal(m->licensor, "Example Cloud Inc.");
        assert_string_equal(m->version_text, "2.4.1");
        assert_int_equal(m->version.n, 3);
        assert_int_equal(m->version.part[0], 2);
        assert_int_equal(m->version.part[1], 4);
        assert_int_equal(m->version.part[2], 1);
        assert_int_equal(m->released, 1796032800);
        assert_int_equal(m->expires, 1803772800);
        assert_string_equal(m->notes, "Security fixes for ...\nand a second line.\n");
        assert_int_equal(m->n_payload, 2);
        const struct agent_bundle_file *f = &m->payload[0];
        assert_string_equal(f->path, "payload/vmlinuz");
        assert_int_equal(f->size, 8247232);
        assert_string_equal(f->sha256_hex, H1);
        assert_int_equal(f->sha256[0], 0x3b);
        assert_int_equal(f->sha256[1], 0x1f);
        assert_int_equal(f->sha256[31], 0xff);
        assert_string_equal(f->install, "vmlinuz");
        assert_int_equal(f->pos.line, 11);
        assert_int_equal(f->pos.col, 5);
        f = &m->payload[1];
        assert_string_equal(f->path, "payload/disk.qcow2");
        assert_int_equal(f->size, 1073741824);
        assert_int_equal(f->sha256[0], 0x9a);
        assert_int_equal(f->sha256[31], 0x01);
        assert_string_equal(f->install, "disk.qcow2");
        assert_int_equal(f->pos.line, 15);
        assert_ptr_equal(agent_bundle_meta_find(m, "payload/disk.qcow2"), &m->payload[1]);
        assert_ptr_equal(agent_bundle_meta_find(m, "payload/vmlinuz"), &m->payload[0]);
        assert_null(agent_bundle_meta_find(m, "payload/initrd"));
        assert_null(agent_bundle_meta_find(m, "bundle.yaml"));
}

static void test_good_edges(void **state) {
        (void) state;
        /* No notes; quoted values; size 0 and the largest; a deep path; an epoch release; a one-part version. */
        _cleanup_(agent_bundle_meta_freep) struct agent_bundle_meta *m =
                parse_ok("ecluse-bundle: 1\nstack: a\nlicensor: \"Société Générale\"\nversion: \"10\"\n"
                         "released: 1970-01-01T01:00:00+01:00\nexpires: 9999-12-31T23:59:59Z\n"
                         "payload:\n"
                         "  - {path: payload/a/b/c.img, size: 0, sha256: " H1 ", install: c.img}\n"
                         "  - {path: payload/x, size: 18446744073709551615, sha256: " H2 ", install: \"x_y+1.0-z\"}\n");
        assert_null(m->notes);
        assert_string_equal(m->licensor, "Société Générale");
        assert_int_equal(m->version.n, 1);
        assert_int_equal(m->version.part[0], 10);
        assert_int_equal(m->released, 0);
        assert_int_equal(m->expires, 253402300799);
        assert_int_equal(m->payload[0].size, 0);
        assert_int_equal(m->payload[1].size, UINT64_MAX);
        assert_string_equal(m->payload[1].install, "x_y+1.0-z");
}

static char *good_with(unsigned line, const char *with) {
        return tl_replace_line(good, line, with);
}

static void test_refusals(void **state) {
        (void) state;
        static const struct {
                unsigned line;
                const char *with, *err;
        } cases[] = {
                {1, "ecluse-bundle: 2",
                 "b.yaml:1:16: error: unsupported bundle format 2 (this ecluse reads version 1)"},
                {1, "ecluse-bundle: \"1\"",
                 "b.yaml:1:16: error: 'ecluse-bundle' must be an integer, got the string '1' (write 1 without quotes)"},
                {1, "ecluse: 1",
                 "b.yaml:1:1: error: unknown key 'ecluse' (bundle.yaml starts with 'ecluse-bundle: 1'; 'ecluse: 1' "
                 "starts a manifest)"},
                {2, "stack: Office",
                 "b.yaml:2:8: error: invalid stack name 'Office' (a lowercase letter, then up to 30 lowercase "
                 "letters, digits or '-')"},
                {3, "licensor: \"a\\nb\"",
                 "b.yaml:3:11: error: 'licensor' contains a control character (line breaks, control and "
                 "bidirectional characters are not allowed)"},
                {3, "licensor: \"\"", "b.yaml:3:11: error: 'licensor' must not be empty"},
                {4, "version: 2.04.1",
                 "b.yaml:4:10: error: invalid version '2.04.1' for 'version' (a version part has no leading zero)"},
                {4, "version: 2..1",
                 "b.yaml:4:10: error: invalid version '2..1' for 'version' (a version is dotted numbers such as "
                 "2.4.1 (no empty part, no other character))"},
                {4, "version: 1.2.3.4.5.6.7.8.9",
                 "b.yaml:4:10: error: invalid version '1.2.3.4.5.6.7.8.9' for 'version' (a version has at most 8 "
                 "parts)"},
                {4, "version: 2.4.1-rc1",
                 "b.yaml:4:10: error: invalid version '2.4.1-rc1' for 'version' (a version is dotted numbers such "
                 "as 2.4.1 (no empty part, no other character))"},
                {4, "version: 4294967296",
                 "b.yaml:4:10: error: invalid version '4294967296' for 'version' (a version part is at most "
                 "4294967295)"},
                {4, "version: [2, 4]", "b.yaml:4:10: error: 'version' must be a single value, got a list"},
                {5, "released: 2026-11-31T10:00:00Z",
                 "b.yaml:5:11: error: invalid time '2026-11-31T10:00:00Z' for 'released' (an RFC 3339 date and "
                 "time, e.g. 2026-11-30T10:00:00Z)"},
                {5, "released: 2026-11-30T11:00:00+01:00\nreleased: x",
                 "b.yaml:6:1: error: duplicate key 'released' (first at line 5, column 1)"},
                {5, "released: 1969-12-31T23:59:59Z",
                 "b.yaml:5:11: error: invalid time '1969-12-31T23:59:59Z' for 'released' (an RFC 3339 date and "
                 "time, e.g. 2026-11-30T10:00:00Z)"},
                {6, "expires: 9999-12-31T23:59:59-00:01",
                 "b.yaml:6:10: error: invalid time '9999-12-31T23:59:59-00:01' for 'expires' (an RFC 3339 date and "
                 "time, e.g. 2026-11-30T10:00:00Z)"},
                {6, "expires: 2026-11-30T10:00:00Z",
                 "b.yaml:6:10: error: 'expires' must be after 'released' (a bundle is valid from 'released' until "
                 "'expires')"},
                {6, "expires: 2026-11-30T09:00:00Z",
                 "b.yaml:6:10: error: 'expires' must be after 'released' (a bundle is valid from 'released' until "
                 "'expires')"},
                {8, "  Fixes \u202eder",
                 "b.yaml:7:8: error: 'notes' contains a control character (line breaks are kept; control and "
                 "bidirectional characters are not allowed)"},
                {8, "  Fixes\tall",
                 "b.yaml:7:8: error: 'notes' contains a control character (line breaks are kept; control and "
                 "bidirectional characters are not allowed)"},
                {11, "  - path: vmlinuz",
                 "b.yaml:11:11: error: 'payload[0].path' must start with 'payload/', got 'vmlinuz' (a tar entry "
                 "under payload/, e.g. payload/vmlinuz)"},
                {11, "  - path: payload/../etc/passwd",
                 "b.yaml:11:11: error: 'payload[0].path' must not contain '.' or '..' components, got "
                 "'payload/../etc/passwd' (a tar entry under payload/, e.g. payload/vmlinuz)"},
                {11, "  - path: payload//vmlinuz",
                 "b.yaml:11:11: error: 'payload[0].path' must not contain an empty component ('//'), got "
                 "'payload//vmlinuz' (a tar entry under payload/, e.g. payload/vmlinuz)"},
                {11, "  - path: payload/dir/",
                 "b.yaml:11:11: error: 'payload[0].path' must name a file, not a directory, got 'payload/dir/' (a "
                 "tar entry under payload/, e.g. payload/vmlinuz)"},
                {11, "  - path: /payload/vmlinuz",
                 "b.yaml:11:11: error: 'payload[0].path' must start with 'payload/', got '/payload/vmlinuz' (a tar "
                 "entry under payload/, e.g. payload/vmlinuz)"},
                {11, "  - path: \"payload/a\\tb\"",
                 "b.yaml:11:11: error: 'payload[0].path' contains a control character (line breaks, control and "
                 "bidirectional characters are not allowed)"},
                {12, "    size: 08247232",
                 "b.yaml:12:11: error: 'payload[0].size' must be a size in bytes, got '08247232' (the file's size "
                 "in bytes, an unquoted decimal integer)"},
                {12, "    size: -1",
                 "b.yaml:12:11: error: 'payload[0].size' must be a size in bytes, got '-1' (the file's size in "
                 "bytes, an unquoted decimal integer)"},
                {12, "    size: +1",
                 "b.yaml:12:11: error: 'payload[0].size' must be a size in bytes, got '+1' (the file's size in "
                 "bytes, an unquoted decimal integer)"},
                {12, "    size: \"1\"",
                 "b.yaml:12:11: error: 'payload[0].size' must be a size in bytes, got '1' (the file's size in "
                 "bytes, an unquoted decimal integer)"},
                {12, "    size: 8MiB",
                 "b.yaml:12:11: error: 'payload[0].size' must be a size in bytes, got '8MiB' (the file's size in "
                 "bytes, an unquoted decimal integer)"},
                {12, "    size: 18446744073709551616",
                 "b.yaml:12:11: error: 'payload[0].size' is out of range, got 18446744073709551616"},
                {12, "    size:", "b.yaml:12:10: error: 'payload[0].size' must be an integer, got nothing"},
                {13, "    sha256: 3B1F0000000000000000000000000000000000000000000000000000000000FF",
                 "b.yaml:13:13: error: invalid sha256 '3B1F00000000000000000000000000000000000000000000000000000000...' "
                 "for 'payload[0].sha256' (exactly 64 lowercase hexadecimal digits)"},
                {13, "    sha256: 3b1f",
                 "b.yaml:13:13: error: invalid sha256 '3b1f' for 'payload[0].sha256' (exactly 64 lowercase "
                 "hexadecimal digits)"},
                {14, "    install: releases/vmlinuz",
                 "b.yaml:14:14: error: invalid file name 'releases/vmlinuz' for 'payload[0].install' "
                 INSTALL_HINT},
                {14, "    install: ..",
                 "b.yaml:14:14: error: invalid file name '..' for 'payload[0].install' " INSTALL_HINT},
                {14, "    install: .hidden",
                 "b.yaml:14:14: error: invalid file name '.hidden' for 'payload[0].install' " INSTALL_HINT},
                {14, "    install: vmlinuz\u200b",
                 "b.yaml:14:14: error: invalid file name 'vmlinuz\u200b' for 'payload[0].install' " INSTALL_HINT},
                {14, "    install: -rf",
                 "b.yaml:14:14: error: invalid file name '-rf' for 'payload[0].install' " INSTALL_HINT},
                {14, "    instal: vmlinuz",
                 "b.yaml:14:5: error: unknown key 'instal' in 'payload[0]' (did you mean 'install'?)"},
                {14, "    install: vmlinuz\n    mode: 0755",
                 "b.yaml:15:5: error: unknown key 'mode' in 'payload[0]' (valid keys here: path, size, sha256, "
                 "install)"},
                {14, "    size: 1",
                 "b.yaml:11:5: error: missing key 'install' in 'payload[0]' (the file name inside "
                 "releases/VERSION/)\n"
                 "b.yaml:14:5: error: duplicate key 'size' in 'payload[0]' (first at line 12, column 5)"},
                {15, "  - path: payload/vmlinuz",
                 "b.yaml:15:11: error: 'payload[1].path' repeats the payload path 'payload/vmlinuz' (first at line "
                 "11, column 11)"},
                {18, "    install: vmlinuz",
                 "b.yaml:18:14: error: 'payload[1].install' repeats the install name 'vmlinuz' (first at line 14, "
                 "column 14)"},
                {2, "stack: office\nstack: office",
                 "b.yaml:3:1: error: duplicate key 'stack' (first at line 2, column 1)"},
                {2, "graphics: vnc",
                 "b.yaml:1:1: error: missing key 'stack' (the stack the update is for, e.g. 'stack: office')\n"
                 "b.yaml:2:1: error: unknown key 'graphics' (valid keys here: ecluse-bundle, stack, licensor, "
                 "version, released, expires, notes, payload)"},
                {2, "stack: &a office",
                 "b.yaml:2:8: error: anchors and aliases are not allowed in bundle.yaml (write the value out in full)"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = good_with(cases[i].line, cases[i].with);
                _cleanup_free_ char *out = parse_bad(text);
                if (strcmp(out, cases[i].err) != 0)
                        fail_msg("case %zu:\n got: %s\nwant: %s", i, out, cases[i].err);
        }
}

static void test_every_problem_reported(void **state) {
        (void) state;
        _cleanup_free_ char *out = parse_bad("ecluse-bundle: 1\nstack: Bad\nversion: 01\nreleased: x\n"
                                             "expires: 2027-02-28T00:00:00Z\npayload: []\nextra: 1\n");
        assert_string_equal(out,
                            "b.yaml:1:1: error: missing key 'licensor' (the manifest's licensor)\n"
                            "b.yaml:2:8: error: invalid stack name 'Bad' (a lowercase letter, then up to 30 "
                            "lowercase letters, digits or '-')\n"
                            "b.yaml:3:10: error: invalid version '01' for 'version' (a version part has no leading "
                            "zero)\n"
                            "b.yaml:4:11: error: invalid time 'x' for 'released' (an RFC 3339 date and time, e.g. "
                            "2026-11-30T10:00:00Z)\n"
                            "b.yaml:6:10: error: 'payload' must not be empty\n"
                            "b.yaml:7:1: error: unknown key 'extra' (valid keys here: ecluse-bundle, stack, "
                            "licensor, version, released, expires, notes, payload)");
        _cleanup_free_ char *notes =
                parse_bad("ecluse-bundle: 1\nstack: s\nlicensor: L\nversion: 1\n"
                          "released: 2026-01-01T00:00:00Z\nexpires: 2027-01-01T00:00:00Z\n"
                          "notes: [a]\npayload:\n  - {path: payload/a, size: 1, sha256: " H1 ", install: a}\n");
        assert_string_equal(notes, "b.yaml:7:8: error: 'notes' must be text, got a list");
        _cleanup_free_ char *empty = parse_bad("# nothing\n");
        assert_string_equal(empty, "b.yaml:1:1: error: empty bundle.yaml (bundle.yaml starts with 'ecluse-bundle: 1')");
        _cleanup_free_ char *list = parse_bad("- a\n");
        assert_string_equal(list, "b.yaml:1:1: error: bundle.yaml must be a mapping of keys, got a list (bundle.yaml "
                                  "starts with 'ecluse-bundle: 1')");
}

static void test_limits(void **state) {
        (void) state;
        /* bundle.yaml over the cap is refused unread. */
        size_t big = AGENT_BUNDLE_META_MAX_SIZE + 1;
        char *buf = malloc(big);
        assert_non_null(buf);
        memset(buf, '#', big);
        struct ecl_diags d = {0};
        struct agent_bundle_meta *m = NULL;
        assert_int_equal(agent_bundle_meta_parse(NULL, buf, big, &m, &d), -EFBIG);
        assert_null(m);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.items[0].pos.line, 0);
        ecl_diags_clear(&d);
        free(buf);

        /* Notes up to the cap, one byte more refused. */
        for (size_t n = AGENT_BUNDLE_NOTES_MAX; n <= AGENT_BUNDLE_NOTES_MAX + 1; n++) {
                _cleanup_free_ char *notes = malloc(n + 1);
                memset(notes, 'n', n);
                notes[n] = 0;
                _cleanup_free_ char *line = tl_strf("notes: %s", notes);
                _cleanup_free_ char *text = good_with(7, line);
                /* good's lines 8 and 9 are the old block's text: drop them. */
                char *l8 = strstr(text, "  Security");
                memmove(l8, strstr(l8, "payload:"), strlen(strstr(l8, "payload:")) + 1);
                if (n == AGENT_BUNDLE_NOTES_MAX) {
                        _cleanup_(agent_bundle_meta_freep) struct agent_bundle_meta *ok = parse_ok(text);
                        assert_int_equal(strlen(ok->notes), n);
                } else {
                        _cleanup_free_ char *out = parse_bad(text);
                        assert_string_equal(out, "b.yaml:7:8: error: 'notes' is too long (65537 bytes, at most 65536)");
                }
        }

        /* A path of AGENT_BUNDLE_PATH_MAX bytes, and one more. */
        for (size_t n = AGENT_BUNDLE_PATH_MAX; n <= AGENT_BUNDLE_PATH_MAX + 1; n++) {
                char path[AGENT_BUNDLE_PATH_MAX + 2];
                memset(path, 'p', n);
                memcpy(path, "payload/", 8);
                path[n] = 0;
                _cleanup_free_ char *line = tl_strf("  - path: %s", path);
                _cleanup_free_ char *text = good_with(11, line);
                if (n == AGENT_BUNDLE_PATH_MAX) {
                        _cleanup_(agent_bundle_meta_freep) struct agent_bundle_meta *ok = parse_ok(text);
                        assert_int_equal(strlen(ok->payload[0].path), n);
                } else {
                        _cleanup_free_ char *out = parse_bad(text);
                        assert_string_equal(out, "b.yaml:11:11: error: 'payload[0].path' is too long (256 bytes, at "
                                                 "most 255)");
                }
        }

        /* AGENT_BUNDLE_PAYLOAD_MAX entries, and one more. */
        for (size_t n = AGENT_BUNDLE_PAYLOAD_MAX; n <= AGENT_BUNDLE_PAYLOAD_MAX + 1; n++) {
                char *text = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&text, &size);
                fputs("ecluse-bundle: 1\nstack: s\nlicensor: L\nversion: 1\nreleased: 2026-01-01T00:00:00Z\n"
                      "expires: 2027-01-01T00:00:00Z\npayload:\n",
                      f);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "  - {path: payload/f%zu, size: 1, sha256: " H1 ", install: f%zu}\n", i, i);
                fclose(f);
                if (n == AGENT_BUNDLE_PAYLOAD_MAX) {
                        _cleanup_(agent_bundle_meta_freep) struct agent_bundle_meta *ok = parse_ok(text);
                        assert_int_equal(ok->n_payload, n);
                        assert_string_equal(ok->payload[n - 1].install, "f63");
                } else {
                        _cleanup_free_ char *out = parse_bad(text);
                        assert_string_equal(out, "b.yaml:8:3: error: 'payload' has too many entries (65, at most 64)");
                }
                free(text);
        }
}

static void test_version_parse_and_compare(void **state) {
        (void) state;
        static const struct {
                const char *a, *b;
                int cmp;
        } cases[] = {
                {"2.10", "2.9", 1},
                {"2.9", "2.10", -1},
                {"1.0", "1", 0},
                {"1", "1.0.0.0", 0},
                {"1.0.1", "1", 1},
                {"2.4.1", "2.4.1", 0},
                {"0", "0.0", 0},
                {"10", "9.99", 1},
                {"4294967295", "4294967294.9", 1},
                {"1.2.3.4.5.6.7.8", "1.2.3.4.5.6.7.9", -1},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct agent_version a, b;
                assert_int_equal(agent_version_parse(cases[i].a, &a, NULL), 0);
                assert_int_equal(agent_version_parse(cases[i].b, &b, NULL), 0);
                int c = agent_version_compare(&a, &b);
                if ((c > 0) - (c < 0) != cases[i].cmp)
                        fail_msg("%s vs %s: %d", cases[i].a, cases[i].b, c);
                c = agent_version_compare(&b, &a);
                assert_int_equal((c > 0) - (c < 0), -cases[i].cmp);
        }
        struct agent_version v;
        assert_int_equal(agent_version_parse("2.4.1", &v, NULL), 0);
        assert_int_equal(v.n, 3);
        static const char *const bad[] = {
                "",    ".",   "1.", ".1", "1..2", "01", "1.00",  "1.2.3.4.5.6.7.8.9", "a",
                "1.a", "1,2", " 1", "1 ", "-1",   "+1", "1.2\n", "4294967296",        "99999999999999999999"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *why = NULL;
                if (agent_version_parse(bad[i], &v, &why) != -EINVAL)
                        fail_msg("accepted '%s'", bad[i]);
                assert_non_null(why);
        }
        /* AGENT_VERSION_TEXT_MAX: the text is bounded even when the parts are not too many. */
        char longv[AGENT_VERSION_TEXT_MAX + 2];
        memset(longv, '1', sizeof longv - 1);
        longv[sizeof longv - 1] = 0;
        assert_int_equal(agent_version_parse(longv, &v, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_bundle), cmocka_unit_test(test_good_edges),
                cmocka_unit_test(test_refusals),    cmocka_unit_test(test_every_problem_reported),
                cmocka_unit_test(test_limits),      cmocka_unit_test(test_version_parse_and_compare),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
