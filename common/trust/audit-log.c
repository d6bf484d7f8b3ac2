/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "audit-log.h"
#include "fileio.h"
#include "reason.h"

#define READ_BLOCK (1024 * 1024)
#define TAIL_CHUNK 8192

static int close_unlock(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

static int lock_fd(int fd, int op) {
        while (flock(fd, op) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off) {
        char *p = buf;
        while (len > 0) {
                ssize_t n = pread(fd, p, len, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* the file shrank under us */
                p += n, len -= (size_t) n, off += n;
        }
        return 0;
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

static int open_for_append(const char *path, int *ret, char **ret_reason) {
        for (;;) {
                int fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                if (fd >= 0) {
                        *ret = fd;
                        return 0;
                }
                if (errno == ELOOP)
                        return ecl_reason(ret_reason, -ELOOP, "audit log %s: " ECL_FILE_IS_LINK, path);
                if (errno == EISDIR)
                        return ecl_reason(ret_reason, -EISDIR, "audit log %s: " ECL_FILE_IS_DIR, path);
                if (errno != ENOENT) /* its own flags (fileio.h reads only), fileio's words */
                        return ecl_reason(ret_reason, -errno, "audit log %s: cannot open: %s", path, strerror(errno));
                fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0640);
                if (fd >= 0) {
                        int r = fsync_parent_dir(path);
                        if (r < 0) {
                                close(fd);
                                return ecl_reason_errno(ret_reason, r, "cannot sync the directory of %s", path);
                        }
                        *ret = fd;
                        return 0;
                }
                if (errno != EEXIST)
                        return ecl_reason_errno(ret_reason, -errno, "cannot create audit log %s", path);
        }
}

/* Offset of the last '\n' in [lo, hi), or -1; reads backwards in small chunks. */
static int find_last_newline(int fd, off_t lo, off_t hi, off_t *ret) {
        char buf[TAIL_CHUNK];
        while (hi > lo) {
                size_t n = (size_t) (hi - lo) < sizeof buf ? (size_t) (hi - lo) : sizeof buf;
                int r = pread_all(fd, buf, n, hi - (off_t) n);
                if (r < 0)
                        return r;
                const char *nl = memrchr(buf, '\n', n);
                if (nl) {
                        *ret = hi - (off_t) n + (nl - buf);
                        return 0;
                }
                hi -= (off_t) n;
        }
        *ret = -1;
        return 0;
}

struct tail {
        uint64_t seq;
        char hash[ECL_AUDIT_HASH_LEN + 1];
};

/* Where the unterminated last line of a file of size bytes starts (a crash artifact). */
static int find_torn_tail(int fd, const char *path, off_t size, off_t *ret_start, char **ret_reason) {
        off_t lo = size > ECL_AUDIT_LINE_MAX ? size - ECL_AUDIT_LINE_MAX : 0, nl;
        int r = find_last_newline(fd, lo, size, &nl);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read audit log %s", path);
        if (nl < 0 && lo > 0)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: unterminated last line is longer than any record; "
                                  "not a torn write, refusing to append (run audit verify)",
                                  path);
        *ret_start = nl + 1;
        return 0;
}

/* Cut the torn tail [start, size) and describe what was removed, for the record of it. */
static int cut_torn_tail(int fd, const char *path, off_t start, off_t size, json_t **ret_details,
                         struct ecl_audit_repair *repair, char **ret_reason) {
        size_t torn = (size_t) (size - start);
        _cleanup_free_ char *buf = malloc(torn);
        if (!buf)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int r = pread_all(fd, buf, torn, start);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read audit log %s", path);
        unsigned char md[32];
        unsigned mdlen = 0;
        char hex[65];
        if (EVP_Digest(buf, torn, md, &mdlen, EVP_sha256(), NULL) != 1)
                return ecl_reason(ret_reason, -EIO, "cannot hash the torn tail of %s", path);
        for (unsigned i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        json_t *details = json_pack("{s:I,s:I,s:s}", "truncated_bytes", (json_int_t) torn, "offset",
                                    (json_int_t) start, "sha256", hex);
        if (!details)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (ftruncate(fd, start) < 0 || fsync(fd) < 0) {
                r = -errno;
                json_decref(details);
                return ecl_reason_errno(ret_reason, r, "cannot truncate the torn tail of %s", path);
        }
        *repair = (struct ecl_audit_repair){.kind = ECL_AUDIT_REPAIR_CUT, .offset = (uint64_t) start, .bytes = torn};
        snprintf(repair->text, sizeof repair->text,
                 "removed a torn last line (%zu bytes at offset %lld) left by an interrupted write", torn,
                 (long long) start);
        *ret_details = details;
        return 0;
}

/*
 * Is the unterminated last line [start, size) a whole record that chains onto
 * *tail, only its '\n' missing (a write cut right before it)?  Then append
 * the '\n' and advance *tail: the record stays.  *ret_completed says whether
 * it was; a line that is anything less is a torn tail for the caller to cut.
 */
static int complete_last_record(int fd, const char *path, off_t start, off_t size, struct ecl_audit_hasher *h,
                                struct tail *tail, bool *ret_completed, struct ecl_audit_repair *repair,
                                char **ret_reason) {
        *ret_completed = false;
        size_t len = (size_t) (size - start);
        _cleanup_free_ char *line = malloc(len);
        if (!line)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int r = pread_all(fd, line, len, start);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read audit log %s", path);
        struct ecl_audit_line l;
        const char *why;
        char hash[ECL_AUDIT_HASH_LEN + 1];
        if (ecl_audit_line_scan(line, len, &l, &why) < 0 || l.seq != tail->seq + 1 ||
            memcmp(l.prev, tail->hash, ECL_AUDIT_HASH_LEN) != 0)
                return 0;
        r = ecl_audit_hasher_line(h, line, l.hashed_len, hash);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot hash audit record");
        if (memcmp(hash, l.hash, ECL_AUDIT_HASH_LEN) != 0)
                return 0;
        ssize_t n = write(fd, "\n", 1);
        if (n != 1) {
                int e = n < 0 ? errno : ENOSPC;
                return ecl_reason_errno(ret_reason, -e, "cannot complete the last record of audit log %s", path);
        }
        if (fsync(fd) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot sync audit log %s", path);
        *repair = (struct ecl_audit_repair){
                .kind = ECL_AUDIT_REPAIR_COMPLETED, .offset = (uint64_t) start, .bytes = len, .seq = l.seq};
        snprintf(repair->text, sizeof repair->text,
                 "completed the last record (seq %llu), whose final newline was missing", (unsigned long long) l.seq);
        tail->seq = l.seq;
        memcpy(tail->hash, hash, sizeof hash);
        *ret_completed = true;
        return 0;
}

/* The last record of a file of size bytes that ends with '\n' (or is empty). */
static int read_last_record(int fd, const char *path, off_t size, struct ecl_audit_hasher *h, struct tail *ret,
                            char **ret_reason) {
        if (size == 0) {
                *ret = (struct tail){.seq = 0, .hash = ECL_AUDIT_GENESIS};
                return 0;
        }
        off_t lo = size - 1 > ECL_AUDIT_LINE_MAX ? size - 1 - ECL_AUDIT_LINE_MAX : 0, nl;
        int r = find_last_newline(fd, lo, size - 1, &nl);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read audit log %s", path);
        if (nl < 0 && lo > 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: last line too long; refusing to append (run audit verify)",
                                  path);
        size_t len = (size_t) (size - 1 - (nl + 1));
        _cleanup_free_ char *line = malloc(len + 1);
        if (!line)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        r = pread_all(fd, line, len, nl + 1);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot read audit log %s", path);
        struct ecl_audit_line l;
        const char *why;
        char hash[ECL_AUDIT_HASH_LEN + 1];
        if (ecl_audit_line_scan(line, len, &l, &why) < 0)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: last record is corrupt (%s); refusing to append (run audit verify)", path, why);
        r = ecl_audit_hasher_line(h, line, l.hashed_len, hash);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot hash audit record");
        if (memcmp(hash, l.hash, ECL_AUDIT_HASH_LEN) != 0)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: last record (seq %llu) does not match its hash; refusing to append "
                                  "(run audit verify)",
                                  path, (unsigned long long) l.seq);
        ret->seq = l.seq;
        memcpy(ret->hash, l.hash, ECL_AUDIT_HASH_LEN);
        ret->hash[ECL_AUDIT_HASH_LEN] = 0;
        return 0;
}

/*
 * Format the record after *tail, write it with one write() and fsync;
 * advances *tail.  *ret_line (without '\n') is for syslog once unlocked.
 */
static int write_record(int fd, const char *path, struct ecl_audit_hasher *h, struct tail *tail, const char *actor,
                        const char *event, const char *subject, const json_t *details, struct ecl_audit_record *ret,
                        char **ret_line, char **ret_reason) {
        char now[ECL_RFC3339_LEN + 1], hash[ECL_AUDIT_HASH_LEN + 1];
        int r = ecl_rfc3339_format(time(NULL), now);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot format the current time");
        _cleanup_free_ char *line = NULL;
        size_t len;
        r = ecl_audit_format_line(h, tail->seq + 1, now, tail->hash, actor, event, subject, details, &line, &len, hash,
                                  ret_reason);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot stat audit log %s", path);
        ssize_t n = write(fd, line, len);
        if (n != (ssize_t) len) {
                int e = n < 0 ? errno : ENOSPC;
                /* Leave no torn line behind if we can help it (the next append cuts it otherwise). */
                if (ftruncate(fd, st.st_size) < 0)
                        return ecl_reason_errno(ret_reason, -e,
                                                "cannot write audit log %s, and a partial line is left behind", path);
                return ecl_reason_errno(ret_reason, -e, "cannot write audit log %s", path);
        }
        if (fsync(fd) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot sync audit log %s", path);
        tail->seq++;
        memcpy(tail->hash, hash, sizeof hash);
        line[len - 1] = 0;
        if (ret) {
                const char *why;
                r = ecl_audit_record_parse(line, len - 1, ret, &why);
                if (r < 0)
                        return ecl_reason(ret_reason, r, "cannot read back the audit record: %s", why);
        }
        *ret_line = TAKE_PTR(line);
        return 0;
}

static void send_to_syslog(const char *line) {
        if (line)
                syslog(LOG_AUTHPRIV | LOG_NOTICE, "audit: %s", line);
}

int ecl_audit_append(const char *path, const char *actor, const char *event, const char *subject, const json_t *details,
                     struct ecl_audit_record *ret, struct ecl_audit_repair *ret_repair, char **ret_reason) {
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        struct ecl_audit_repair repair_buf, *repair = ret_repair ? ret_repair : &repair_buf;
        *repair = (struct ecl_audit_repair){.kind = ECL_AUDIT_REPAIR_NONE};
        _cleanup_free_ char *recovered_line = NULL, *line = NULL;
        int r = ecl_audit_hasher_new(&h);
        if (r < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        /* Refuse bad input before touching the file (not even creating it). */
        {
                _cleanup_free_ char *trial = NULL;
                char hash[ECL_AUDIT_HASH_LEN + 1];
                size_t len;
                r = ecl_audit_format_line(h, 1, "2000-01-01T00:00:00Z", ECL_AUDIT_GENESIS, actor, event, subject,
                                          details, &trial, &len, hash, ret_reason);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int fd = -1;
        r = open_for_append(path, &fd, ret_reason);
        if (r < 0)
                return r;
        r = lock_fd(fd, LOCK_EX);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot lock audit log %s", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot stat audit log %s", path);
        if (S_ISDIR(st.st_mode))
                return ecl_reason(ret_reason, -EISDIR, "audit log %s: " ECL_FILE_IS_DIR, path);
        if (!S_ISREG(st.st_mode))
                return ecl_reason(ret_reason, -EBADMSG, "audit log %s: not a regular file", path);
        off_t size = st.st_size, end = size;
        if (size > 0) {
                char last;
                r = pread_all(fd, &last, 1, size - 1);
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "cannot read audit log %s", path);
                if (last != '\n') {
                        r = find_torn_tail(fd, path, size, &end, ret_reason);
                        if (r < 0)
                                return r;
                }
        }
        /* The last complete record must be intact before we touch anything. */
        struct tail tail;
        r = read_last_record(fd, path, end, h, &tail, ret_reason);
        if (r < 0)
                return r;
        json_t *recovered = NULL;
        if (end < size) {
                bool completed;
                r = complete_last_record(fd, path, end, size, h, &tail, &completed, repair, ret_reason);
                if (r >= 0 && !completed)
                        r = cut_torn_tail(fd, path, end, size, &recovered, repair, ret_reason);
        }
        if (r >= 0 && recovered) {
                r = write_record(fd, path, h, &tail, ECL_AUDIT_SELF_ACTOR, "audit.recovered", "", recovered, NULL,
                                 &recovered_line, ret_reason);
                if (r >= 0)
                        repair->seq = tail.seq;
        }
        json_decref(recovered);
        if (r >= 0)
                r = write_record(fd, path, h, &tail, actor, event, subject, details, ret, &line, ret_reason);
        /* Unlock before talking to syslog, which may be slow. */
        fd = close_unlock(fd);
        send_to_syslog(recovered_line);
        send_to_syslog(line);
        return r;
}

int ecl_audit_open_read(const char *path, int *ret_fd, uint64_t *ret_size, char **ret_reason) {
        /* As every untrusted file (fileio.h): no link, no FIFO wait, a regular file; any size. */
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *why = NULL;
        int r = ecl_file_open_at(AT_FDCWD, path, 0, &fd, NULL, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "audit log %s: %s", path, ecl_reason_text(why, r));
        struct stat st;
        r = lock_fd(fd, LOCK_SH);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "cannot lock audit log %s", path);
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot stat audit log %s", path);
        (void) lock_fd(fd, LOCK_UN);
        *ret_size = (uint64_t) st.st_size;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int ecl_audit_foreach_line(int fd, uint64_t size, ecl_audit_line_cb cb, void *userdata, uint64_t *ret_torn) {
        const size_t cap = READ_BLOCK;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        uint64_t off = 0, lineno = 0, pos = 0; /* file offset of buf[0]; bytes read so far */
        size_t have = 0;
        bool skipping = false;
        *ret_torn = 0;
        while (pos < size) {
                size_t want = cap - have;
                if (want > size - pos)
                        want = (size_t) (size - pos);
                ssize_t n = pread(fd, buf + have, want, (off_t) pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* shrank under us */
                have += (size_t) n, pos += (uint64_t) n;
                size_t start = 0;
                for (;;) {
                        const char *nl = memchr(buf + start, '\n', have - start);
                        if (!nl)
                                break;
                        size_t len = (size_t) (nl - (buf + start));
                        if (skipping) {
                                skipping = false;
                        } else {
                                int r = cb(buf + start, len, ++lineno, off + start, userdata);
                                if (r != 0)
                                        return r;
                        }
                        start += len + 1;
                }
                if (!skipping && have - start >= ECL_AUDIT_LINE_MAX) {
                        int r = cb(buf + start, ECL_AUDIT_LINE_MAX, ++lineno, off + start, userdata);
                        if (r != 0)
                                return r;
                        skipping = true;
                }
                if (skipping) {
                        off += have;
                        have = 0;
                        continue;
                }
                memmove(buf, buf + start, have - start);
                off += start;
                have -= start;
        }
        *ret_torn = skipping ? 0 : have;
        return 0;
}

struct verify_state {
        struct ecl_audit_hasher *h;
        const struct ecl_audit_checkpoint *cp;
        struct ecl_audit_verify *v;
};

_printf_(4, 5) static int bad(struct ecl_audit_verify *v, uint64_t lineno, uint64_t offset, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->reason, sizeof v->reason, fmt, ap);
        va_end(ap);
        v->bad_record = lineno;
        v->bad_offset = offset;
        return -EBADMSG;
}

static int verify_line(const char *line, size_t len, uint64_t lineno, uint64_t offset, void *userdata) {
        struct verify_state *s = userdata;
        struct ecl_audit_verify *v = s->v;
        struct ecl_audit_line l;
        const char *why;
        char hash[ECL_AUDIT_HASH_LEN + 1];
        if (ecl_audit_line_scan(line, len, &l, &why) < 0)
                return bad(v, lineno, offset, "not a valid record: %s", why);
        if (l.seq != lineno)
                return bad(v, lineno, offset, "seq is %llu, expected %llu (a record was removed, inserted or moved here)",
                           (unsigned long long) l.seq, (unsigned long long) lineno);
        if (memcmp(l.prev, v->head, ECL_AUDIT_HASH_LEN) != 0)
                return bad(v, lineno, offset,
                           lineno == 1 ? "prev is not the genesis value (records before it were removed)"
                                       : "prev does not match the hash of record %llu (record %llu was changed, "
                                         "or a record was removed or inserted before this one)",
                           (unsigned long long) lineno - 1, (unsigned long long) lineno - 1);
        int r = ecl_audit_hasher_line(s->h, line, l.hashed_len, hash);
        if (r < 0)
                return r;
        if (memcmp(hash, l.hash, ECL_AUDIT_HASH_LEN) != 0)
                return bad(v, lineno, offset, "hash does not match the record's content (the record was changed)");
        memcpy(v->head, hash, ECL_AUDIT_HASH_LEN);
        v->records = lineno;
        if (s->cp && s->cp->records == lineno) {
                if (memcmp(hash, s->cp->head, ECL_AUDIT_HASH_LEN) != 0)
                        return bad(v, lineno, offset,
                                   "hash differs from the checkpoint's head (the log was rewritten up to here)");
                v->checkpoint_ok = true;
        }
        return 0;
}

int ecl_audit_verify_fd(int fd, uint64_t size, const struct ecl_audit_checkpoint *cp, struct ecl_audit_verify *ret) {
        _cleanup_(ecl_audit_hasher_freep) struct ecl_audit_hasher *h = NULL;
        struct ecl_audit_verify v = {.head = ECL_AUDIT_GENESIS, .size = size};
        int r = ecl_audit_hasher_new(&h);
        if (r < 0) {
                *ret = v;
                snprintf(ret->reason, sizeof ret->reason, "out of memory");
                return -ENOMEM;
        }
        struct verify_state s = {.h = h, .cp = cp, .v = &v};
        if (cp && cp->records == 0)
                v.checkpoint_ok = true; /* the empty prefix: nothing to compare */
        r = ecl_audit_foreach_line(fd, size, verify_line, &s, &v.torn_bytes);
        if (r == 0 && v.torn_bytes >= ECL_AUDIT_LINE_MAX)
                r = bad(&v, v.records + 1, size - v.torn_bytes, "unterminated line longer than any record");
        if (r == 0 && cp && !v.checkpoint_ok)
                r = bad(&v, v.records + 1, size - v.torn_bytes,
                        "the log ends after record %llu but the checkpoint covers %llu records "
                        "(records were removed from the end)",
                        (unsigned long long) v.records, (unsigned long long) cp->records);
        if (r < 0 && r != -EBADMSG)
                snprintf(v.reason, sizeof v.reason, "cannot read audit log: %s", strerror(-r));
        *ret = v;
        return r;
}

int ecl_audit_verify(const char *path, const struct ecl_audit_checkpoint *cp, struct ecl_audit_verify *ret) {
        _cleanup_close_ int fd = -1;
        uint64_t size;
        *ret = (struct ecl_audit_verify){.head = ECL_AUDIT_GENESIS};
        _cleanup_free_ char *why = NULL;
        int r = ecl_audit_open_read(path, &fd, &size, &why);
        if (r < 0) {
                snprintf(ret->reason, sizeof ret->reason, "%s", ecl_reason_text(why, r));
                return r;
        }
        return ecl_audit_verify_fd(fd, size, cp, ret);
}
