/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (a client of another uid) */
/*
 * The control socket over a temporary root: a real server in the test
 * process, real clients in forked children (ecl_control_call blocks).
 * The client alone, against fake servers: test_control_client.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control-client.h"
#include "control-proto.h"
#include "control.h"
#include "sandbox.h"
#include "testlib.h"

#define NOBODY 65534
#define TEST_GROUP 4242

struct handled {
        int calls;
        char last[32];
        uid_t uid;
};

static int handler(const char *request, const struct shim_control_peer *peer, json_t **ret, void *userdata) {
        struct handled *h = userdata;
        h->calls++;
        snprintf(h->last, sizeof h->last, "%s", request);
        h->uid = peer->uid;
        if (streq(request, "reload"))
                return -EOPNOTSUPP;
        *ret = json_pack("{s:s,s:s,s:s,s:i}", "stack", "office", "state", streq(request, "stop") ? "stopping" : "running",
                         "request", request, "uid", (int) peer->uid);
        return 0;
}

static char *make_root(void) {
        char *root = tl_mkdtemp();
        /* so that a client that dropped to nobody reaches the socket: the shim must refuse it itself */
        assert_int_equal(chmod(root, 0755), 0);
        return root;
}

struct client_result {
        int r;
        char state[32];
};

/* Fork a client (as uid/gid when uid != -1), return its pid and the read end of its report. */
static pid_t start_client_for(const char *root, const char *stack, const char *request, uid_t uid, gid_t gid,
                              int *ret_fd) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                struct client_result res = {.r = -EIO};
                if (uid != (uid_t) -1) {
                        gid_t groups[] = {gid};
                        if (setgroups(1, groups) < 0 || setgid(NOBODY) < 0 || setuid(uid) < 0)
                                _exit(2);
                }
                json_t *j = NULL;
                res.r = ecl_control_call(root, stack, request, &j, NULL);
                if (res.r == 0) {
                        const char *s = json_string_value(json_object_get(j, "state"));
                        snprintf(res.state, sizeof res.state, "%s", s ? s : "");
                        json_decref(j);
                }
                (void) !write(p[1], &res, sizeof res);
                _exit(0);
        }
        close(p[1]);
        *ret_fd = p[0];
        return pid;
}

static pid_t start_client(const char *root, const char *request, uid_t uid, gid_t gid, int *ret_fd) {
        return start_client_for(root, "office", request, uid, gid, ret_fd);
}

static struct client_result finish_client(pid_t pid, int fd) {
        struct client_result res = {.r = 1};
        ssize_t n = read(fd, &res, sizeof res);
        close(fd);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_int_equal(n, sizeof res);
        return res;
}

/* Serve (bounded, generously) until the client has its answer: it writes its report then. */
static void serve_until_reported(struct shim_control *c, struct handled *h, int report_fd) {
        for (int i = 0; i < 1000; i++) {
                struct pollfd p[] = {{.fd = shim_control_fd(c), .events = POLLIN}, {.fd = report_fd, .events = POLLIN}};
                assert_true(poll(p, 2, 60000) >= 1);
                if (p[0].revents)
                        assert_int_equal(shim_control_handle(c, handler, h, NULL), 0);
                if (p[1].revents)
                        return;
        }
        fail_msg("the client got no answer");
}

static struct client_result roundtrip(struct shim_control *c, struct handled *h, const char *root,
                                      const char *request, uid_t uid, gid_t gid) {
        int fd;
        pid_t pid = start_client(root, request, uid, gid, &fd);
        serve_until_reported(c, h, fd);
        return finish_client(pid, fd);
}

static void test_request_response(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_control_ struct shim_control *c = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);

        /* the socket is 0660 in a 0755 directory */
        _cleanup_free_ char *path = NULL, *dir = tl_strf("%s/run/ecluse", root);
        assert_int_equal(ecl_control_socket_path(root, "office", &path, NULL), 0);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0660);
        assert_int_equal(lstat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);

        /* nobody there: nothing to do, at once */
        struct handled h = {0};
        assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        assert_int_equal(h.calls, 0);

        struct client_result res = roundtrip(c, &h, root, "status", (uid_t) -1, 0);
        assert_int_equal(res.r, 0);
        assert_string_equal(res.state, "running");
        assert_int_equal(h.calls, 1);
        assert_string_equal(h.last, "status");
        assert_int_equal(h.uid, geteuid());

        res = roundtrip(c, &h, root, "stop\n", (uid_t) -1, 0);
        assert_int_equal(res.r, 0);
        assert_string_equal(res.state, "stopping");
        assert_string_equal(h.last, "stop");

        /* the supervisor's own failure reaches the client with its errno */
        res = roundtrip(c, &h, root, "reload", (uid_t) -1, 0);
        assert_int_equal(res.r, -EOPNOTSUPP);
        assert_int_equal(h.calls, 3);

        shim_control_free(TAKE_PTR(c));
        assert_int_equal(lstat(path, &st), -1); /* removed on the way out */
        tl_rm_rf(root);
}

/* ROOT/run/ecluse/STACK.sock is over sun_path's 107 bytes with a 64-byte root and a 31-character name. */
static void test_long_path(void **state) {
        (void) state;
        const char *stack = "a-stack-name-of-31-characters-x";
        _cleanup_free_ char *root = tl_mkdtemp_len(64);
        assert_int_equal(chmod(root, 0755), 0);
        _cleanup_free_ char *path = NULL;
        assert_int_equal(ecl_control_socket_path(root, stack, &path, NULL), 0);
        assert_true(strlen(path) > sizeof ((struct sockaddr_un *) NULL)->sun_path - 1);
        _cleanup_control_ struct shim_control *c = NULL;
        assert_int_equal(shim_control_listen(root, stack, SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        struct handled h = {0};
        int fd;
        pid_t pid = start_client_for(root, stack, "status", (uid_t) -1, 0, &fd);
        serve_until_reported(c, &h, fd);
        struct client_result res = finish_client(pid, fd);
        assert_int_equal(res.r, 0);
        assert_string_equal(res.state, "running");
        /* a second shim sees it live */
        struct shim_control *c2 = NULL;
        assert_int_equal(shim_control_listen(root, stack, SHIM_CONTROL_NO_GROUP, &c2, NULL), -EBUSY);
        shim_control_free(TAKE_PTR(c));
        assert_int_equal(lstat(path, &st), -1);
        tl_rm_rf(root);
}

static void test_bad_requests(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_control_ struct shim_control *c = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
        struct handled h = {0};
        struct client_result res = roundtrip(c, &h, root, "frobnicate", (uid_t) -1, 0);
        assert_int_equal(res.r, -EINVAL);
        res = roundtrip(c, &h, root, "sta tus", (uid_t) -1, 0);
        assert_int_equal(res.r, -EINVAL);
        res = roundtrip(c, &h, root, "status\nstop", (uid_t) -1, 0);
        assert_int_equal(res.r, -EINVAL);
        assert_int_equal(h.calls, 0);
        tl_rm_rf(root);
}

static int raw_connect(const char *root) {
        _cleanup_free_ char *path = NULL;
        assert_int_equal(ecl_control_socket_path(root, "office", &path, NULL), 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

static void test_oversized_request_refused(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_control_ struct shim_control *c = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
        _cleanup_close_ int fd = raw_connect(root);
        char big[ECL_CONTROL_MAX_REQUEST + 44];
        memset(big, 's', sizeof big);
        memcpy(big, "status", 6);
        assert_int_equal(send(fd, big, sizeof big, 0), sizeof big);
        struct handled h = {0};
        assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        assert_int_equal(h.calls, 0);
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        assert_true(n > 0);
        buf[n] = 0;
        json_auto_t *j = json_loads(buf, 0, NULL);
        assert_non_null(j);
        assert_non_null(json_object_get(j, "error"));
        assert_int_equal(json_integer_value(json_object_get(j, "errno")), EMSGSIZE);
        tl_rm_rf(root);
}

static uint64_t ms_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The server's answer to fd, when there is one (waiting up to ms): its length, 0 closed, -1 none. */
static ssize_t answer_of(int fd, int ms, char *buf, size_t size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) != 1)
                return -1;
        return recv(fd, buf, size, MSG_DONTWAIT);
}

/* A client that says nothing is dropped after the request timeout, and delays nobody meanwhile. */
static void test_silent_client_dropped(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_control_ struct shim_control *c = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
        _cleanup_close_ int fd = raw_connect(root);
        struct handled h = {0};
        uint64_t t0 = ms_now();
        assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        uint64_t took = ms_now() - t0;
        if (took > 100)
                fail_msg("handling a silent client took %llu ms", (unsigned long long) took);
        assert_int_equal(h.calls, 0);
        char buf[4096];
        assert_int_equal(answer_of(fd, 0, buf, sizeof buf), -1); /* pending: neither answered nor closed */

        /* meanwhile others are served at once */
        struct client_result res = roundtrip(c, &h, root, "status", (uid_t) -1, 0);
        assert_int_equal(res.r, 0);
        assert_int_equal(h.calls, 1);
        if (ms_now() - t0 >= SHIM_CONTROL_REQUEST_TIMEOUT_MS)
                fail_msg("a client behind a silent one waited %llu ms", (unsigned long long) (ms_now() - t0));

        /* the deadline wakes the loop: then the silent client is closed, unanswered */
        for (int i = 0; i < 100 && answer_of(fd, 0, buf, sizeof buf) < 0; i++) {
                struct pollfd p = {.fd = shim_control_fd(c), .events = POLLIN};
                assert_int_equal(poll(&p, 1, 3 * SHIM_CONTROL_REQUEST_TIMEOUT_MS), 1);
                assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        }
        assert_int_equal(answer_of(fd, 0, buf, sizeof buf), 0); /* closed, no answer */
        assert_true(ms_now() - t0 >= SHIM_CONTROL_REQUEST_TIMEOUT_MS);
        tl_rm_rf(root);
}

/* At most SHIM_CONTROL_MAX_PENDING clients pending; the next waits in the backlog, without a busy loop. */
static void test_pending_clients_capped(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_control_ struct shim_control *c = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
        struct handled h = {0};
        int silent[SHIM_CONTROL_MAX_PENDING];
        for (size_t i = 0; i < ELEMENTSOF(silent); i++)
                silent[i] = raw_connect(root);
        assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        _cleanup_close_ int late = raw_connect(root);
        assert_int_equal(send(late, "status", 6, 0), 6);
        assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        assert_int_equal(h.calls, 0); /* not accepted yet */
        char buf[4096];
        assert_int_equal(answer_of(late, 0, buf, sizeof buf), -1);
        struct pollfd p = {.fd = shim_control_fd(c), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 0), 0); /* nothing to do until a deadline */
        /* the silent ones time out; the late one is served then */
        for (int i = 0; i < 100 && h.calls == 0; i++) {
                assert_int_equal(poll(&p, 1, 3 * SHIM_CONTROL_REQUEST_TIMEOUT_MS), 1);
                assert_int_equal(shim_control_handle(c, handler, &h, NULL), 0);
        }
        assert_int_equal(h.calls, 1);
        ssize_t n = answer_of(late, 1000, buf, sizeof buf - 1);
        assert_true(n > 0);
        buf[n] = 0;
        assert_non_null(strstr(buf, "\"state\":\"running\""));
        for (size_t i = 0; i < ELEMENTSOF(silent); i++) {
                assert_int_equal(answer_of(silent[i], 1000, buf, sizeof buf), 0);
                close(silent[i]);
        }
        tl_rm_rf(root);
}

static void test_peer_credentials(void **state) {
        (void) state;
        tl_require(geteuid() == 0, "root (to change to another uid)");
        _cleanup_free_ char *root = make_root();
        _cleanup_free_ char *path = NULL;
        assert_int_equal(ecl_control_socket_path(root, "office", &path, NULL), 0);
        struct handled h = {0};
        struct client_result res;
        {
                _cleanup_control_ struct shim_control *c = NULL;
                assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
                /* open the file to everybody, so the refusal below is the shim's own */
                assert_int_equal(chmod(path, 0666), 0);
                res = roundtrip(c, &h, root, "status", NOBODY, NOBODY);
                assert_int_equal(res.r, -EPERM);
                assert_int_equal(h.calls, 0);
                /* with 0660 the filesystem refuses nobody first */
                assert_int_equal(chmod(path, 0660), 0);
                int fd;
                pid_t pid = start_client(root, "status", NOBODY, NOBODY, &fd);
                res = finish_client(pid, fd);
                assert_int_equal(res.r, -EACCES);
        }
        {
                /* members of the control group may ask for status, and only that */
                _cleanup_control_ struct shim_control *c = NULL;
                assert_int_equal(shim_control_listen(root, "office", TEST_GROUP, &c, NULL), 0);
                struct stat st;
                assert_int_equal(lstat(path, &st), 0);
                assert_int_equal(st.st_gid, TEST_GROUP);
                res = roundtrip(c, &h, root, "status", NOBODY, TEST_GROUP);
                assert_int_equal(res.r, 0);
                assert_string_equal(res.state, "running");
                assert_int_equal(h.calls, 1);
                assert_int_equal(h.uid, NOBODY);
                res = roundtrip(c, &h, root, "stop", NOBODY, TEST_GROUP);
                assert_int_equal(res.r, -EPERM);
                assert_int_equal(h.calls, 1);
                /* root may stop */
                res = roundtrip(c, &h, root, "stop", (uid_t) -1, 0);
                assert_int_equal(res.r, 0);
                assert_int_equal(h.calls, 2);
        }
        tl_rm_rf(root);
}

/* What a killed shim leaves behind: a socket file nobody listens on. */
static void make_stale_socket(const char *root, const char *stack) {
        _cleanup_free_ char *dir = tl_strf("%s/run", root), *dir2 = tl_strf("%s/run/ecluse", root);
        (void) mkdir(dir, 0755);
        (void) mkdir(dir2, 0755);
        _cleanup_free_ char *path = NULL;
        assert_int_equal(ecl_control_socket_path(root, stack, &path, NULL), 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
}

static void test_stale_and_live_sockets(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_free_ char *path = NULL;
        assert_int_equal(ecl_control_socket_path(root, "office", &path, NULL), 0);
        json_t *j = NULL;

        /* not running at all */
        assert_int_equal(ecl_control_call(root, "office", "status", &j, NULL), -ESRCH);

        _cleanup_control_ struct shim_control *a = NULL, *b = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &a, NULL), 0);
        /* a live one: already running */
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &b, NULL), -EBUSY);
        assert_null(b);

        /* a's file replaced by another's (a killed shim's): a's cleanup must not remove it */
        assert_int_equal(unlink(path), 0);
        make_stale_socket(root, "office");
        assert_int_equal(ecl_control_call(root, "office", "status", &j, NULL), -ESRCH);
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &b, NULL), 0);
        shim_control_free(TAKE_PTR(a));
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        shim_control_free(TAKE_PTR(b));

        /* something else at the path is left alone */
        tl_write_file(path, "x", 1);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &b, &why), -EEXIST);
        assert_non_null(strstr(why, "exists and is not a socket (remove it)"));
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));

        /* not a stack name: no path is built from it */
        _cleanup_free_ char *bad = NULL;
        assert_int_equal(ecl_control_socket_path(root, "../etc", &bad, NULL), -EINVAL);
        assert_int_equal(shim_control_listen(root, "Office", SHIM_CONTROL_NO_GROUP, &b, NULL), -EINVAL);
        tl_rm_rf(root);
}

/* What a supervisor would answer; userdata is the stack name. */
static int cli_handler(const char *request, const struct shim_control_peer *peer, json_t **ret, void *userdata) {
        (void) peer;
        _cleanup_free_ char *caps = NULL, *seccomp = NULL;
        int r = shim_sandbox_describe(&caps, &seccomp);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "stack", (const char *) userdata, "state",
                         streq(request, "stop") ? "stopping" : "running", "accel", "tcg", "policy", "loaded",
                         "capabilities", caps, "seccomp", seccomp);
        return *ret ? 0 : -ENOMEM;
}

static char *shim_bin(void) {
        return (char *) ECLUSE_SHIM_BIN;
}

/* The status and stop commands against real sockets served by a child. */
static void test_cli_status_stop(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_control_ struct shim_control *alpha = NULL, *office = NULL;
        assert_int_equal(shim_control_listen(root, "alpha", SHIM_CONTROL_NO_GROUP, &alpha, NULL), 0);
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &office, NULL), 0);
        make_stale_socket(root, "dead");

        pid_t server = fork();
        assert_true(server >= 0);
        if (server == 0) {
                for (;;) {
                        struct pollfd p[] = {{.fd = shim_control_fd(alpha), .events = POLLIN},
                                             {.fd = shim_control_fd(office), .events = POLLIN}};
                        if (poll(p, 2, -1) < 0)
                                _exit(1);
                        if (p[0].revents)
                                (void) shim_control_handle(alpha, cli_handler, (void *) "alpha", NULL);
                        if (p[1].revents)
                                (void) shim_control_handle(office, cli_handler, (void *) "office", NULL);
                }
        }

        struct tl_result res;
        char *st_json[] = {shim_bin(), "--root", root, "--json", "status", NULL};
        tl_run(st_json, &res);
        assert_int_equal(res.status, 69); /* "dead" is not running */
        json_auto_t *all = json_loads(res.out, 0, NULL);
        assert_true(json_is_array(all));
        assert_int_equal(json_array_size(all), 3);
        const char *want[][2] = {{"alpha", "running"}, {"dead", "not running"}, {"office", "running"}};
        for (size_t i = 0; i < 3; i++) {
                json_t *o = json_array_get(all, i);
                assert_string_equal(json_string_value(json_object_get(o, "stack")), want[i][0]);
                assert_string_equal(json_string_value(json_object_get(o, "state")), want[i][1]);
        }
        assert_non_null(strstr(res.err, "stack dead: shim not running"));
        /* --json is compact: one line */
        assert_string_equal(strchr(res.out, '\n'), "\n");
        tl_result_free(&res);

        /* one stack: still an array, of one object */
        char *st_one[] = {shim_bin(), "--root", root, "--json", "status", "office", NULL};
        tl_run(st_one, &res);
        assert_int_equal(res.status, 0);
        json_auto_t *one_array = json_loads(res.out, 0, NULL);
        assert_true(json_is_array(one_array));
        assert_int_equal(json_array_size(one_array), 1);
        json_t *one = json_array_get(one_array, 0);
        assert_true(json_is_object(one));
        for (const char *const *k = (const char *const[]){"stack", "state", "accel", "policy", "capabilities", NULL};
             *k; k++)
                assert_non_null(json_object_get(one, *k));
        assert_string_equal(json_string_value(json_object_get(one, "stack")), "office");
        tl_result_free(&res);

        /* --json=pretty: the same document, indented */
        char *st_pretty[] = {shim_bin(), "--root", root, "--json=pretty", "status", "office", NULL};
        tl_run(st_pretty, &res);
        assert_int_equal(res.status, 0);
        assert_memory_equal(res.out, "[\n  {\n    \"stack\": \"office\",\n", 29);
        json_auto_t *pretty = json_loads(res.out, 0, NULL);
        assert_true(json_equal(pretty, one_array));
        tl_result_free(&res);

        /* a stack that is not running: its row says so, and the error line */
        char *st_dead[] = {shim_bin(), "--root", root, "--json", "status", "dead", NULL};
        tl_run(st_dead, &res);
        assert_int_equal(res.status, 69);
        assert_string_equal(res.out, "[{\"stack\":\"dead\",\"state\":\"not running\"}]\n");
        assert_non_null(strstr(res.err, "stack dead: shim not running"));
        tl_result_free(&res);

        char *st_human[] = {shim_bin(), "--root", root, "status", "office", NULL};
        tl_run(st_human, &res);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "office: running\n"));
        assert_non_null(strstr(res.out, "\n  accel: tcg\n"));
        assert_non_null(strstr(res.out, "\n  capabilities: "));
        tl_result_free(&res);

        char *stop[] = {shim_bin(), "--root", root, "stop", "office", "--no-wait", NULL};
        tl_run(stop, &res);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "office: stopping\n"));
        tl_result_free(&res);

        char *st_gone[] = {shim_bin(), "--root", root, "status", "nosuch", NULL};
        tl_run(st_gone, &res);
        assert_int_equal(res.status, 69);
        assert_string_equal(res.out, "");
        assert_non_null(strstr(res.err, "ecluse-shim: error: stack nosuch: shim not running"));
        assert_null(strchr(strchr(res.err, '\n') + 1, '\n')); /* one line */
        tl_result_free(&res);

        char *stop_usage[] = {shim_bin(), "--root", root, "stop", NULL};
        tl_run(stop_usage, &res);
        assert_int_equal(res.status, 64);
        tl_result_free(&res);

        kill(server, SIGKILL);
        assert_int_equal(waitpid(server, NULL, 0), server);

        /* nothing left: an empty listing */
        shim_control_free(TAKE_PTR(alpha));
        shim_control_free(TAKE_PTR(office));
        _cleanup_free_ char *dead_path = tl_strf("%s/run/ecluse/dead.sock", root);
        assert_int_equal(unlink(dead_path), 0);
        char *st_none[] = {shim_bin(), "--root", root, "--json", "status", NULL};
        tl_run(st_none, &res);
        assert_int_equal(res.status, 0);
        assert_string_equal(res.out, "[]\n");
        tl_result_free(&res);
        tl_rm_rf(root);
}

/* ROOT/run/ecluse and ROOT/run: root's (or ours) and writable by nobody else, or no socket there. */
static void test_run_dir_must_be_trusted(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_free_ char *run = tl_strf("%s/run", root), *dir = tl_strf("%s/run/ecluse", root);
        assert_int_equal(mkdir(run, 0755), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        _cleanup_control_ struct shim_control *c = NULL;
        const mode_t bad_modes[] = {0777, 0775, 0757, 01777};
        for (size_t i = 0; i < ELEMENTSOF(bad_modes); i++) {
                assert_int_equal(chmod(dir, bad_modes[i]), 0);
                assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), -EPERM);
                assert_null(c);
        }
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(chmod(run, 0777), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, &why), -EPERM);
        assert_non_null(strstr(why, "is writable by its group or others (mode 0777)"));
        assert_int_equal(chmod(run, 0755), 0);
        if (geteuid() == 0) {
                assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
                assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), -EPERM);
                assert_int_equal(chown(dir, 0, 0), 0);
        }
        /* a symlink in its place is refused, not followed */
        _cleanup_free_ char *elsewhere = tl_strf("%s/elsewhere", root);
        assert_int_equal(mkdir(elsewhere, 0755), 0);
        assert_int_equal(rmdir(dir), 0);
        assert_int_equal(symlink(elsewhere, dir), 0);
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), -ELOOP);
        assert_int_equal(unlink(dir), 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL), 0);
        shim_control_free(TAKE_PTR(c));
        tl_rm_rf(root);
}

/* A group entry larger than the first buffer (ERANGE) is read again with a larger one. */
static void test_group_lookup_grows(void **state) {
        (void) state;
        /* the group "root" exists everywhere: its entry does not fit in 1 or 16 bytes */
        assert_int_equal(shim_control_group_gid("root", 1, NULL), 0);
        assert_int_equal(shim_control_group_gid("root", 16, NULL), 0);
        assert_int_equal(shim_control_group_gid("root", 0, NULL), 0);
        _cleanup_free_ char *warning = NULL;
        assert_int_equal(shim_control_group_gid("no-such-group-ecluse-test", 1, &warning), SHIM_CONTROL_NO_GROUP);
        assert_null(warning); /* none is no failure */
}

static int stop_handler(const char *request, const struct shim_control_peer *peer, json_t **ret, void *userdata) {
        (void) peer;
        *(bool *) userdata = streq(request, "stop");
        *ret = json_pack("{s:s,s:s}", "stack", "office", "state", streq(request, "stop") ? "stopping" : "running");
        return *ret ? 0 : -ENOMEM;
}

/* A shim answering "stop", then cleaning up, successfully or not, and removing its socket. */
static pid_t start_stopping_shim(const char *root, bool teardown_fails) {
        int ready[2];
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(ready[0]);
                _cleanup_control_ struct shim_control *c = NULL;
                if (shim_control_listen(root, "office", SHIM_CONTROL_NO_GROUP, &c, NULL) < 0)
                        _exit(1);
                close(ready[1]);
                bool stop = false;
                while (!stop) {
                        struct pollfd p = {.fd = shim_control_fd(c), .events = POLLIN};
                        if (poll(&p, 1, 60000) != 1 || shim_control_handle(c, stop_handler, &stop, NULL) < 0)
                                _exit(1);
                }
                usleep(200 * 1000); /* the clean-up */
                if (teardown_fails && shim_control_mark_failed(c, "office", "Device or resource busy", NULL) < 0)
                        _exit(1);
                shim_control_free(TAKE_PTR(c));
                _exit(0);
        }
        close(ready[1]);
        char x;
        assert_int_equal(read(ready[0], &x, 1), 0); /* closed: listening */
        close(ready[0]);
        return pid;
}

/* `stop` tells a clean-up that failed from one that succeeded. */
static void test_stop_reports_failed_teardown(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_root();
        _cleanup_free_ char *failed = tl_strf("%s/run/ecluse/office.failed", root);
        struct tl_result res;
        char *stop[] = {shim_bin(), "--root", root, "stop", "office", NULL};
        char *stop_json[] = {shim_bin(), "--root", root, "--json", "stop", "office", NULL};

        pid_t pid = start_stopping_shim(root, false);
        tl_run(stop, &res);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "office: stopped\n"));
        tl_result_free(&res);

        pid = start_stopping_shim(root, true);
        tl_run(stop, &res);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(res.status, 70);
        assert_null(strstr(res.out, "stopped"));
        assert_non_null(strstr(res.out, "teardown-failed"));
        assert_non_null(strstr(res.err, "stack office: the shim stopped but its clean-up failed: Device or resource busy"));
        tl_result_free(&res);
        /* the record stays: a later look tells the same */
        struct stat st;
        assert_int_equal(lstat(failed, &st), 0);
        json_t *j = NULL;
        assert_int_equal(ecl_control_read_failed(root, "office", &j, NULL), 1);
        assert_string_equal(json_string_value(json_object_get(j, "state")), "teardown-failed");
        json_decref(j);
        /* `status` tells it too, alone and in the listing, and exits 70 */
        char *st_one[] = {shim_bin(), "--root", root, "--json", "status", "office", NULL};
        tl_run(st_one, &res);
        assert_int_equal(res.status, 70);
        json_auto_t *one_array = json_loads(res.out, 0, NULL);
        assert_true(json_is_array(one_array));
        assert_int_equal(json_array_size(one_array), 1);
        json_t *one = json_array_get(one_array, 0);
        assert_non_null(one);
        assert_string_equal(json_string_value(json_object_get(one, "state")), "teardown-failed");
        assert_string_equal(json_string_value(json_object_get(one, "error")), "Device or resource busy");
        assert_non_null(strstr(res.err, "stack office: its shim is gone and its clean-up failed"));
        tl_result_free(&res);
        char *st_all[] = {shim_bin(), "--root", root, "--json", "status", NULL};
        tl_run(st_all, &res);
        assert_int_equal(res.status, 70);
        json_auto_t *all = json_loads(res.out, 0, NULL);
        assert_true(json_is_array(all));
        assert_int_equal(json_array_size(all), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "state")), "teardown-failed");
        tl_result_free(&res);

        /* the next run starts afresh; its clean stop is a clean stop */
        pid = start_stopping_shim(root, false);
        assert_int_equal(lstat(failed, &st), -1);
        tl_run(stop_json, &res);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(res.status, 0);
        json_auto_t *out = json_loads(res.out, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(out, "state")), "stopped");
        tl_result_free(&res);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request_response),
                cmocka_unit_test(test_long_path),
                cmocka_unit_test(test_bad_requests),
                cmocka_unit_test(test_oversized_request_refused),
                cmocka_unit_test(test_silent_client_dropped),
                cmocka_unit_test(test_pending_clients_capped),
                cmocka_unit_test(test_peer_credentials),
                cmocka_unit_test(test_stale_and_live_sockets),
                cmocka_unit_test(test_cli_status_stop),
                cmocka_unit_test(test_group_lookup_grows),
                cmocka_unit_test(test_run_dir_must_be_trusted),
                cmocka_unit_test(test_stop_reports_failed_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
