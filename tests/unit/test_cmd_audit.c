/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-agent audit verify|show|note|checkpoint, run as a program. */
#include <string.h>
#include <sys/stat.h>

#include "audit-record.h"
#include "output.h"
#include "testlib.h"

static struct tl_result run(char *const *args) {
        char *argv[16] = {(char *) ECLUSE_AGENT_BIN};
        size_t n = 1;
        for (; args[n - 1]; n++)
                argv[n] = args[n - 1];
        argv[n] = NULL;
        struct tl_result res;
        tl_run(argv, &res);
        return res;
}

#define RUN(...) run((char *const[]){__VA_ARGS__, NULL})

static void test_note_show_verify(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *log = tl_strf("%s/var/lib/ecluse/audit.log", root);
        struct tl_result r = RUN("--root", root, "audit", "verify");
        assert_int_equal(r.status, 66);
        tl_result_free(&r);

        r = RUN("--root", root, "audit", "note", "--actor", "alice", "decided \"x\"\nby phone");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "seq 1"));
        tl_result_free(&r);
        r = RUN("audit", "note", "--root", root, "--actor=bob", "--subject", "office", "second");
        assert_int_equal(r.status, 0);
        tl_result_free(&r);
        /* An actor the record cannot hold is bad data (65, -EBADMSG), not a usage error. */
        r = RUN("--root", root, "audit", "note", "--actor", "a\tb", "refused");
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "audit actor contains a control character"));
        tl_result_free(&r);

        r = RUN("--root", root, "audit", "show");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "SEQ"));
        assert_non_null(strstr(r.out, "alice"));
        assert_non_null(strstr(r.out, "office"));
        tl_result_free(&r);

        r = RUN("--log", log, "--json", "audit", "show");
        assert_int_equal(r.status, 0);
        json_t *arr = json_loads(r.out, 0, NULL);
        assert_true(json_is_array(arr));
        assert_int_equal(json_array_size(arr), 2);
        json_t *first = json_array_get(arr, 0);
        assert_string_equal(json_string_value(json_object_get(first, "actor")), "alice");
        assert_string_equal(json_string_value(json_object_get(json_object_get(first, "details"), "text")),
                            "decided \"x\"\nby phone");
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "prev")),
                            json_string_value(json_object_get(first, "hash")));
        _cleanup_free_ char *head = strdup(json_string_value(json_object_get(json_array_get(arr, 1), "hash")));
        json_decref(arr);
        tl_result_free(&r);

        r = RUN("--root", root, "audit", "verify");
        assert_int_equal(r.status, 0);
        _cleanup_free_ char *want = tl_strf("ok: 2 records, head %s\n", head);
        assert_string_equal(r.out, want);
        tl_result_free(&r);

        /* Checkpoint, then verify against it, then cut the log below it. */
        r = RUN("--root", root, "audit", "checkpoint");
        assert_int_equal(r.status, 0);
        _cleanup_free_ char *cptext = tl_strf("ecluse-audit-checkpoint v1\nrecords 2\nhead %s\n", head);
        assert_string_equal(r.out, cptext);
        _cleanup_free_ char *cp = tl_strf("%s/cp", root);
        tl_write_file(cp, r.out, strlen(r.out));
        tl_result_free(&r);
        r = RUN("--root", root, "--json", "audit", "checkpoint");
        assert_int_equal(r.status, 0);
        _cleanup_free_ char *cpjson = tl_strf("{\"records\":2,\"head\":\"%s\"}\n", head);
        assert_string_equal(r.out, cpjson);
        tl_result_free(&r);
        r = RUN("--root", root, "audit", "verify", "--checkpoint", cp);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "checkpoint: record 2"));
        tl_result_free(&r);

        size_t len;
        _cleanup_free_ char *all = tl_read_file(log, &len);
        char *second = strchr(all, '\n') + 1;
        tl_write_file(log, all, (size_t) (second - all));
        r = RUN("--root", root, "audit", "verify");
        assert_int_equal(r.status, 0); /* the chain alone cannot tell */
        tl_result_free(&r);
        r = RUN("--root", root, "audit", "verify", "--checkpoint", cp);
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "removed from the end"));
        tl_result_free(&r);

        /* Tamper with record 1: named in the error, exit 65, also in JSON. */
        char *o = strstr(all, "alice");
        o[0] = 'A';
        tl_write_file(log, all, len);
        r = RUN("--root", root, "audit", "verify");
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "record 1 (line 1, offset 0)"));
        tl_result_free(&r);
        r = RUN("--root", root, "--json", "audit", "verify");
        assert_int_equal(r.status, 65);
        json_t *v = json_loads(r.out, 0, NULL);
        assert_non_null(v);
        assert_false(json_is_true(json_object_get(v, "ok")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "bad"), "record")), 1);
        json_decref(v);
        tl_result_free(&r);
        r = RUN("--root", root, "audit", "checkpoint");
        assert_int_equal(r.status, 65);
        assert_string_equal(r.out, "");
        assert_non_null(strstr(r.err, "record 1 (line 1, offset 0)"));
        assert_non_null(strstr(r.err, "no checkpoint"));
        assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1); /* one line */
        tl_result_free(&r);
        /* Appending checks only the last record (it never re-reads the log), so it
         * goes on; the damage further up stays visible. */
        r = RUN("--root", root, "audit", "note", "--actor", "x", "appended");
        assert_int_equal(r.status, 0);
        tl_result_free(&r);
        r = RUN("--root", root, "audit", "verify");
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "record 1 (line 1, offset 0)"));
        tl_result_free(&r);
        /* A broken last record stops appends. */
        free(all);
        all = tl_read_file(log, &len);
        assert_non_null(all);
        all[len - 3] = all[len - 3] == 'a' ? 'b' : 'a';
        tl_write_file(log, all, len);
        r = RUN("--root", root, "audit", "note", "--actor", "x", "refused");
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.err, "refusing to append"));
        assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1); /* one line */
        tl_result_free(&r);
        tl_rm_rf(root);
}

/* A torn tail the library repaired: the command says so, once, naming the log. */
static void test_note_reports_torn_tail(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *log = tl_strf("%s/audit.log", root);
        struct tl_result r = RUN("--log", log, "audit", "note", "--actor", "a", "first");
        assert_int_equal(r.status, 0);
        assert_string_equal(r.err, "");
        tl_result_free(&r);
        FILE *f = fopen(log, "a");
        assert_non_null(f);
        fputs("{\"seq\":2,\"ti", f);
        fclose(f);
        r = RUN("--log", log, "audit", "note", "--actor", "a", "second");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.err, "audit.log: removed a torn last line (12 bytes at offset "));
        assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1); /* one line */
        assert_non_null(strstr(r.out, "recorded: seq 3"));
        tl_result_free(&r);
        tl_rm_rf(root);
}

/* Every line of a table is at most 100 columns wide. */
static void assert_fits(const char *out) {
        _cleanup_free_ char *copy = strdup(out);
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                assert_true(ecl_output_text_width(line) <= ECL_OUTPUT_WIDTH);
}

/* show: the details column, 100 columns, pretty JSON, and a chain that does not verify (65, after the records). */
static void test_show(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *log = tl_strf("%s/var/lib/ecluse/audit.log", root);
        char long_text[400];
        memset(long_text, 'w', sizeof long_text - 1);
        long_text[sizeof long_text - 1] = '\0';
        struct tl_result r = RUN("--root", root, "audit", "note", "--actor", "alice", "--subject", "office",
                                 "by phone\x1b[2J");
        assert_int_equal(r.status, 0);
        tl_result_free(&r);
        r = RUN("--root", root, "audit", "note", "--actor", "bob", "--subject", long_text, long_text);
        assert_int_equal(r.status, 0);
        tl_result_free(&r);

        r = RUN("--root", root, "audit", "show");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "DETAILS"));
        assert_non_null(strstr(r.out, "{\"text\":\"by phone\\u001B[2J\"}")); /* the details, as JSON */
        assert_null(strchr(r.out, '\x1b'));
        assert_non_null(strstr(r.out, "\xe2\x80\xa6")); /* the long note is cut */
        assert_fits(r.out);
        tl_result_free(&r);

        r = RUN("--root", root, "--json=pretty", "audit", "show");
        assert_int_equal(r.status, 0);
        assert_memory_equal(r.out, "[\n  {\n    \"seq\": 1,\n", 20);
        json_auto_t *pretty = json_loads(r.out, 0, NULL);
        tl_result_free(&r);
        r = RUN("--root", root, "--json", "audit", "show");
        assert_int_equal(r.status, 0);
        assert_string_equal(strchr(r.out, '\n'), "\n"); /* compact: one line */
        json_auto_t *compact = json_loads(r.out, 0, NULL);
        assert_true(json_is_array(compact));
        assert_true(json_equal(pretty, compact));
        assert_int_equal(json_array_size(compact), 2);
        /* the members in the log's order: each row is its line */
        size_t len;
        _cleanup_free_ char *all = tl_read_file(log, &len);
        _cleanup_free_ char *row1 = json_dumps(json_array_get(compact, 0), JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_auto_t *line1 = json_loadb(all, (size_t) (strchr(all, '\n') - all), 0, NULL);
        _cleanup_free_ char *want1 = json_dumps(line1, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_string_equal(row1, want1);
        tl_result_free(&r);

        /* record 2 changed: shown, then one line says where the chain breaks, exit 65 */
        char *w = strstr(all, "\"actor\":\"bob\"");
        assert_non_null(w);
        w[9] = 'B';
        tl_write_file(log, all, len);
        r = RUN("--root", root, "audit", "show");
        assert_int_equal(r.status, 65);
        assert_non_null(strstr(r.out, "alice"));
        assert_non_null(strstr(r.out, "Bob"));
        _cleanup_free_ char *want = tl_strf("ecluse-agent: error: %s: the chain does not verify: record 2 (line 2, "
                                            "offset %zu): ",
                                            log, (size_t) (strchr(all, '\n') + 1 - all));
        assert_non_null(strstr(r.err, want));
        assert_null(strchr(strchr(r.err, '\n') + 1, '\n')); /* one line */
        tl_result_free(&r);
        r = RUN("--root", root, "--json", "audit", "show");
        assert_int_equal(r.status, 65);
        json_auto_t *shown = json_loads(r.out, 0, NULL);
        assert_int_equal(json_array_size(shown), 2);
        assert_non_null(strstr(r.err, "the chain does not verify: record 2"));
        tl_result_free(&r);
        tl_rm_rf(root);
}

static void test_usage_errors(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        char *const *cases[] = {
                (char *const[]){"audit", NULL},
                (char *const[]){"audit", "frobnicate", NULL},
                (char *const[]){"audit", "note", "text", NULL},
                (char *const[]){"audit", "note", "--actor", "a", NULL},
                (char *const[]){"audit", "note", "--actor", "a", "one", "two", NULL},
                (char *const[]){"audit", "verify", "extra", NULL},
                (char *const[]){"audit", "verify", "--bogus", NULL},
                (char *const[]){"audit", "show", "extra", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *argv[10] = {(char *) ECLUSE_AGENT_BIN, (char *) "--root", root};
                size_t n = 3;
                for (char *const *a = cases[i]; *a; a++)
                        argv[n++] = *a;
                argv[n] = NULL;
                struct tl_result r;
                tl_run(argv, &r);
                assert_int_equal(r.status, 64);
                tl_result_free(&r);
        }
        /* A directory where the log should be: no input, one message. */
        _cleanup_free_ char *dirlog = tl_strf("%s/dir.log", root);
        assert_int_equal(mkdir(dirlog, 0700), 0);
        struct tl_result d = RUN("--log", dirlog, "audit", "verify");
        assert_int_equal(d.status, 66);
        assert_non_null(strstr(d.err, "a directory, not a regular file"));
        assert_null(strstr(d.err, "record 0"));
        tl_result_free(&d);
        /* Untrusted note input. */
        struct tl_result r = RUN("--root", root, "audit", "note", "--actor", "a\nb", "t");
        assert_int_equal(r.status, 65);
        tl_result_free(&r);
        r = RUN("--root", root, "audit", "note", "--actor", "a", "bad \xff utf8");
        assert_int_equal(r.status, 65);
        tl_result_free(&r);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_note_show_verify),
                cmocka_unit_test(test_show),
                cmocka_unit_test(test_usage_errors),
                cmocka_unit_test(test_note_reports_torn_tail),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
