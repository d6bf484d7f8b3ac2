/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "audit-checkpoint.h"
#include "testlib.h"

#define HEAD "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_format_parse(void **state) {
        (void) state;
        struct ecl_audit_checkpoint cp = {.records = 1234, .head = HEAD}, back;
        _cleanup_free_ char *text = NULL;
        assert_int_equal(ecl_audit_checkpoint_format(&cp, &text), 0);
        assert_string_equal(text, "ecluse-audit-checkpoint v1\nrecords 1234\nhead " HEAD "\n");
        assert_int_equal(ecl_audit_checkpoint_parse(text, strlen(text), &back), 0);
        assert_int_equal(back.records, 1234);
        assert_string_equal(back.head, HEAD);
        const char *zero = "ecluse-audit-checkpoint v1\nrecords 0\nhead " ECL_AUDIT_GENESIS "\n";
        assert_int_equal(ecl_audit_checkpoint_parse(zero, strlen(zero), &back), 0);
        assert_int_equal(back.records, 0);
}

static void test_parse_rejects(void **state) {
        (void) state;
        const char *bad[] = {
                "",
                "ecluse-audit-checkpoint v2\nrecords 1\nhead " HEAD "\n",
                "ecluse-audit-checkpoint v1\nrecords 1\nhead " HEAD,
                "ecluse-audit-checkpoint v1\nrecords 1\nhead " HEAD "\n\n",
                "ecluse-audit-checkpoint v1\nrecords 01\nhead " HEAD "\n",
                "ecluse-audit-checkpoint v1\nrecords -1\nhead " HEAD "\n",
                "ecluse-audit-checkpoint v1\nrecords \nhead " HEAD "\n",
                "ecluse-audit-checkpoint v1\nrecords 99999999999999999\nhead " HEAD "\n",
                "ecluse-audit-checkpoint v1\nrecords 1\nhead " HEAD "0\n",
                "ecluse-audit-checkpoint v1\nrecords 1\nhead 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
                "ecluse-audit-checkpoint v1\r\nrecords 1\nhead " HEAD "\n",
                "ecluse-audit-checkpoint v1\nhead " HEAD "\nrecords 1\n",
                "ecluse-audit-checkpoint v1\nrecords 0\nhead " HEAD "\n",
                " ecluse-audit-checkpoint v1\nrecords 1\nhead " HEAD "\n",
        };
        struct ecl_audit_checkpoint cp;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_audit_checkpoint_parse(bad[i], strlen(bad[i]), &cp) != -EBADMSG)
                        fail_msg("accepted %s", bad[i]);
}

static void test_load(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *file = tl_strf("%s/cp", dir), *link = tl_strf("%s/link", dir),
                            *big = tl_strf("%s/big", dir);
        const char *text = "ecluse-audit-checkpoint v1\nrecords 5\nhead " HEAD "\n";
        tl_write_file(file, text, strlen(text));
        struct ecl_audit_checkpoint cp;
        _cleanup_free_ char *got = NULL;
        size_t len = 0;
        assert_int_equal(ecl_audit_checkpoint_load(file, &cp, &got, &len, NULL), 0);
        assert_int_equal(cp.records, 5);
        assert_int_equal(len, strlen(text));
        assert_memory_equal(got, text, len);
        assert_int_equal(symlink(file, link), 0);
        assert_int_equal(ecl_audit_checkpoint_load(link, &cp, NULL, NULL, NULL), -ELOOP);
        char huge[ECL_AUDIT_CHECKPOINT_MAX + 1];
        memset(huge, '\n', sizeof huge);
        tl_write_file(big, huge, sizeof huge);
        assert_int_equal(ecl_audit_checkpoint_load(big, &cp, NULL, NULL, NULL), -EFBIG);
        assert_int_equal(ecl_audit_checkpoint_load(dir, &cp, NULL, NULL, NULL), -EISDIR); /* 66, as fileio */
        /* The reason names the file, for the command to print. */
        _cleanup_free_ char *why = NULL;
        tl_write_file(file, "nonsense\n", 9);
        assert_int_equal(ecl_audit_checkpoint_load(file, &cp, NULL, NULL, &why), -EBADMSG);
        assert_non_null(strstr(why, "/cp: not an audit checkpoint"));
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_parse),
                cmocka_unit_test(test_parse_rejects),
                cmocka_unit_test(test_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
