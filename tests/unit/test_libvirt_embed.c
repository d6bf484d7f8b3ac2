/* SPDX-License-Identifier: Apache-2.0 */
/* shim/libvirt-embed: the embedded root, its qemu.conf and the URI. */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvirt-embed.h"
#include "testlib.h"

static void test_prepare(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *dir = NULL;
        assert_int_equal(shim_embed_prepare(root, "office", &dir), 0);
        _cleanup_free_ char *want = tl_strf("%s/var/lib/ecluse/libvirt/office", root);
        assert_string_equal(dir, want);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);

        _cleanup_free_ char *conf = tl_strf("%s/etc/qemu.conf", dir);
        assert_int_equal(stat(conf, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        _cleanup_free_ char *text = tl_read_file(conf, NULL);
        assert_non_null(text);
        assert_non_null(strstr(text, "\nseccomp_sandbox = 1\n"));
        assert_non_null(strstr(text, "\nstdio_handler = \"file\"\n"));
        assert_non_null(strstr(text, "\nnamespaces = [ ]\n"));
        assert_non_null(strstr(text, "\nremember_owner = 0\n"));

        /* a second run rewrites an edited file */
        tl_write_file(conf, "seccomp_sandbox = 0\n", 20);
        free(dir);
        dir = NULL;
        assert_int_equal(shim_embed_prepare(root, "office", &dir), 0);
        free(text);
        text = tl_read_file(conf, NULL);
        assert_string_equal(text, SHIM_EMBED_QEMU_CONF);
        tl_rm_rf(root);
}

static void test_prepare_refuses_file(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *d = tl_strf("%s/var/lib/ecluse", root);
        _cleanup_free_ char *f = tl_strf("%s/libvirt", d);
        _cleanup_free_ char *var = tl_strf("%s/var", root), *lib = tl_strf("%s/var/lib", root);
        assert_int_equal(mkdir(var, 0755), 0);
        assert_int_equal(mkdir(lib, 0755), 0);
        assert_int_equal(mkdir(d, 0755), 0);
        tl_write_file(f, "x", 1);
        _cleanup_free_ char *dir = NULL;
        assert_true(shim_embed_prepare(root, "office", &dir) < 0);
        assert_null(dir);
        assert_int_equal(shim_embed_prepare("/tmp", "../x", &dir), -EINVAL);
        assert_null(dir);
        tl_rm_rf(root);
}

static void test_uri(void **state) {
        (void) state;
        _cleanup_free_ char *u = NULL;
        assert_int_equal(shim_embed_uri("/var/lib/ecluse/libvirt", &u), 0);
        assert_string_equal(u, "qemu:///embed?root=/var/lib/ecluse/libvirt");
        free(u);
        assert_int_equal(shim_embed_uri("/tmp/a b&c=d%e?f#g", &u), 0);
        assert_string_equal(u, "qemu:///embed?root=/tmp/a%20b%26c%3Dd%25e%3Ff%23g");
        free(u);
        u = NULL;

        bool embed = false;
        assert_int_equal(shim_connect_uri("", "office", "qemu:///system", &u, &embed), 0);
        assert_string_equal(u, "qemu:///system");
        assert_false(embed);
        free(u);
        u = NULL;
        assert_int_equal(shim_connect_uri("", "office", "qemu:///embed?root=/x", &u, &embed), -EINVAL);
        assert_null(u);
        assert_true(shim_uri_is_embed(NULL));
        assert_true(shim_uri_is_embed("qemu:///embed?root=/x"));
        assert_false(shim_uri_is_embed("qemu+ssh://h/system"));
}

/* The escaped URI really names the root: libvirt creates its tree there. */
static void test_uri_opens(void **state) {
        (void) state;
        if (geteuid() != 0)
                skip();
        _cleanup_free_ char *base = tl_mkdtemp();
        _cleanup_free_ char *root = tl_strf("%s/odd root&x=%%41", base);
        assert_int_equal(mkdir(root, 0755), 0);
        _cleanup_free_ char *uri = NULL;
        bool embed = false;
        assert_int_equal(shim_connect_uri(root, "office", NULL, &uri, &embed), 0);
        assert_true(embed);
        /* the embedded driver needs an event loop, as in `run` */
        assert_int_equal(virEventRegisterDefaultImpl(), 0);
        virConnectPtr c = virConnectOpen(uri);
        assert_non_null(c);
        /* a second connection from another process fails while this one is open:
         * checked by the e2e test; here the driver's lock file must exist */
        _cleanup_free_ char *pid = tl_strf("%s/var/lib/ecluse/libvirt/office/run/qemu/driver.pid", root);
        assert_int_equal(access(pid, F_OK), 0);
        virConnectClose(c);
        tl_rm_rf(base);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prepare),
                cmocka_unit_test(test_prepare_refuses_file),
                cmocka_unit_test(test_uri),
                cmocka_unit_test(test_uri_opens),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
