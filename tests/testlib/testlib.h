/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Helpers for the cmocka tests: scratch directories, files, and running the
 * real programs with their output captured.  Paths to the source tree and
 * the built programs come from the build (ECLUSE_SOURCE_DIR, ECLUSE_SHIM_BIN,
 * ECLUSE_AGENT_BIN).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"

/* A fresh directory under $TMPDIR (or /tmp); caller frees the string. */
char *tl_mkdtemp(void);
/* A new temporary directory whose absolute path has exactly len bytes (a long --root). */
char *tl_mkdtemp_len(size_t len);
/* rm -rf, for scratch trees only. */
void tl_rm_rf(const char *path);
/* Whole file into a NUL-terminated buffer; NULL on error. */
char *tl_read_file(const char *path, size_t *len);
/* Create or replace a file with data (len bytes); asserts on failure. */
void tl_write_file(const char *path, const void *data, size_t len);
/* mkdir -p path (mode 0755); asserts on failure. */
void tl_mkdir_p(const char *path);
/* The names in dir but "." and "..", sorted, joined by ' ' ("" when empty); caller frees. */
char *tl_dir_names(const char *dir);
/* printf into a new string; asserts on failure. */
char *tl_strf(const char *fmt, ...) _printf_(1, 2);
/* text with its line `line` (1-based) replaced by `with` and a newline, or removed when with is NULL. */
char *tl_replace_line(const char *text, unsigned line, const char *with);

struct ecl_diags;
/* Every diagnostic as ecl_diag_format() writes it, joined by newlines ("" for none); then cleared. */
char *tl_diags_text(struct ecl_diags *d);

struct tl_result {
        int status;   /* exit status, or 128+signal */
        char *out;    /* captured stdout, NUL-terminated */
        char *err;    /* captured stderr */
};
/* Run argv (argv[0] a path) with stdin from /dev/null; never via a shell. */
void tl_run(char *const argv[], struct tl_result *res);
void tl_result_free(struct tl_result *res);
/* True when the program can be found on PATH. */
int tl_have_program(const char *name);

/*
 * For the tests labelled "system" (root, network namespaces, QEMU): what the
 * test needs is missing.  It fails, so CI cannot pass what it did not run;
 * with ECLUSE_ALLOW_SKIP=1 in the environment (a developer without root) it
 * is skipped instead.  Call it where the test would otherwise skip.
 */
#define tl_require(ok, what) tl_require_at(!!(ok), (what), __FILE__, __LINE__)
#define tl_require_root() tl_require(geteuid() == 0, "root")
void tl_require_at(int ok, const char *what, const char *file, int line);
/* A uid (and gid) that is not the caller's: 65534, or 65533 when running as 65534. */
uid_t tl_stranger_id(void);
