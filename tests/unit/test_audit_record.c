/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/evp.h>
#include <string.h>

#include "audit-record.h"
#include "testlib.h"

#define T0 "2026-11-23T18:56:05Z"

static char *format(struct ecl_audit_hasher *h, uint64_t seq, const char *prev, const char *actor, const char *event,
                    const char *subject, const json_t *details, int *ret, char hash[65]) {
        char *line = NULL;
        size_t len = 0;
        *ret = ecl_audit_format_line(h, seq, T0, prev, actor, event, subject, details, &line, &len, hash, NULL);
        if (*ret == 0) {
                assert_int_equal(strlen(line), len);
                assert_int_equal(line[len - 1], '\n');
        }
        return line;
}

/* sha256 hex, computed without the module. */
static void sha256_hex(const void *data, size_t len, char out[65]) {
        unsigned char md[32];
        unsigned n;
        assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
        for (unsigned i = 0; i < 32; i++)
                sprintf(out + 2 * i, "%02x", md[i]);
}

static void test_exact_format_and_hash_rule(void **state) {
        (void) state;
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        json_t *d = json_pack("{s:s,s:i}", "text", "a\"b\\c/\xc3\xa9", "n", 3);
        char hash[65];
        int r;
        _cleanup_free_ char *line = format(h, 1, ECL_AUDIT_GENESIS, "ali\"ce", "note", "office", d, &r, hash);
        json_decref(d);
        assert_int_equal(r, 0);
        const char *body = "{\"seq\":1,\"time\":\"" T0 "\",\"actor\":\"ali\\\"ce\",\"event\":\"note\","
                           "\"subject\":\"office\",\"details\":{\"text\":\"a\\\"b\\\\c/\xc3\xa9\",\"n\":3},"
                           "\"prev\":\"" ECL_AUDIT_GENESIS "\"";
        _cleanup_free_ char *unhashed = tl_strf("%s}", body);
        char expect[65];
        sha256_hex(unhashed, strlen(unhashed), expect);
        assert_string_equal(hash, expect);
        _cleanup_free_ char *full = tl_strf("%s,\"hash\":\"%s\"}\n", body, expect);
        assert_string_equal(line, full);
}

/* An auditor's recomputation: parse with another JSON library, drop "hash", compact, sha256. */
static void test_independent_recompute_jansson(void **state) {
        (void) state;
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        json_t *d = json_pack("{s:s,s:[i,b,n],s:{s:s}}", "why", "quorum \"2\" \\ reached \xe2\x82\xac", "list", -7, 1,
                              "o", "k", "v");
        char hash[65];
        int r;
        _cleanup_free_ char *line = format(h, 42, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                           "officer one", "bundle.approved", "office/1.2.3", d, &r, hash);
        json_decref(d);
        assert_int_equal(r, 0);
        json_error_t err;
        json_t *rec = json_loads(line, 0, &err);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "hash")), hash);
        assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 42);
        json_object_del(rec, "hash");
        char *compact = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_non_null(compact);
        char expect[65];
        sha256_hex(compact, strlen(compact), expect);
        assert_string_equal(hash, expect);
        free(compact);
        json_decref(rec);
}

/* The documented recipe: jq -cj 'del(.hash)' | sha256sum, including control characters. */
static void test_independent_recompute_jq(void **state) {
        (void) state;
        if (!tl_have_program("jq"))
                skip();
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        json_t *d = json_pack("{s:s,s:I}", "text", "tab\there\nnl \x01\x7f \xf0\x9f\x98\x80 </>", "max",
                              (json_int_t) 9007199254740991LL);
        char hash[65];
        int r;
        _cleanup_free_ char *line = format(h, 7, ECL_AUDIT_GENESIS, "bob", "note", "", d, &r, hash);
        json_decref(d);
        assert_int_equal(r, 0);
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *file = tl_strf("%s/line", dir);
        tl_write_file(file, line, strlen(line));
        struct tl_result res;
        tl_run((char *const[]){"jq", "-cj", "del(.hash)", file, NULL}, &res);
        assert_int_equal(res.status, 0);
        char expect[65];
        sha256_hex(res.out, strlen(res.out), expect);
        assert_string_equal(hash, expect);
        tl_result_free(&res);
        tl_rm_rf(dir);
}

static void test_parse_roundtrip(void **state) {
        (void) state;
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        char hash[65];
        int r;
        _cleanup_free_ char *line = format(h, 3, ECL_AUDIT_GENESIS, "\xc3\xa9ve \\ \"x\"", "access.granted", "s",
                                           NULL, &r, hash);
        assert_int_equal(r, 0);
        struct ecl_audit_record rec;
        const char *why;
        assert_int_equal(ecl_audit_record_parse(line, strlen(line) - 1, &rec, &why), 0);
        assert_int_equal(rec.seq, 3);
        assert_string_equal(rec.time, T0);
        assert_string_equal(rec.actor, "\xc3\xa9ve \\ \"x\"");
        assert_string_equal(rec.event, "access.granted");
        assert_string_equal(rec.subject, "s");
        assert_string_equal(rec.details, "{}");
        assert_string_equal(rec.prev, ECL_AUDIT_GENESIS);
        assert_string_equal(rec.hash, hash);
        ecl_audit_record_done(&rec);
        struct ecl_audit_line l;
        assert_int_equal(ecl_audit_line_scan(line, strlen(line) - 1, &l, &why), 0);
        char again[65];
        assert_int_equal(ecl_audit_hasher_line(h, line, l.hashed_len, again), 0);
        assert_string_equal(again, hash);
}

static void test_format_refuses_untrusted(void **state) {
        (void) state;
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        char hash[65];
        int r;
        char big[ECL_AUDIT_SUBJECT_MAX + 2];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        struct {
                const char *actor, *event, *subject;
                int err;
        } cases[] = {
                {"", "note", "", -EBADMSG},         {"a\nb", "note", "", -EBADMSG},  {"a\x7f", "note", "", -EBADMSG},
                {"\xc0\x80", "note", "", -EILSEQ}, {"a", "Note", "", -EBADMSG},     {"a", "", "", -EBADMSG},
                {"a", "no te", "", -EBADMSG},       {"a", "1note", "", -EBADMSG},    {"a", "note", "x\ty", -EBADMSG},
                {"a", "note", "\xff", -EILSEQ},    {"a", "note", big, -EBADMSG},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *line = format(h, 1, ECL_AUDIT_GENESIS, cases[i].actor, cases[i].event, cases[i].subject, NULL,
                                    &r, hash);
                assert_null(line);
                assert_int_equal(r, cases[i].err);
        }
        json_t *arr = json_array();
        assert_null(format(h, 1, ECL_AUDIT_GENESIS, "a", "note", "", arr, &r, hash));
        assert_int_equal(r, -EBADMSG);
        json_decref(arr);
        json_t *real = json_pack("{s:f}", "x", 0.5);
        assert_null(format(h, 1, ECL_AUDIT_GENESIS, "a", "note", "", real, &r, hash));
        assert_int_equal(r, -EDOM);
        json_decref(real);
        /* Details too long for a record. */
        _cleanup_free_ char *huge = malloc(ECL_AUDIT_DETAILS_MAX + 1);
        memset(huge, 'y', ECL_AUDIT_DETAILS_MAX);
        huge[ECL_AUDIT_DETAILS_MAX] = 0;
        json_t *d = json_pack("{s:s}", "text", huge);
        assert_null(format(h, 1, ECL_AUDIT_GENESIS, "a", "note", "", d, &r, hash));
        assert_int_equal(r, -E2BIG);
        json_decref(d);
        assert_null(format(h, 0, ECL_AUDIT_GENESIS, "a", "note", "", NULL, &r, hash));
        assert_int_equal(r, -ERANGE);
        /* The reason names the field, for the caller to print. */
        _cleanup_free_ char *why = NULL, *line = NULL;
        size_t len;
        assert_int_equal(
                ecl_audit_format_line(h, 1, T0, ECL_AUDIT_GENESIS, "a\nb", "note", "", NULL, &line, &len, hash, &why),
                -EBADMSG);
        assert_string_equal(why, "audit actor contains a control character");
}

static void test_scan_rejects_variants(void **state) {
        (void) state;
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        char hash[65];
        int r;
        _cleanup_free_ char *line = format(h, 12, ECL_AUDIT_GENESIS, "a", "note", "s", NULL, &r, hash);
        assert_int_equal(r, 0);
        line[strlen(line) - 1] = 0;
        const char *why;
        assert_int_equal(ecl_audit_line_scan(line, strlen(line), NULL, &why), 0);
        /* Each edit makes it non-canonical. */
        struct {
                const char *from, *to;
        } edits[] = {
                {"{\"seq\":12", "{\"seq\": 12"},
                {"{\"seq\":12", "{\"seq\":012"},
                {"{\"seq\":12", "{\"seq\":0"},
                {"{\"seq\":12", "{\"seq\":-12"},
                {"{\"seq\":12", "{\"seq\":12.0"},
                {"{\"seq\":12,", "{\"seq\":12,\"x\":1,"},
                {"\"time\":\"" T0, "\"time\":\"2026-02-30T18:56:05Z"},
                {"\"time\":\"" T0, "\"time\":\"2026-11-23T18:56:05+00:00"},
                {"\"actor\":\"a\"", "\"actor\":\"\""},
                {"\"actor\":\"a\"", "\"actor\":\"a\\n\""},
                {"\"actor\":\"a\"", "\"actor\":\"\\u0061\""},
                {"\"actor\":\"a\"", "\"actor\":1"},
                {"\"event\":\"note\"", "\"event\":\"Note\""},
                {"\"event\":\"note\"", "\"event\":\"n\\u006fte\""},
                {"\"subject\":\"s\"", "\"subject\":\"s\\t\""},
                {"\"details\":{}", "\"details\":[]"},
                {"\"details\":{}", "\"details\":{\"a\":1.5}"},
                {"\"details\":{}", "\"details\":{\"a\":1,\"a\":2}"},
                {"\"prev\":\"0", "\"prev\":\"A"},
                {"\"prev\":\"0", "\"prev\":\"00"},
                {"\"hash\":\"", "\"hash\":\"x"},
                {"\"}", "\"} "},
                {"\"}", "\",\"extra\":1}"},
                {"{\"seq\"", "{\"SEQ\""},
                {"\"actor\":\"a\",\"event\":\"note\"", "\"event\":\"note\",\"actor\":\"a\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                char *at = strstr(line, edits[i].from);
                assert_non_null(at);
                _cleanup_free_ char *v = tl_strf("%.*s%s%s", (int) (at - line), line, edits[i].to,
                                                 at + strlen(edits[i].from));
                if (ecl_audit_line_scan(v, strlen(v), NULL, &why) == 0)
                        fail_msg("accepted %s", v);
        }
        /* Every strict prefix is refused. */
        for (size_t n = 0; n < strlen(line); n++)
                assert_int_equal(ecl_audit_line_scan(line, n, NULL, &why), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exact_format_and_hash_rule),
                cmocka_unit_test(test_independent_recompute_jansson),
                cmocka_unit_test(test_independent_recompute_jq),
                cmocka_unit_test(test_parse_roundtrip),
                cmocka_unit_test(test_format_refuses_untrusted),
                cmocka_unit_test(test_scan_rejects_variants),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
