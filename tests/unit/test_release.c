/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent/release: staging a release from the quarantined payload, verifying
 * it, switching current, recovering what a crash left, what a release holds
 * and how it compares with a bundle.  What a SIGKILL or a concurrent reader
 * may see is in test_release_crash.c.
 */
#include "release-fixture.h"
static void test_stage(void **state) {
        struct fixture *fx = *state;
        /* something in the quarantine that bundle.yaml does not list is not copied */
        _cleanup_free_ char *extra = tl_strf("%s/extra", fx->src);
        tl_write_file(extra, "x", 1);
        stage_ok(fx, "1.0");

        _cleanup_free_ char *rel = pathf(fx, "releases"), *v = pathf(fx, "releases/1.0");
        struct stat st;
        assert_int_equal(lstat(rel, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0711);
        assert_int_equal(lstat(v, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0711);
        for (size_t i = 0; i < fx->n; i++) {
                _cleanup_free_ char *p = tl_strf("%s/%s", v, fx->files[i].install);
                _cleanup_free_ char *s = tl_strf("%s/%s", fx->src, fx->files[i].install);
                assert_int_equal(lstat(p, &st), 0);
                assert_true(S_ISREG(st.st_mode));
                assert_int_equal(st.st_mode & 07777, 0600);
                assert_int_equal(st.st_nlink, 1);
                assert_int_equal(st.st_size, fx->files[i].size);
                size_t la = 0, lb = 0;
                _cleanup_free_ char *a = tl_read_file(p, &la), *b = tl_read_file(s, &lb);
                assert_non_null(a);
                assert_non_null(b);
                assert_int_equal(la, lb);
                assert_memory_equal(a, b, la);
        }
        /* only the listed files, no stage directory left */
        _cleanup_free_ char *l = listing(rel);
        assert_string_equal(l, "1.0 d 0711 2 0 \n"
                               "1.0/disk.qcow2 f 0600 1 3145745 \n"
                               "1.0/empty f 0600 1 0 \n"
                               "1.0/vmlinuz f 0600 1 70001 \n");
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), 0);

        /* once only */
        assert_int_equal(agent_release_stage(fx->stack_fd, "1.0", fx->src_fd, fx->files, fx->n, &why), -EEXIST);
        assert_string_equal(why, "releases/1.0 exists");
        _cleanup_free_ char *l2 = listing(rel);
        assert_string_equal(l, l2);
        /* whatever it is */
        _cleanup_free_ char *f = pathf(fx, "releases/2.0");
        tl_write_file(f, "", 0);
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, NULL), -EEXIST);
}

static void test_stage_refused(void **state) {
        struct fixture *fx = *state;
        stage_ok(fx, "1.0");
        _cleanup_free_ char *rel = pathf(fx, "releases");
        _cleanup_free_ char *before = listing(rel);
        _cleanup_free_ char *why = NULL;

        /* a wrong hash (the last file of three, after two were staged) */
        struct agent_bundle_file saved = fx->files[1];
        fx->files[1].sha256[5] ^= 1;
        fx->files[1].sha256_hex[11] = fx->files[1].sha256_hex[11] == '0' ? '1' : '0';
        struct agent_bundle_file order[3] = {fx->files[0], fx->files[2], fx->files[1]};
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, order, 3, &why), -EBADMSG);
        assert_non_null(strstr(why, "disk.qcow2: sha256 mismatch (staged copy "));
        assert_non_null(strstr(why, saved.sha256_hex)); /* what the copy really has */
        _cleanup_free_ char *after = listing(rel);
        assert_string_equal(before, after);
        fx->files[1] = saved;

        /* a wrong size */
        fx->files[0].size++;
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, &why), -EBADMSG);
        assert_non_null(strstr(why, "vmlinuz: size mismatch"));
        fx->files[0].size--;
        free(after);
        after = listing(rel);
        assert_string_equal(before, after);

        /* a quarantined file missing, or a link */
        _cleanup_free_ char *s = tl_strf("%s/vmlinuz", fx->src), *s2 = tl_strf("%s/vmlinuz.real", fx->src);
        assert_int_equal(rename(s, s2), 0);
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, &why), -ENOENT);
        assert_int_equal(symlink("vmlinuz.real", s), 0);
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, &why), -EBADMSG);
        assert_non_null(strstr(why, "vmlinuz (quarantined): a symbolic link"));
        assert_int_equal(unlink(s), 0);
        assert_int_equal(rename(s2, s), 0);
        free(after);
        after = listing(rel);
        assert_string_equal(before, after);

        /* names that are not plain file names, one name twice */
        assert_int_equal(agent_release_stage(fx->stack_fd, "../2.0", fx->src_fd, fx->files, fx->n, NULL), -EINVAL);
        assert_int_equal(agent_release_stage(fx->stack_fd, ".stage-2.0", fx->src_fd, fx->files, fx->n, NULL), -EINVAL);
        assert_int_equal(agent_release_stage(fx->stack_fd, "", fx->src_fd, fx->files, fx->n, NULL), -EINVAL);
        char *inst = fx->files[2].install;
        fx->files[2].install = (char *) "a/b";
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, NULL), -EINVAL);
        fx->files[2].install = fx->files[0].install;
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, &why), -EINVAL);
        assert_string_equal(why, "install name vmlinuz twice");
        fx->files[2].install = inst;
        free(after);
        after = listing(rel);
        assert_string_equal(before, after);

        /* a stage directory not recovered: busy, and left alone */
        _cleanup_free_ char *st = pathf(fx, "releases/.stage-2.0");
        assert_int_equal(mkdir(st, 0700), 0);
        free(before);
        before = listing(rel);
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, &why), -EBUSY);
        free(after);
        after = listing(rel);
        assert_string_equal(before, after);
        assert_int_equal(rmdir(st), 0);

        /* releases/ a link: refused, not followed */
        _cleanup_free_ char *elsewhere = tl_strf("%s/elsewhere", fx->root), *rel2 = pathf(fx, "releases.real");
        assert_int_equal(mkdir(elsewhere, 0700), 0);
        assert_int_equal(rename(rel, rel2), 0);
        assert_int_equal(symlink(elsewhere, rel), 0);
        assert_int_equal(agent_release_stage(fx->stack_fd, "2.0", fx->src_fd, fx->files, fx->n, &why), -ELOOP);
        assert_string_equal(why, "releases is a symbolic link (refused: never followed)");
        _cleanup_free_ char *el = listing(elsewhere);
        assert_string_equal(el, "");
        assert_int_equal(unlink(rel), 0);
        assert_int_equal(rename(rel2, rel), 0);

        /* and then it works */
        stage_ok(fx, "2.0");
        assert_int_equal(agent_release_verify(fx->stack_fd, "2.0", fx->files, fx->n, NULL), 0);
}

/* ---- verifying ---------------------------------------------------------------- */

static void test_verify(void **state) {
        struct fixture *fx = *state;
        stage_ok(fx, "1.0");
        _cleanup_free_ char *why = NULL;
        _cleanup_free_ char *disk = pathf(fx, "releases/1.0/disk.qcow2");
        _cleanup_free_ char *other = tl_strf("%s/other", fx->root);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), 0);

        /* one byte changed, deep in the file */
        int fd = open(disk, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        char c;
        assert_int_equal(pread(fd, &c, 1, 2 * 1024 * 1024 + 5), 1);
        char c2 = (char) (c ^ 0x40);
        assert_int_equal(pwrite(fd, &c2, 1, 2 * 1024 * 1024 + 5), 1);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -EBADMSG);
        assert_non_null(strstr(why, "disk.qcow2: sha256 mismatch (release "));
        assert_int_equal(pwrite(fd, &c, 1, 2 * 1024 * 1024 + 5), 1);
        /* one byte more */
        assert_int_equal(pwrite(fd, &c, 1, (off_t) fx->files[1].size), 1);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -EBADMSG);
        assert_non_null(strstr(why, "disk.qcow2: size mismatch"));
        assert_int_equal(ftruncate(fd, (off_t) fx->files[1].size), 0);
        close(fd);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), 0);

        /* a second hard link */
        assert_int_equal(link(disk, other), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -EBADMSG);
        assert_string_equal(why, "releases/1.0/disk.qcow2: 2 hard links (one only allowed)");
        assert_int_equal(unlink(other), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, NULL), 0);

        /* missing */
        assert_int_equal(rename(disk, other), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -ENOENT);
        assert_string_equal(why, "releases/1.0/disk.qcow2: missing");

        /* a link to the very same content */
        assert_int_equal(symlink(other, disk), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -EBADMSG);
        assert_non_null(strstr(why, "releases/1.0/disk.qcow2: a symbolic link"));
        assert_int_equal(unlink(disk), 0);
        /* a directory */
        assert_int_equal(mkdir(disk, 0700), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -EBADMSG);
        assert_int_equal(rmdir(disk), 0);
        assert_int_equal(rename(other, disk), 0);

        /* a file the bundle does not name is no concern of verify */
        _cleanup_free_ char *extra = pathf(fx, "releases/1.0/notes.txt");
        tl_write_file(extra, "hi", 2);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), 0);

        /* the release a link to a copy of it: refused */
        _cleanup_free_ char *v = pathf(fx, "releases/1.0"), *moved = pathf(fx, "releases/1.0.moved");
        assert_int_equal(rename(v, moved), 0);
        assert_int_equal(symlink("1.0.moved", v), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -ELOOP);
        assert_string_equal(why, "releases/1.0 is a symbolic link (refused: never followed)");
        assert_int_equal(unlink(v), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), -ENOENT);
        assert_string_equal(why, "releases/1.0 does not exist");
        assert_int_equal(rename(moved, v), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "1.0", fx->files, fx->n, &why), 0);
        assert_int_equal(agent_release_verify(fx->stack_fd, "..", fx->files, fx->n, NULL), -EINVAL);
}

/* ---- current ---------------------------------------------------------------- */

static char *current_link(const struct fixture *fx) {
        char buf[256];
        ssize_t n = readlinkat(fx->stack_fd, "current", buf, sizeof buf - 1);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return strdup(buf);
}

static void test_switch_and_current(void **state) {
        struct fixture *fx = *state;
        _cleanup_free_ char *why = NULL, *v = NULL;
        assert_int_equal(agent_release_current(fx->stack_fd, &v, &why), -ENOENT);
        /* nothing to switch to */
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", &why), -ENOENT);
        assert_string_equal(why, "releases does not exist");
        stage_ok(fx, "1.0");
        stage_ok(fx, "2.0");

        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", &why), 0);
        _cleanup_free_ char *l = current_link(fx);
        assert_string_equal(l, "releases/1.0");
        assert_int_equal(agent_release_current(fx->stack_fd, &v, &why), 0);
        assert_string_equal(v, "1.0");
        free(v);
        v = NULL;
        assert_int_equal(agent_release_switch(fx->stack_fd, "2.0", &why), 0);
        assert_int_equal(agent_release_current(fx->stack_fd, &v, &why), 0);
        assert_string_equal(v, "2.0");
        free(v);
        v = NULL;
        _cleanup_free_ char *cn = pathf(fx, ".current.new");
        struct stat st;
        assert_int_equal(lstat(cn, &st), -1);

        /* a leftover .current.new is replaced */
        assert_int_equal(symlink("/etc", cn), 0);
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", &why), 0);
        assert_int_equal(lstat(cn, &st), -1);
        free(l);
        l = current_link(fx);
        assert_string_equal(l, "releases/1.0");

        /* refused, current left as it was */
        assert_int_equal(agent_release_switch(fx->stack_fd, "3.0", &why), -ENOENT);
        assert_string_equal(why, "releases/3.0 does not exist");
        _cleanup_free_ char *f = pathf(fx, "releases/4.0"), *lnk = pathf(fx, "releases/5.0");
        tl_write_file(f, "", 0);
        assert_int_equal(agent_release_switch(fx->stack_fd, "4.0", &why), -ENOTDIR);
        assert_string_equal(why, "releases/4.0 is not a directory");
        assert_int_equal(symlink("2.0", lnk), 0);
        assert_int_equal(agent_release_switch(fx->stack_fd, "5.0", &why), -ENOTDIR);
        assert_int_equal(agent_release_switch(fx->stack_fd, "../releases/2.0", &why), -EINVAL);
        free(l);
        l = current_link(fx);
        assert_string_equal(l, "releases/1.0");

        /* current that is not releases/V */
        _cleanup_free_ char *cur = pathf(fx, "current");
        static const struct {
                const char *target, *reason;
        } bad[] = {
                {"/etc", "current points at /etc, not releases/VERSION"},
                {"releases/../releases/1.0", "current points at releases/../releases/1.0, not releases/VERSION"},
                {"releases/1.0/", "current points at releases/1.0/, not releases/VERSION"},
                {"./releases/1.0", "current points at ./releases/1.0, not releases/VERSION"},
                {"releases/.stage-1.0", "current points at releases/.stage-1.0, not releases/VERSION"},
                {"releases/", "current points at releases/, not releases/VERSION"},
                {"releases/9.9", "current points at releases/9.9, which does not exist"},
                {"releases/4.0", "current points at releases/4.0, which is not a directory"},
                {"releases/5.0", "current points at releases/5.0, which is not a directory"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(unlink(cur), 0);
                assert_int_equal(symlink(bad[i].target, cur), 0);
                assert_int_equal(agent_release_current(fx->stack_fd, &v, &why), -EBADMSG);
                assert_string_equal(why, bad[i].reason);
                assert_null(v);
        }
        /* switching mends it */
        assert_int_equal(agent_release_switch(fx->stack_fd, "2.0", &why), 0);
        assert_int_equal(agent_release_current(fx->stack_fd, &v, &why), 0);
        assert_string_equal(v, "2.0");
        free(v);
        v = NULL;

        /* a directory placed by hand as current: neither read as a release nor replaced */
        assert_int_equal(unlink(cur), 0);
        assert_int_equal(mkdir(cur, 0700), 0);
        assert_int_equal(agent_release_current(fx->stack_fd, &v, &why), -EBADMSG);
        assert_string_equal(why, "current is not a symbolic link to releases/VERSION");
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", &why), -EBADMSG);
        assert_non_null(strstr(why, "current is not a symbolic link"));
        assert_int_equal(lstat(cur, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(lstat(cn, &st), -1);
}

static void test_list(void **state) {
        struct fixture *fx = *state;
        _cleanup_strv_free_ char **v = NULL;
        assert_int_equal(agent_release_list(fx->stack_fd, &v, NULL), 0);
        assert_non_null(v);
        assert_null(v[0]);
        strv_free(TAKE_PTR(v));
        stage_ok(fx, "1.0");
        stage_ok(fx, "2.10");
        _cleanup_free_ char *f = pathf(fx, "releases/3.0"), *lnk = pathf(fx, "releases/4.0"),
                            *stg = pathf(fx, "releases/.stage-5.0");
        tl_write_file(f, "", 0);
        assert_int_equal(symlink("1.0", lnk), 0);
        assert_int_equal(mkdir(stg, 0700), 0);
        int n = agent_release_list(fx->stack_fd, &v, NULL);
        assert_int_equal(n, 2);
        qsort(v, (size_t) n, sizeof(char *), cmp_str);
        assert_string_equal(v[0], "1.0");
        assert_string_equal(v[1], "2.10");
        assert_null(v[2]);
}

static void test_recover(void **state) {
        struct fixture *fx = *state;
        _cleanup_free_ char *why = NULL;
        /* nothing there at all */
        assert_int_equal(agent_release_recover(fx->stack_fd, &why), 0);
        stage_ok(fx, "1.0");
        assert_int_equal(agent_release_switch(fx->stack_fd, "1.0", NULL), 0);
        _cleanup_free_ char *state_file = pathf(fx, "state"), *log = pathf(fx, "console.log"),
                            *hidden = pathf(fx, "releases/.hidden"), *data = pathf(fx, "data");
        tl_write_file(state_file, "s", 1);
        tl_write_file(log, "l", 1);
        tl_write_file(hidden, "h", 1);
        assert_int_equal(mkdir(data, 0700), 0);
        _cleanup_free_ char *expected = listing(fx->stack);

        /* what crashes leave: a stage with files and a subdirectory, a stage that is a file, a link, .current.new */
        _cleanup_free_ char *s1 = pathf(fx, "releases/.stage-2.0"), *s1f = pathf(fx, "releases/.stage-2.0/vmlinuz"),
                            *s1d = pathf(fx, "releases/.stage-2.0/sub"), *s1df = pathf(fx, "releases/.stage-2.0/sub/x"),
                            *s2 = pathf(fx, "releases/.stage-3.0"), *s3 = pathf(fx, "releases/.stage-4.0"),
                            *cn = pathf(fx, ".current.new");
        assert_int_equal(mkdir(s1, 0700), 0);
        tl_write_file(s1f, "partial", 7);
        assert_int_equal(mkdir(s1d, 0700), 0);
        tl_write_file(s1df, "x", 1);
        tl_write_file(s2, "", 0);
        assert_int_equal(symlink(fx->stack, s3), 0); /* removed, not followed */
        assert_int_equal(symlink("releases/2.0", cn), 0);
        assert_int_equal(agent_release_recover(fx->stack_fd, &why), 4);
        _cleanup_free_ char *after = listing(fx->stack);
        assert_string_equal(after, expected);
        assert_int_equal(agent_release_recover(fx->stack_fd, &why), 0);
        _cleanup_free_ char *again = listing(fx->stack);
        assert_string_equal(again, expected);
        _cleanup_free_ char *v = NULL;
        assert_int_equal(agent_release_current(fx->stack_fd, &v, NULL), 0);
        assert_string_equal(v, "1.0");
}

/* SIGKILL a child staging a big-ish release at several points: recovery leaves only complete releases. */
static void test_files_and_compare(void **state) {
        struct fixture *fx = *state;
        stage_ok(fx, "1.0");
        /* what is not a regular file is left out */
        _cleanup_free_ char *sub = pathf(fx, "releases/1.0/sub"), *lnk = pathf(fx, "releases/1.0/link");
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(symlink("vmlinuz", lnk), 0);
        struct agent_release_file *rf = NULL;
        size_t n = 0;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_release_files(fx->stack_fd, "1.0", &rf, &n, &why), 0);
        assert_int_equal(n, 3);
        /* sorted by name, hashed */
        assert_string_equal(rf[0].name, "disk.qcow2");
        assert_string_equal(rf[1].name, "empty");
        assert_string_equal(rf[2].name, "vmlinuz");
        assert_int_equal(rf[0].size, fx->files[1].size);
        assert_string_equal(rf[0].sha256_hex, fx->files[1].sha256_hex);
        assert_int_equal(rf[1].size, 0);
        assert_string_equal(rf[1].sha256_hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_string_equal(rf[2].sha256_hex, fx->files[0].sha256_hex);

        /* a bundle: vmlinuz the same, disk.qcow2 other bytes of the same size, empty gone, initrd new, */
        /* and a file of another size */
        struct agent_bundle_file b[4] = {fx->files[0], fx->files[1], {0}, fx->files[0]};
        set_hash(&b[1], "other", 5);
        b[1].size = fx->files[1].size;
        b[2].install = (char *) "initrd.img";
        set_hash(&b[2], "initrd", 6);
        struct agent_release_change *c = NULL;
        size_t nc = 0;
        assert_int_equal(agent_release_compare(rf, 3, b, 3, &c, &nc), 0);
        assert_int_equal(nc, 4);
        assert_string_equal(c[0].name, "disk.qcow2");
        assert_int_equal(c[0].change, AGENT_CHANGE_CHANGED);
        assert_string_equal(c[0].old_sha256, fx->files[1].sha256_hex);
        assert_string_equal(c[0].new_sha256, b[1].sha256_hex);
        assert_string_equal(c[1].name, "empty");
        assert_int_equal(c[1].change, AGENT_CHANGE_REMOVED);
        assert_null(c[1].new_sha256);
        assert_string_equal(c[2].name, "initrd.img");
        assert_int_equal(c[2].change, AGENT_CHANGE_ADDED);
        assert_int_equal(c[2].new_size, 6);
        assert_null(c[2].old_sha256);
        assert_string_equal(c[3].name, "vmlinuz");
        assert_int_equal(c[3].change, AGENT_CHANGE_SAME);
        assert_int_equal(c[3].old_size, c[3].new_size);
        assert_string_equal(agent_change_to_string(c[0].change), "changed");
        assert_string_equal(agent_change_to_string(c[1].change), "removed");
        assert_string_equal(agent_change_to_string(c[2].change), "added");
        assert_string_equal(agent_change_to_string(c[3].change), "same");
        free(c);

        /* the same hash but another size is a change too; the bundle's order does not matter */
        struct agent_bundle_file b2[3] = {fx->files[0], fx->files[2], fx->files[1]};
        b2[1].size = 1;
        assert_int_equal(agent_release_compare(rf, 3, b2, 3, &c, &nc), 0);
        assert_int_equal(nc, 3);
        assert_int_equal(c[0].change, AGENT_CHANGE_SAME);
        assert_string_equal(c[1].name, "empty");
        assert_int_equal(c[1].change, AGENT_CHANGE_CHANGED);
        assert_int_equal(c[1].old_size, 0);
        assert_int_equal(c[1].new_size, 1);
        assert_int_equal(c[2].change, AGENT_CHANGE_SAME);
        free(c);

        /* nothing running: everything added; nothing at all: nothing */
        assert_int_equal(agent_release_compare(NULL, 0, b2, 3, &c, &nc), 0);
        assert_int_equal(nc, 3);
        for (size_t i = 0; i < nc; i++)
                assert_int_equal(c[i].change, AGENT_CHANGE_ADDED);
        assert_string_equal(c[0].name, "disk.qcow2");
        free(c);
        assert_int_equal(agent_release_compare(NULL, 0, NULL, 0, &c, &nc), 0);
        assert_int_equal(nc, 0);
        free(c);
        agent_release_files_free(rf, 3);

        /* no such release */
        assert_int_equal(agent_release_files(fx->stack_fd, "7.0", &rf, &n, &why), -ENOENT);
        assert_string_equal(why, "releases/7.0 does not exist");
}
int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_stage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stage_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_and_current, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
                cmocka_unit_test_setup_teardown(test_files_and_compare, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
