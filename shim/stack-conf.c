/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"
#include "reason.h"
#include "stack-conf.h"
#include "stack-name.h"
#include "strutil.h"

int shim_stack_conf_dir(const char *root, char **ret) {
        return ecl_path(ret, root, ECL_STACKS_CONF_DIR);
}

int shim_stack_conf_resolve(const char *root, const char *operand, char **ret_path) {
        if (ecl_stack_name_valid(operand) && !strchr(operand, '/'))
                return ecl_path(ret_path, root, ECL_STACKS_CONF_DIR "/%s" SHIM_STACK_CONF_SUFFIX, operand) < 0
                               ? -ENOMEM
                               : 1;
        char *p = strdup(operand);
        if (!p)
                return -ENOMEM;
        *ret_path = p;
        return 0;
}

static const char *base_name(const char *path) {
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/*
 * The stack name of a directory entry NAME.yaml, or NULL with *why set (static
 * text).  What the entry is (a link, a directory) is not looked at here: the
 * loader refuses it as `run STACK` would, so every command counts it alike.
 */
static char *entry_stack(const char *entry, const char **why) {
        size_t l = strlen(entry), sl = strlen(SHIM_STACK_CONF_SUFFIX);
        if (l <= sl || !streq(entry + l - sl, SHIM_STACK_CONF_SUFFIX)) {
                *why = "not a STACK" SHIM_STACK_CONF_SUFFIX " file";
                return NULL;
        }
        char *name = strndup(entry, l - sl);
        if (!name) {
                *why = NULL; /* out of memory */
                return NULL;
        }
        if (!ecl_stack_name_valid(name)) {
                *why = "not a stack name (^[a-z][a-z0-9-]{0,30}$) before " SHIM_STACK_CONF_SUFFIX;
                free(name);
                return NULL;
        }
        return name;
}

static int strv_push(char ***v, size_t *n, char *s) {
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        *v = nv;
        nv[(*n)++] = s;
        nv[*n] = NULL;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int shim_stack_conf_list(const char *root, char ***ret_stacks, char ***ret_skipped, char **ret_reason) {
        _cleanup_free_ char *dir = NULL;
        if (shim_stack_conf_dir(root, &dir) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_strv_free_ char **stacks = calloc(1, sizeof(char *)), **skipped = calloc(1, sizeof(char *));
        if (!stacks || !skipped)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t n = 0, n_skipped = 0;

        DIR *d = opendir(dir);
        if (!d) {
                int e = errno;
                if (e == ENOENT)
                        return ecl_reason(ret_reason, -ENOENT,
                                          "no stacks directory %s (each stack is configured as %s/STACK%s)", dir, dir,
                                          SHIM_STACK_CONF_SUFFIX);
                if (e == ENOTDIR)
                        return ecl_reason(ret_reason, -ENOTDIR, "%s is not a directory", dir);
                return ecl_reason(ret_reason, -e, "cannot open %s: %s", dir, strerror(e));
        }
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = ecl_reason(ret_reason, -errno, "cannot read %s: %s", dir, strerror(errno));
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                const char *why = NULL;
                char *name = entry_stack(de->d_name, &why);
                if (name) {
                        r = strv_push(&stacks, &n, name);
                } else if (!why) {
                        r = -ENOMEM;
                } else {
                        char *line = NULL;
                        if (asprintf(&line, "%s/%s: %s", dir, de->d_name, why) < 0)
                                r = -ENOMEM;
                        else
                                r = strv_push(&skipped, &n_skipped, ecl_str_make_printable(line));
                }
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r == -ENOMEM)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (r < 0)
                return r;
        qsort(stacks, n, sizeof(char *), cmp_str);
        qsort(skipped, n_skipped, sizeof(char *), cmp_str);
        *ret_stacks = TAKE_PTR(stacks);
        if (ret_skipped)
                *ret_skipped = TAKE_PTR(skipped);
        return 0;
}

int shim_stack_conf_check_name(const char *path, const char *stack, char **ret_reason) {
        const char *base = base_name(path);
        size_t l = strlen(stack);
        if (strncmp(base, stack, l) == 0 && streq(base + l, SHIM_STACK_CONF_SUFFIX))
                return 0;
        return ecl_reason(ret_reason, -EBADMSG, "its stack is %s: the file must be named %s%s, not '%s'", stack, stack,
                          SHIM_STACK_CONF_SUFFIX, base);
}
