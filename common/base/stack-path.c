/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stack's own tree (stack-path.h): a lexical check for the manifest
 * loader and a resolver for when the files are used.  The resolver walks one
 * component at a time with openat(O_PATH | O_NOFOLLOW) from the stack's
 * directory, so a link is seen as a link wherever it stands, and nothing is
 * resolved by name twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "paths.h"
#include "reason.h"
#include "stack-path.h"

#define STACKS_PREFIX ECL_STACKS_STATE_DIR "/"
#define RELEASES_PREFIX "releases/"

static bool dot_or_dotdot(const char *s, size_t n) {
        return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* s: one or more components separated by single '/'; none empty, '.', '..' or over NAME_MAX. */
static bool components_valid(const char *s) {
        if (!*s)
                return false;
        for (;;) {
                size_t n = strcspn(s, "/");
                if (n == 0 || n > NAME_MAX || dot_or_dotdot(s, n))
                        return false;
                s += n;
                if (!*s)
                        return true;
                s++; /* a '/' that must be followed by a component */
        }
}

/* The part of path below STACK/, or NULL when path is not below the stack's directory. */
static const char *below_stack(const char *stack, const char *path) {
        size_t sl = strlen(stack);
        if (sl == 0 || strchr(stack, '/') || dot_or_dotdot(stack, sl))
                return NULL;
        if (strncmp(path, STACKS_PREFIX, strlen(STACKS_PREFIX)) != 0)
                return NULL;
        const char *s = path + strlen(STACKS_PREFIX);
        if (strncmp(s, stack, sl) != 0 || s[sl] != '/')
                return NULL;
        return s + sl + 1;
}

int ecl_stack_path_check(const char *stack, const char *path) {
        if (!stack || !path)
                return -EINVAL;
        const char *s = below_stack(stack, path);
        if (!s)
                return -EINVAL;
        if (strncmp(s, "current/", 8) == 0)
                s += 8;
        else if (strncmp(s, "data/", 5) == 0)
                s += 5;
        else
                return -EINVAL;
        return components_valid(s) ? 0 : -EINVAL;
}

/* What the kernel said about the component ending at path[len]. */
static int os_problem(char **ret_problem, int r, const char *path, size_t len) {
        if (r == -ENOENT)
                return ecl_reason(ret_problem, r, "%.*s does not exist", (int) len, path);
        return ecl_reason(ret_problem, r, "cannot look at %.*s: %s", (int) len, path, strerror(-r));
}

/* openat(dir, name, O_PATH | O_NOFOLLOW) and fstat it; 0 or a negative errno. */
static int open_component(int dir, const char *name, int *ret_fd, struct stat *st) {
        _cleanup_close_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, st) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* open_component() of a directory: -ELOOP for a link, -ENOTDIR for anything else. */
static int open_dir(int dir, const char *name, int *ret_fd, struct stat *st) {
        int f = -1;
        int r = open_component(dir, name, &f, st);
        _cleanup_close_ int fd = f;
        if (r < 0)
                return r;
        if (!S_ISDIR(st->st_mode))
                return S_ISLNK(st->st_mode) ? -ELOOP : -ENOTDIR;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static const char *what_is_wrong(int r) {
        switch (r) {
        case -ENOENT:
                return "does not exist";
        case -ELOOP:
                return "is a symbolic link";
        case -ENOTDIR:
                return "is not a directory";
        default:
                return strerror(-r);
        }
}

/*
 * `current` is the link *fd (an O_PATH descriptor of it): it must read
 * releases/VERSION, each of them a directory of the stack and no link.
 * Replaces *fd and *st with the release's directory.
 */
static int follow_current(int stack_fd, const char *path, size_t len, int *fd, struct stat *st,
                          char **ret_problem) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(*fd, "", target, sizeof target - 1);
        if (n < 0)
                return os_problem(ret_problem, negative_errno(), path, len);
        target[n] = '\0';
        const char *version = target + strlen(RELEASES_PREFIX);
        if (strncmp(target, RELEASES_PREFIX, strlen(RELEASES_PREFIX)) != 0 || strchr(version, '/') ||
            !components_valid(version))
                return ecl_reason(ret_problem, -EXDEV,
                               "%.*s points to '%s', not to releases/VERSION in the stack's own directory", (int) len,
                               path, target);
        int releases = -1, release = -1;
        int r = open_dir(stack_fd, "releases", &releases, st);
        _cleanup_close_ int releases_fd = releases;
        if (r < 0)
                return ecl_reason(ret_problem, r, "%.*s points to '%s', but releases/ %s", (int) len, path, target,
                               what_is_wrong(r));
        r = open_dir(releases_fd, version, &release, st);
        if (r < 0)
                return ecl_reason(ret_problem, r, "%.*s points to '%s', which %s", (int) len, path, target,
                               what_is_wrong(r));
        closep(fd);
        *fd = release;
        return 0;
}

int ecl_stack_path_open(const char *root, const char *stack, const char *path, int *ret_fd, char **ret_problem) {
        if (ret_problem)
                *ret_problem = NULL;
        if (ecl_stack_path_check(stack, path) < 0)
                return ecl_reason(ret_problem, -EINVAL, "%s is not a file in the trees of stack %s", path,
                               stack ? stack : "(none)");

        /* The host's layout up to the stacks' directory; from there on, no link but `current`. */
        _cleanup_free_ char *stacks = NULL;
        if (ecl_path(&stacks, root, ECL_STACKS_STATE_DIR) < 0)
                return -ENOMEM;
        _cleanup_close_ int stacks_fd = open(stacks, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (stacks_fd < 0)
                return os_problem(ret_problem, negative_errno(), path, strlen(ECL_STACKS_STATE_DIR));
        const char *rest = below_stack(stack, path);
        size_t len = (size_t) (rest - path) - 1; /* path[0..len): the stack's directory */
        struct stat st;
        int dir = -1;
        int r = open_component(stacks_fd, stack, &dir, &st);
        _cleanup_close_ int stack_fd = dir;
        if (r < 0)
                return os_problem(ret_problem, r, path, len);
        if (!S_ISDIR(st.st_mode))
                return ecl_reason(ret_problem, S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR, "%.*s is %s", (int) len, path,
                               S_ISLNK(st.st_mode) ? "a symbolic link (the stack's directory must be its own)"
                                                   : "not a directory");

        _cleanup_close_ int fd = -1;
        for (const char *s = rest; *s;) {
                size_t n = strcspn(s, "/");
                char name[NAME_MAX + 1];
                memcpy(name, s, n); /* n <= NAME_MAX: ecl_stack_path_check() */
                name[n] = '\0';
                len = (size_t) (s - path) + n;
                bool last = s[n] == '\0';
                int next = -1;
                r = open_component(fd >= 0 ? fd : stack_fd, name, &next, &st);
                if (r < 0)
                        return os_problem(ret_problem, r, path, len);
                closep(&fd);
                fd = next;
                if (S_ISLNK(st.st_mode) && s == rest && streq(name, "current")) {
                        r = follow_current(stack_fd, path, len, &fd, &st, ret_problem);
                        if (r < 0)
                                return r;
                } else if (S_ISLNK(st.st_mode)) {
                        return ecl_reason(ret_problem, -ELOOP,
                                       "%.*s is a symbolic link (no link is followed in the stack's tree but "
                                       "current -> releases/VERSION)",
                                       (int) len, path);
                }
                if (last && !S_ISREG(st.st_mode))
                        return ecl_reason(ret_problem, -EINVAL, "%s is not a regular file", path);
                if (!last && !S_ISDIR(st.st_mode))
                        return ecl_reason(ret_problem, -ENOTDIR, "%.*s is not a directory", (int) len, path);
                s += n + !last;
        }
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return 0;
}
