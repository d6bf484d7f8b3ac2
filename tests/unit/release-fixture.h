/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What test_release.c and test_release_crash.c share: a stack directory, a quarantined payload, listings. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "reason.h"
#include "release.h"
#include "testlib.h"

struct fixture {
        char *root;  /* scratch */
        char *stack; /* root/stack: the stack's directory */
        char *src;   /* root/src: the quarantined payload */
        int stack_fd, src_fd;
        struct agent_bundle_file files[4];
        size_t n;
};

static inline void set_hash(struct agent_bundle_file *f, const void *data, size_t len) {
        unsigned l = 0;
        assert_int_equal(EVP_Digest(data, len, f->sha256, &l, EVP_sha256(), NULL), 1);
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < 32; i++) {
                f->sha256_hex[2 * i] = hex[f->sha256[i] >> 4];
                f->sha256_hex[2 * i + 1] = hex[f->sha256[i] & 15];
        }
        f->sha256_hex[64] = '\0';
        f->size = len;
}

/* Add src/name with len bytes from seed, and its entry in fx->files. */
static inline void add_file(struct fixture *fx, const char *name, size_t len, unsigned seed) {
        _cleanup_free_ uint8_t *data = malloc(len ? len : 1);
        assert_non_null(data);
        for (size_t i = 0; i < len; i++)
                data[i] = (uint8_t) (seed + i * 31 + i / 977);
        _cleanup_free_ char *p = tl_strf("%s/%s", fx->src, name);
        tl_write_file(p, data, len);
        assert_true(fx->n < ELEMENTSOF(fx->files));
        struct agent_bundle_file *f = &fx->files[fx->n++];
        f->install = strdup(name);
        f->path = tl_strf("payload/%s", name);
        assert_non_null(f->install);
        set_hash(f, data, len);
}

static inline int setup(void **state) {
        struct fixture *fx = calloc(1, sizeof *fx);
        assert_non_null(fx);
        fx->root = tl_mkdtemp();
        fx->stack = tl_strf("%s/stack", fx->root);
        fx->src = tl_strf("%s/src", fx->root);
        assert_int_equal(mkdir(fx->stack, 0711), 0);
        assert_int_equal(mkdir(fx->src, 0700), 0);
        fx->stack_fd = open(fx->stack, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        fx->src_fd = open(fx->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fx->stack_fd >= 0 && fx->src_fd >= 0);
        add_file(fx, "vmlinuz", 70001, 1);
        add_file(fx, "disk.qcow2", 3 * 1024 * 1024 + 17, 2); /* several copy and hash blocks */
        add_file(fx, "empty", 0, 3);
        *state = fx;
        return 0;
}

static inline int teardown(void **state) {
        struct fixture *fx = *state;
        for (size_t i = 0; i < fx->n; i++) {
                free(fx->files[i].install);
                free(fx->files[i].path);
        }
        close(fx->stack_fd);
        close(fx->src_fd);
        tl_rm_rf(fx->root);
        free(fx->root);
        free(fx->stack);
        free(fx->src);
        free(fx);
        return 0;
}

static inline char *pathf(const struct fixture *fx, const char *rel) {
        return tl_strf("%s/%s", fx->stack, rel);
}

static inline int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Every entry below dir (recursively), one line each "path type mode links size", sorted: what a tree holds. */
static inline void listing_into(const char *dir, const char *prefix, char ***lines, size_t *n) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                _cleanup_free_ char *p = tl_strf("%s/%s", dir, e->d_name);
                _cleanup_free_ char *rel = tl_strf("%s%s", prefix, e->d_name);
                struct stat st;
                assert_int_equal(lstat(p, &st), 0);
                char target[256] = "";
                if (S_ISLNK(st.st_mode))
                        assert_true(readlink(p, target, sizeof target - 1) > 0);
                *lines = realloc(*lines, (*n + 1) * sizeof(char *));
                assert_non_null(*lines);
                (*lines)[(*n)++] = tl_strf("%s %c %04o %ju %jd %s", rel,
                                           S_ISDIR(st.st_mode)   ? 'd'
                                           : S_ISLNK(st.st_mode) ? 'l'
                                                                 : 'f',
                                           (unsigned) (st.st_mode & 07777), (uintmax_t) st.st_nlink,
                                           S_ISDIR(st.st_mode) ? (intmax_t) 0 : (intmax_t) st.st_size, target);
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_free_ char *sub = tl_strf("%s/", rel);
                        listing_into(p, sub, lines, n);
                }
        }
        closedir(d);
}

static inline char *listing(const char *dir) {
        char **lines = NULL;
        size_t n = 0;
        listing_into(dir, "", &lines, &n);
        if (n)
                qsort(lines, n, sizeof(char *), cmp_str);
        char *out = strdup("");
        for (size_t i = 0; i < n; i++) {
                char *o = tl_strf("%s%s\n", out, lines[i]);
                free(out);
                free(lines[i]);
                out = o;
        }
        free(lines);
        return out;
}

static inline void stage_ok(struct fixture *fx, const char *version) {
        _cleanup_free_ char *why = NULL;
        int r = agent_release_stage(fx->stack_fd, version, fx->src_fd, fx->files, fx->n, &why);
        if (r < 0)
                fail_msg("stage %s: %s", version, ecl_reason_text(why, r));
}

/* ---- staging ---------------------------------------------------------------- */

