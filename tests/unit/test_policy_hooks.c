/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify's reading of nftables 1.0.6's text listings for foreign hooks
 * (policy-hooks.h): exact names, names ending in '*', and flowtables, whose
 * devices are on a line of their own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy-hooks.h"

static const char *const devs[] = {"ecl-t", "ecu-t"};

static void test_device_names(void **state) {
        (void) state;
        const char *yes[] = {
                "type filter hook ingress device \"ecl-t\" priority filter; policy accept;",
                "type filter hook ingress devices = { lo, ecl-t } priority filter; policy accept;",
                "type filter hook ingress device \"ecl-*\" priority filter; policy accept;",
                "type filter hook ingress device \"e*\" priority filter; policy accept;",
                "type filter hook ingress device \"*\" priority filter; policy accept;",
                "type filter hook ingress devices = { lo, ec* } priority filter; policy accept;",
                "type filter hook ingress devices = { \"x*\", \"ecl-t*\" } priority filter; policy accept;",
                "\t\tdevices = { ecl-t };",
        };
        const char *no[] = {
                "type filter hook ingress device \"ecl-tx\" priority filter; policy accept;",
                "type filter hook ingress device \"ecl-\" priority filter; policy accept;",
                "type filter hook ingress device \"ecl-tx*\" priority filter; policy accept;",
                "type filter hook ingress devices = { lo, ecl-u*, ecl } priority filter; policy accept;",
                "type filter hook ingress devices = { } priority filter; policy accept;",
                "type filter hook ingress priority filter; policy accept;",
        };
        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
                assert_true(pol_hooks_device(yes[i], "ecl-t"));
        for (size_t i = 0; i < sizeof no / sizeof *no; i++)
                assert_false(pol_hooks_device(no[i], "ecl-t"));
}

static int foreign(const char *text, bool flowtables, char **problem) {
        char *copy = strdup(text);
        assert_non_null(copy);
        *problem = NULL;
        int r = pol_foreign_hooks(copy, flowtables, "ecluse-t", devs, problem);
        free(copy);
        return r;
}

static void test_chains(void **state) {
        (void) state;
        char *problem;
        /* As nft 1.0.6 lists them (netdev chains need no device to exist on 6.18). */
        const char *ours = "table netdev ecluse-t {\n\tchain guest_out {\n\t\ttype filter hook ingress device \"ecl-t\" "
                           "priority -500; policy drop;\n\t}\n}\n";
        assert_int_equal(foreign(ours, false, &problem), 0);
        const char *wild = "table netdev w {\n\tchain c2 {\n\t\ttype filter hook ingress devices = { ecl-*, ecu-* } "
                           "priority filter; policy accept;\n\t}\n}\n";
        assert_int_equal(foreign(wild, false, &problem), -ESRCH);
        assert_string_equal(problem, "table netdev w hooks ecl-t too");
        free(problem);
        const char *up = "table inet x {\n\tchain c {\n\t\ttype filter hook ingress device \"ecu*\" priority filter; "
                         "policy accept;\n\t}\n}\n";
        assert_int_equal(foreign(up, false, &problem), -ESRCH);
        assert_string_equal(problem, "table inet x hooks ecu-t too");
        free(problem);
}

static void test_flowtables(void **state) {
        (void) state;
        char *problem;
        /* nft 1.0.6's form of `list flowtables` (flowtable_print_declaration). */
        const char *ft = "table inet x {\n\tflowtable ft {\n\t\thook ingress priority filter;\n\t\tdevices = { lo, ecl-t };\n"
                         "\t}\n}\n";
        assert_int_equal(foreign(ft, true, &problem), -ESRCH);
        assert_string_equal(problem, "table inet x flowtable ft hooks ecl-t too");
        free(problem);
        const char *wild = "table ip y {\n\tflowtable f {\n\t\thook ingress priority filter;\n\t\tdevices = { \"ecu-*\" };\n"
                           "\t}\n}\n";
        assert_int_equal(foreign(wild, true, &problem), -ESRCH);
        assert_string_equal(problem, "table ip y flowtable f hooks ecu-t too");
        free(problem);
        /* Even in a table named as ours: the policy has no flowtable. */
        const char *in_ours = "table netdev ecluse-t {\n\tflowtable f {\n\t\thook ingress priority filter;\n"
                              "\t\tdevices = { ecl-t };\n\t}\n}\n";
        assert_int_equal(foreign(in_ours, true, &problem), -ESRCH);
        free(problem);
        const char *elsewhere = "table inet x {\n\tflowtable ft {\n\t\thook ingress priority filter;\n"
                                "\t\tdevices = { lo, eth0 };\n\t}\n}\ntable netdev w {\n}\n";
        assert_int_equal(foreign(elsewhere, true, &problem), 0);
        assert_int_equal(foreign("", true, &problem), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_device_names),
                cmocka_unit_test(test_chains),
                cmocka_unit_test(test_flowtables),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
