/* SPDX-License-Identifier: Apache-2.0 */
/* Trees root reuses, and the directories QEMU's user must search (secure-dir.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "reason.h"
#include "secure-dir.h"

bool shim_secure_dir_ok(const struct stat *st) {
        return S_ISDIR(st->st_mode) && (st->st_uid == 0 || st->st_uid == geteuid()) &&
               (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

struct secure_mkdir {
        mode_t mode;
};

/* Each component: the ones created get exactly mode, the ones reused must be root's alone. */
static int secure_component(int fd, const char *where, bool created, void *userdata, char **ret_reason) {
        const struct secure_mkdir *m = userdata;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat %s", where);
        if (created) {
                if (fchmod(fd, m->mode) < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot set the mode of %s", where);
        } else if (!shim_secure_dir_ok(&st)) {
                return ecl_reason(ret_reason, -EPERM,
                                  "%s (owner uid %u, mode %04o) is not root's alone: a directory "
                                  "the shim reuses must be owned by root with no group or other "
                                  "write (chown root and chmod go-w it, or remove it)",
                                  where, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
        }
        return 0;
}

int shim_secure_mkdir(const char *base, const char *rel, mode_t mode, mode_t last_mode, int *ret_fd,
                      char **ret_reason) {
        struct secure_mkdir m = {.mode = mode};
        _cleanup_close_ int fd = -EBADF;
        int r = ecl_mkdir_below(base, rel, mode, secure_component, &m, &fd, ret_reason);
        if (r < 0)
                return r;
        if (last_mode != (mode_t) -1 && fchmod(fd, last_mode) < 0) {
                const char *b = base && *base ? base : "/";
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot set the mode of %s%s%s", b,
                                        b[strlen(b) - 1] == '/' ? "" : "/", rel);
        }
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ---- reach -------------------------------------------------------------- */

struct reacher {
        const char *user;
        uid_t uid;
        gid_t groups[256];
        int n_groups;
};

static bool in_groups(const struct reacher *w, gid_t g) {
        for (int i = 0; i < w->n_groups; i++)
                if (w->groups[i] == g)
                        return true;
        return false;
}

static void name_of_uid(uid_t uid, char *buf, size_t n) {
        struct passwd pw, *res = NULL;
        char tmp[1024];
        if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
                snprintf(buf, n, "%s", res->pw_name);
        else
                snprintf(buf, n, "uid %u", (unsigned) uid);
}

/* 1 searchable (or absent: the walk ends), 0 not (problem set), <0 error. */
static int can_search(const struct reacher *w, const char *dir, const char *who, char **problem) {
        struct stat st;
        if (stat(dir, &st) < 0)
                return errno == ENOENT ? 1 : ecl_reason_errno(problem, negative_errno(), "cannot stat %s", dir);
        if (!S_ISDIR(st.st_mode) || w->uid == 0)
                return 1;
        mode_t bit;
        const char *fix;
        if (st.st_uid == w->uid)
                bit = S_IXUSR, fix = "u+x";
        else if (in_groups(w, st.st_gid))
                bit = S_IXGRP, fix = "g+x";
        else
                bit = S_IXOTH, fix = "o+x";
        if (st.st_mode & bit)
                return 1;
        char owner[64];
        name_of_uid(st.st_uid, owner, sizeof owner);
        /* 0 (not searchable, *problem says why), or -ENOMEM */
        if (bit == S_IXOTH)
                return ecl_reason(problem, 0,
                                  "%s, which cannot search %s (mode %04o, owner %s): chmod o+x %s, or give it to "
                                  "a group of %s and chmod g+x it, or choose a --root below directories it can search",
                                  who, dir, (unsigned) (st.st_mode & 07777), owner, dir, w->user);
        return ecl_reason(problem, 0, "%s, which cannot search %s (mode %04o, owner %s): chmod %s %s", who, dir,
                          (unsigned) (st.st_mode & 07777), owner, fix, dir);
}

/* Every directory from / down to the canonical form of p. */
static int walk_real(const struct reacher *w, const char *p, const char *who, char **problem) {
        _cleanup_free_ char *real = realpath(p, NULL);
        if (!real)
                return errno == ENOENT ? 1 : ecl_reason_errno(problem, negative_errno(), "cannot resolve %s", p);
        for (char *s = real;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                /* "/" for the first slash, the prefix before the others */
                if (s == real) {
                        int r = can_search(w, "/", who, problem);
                        if (r <= 0)
                                return r;
                } else {
                        *s = '\0';
                        int r = can_search(w, real, who, problem);
                        *s = c;
                        if (r <= 0)
                                return r;
                }
                if (c == '\0')
                        return 1;
        }
}

int shim_reach_check(const char *path, const char *user, uid_t uid, gid_t gid, const char *who, char **ret_problem) {
        *ret_problem = NULL;
        struct reacher w = {.user = user ? user : "it", .uid = uid};
        w.n_groups = 1;
        w.groups[0] = gid;
        if (user) {
                int n = (int) ELEMENTSOF(w.groups);
                if (getgrouplist(user, gid, w.groups, &n) < 0)
                        n = (int) ELEMENTSOF(w.groups); /* more than that: the first ones */
                w.n_groups = n;
        }
        _cleanup_free_ char *abs = NULL;
        if (path[0] == '/') {
                abs = strdup(path);
        } else {
                char cwd[PATH_MAX];
                if (!getcwd(cwd, sizeof cwd))
                        return ecl_reason_errno(ret_problem, negative_errno(), "cannot get the working directory");
                if (asprintf(&abs, "%s/%s", cwd, path) < 0)
                        abs = NULL;
        }
        if (!abs)
                return ecl_reason(ret_problem, -ENOMEM, "out of memory");
        /* Each prefix as written, canonicalised: a link's target is searched through its own parents. */
        for (char *s = abs + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                struct stat st;
                bool last = c == '\0';
                int r = 1;
                if (!last || (stat(abs, &st) == 0 && S_ISDIR(st.st_mode)))
                        r = walk_real(&w, abs, who, ret_problem);
                else if (last) {
                        /* a file: its directory must be searchable, the file is libvirt's to label */
                        char *slash = strrchr(abs, '/');
                        if (slash && slash != abs) {
                                *slash = '\0';
                                r = walk_real(&w, abs, who, ret_problem);
                                *slash = '/';
                        }
                }
                *s = c;
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EACCES;
                if (last)
                        return 0;
        }
}
