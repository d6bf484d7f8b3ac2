/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sd-notify: one datagram with the state to $NOTIFY_SOCKET, a path or an
 * @abstract address; nothing without the variable; every other value
 * refused with -EINVAL and a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd-notify.h"
#include "testlib.h"

/* A datagram socket bound to address (a path, or '@' and an abstract name). */
static int listen_on(const char *address) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = strlen(address);
        assert_true(n < sizeof sa.sun_path);
        memcpy(sa.sun_path, address, n);
        socklen_t len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + (address[0] == '@' ? 0 : 1));
        if (address[0] == '@')
                sa.sun_path[0] = '\0';
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, len), 0);
        return fd;
}

/* The next datagram, which must be there now, as a string; its size in *ret_len. */
static char *receive(int fd, ssize_t *ret_len) {
        char *buf = calloc(1, 4097);
        assert_non_null(buf);
        *ret_len = recv(fd, buf, 4096, 0);
        assert_true(*ret_len >= 0);
        return buf;
}

static void assert_nothing_queued(int fd) {
        char c;
        assert_int_equal(recv(fd, &c, 1, 0), -1);
}

static void test_path(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *sock = tl_strf("%s/notify", dir);
        _cleanup_close_ int l = listen_on(sock);
        assert_int_equal(setenv(ECL_NOTIFY_SOCKET_ENV, sock, 1), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_sd_notify("READY=1\nSTATUS=stack web running", &why), 0);
        assert_null(why);
        ssize_t n;
        _cleanup_free_ char *got = receive(l, &n);
        assert_int_equal(n, strlen("READY=1\nSTATUS=stack web running"));
        assert_string_equal(got, "READY=1\nSTATUS=stack web running");
        assert_nothing_queued(l); /* one datagram, all of it */

        /* opened once, sent to twice (the supervisor connects before its namespace and filter) */
        _cleanup_close_ int fd = -1;
        assert_int_equal(ecl_notify_open(sock, &fd, &why), 0);
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_int_equal(ecl_notify_send(fd, "READY=1", &why), 0);
        assert_int_equal(ecl_notify_send(fd, "STOPPING=1", &why), 0);
        free(got);
        got = receive(l, &n);
        assert_string_equal(got, "READY=1");
        free(got);
        got = receive(l, &n);
        assert_string_equal(got, "STOPPING=1");
        assert_int_equal(ecl_notify_send(fd, "", &why), -EINVAL);
        assert_non_null(why);
        assert_nothing_queued(l);

        /* nobody listening there any more */
        free(why);
        why = NULL;
        assert_int_equal(unlink(sock), 0);
        assert_int_equal(ecl_sd_notify("READY=1", &why), -ENOENT);
        assert_non_null(strstr(why, sock));
        unsetenv(ECL_NOTIFY_SOCKET_ENV);
        tl_rm_rf(dir);
}

static void test_abstract(void **state) {
        (void) state;
        _cleanup_free_ char *name = tl_strf("@ecluse-test-notify-%d-%ld", (int) getpid(), random());
        _cleanup_close_ int l = listen_on(name);
        assert_int_equal(setenv(ECL_NOTIFY_SOCKET_ENV, name, 1), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_sd_notify("STOPPING=1", &why), 0);
        ssize_t n;
        _cleanup_free_ char *got = receive(l, &n);
        assert_int_equal(n, 10);
        assert_string_equal(got, "STOPPING=1");
        /* the name is the whole address: a longer one is another socket */
        _cleanup_free_ char *longer = tl_strf("%sx", name);
        assert_int_equal(setenv(ECL_NOTIFY_SOCKET_ENV, longer, 1), 0);
        assert_int_equal(ecl_sd_notify("READY=1", &why), -ECONNREFUSED);
        assert_nothing_queued(l);
        unsetenv(ECL_NOTIFY_SOCKET_ENV);
}

static void test_unset(void **state) {
        (void) state;
        unsetenv(ECL_NOTIFY_SOCKET_ENV);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_sd_notify("READY=1", &why), 0);
        assert_null(why);
        int fd = 7;
        assert_int_equal(ecl_notify_open(NULL, &fd, &why), 0);
        assert_int_equal(fd, -1);
        assert_int_equal(ecl_notify_send(-1, "READY=1", &why), 0);
        assert_null(why);
}

static void test_invalid(void **state) {
        (void) state;
        char too_long[200], abstract_too_long[200];
        memset(too_long, 'a', sizeof too_long - 1);
        too_long[0] = '/';
        too_long[sizeof(((struct sockaddr_un *) 0)->sun_path)] = '\0'; /* 108 bytes: no room for the NUL */
        memset(abstract_too_long, 'a', sizeof abstract_too_long - 1);
        abstract_too_long[0] = '@';
        abstract_too_long[sizeof(((struct sockaddr_un *) 0)->sun_path) + 1] = '\0'; /* a name of 108 */
        const char *bad[] = {"", "relative/notify", "notify", "@", "vsock:2:1234", too_long, abstract_too_long};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(setenv(ECL_NOTIFY_SOCKET_ENV, bad[i], 1), 0);
                _cleanup_free_ char *why = NULL;
                assert_int_equal(ecl_sd_notify("READY=1", &why), -EINVAL);
                assert_non_null(why);
                assert_non_null(strstr(why, ECL_NOTIFY_SOCKET_ENV));
                int fd = 7;
                free(why);
                why = NULL;
                assert_int_equal(ecl_notify_open(bad[i], &fd, &why), -EINVAL);
                assert_int_equal(fd, -1);
                assert_non_null(why);
        }
        unsetenv(ECL_NOTIFY_SOCKET_ENV);
}

/* The longest path and abstract name that fit are accepted. */
static void test_limits(void **state) {
        (void) state;
        const size_t max = sizeof(((struct sockaddr_un *) 0)->sun_path);
        _cleanup_free_ char *dir = tl_mkdtemp();
        size_t pad = max - 1 - strlen(dir) - 1;
        _cleanup_free_ char *sock = tl_strf("%s/%*s", dir, (int) pad, "");
        memset(sock + strlen(dir) + 1, 'n', pad);
        assert_int_equal(strlen(sock), max - 1);
        _cleanup_close_ int l = listen_on(sock);
        _cleanup_free_ char *why = NULL;
        _cleanup_close_ int fd = -1;
        assert_int_equal(ecl_notify_open(sock, &fd, &why), 0);
        assert_int_equal(ecl_notify_send(fd, "READY=1", &why), 0);
        ssize_t n;
        _cleanup_free_ char *got = receive(l, &n);
        assert_string_equal(got, "READY=1");
        tl_rm_rf(dir);
}

/* A receiver that reads nothing: once its queue is full, a send fails at once (-EAGAIN), it never blocks. */
static void test_full_queue_does_not_block(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp(), *sock = tl_strf("%s/notify", dir);
        _cleanup_close_ int l = listen_on(sock); /* bound, never read */
        assert_true(l >= 0);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_notify_open(sock, &fd, &why), 0);
        int r = 0;
        for (int i = 0; i < 100000 && r == 0; i++)
                r = ecl_notify_send(fd, "STATUS=filling the queue", &why);
        assert_int_equal(r, -EAGAIN);
        assert_non_null(strstr(why, "cannot notify the service manager"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path),
                cmocka_unit_test(test_abstract),
                cmocka_unit_test(test_unset),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_full_queue_does_not_block),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
