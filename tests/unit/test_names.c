/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "testlib.h"

static bool stack_name(const char *s);

static void test_tap_names_fit_and_are_stable(void **state) {
        (void) state;
        char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ], d[IFNAMSIZ];
        shim_tap_name("office", 0, a);
        assert_string_equal(a, "ecl-office");
        shim_tap_name("abcdefghijk", 0, b); /* 11 characters: still fits */
        assert_string_equal(b, "ecl-abcdefghijk");
        shim_tap_name("a-very-long-stack-name-of-31-ch", 0, c);
        assert_int_equal(strlen(c), 15);
        assert_string_equal(c, "ecl-a-very_ad45"); /* SHA-256 of the name begins ad45 */
        shim_tap_name("a-very-long-stack-name-of-31-ch", 0, d);
        assert_string_equal(c, d);
        /* Two long names with the same prefix differ by their hash. */
        shim_tap_name("a-very-long-stack-name-of-31-cx", 0, d);
        assert_string_not_equal(c, d);
        shim_tap_name("office", 1, a);
        assert_memory_equal(a, "ecl-offic_", 10);
        assert_int_equal(strlen(a), 15);
        shim_tap_name("abcdefghijk", 2, b);
        assert_int_equal(strlen(b), 15);
        shim_tap_name("abcdefghijk", 3, c);
        assert_string_not_equal(b, c);
}

/* A name for index > 0 is never the index-0 name of another stack (nor of its own). */
static void test_tap_index_names_collide_with_no_stack(void **state) {
        (void) state;
        char a[IFNAMSIZ], b[IFNAMSIZ];
        shim_tap_name("office", 1, a);
        shim_tap_name("office1", 0, b);
        assert_string_not_equal(a, b);
        shim_tap_name("abcdefghij", 1, a); /* 10 characters: once "ecl-abcdefghij1" */
        shim_tap_name("abcdefghij1", 0, b);
        assert_string_not_equal(a, b);
        for (unsigned i = 0; i < 500; i++) {
                char name[32];
                snprintf(name, sizeof name, "s%u", i);
                for (unsigned idx = 1; idx < 12; idx++) {
                        shim_tap_name(name, idx, a);
                        assert_true(strlen(a) < IFNAMSIZ);
                        /* what follows "ecl-" is no stack name, and has no '_' where a long index-0 form has it */
                        assert_false(stack_name(a + strlen(SHIM_TAP_PREFIX)));
                        assert_true(strlen(a) < 15 || a[14 - 4] != '_');
                }
        }
}

/* Is s a stack name (^[a-z][a-z0-9-]{0,30}$)? */
static bool stack_name(const char *s) {
        size_t n = strlen(s);
        if (n < 1 || n > 31 || s[0] < 'a' || s[0] > 'z')
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/*
 * The long form (hashed) and the short form (the stack's own name) never meet:
 * what follows "ecl-" in a long form is no stack name, so no stack has it as
 * its short form.
 */
static void test_tap_long_and_short_forms_disjoint(void **state) {
        (void) state;
        char lng[IFNAMSIZ], shrt[IFNAMSIZ];
        shim_tap_name("abcdef-and-more", 0, lng);
        assert_int_equal(strlen(lng), 15);
        assert_memory_equal(lng, "ecl-abcdef", 10);
        /* the stack literally named what the long form shows after "ecl-", with '-' where it has its separator */
        char literal[16];
        snprintf(literal, sizeof literal, "%s", lng + strlen(SHIM_TAP_PREFIX));
        literal[6] = '-';
        assert_true(stack_name(literal));
        shim_tap_name(literal, 0, shrt);
        assert_string_equal(shrt + strlen(SHIM_TAP_PREFIX), literal);
        assert_string_not_equal(lng, shrt);
        /* and by construction, for many names: a long form's tail is never a stack name */
        for (unsigned i = 0; i < 2000; i++) {
                char name[32];
                snprintf(name, sizeof name, "stack-with-a-long-name-%u", i);
                shim_tap_name(name, 0, lng);
                assert_int_equal(strlen(lng), 15);
                assert_memory_equal(lng, SHIM_TAP_PREFIX, strlen(SHIM_TAP_PREFIX));
                assert_false(stack_name(lng + strlen(SHIM_TAP_PREFIX)));
                snprintf(name, sizeof name, "s%u", i);
                shim_tap_name(name, 0, shrt);
                assert_true(stack_name(shrt + strlen(SHIM_TAP_PREFIX)));
        }
}

/* The derived MAC from its definition: SHA-256(stack)[0..5], the first octet made locally administered unicast. */
static void expected_mac(const char *stack, uint8_t mac[static 6]) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *) stack, strlen(stack), d);
        memcpy(mac, d, 6);
        mac[0] = (uint8_t) ((mac[0] & 0xfc) | 0x02);
}

static void test_mac_derived_or_given(void **state) {
        (void) state;
        struct ecl_manifest m = {.stack = (char *) "office"};
        uint8_t mac[6], again[6];
        shim_guest_mac(&m, mac);
        shim_guest_mac(&m, again);
        assert_memory_equal(mac, again, 6);
        /* SHA-256("office") = 5cc3f82838ba...: 0x5c has both low bits clear, so only the local bit is set. */
        assert_memory_equal(mac, "\x5e\xc3\xf8\x28\x38\xba", 6);
        /* a703788f8320...: the multicast bit cleared, the local bit kept. */
        m.stack = (char *) "minimal";
        shim_guest_mac(&m, mac);
        assert_memory_equal(mac, "\xa6\x03\x78\x8f\x83\x20", 6);
        /* 2d711642b726...: multicast bit cleared, local bit set. */
        m.stack = (char *) "x";
        shim_guest_mac(&m, mac);
        assert_memory_equal(mac, "\x2e\x71\x16\x42\xb7\x26", 6);
        /* 2a97516c354b...: already locally administered unicast, unchanged. */
        m.stack = (char *) "demo";
        shim_guest_mac(&m, mac);
        assert_memory_equal(mac, "\x2a\x97\x51\x6c\x35\x4b", 6);
        /* A network without a mac key gets the derived one too. */
        m.has_network = true;
        shim_guest_mac(&m, again);
        assert_memory_equal(mac, again, 6);
        m.network.has_mac = true;
        memcpy(m.network.mac, "\x52\x54\x00\x12\x34\x56", 6);
        shim_guest_mac(&m, mac);
        assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56", 6);
}

/* Many names: always the definition, always unicast and locally administered, never libvirt's 52:54:00. */
static void test_mac_derived_from_sha256(void **state) {
        (void) state;
        unsigned low_bits_seen = 0;
        for (unsigned i = 0; i < 1000; i++) {
                char name[32];
                snprintf(name, sizeof name, "stack-%u", i);
                struct ecl_manifest m = {.stack = name};
                uint8_t mac[6], want[6];
                shim_guest_mac(&m, mac);
                expected_mac(name, want);
                assert_memory_equal(mac, want, 6);
                assert_int_equal(mac[0] & 0x01, 0); /* unicast */
                assert_int_equal(mac[0] & 0x02, 0x02); /* locally administered */
                assert_memory_not_equal(mac, "\x52\x54\x00", 3);
                unsigned char d[SHA256_DIGEST_LENGTH];
                SHA256((const unsigned char *) name, strlen(name), d);
                assert_memory_equal(mac + 1, d + 1, 5); /* 40 bits of the digest, as they are */
                assert_int_equal(mac[0] & 0xfc, d[0] & 0xfc);
                low_bits_seen |= 1u << (d[0] & 0x03);
        }
        assert_int_equal(low_bits_seen, 0x0f); /* every case of the two low bits was met */
}

static void test_guest_linklocal(void **state) {
        (void) state;
        uint8_t addr[16];
        char text[INET6_ADDRSTRLEN];
        memset(addr, 0xaa, sizeof addr);
        shim_guest_linklocal((const uint8_t *) "\x52\x54\x00\x12\x34\x56", addr);
        assert_non_null(inet_ntop(AF_INET6, addr, text, sizeof text));
        assert_string_equal(text, "fe80::5054:ff:fe12:3456");
        /* The universal/local bit is inverted both ways: a locally administered MAC gives a clear bit. */
        shim_guest_linklocal((const uint8_t *) "\x5e\xc3\xf8\x28\x38\xba", addr);
        assert_non_null(inet_ntop(AF_INET6, addr, text, sizeof text));
        assert_string_equal(text, "fe80::5cc3:f8ff:fe28:38ba");
        shim_guest_linklocal((const uint8_t *) "\x00\x00\x00\x00\x00\x01", addr);
        assert_non_null(inet_ntop(AF_INET6, addr, text, sizeof text));
        assert_string_equal(text, "fe80::200:ff:fe00:1");
        shim_guest_linklocal((const uint8_t *) "\xfe\xff\xff\xff\xff\xff", addr);
        assert_memory_equal(addr, "\xfe\x80\0\0\0\0\0\0\xfc\xff\xff\xff\xfe\xff\xff\xff", 16);
        /* The stack's derived MAC and its link-local agree with the policy's view of the guest. */
        struct ecl_manifest m = {.stack = (char *) "office"};
        uint8_t mac[6];
        shim_guest_mac(&m, mac);
        shim_guest_linklocal(mac, addr);
        assert_memory_equal(addr, "\xfe\x80\0\0\0\0\0\0", 8);
        assert_int_equal(addr[8], mac[0] ^ 0x02);
        assert_memory_equal(addr + 9, mac + 1, 2);
        assert_memory_equal(addr + 11, "\xff\xfe", 2);
        assert_memory_equal(addr + 13, mac + 3, 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tap_names_fit_and_are_stable),
                cmocka_unit_test(test_tap_long_and_short_forms_disjoint),
                cmocka_unit_test(test_tap_index_names_collide_with_no_stack),
                cmocka_unit_test(test_mac_derived_or_given),
                cmocka_unit_test(test_mac_derived_from_sha256),
                cmocka_unit_test(test_guest_linklocal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
