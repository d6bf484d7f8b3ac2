/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manifest corpora: every file of tests/data/manifests/bad/ must give
 * exactly the lines of its .err file, through the library and through
 * `ecluse-shim validate`; every good manifest (and the examples) must pass.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "manifest.h"
#include "testlib.h"

#define BAD_DIR ECLUSE_SOURCE_DIR "/tests/data/manifests/bad"
#define GOOD_DIR ECLUSE_SOURCE_DIR "/tests/data/manifests/good"
#define EXAMPLES_DIR ECLUSE_SOURCE_DIR "/manifests"
#define MIN_BAD_MANIFESTS 40

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The *.yaml names in dir, sorted, NULL-terminated. */
static char **list_yaml(const char *dir, size_t *n) {
        DIR *d = opendir(dir);
        assert_non_null(d);
        char **v = NULL;
        size_t count = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
                        continue;
                v = reallocarray(v, count + 2, sizeof *v);
                assert_non_null(v);
                v[count++] = strdup(de->d_name);
        }
        closedir(d);
        assert_true(count > 0);
        qsort(v, count, sizeof *v, cmp_str);
        v[count] = NULL;
        *n = count;
        return v;
}

static char *expected_errors(const char *yaml_name) {
        _cleanup_free_ char *base = strndup(yaml_name, strlen(yaml_name) - 5);
        _cleanup_free_ char *path = tl_strf("%s/%s.err", BAD_DIR, base);
        char *text = tl_read_file(path, NULL);
        if (!text)
                fail_msg("%s has no .err file with its expected errors", yaml_name);
        return text;
}

/* Run in the corpus directory, so that messages name the file as the .err files do. */
static int enter_bad_dir(void **state) {
        char *cwd = getcwd(NULL, 0);
        assert_non_null(cwd);
        *state = cwd;
        return chdir(BAD_DIR);
}

static int leave_dir(void **state) {
        int r = chdir(*state);
        free(*state);
        return r;
}

static void test_bad_corpus_through_library(void **state) {
        (void) state;
        size_t n;
        _cleanup_strv_free_ char **names = list_yaml(".", &n);
        assert_true(n >= MIN_BAD_MANIFESTS);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *expect = expected_errors(names[i]);
                struct ecl_diags d = {0};
                struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(names[i], &m, &d);
                assert_null(m);
                if (ecl_exit_status(r) != EX_DATAERR)
                        fail_msg("%s: loaded with %d, expected bad data", names[i], r);
                char *got = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&got, &size);
                ecl_diags_print(&d, f);
                fclose(f);
                if (strcmp(got, expect) != 0)
                        fail_msg("%s:\n--- expected\n%s--- got\n%s", names[i], expect, got);
                free(got);
                ecl_diags_clear(&d);
        }
}

static void test_bad_corpus_through_validate(void **state) {
        (void) state;
        size_t n;
        _cleanup_strv_free_ char **names = list_yaml(".", &n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *expect = expected_errors(names[i]);
                char *argv[] = {ECLUSE_SHIM_BIN, "validate", names[i], NULL};
                struct tl_result res;
                tl_run(argv, &res);
                if (res.status != EX_DATAERR || strcmp(res.err, expect) != 0 || res.out[0])
                        fail_msg("%s: status %d\n--- expected\n%s--- got\n%s--- stdout\n%s", names[i], res.status,
                                 expect, res.err, res.out);
                tl_result_free(&res);
        }
}

/* All at once: every problem of every file, in the order given, one status. */
static void test_bad_corpus_in_one_run(void **state) {
        (void) state;
        size_t n;
        _cleanup_strv_free_ char **names = list_yaml(".", &n);
        char **argv = calloc(n + 3, sizeof *argv);
        assert_non_null(argv);
        argv[0] = ECLUSE_SHIM_BIN;
        argv[1] = "validate";
        char *expect = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&expect, &size);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *e = expected_errors(names[i]);
                fputs(e, f);
                argv[i + 2] = names[i];
        }
        fclose(f);
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, EX_DATAERR);
        assert_string_equal(res.err, expect);
        tl_result_free(&res);
        free(expect);
        free(argv);
}

/* Each .err line has the documented form, and the corpus has no stray .err files. */
static void test_bad_corpus_shape(void **state) {
        (void) state;
        size_t n;
        _cleanup_strv_free_ char **names = list_yaml(".", &n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *expect = expected_errors(names[i]);
                assert_true(strlen(expect) > 0);
                assert_int_equal(expect[strlen(expect) - 1], '\n');
                for (char *line = expect; *line;) {
                        char *nl = strchr(line, '\n');
                        *nl = '\0';
                        _cleanup_free_ char *prefix = tl_strf("%s:", names[i]);
                        unsigned l, c;
                        int used = 0;
                        assert_int_equal(strncmp(line, prefix, strlen(prefix)), 0);
                        assert_int_equal(sscanf(line + strlen(prefix), "%u:%u: error: %n", &l, &c, &used), 2);
                        assert_true(used > 0 && l > 0 && c > 0);
                        line = nl + 1;
                }
        }
        DIR *d = opendir(".");
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (len > 4 && strcmp(de->d_name + len - 4, ".err") == 0) {
                        _cleanup_free_ char *yaml = tl_strf("%.*s.yaml", (int) (len - 4), de->d_name);
                        if (access(yaml, F_OK) != 0)
                                fail_msg("%s has no manifest", de->d_name);
                }
        }
        closedir(d);
}

static void check_good_dir(const char *dir) {
        size_t n;
        _cleanup_strv_free_ char **names = list_yaml(dir, &n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = tl_strf("%s/%s", dir, names[i]);
                struct ecl_diags d = {0};
                _cleanup_manifest_ struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(path, &m, &d);
                if (r < 0) {
                        ecl_diags_print(&d, stderr);
                        fail_msg("%s: %d", path, r);
                }
                assert_int_equal(d.n, 0);
                char *argv[] = {ECLUSE_SHIM_BIN, "validate", path, NULL};
                struct tl_result res;
                tl_run(argv, &res);
                _cleanup_free_ char *ok = tl_strf("%s: ok (stack %s)\n", path, m->stack);
                assert_int_equal(res.status, 0);
                assert_string_equal(res.err, "");
                assert_string_equal(res.out, ok);
                tl_result_free(&res);
        }
}

static void test_good_corpus_and_examples(void **state) {
        (void) state;
        check_good_dir(GOOD_DIR);
        check_good_dir(EXAMPLES_DIR);
        size_t n;
        char **examples = list_yaml(EXAMPLES_DIR, &n);
        assert_true(n >= 3);
        strv_free(examples);
}

static void test_validate_exit_statuses(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        /* no operand: every configured stack, and here there is no directory of them */
        char *none[] = {ECLUSE_SHIM_BIN, "--root", root, "validate", NULL};
        char *missing[] = {ECLUSE_SHIM_BIN, "validate", "no-such.yaml", NULL};
        char *missing_and_bad[] = {ECLUSE_SHIM_BIN, "validate", "no-such.yaml", "vcpus-zero.yaml", NULL};
        char *good_and_missing[] = {ECLUSE_SHIM_BIN, "validate", GOOD_DIR "/durations.yaml", "no-such.yaml", NULL};
        struct tl_result res;
        tl_run(none, &res);
        assert_int_equal(res.status, EX_NOINPUT);
        tl_result_free(&res);
        tl_rm_rf(root);
        tl_run(missing, &res);
        assert_int_equal(res.status, EX_NOINPUT);
        assert_string_equal(res.err, "no-such.yaml: error: cannot open: No such file or directory\n");
        tl_result_free(&res);
        tl_run(missing_and_bad, &res);
        assert_int_equal(res.status, EX_DATAERR);
        assert_string_equal(res.err, "no-such.yaml: error: cannot open: No such file or directory\n"
                                     "vcpus-zero.yaml:5:10: error: 'vm.vcpus' must be between 1 and 64, got 0\n");
        tl_result_free(&res);
        tl_run(good_and_missing, &res);
        assert_int_equal(res.status, EX_NOINPUT);
        assert_string_equal(res.out, GOOD_DIR "/durations.yaml: ok (stack d)\n");
        tl_result_free(&res);
}

static void test_validate_json(void **state) {
        (void) state;
        char *argv[] = {ECLUSE_SHIM_BIN, "--json", "validate", "tag.yaml", GOOD_DIR "/durations.yaml", "no-such.yaml",
                        NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, EX_DATAERR);
        /* The lines on stderr stay as they are. */
        assert_string_equal(res.err, "tag.yaml:5:11: error: YAML tag '!!str' is not allowed in a manifest (write plain "
                                     "values; the schema gives each its type)\n"
                                     "tag.yaml:6:11: error: YAML tag '!local' is not allowed in a manifest (write "
                                     "plain values; the schema gives each its type)\n"
                                     "no-such.yaml: error: cannot open: No such file or directory\n");
        json_error_t err;
        json_t *all = json_loads(res.out, 0, &err);
        if (!all)
                fail_msg("not JSON (%s): %s", err.text, res.out);
        assert_true(json_is_array(all));
        assert_int_equal(json_array_size(all), 3);
        json_t *bad = json_array_get(all, 0), *good = json_array_get(all, 1), *missing = json_array_get(all, 2);
        assert_string_equal(json_string_value(json_object_get(bad, "file")), "tag.yaml");
        assert_true(json_is_false(json_object_get(bad, "ok")));
        json_t *errors = json_object_get(bad, "errors");
        assert_int_equal(json_array_size(errors), 2);
        json_t *e = json_array_get(errors, 1);
        assert_int_equal(json_integer_value(json_object_get(e, "line")), 6);
        assert_int_equal(json_integer_value(json_object_get(e, "col")), 11);
        assert_string_equal(json_string_value(json_object_get(e, "error")),
                            "YAML tag '!local' is not allowed in a manifest");
        assert_string_equal(json_string_value(json_object_get(e, "hint")),
                            "write plain values; the schema gives each its type");
        assert_true(json_is_true(json_object_get(good, "ok")));
        assert_string_equal(json_string_value(json_object_get(good, "stack")), "d");
        assert_int_equal(json_array_size(json_object_get(good, "errors")), 0);
        json_t *m = json_array_get(json_object_get(missing, "errors"), 0);
        assert_int_equal(json_integer_value(json_object_get(m, "line")), 0);
        assert_true(json_is_null(json_object_get(m, "hint")));
        json_decref(all);
        tl_result_free(&res);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bad_corpus_through_library, enter_bad_dir, leave_dir),
                cmocka_unit_test_setup_teardown(test_bad_corpus_through_validate, enter_bad_dir, leave_dir),
                cmocka_unit_test_setup_teardown(test_bad_corpus_in_one_run, enter_bad_dir, leave_dir),
                cmocka_unit_test_setup_teardown(test_bad_corpus_shape, enter_bad_dir, leave_dir),
                cmocka_unit_test(test_good_corpus_and_examples),
                cmocka_unit_test_setup_teardown(test_validate_exit_statuses, enter_bad_dir, leave_dir),
                cmocka_unit_test_setup_teardown(test_validate_json, enter_bad_dir, leave_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
