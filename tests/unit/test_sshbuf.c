/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "sshbuf.h"
#include "testlib.h"

static void test_integers_and_bounds(void **state) {
        (void) state;
        const uint8_t d[] = {0x7f, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 1, 0};
        struct ecl_sshbuf b = ecl_sshbuf_init(d, sizeof d);
        uint8_t u8;
        uint32_t u32;
        uint64_t u64;
        assert_int_equal(ecl_sshbuf_get_u8(&b, &u8), 0);
        assert_int_equal(u8, 0x7f);
        assert_int_equal(ecl_sshbuf_get_u32(&b, &u32), 0);
        assert_int_equal(u32, 0x01020304);
        assert_int_equal(ecl_sshbuf_get_u64(&b, &u64), 0);
        assert_int_equal(u64, 0x100);
        assert_int_equal(b.len, 0);
        assert_true(ecl_sshbuf_empty(&b));
        assert_int_equal(ecl_sshbuf_get_u8(&b, &u8), -EBADMSG);
        struct ecl_sshbuf s = ecl_sshbuf_init(d, 3);
        assert_int_equal(ecl_sshbuf_get_u32(&s, &u32), -EBADMSG);
        assert_int_equal(s.len, 3); /* unchanged on failure */
}

static void test_strings(void **state) {
        (void) state;
        const uint8_t d[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'x', 0, 0, 0, 0, 9, 'y'};
        struct ecl_sshbuf b = ecl_sshbuf_init(d, sizeof d);
        assert_int_equal(ecl_sshbuf_get_string_eq(&b, "abd"), 0);
        assert_int_equal(b.len, sizeof d); /* not consumed when different */
        assert_int_equal(ecl_sshbuf_get_string_eq(&b, "abc"), 1);
        _cleanup_free_ char *s = NULL;
        assert_int_equal(ecl_sshbuf_get_cstring(&b, &s), -EBADMSG); /* "x\0" has a NUL */
        assert_null(s);
        const uint8_t *p;
        size_t n;
        assert_int_equal(ecl_sshbuf_get_string(&b, &p, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(p, "x", 2);
        /* length 9 but 1 byte left */
        assert_int_equal(ecl_sshbuf_get_string(&b, &p, &n), -EBADMSG);
        assert_int_equal(b.len, 5);
        /* huge length does not wrap */
        const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 1};
        struct ecl_sshbuf h = ecl_sshbuf_init(big, sizeof big);
        assert_int_equal(ecl_sshbuf_get_string(&h, &p, &n), -EBADMSG);
        const uint8_t ok[] = {0, 0, 0, 2, 'h', 'i'};
        struct ecl_sshbuf c = ecl_sshbuf_init(ok, sizeof ok);
        assert_int_equal(ecl_sshbuf_get_cstring(&c, &s), 0);
        assert_string_equal(s, "hi");
        struct ecl_sshbuf sub, c2 = ecl_sshbuf_init(ok, sizeof ok);
        assert_int_equal(ecl_sshbuf_get_sub(&c2, &sub), 0);
        assert_int_equal(sub.len, 2);
        assert_true(ecl_sshbuf_empty(&c2));
}

static void test_mpint(void **state) {
        (void) state;
        const uint8_t pos[] = {0, 0, 0, 3, 0x00, 0x80, 0x01};
        const uint8_t neg[] = {0, 0, 0, 1, 0x80};
        const uint8_t zero[] = {0, 0, 0, 0};
        const uint8_t *p;
        size_t n;
        struct ecl_sshbuf b = ecl_sshbuf_init(pos, sizeof pos);
        assert_int_equal(ecl_sshbuf_get_mpint(&b, &p, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(p[0], 0x80);
        b = ecl_sshbuf_init(neg, sizeof neg);
        assert_int_equal(ecl_sshbuf_get_mpint(&b, &p, &n), -EBADMSG);
        b = ecl_sshbuf_init(zero, sizeof zero);
        assert_int_equal(ecl_sshbuf_get_mpint(&b, &p, &n), 0);
        assert_int_equal(n, 0);
        /* Longer than 16384 bits plus a sign byte. */
        size_t big = ECL_SSHBUF_MAX_MPINT + 1;
        _cleanup_free_ uint8_t *d = calloc(1, 4 + big);
        d[2] = (uint8_t) (big >> 8), d[3] = (uint8_t) big;
        d[4 + 1] = 1;
        b = ecl_sshbuf_init(d, 4 + big);
        assert_int_equal(ecl_sshbuf_get_mpint(&b, &p, &n), -EBADMSG);

        /* The writer pads a high bit and strips leading zeros. */
        struct ecl_sshbuf_w w = {0};
        const uint8_t v[] = {0x00, 0x00, 0x80, 0x01};
        ecl_sshbuf_w_put_mpint(&w, v, sizeof v);
        ecl_sshbuf_w_put_mpint(&w, v, 2);
        assert_int_equal(ecl_sshbuf_w_error(&w), 0);
        const uint8_t want[] = {0, 0, 0, 3, 0, 0x80, 0x01, 0, 0, 0, 0};
        assert_int_equal(w.len, sizeof want);
        assert_memory_equal(w.data, want, sizeof want);
        size_t len;
        _cleanup_free_ uint8_t *out = ecl_sshbuf_w_steal(&w, &len);
        assert_non_null(out);
        assert_int_equal(out[5], 0x80);
        assert_int_equal(len, sizeof want);
        assert_null(w.data);
}

static void test_writer_roundtrip(void **state) {
        (void) state;
        struct ecl_sshbuf_w w = {0};
        for (int i = 0; i < 1000; i++) {
                ecl_sshbuf_w_put_u8(&w, (uint8_t) i);
                ecl_sshbuf_w_put_u32(&w, (uint32_t) i * 65537u);
                ecl_sshbuf_w_put_cstring(&w, "namespace");
        }
        assert_int_equal(ecl_sshbuf_w_error(&w), 0);
        struct ecl_sshbuf b = ecl_sshbuf_init(w.data, w.len);
        for (int i = 0; i < 1000; i++) {
                uint8_t u8;
                uint32_t u32;
                assert_int_equal(ecl_sshbuf_get_u8(&b, &u8), 0);
                assert_int_equal(u8, (uint8_t) i);
                assert_int_equal(ecl_sshbuf_get_u32(&b, &u32), 0);
                assert_int_equal(u32, (uint32_t) i * 65537u);
                assert_int_equal(ecl_sshbuf_get_string_eq(&b, "namespace"), 1);
        }
        assert_true(ecl_sshbuf_empty(&b));
        ecl_sshbuf_w_free(&w);
}

static void b64_ok(const char *in, const char *want) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t n;
        assert_int_equal(ecl_sshbuf_b64decode(in, strlen(in), &out, &n), 0);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(out, want, n);
}

static void b64_bad(const char *in) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t n;
        assert_int_equal(ecl_sshbuf_b64decode(in, strlen(in), &out, &n), -EBADMSG);
        assert_null(out);
}

static void test_base64(void **state) {
        (void) state;
        b64_ok("", "");
        b64_ok("aGVsbG8=", "hello");
        b64_ok("aGVs\nbG8h", "hell" "o!");
        b64_ok(" aG\tVs bG8= \n", "hello");
        b64_ok("aGk=", "hi");
        b64_ok("aA==", "h");
        b64_bad("aGVsbG8");    /* no padding */
        b64_bad("aGVsbG8==");  /* too much padding */
        b64_bad("aA=");        /* too little */
        b64_bad("aB==");       /* non-zero unused bits */
        b64_bad("aGk=aGk=");   /* data after padding */
        b64_bad("aGV*bG8=");   /* bad character */
        b64_bad("a===");
        b64_bad("=");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_integers_and_bounds),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_mpint),
                cmocka_unit_test(test_writer_roundtrip),
                cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
