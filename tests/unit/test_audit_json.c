/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "audit-json.h"
#include "testlib.h"

static char *write_value(const json_t *v, int *ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        assert_non_null(f);
        *ret = ecl_audit_json_write_value(f, v);
        fclose(f);
        return buf;
}

static bool scans(const char *s) {
        const char *why = NULL;
        const char *end = s + strlen(s);
        const char *p = ecl_audit_json_scan_value(s, end, &why);
        return p == end;
}

static void test_write_canonical(void **state) {
        (void) state;
        json_t *v = json_pack("{s:s,s:i,s:I,s:b,s:n,s:[i,s],s:{}}", "k\"\\", "a\x01\x7f\b\t\n\f\r\x1f/\xc3\xa9", "n",
                              -5, "big", (json_int_t) 9007199254740991LL, "t", 1, "z", "arr", 0, "x", "o");
        assert_non_null(v);
        int r;
        _cleanup_free_ char *s = write_value(v, &r);
        assert_int_equal(r, 0);
        assert_string_equal(s, "{\"k\\\"\\\\\":\"a\\u0001\\u007f\\b\\t\\n\\f\\r\\u001f/\xc3\xa9\",\"n\":-5,"
                               "\"big\":9007199254740991,\"t\":true,\"z\":null,\"arr\":[0,\"x\"],\"o\":{}}");
        assert_true(scans(s));
        json_decref(v);
}

static void test_write_refuses(void **state) {
        (void) state;
        int r;
        json_t *v = json_pack("{s:f}", "x", 1.5);
        free(write_value(v, &r));
        assert_int_equal(r, -EDOM);
        json_decref(v);
        v = json_pack("{s:I}", "x", (json_int_t) 9007199254740992LL);
        free(write_value(v, &r));
        assert_int_equal(r, -EDOM);
        json_decref(v);
        v = json_pack("{s:I}", "x", (json_int_t) -9007199254740992LL);
        free(write_value(v, &r));
        assert_int_equal(r, -EDOM);
        json_decref(v);
        /* A string with an embedded NUL. */
        v = json_object();
        json_object_set_new(v, "x", json_stringn("a\0b", 3));
        free(write_value(v, &r));
        assert_int_equal(r, -EILSEQ);
        json_decref(v);
        /* Too deep. */
        v = json_array();
        json_t *inner = v;
        for (int i = 0; i < ECL_AUDIT_JSON_MAX_DEPTH; i++) {
                json_t *a = json_array();
                json_array_append_new(inner, a);
                inner = a;
        }
        free(write_value(v, &r));
        assert_int_equal(r, -E2BIG);
        json_decref(v);
        v = json_array();
        for (int i = 0; i <= ECL_AUDIT_JSON_MAX_MEMBERS; i++)
                json_array_append_new(v, json_integer(i));
        free(write_value(v, &r));
        assert_int_equal(r, -E2BIG);
        json_decref(v);
}

static void test_utf8(void **state) {
        (void) state;
        const char *good[] = {"", "abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
                              "\xed\x9f\xbf"};
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_int_equal(ecl_audit_json_check_utf8(good[i], strlen(good[i])), 0);
        const char *bad[] = {"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf0\x80\x80\x80",
                             "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xc3", "\xe2\x82", "\xff"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(ecl_audit_json_check_utf8(bad[i], strlen(bad[i])), -EILSEQ);
        assert_int_equal(ecl_audit_json_check_utf8("a\0b", 3), -EILSEQ);
}

static void test_scan_accepts(void **state) {
        (void) state;
        const char *ok[] = {"{}", "[]", "0", "-1", "9007199254740991", "-9007199254740991", "true", "false",
                            "null", "\"\"", "\"\\\"\\\\\\b\\f\\n\\r\\tx\"", "{\"a\":{\"a\":[1,{}]}}",
                            "\"\\u001f\\u007f\\u0001\"", "\"\xc3\xa9/\""};
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (!scans(ok[i]))
                        fail_msg("refused canonical %s", ok[i]);
}

static void test_scan_rejects(void **state) {
        (void) state;
        const char *bad[] = {
                "{ }", "{\"a\": 1}", "[1, 2]", " 1", "01", "-0", "1.0", "1e3", "1E3", "9007199254740992",
                "-9007199254740992", "12345678901234567", "\"\\/\"", "\"\\u0041\"", "\"\\u001F\"", "\"\\u000a\"",
                "\"\\u0000\"", "\"\\u0100\"", "\"\\x\"", "\"a\x01\"", "\"a\x7f\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"",
                "\"\xf4\x90\x80\x80\"", "\"abc", "{\"a\":1,\"a\":2}", "{\"a\":1,}", "[1,]", "tru", "nul", "{\"a\"}",
                "{1:2}", "[", "{", "\"\\", "+1", "-", "NaN"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (scans(bad[i]))
                        fail_msg("accepted non-canonical %s", bad[i]);
        }
        /* Depth and width limits. */
        char deep[2 * ECL_AUDIT_JSON_MAX_DEPTH + 3];
        size_t n = ECL_AUDIT_JSON_MAX_DEPTH;
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        deep[2 * n] = 0;
        assert_true(scans(deep));
        memset(deep, '[', n + 1);
        memset(deep + n + 1, ']', n + 1);
        deep[2 * n + 2] = 0;
        assert_false(scans(deep));
        _cleanup_free_ char *wide = malloc(2 * (ECL_AUDIT_JSON_MAX_MEMBERS + 1) + 2);
        char *p = wide;
        *p++ = '[';
        for (int i = 0; i <= ECL_AUDIT_JSON_MAX_MEMBERS; i++) {
                *p++ = '0';
                *p++ = ',';
        }
        p[-1] = ']';
        *p = 0;
        assert_false(scans(wide));
        p[-3] = ']'; /* one item fewer */
        p[-2] = 0;
        assert_true(scans(wide));
}

static void test_scan_string_decodes(void **state) {
        (void) state;
        const char *s = "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"tail";
        char out[64];
        struct ecl_audit_json_str info;
        const char *why;
        const char *p = ecl_audit_json_scan_string(s, s + strlen(s), out, &info, &why);
        assert_non_null(p);
        assert_string_equal(p, "tail");
        assert_true(info.has_control);
        assert_int_equal(info.decoded_len, 10);
        assert_memory_equal(out, "a\"b\\c\nd\x01\xc3\xa9", 10);
        s = "\"plain\"";
        p = ecl_audit_json_scan_string(s, s + strlen(s), NULL, &info, &why);
        assert_non_null(p);
        assert_false(info.has_control);
        /* The scanner never reads past end. */
        assert_null(ecl_audit_json_scan_string(s, s + 3, NULL, &info, &why));
        assert_null(ecl_audit_json_scan_value("\"\\u00", (const char *) "\"\\u00" + 5, &why));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_canonical), cmocka_unit_test(test_write_refuses),
                cmocka_unit_test(test_utf8),            cmocka_unit_test(test_scan_accepts),
                cmocka_unit_test(test_scan_rejects),    cmocka_unit_test(test_scan_string_decodes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
