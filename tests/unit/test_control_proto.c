/* SPDX-License-Identifier: Apache-2.0 */
/* What both sides of the control socket share: its paths, its address, its answers. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control-proto.h"
#include "testlib.h"

static void test_paths(void **state) {
        (void) state;
        _cleanup_free_ char *p = NULL, *why = NULL;
        assert_int_equal(ecl_control_socket_path("/tmp/r", "office", &p, &why), 0);
        assert_string_equal(p, "/tmp/r/run/ecluse/office.sock");
        free(TAKE_PTR(p));
        assert_int_equal(ecl_control_socket_path("", "office", &p, &why), 0);
        assert_string_equal(p, "/run/ecluse/office.sock");
        free(TAKE_PTR(p));
        assert_int_equal(ecl_control_failed_path("/tmp/r/", "office", &p, &why), 0);
        assert_string_equal(p, "/tmp/r/run/ecluse/office.failed");
        free(TAKE_PTR(p));
        assert_null(why);
        const char *bad[] = {"../etc", "Office", "", "a/b", "office.sock"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(ecl_control_socket_path("/tmp/r", bad[i], &p, &why), -EINVAL);
                assert_null(p);
                _cleanup_free_ char *want = tl_strf("'%s' is not a stack name", bad[i]);
                assert_string_equal(why, want);
                assert_int_equal(ecl_control_failed_path("/tmp/r", bad[i], &p, NULL), -EINVAL);
                assert_null(p);
        }
        assert_int_equal(ecl_control_socket_path("/tmp/r", NULL, &p, NULL), -EINVAL);
}

/* ROOT/run/ecluse/STACK.sock is over sun_path's 107 bytes with a 64-byte root and a 31-character name. */
static void test_sockaddr(void **state) {
        (void) state;
        struct sockaddr_un sa;
        int dirfd = -2;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_control_sockaddr("/run/ecluse/office.sock", &sa, &dirfd, &why), 0);
        assert_int_equal(sa.sun_family, AF_UNIX);
        assert_string_equal(sa.sun_path, "/run/ecluse/office.sock");
        assert_int_equal(dirfd, -1);

        _cleanup_free_ char *root = tl_mkdtemp_len(64);
        _cleanup_free_ char *path = NULL;
        assert_int_equal(ecl_control_socket_path(root, "a-stack-name-of-31-characters-x", &path, NULL), 0);
        assert_true(strlen(path) >= sizeof sa.sun_path);
        /* the directory must exist to be reached through */
        assert_int_equal(ecl_control_sockaddr(path, &sa, &dirfd, &why), -ENOENT);
        assert_int_equal(dirfd, -1);
        assert_non_null(strstr(why, "cannot open "));
        _cleanup_free_ char *dir = tl_strf("%s/run/ecluse", root);
        tl_mkdir_p(dir);
        assert_int_equal(ecl_control_sockaddr(path, &sa, &dirfd, &why), 0);
        assert_true(dirfd >= 0);
        _cleanup_free_ char *want = tl_strf("/proc/self/fd/%d/a-stack-name-of-31-characters-x.sock", dirfd);
        assert_string_equal(sa.sun_path, want);
        /* it names the socket: bind through it */
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        close(dirfd);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));

        /* a last component too long even so */
        char name[200];
        memset(name, 'x', sizeof name - 1);
        name[sizeof name - 1] = 0;
        _cleanup_free_ char *toolong = tl_strf("%s/%s", dir, name);
        assert_int_equal(ecl_control_sockaddr(toolong, &sa, &dirfd, &why), -ENAMETOOLONG);
        assert_int_equal(dirfd, -1);
        assert_non_null(strstr(why, "socket path too long: "));
        /* no directory to go through */
        assert_int_equal(ecl_control_sockaddr(name, &sa, &dirfd, NULL), -ENAMETOOLONG);
        tl_rm_rf(root);
}

static void test_answers(void **state) {
        (void) state;
        json_auto_t *e = ecl_control_error_new(-EPERM, "permission denied");
        json_auto_t *want = json_pack("{s:s,s:i}", "error", "permission denied", "errno", EPERM);
        assert_true(json_equal(e, want));
        json_auto_t *e2 = ecl_control_error_new(EPERM, "permission denied");
        assert_true(json_equal(e2, want));
        json_auto_t *f = ecl_control_failed_new("office", "Device or resource busy");
        json_auto_t *want_f = json_pack("{s:s,s:s,s:s}", "stack", "office", "state", "teardown-failed", "error",
                                        "Device or resource busy");
        assert_true(json_equal(f, want_f));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_sockaddr),
                cmocka_unit_test(test_answers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
