/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "durable.h"
#include "store.h"
#include "testlib.h"

#define DIGEST_TAIL "0000000000000000000000000000000000000000000000000000"

struct fixture {
        char *root;
        char *quarantine;
        char *stacks;
        struct agent_store *s;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        f->root = tl_mkdtemp();
        f->quarantine = tl_strf("%s/var/lib/ecluse/quarantine", f->root);
        f->stacks = tl_strf("%s/var/lib/ecluse/stacks", f->root);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_open(f->root, &f->s, &why), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        agent_store_free(f->s);
        tl_rm_rf(f->root);
        free(f->root);
        free(f->quarantine);
        free(f->stacks);
        free(f);
        return 0;
}

static void put(int dirfd, const char *name, const char *text) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(close(fd), 0);
}

static struct agent_bundle_record record(const char *id, uint64_t imported) {
        struct agent_bundle_record r = {
                .stack = (char *) "office",
                .version = (char *) "2.4.1",
                .state = AGENT_BUNDLE_QUARANTINED,
                .imported = imported,
                .expires = imported + 1000,
                .approval_expires = imported + 500,
                .changed = imported,
        };
        snprintf(r.id, sizeof r.id, "%s", id);
        snprintf(r.digest, sizeof r.digest, "%s" DIGEST_TAIL, id);
        return r;
}

/* An entry as import makes it: begin, files, record, commit. */
static void import(struct agent_store *s, const char *id, uint64_t imported) {
        int dfd = -1;
        _cleanup_free_ char *tmp = NULL, *why = NULL;
        assert_int_equal(agent_store_import_begin(s, &dfd, &tmp, &why), 0);
        put(dfd, "payload", id);
        struct agent_bundle_record r = record(id, imported);
        assert_int_equal(agent_record_write_at(dfd, &r, &why), 0);
        close(dfd);
        if (agent_store_import_commit(s, tmp, id, &why) != 0)
                fail_msg("commit %s: %s", id, why);
}

static void test_open(void **state) {
        struct fixture *f = *state;
        struct stat st;
        assert_int_equal(lstat(f->quarantine, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(lstat(f->stacks, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);
        /* Opened again as it is. */
        struct agent_store *s2 = NULL;
        assert_int_equal(agent_store_open(f->root, &s2, NULL), 0);
        agent_store_free(s2);

        /* A link where quarantine/ should be is refused, not followed. */
        _cleanup_free_ char *root = tl_mkdtemp(), *outside = tl_mkdtemp();
        _cleanup_free_ char *state_dir = tl_strf("%s/var/lib/ecluse", root), *q = tl_strf("%s/quarantine", state_dir);
        tl_mkdir_p(state_dir);
        assert_int_equal(symlink(outside, q), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_open(root, &s2, &why), -ELOOP);
        assert_non_null(strstr(why, "quarantine"));
        _cleanup_free_ char *left = tl_dir_names(outside);
        assert_string_equal(left, "");
        tl_rm_rf(root);
        tl_rm_rf(outside);
}

static void test_import(void **state) {
        struct fixture *f = *state;
        int dfd = -1;
        _cleanup_free_ char *tmp = NULL, *why = NULL;
        assert_int_equal(agent_store_import_begin(f->s, &dfd, &tmp, &why), 0);
        assert_true(strncmp(tmp, ".import-", 8) == 0 && strlen(tmp) == 14);
        _cleanup_free_ char *tmp_path = tl_strf("%s/%s", f->quarantine, tmp);
        struct stat st;
        assert_int_equal(lstat(tmp_path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        put(dfd, "disk.qcow2", "disk");

        /* No record yet: no entry may appear without one. */
        assert_int_equal(agent_store_import_commit(f->s, tmp, "0123456789ab", &why), -EINVAL);
        assert_non_null(strstr(why, "holds no record"));
        /* A record of another bundle is no better. */
        struct agent_bundle_record r = record("ba9876543210", 100);
        assert_int_equal(agent_record_write_at(dfd, &r, NULL), 0);
        assert_int_equal(agent_store_import_commit(f->s, tmp, "0123456789ab", &why), -EINVAL);
        r = record("0123456789ab", 100);
        assert_int_equal(agent_record_write_at(dfd, &r, NULL), 0);
        close(dfd);
        /* Bad names are the caller's mistake. */
        assert_int_equal(agent_store_import_commit(f->s, "0123456789ab", "0123456789ab", &why), -EINVAL);
        assert_int_equal(agent_store_import_commit(f->s, tmp, "0123456789AB", &why), -EINVAL);
        assert_int_equal(agent_store_import_commit(f->s, tmp, "0123456789a", &why), -EINVAL);

        free(why);
        why = NULL;
        assert_int_equal(agent_store_import_commit(f->s, tmp, "0123456789ab", &why), 0);
        assert_null(why);
        _cleanup_free_ char *left = tl_dir_names(f->quarantine);
        assert_string_equal(left, "0123456789ab");
        _cleanup_free_ char *entry = tl_strf("%s/0123456789ab", f->quarantine);
        free(left);
        left = tl_dir_names(entry);
        assert_string_equal(left, "disk.qcow2 record.json");

        /* Abort removes an import and what it holds. */
        free(tmp);
        tmp = NULL;
        assert_int_equal(agent_store_import_begin(f->s, &dfd, &tmp, &why), 0);
        put(dfd, "half", "x");
        close(dfd);
        assert_int_equal(agent_store_import_abort(f->s, tmp), 0);
        assert_int_equal(agent_store_import_abort(f->s, "0123456789ab"), -EINVAL); /* never an entry */
        free(left);
        left = tl_dir_names(f->quarantine);
        assert_string_equal(left, "0123456789ab");
}

static void test_commit_existing(void **state) {
        struct fixture *f = *state;
        import(f->s, "0123456789ab", 100);
        int dfd = -1;
        _cleanup_free_ char *tmp = NULL, *why = NULL;
        assert_int_equal(agent_store_import_begin(f->s, &dfd, &tmp, &why), 0);
        put(dfd, "payload", "second");
        struct agent_bundle_record r = record("0123456789ab", 999);
        assert_int_equal(agent_record_write_at(dfd, &r, NULL), 0);
        close(dfd);
        assert_int_equal(agent_store_import_commit(f->s, tmp, "0123456789ab", &why), -EEXIST);
        assert_non_null(strstr(why, "bundle 0123456789ab already imported"));
        _cleanup_free_ char *left = tl_dir_names(f->quarantine);
        assert_string_equal(left, "0123456789ab"); /* the import is gone */
        _cleanup_free_ char *payload = tl_strf("%s/0123456789ab/payload", f->quarantine);
        _cleanup_free_ char *text = tl_read_file(payload, NULL);
        assert_string_equal(text, "0123456789ab"); /* the first import, untouched */
        struct agent_bundle_record got = {};
        assert_int_equal(agent_record_read(f->s, "0123456789ab", &got, NULL), 0);
        assert_int_equal(got.imported, 100);
        agent_record_clear(&got);
}

static void test_recover(void **state) {
        struct fixture *f = *state;
        import(f->s, "0123456789ab", 100);
        _cleanup_free_ char *imp = tl_strf("%s/.import-abcdef/sub", f->quarantine),
                            *imp_file = tl_strf("%s/.import-abcdef/sub/f", f->quarantine),
                            *t1 = tl_strf("%s/0123456789ab/.record.json.tmp-Ab12Cd", f->quarantine),
                            *appr = tl_strf("%s/0123456789ab/approvals", f->quarantine),
                            *t2 = tl_strf("%s/0123456789ab/approvals/.alice.tmp-xyzXYZ", f->quarantine),
                            *keep = tl_strf("%s/0123456789ab/approvals/alice", f->quarantine),
                            *stack = tl_strf("%s/office", f->stacks),
                            *t3 = tl_strf("%s/office/.state.tmp-000000", f->stacks),
                            *rel = tl_strf("%s/office/releases", f->stacks);
        tl_mkdir_p(imp);
        tl_write_file(imp_file, "partial", 7);
        tl_write_file(t1, "{\"id\":", 6);
        tl_mkdir_p(appr);
        tl_write_file(t2, "half", 4);
        tl_write_file(keep, "whole", 5);
        tl_mkdir_p(rel);
        tl_write_file(t3, "{", 1);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_recover(f->s, &why), 4);
        _cleanup_free_ char *left = tl_dir_names(f->quarantine);
        assert_string_equal(left, "0123456789ab");
        _cleanup_free_ char *entry = tl_strf("%s/0123456789ab", f->quarantine);
        free(left);
        left = tl_dir_names(entry);
        assert_string_equal(left, "approvals payload record.json");
        free(left);
        left = tl_dir_names(appr);
        assert_string_equal(left, "alice");
        free(left);
        left = tl_dir_names(stack);
        assert_string_equal(left, "releases");
        assert_int_equal(agent_store_recover(f->s, &why), 0);
}

/* A child killed in the middle of an import: recover removes it all and list shows nothing. */
static void test_crash_during_import(void **state) {
        struct fixture *f = *state;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct agent_store *s = NULL;
                int dfd = -1;
                char *tmp = NULL;
                if (agent_store_open(f->root, &s, NULL) < 0 || agent_store_lock(s, true, NULL) < 0 ||
                    agent_store_import_begin(s, &dfd, &tmp, NULL) < 0)
                        _exit(1);
                put(dfd, "vmlinuz", "the whole kernel");
                int fd = openat(dfd, "disk.qcow2", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                if (fd < 0 || write(fd, "QFI\xfb half", 8) != 8)
                        _exit(1);
                struct agent_bundle_record r = record("0123456789ab", 100);
                if (agent_record_write_at(dfd, &r, NULL) < 0)
                        _exit(1);
                raise(SIGKILL);
                _exit(2);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        _cleanup_free_ char *left = tl_dir_names(f->quarantine);
        assert_true(strncmp(left, ".import-", 8) == 0); /* what the crash left */
        struct agent_bundle_record *v = NULL;
        size_t n = 1;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_list(f->s, &v, &n, &why), 0);
        assert_int_equal(n, 0); /* never an entry, even before recovery */
        agent_record_list_free(v, n);

        /* The lock died with the child. */
        assert_int_equal(agent_store_lock(f->s, false, &why), 0);
        assert_int_equal(agent_store_recover(f->s, &why), 1);
        free(left);
        left = tl_dir_names(f->quarantine);
        assert_string_equal(left, "");
        assert_int_equal(agent_store_list(f->s, &v, &n, &why), 0);
        assert_int_equal(n, 0);
        agent_record_list_free(v, n);
        char id[13];
        assert_int_equal(agent_store_resolve(f->s, "012345", id, &why), -ENOENT);
}

/* A child killed half way through writing a stack's state (the file size limit): the old state stays. */
static void test_crash_during_state_write(void **state) {
        struct fixture *f = *state;
        struct agent_stack_state st = {.floor = (char *) "1.0", .running = (char *) "1.0"};
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_stack_state_write(f->s, "office", &st, &why), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct agent_store *s = NULL;
                if (agent_store_open(f->root, &s, NULL) < 0)
                        _exit(1);
                struct rlimit core = {0, 0}, small = {64, 64};
                signal(SIGXFSZ, SIG_DFL);
                if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_FSIZE, &small) < 0)
                        _exit(1);
                struct agent_stack_state next = {
                        .floor = (char *) "1.0",
                        .running = (char *) "1.0",
                        .op = AGENT_OP_APPLY,
                        .op_bundle = (char *) "0123456789ab",
                        .op_from = (char *) "1.0",
                        .op_to = (char *) "2.0",
                        .op_phase = (char *) "staged",
                        .op_started = 1000,
                };
                (void) agent_stack_state_write(s, "office", &next, NULL);
                _exit(2);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGXFSZ);

        _cleanup_free_ char *stack = tl_strf("%s/office", f->stacks);
        _cleanup_free_ char *left = tl_dir_names(stack);
        assert_true(strncmp(left, ".state.tmp-", 11) == 0 && strstr(left, " state")); /* half a temp file */
        struct agent_stack_state got = {};
        assert_int_equal(agent_stack_state_read(f->s, "office", &got, &why), 0);
        assert_string_equal(got.running, "1.0");
        assert_int_equal(got.op, AGENT_OP_NONE);
        agent_stack_state_clear(&got);
        assert_int_equal(agent_store_recover(f->s, &why), 1);
        free(left);
        left = tl_dir_names(stack);
        assert_string_equal(left, "state");
}

static void test_resolve(void **state) {
        struct fixture *f = *state;
        import(f->s, "aaaaaa111111", 1);
        import(f->s, "aaaaaa222222", 2);
        import(f->s, "bbbbbb000000", 3);
        char id[13] = "";
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_resolve(f->s, "aaaaaa1", id, &why), 0);
        assert_string_equal(id, "aaaaaa111111");
        assert_int_equal(agent_store_resolve(f->s, "bbbbbb", id, &why), 0);
        assert_string_equal(id, "bbbbbb000000");
        assert_int_equal(agent_store_resolve(f->s, "aaaaaa222222", id, &why), 0);
        assert_string_equal(id, "aaaaaa222222");

        assert_int_equal(agent_store_resolve(f->s, "aaaaaa", id, &why), -ENOTUNIQ);
        assert_string_equal(why, "ID aaaaaa is ambiguous: aaaaaa111111, aaaaaa222222");
        assert_int_equal(agent_store_resolve(f->s, "cccccc", id, &why), -ENOENT);
        assert_non_null(strstr(why, "no bundle ID cccccc"));
        assert_int_equal(agent_store_resolve(f->s, "aaaaa", id, &why), -EINVAL);         /* too short */
        assert_int_equal(agent_store_resolve(f->s, "aaaaaa1111111", id, &why), -EINVAL); /* too long */
        assert_int_equal(agent_store_resolve(f->s, "AAAAAA", id, &why), -EINVAL);        /* not lowercase */
        assert_int_equal(agent_store_resolve(f->s, "aaaaag", id, &why), -EINVAL);        /* not hex */
        assert_int_equal(agent_store_resolve(f->s, "", id, &why), -EINVAL);
        assert_non_null(strstr(why, "6 to 12 lowercase hex digits"));

        /* Many: the first few are named. */
        for (int i = 3; i <= 7; i++) {
                _cleanup_free_ char *more = tl_strf("aaaaaa%06d", i);
                import(f->s, more, (uint64_t) i);
        }
        assert_int_equal(agent_store_resolve(f->s, "aaaaaa", id, &why), -ENOTUNIQ);
        assert_string_equal(why, "ID aaaaaa is ambiguous: aaaaaa000003, aaaaaa000004, aaaaaa000005, aaaaaa000006 "
                                 "and 3 more");
}

static void test_record_round_trip(void **state) {
        struct fixture *f = *state;
        import(f->s, "0123456789ab", 100);
        struct agent_bundle_record r = record("0123456789ab", 100);
        r.state = AGENT_BUNDLE_ROLLED_BACK;
        r.downgrade = true;
        r.version = (char *) "10.0.2";
        r.stack = (char *) "web-1";
        r.changed = 9000000000ULL;
        r.reason = (char *) "the guest did not come up healthy in 120 s";
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_record_write(f->s, &r, &why), 0);
        struct agent_bundle_record got = {};
        assert_int_equal(agent_record_read(f->s, "0123456789ab", &got, &why), 0);
        assert_string_equal(got.id, r.id);
        assert_string_equal(got.digest, r.digest);
        assert_string_equal(got.stack, "web-1");
        assert_string_equal(got.version, "10.0.2");
        assert_int_equal(got.state, AGENT_BUNDLE_ROLLED_BACK);
        assert_true(got.downgrade);
        assert_int_equal(got.imported, 100);
        assert_int_equal(got.expires, 1100);
        assert_int_equal(got.approval_expires, 600);
        assert_int_equal(got.changed, 9000000000ULL);
        assert_string_equal(got.reason, r.reason);
        agent_record_clear(&got);
        _cleanup_free_ char *path = tl_strf("%s/0123456789ab/record.json", f->quarantine);
        _cleanup_free_ char *text = tl_read_file(path, NULL);
        assert_non_null(strstr(text, "\"state\": \"rolled-back\""));
        assert_non_null(strstr(text, "\"approval-expires\": 600"));
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* Without a reason: null, read back as NULL. */
        r.reason = NULL;
        assert_int_equal(agent_record_write(f->s, &r, &why), 0);
        assert_int_equal(agent_record_read(f->s, "0123456789ab", &got, &why), 0);
        assert_null(got.reason);
        agent_record_clear(&got);

        /* What cannot be written is refused, and the record stays as it was. */
        struct agent_bundle_record bad = r;
        bad.state = AGENT_BUNDLE_DAMAGED;
        assert_int_equal(agent_record_write(f->s, &bad, &why), -EINVAL);
        bad = r;
        bad.version = (char *) "1..2";
        assert_int_equal(agent_record_write(f->s, &bad, &why), -EINVAL);
        bad = r;
        bad.stack = (char *) "../etc";
        assert_int_equal(agent_record_write(f->s, &bad, &why), -EINVAL);
        bad = r;
        bad.digest[0] = 'f'; /* the ID is not its digest's */
        assert_int_equal(agent_record_write(f->s, &bad, &why), -EINVAL);
        bad = r;
        bad.reason = (char *) "two\nlines";
        assert_int_equal(agent_record_write(f->s, &bad, &why), -EINVAL);
        bad = r;
        bad.imported = UINT64_MAX;
        assert_int_equal(agent_record_write(f->s, &bad, &why), -EINVAL);
        bad = record("fedcba987654", 1);
        assert_int_equal(agent_record_write(f->s, &bad, &why), -ENOENT); /* no such entry */
        assert_int_equal(agent_record_read(f->s, "0123456789ab", &got, &why), 0);
        assert_string_equal(got.version, "10.0.2");
        agent_record_clear(&got);
        assert_string_equal(agent_bundle_state_to_string(AGENT_BUNDLE_QUARANTINED), "quarantined");
        assert_string_equal(agent_bundle_state_to_string(AGENT_BUNDLE_SUPERSEDED), "superseded");
}

#define GOOD_RECORD_BODY                                                                                 \
        "\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"office\", " \
        "\"version\": \"2.4.1\", \"state\": \"approved\", \"downgrade\": false, \"imported\": 1, "       \
        "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4"

static void test_record_strict(void **state) {
        struct fixture *f = *state;
        import(f->s, "0123456789ab", 100);
        _cleanup_free_ char *path = tl_strf("%s/0123456789ab/record.json", f->quarantine);
        static const struct {
                const char *text;
                const char *why;
        } cases[] = {
                {"{" GOOD_RECORD_BODY ", \"reason\": null, \"extra\": 1}", "unknown key \"extra\""},
                {"{" GOOD_RECORD_BODY "}", "no \"reason\""},
                {"{" GOOD_RECORD_BODY ", \"reason\": 5}", "\"reason\" is not a string or null"},
                {"{" GOOD_RECORD_BODY ", \"reason\": null, \"reason\": null}", "not JSON"},
                {"{" GOOD_RECORD_BODY ", \"reason\": null", "not JSON"},
                {"[1]", "not a JSON object"},
                {"{\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"office\", "
                 "\"version\": \"2.4.1\", \"state\": \"approved\", \"downgrade\": \"no\", \"imported\": 1, "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "\"downgrade\" is not true or false"},
                {"{\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"office\", "
                 "\"version\": \"2.4.1\", \"state\": \"approved\", \"downgrade\": false, \"imported\": \"1\", "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "\"imported\" is not a time"},
                {"{\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"office\", "
                 "\"version\": \"2.4.1\", \"state\": \"approved\", \"downgrade\": false, \"imported\": -1, "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "\"imported\" is not a time"},
                {"{\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"office\", "
                 "\"version\": \"2.4.1\", \"state\": \"damaged\", \"downgrade\": false, \"imported\": 1, "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "\"state\" is not one of its names"},
                {"{\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"office\", "
                 "\"version\": \"2.04\", \"state\": \"approved\", \"downgrade\": false, \"imported\": 1, "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "\"version\" is not valid"},
                {"{\"id\": \"0123456789ab\", \"digest\": \"0123456789ab" DIGEST_TAIL "\", \"stack\": \"../x\", "
                 "\"version\": \"2.4\", \"state\": \"approved\", \"downgrade\": false, \"imported\": 1, "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "\"stack\" is not valid"},
                /* The record of another bundle in this entry's directory. */
                {"{\"id\": \"0123456789ac\", \"digest\": \"0123456789ac" DIGEST_TAIL "\", \"stack\": \"office\", "
                 "\"version\": \"2.4\", \"state\": \"approved\", \"downgrade\": false, \"imported\": 1, "
                 "\"expires\": 2, \"approval-expires\": 3, \"changed\": 4, \"reason\": null}",
                 "the record of bundle 0123456789ac"},
        };
        struct agent_bundle_record got = {};
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tl_write_file(path, cases[i].text, strlen(cases[i].text));
                _cleanup_free_ char *why = NULL;
                int r = agent_record_read(f->s, "0123456789ab", &got, &why);
                if (r != -EBADMSG || !strstr(why, cases[i].why))
                        fail_msg("case %zu: %d %s", i, r, why ? why : "(no reason)");
                assert_null(got.stack);
        }
        /* The good one, to show the cases fail for what they change. */
        const char *good = "{" GOOD_RECORD_BODY ", \"reason\": null}";
        tl_write_file(path, good, strlen(good));
        assert_int_equal(agent_record_read(f->s, "0123456789ab", &got, NULL), 0);
        assert_int_equal(got.state, AGENT_BUNDLE_APPROVED);
        agent_record_clear(&got);

        /* A link is not read. */
        _cleanup_free_ char *other = tl_strf("%s/elsewhere.json", f->root);
        tl_write_file(other, good, strlen(good));
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(other, path), 0);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_record_read(f->s, "0123456789ab", &got, &why), -ELOOP);
        assert_int_equal(agent_record_read(f->s, "0123456789", &got, &why), -EINVAL);
        assert_int_equal(agent_record_read(f->s, "fedcba987654", &got, &why), -ENOENT);
}

static void test_list(void **state) {
        struct fixture *f = *state;
        import(f->s, "bbbbbb000000", 300);
        import(f->s, "cccccc000000", 100);
        import(f->s, "aaaaaa000000", 100);
        import(f->s, "dddddd000000", 200);
        /* A damaged record, an import in progress, a stray name, an ID that is a link. */
        _cleanup_free_ char *bad = tl_strf("%s/dddddd000000/record.json", f->quarantine),
                            *imp = tl_strf("%s/.import-zzzzzz", f->quarantine),
                            *stray = tl_strf("%s/lost+found", f->quarantine),
                            *link = tl_strf("%s/eeeeee000000", f->quarantine);
        tl_write_file(bad, "{\"id\": 1}", 9);
        tl_mkdir_p(imp);
        tl_mkdir_p(stray);
        assert_int_equal(symlink(f->root, link), 0);
        struct agent_bundle_record *v = NULL;
        size_t n = 0;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_list(f->s, &v, &n, &why), 0);
        assert_int_equal(n, 5);
        /* The damaged ones (no time) first, then by imported time, then ID. */
        assert_string_equal(v[0].id, "dddddd000000");
        assert_int_equal(v[0].state, AGENT_BUNDLE_DAMAGED);
        assert_non_null(strstr(v[0].reason, "record of bundle dddddd000000: no \"digest\""));
        assert_null(v[0].stack);
        assert_string_equal(v[1].id, "eeeeee000000");
        assert_int_equal(v[1].state, AGENT_BUNDLE_DAMAGED);
        assert_non_null(strstr(v[1].reason, "a symbolic link"));
        assert_string_equal(v[2].id, "aaaaaa000000");
        assert_int_equal(v[2].state, AGENT_BUNDLE_QUARANTINED);
        assert_string_equal(v[2].stack, "office");
        assert_string_equal(v[3].id, "cccccc000000");
        assert_string_equal(v[4].id, "bbbbbb000000");
        assert_int_equal(v[4].imported, 300);
        assert_string_equal(agent_bundle_state_to_string(v[0].state), "damaged");
        agent_record_list_free(v, n);
}

static void test_stack_state(void **state) {
        struct fixture *f = *state;
        struct agent_stack_state st = {};
        _cleanup_free_ char *why = NULL;
        /* Nothing there: nothing runs, no floor. */
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), 0);
        assert_null(st.floor);
        assert_null(st.running);
        assert_int_equal(st.op, AGENT_OP_NONE);

        /* A release placed by hand is adopted. */
        _cleanup_free_ char *rel = tl_strf("%s/office/releases/2.4.1", f->stacks),
                            *cur = tl_strf("%s/office/current", f->stacks),
                            *file = tl_strf("%s/office/state", f->stacks);
        tl_mkdir_p(rel);
        assert_int_equal(symlink("releases/2.4.1", cur), 0);
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), 0);
        assert_string_equal(st.floor, "2.4.1");
        assert_string_equal(st.running, "2.4.1");
        assert_null(st.previous);
        assert_int_equal(st.op, AGENT_OP_NONE);
        agent_stack_state_clear(&st);
        assert_int_equal(access(file, F_OK), -1); /* reading wrote nothing */

        /* Round trip, and the file wins over current from then on. */
        struct agent_stack_state w = {
                .floor = (char *) "3.0",
                .running = (char *) "2.4.1",
                .previous = (char *) "2.4.0",
                .op = AGENT_OP_APPLY,
                .op_bundle = (char *) "0123456789ab",
                .op_from = (char *) "2.4.1",
                .op_to = (char *) "3.0",
                .op_phase = (char *) "staged",
                .op_started = 1764583200,
        };
        assert_int_equal(agent_stack_state_write(f->s, "office", &w, &why), 0);
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), 0);
        assert_string_equal(st.floor, "3.0");
        assert_string_equal(st.running, "2.4.1");
        assert_string_equal(st.previous, "2.4.0");
        assert_int_equal(st.op, AGENT_OP_APPLY);
        assert_string_equal(st.op_bundle, "0123456789ab");
        assert_string_equal(st.op_from, "2.4.1");
        assert_string_equal(st.op_to, "3.0");
        assert_string_equal(st.op_phase, "staged");
        assert_int_equal(st.op_started, 1764583200);
        agent_stack_state_clear(&st);
        struct agent_stack_state done = {
                .floor = (char *) "3.0", .running = (char *) "3.0", .previous = (char *) "2.4.1"};
        assert_int_equal(agent_stack_state_write(f->s, "office", &done, &why), 0);
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), 0);
        assert_string_equal(st.running, "3.0");
        assert_int_equal(st.op, AGENT_OP_NONE);
        assert_null(st.op_phase);
        agent_stack_state_clear(&st);
        _cleanup_free_ char *text = tl_read_file(file, NULL);
        assert_non_null(strstr(text, "\"op\": \"none\""));
        assert_non_null(strstr(text, "\"op-bundle\": null"));

        /* What cannot be written. */
        struct agent_stack_state bad = done;
        bad.op_phase = (char *) "staged"; /* a phase without an operation */
        assert_int_equal(agent_stack_state_write(f->s, "office", &bad, &why), -EINVAL);
        bad = w;
        bad.op_phase = NULL; /* an operation without a phase */
        assert_int_equal(agent_stack_state_write(f->s, "office", &bad, &why), -EINVAL);
        bad = w;
        bad.op_phase = (char *) "Staged!";
        assert_int_equal(agent_stack_state_write(f->s, "office", &bad, &why), -EINVAL);
        bad = w;
        bad.floor = (char *) "3.0-rc1";
        assert_int_equal(agent_stack_state_write(f->s, "office", &bad, &why), -EINVAL);
        static const char *const not_versions[] = {
                "",     ".",  "1.",      ".1",         "1..2",          "01",
                "1.02", "v1", "1.0-rc1", "4294967296", "1.99999999999", "1.2.3.4.5.6.7.8.9",
        };
        for (size_t i = 0; i < ELEMENTSOF(not_versions); i++) {
                bad = w;
                bad.op_to = (char *) not_versions[i];
                if (agent_stack_state_write(f->s, "office", &bad, &why) != -EINVAL)
                        fail_msg("\"%s\" taken for a version", not_versions[i]);
        }
        bad = w;
        bad.op_to = (char *) "4294967295.0.1.2.3.4.5.6";
        assert_int_equal(agent_stack_state_write(f->s, "office", &bad, &why), 0);
        bad = w;
        bad.op_bundle = (char *) "xyz";
        assert_int_equal(agent_stack_state_write(f->s, "office", &bad, &why), -EINVAL);
        assert_int_equal(agent_stack_state_write(f->s, "../x", &done, &why), -EINVAL);

        /* Strict reading. */
        static const struct {
                const char *text;
                const char *why;
        } cases[] = {
                {"{\"floor\": null, \"running\": null, \"previous\": null, \"op\": \"none\", \"op-bundle\": null, "
                 "\"op-from\": null, \"op-to\": null, \"op-phase\": null, \"op-started\": 0, \"x\": 1}",
                 "unknown key \"x\""},
                {"{\"floor\": null, \"running\": null, \"previous\": null, \"op\": \"none\", \"op-bundle\": null, "
                 "\"op-from\": null, \"op-to\": null, \"op-phase\": null}",
                 "no \"op-started\""},
                {"{\"floor\": 3, \"running\": null, \"previous\": null, \"op\": \"none\", \"op-bundle\": null, "
                 "\"op-from\": null, \"op-to\": null, \"op-phase\": null, \"op-started\": 0}",
                 "\"floor\" is not a string or null"},
                {"{\"floor\": null, \"running\": null, \"previous\": null, \"op\": \"upgrade\", \"op-bundle\": null, "
                 "\"op-from\": null, \"op-to\": null, \"op-phase\": null, \"op-started\": 0}",
                 "\"op\" is not one of its names"},
                {"{\"floor\": null, \"running\": null, \"previous\": null, \"op\": \"none\", \"op-bundle\": null, "
                 "\"op-from\": null, \"op-to\": null, \"op-phase\": \"staged\", \"op-started\": 0}",
                 "no operation, but"},
                {"{\"floor\": null, \"running\": \"../../etc\", \"previous\": null, \"op\": \"none\", "
                 "\"op-bundle\": null, \"op-from\": null, \"op-to\": null, \"op-phase\": null, \"op-started\": 0}",
                 "\"running\" is not valid"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tl_write_file(file, cases[i].text, strlen(cases[i].text));
                free(why);
                why = NULL;
                int r = agent_stack_state_read(f->s, "office", &st, &why);
                if (r != -EBADMSG || !strstr(why, cases[i].why))
                        fail_msg("case %zu: %d %s", i, r, why ? why : "(no reason)");
                assert_null(st.floor);
        }
        assert_int_equal(agent_stack_state_read(f->s, "no/such", &st, &why), -EINVAL);
}

/* A current that does not say which version runs is not adopted: an error, never "nothing runs". */
static void test_adopt_refused(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *cur = tl_strf("%s/office/current", f->stacks),
                            *rel = tl_strf("%s/office/releases", f->stacks),
                            *odd = tl_strf("%s/office/releases/latest", f->stacks),
                            *v2 = tl_strf("%s/office/releases/2.0", f->stacks),
                            *elsewhere = tl_strf("%s/office/other", f->stacks);
        tl_mkdir_p(cur); /* a plain directory */
        tl_mkdir_p(odd);
        tl_mkdir_p(elsewhere);
        struct agent_stack_state st = {};
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), -EBADMSG);
        assert_non_null(strstr(why, "current is not a link to releases/VERSION"));
        assert_int_equal(rmdir(cur), 0);

        static const struct {
                const char *target;
                int r;
                const char *why;
        } cases[] = {
                {"other", -EXDEV, "not to releases/VERSION"},
                {"releases/../other", -EXDEV, "not to releases/VERSION"},
                {"/etc", -EXDEV, "not to releases/VERSION"},
                {"releases/", -EXDEV, "not to releases/VERSION"},
                {"releases/latest", -EBADMSG, "'latest' is not a version"},
                {"releases/3.0", -ENOENT, "does not exist"},
                {"releases/2.0", -ELOOP, "is not a directory"}, /* releases/2.0 is a link, below */
        };
        assert_int_equal(symlink("latest", v2), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(symlink(cases[i].target, cur), 0);
                free(why);
                why = NULL;
                int r = agent_stack_state_read(f->s, "office", &st, &why);
                if (r != cases[i].r || !strstr(why, cases[i].why))
                        fail_msg("current -> %s: %d %s", cases[i].target, r, why ? why : "(no reason)");
                assert_null(st.running);
                assert_int_equal(unlink(cur), 0);
        }
        /* releases/ itself a link. */
        _cleanup_free_ char *moved = tl_strf("%s/office/moved", f->stacks);
        assert_int_equal(rename(rel, moved), 0);
        assert_int_equal(symlink("moved", rel), 0);
        assert_int_equal(symlink("releases/latest", cur), 0);
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), -EBADMSG);
        assert_int_equal(unlink(cur), 0);
        assert_int_equal(symlink("releases/1.0", cur), 0);
        _cleanup_free_ char *v1 = tl_strf("%s/office/moved/1.0", f->stacks);
        tl_mkdir_p(v1);
        assert_int_equal(agent_stack_state_read(f->s, "office", &st, &why), -ELOOP);
}

static void test_stack_dir(void **state) {
        struct fixture *f = *state;
        int fd = -1;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_stack_dir(f->s, "office", &fd, &why), 0);
        close(fd);
        _cleanup_free_ char *dir = tl_strf("%s/office", f->stacks), *link = tl_strf("%s/evil", f->stacks),
                            *outside = tl_mkdtemp();
        struct stat st;
        assert_int_equal(lstat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711);
        assert_int_equal(symlink(outside, link), 0);
        assert_int_equal(agent_store_stack_dir(f->s, "evil", &fd, &why), -ELOOP);
        struct agent_stack_state s = {.floor = (char *) "1.0", .running = (char *) "1.0"};
        assert_int_equal(agent_stack_state_write(f->s, "evil", &s, &why), -ELOOP);
        assert_int_equal(agent_stack_state_read(f->s, "evil", &s, &why), -ELOOP);
        _cleanup_free_ char *left = tl_dir_names(outside);
        assert_string_equal(left, "");
        assert_int_equal(agent_store_stack_dir(f->s, "..", &fd, &why), -EINVAL);
        tl_rm_rf(outside);
}

static void test_lock(void **state) {
        struct fixture *f = *state;
        struct agent_store *other = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(agent_store_open(f->root, &other, &why), 0);
        assert_int_equal(agent_store_lock(f->s, false, &why), 0);
        assert_int_equal(agent_store_lock(other, false, &why), -EBUSY);
        assert_non_null(strstr(why, "another ecluse-agent"));
        agent_store_unlock(f->s);
        assert_int_equal(agent_store_lock(other, false, &why), 0);
        agent_store_free(other); /* releases it */
        assert_int_equal(agent_store_lock(f->s, false, &why), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit_existing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_during_import, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_during_state_write, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
                cmocka_unit_test_setup_teardown(test_record_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_record_strict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stack_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_adopt_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stack_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
