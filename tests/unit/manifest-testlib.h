/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What the manifest's test files share: loading a manifest that must load, or must not. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest-internal.h"
#include "manifest.h"
#include "testlib.h"

static inline struct ecl_manifest *load_ok(const char *path) {
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        int r = ecl_manifest_load_file(path, &m, &d);
        if (r < 0)
                ecl_diags_print(&d, stderr);
        assert_int_equal(r, 0);
        assert_int_equal(d.n, 0);
        assert_non_null(m);
        ecl_diags_clear(&d);
        return m;
}

static inline struct ecl_manifest *load_example(const char *name) {
        _cleanup_free_ char *p = tl_strf("%s/manifests/%s", ECLUSE_SOURCE_DIR, name);
        return load_ok(p);
}

/* Load text that must fail; returns every diagnostic joined by newlines. */
static inline char *load_bad(const char *text, int expect_r) {
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        assert_int_equal(ecl_manifest_load_buffer("t.yaml", text, strlen(text), &m, &d), expect_r);
        assert_null(m);
        assert_true(d.n > 0);
        return tl_diags_text(&d);
}

static const char head[] =
        "ecluse: 1\nstack: t\nlicensor: L\nvm:\n  memory: 64MiB\n  kernel: /var/lib/ecluse/stacks/t/current/k\n";

static inline char *load_bad_with(const char *tail) {
        _cleanup_free_ char *text = tl_strf("%s%s", head, tail);
        return load_bad(text, -EBADMSG);
}

static inline void assert_cidr(const struct ecl_cidr *c, int family, const char *text) {
        char buf[ECL_CIDR_STRLEN];
        assert_int_equal(c->family, family);
        assert_string_equal(ecl_cidr_format(c, buf, sizeof buf), text);
}


static inline struct ecl_manifest *load_ok_with(const char *tail) {
        _cleanup_free_ char *text = tl_strf("%s%s", head, tail);
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        int r = ecl_manifest_load_buffer("t.yaml", text, strlen(text), &m, &d);
        if (r < 0)
                ecl_diags_print(&d, stderr);
        assert_int_equal(r, 0);
        assert_int_equal(d.n, 0);
        ecl_diags_clear(&d);
        return m;
}

