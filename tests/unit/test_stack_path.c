/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stack's own tree (stack-path.h): which manifest paths lie in it, and
 * which resolve in it under a root without leaving it through a link.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack-path.h"
#include "testlib.h"

#define STACKS "/var/lib/ecluse/stacks"

static void test_lexical(void **state) {
        (void) state;
        static const char *const good[] = {
                STACKS "/office/current/vmlinuz",
                STACKS "/office/current/boot/initrd.img",
                STACKS "/office/data/disk.qcow2",
                STACKS "/office/data/a/b/c.raw",
                STACKS "/office/data/...", /* a name, not a component that moves */
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (ecl_stack_path_check("office", good[i]) != 0)
                        fail_msg("%s refused", good[i]);
        static const char *const bad[] = {
                "/var/lib/ecluse/audit.log",
                "/etc/shadow",
                "/srv/office/disk.qcow2",
                STACKS "/other/current/vmlinuz",        /* another stack's tree */
                STACKS "/office2/current/vmlinuz",      /* a name that only starts alike */
                STACKS "/offic/current/vmlinuz",
                STACKS "/office/current/../../other/current/vmlinuz",
                STACKS "/office/current/../releases/1/vmlinuz",
                STACKS "/office/data/../../../audit.log",
                STACKS "/office/data/./disk.qcow2",
                STACKS "/office/current//vmlinuz",
                STACKS "/office//current/vmlinuz",
                "/var/lib/ecluse//stacks/office/current/vmlinuz",
                STACKS "/office/current/",
                STACKS "/office/current",
                STACKS "/office/data/",
                STACKS "/office/data/dir/",
                STACKS "/office/releases/1/vmlinuz",    /* only through current */
                STACKS "/office/state",
                STACKS "/office/console.log",
                STACKS "/office/vmlinuz",
                STACKS "/office/currentx/vmlinuz",
                "var/lib/ecluse/stacks/office/current/vmlinuz",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (ecl_stack_path_check("office", bad[i]) != -EINVAL)
                        fail_msg("%s accepted", bad[i]);
        /* A component longer than a file name can be. */
        char longname[sizeof STACKS "/office/data/" + 300];
        int n = snprintf(longname, sizeof longname, "%s", STACKS "/office/data/");
        memset(longname + n, 'a', 256);
        longname[n + 256] = '\0';
        assert_int_equal(ecl_stack_path_check("office", longname), -EINVAL);
        assert_int_equal(ecl_stack_path_check("", STACKS "//current/x"), -EINVAL);
        assert_int_equal(ecl_stack_path_check("..", STACKS "/../current/x"), -EINVAL);
        assert_int_equal(ecl_stack_path_check(NULL, STACKS "/office/current/x"), -EINVAL);
}

/*
 * A root with two stacks:
 *   office/releases/1/{vmlinuz,boot/initrd}, office/current -> releases/1,
 *   office/data/disk.qcow2, other/current/vmlinuz (a directory), audit.log.
 */
struct tree {
        char *root;
        char *stacks;
};

static void mk(const struct tree *t, const char *rel) {
        _cleanup_free_ char *p = tl_strf("%s/%s", t->stacks, rel);
        if (mkdir(p, 0755) < 0)
                fail_msg("mkdir %s: %s", p, strerror(errno));
}

static void put(const struct tree *t, const char *rel) {
        _cleanup_free_ char *p = tl_strf("%s/%s", t->stacks, rel);
        tl_write_file(p, "x", 1);
}

static void ln(const struct tree *t, const char *target, const char *rel) {
        _cleanup_free_ char *p = tl_strf("%s/%s", t->stacks, rel);
        if (symlink(target, p) < 0)
                fail_msg("symlink %s: %s", p, strerror(errno));
}

static int setup(void **state) {
        struct tree *t = calloc(1, sizeof *t);
        assert_non_null(t);
        t->root = tl_mkdtemp();
        _cleanup_free_ char *var = tl_strf("%s/var", t->root), *lib = tl_strf("%s/var/lib", t->root),
                            *ecl = tl_strf("%s/var/lib/ecluse", t->root), *log = tl_strf("%s/audit.log", ecl);
        t->stacks = tl_strf("%s/stacks", ecl);
        assert_int_equal(mkdir(var, 0755), 0);
        assert_int_equal(mkdir(lib, 0755), 0);
        assert_int_equal(mkdir(ecl, 0755), 0);
        assert_int_equal(mkdir(t->stacks, 0755), 0);
        tl_write_file(log, "{}\n", 3);
        mk(t, "office");
        mk(t, "office/releases");
        mk(t, "office/releases/1");
        mk(t, "office/releases/1/boot");
        put(t, "office/releases/1/vmlinuz");
        put(t, "office/releases/1/boot/initrd");
        ln(t, "releases/1", "office/current");
        mk(t, "office/data");
        put(t, "office/data/disk.qcow2");
        mk(t, "other");
        mk(t, "other/current");
        put(t, "other/current/vmlinuz");
        *state = t;
        return 0;
}

static int teardown(void **state) {
        struct tree *t = *state;
        tl_rm_rf(t->root);
        free(t->root);
        free(t->stacks);
        free(t);
        return 0;
}

/* ecl_stack_path_open() on path gives r; a problem that mentions `words` when it fails. */
static void expect(const struct tree *t, const char *stack, const char *path, int r, const char *words) {
        _cleanup_free_ char *problem = NULL;
        int fd = -1;
        int got = ecl_stack_path_open(t->root, stack, path, &fd, &problem);
        if (got != r)
                fail_msg("%s: %d (%s), expected %d", path, got, problem ? problem : "no problem", r);
        if (r == 0) {
                assert_null(problem);
                assert_true(fd >= 0);
                struct stat st;
                assert_int_equal(fstat(fd, &st), 0);
                assert_true(S_ISREG(st.st_mode));
                close(fd);
                return;
        }
        assert_int_equal(fd, -1);
        assert_non_null(problem);
        if (words && !strstr(problem, words))
                fail_msg("%s: problem '%s' does not say '%s'", path, problem, words);
}

static void test_allowed(void **state) {
        struct tree *t = *state;
        expect(t, "office", STACKS "/office/current/vmlinuz", 0, NULL);
        expect(t, "office", STACKS "/office/current/boot/initrd", 0, NULL);
        expect(t, "office", STACKS "/office/data/disk.qcow2", 0, NULL);
        /* current as a plain directory is in the tree too */
        expect(t, "other", STACKS "/other/current/vmlinuz", 0, NULL);
        /* without a descriptor asked for */
        assert_int_equal(ecl_stack_path_open(t->root, "office", STACKS "/office/current/vmlinuz", NULL, NULL), 0);
        /* root "" and root "/" are the same as a root with a trailing slash */
        _cleanup_free_ char *slashed = tl_strf("%s/", t->root);
        assert_int_equal(ecl_stack_path_open(slashed, "office", STACKS "/office/data/disk.qcow2", NULL, NULL), 0);
}

static void test_outside_the_tree(void **state) {
        struct tree *t = *state;
        expect(t, "office", "/var/lib/ecluse/audit.log", -EINVAL, "not a file in the trees of stack office");
        expect(t, "office", STACKS "/office/current/../../../audit.log", -EINVAL, NULL);
        expect(t, "office", STACKS "/office/data/../current/vmlinuz", -EINVAL, NULL);
        expect(t, "office", STACKS "/other/current/vmlinuz", -EINVAL, NULL);
        expect(t, "office", STACKS "/office/releases/1/vmlinuz", -EINVAL, NULL);
}

static void test_links_refused(void **state) {
        struct tree *t = *state;
        /* inside the release, a link to the audit log (absolute: it would be read under no root) */
        _cleanup_free_ char *log = tl_strf("%s/var/lib/ecluse/audit.log", t->root);
        ln(t, log, "office/releases/1/log");
        expect(t, "office", STACKS "/office/current/log", -ELOOP,
               STACKS "/office/current/log is a symbolic link");
        ln(t, "../../../audit.log", "office/releases/1/rel-log");
        expect(t, "office", STACKS "/office/current/rel-log", -ELOOP, "symbolic link");
        /* data/x -> ../current/vmlinuz: it stays in the stack, but no link is followed but current */
        ln(t, "../current/vmlinuz", "office/data/x");
        expect(t, "office", STACKS "/office/data/x", -ELOOP, STACKS "/office/data/x is a symbolic link");
        /* a link to a directory on the way */
        ln(t, "boot", "office/releases/1/b");
        expect(t, "office", STACKS "/office/current/b/initrd", -ELOOP, STACKS "/office/current/b is a symbolic link");
        /* data itself a link into the release */
        mk(t, "third");
        mk(t, "third/releases");
        ln(t, "../office/data", "third/data");
        expect(t, "third", STACKS "/third/data/disk.qcow2", -ELOOP, STACKS "/third/data is a symbolic link");
        /* the stack's directory a link to another stack's */
        ln(t, "office", "alias");
        expect(t, "alias", STACKS "/alias/current/vmlinuz", -ELOOP, STACKS "/alias is a symbolic link");
        /* a link to a device, or a FIFO, is refused as a link; the files themselves as not regular */
        ln(t, "/dev/null", "office/data/null");
        expect(t, "office", STACKS "/office/data/null", -ELOOP, NULL);
        _cleanup_free_ char *fifo = tl_strf("%s/office/data/fifo", t->stacks);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        expect(t, "office", STACKS "/office/data/fifo", -EINVAL, "not a regular file");
        mk(t, "office/data/dir");
        expect(t, "office", STACKS "/office/data/dir", -EINVAL, "not a regular file");
        expect(t, "office", STACKS "/office/data/disk.qcow2/x", -ENOTDIR,
               STACKS "/office/data/disk.qcow2 is not a directory");
}

static void test_current(void **state) {
        struct tree *t = *state;
        static const struct {
                const char *stack, *target;
                int r;
                const char *words;
        } cases[] = {
                {"c1", "/var/lib/ecluse", -EXDEV, "points to '/var/lib/ecluse', not to releases/VERSION"},
                {"c2", "../office/releases/1", -EXDEV, "not to releases/VERSION"},
                {"c3", "releases/../../office/current", -EXDEV, NULL},
                {"c4", "releases/1/boot", -EXDEV, NULL},          /* VERSION is one component */
                {"c5", "releases", -EXDEV, NULL},
                {"c6", "releases/", -EXDEV, NULL},
                {"c7", "./releases/1", -EXDEV, NULL},
                {"c8", "releases/2", -ENOENT, "points to 'releases/2', which does not exist"},
                {"c9", "releases/file", -ENOTDIR, "not a directory"},
                {"c10", "releases/link", -ELOOP, "a symbolic link"},
                {"c11", "releases/1", 0, NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *dir = tl_strf("%s", cases[i].stack), *rel = tl_strf("%s/releases", dir),
                                    *one = tl_strf("%s/releases/1", dir), *f = tl_strf("%s/releases/1/vmlinuz", dir),
                                    *file = tl_strf("%s/releases/file", dir), *lnk = tl_strf("%s/releases/link", dir),
                                    *cur = tl_strf("%s/current", dir),
                                    *path = tl_strf(STACKS "/%s/current/vmlinuz", cases[i].stack);
                mk(t, dir);
                mk(t, rel);
                mk(t, one);
                put(t, f);
                put(t, file);
                ln(t, "1", lnk);
                ln(t, cases[i].target, cur);
                expect(t, cases[i].stack, path, cases[i].r, cases[i].words);
        }
        /* releases/ itself a link */
        mk(t, "c12");
        ln(t, "../office/releases", "c12/releases");
        ln(t, "releases/1", "c12/current");
        expect(t, "c12", STACKS "/c12/current/vmlinuz", -ELOOP, "but releases/ is a symbolic link");
        /* only the first component may be current: data/current is no exception */
        ln(t, "releases/1", "office/data/current");
        expect(t, "office", STACKS "/office/data/current/vmlinuz", -ELOOP, NULL);
}

static void test_missing(void **state) {
        struct tree *t = *state;
        expect(t, "office", STACKS "/office/current/nothing", -ENOENT, STACKS "/office/current/nothing does not exist");
        expect(t, "office", STACKS "/office/data/no/disk.raw", -ENOENT, STACKS "/office/data/no does not exist");
        expect(t, "nostack", STACKS "/nostack/data/disk.raw", -ENOENT, STACKS "/nostack does not exist");
        _cleanup_free_ char *empty = tl_mkdtemp();
        _cleanup_free_ char *problem = NULL;
        assert_int_equal(ecl_stack_path_open(empty, "office", STACKS "/office/data/d", NULL, &problem), -ENOENT);
        assert_string_equal(problem, STACKS " does not exist");
        tl_rm_rf(empty);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lexical),
                cmocka_unit_test_setup_teardown(test_allowed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_outside_the_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_links_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
