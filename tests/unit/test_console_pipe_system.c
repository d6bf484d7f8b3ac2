/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (a FIFO of another user) */
/* The part of test_console_pipe.c that needs root: a FIFO at console.pipe that is not the shim's is refused. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console-pipe.h"
#include "testlib.h"

static void test_other_owner_refused(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *root = tl_mkdtemp(),
                            *fifo = tl_strf("%s/var/lib/ecluse/stacks/office/" SHIM_CONSOLE_PIPE, root);
        struct shim_console *c = NULL;
        assert_int_equal(shim_console_open(root, "office", 65536, &c, NULL), 0);
        shim_console_free(c);
        c = NULL;
        assert_int_equal(unlink(fifo), 0);
        assert_int_equal(mkfifo(fifo, 0666), 0);
        assert_int_equal(chown(fifo, tl_stranger_id(), tl_stranger_id()), 0);
        assert_int_equal(shim_console_open(root, "office", 65536, &c, NULL), -EPERM);
        assert_null(c);
        struct stat st;
        assert_int_equal(lstat(fifo, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_other_owner_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
