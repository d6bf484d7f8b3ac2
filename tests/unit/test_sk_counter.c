/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-counter.h"
#include "sshbuf.h"
#include "testlib.h"

#define FP1 "SHA256:VFovTXUIETmmSRBZGQHaTZigk/oom1Vxv6PrgNdqqyI"
#define FP2 "SHA256:qa8V3K+iifNRYBB8zosFtMEnVCyynlm6DAc4/ms+JNo"

static void test_advance_and_refuse(void **state) {
        (void) state;
        _cleanup_free_ char *tmp = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/counters", tmp);
        _cleanup_free_ char *why = NULL;
        uint32_t prev = 99, mark;
        bool found;
        assert_int_equal(ecl_sk_counter_get(dir, FP1, &mark, &found), 0);
        assert_false(found);
        /* First sight: any counter is accepted, the directory is created 0700. */
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 10, &prev, &why), 0);
        assert_int_equal(prev, 0);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        _cleanup_free_ char *file = tl_strf("%s/sha256-VFovTXUIETmmSRBZGQHaTZigk_oom1Vxv6PrgNdqqyI", dir);
        _cleanup_free_ char *content = tl_read_file(file, NULL);
        assert_non_null(content);
        assert_string_equal(content, "10\n");
        /* Replay and older counters are refused and leave the mark alone. */
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 10, &prev, &why), -EKEYREVOKED);
        assert_string_equal(why, "security key counter 10 is not above the last accepted 10 for key " FP1
                                 " (replayed signature or cloned token)");
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 3, NULL, &why), -EKEYREVOKED);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 0, NULL, &why), -EKEYREVOKED);
        assert_int_equal(ecl_sk_counter_get(dir, FP1, &mark, &found), 0);
        assert_true(found);
        assert_int_equal(mark, 10);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 11, &prev, &why), 0);
        assert_int_equal(prev, 10);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, UINT32_MAX, NULL, &why), 0);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, UINT32_MAX, NULL, &why), -EKEYREVOKED);
        /* Another key has its own mark. */
        assert_int_equal(ecl_sk_counter_advance(dir, FP2, 1, NULL, &why), 0);
        assert_int_equal(ecl_sk_counter_get(dir, FP2, &mark, &found), 0);
        assert_int_equal(mark, 1);
        /* No temporary files are left behind. */
        _cleanup_free_ char *tmpf = tl_strf("%s/.sha256-VFovTXUIETmmSRBZGQHaTZigk_oom1Vxv6PrgNdqqyI.tmp", dir);
        assert_int_equal(access(tmpf, F_OK), -1);
        tl_rm_rf(tmp);
}

static void test_counterless_tokens(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *why = NULL;
        /* A token that always reports 0 keeps working (WebAuthn rule)... */
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 0, NULL, &why), 0);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 0, NULL, &why), 0);
        /* ...until it reports a counter: then 0 is a replay. */
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 1, NULL, &why), 0);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 0, NULL, &why), -EKEYREVOKED);
        tl_rm_rf(dir);
}

static void test_bad_input(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *why = NULL;
        uint32_t mark;
        bool found;
        assert_int_equal(ecl_sk_counter_advance(dir, "MD5:aa:bb", 1, NULL, &why), -EINVAL);
        assert_int_equal(ecl_sk_counter_advance(dir, "SHA256:../../etc/passwd", 1, NULL, &why), -EINVAL);
        assert_int_equal(ecl_sk_counter_advance(dir, "SHA256:VFovTXUIETmmSRBZGQHaTZigk/oom1Vxv6PrgNdqqy.", 1, NULL, &why),
                         -EINVAL);
        assert_int_equal(ecl_sk_counter_get(dir, "SHA256:", &mark, &found), -EINVAL);
        /* A corrupt mark is an error, not a reset. */
        _cleanup_free_ char *file = tl_strf("%s/sha256-VFovTXUIETmmSRBZGQHaTZigk_oom1Vxv6PrgNdqqyI", dir);
        tl_write_file(file, "garbage\n", 8);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 5, NULL, &why), -EBADMSG);
        tl_write_file(file, "4294967296\n", 11);
        assert_int_equal(ecl_sk_counter_advance(dir, FP1, 5, NULL, &why), -EBADMSG);
        /* A symlinked mark is not followed. */
        assert_int_equal(unlink(file), 0);
        assert_int_equal(symlink("/etc/hostname", file), 0);
        assert_true(ecl_sk_counter_advance(dir, FP1, 5, NULL, &why) < 0);
        /* A symlinked store is refused. */
        _cleanup_free_ char *link = tl_strf("%s/link", dir);
        assert_int_equal(symlink(dir, link), 0);
        assert_true(ecl_sk_counter_advance(link, FP2, 5, NULL, &why) < 0);
        tl_rm_rf(dir);
}

static void test_concurrent_replay(void **state) {
        (void) state;
        /* Many processes present the same counter at once: exactly one wins. */
        _cleanup_free_ char *dir = tl_mkdtemp();
        enum { N = 16 };
        pid_t pids[N];
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0)
                        _exit(ecl_sk_counter_advance(dir, FP1, 42, NULL, NULL) == 0 ? 0 : 1);
        }
        int winners = 0;
        for (int i = 0; i < N; i++) {
                int st;
                assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
                assert_true(WIFEXITED(st));
                winners += WEXITSTATUS(st) == 0;
        }
        assert_int_equal(winners, 1);
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_advance_and_refuse),
                cmocka_unit_test(test_counterless_tokens),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_concurrent_replay),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
