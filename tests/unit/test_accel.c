/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: the real KVM probe opens /dev/kvm */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "testlib.h"

/*
 * The real probe on this host: whatever KVM does, it answers kvm or tcg.  A
 * host without /dev/kvm would test only the fallback: it fails (system).
 */
static void test_real_probe_is_bounded(void **state) {
        (void) state;
        tl_require(access("/dev/kvm", F_OK) == 0, "/dev/kvm");
        unsetenv(SHIM_ACCEL_PROBE_DEV_ENV);
        enum ecl_accel got = ECL_ACCEL_AUTO;
        _cleanup_free_ char *reason = NULL;
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_AUTO, SHIM_ACCEL_PROBE_TIMEOUT_MS, &got, &reason), 0);
        assert_true(got == ECL_ACCEL_KVM || got == ECL_ACCEL_TCG);
        if (got == ECL_ACCEL_TCG) {
                /* a fallback always says why */
                assert_non_null(reason);
                assert_non_null(strstr(reason, "falling back to TCG"));
        } else {
                assert_null(reason);
        }
        print_message("this host: %s%s%s\n", ecl_accel_to_string(got), reason ? ": " : "", reason ? reason : "");

        /* The probe and the explicit kvm request agree with auto. */
        _cleanup_free_ char *why = NULL;
        int r = shim_accel_probe_kvm(SHIM_ACCEL_PROBE_TIMEOUT_MS, &why);
        enum ecl_accel k = ECL_ACCEL_AUTO;
        int rk = shim_accel_resolve(ECL_ACCEL_KVM, SHIM_ACCEL_PROBE_TIMEOUT_MS, &k, NULL);
        if (r == 0) {
                assert_null(why);
                assert_int_equal(rk, 0);
                assert_int_equal(k, ECL_ACCEL_KVM);
        } else {
                assert_true(r < 0);
                assert_non_null(why);
                assert_int_equal(rk, -ENODEV);
        }
}

static void test_missing_device(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *dev = tl_strf("%s/no-kvm-here", dir);
        assert_int_equal(setenv(SHIM_ACCEL_PROBE_DEV_ENV, dev, 1), 0);

        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_accel_probe_kvm(SHIM_ACCEL_PROBE_TIMEOUT_MS, &why), -ENOENT);
        assert_non_null(strstr(why, dev));

        enum ecl_accel got = ECL_ACCEL_AUTO;
        _cleanup_free_ char *reason = NULL;
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_AUTO, SHIM_ACCEL_PROBE_TIMEOUT_MS, &got, &reason), 0);
        assert_int_equal(got, ECL_ACCEL_TCG);
        assert_non_null(reason);
        assert_non_null(strstr(reason, "falling back to TCG"));

        got = ECL_ACCEL_AUTO;
        free(TAKE_PTR(reason));
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_KVM, SHIM_ACCEL_PROBE_TIMEOUT_MS, &got, &reason), -ENODEV);
        assert_int_equal(got, ECL_ACCEL_AUTO); /* untouched on failure */
        assert_non_null(strstr(reason, "accel: kvm asked for, but KVM is unusable ("));
        assert_non_null(strstr(reason, dev));

        /* tcg never probes */
        free(TAKE_PTR(reason));
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_TCG, SHIM_ACCEL_PROBE_TIMEOUT_MS, &got, &reason), 0);
        assert_int_equal(got, ECL_ACCEL_TCG);
        assert_null(reason);

        unsetenv(SHIM_ACCEL_PROBE_DEV_ENV);
        tl_rm_rf(dir);
}

/* Something that opens but is no KVM device: refused at the first ioctl. */
static void test_not_a_kvm_device(void **state) {
        (void) state;
        assert_int_equal(setenv(SHIM_ACCEL_PROBE_DEV_ENV, "/dev/null", 1), 0);
        _cleanup_free_ char *why = NULL;
        int r = shim_accel_probe_kvm(SHIM_ACCEL_PROBE_TIMEOUT_MS, &why);
        assert_true(r < 0);
        assert_non_null(strstr(why, "KVM_GET_API_VERSION"));
        enum ecl_accel got = ECL_ACCEL_AUTO;
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_AUTO, SHIM_ACCEL_PROBE_TIMEOUT_MS, &got, NULL), 0);
        assert_int_equal(got, ECL_ACCEL_TCG);
        unsetenv(SHIM_ACCEL_PROBE_DEV_ENV);
}

/* A probe that has not answered in time is killed and fails (0 ms: at once). */
static void test_timeout_kills_probe(void **state) {
        (void) state;
        unsetenv(SHIM_ACCEL_PROBE_DEV_ENV);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_accel_probe_kvm(0, &why), -ETIMEDOUT);
        assert_non_null(strstr(why, "did not finish within 0 ms"));
        enum ecl_accel got = ECL_ACCEL_AUTO;
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_KVM, 0, &got, NULL), -ENODEV);
        assert_int_equal(shim_accel_resolve(ECL_ACCEL_AUTO, 0, &got, NULL), 0);
        assert_int_equal(got, ECL_ACCEL_TCG);
        /* the killed probe children were reaped: no child is left */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_probe_is_bounded),
                cmocka_unit_test(test_missing_device),
                cmocka_unit_test(test_not_a_kvm_device),
                cmocka_unit_test(test_timeout_kills_probe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
