/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ecluse-shim render` (shim/cmd-render.c), run as a program: usage errors,
 * bad manifests, and the domain of every good manifest of the tree on stdout.
 */
#include <errno.h>
#include <glob.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "accel.h"
#include "domain-check.h"
#include "domain.h"
#include "names.h"
#include "testlib.h"

static void run(struct tl_result *res, const char *a1, const char *a2, const char *a3, const char *a4,
                const char *a5) {
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) a1, (char *) a2, (char *) a3, (char *) a4, (char *) a5,
                        NULL};
        tl_run(argv, res);
}

static void assert_usage(const char *a1, const char *a2, const char *a3, const char *a4) {
        struct tl_result res;
        run(&res, a1, a2, a3, a4, NULL);
        if (res.status != 64)
                fail_msg("render %s %s %s: status %d, not 64 (stderr: %s)", a2 ? a2 : "", a3 ? a3 : "", a4 ? a4 : "",
                         res.status, res.err);
        assert_string_equal(res.out, "");
        assert_non_null(strstr(res.err, "ecluse-shim: error: "));
        tl_result_free(&res);
}

static void test_usage_errors(void **state) {
        (void) state;
        assert_usage("render", NULL, NULL, NULL);
        assert_usage("render", "--domain", NULL, NULL);
        assert_usage("render", "a.yaml", "b.yaml", NULL);
        assert_usage("render", "a.yaml", "--domain", "--policy");
        assert_usage("render", "a.yaml", "--xml", NULL);
        assert_usage("render", "--root", NULL, NULL); /* --root without its value */
        assert_usage("render", "a.yaml", "--accel", "auto");
        assert_usage("render", "a.yaml", "--accel=kvm", "--probe");
        assert_usage("render", "a.yaml", "--policy", "--probe");
        assert_usage("render", "a.yaml", "--accel", NULL);

        struct tl_result res;
        run(&res, "--help", NULL, NULL, NULL, NULL);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "render [--domain] [--policy] [--accel kvm|tcg] [--probe] MANIFEST"));
        tl_result_free(&res);
}

/* A missing file is missing input (66) once the loader is in; never a rendered domain. */
static void test_missing_manifest(void **state) {
        (void) state;
        struct tl_result res;
        run(&res, "render", "/nonexistent/ecluse/none.yaml", "--domain", NULL, NULL);
        assert_int_not_equal(res.status, 0);
        assert_string_equal(res.out, "");
        assert_true(strlen(res.err) > 0);
        tl_result_free(&res);
}

static size_t glob_tree(const char *const *patterns, size_t n, glob_t *g) {
        *g = (glob_t){0};
        for (size_t i = 0; i < n; i++) {
                int r = glob(patterns[i], g->gl_pathc > 0 ? GLOB_APPEND : 0, NULL, g);
                if (r != 0 && r != GLOB_NOMATCH)
                        fail_msg("glob %s failed", patterns[i]);
        }
        return g->gl_pathc;
}

/* Every bad manifest: diagnostics, status 65, nothing on stdout.  Skipped while there are none. */
static void test_bad_manifests(void **state) {
        (void) state;
        static const char *const patterns[] = {ECLUSE_SOURCE_DIR "/tests/data/manifests/bad/*.yaml"};
        glob_t g;
        if (glob_tree(patterns, ELEMENTSOF(patterns), &g) == 0) {
                globfree(&g);
                skip();
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                struct tl_result res;
                run(&res, "render", g.gl_pathv[i], "--domain", NULL, NULL);
                if (res.status != 65)
                        fail_msg("%s: status %d, not 65 (stderr: %s)", g.gl_pathv[i], res.status, res.err);
                assert_string_equal(res.out, "");
                assert_non_null(strstr(res.err, ": error: "));
                tl_result_free(&res);
        }
        globfree(&g);
}

/*
 * Every good manifest, with and without --domain (the default), under a
 * --root: exactly one domain document on stdout, the one the library builds,
 * with the console under the root.  Skipped while the tree has none.
 */
static void test_good_manifests(void **state) {
        (void) state;
        static const char *const patterns[] = {
                ECLUSE_SOURCE_DIR "/manifests/*.yaml",
                ECLUSE_SOURCE_DIR "/tests/data/manifests/good/*.yaml",
        };
        glob_t g;
        if (glob_tree(patterns, ELEMENTSOF(patterns), &g) == 0) {
                globfree(&g);
                skip();
        }
        _cleanup_free_ char *root = tl_mkdtemp();
        for (size_t i = 0; i < g.gl_pathc; i++) {
                struct tl_result with, without;
                run(&with, "--root", root, "render", g.gl_pathv[i], "--domain");
                if (with.status != 0)
                        fail_msg("render %s: status %d (stderr: %s)", g.gl_pathv[i], with.status, with.err);
                run(&without, "render", g.gl_pathv[i], "--root", root, NULL);
                assert_int_equal(without.status, 0);
                assert_string_equal(with.out, without.out);
                /* Nothing on stderr but, for accel auto, that it is rendered as tcg without a probe. */
                assert_true(with.err[0] == '\0' || strstr(with.err, "accel auto rendered as tcg"));

                struct ecl_diags diags = {0};
                _cleanup_manifest_ struct ecl_manifest *m = NULL;
                assert_int_equal(ecl_manifest_load_file(g.gl_pathv[i], &m, &diags), 0);
                ecl_diags_clear(&diags);
                /* the embedded driver (no --connect): QEMU as the stack's own identity */
                struct shim_domain_opts o = {.root = root, .accel = m->vm.accel, .qemu_id = shim_qemu_id(m->stack)};
                if (o.accel == ECL_ACCEL_AUTO)
                        o.accel = ECL_ACCEL_TCG;
                _cleanup_free_ char *want = NULL;
                assert_int_equal(shim_domain_render(m, &o, &want, NULL), 0);
                assert_string_equal(with.out, want);

                xmlDocPtr doc = xmlReadMemory(with.out, (int) strlen(with.out), "out.xml", NULL, XML_PARSE_NONET);
                assert_non_null(doc);
                char tap[IFNAMSIZ];
                shim_tap_name(m->stack, 0, tap);
                _cleanup_free_ char *v = NULL;
                assert_int_equal(shim_domain_check_cut(doc, m->has_network ? tap : NULL, &v), 0);
                assert_int_equal(shim_domain_check_identity(doc, shim_qemu_id(m->stack), &v), 0);
                if (m->console == ECL_CONSOLE_LOG) {
                        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
                        xmlXPathObjectPtr p = xmlXPathEvalExpression(
                                (const xmlChar *) "string(/domain/devices/serial/source/@path)", ctx);
                        _cleanup_free_ char *console = tl_strf("%s/var/lib/ecluse/stacks/%s/console.pipe", root,
                                                               m->stack);
                        assert_string_equal((const char *) p->stringval, console);
                        xmlXPathFreeObject(p);
                        xmlXPathFreeContext(ctx);
                }
                xmlFreeDoc(doc);
                tl_result_free(&with);
                tl_result_free(&without);
        }
        globfree(&g);
        tl_rm_rf(root);
}

/* Under qemu:///system the daemon's qemu.conf decides QEMU's user: no seclabel of ecluse's. */
static void test_system_has_no_identity(void **state) {
        (void) state;
        const char *path = ECLUSE_SOURCE_DIR "/manifests/minimal.yaml";
        if (access(path, R_OK) != 0)
                skip();
        struct tl_result res;
        run(&res, "--connect", "qemu:///system", "render", path, "--domain");
        assert_int_equal(res.status, 0);
        assert_null(strstr(res.out, "<seclabel type=\"static\""));
        xmlDocPtr doc = xmlReadMemory(res.out, (int) strlen(res.out), "out.xml", NULL, XML_PARSE_NONET);
        assert_non_null(doc);
        _cleanup_free_ char *v = NULL;
        assert_int_equal(shim_domain_check_identity(doc, shim_qemu_id("minimal"), &v), -EPERM);
        assert_non_null(strstr(v, "no dac seclabel"));
        xmlFreeDoc(doc);
        tl_result_free(&res);
}

static int count(const char *s, const char *what) {
        int n = 0;
        for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
                n++;
        return n;
}

/*
 * render probes nothing unless asked: accel auto is tcg with a one-line
 * notice, or what --accel chooses; --probe runs the bounded KVM probe (here
 * against a device that does not exist, so its fallback warning tells that
 * it ran).  An accelerator the manifest names is rendered as it is.  A
 * stack's name is its configured manifest.
 */
static void test_accel_auto_without_probe(void **state) {
        (void) state;
        const char *minimal = ECLUSE_SOURCE_DIR "/manifests/minimal.yaml", /* accel auto */
                *office = ECLUSE_SOURCE_DIR "/manifests/office.yaml";      /* accel kvm */
        if (access(minimal, R_OK) != 0 || access(office, R_OK) != 0)
                skip();
        _cleanup_free_ char *root = tl_mkdtemp(), *dev = tl_strf("%s/no-kvm", root);
        assert_int_equal(setenv(SHIM_ACCEL_PROBE_DEV_ENV, dev, 1), 0);
        struct tl_result res;

        run(&res, "--root", root, "render", minimal, NULL);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "<domain type=\"qemu\">"));
        assert_string_equal(res.err, "ecluse-shim: notice: stack minimal: accel auto rendered as tcg, without probing "
                                     "KVM (--probe renders what this host would get, --accel kvm|tcg chooses)\n");
        tl_result_free(&res);

        run(&res, "--root", root, "render", minimal, "--accel=kvm");
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "<domain type=\"kvm\">"));
        assert_string_equal(res.err, "");
        tl_result_free(&res);
        run(&res, "--root", root, "render", "--accel", "tcg");
        assert_int_equal(res.status, 64); /* --accel takes its value, MANIFEST is still wanted */
        tl_result_free(&res);
        char *tcg[] = {(char *) ECLUSE_SHIM_BIN, (char *) "--root", root, (char *) "render", (char *) "--accel",
                       (char *) "tcg", (char *) minimal, NULL};
        tl_run(tcg, &res);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "<domain type=\"qemu\">"));
        assert_string_equal(res.err, "");
        tl_result_free(&res);

        run(&res, "--root", root, "render", minimal, "--probe");
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "<domain type=\"qemu\">"));
        assert_int_equal(count(res.err, "falling back to TCG"), 1);
        assert_null(strstr(res.err, "without probing"));
        tl_result_free(&res);

        /* kvm in the manifest: kvm, whatever the flags say of auto, and no probe */
        run(&res, "--root", root, "render", office, "--accel=tcg");
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "<domain type=\"kvm\">"));
        assert_string_equal(res.err, "");
        tl_result_free(&res);

        /* by the stack's name, under --root */
        _cleanup_free_ char *conf = tl_strf("%s/etc/ecluse/stacks", root), *conf_m = tl_strf("%s/minimal.yaml", conf);
        _cleanup_free_ char *text = tl_read_file(minimal, NULL);
        assert_non_null(text);
        tl_mkdir_p(conf);
        tl_write_file(conf_m, text, strlen(text));
        run(&res, "--root", root, "render", "minimal", "--accel=kvm");
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "<name>"));
        tl_result_free(&res);
        run(&res, "--root", root, "render", "nosuch", NULL);
        assert_int_equal(res.status, 66);
        assert_non_null(strstr(res.err, "/etc/ecluse/stacks/nosuch.yaml"));
        tl_result_free(&res);
        unsetenv(SHIM_ACCEL_PROBE_DEV_ENV);
        tl_rm_rf(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_usage_errors),
                cmocka_unit_test(test_missing_manifest),
                cmocka_unit_test(test_bad_manifests),
                cmocka_unit_test(test_good_manifests),
                cmocka_unit_test(test_system_has_no_identity),
                cmocka_unit_test(test_accel_auto_without_probe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
