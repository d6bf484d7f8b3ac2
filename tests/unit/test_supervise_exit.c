/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor's pure decisions (supervise.h): which lifecycle details
 * and pause reasons mean the guest's memory leaves the stack, and why the
 * loop ended (its exit reason and text) from its flags.  No libvirt
 * connection: the struct is filled by hand.
 */
#include <libvirt/libvirt.h>
#include <string.h>

#include "supervise.h"
#include "testlib.h"

static void test_lifecycle_leaks(void **state) {
        (void) state;
        assert_non_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED));
        assert_non_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SAVED));
        assert_non_null(
                shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT));
        assert_non_null(
                shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED));
        assert_non_null(
                shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY));
        /* a power-off, a crash, a destroy, a plain pause: no leak */
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN));
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED));
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED));
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED));
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED));
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR));
        /* MIGRATED's value under another event means nothing */
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED));
        assert_null(shim_supervise_lifecycle_leak(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED));
}

static void test_paused_leaks(void **state) {
        (void) state;
        assert_non_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_MIGRATION));
        assert_non_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_POSTCOPY));
        assert_non_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_SAVE));
        assert_non_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_DUMP));
        assert_non_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_SNAPSHOT));
        assert_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_USER));
        assert_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_STARTING_UP));
        assert_null(shim_supervise_paused_leak(VIR_DOMAIN_PAUSED_IOERROR));
}

static char *why(const struct shim_supervisor *sup) {
        char *w = NULL;
        assert_int_equal(shim_supervise_exit_why(sup, shim_supervise_exit_of(sup), &w), 0);
        assert_non_null(w);
        return w;
}

static void test_exit_reason(void **state) {
        (void) state;
        struct shim_supervisor sup = {.domain_gone = true};
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_STOPPED);
        char *w = why(&sup);
        assert_string_equal(w, "guest powered off");
        free(w);

        sup.crashed = true;
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_CRASHED);

        sup = (struct shim_supervisor){.quit = true};
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_STOP_REQUESTED);

        /* saved or migrated away: never "powered off", even with a stop requested meanwhile */
        char leak[] = "stopped: saved to a file";
        sup = (struct shim_supervisor){.domain_gone = true, .quit = true, .leaked = leak};
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_LEAKED);
        w = why(&sup);
        assert_string_equal(w, "memory left: stopped: saved to a file");
        free(w);

        /* destroyed by the supervisor (libvirt says STOPPED_DESTROYED): neither a power-off nor a stop */
        char problem[] = "cannot stop what QEMU of x sends out (a dump); destroyed it";
        sup = (struct shim_supervisor){.domain_gone = true, .destroyed = problem};
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_DESTROYED);
        w = why(&sup);
        assert_string_equal(w, "destroyed: cannot stop what QEMU of x sends out (a dump); destroyed it");
        free(w);
        sup.quit = true;
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_DESTROYED);
        sup.leaked = leak;
        assert_int_equal(shim_supervise_exit_of(&sup), SHIM_SUP_DOMAIN_LEAKED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lifecycle_leaks),
                cmocka_unit_test(test_paused_leaks),
                cmocka_unit_test(test_exit_reason),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
