/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket's client against fake shims: a socket bound in a
 * temporary root, served for one connection by a forked child that answers
 * what the test tells it to.  The real server: test_control.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control-client.h"
#include "control-proto.h"
#include "testlib.h"

enum fake {
        FAKE_ECHO,       /* answer {"request": what arrived, as one message} */
        FAKE_RAW,        /* read the request, answer the given bytes */
        FAKE_HANG_UP,    /* close at once, the request unread */
        FAKE_READ_CLOSE, /* read the request, close without answering */
};

/* Bind ROOT/run/ecluse/STACK.sock; listening when listen_too. */
static int bind_socket(const char *root, const char *stack, bool listen_too) {
        _cleanup_free_ char *dir = tl_strf("%s/run/ecluse", root), *path = NULL;
        tl_mkdir_p(dir);
        assert_int_equal(ecl_control_socket_path(root, stack, &path, NULL), 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        assert_true(strlen(path) < sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        if (listen_too)
                assert_int_equal(listen(fd, 4), 0);
        return fd;
}

/* A child serving one connection on the listening fd as fake says. */
static pid_t start_fake(int fd, enum fake fake, const void *raw, size_t raw_len) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid > 0)
                return pid;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                _exit(2);
        if (fake == FAKE_HANG_UP)
                _exit(0);
        char buf[ECL_CONTROL_MAX_REQUEST + 1];
        ssize_t k = recv(c, buf, sizeof buf - 1, 0);
        if (k < 0)
                _exit(3);
        buf[k] = 0;
        if (fake == FAKE_READ_CLOSE)
                _exit(0);
        if (fake == FAKE_ECHO) {
                json_auto_t *j = json_pack("{s:s%}", "request", buf, (size_t) k);
                char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
                if (!s || send(c, s, strlen(s), MSG_NOSIGNAL) < 0)
                        _exit(4);
                _exit(0);
        }
        if (send(c, raw, raw_len, MSG_NOSIGNAL) != (ssize_t) raw_len)
                _exit(5);
        _exit(0);
}

static void finish_fake(pid_t pid) {
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

struct call {
        int r;
        json_t *j;
        char *why;
};

/* One call of the client against a fake shim for "office" in root. */
static struct call call_fake(const char *root, const char *request, enum fake fake, const void *raw, size_t raw_len) {
        _cleanup_close_ int fd = bind_socket(root, "office", true);
        pid_t pid = start_fake(fd, fake, raw, raw_len);
        struct call c = {0};
        c.r = ecl_control_call(root, "office", request, &c.j, &c.why);
        finish_fake(pid);
        _cleanup_free_ char *path = tl_strf("%s/run/ecluse/office.sock", root);
        assert_int_equal(unlink(path), 0);
        return c;
}

static void call_done(struct call *c) {
        json_decref(c->j);
        free(c->why);
}

static void test_framing(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        /* the request word arrives as one message, as it was given */
        struct call c = call_fake(root, "status", FAKE_ECHO, NULL, 0);
        assert_int_equal(c.r, 0);
        assert_null(c.why);
        assert_true(json_is_object(c.j));
        assert_string_equal(json_string_value(json_object_get(c.j, "request")), "status");
        call_done(&c);
        c = call_fake(root, "stop\n", FAKE_ECHO, NULL, 0);
        assert_int_equal(c.r, 0);
        assert_string_equal(json_string_value(json_object_get(c.j, "request")), "stop\n");
        call_done(&c);

        /* an error answer: its errno and its message */
        const char *err = "{\"error\":\"permission denied\",\"errno\":1}";
        c = call_fake(root, "stop", FAKE_RAW, err, strlen(err));
        assert_int_equal(c.r, -EPERM);
        assert_null(c.j);
        assert_string_equal(c.why, "stack office: permission denied");
        call_done(&c);
        /* without a usable errno: -EIO */
        const char *errs[] = {"{\"error\":\"x\"}", "{\"error\":\"x\",\"errno\":0}", "{\"error\":\"x\",\"errno\":-5}",
                              "{\"error\":\"x\",\"errno\":99999}"};
        for (size_t i = 0; i < ELEMENTSOF(errs); i++) {
                c = call_fake(root, "status", FAKE_RAW, errs[i], strlen(errs[i]));
                assert_int_equal(c.r, -EIO);
                call_done(&c);
        }

        /* what is not one JSON object */
        const char *bad[] = {"[1]", "\"running\"", "{\"a\":1", "{\"a\":1,\"a\":2}", "{} {}"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                c = call_fake(root, "status", FAKE_RAW, bad[i], strlen(bad[i]));
                assert_int_equal(c.r, -EBADMSG);
                assert_null(c.j);
                assert_string_equal(c.why, "stack office: the answer is not a JSON object");
                call_done(&c);
        }
        tl_rm_rf(root);
}

/* An object of ECL_CONTROL_MAX_RESPONSE bytes: {"x":"aaa...a"} */
static char *object_of(size_t size) {
        char *s = malloc(size);
        assert_non_null(s);
        memset(s, 'a', size);
        memcpy(s, "{\"x\":\"", 6);
        memcpy(s + size - 2, "\"}", 2);
        return s;
}

static void test_reply_size(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *fits = object_of(ECL_CONTROL_MAX_RESPONSE);
        struct call c = call_fake(root, "status", FAKE_RAW, fits, ECL_CONTROL_MAX_RESPONSE);
        assert_int_equal(c.r, 0);
        assert_int_equal(strlen(json_string_value(json_object_get(c.j, "x"))), ECL_CONTROL_MAX_RESPONSE - 8);
        call_done(&c);

        _cleanup_free_ char *over = object_of(ECL_CONTROL_MAX_RESPONSE + 1);
        c = call_fake(root, "status", FAKE_RAW, over, ECL_CONTROL_MAX_RESPONSE + 1);
        assert_int_equal(c.r, -EBADMSG);
        assert_null(c.j);
        assert_non_null(strstr(c.why, "stack office: answer too large (65537 bytes"));
        call_done(&c);
        tl_rm_rf(root);
}

static void test_not_running(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        json_t *j = NULL;
        _cleanup_free_ char *why = NULL;
        /* no ROOT/run/ecluse at all */
        assert_int_equal(ecl_control_call(root, "office", "status", &j, &why), -ESRCH);
        assert_null(j);
        _cleanup_free_ char *want = tl_strf("stack office: shim not running (no control socket %s/run/ecluse/office.sock)", root);
        assert_string_equal(why, want);
        /* a socket nobody listens on: a killed shim's */
        _cleanup_close_ int fd = bind_socket(root, "office", false);
        assert_true(fd >= 0);
        assert_int_equal(ecl_control_call(root, "office", "status", &j, &why), -ESRCH);
        assert_non_null(strstr(why, "shim not running (stale control socket "));
        /* not a stack name: nothing is built from it */
        assert_int_equal(ecl_control_call(root, "../office", "status", &j, &why), -EINVAL);
        assert_string_equal(why, "'../office' is not a stack name");
        /* without a reason the same errors */
        assert_int_equal(ecl_control_call(root, "nosuch", "status", &j, NULL), -ESRCH);
        assert_null(j);
        tl_rm_rf(root);
}

static void test_peer_closes_early(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        enum fake fakes[] = {FAKE_HANG_UP, FAKE_READ_CLOSE};
        for (size_t i = 0; i < ELEMENTSOF(fakes); i++) {
                struct call c = call_fake(root, "status", fakes[i], NULL, 0);
                assert_int_equal(c.r, -ECONNRESET);
                assert_null(c.j);
                assert_string_equal(c.why, "stack office: the shim closed the connection without answering");
                call_done(&c);
        }
        tl_rm_rf(root);
}

static void test_list(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_control_list(root, &v, &why), 0); /* no /run/ecluse yet */
        assert_null(v[0]);
        strv_free(TAKE_PTR(v));

        _cleanup_close_ int zeta = bind_socket(root, "zeta", true);
        _cleanup_close_ int alpha = bind_socket(root, "alpha", false);
        assert_true(zeta >= 0 && alpha >= 0);
        const char *files[] = {"notes.txt", "Bad.sock", "alpha.failed", "gone.failed", ".sock", "x.sock.old"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = tl_strf("%s/run/ecluse/%s", root, files[i]);
                tl_write_file(p, "x", 1);
        }
        _cleanup_free_ char *d = tl_strf("%s/run/ecluse/dir.sock", root);
        tl_mkdir_p(d);
        assert_int_equal(ecl_control_list(root, &v, &why), 0);
        const char *want[] = {"alpha", "gone", "zeta"};
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                assert_non_null(v[i]);
                assert_string_equal(v[i], want[i]);
        }
        assert_null(v[ELEMENTSOF(want)]);
        strv_free(TAKE_PTR(v));

        /* a file in the place of the directory */
        tl_rm_rf(root);
        _cleanup_free_ char *run = tl_strf("%s/run", root), *dir = tl_strf("%s/run/ecluse", root);
        tl_mkdir_p(run);
        tl_write_file(dir, "x", 1);
        assert_int_equal(ecl_control_list(root, &v, &why), -ENOTDIR);
        assert_null(v);
        _cleanup_free_ char *want_why = tl_strf("cannot open %s: %s", dir, strerror(ENOTDIR));
        assert_string_equal(why, want_why);
        tl_rm_rf(root);
}

static void test_read_failed(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = tl_strf("%s/run/ecluse", root), *path = tl_strf("%s/office.failed", dir);
        _cleanup_free_ char *why = NULL;
        json_t *j = NULL;
        assert_int_equal(ecl_control_read_failed(root, "office", &j, &why), 0);
        assert_null(j);

        tl_mkdir_p(dir);
        json_auto_t *rec = ecl_control_failed_new("office", "Device or resource busy");
        _cleanup_free_ char *text = json_dumps(rec, JSON_COMPACT);
        tl_write_file(path, text, strlen(text));
        assert_int_equal(ecl_control_read_failed(root, "office", &j, &why), 1);
        assert_true(json_equal(j, rec));
        json_decref(TAKE_PTR(j));

        /* unreadable as a record, it still says the clean-up failed */
        tl_write_file(path, "not json", 8);
        assert_int_equal(ecl_control_read_failed(root, "office", &j, &why), 1);
        assert_string_equal(json_string_value(json_object_get(j, "state")), ECL_CONTROL_FAILED_STATE);
        assert_string_equal(json_string_value(json_object_get(j, "error")), "unreadable failure record");
        json_decref(TAKE_PTR(j));
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink("/etc/passwd", path), 0);
        assert_int_equal(ecl_control_read_failed(root, "office", &j, &why), 1);
        assert_string_equal(json_string_value(json_object_get(j, "error")), "unreadable failure record");
        json_decref(TAKE_PTR(j));

        assert_int_equal(ecl_control_read_failed(root, "Office", &j, &why), -EINVAL);
        assert_null(j);
        assert_string_equal(why, "'Office' is not a stack name");
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_framing),       cmocka_unit_test(test_reply_size),
                cmocka_unit_test(test_not_running),   cmocka_unit_test(test_peer_closes_early),
                cmocka_unit_test(test_list),          cmocka_unit_test(test_read_failed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
