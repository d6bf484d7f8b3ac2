/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "fileio.h"
#include "testlib.h"

char *tl_mkdtemp(void) {
        const char *tmp = getenv("TMPDIR");
        char *p = tl_strf("%s/ecluse-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(p));
        return p;
}

char *tl_mkdtemp_len(size_t len) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
                tmp = "/tmp";
        size_t fixed = strlen(tmp) + strlen("/ecluse-test--XXXXXX");
        assert_true(len >= fixed);
        char *p = tl_strf("%s/ecluse-test-%.*s-XXXXXX", tmp, (int) (len - fixed),
                          "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                          "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
        assert_int_equal(strlen(p), len);
        assert_non_null(mkdtemp(p));
        return p;
}

void tl_rm_rf(const char *path) {
        if (!path || !*path || strcmp(path, "/") == 0)
                return;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execlp("rm", "rm", "-rf", "--", path, (char *) NULL);
                _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
}

char *tl_read_file(const char *path, size_t *len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
                fwrite(chunk, 1, n, m);
        fclose(f);
        fclose(m);
        if (len)
                *len = size;
        return buf;
}

void tl_write_file(const char *path, const void *data, size_t len) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

void tl_mkdir_p(const char *path) {
        _cleanup_free_ char *why = NULL;
        if (ecl_mkdir_p(path, 0755, &why) < 0)
                fail_msg("mkdir -p %s: %s", path, why ? why : "out of memory");
}

char *tl_dir_names(const char *dir) {
        struct dirent **v;
        int n = scandir(dir, &v, NULL, alphasort);
        if (n < 0)
                fail_msg("scandir %s: %s", dir, strerror(errno));
        char *s = tl_strf("%s", "");
        for (int i = 0; i < n; i++) {
                if (!streq(v[i]->d_name, ".") && !streq(v[i]->d_name, "..")) {
                        char *t = tl_strf("%s%s%s", s, *s ? " " : "", v[i]->d_name);
                        free(s);
                        s = t;
                }
                free(v[i]);
        }
        free(v);
        return s;
}

char *tl_strf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(r >= 0);
        return s;
}


void tl_run(char *const argv[], struct tl_result *res) {
        int out[2], err[2];
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                dup2(null, 0);
                dup2(out[1], 1);
                dup2(err[1], 2);
                execvp(argv[0], argv);
                fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(out[1]);
        close(err[1]);
        size_t ol = 0, el = 0;
        char *ob = NULL, *eb = NULL;
        FILE *om = open_memstream(&ob, &ol), *em = open_memstream(&eb, &el);
        struct pollfd p[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
        int open_fds = 2;
        while (open_fds > 0) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        char buf[8192];
                        ssize_t n = read(p[i].fd, buf, sizeof buf);
                        if (n > 0) {
                                fwrite(buf, 1, (size_t) n, i == 0 ? om : em);
                        } else {
                                close(p[i].fd);
                                p[i].fd = -1;
                                open_fds--;
                        }
                }
        }
        fclose(om);
        fclose(em);
        int st = 0;
        waitpid(pid, &st, 0);
        res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        res->out = ob;
        res->err = eb;
}

void tl_result_free(struct tl_result *res) {
        free(res->out);
        free(res->err);
        res->out = res->err = NULL;
}

int tl_have_program(const char *name) {
        const char *path = getenv("PATH");
        if (!path)
                return 0;
        char *copy = strdup(path), *save = NULL;
        int found = 0;
        for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
                char *p = tl_strf("%s/%s", dir, name);
                found = access(p, X_OK) == 0;
                free(p);
        }
        free(copy);
        return found;
}

void tl_require_at(int ok, const char *what, const char *file, int line) {
        if (ok)
                return;
        const char *allow = getenv("ECLUSE_ALLOW_SKIP");
        if (allow && strcmp(allow, "1") == 0) {
                print_message("skipped: needs %s (ECLUSE_ALLOW_SKIP=1)\n", what);
                _skip(file, line);
        }
        print_error("needs %s: a system test fails rather than skip (ECLUSE_ALLOW_SKIP=1 skips it)\n", what);
        _fail(file, line);
}

uid_t tl_stranger_id(void) {
        return geteuid() == 65534 ? 65533 : 65534;
}

char *tl_replace_line(const char *text, unsigned line, const char *with) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        assert_non_null(f);
        const char *p = text;
        for (unsigned i = 1; *p; i++) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl + 1 - p) : strlen(p);
                if (i != line)
                        fwrite(p, 1, n, f);
                else if (with)
                        fprintf(f, "%s\n", with);
                p += n;
        }
        assert_int_equal(fclose(f), 0);
        return out;
}

char *tl_diags_text(struct ecl_diags *d) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        assert_non_null(f);
        for (size_t i = 0; i < d->n; i++) {
                char *line = ecl_diag_format(&d->items[i]);
                assert_non_null(line);
                fprintf(f, "%s%s", i ? "\n" : "", line);
                free(line);
        }
        assert_int_equal(fclose(f), 0);
        ecl_diags_clear(d);
        return out;
}
