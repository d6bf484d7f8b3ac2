/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (opening files as other uids) */
/* shim/file-acl: a named-user ACL entry gives exactly that uid access, and nothing else changes. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "file-acl.h"
#include "testlib.h"

#define UID_A 0x7f000123u
#define UID_B 0x7f000124u

/* Whether uid (with gid = uid and no other group) can open path read-write: 1, 0, or -1 on failure. */
static int can_open_as(const char *path, uid_t uid) {
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                        _exit(2);
                int fd = open(path, O_RDWR | O_CLOEXEC);
                _exit(fd >= 0 ? 0 : errno == EACCES ? 1 : 3);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status) == 0 ? 1 : WEXITSTATUS(status) == 1 ? 0 : -1;
}

static int count_user_entries(const char *path, uid_t uid) {
        uint8_t buf[1024];
        ssize_t n = getxattr(path, "system.posix_acl_access", buf, sizeof buf);
        if (n < 4)
                return -1;
        int count = 0;
        for (ssize_t off = 4; off + 8 <= n; off += 8) {
                uint16_t tag = (uint16_t) (buf[off] | buf[off + 1] << 8);
                uint32_t id = (uint32_t) buf[off + 4] | (uint32_t) buf[off + 5] << 8 | (uint32_t) buf[off + 6] << 16 |
                              (uint32_t) buf[off + 7] << 24;
                if (tag == 0x02 && id == uid)
                        count++;
        }
        return count;
}

/* DIR/dev, searchable DIR, the file of that mode and group. */
static char *make_file(char **ret_dir, mode_t mode, gid_t gid) {
        *ret_dir = tl_mkdtemp();
        assert_int_equal(chmod(*ret_dir, 0755), 0);
        char *f = tl_strf("%s/dev", *ret_dir);
        int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(fchown(fd, 0, gid), 0);
        close(fd);
        return f;
}

static void test_allow_user(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *f = make_file(&dir, 0600, 0);
        assert_int_equal(can_open_as(f, UID_A), 0);
        int r = shim_acl_allow_user(f, UID_A, 6, NULL);
        tl_require(r != -EOPNOTSUPP, "a file system with POSIX ACLs under $TMPDIR");
        assert_int_equal(r, 0);
        assert_int_equal(can_open_as(f, UID_A), 1);
        assert_int_equal(can_open_as(f, UID_B), 0); /* only that uid */
        struct stat st;
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 0707, 0600); /* owner and others unchanged; the group bits show the mask */
        /* again: no second entry */
        assert_int_equal(shim_acl_allow_user(f, UID_A, 6, NULL), 0);
        assert_int_equal(count_user_entries(f, UID_A), 1);
        /* a second uid keeps the first */
        assert_int_equal(shim_acl_allow_user(f, UID_B, 6, NULL), 0);
        assert_int_equal(can_open_as(f, UID_A), 1);
        assert_int_equal(can_open_as(f, UID_B), 1);
        assert_int_equal(count_user_entries(f, UID_A), 1);
        assert_int_equal(count_user_entries(f, UID_B), 1);
        tl_rm_rf(dir);
}

static void test_group_access_kept(void **state) {
        (void) state;
        tl_require_root();
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ char *f = make_file(&dir, 0660, UID_B); /* the file's group is B's gid, as /dev/kvm is kvm's */
        assert_int_equal(can_open_as(f, UID_B), 1);
        int r = shim_acl_allow_user(f, UID_A, 6, NULL);
        tl_require(r != -EOPNOTSUPP, "a file system with POSIX ACLs under $TMPDIR");
        assert_int_equal(r, 0);
        assert_int_equal(can_open_as(f, UID_A), 1);
        assert_int_equal(can_open_as(f, UID_B), 1); /* the owning group keeps rw under the mask */
        tl_rm_rf(dir);
}

static void test_link_refused(void **state) {
        (void) state;
        _cleanup_free_ char *dir = tl_mkdtemp();
        _cleanup_free_ char *f = tl_strf("%s/f", dir), *l = tl_strf("%s/l", dir);
        int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(symlink(f, l), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(shim_acl_allow_user(l, UID_A, 6, &why), -ELOOP);
        assert_non_null(strstr(why, "/l is a symbolic link: its ACL is not changed"));
        assert_int_equal(getxattr(f, "system.posix_acl_access", NULL, 0), -1);
        _cleanup_free_ char *missing = tl_strf("%s/missing", dir);
        assert_int_equal(shim_acl_allow_user(missing, UID_A, 6, NULL), -ENOENT);
        tl_rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allow_user),
                cmocka_unit_test(test_group_access_kept),
                cmocka_unit_test(test_link_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
