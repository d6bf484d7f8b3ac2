/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "audit-log.h"
#include "testlib.h"

#define N 6

struct fixture {
        char *dir;
        char *path;
        char **lines; /* the N lines of a fresh log, without '\n' */
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        f->dir = tl_mkdtemp();
        f->path = tl_strf("%s/audit.log", f->dir);
        for (int i = 1; i <= N; i++) {
                json_t *d = json_pack("{s:i}", "i", i);
                struct ecl_audit_record rec;
                assert_int_equal(
                        ecl_audit_append(f->path, i % 2 ? "alice" : "bob", "note", "office", d, &rec, NULL, NULL), 0);
                assert_int_equal(rec.seq, i);
                json_decref(d);
                ecl_audit_record_done(&rec);
        }
        size_t len;
        _cleanup_free_ char *all = tl_read_file(f->path, &len);
        f->lines = calloc(N + 1, sizeof(char *));
        char *save = NULL, *p = all;
        for (int i = 0; i < N; i++, p = NULL)
                f->lines[i] = strdup(strtok_r(p, "\n", &save));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        tl_rm_rf(f->dir);
        strv_free(f->lines);
        free(f->dir);
        free(f->path);
        free(f);
        return 0;
}

/* Write the given lines (each followed by '\n') as the log. */
static void write_lines(const char *path, char *const *lines, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        for (size_t i = 0; i < n; i++)
                fprintf(m, "%s\n", lines[i]);
        fclose(m);
        tl_write_file(path, buf, size);
        free(buf);
}

/* A copy of line with from replaced by to (once), and, if rehash, its hash recomputed. */
static char *edit(const char *line, const char *from, const char *to, bool rehash) {
        const char *at = strstr(line, from);
        assert_non_null(at);
        char *s = tl_strf("%.*s%s%s", (int) (at - line), line, to, at + strlen(from));
        if (rehash) {
                struct ecl_audit_hasher *h;
                struct ecl_audit_line l;
                const char *why;
                assert_int_equal(ecl_audit_hasher_new(&h), 0);
                assert_int_equal(ecl_audit_line_scan(s, strlen(s), &l, &why), 0);
                char hash[65];
                assert_int_equal(ecl_audit_hasher_line(h, s, l.hashed_len, hash), 0);
                memcpy((char *) l.hash, hash, 64);
                ecl_audit_hasher_free(h);
        }
        return s;
}

static void expect_ok(const char *path, const struct ecl_audit_checkpoint *cp, uint64_t records) {
        struct ecl_audit_verify v;
        int r = ecl_audit_verify(path, cp, &v);
        if (r != 0)
                fail_msg("verify: %d: record %llu: %s", r, (unsigned long long) v.bad_record, v.reason);
        assert_int_equal(v.records, records);
}

static void expect_bad(const char *path, const struct ecl_audit_checkpoint *cp, uint64_t record, const char *reason) {
        struct ecl_audit_verify v;
        assert_int_equal(ecl_audit_verify(path, cp, &v), -EBADMSG);
        if (v.bad_record != record || !strstr(v.reason, reason))
                fail_msg("expected record %llu (%s), got record %llu: %s", (unsigned long long) record, reason,
                         (unsigned long long) v.bad_record, v.reason);
}

static struct ecl_audit_checkpoint checkpoint_of(const char *line) {
        struct ecl_audit_line l;
        const char *why;
        assert_int_equal(ecl_audit_line_scan(line, strlen(line), &l, &why), 0);
        struct ecl_audit_checkpoint cp = {.records = l.seq};
        memcpy(cp.head, l.hash, 64);
        return cp;
}

static void test_append_chain_and_verify(void **state) {
        struct fixture *f = *state;
        struct ecl_audit_verify v;
        assert_int_equal(ecl_audit_verify(f->path, NULL, &v), 0);
        assert_int_equal(v.records, N);
        assert_int_equal(v.torn_bytes, 0);
        char prev[65] = ECL_AUDIT_GENESIS;
        for (int i = 0; i < N; i++) {
                struct ecl_audit_record rec;
                const char *why;
                assert_int_equal(ecl_audit_record_parse(f->lines[i], strlen(f->lines[i]), &rec, &why), 0);
                assert_int_equal(rec.seq, i + 1);
                assert_string_equal(rec.prev, prev);
                memcpy(prev, rec.hash, sizeof prev);
                ecl_audit_record_done(&rec);
        }
        assert_string_equal(v.head, prev);
        struct stat st;
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
}

static void test_changed_record_detected_at_it(void **state) {
        struct fixture *f = *state;
        for (int k = 0; k < N; k++) {
                _cleanup_strv_free_ char **c = calloc(N + 1, sizeof(char *));
                for (int i = 0; i < N; i++)
                        c[i] = strdup(f->lines[i]);
                free(c[k]);
                c[k] = edit(f->lines[k], "\"office\"", "\"offica\"", false);
                write_lines(f->path, c, N);
                expect_bad(f->path, NULL, (uint64_t) k + 1, "hash does not match");
                /* Other fields too: details, time, prev. */
                free(c[k]);
                c[k] = edit(f->lines[k], "\"details\":{\"i\":", "\"details\":{\"i\":1", false);
                write_lines(f->path, c, N);
                expect_bad(f->path, NULL, (uint64_t) k + 1, "hash does not match");
                free(c[k]);
                c[k] = strdup(f->lines[k]);
                char *digit = strstr(c[k], "\"prev\":\"") + 8;
                *digit = *digit == 'a' ? 'b' : 'a';
                write_lines(f->path, c, N);
                expect_bad(f->path, NULL, (uint64_t) k + 1, k == 0 ? "genesis" : "prev does not match");
        }
}

static void test_changed_and_rehashed_detected_at_next(void **state) {
        struct fixture *f = *state;
        struct ecl_audit_checkpoint cp = checkpoint_of(f->lines[N - 1]);
        for (int k = 0; k < N; k++) {
                _cleanup_strv_free_ char **c = calloc(N + 1, sizeof(char *));
                for (int i = 0; i < N; i++)
                        c[i] = strdup(f->lines[i]);
                free(c[k]);
                /* odd seq: alice, even seq: bob */
                c[k] = k % 2 == 0 ? edit(f->lines[k], "\"alice\"", "\"mallory\"", true)
                                  : edit(f->lines[k], "\"bob\"", "\"eve\"", true);
                write_lines(f->path, c, N);
                if (k < N - 1) {
                        expect_bad(f->path, NULL, (uint64_t) k + 2, "prev does not match the hash of record");
                } else {
                        /* The last record: only a checkpoint can tell. */
                        expect_ok(f->path, NULL, N);
                        expect_bad(f->path, &cp, N, "checkpoint");
                }
        }
}

static void test_deleted_record_detected(void **state) {
        struct fixture *f = *state;
        for (int k = 0; k < N; k++) {
                char *c[N];
                int n = 0;
                for (int i = 0; i < N; i++)
                        if (i != k)
                                c[n++] = f->lines[i];
                write_lines(f->path, c, (size_t) n);
                if (k < N - 1) {
                        expect_bad(f->path, NULL, (uint64_t) k + 1, "seq is");
                } else {
                        expect_ok(f->path, NULL, N - 1);
                        struct ecl_audit_checkpoint cp = checkpoint_of(f->lines[N - 1]);
                        expect_bad(f->path, &cp, N, "removed from the end");
                        cp = checkpoint_of(f->lines[N - 2]);
                        expect_ok(f->path, &cp, N - 1);
                }
        }
}

static void test_reordered_records_detected(void **state) {
        struct fixture *f = *state;
        for (int k = 0; k + 1 < N; k++) {
                char *c[N];
                for (int i = 0; i < N; i++)
                        c[i] = f->lines[i];
                c[k] = f->lines[k + 1];
                c[k + 1] = f->lines[k];
                write_lines(f->path, c, N);
                expect_bad(f->path, NULL, (uint64_t) k + 1, "seq is");
        }
}

static void test_inserted_record_detected(void **state) {
        struct fixture *f = *state;
        for (int k = 0; k <= N; k++) {
                char *c[N + 1];
                /* A copy of another record inserted at position k. */
                for (int i = 0, j = 0; i <= N; i++)
                        c[i] = i == k ? f->lines[(k + 2) % N] : f->lines[j++];
                write_lines(f->path, c, N + 1);
                expect_bad(f->path, NULL, (uint64_t) k + 1, "seq is");
                /* A blank line. */
                c[k] = (char *) "";
                write_lines(f->path, c, N + 1);
                expect_bad(f->path, NULL, (uint64_t) k + 1, "not a valid record");
        }
        /* A well-formed forged record with the right seq and prev, inserted at 3:
         * the chain breaks at the record it displaced. */
        char *forged = edit(f->lines[2], "\"office\"", "\"forged\"", true);
        char *c[N + 1] = {f->lines[0], f->lines[1], forged, f->lines[2], f->lines[3], f->lines[4], f->lines[5]};
        write_lines(f->path, c, N + 1);
        expect_bad(f->path, NULL, 4, "seq is 3, expected 4");
        free(forged);
}

static void test_torn_tail_recovered_and_recorded(void **state) {
        struct fixture *f = *state;
        /* A crash in the middle of write(): the start of a record, no '\n'. */
        _cleanup_free_ char *torn = strndup(f->lines[2], 40);
        int fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, torn, 40), 40);
        close(fd);
        struct ecl_audit_verify v;
        assert_int_equal(ecl_audit_verify(f->path, NULL, &v), 0);
        assert_int_equal(v.records, N);
        assert_int_equal(v.torn_bytes, 40);

        struct ecl_audit_record rec;
        struct ecl_audit_repair repair;
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, &rec, &repair, NULL), 0);
        assert_int_equal(rec.seq, N + 2);
        ecl_audit_record_done(&rec);
        /* What was repaired is handed back for the caller to report. */
        assert_int_equal(repair.kind, ECL_AUDIT_REPAIR_CUT);
        assert_int_equal(repair.bytes, 40);
        assert_int_equal(repair.seq, N + 1);
        assert_non_null(strstr(repair.text, "removed a torn last line (40 bytes at offset"));
        assert_int_equal(ecl_audit_verify(f->path, NULL, &v), 0);
        assert_int_equal(v.records, N + 2);
        assert_int_equal(v.torn_bytes, 0);

        size_t len;
        _cleanup_free_ char *all = tl_read_file(f->path, &len);
        char *recovered = strstr(all, "\"event\":\"audit.recovered\"");
        assert_non_null(recovered);
        while (recovered > all && recovered[-1] != '\n')
                recovered--;
        struct ecl_audit_record r2;
        const char *why;
        assert_int_equal(ecl_audit_record_parse(recovered, (size_t) (strchr(recovered, '\n') - recovered), &r2, &why),
                         0);
        assert_int_equal(r2.seq, N + 1);
        assert_string_equal(r2.actor, ECL_AUDIT_SELF_ACTOR);
        json_t *d = json_loads(r2.details, 0, NULL);
        assert_non_null(d);
        assert_int_equal(json_integer_value(json_object_get(d, "truncated_bytes")), 40);
        size_t good = 0;
        for (int i = 0; i < N; i++)
                good += strlen(f->lines[i]) + 1;
        assert_int_equal(json_integer_value(json_object_get(d, "offset")), good);
        /* The torn bytes are gone: the recovery record starts right where they were. */
        assert_true(recovered == all + good);
        assert_memory_equal(all + good, "{\"seq\":7,", 9);
        assert_int_equal(strlen(json_string_value(json_object_get(d, "sha256"))), 64);
        json_decref(d);
        ecl_audit_record_done(&r2);
}

/* The first n lines of the fixture, then last without its '\n'. */
static void write_unterminated(struct fixture *f, size_t n, const char *last) {
        write_lines(f->path, f->lines, n);
        int fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, last, strlen(last)), (ssize_t) strlen(last));
        close(fd);
}

static void test_torn_whole_record_without_newline(void **state) {
        struct fixture *f = *state;
        /* Everything but the final '\n' reached the disk: the record is whole, it is completed, not cut. */
        write_unterminated(f, N - 1, f->lines[N - 1]);
        expect_ok(f->path, NULL, N - 1);
        struct ecl_audit_record rec;
        struct ecl_audit_repair repair;
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, &rec, &repair, NULL), 0);
        assert_int_equal(rec.seq, N + 1);
        ecl_audit_record_done(&rec);
        assert_int_equal(repair.kind, ECL_AUDIT_REPAIR_COMPLETED);
        assert_int_equal(repair.seq, N);
        assert_string_equal(repair.text, "completed the last record (seq 6), whose final newline was missing");
        expect_ok(f->path, NULL, N + 1);
        /* An intact tail: nothing repaired. */
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, &repair, NULL), 0);
        assert_int_equal(repair.kind, ECL_AUDIT_REPAIR_NONE);
        write_unterminated(f, N - 1, f->lines[N - 1]);
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, &rec, NULL, NULL), 0);
        ecl_audit_record_done(&rec);
        size_t len;
        _cleanup_free_ char *all = tl_read_file(f->path, &len);
        assert_null(strstr(all, "audit.recovered"));
        size_t off = 0;
        for (int i = 0; i < N; i++) {
                size_t n = strlen(f->lines[i]);
                assert_memory_equal(all + off, f->lines[i], n);
                assert_int_equal(all[off + n], '\n');
                off += n + 1;
        }
        assert_memory_equal(all + off, "{\"seq\":7,", 9);

        /* A whole record that does not chain on (an old one replayed) is cut as torn. */
        write_unterminated(f, N - 1, f->lines[2]);
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, &rec, NULL, NULL), 0);
        assert_int_equal(rec.seq, N + 1); /* N - 1, the recovery record, this one */
        ecl_audit_record_done(&rec);
        expect_ok(f->path, NULL, N + 1);
        _cleanup_free_ char *again = tl_read_file(f->path, &len);
        assert_non_null(strstr(again, "audit.recovered"));
        assert_null(strstr(again, f->lines[N - 1]));

        /* Nor is a record of the right place whose hash is wrong. */
        _cleanup_free_ char *forged = edit(f->lines[N - 1], "\"office\"", "\"offica\"", false);
        write_unterminated(f, N - 1, forged);
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, NULL, NULL), 0);
        expect_ok(f->path, NULL, N + 1);
        _cleanup_free_ char *third = tl_read_file(f->path, &len);
        assert_non_null(strstr(third, "audit.recovered"));
        assert_null(strstr(third, "offica"));
}

/* A write() that stops short (file size limit, disk full) leaves no torn line. */
static void test_short_write_is_undone(void **state) {
        struct fixture *f = *state;
        struct stat before, after;
        assert_int_equal(stat(f->path, &before), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                signal(SIGXFSZ, SIG_IGN);
                struct rlimit rl = {.rlim_cur = (rlim_t) before.st_size + 50, .rlim_max = RLIM_INFINITY};
                if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                        _exit(2);
                int r = ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, NULL, NULL);
                _exit(r == -ENOSPC || r == -EFBIG ? 0 : 1);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_int_equal(stat(f->path, &after), 0);
        assert_int_equal(after.st_size, before.st_size);
        struct ecl_audit_verify v;
        assert_int_equal(ecl_audit_verify(f->path, NULL, &v), 0);
        assert_int_equal(v.records, N);
        assert_int_equal(v.torn_bytes, 0);
}

static void test_tampering_is_not_mistaken_for_a_torn_tail(void **state) {
        struct fixture *f = *state;
        /* An unterminated "line" longer than any record cannot come from one write(). */
        _cleanup_free_ char *junk = malloc(ECL_AUDIT_LINE_MAX + 10);
        memset(junk, 'x', ECL_AUDIT_LINE_MAX + 10);
        int fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_int_equal(write(fd, junk, ECL_AUDIT_LINE_MAX + 10), ECL_AUDIT_LINE_MAX + 10);
        close(fd);
        expect_bad(f->path, NULL, N + 1, "too long");
        struct stat before, after;
        assert_int_equal(stat(f->path, &before), 0);
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, NULL, NULL), -EBADMSG);
        assert_int_equal(stat(f->path, &after), 0);
        assert_int_equal(before.st_size, after.st_size);

        /* A complete but wrong last line: refuse to chain onto it. */
        char *c[N];
        for (int i = 0; i < N; i++)
                c[i] = f->lines[i];
        char *bad = edit(f->lines[N - 1], "\"office\"", "\"offica\"", false);
        c[N - 1] = bad;
        write_lines(f->path, c, N);
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, NULL, &why), -EBADMSG);
        assert_non_null(strstr(why, "last record (seq 6) does not match its hash; refusing to append"));
        expect_bad(f->path, NULL, N, "hash does not match");
        /* ...and then leave a torn tail alone too: nothing is changed. */
        int tfd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_int_equal(write(tfd, "{\"seq\":7,", 9), 9);
        close(tfd);
        assert_int_equal(stat(f->path, &before), 0);
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, NULL, NULL), -EBADMSG);
        assert_int_equal(stat(f->path, &after), 0);
        assert_int_equal(before.st_size, after.st_size);
        c[N - 1] = (char *) "garbage";
        write_lines(f->path, c, N);
        assert_int_equal(ecl_audit_append(f->path, "carol", "note", "", NULL, NULL, NULL, NULL), -EBADMSG);
        free(bad);
}

static void test_checkpoint_prefixes(void **state) {
        struct fixture *f = *state;
        struct ecl_audit_checkpoint zero = {.records = 0, .head = ECL_AUDIT_GENESIS};
        expect_ok(f->path, &zero, N);
        for (int k = 0; k < N; k++) {
                struct ecl_audit_checkpoint cp = checkpoint_of(f->lines[k]);
                expect_ok(f->path, &cp, N);
                cp.head[0] = cp.head[0] == 'a' ? 'b' : 'a';
                expect_bad(f->path, &cp, (uint64_t) k + 1, "checkpoint");
        }
        struct ecl_audit_checkpoint beyond = checkpoint_of(f->lines[N - 1]);
        beyond.records = N + 5;
        expect_bad(f->path, &beyond, N + 1, "removed from the end");
        /* Rewriting the whole chain from record 2 on keeps it self-consistent,
         * but not consistent with a checkpoint at or after record 2. */
        struct ecl_audit_checkpoint cp3 = checkpoint_of(f->lines[2]);
        tl_write_file(f->path, "", 0);
        char prev[65] = ECL_AUDIT_GENESIS;
        struct ecl_audit_hasher *h;
        assert_int_equal(ecl_audit_hasher_new(&h), 0);
        FILE *out = fopen(f->path, "we");
        for (int i = 0; i < N; i++) {
                char *line;
                size_t len;
                char hash[65];
                struct ecl_audit_record rec;
                const char *why;
                assert_int_equal(ecl_audit_record_parse(f->lines[i], strlen(f->lines[i]), &rec, &why), 0);
                assert_int_equal(ecl_audit_format_line(h, rec.seq, rec.time, prev, rec.actor, rec.event,
                                                       i == 1 ? "forged" : rec.subject, NULL, &line, &len, hash, NULL),
                                 0);
                fwrite(line, 1, len, out);
                memcpy(prev, hash, 65);
                free(line);
                ecl_audit_record_done(&rec);
        }
        fclose(out);
        ecl_audit_hasher_free(h);
        expect_ok(f->path, NULL, N);
        expect_bad(f->path, &cp3, 3, "checkpoint");
}

static void test_concurrent_writers(void **state) {
        struct fixture *f = *state;
        enum { WRITERS = 4, EACH = 40 };
        pid_t pids[WRITERS];
        for (int w = 0; w < WRITERS; w++) {
                pids[w] = fork();
                assert_true(pids[w] >= 0);
                if (pids[w] == 0) {
                        for (int j = 0; j < EACH; j++) {
                                json_t *d = json_pack("{s:i,s:i,s:s}", "writer", w, "n", j, "pad",
                                                      "a longer text so that lines are not tiny ........");
                                int r = ecl_audit_append(f->path, "writer", "test.concurrent", "", d, NULL, NULL, NULL);
                                json_decref(d);
                                if (r < 0)
                                        _exit(1);
                        }
                        _exit(0);
                }
        }
        for (int w = 0; w < WRITERS; w++) {
                int st;
                assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        expect_ok(f->path, NULL, N + WRITERS * EACH);
        /* Every record of every writer is there exactly once, each writer's in order. */
        int seen[WRITERS] = {0};
        size_t len;
        _cleanup_free_ char *all = tl_read_file(f->path, &len);
        char *save = NULL;
        int lines = 0;
        for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
                struct ecl_audit_record rec;
                const char *why;
                assert_int_equal(ecl_audit_record_parse(l, strlen(l), &rec, &why), 0);
                if (streq(rec.event, "test.concurrent")) {
                        json_t *d = json_loads(rec.details, 0, NULL);
                        int w = (int) json_integer_value(json_object_get(d, "writer"));
                        int n = (int) json_integer_value(json_object_get(d, "n"));
                        assert_true(w >= 0 && w < WRITERS);
                        assert_int_equal(n, seen[w]);
                        seen[w]++;
                        json_decref(d);
                }
                ecl_audit_record_done(&rec);
        }
        assert_int_equal(lines, N + WRITERS * EACH);
        for (int w = 0; w < WRITERS; w++)
                assert_int_equal(seen[w], EACH);
}

static void test_refuses_symlink_and_bad_input(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *link = tl_strf("%s/link.log", f->dir);
        assert_int_equal(symlink(f->path, link), 0);
        assert_int_equal(ecl_audit_append(link, "a", "note", "", NULL, NULL, NULL, NULL), -ELOOP);
        struct ecl_audit_verify v;
        assert_int_equal(ecl_audit_verify(link, NULL, &v), -ELOOP);
        _cleanup_free_ char *fifo = tl_strf("%s/fifo.log", f->dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(ecl_audit_verify(fifo, NULL, &v), -EBADMSG);
        assert_int_equal(v.bad_record, 0);
        assert_non_null(strstr(v.reason, "fifo.log: not a regular file"));
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ecl_audit_append(fifo, "a", "note", "", NULL, NULL, NULL, &why), -EBADMSG);
        assert_non_null(strstr(why, "fifo.log: not a regular file"));
        _cleanup_free_ char *missing = tl_strf("%s/missing.log", f->dir);
        assert_int_equal(ecl_audit_verify(missing, NULL, &v), -ENOENT);
        assert_non_null(strstr(v.reason, "missing.log: cannot open: No such file or directory")); /* fileio's words */
        /* Refused input leaves the log as it was. */
        assert_int_equal(ecl_audit_append(f->path, "a\nb", "note", "", NULL, NULL, NULL, NULL), -EBADMSG);
        assert_int_equal(ecl_audit_append(f->path, "a", "note", "\xff", NULL, NULL, NULL, NULL), -EILSEQ);
        expect_ok(f->path, NULL, N);
        _cleanup_free_ char *fresh = tl_strf("%s/fresh.log", f->dir);
        json_t *real = json_pack("{s:f}", "x", 0.5);
        assert_int_equal(ecl_audit_append(fresh, "a", "note", "", real, NULL, NULL, NULL), -EDOM);
        json_decref(real);
        assert_int_equal(access(fresh, F_OK), -1);
        /* An empty log verifies, with zero records. */
        _cleanup_free_ char *empty = tl_strf("%s/empty.log", f->dir);
        tl_write_file(empty, "", 0);
        expect_ok(empty, NULL, 0);
        assert_int_equal(ecl_audit_verify(empty, NULL, &v), 0);
        assert_string_equal(v.head, ECL_AUDIT_GENESIS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_append_chain_and_verify, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changed_record_detected_at_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changed_and_rehashed_detected_at_next, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deleted_record_detected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reordered_records_detected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_inserted_record_detected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_torn_tail_recovered_and_recorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_torn_whole_record_without_newline, setup, teardown),
                cmocka_unit_test_setup_teardown(test_short_write_is_undone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tampering_is_not_mistaken_for_a_torn_tail, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkpoint_prefixes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_symlink_and_bad_input, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
