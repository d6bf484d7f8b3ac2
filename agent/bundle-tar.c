/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle-tar.h"
#include "hex.h"
#include "reason.h"
#include "ssl-cleanup.h"
#include "sshsig.h"
#include "strutil.h"

/* Output written between two write-behind steps (sync_file_range, then dropping the cache). */
#define WRITE_BEHIND (8 * 1024 * 1024)
/* Input read between two drops of its cache, when it is a regular file. */
#define READ_BEHIND (8 * 1024 * 1024)
#define PROGRESS_INTERVAL_NS (100 * 1000 * 1000)

enum state { ST_OPEN, ST_HEAD, ST_DONE };

/*
 * Read blocks, used in turn: libarchive is done with a block when it asks
 * for the next one (its data pointers point into them), but the hashing
 * thread may still be reading one; read_cb waits for it before refilling.
 */
#define READ_BUFS 3

struct hasher;
static void hasher_wait_buf(struct hasher *h, size_t buf);

struct agent_bundle_tar {
        struct archive *a;
        int fd;
        char *name;
        uint8_t *bufs;       /* READ_BUFS blocks of AGENT_BUNDLE_TAR_BLOCK bytes, used in turn */
        uint8_t *buf;        /* the one libarchive reads from now: block cur of bufs */
        size_t cur;
        struct hasher *hasher; /* while extract_file hashes from our blocks, else NULL */
        size_t first_len;    /* the first block, read by open */
        bool first_pending;  /* not handed to libarchive yet */
        int read_err;        /* negative errno of a failed read(), 0 */
        bool regular;        /* fd is a regular file: its cache is dropped behind us */
        off_t pos, dropped;  /* file offsets: read up to, cache dropped up to */
        enum state state;
};

static void drop_input_cache(struct agent_bundle_tar *t, bool all) {
        if (!t->regular || (!all && t->pos - t->dropped < READ_BEHIND))
                return;
        /* A hint only: the bundle is read once. */
        (void) posix_fadvise(t->fd, t->dropped, t->pos - t->dropped, POSIX_FADV_DONTNEED);
        t->dropped = t->pos;
}

/* Read into t->buf until at least min bytes (or the end); the count or a negative errno. */
static ssize_t fill(struct agent_bundle_tar *t, size_t min) {
        size_t got = 0;
        while (got < min) {
                ssize_t n = read(t->fd, t->buf + got, AGENT_BUNDLE_TAR_BLOCK - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                got += (size_t) n;
                t->pos += n;
        }
        return (ssize_t) got;
}

static la_ssize_t read_cb(struct archive *a, void *userdata, const void **ret_buf) {
        struct agent_bundle_tar *t = userdata;
        *ret_buf = t->buf;
        if (t->first_pending) {
                t->first_pending = false;
                return (la_ssize_t) t->first_len;
        }
        /* libarchive is done with the previous block when it asks for the next one. */
        drop_input_cache(t, false);
        t->cur = (t->cur + 1) % READ_BUFS;
        t->buf = t->bufs + t->cur * AGENT_BUNDLE_TAR_BLOCK;
        if (t->hasher)
                hasher_wait_buf(t->hasher, t->cur);
        *ret_buf = t->buf;
        ssize_t n = fill(t, 1);
        if (n < 0) {
                t->read_err = (int) n;
                archive_set_error(a, (int) -n, "cannot read: %s", strerror((int) -n));
                return -1;
        }
        return n;
}

struct magic {
        const char *bytes;
        size_t len;
        const char *name;
};
#define MAGIC(m, name) {(m), sizeof(m) - 1, (name)}

/* Compression formats, by the magic they start with (what libarchive's filters bid on). */
static const struct magic compressed[] = {
        MAGIC("\x1f\x8b", "gzip"),
        MAGIC("BZh", "bzip2"),
        MAGIC("\xfd" "7zXZ\0", "xz"),
        MAGIC("\x28\xb5\x2f\xfd", "zstd"),
        MAGIC("\x04\x22\x4d\x18", "lz4"),
        MAGIC("\x5d\0\0", "lzma"),
        MAGIC("\x1f\x9d", "compress"),
        MAGIC("LZIP", "lzip"),
        MAGIC("\x89LZO", "lzop"),
};

int agent_bundle_tar_open(int fd, const char *name, struct agent_bundle_tar **ret, char **ret_reason) {
        assert(fd >= 0);
        assert(ret);
        if (!name)
                name = "bundle";
        _cleanup_(agent_bundle_tar_freep) struct agent_bundle_tar *t = calloc(1, sizeof *t);
        if (!t)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        t->fd = fd;
        t->name = strdup(name);
        t->buf = t->bufs = malloc((size_t) READ_BUFS * AGENT_BUNDLE_TAR_BLOCK);
        if (!t->name || !t->bufs)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");

        struct stat st;
        if (fstat(fd, &st) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot stat", name);
        if (S_ISREG(st.st_mode)) {
                off_t off = lseek(fd, 0, SEEK_CUR);
                if (off >= 0) {
                        t->regular = true;
                        t->pos = t->dropped = off;
                        (void) posix_fadvise(fd, off, 0, POSIX_FADV_SEQUENTIAL);
                }
        } else if (S_ISDIR(st.st_mode))
                return ecl_reason(ret_reason, -EBADMSG, "%s: a directory, not a bundle", name);

        /* One tar header block is enough to tell a compressed file. */
        ssize_t n = fill(t, 512);
        if (n < 0)
                return ecl_reason_errno(ret_reason, (int) n, "%s: cannot read", name);
        if (n == 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: empty, not a bundle", name);
        t->first_len = (size_t) n;
        t->first_pending = true;
        for (size_t i = 0; i < ELEMENTSOF(compressed); i++)
                if (t->first_len >= compressed[i].len && memcmp(t->buf, compressed[i].bytes, compressed[i].len) == 0)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "%s: %s-compressed: refused, a bundle is an uncompressed tar", name,
                                          compressed[i].name);

        t->a = archive_read_new();
        if (!t->a)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        /* The tar reader alone (ustar, pax, GNU tar), no decompression filter. */
        if (archive_read_support_format_tar(t->a) != ARCHIVE_OK ||
            archive_read_open(t->a, t, NULL, read_cb, NULL) != ARCHIVE_OK)
                return ecl_reason(ret_reason, -EBADMSG, "%s: not a tar archive (%s)", name,
                                  archive_error_string(t->a) ?: "libarchive failed");
        *ret = TAKE_PTR(t);
        return 0;
}

void agent_bundle_tar_free(struct agent_bundle_tar *t) {
        if (!t)
                return;
        if (t->a)
                archive_read_free(t->a);
        free(t->bufs);
        free(t->name);
        free(t);
}

/* A libarchive failure: a read error keeps its errno, anything else is the bundle's fault. */
static int archive_failed(struct agent_bundle_tar *t, char **ret_reason, const char *what) {
        if (t->read_err < 0)
                return ecl_reason_errno(ret_reason, t->read_err, "%s: cannot read", t->name);
        const char *err = archive_error_string(t->a);
        return ecl_reason(ret_reason, -EBADMSG, "%s: %s: %s", t->name, what, err ?: "unreadable tar");
}

/* ustar, pax and GNU tar; not the old V7 headers (no magic) the tar reader also takes. */
static bool format_ok(int f) {
        return f == ARCHIVE_FORMAT_TAR_USTAR || f == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE ||
               f == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED || f == ARCHIVE_FORMAT_TAR_GNUTAR;
}

/* The next header; 1 and *ret_entry, 0 at the end, or a negative errno. */
static int next_header(struct agent_bundle_tar *t, struct archive_entry **ret_entry, const char *after,
                       char **ret_reason) {
        int r = archive_read_next_header(t->a, ret_entry);
        if (r == ARCHIVE_EOF)
                return 0;
        if (r != ARCHIVE_OK) {
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, "entry after %s", after) < 0)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                return archive_failed(t, ret_reason, what);
        }
        if (!format_ok(archive_format(t->a)))
                return ecl_reason(ret_reason, -EBADMSG, "%s: entry after %s: not a ustar, pax or GNU tar header (%s)",
                                  t->name, after, archive_format_name(t->a) ?: "unknown");
        return 1;
}

static const char *type_name(mode_t type) {
        switch (type) {
        case AE_IFCHR:
        case AE_IFBLK:
                return "device";
        case AE_IFIFO:
                return "FIFO";
        case AE_IFSOCK:
                return "socket";
        case AE_IFDIR:
                return "directory";
        default:
                return "special";
        }
}

/*
 * Whether e is a link or anything but a regular file (directories are for
 * the caller to judge): 0, or -EBADMSG naming it.
 */
static int check_regular(struct archive_entry *e, const char *path, bool dir_ok, char **ret_reason) {
        const char *hard = archive_entry_hardlink(e);
        if (hard)
                return ecl_reason(ret_reason, -EBADMSG, "hard link entry %s -> %s: links are refused", path, hard);
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFLNK) {
                const char *target = archive_entry_symlink(e);
                return ecl_reason(ret_reason, -EBADMSG, "link entry %s -> %s: links are refused", path,
                                  target ?: "?");
        }
        if (type == AE_IFREG || (dir_ok && type == AE_IFDIR))
                return 0;
        return ecl_reason(ret_reason, -EBADMSG, "%s entry %s: only regular files are accepted", type_name(type),
                          path);
}

static int read_whole(struct agent_bundle_tar *t, struct archive_entry *e, const char *want, size_t max,
                      char **ret_buf, size_t *ret_len, char **ret_reason) {
        const char *path = archive_entry_pathname(e);
        if (!path || !streq(path, want))
                return ecl_reason(ret_reason, -EBADMSG, "%s: the %s entry is %s, not %s", t->name,
                                  streq(want, "bundle.yaml") ? "first" : "second", path ?: "unnamed", want);
        int r = check_regular(e, path, false, ret_reason);
        if (r < 0)
                return r;
        if (archive_entry_sparse_count(e) > 0)
                return ecl_reason(ret_reason, -EBADMSG, "sparse entry %s: refused", path);
        if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: no size in the tar", path);
        /* From the header, before a byte of the data is read. */
        uint64_t size = (uint64_t) archive_entry_size(e);
        if (size > max)
                return ecl_reason(ret_reason, -EBADMSG, "%s: %" PRIu64 " bytes, at most %zu: refused", path, size,
                                  max);
        _cleanup_free_ char *buf = malloc((size_t) size + 1);
        if (!buf)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t got = 0;
        while (got < size) {
                la_ssize_t n = archive_read_data(t->a, buf + got, (size_t) size - got);
                if (n < 0)
                        return archive_failed(t, ret_reason, path);
                if (n == 0)
                        return ecl_reason(ret_reason, -EBADMSG, "%s: truncated", path);
                got += (size_t) n;
        }
        buf[got] = '\0';
        *ret_buf = TAKE_PTR(buf);
        *ret_len = got;
        return 0;
}

int agent_bundle_tar_read_head(struct agent_bundle_tar *t, char **ret_meta, size_t *ret_meta_len, char **ret_sig,
                               size_t *ret_sig_len, char **ret_reason) {
        assert(t && t->state == ST_OPEN);
        assert(ret_meta && ret_meta_len && ret_sig && ret_sig_len);
        t->state = ST_DONE; /* whatever happens, once */
        struct archive_entry *e;
        int r = next_header(t, &e, "the start", ret_reason);
        if (r < 0)
                return r;
        if (r == 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: no entries, bundle.yaml missing", t->name);
        _cleanup_free_ char *meta = NULL, *sig = NULL;
        size_t meta_len, sig_len;
        r = read_whole(t, e, "bundle.yaml", AGENT_BUNDLE_META_MAX_SIZE, &meta, &meta_len, ret_reason);
        if (r < 0)
                return r;
        r = next_header(t, &e, "bundle.yaml", ret_reason);
        if (r < 0)
                return r;
        if (r == 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: bundle.yaml.sig missing", t->name);
        r = read_whole(t, e, "bundle.yaml.sig", ECL_SSHSIG_MAX_SIZE, &sig, &sig_len, ret_reason);
        if (r < 0)
                return r;
        t->state = ST_HEAD;
        *ret_meta = TAKE_PTR(meta);
        *ret_meta_len = meta_len;
        *ret_sig = TAKE_PTR(sig);
        *ret_sig_len = sig_len;
        return 0;
}

/* Names after pax and GNU long-name records, as they will be compared. */
static int check_name(const char *path, char **ret_reason) {
        if (ecl_str_has_control(path, (size_t) -1))
                return ecl_reason(ret_reason, -EBADMSG, "entry %s: control character in its name: refused", path);
        if (path[0] == '/')
                return ecl_reason(ret_reason, -EBADMSG, "%s: absolute path: refused", path);
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return ecl_reason(ret_reason, -EBADMSG, "%s: path with '..': refused", path);
                p += n;
                p += strspn(p, "/");
        }
        return 0;
}

static ssize_t find_file(const struct agent_bundle_meta *meta, const char *path) {
        for (size_t i = 0; i < meta->n_payload; i++)
                if (streq(meta->payload[i].path, path))
                        return (ssize_t) i;
        return -1;
}

/* Directories "payload" and those leading to a listed file; stripped of one trailing '/'. */
static bool dir_listed(const struct agent_bundle_meta *meta, const char *dir, size_t len) {
        if (len == strlen("payload") && strncmp(dir, "payload", len) == 0)
                return true;
        for (size_t i = 0; i < meta->n_payload; i++) {
                const char *p = meta->payload[i].path;
                if (strncmp(p, dir, len) == 0 && p[len] == '/')
                        return true;
        }
        return false;
}

struct dirs {
        char **v;
        size_t n;
};

static void dirs_clear(struct dirs *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->v[i]);
        free(d->v);
}

static int check_dir(struct archive_entry *e, const char *path, const struct agent_bundle_meta *meta,
                     struct dirs *seen, char **ret_reason) {
        size_t len = strlen(path);
        if (len > 0 && path[len - 1] == '/')
                len--;
        if (len == 0 || !dir_listed(meta, path, len))
                return ecl_reason(ret_reason, -EBADMSG,
                                  "directory entry %s: only payload/ and the directories of listed files are accepted",
                                  path);
        if (archive_entry_size(e) != 0)
                return ecl_reason(ret_reason, -EBADMSG, "directory entry %s: has data", path);
        for (size_t i = 0; i < seen->n; i++)
                if (strlen(seen->v[i]) == len && strncmp(seen->v[i], path, len) == 0)
                        return ecl_reason(ret_reason, -EBADMSG, "duplicate entry %s", path);
        char **v = reallocarray(seen->v, seen->n + 1, sizeof *v);
        if (!v)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        seen->v = v;
        if (!(v[seen->n] = strndup(path, len)))
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        seen->n++;
        return 0;
}

struct progress {
        agent_progress_fn fn;
        void *userdata;
        uint64_t done, total;
        struct timespec last;
};

static void progress_tick(struct progress *p) {
        if (!p->fn)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ns = (int64_t) (now.tv_sec - p->last.tv_sec) * 1000000000 + (now.tv_nsec - p->last.tv_nsec);
        if (ns < PROGRESS_INTERVAL_NS)
                return;
        p->last = now;
        p->fn(p->done, p->total, p->userdata);
}

static int write_all(int fd, const uint8_t *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/*
 * Write-behind: start writing back what was just written, wait for the
 * window before it and drop it from the page cache, so a large image does
 * not fill memory with dirty pages and the final fsync has little left.
 * Hints only: a file system without sync_file_range still gets fsync.
 */
struct behind {
        off_t flushed; /* writeback started up to */
        off_t dropped; /* written back and dropped from the cache up to */
};

static void write_behind(int fd, off_t written, struct behind *b) {
        if (written - b->flushed < WRITE_BEHIND)
                return;
        (void) sync_file_range(fd, b->flushed, written - b->flushed, SYNC_FILE_RANGE_WRITE);
        if (b->flushed > b->dropped) {
                (void) sync_file_range(fd, b->dropped, b->flushed - b->dropped,
                                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                               SYNC_FILE_RANGE_WAIT_AFTER);
                (void) posix_fadvise(fd, b->dropped, b->flushed - b->dropped, POSIX_FADV_DONTNEED);
                b->dropped = b->flushed;
        }
        b->flushed = written;
}


/*
 * SHA-256 in a second thread, so hashing block N overlaps writing N and
 * reading N+1 (warm, the copies and the hash each take about half the time).
 * The main thread publishes each piece libarchive hands out (a pointer into
 * one of our read blocks, t->bufs) and writes it; the worker hashes the
 * pieces in order.  Both only read a published piece; read_cb refills a
 * block only once no piece in it is left to hash (hasher_wait_buf), and the
 * main thread has written a piece before it asks libarchive for the next.
 * A piece outside our blocks (libarchive's own buffer, valid only until its
 * next call) is hashed before the main thread goes on (hasher_wait_buf
 * with NOT_OURS).
 * ctx belongs to the worker from start to join.
 */
#define HASH_RING 8
#define NOT_OURS ((size_t) -1)

struct piece {
        const uint8_t *p;
        size_t len;
        size_t buf; /* index in t->bufs, or NOT_OURS */
};

struct hasher {
        pthread_mutex_t mu;
        pthread_cond_t cond;         /* any change of produced, hashed, closing, aborting */
        EVP_MD_CTX *ctx;
        struct piece ring[HASH_RING];
        uint64_t produced, hashed;   /* pieces published, pieces hashed */
        bool closing;                /* no more pieces: hash what is left and stop */
        bool aborting;               /* stop now, the result is thrown away */
        bool failed;                 /* EVP_DigestUpdate failed */
        bool running;                /* thread started, not joined yet */
        pthread_t thread;
};

static void *hasher_main(void *userdata) {
        struct hasher *h = userdata;
        pthread_mutex_lock(&h->mu);
        for (;;) {
                while (h->hashed == h->produced && !h->closing && !h->aborting)
                        pthread_cond_wait(&h->cond, &h->mu);
                if (h->aborting || h->hashed == h->produced)
                        break;
                struct piece pc = h->ring[h->hashed % HASH_RING];
                pthread_mutex_unlock(&h->mu);
                bool ok = EVP_DigestUpdate(h->ctx, pc.p, pc.len) == 1;
                pthread_mutex_lock(&h->mu);
                if (!ok)
                        h->failed = true;
                h->hashed++;
                pthread_cond_broadcast(&h->cond);
        }
        pthread_mutex_unlock(&h->mu);
        return NULL;
}

static int hasher_start(struct hasher *h, EVP_MD_CTX *ctx) {
        h->ctx = ctx;
        /* Signals stay with the main thread: the worker starts with all blocked. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&h->thread, NULL, hasher_main, h);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return -r;
        h->running = true;
        return 0;
}

/* Wait for everything published to be hashed (or, aborting, for the worker to stop); 0 or -EIO. */
static int hasher_join(struct hasher *h, bool abort) {
        if (h->running) {
                pthread_mutex_lock(&h->mu);
                h->closing = true;
                h->aborting = abort;
                pthread_cond_broadcast(&h->cond);
                pthread_mutex_unlock(&h->mu);
                pthread_join(h->thread, NULL);
                h->running = false;
        }
        return h->failed ? -EIO : 0;
}

/* True while a piece in block buf (NOT_OURS: any piece) is published and not hashed; under mu. */
static bool hasher_busy(const struct hasher *h, size_t buf) {
        for (uint64_t i = h->hashed; i < h->produced; i++)
                if (buf == NOT_OURS || h->ring[i % HASH_RING].buf == buf)
                        return true;
        return false;
}

static void hasher_wait_buf(struct hasher *h, size_t buf) {
        pthread_mutex_lock(&h->mu);
        while (h->running && hasher_busy(h, buf))
                pthread_cond_wait(&h->cond, &h->mu);
        pthread_mutex_unlock(&h->mu);
}

static void hasher_publish(struct hasher *h, const uint8_t *p, size_t len, size_t buf) {
        pthread_mutex_lock(&h->mu);
        while (h->produced - h->hashed >= HASH_RING)
                pthread_cond_wait(&h->cond, &h->mu);
        h->ring[h->produced % HASH_RING] = (struct piece) {p, len, buf};
        h->produced++;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->mu);
}

/* Which of t's blocks holds [p, p + len), or NOT_OURS. */
static size_t block_of(const struct agent_bundle_tar *t, const void *p, size_t len) {
        uintptr_t a = (uintptr_t) p, base = (uintptr_t) t->bufs;
        for (size_t i = 0; i < READ_BUFS; i++) {
                uintptr_t lo = base + i * AGENT_BUNDLE_TAR_BLOCK;
                if (a >= lo && a - lo <= AGENT_BUNDLE_TAR_BLOCK && len <= AGENT_BUNDLE_TAR_BLOCK - (a - lo))
                        return i;
        }
        return NOT_OURS;
}

/* extract_file's: the worker stopped on every return, and t no longer points at it. */
struct hashing {
        struct agent_bundle_tar *t;
        struct hasher h;
};

static void hashing_done(struct hashing *hs) {
        (void) hasher_join(&hs->h, true);
        hs->t->hasher = NULL;
        pthread_cond_destroy(&hs->h.cond);
        pthread_mutex_destroy(&hs->h.mu);
}

static int extract_file(struct agent_bundle_tar *t, const struct agent_bundle_file *f, int dirfd,
                        struct progress *prog, char **ret_reason) {
        _cleanup_close_ int fd =
                openat(dirfd, f->install, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot create %s", f->path, f->install);
        if (fchmod(fd, 0600) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot chmod %s", f->path, f->install);
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return ecl_reason(ret_reason, -ENOMEM, "%s: cannot start sha256", f->path);

        _cleanup_(hashing_done) struct hashing hs = {
                .t = t,
                .h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER},
        };
        int r = hasher_start(&hs.h, ctx);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "%s: cannot start hashing", f->path);
        t->hasher = &hs.h;

        uint64_t done = 0;
        struct behind behind = {0};
        for (;;) {
                const void *p;
                size_t len;
                la_int64_t off;
                r = archive_read_data_block(t->a, &p, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK)
                        return archive_failed(t, ret_reason, f->path);
                if (off < 0 || (uint64_t) off != done)
                        return ecl_reason(ret_reason, -EBADMSG, "%s: sparse data: refused", f->path);
                if (len > f->size - done)
                        return ecl_reason(ret_reason, -EBADMSG,
                                          "%s: more than the %" PRIu64 " bytes bundle.yaml says: refused", f->path,
                                          f->size);
                if (len == 0)
                        continue;
                size_t buf = block_of(t, p, len);
                hasher_publish(&hs.h, p, len, buf);
                r = write_all(fd, p, len);
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "%s: cannot write %s", f->path, f->install);
                /* Not in our blocks: hashed before libarchive's next call reuses it. */
                if (buf == NOT_OURS)
                        hasher_wait_buf(&hs.h, NOT_OURS);
                done += len;
                prog->done += len;
                write_behind(fd, (off_t) done, &behind);
                progress_tick(prog);
        }
        /* Every byte hashed before the digest is read. */
        if (hasher_join(&hs.h, false) < 0)
                return ecl_reason(ret_reason, -EIO, "%s: sha256 failed", f->path);
        if (done != f->size)
                return ecl_reason(ret_reason, -EBADMSG, "%s: %" PRIu64 " bytes in the tar, bundle.yaml says %" PRIu64,
                                  f->path, done, f->size);
        if (fsync(fd) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot fsync %s", f->path, f->install);
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        if (close(TAKE_FD(fd)) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "%s: cannot close %s", f->path, f->install);

        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != sizeof f->sha256)
                return ecl_reason(ret_reason, -EIO, "%s: sha256 failed", f->path);
        if (memcmp(md, f->sha256, sizeof f->sha256) != 0) {
                char got[65], want[65];
                ecl_hex_encode(md, 32, got);
                ecl_hex_encode(f->sha256, 32, want);
                return ecl_reason(ret_reason, -EBADMSG, "%s: sha256 mismatch (bundle.yaml says %s, the file is %s)",
                                  f->path, want, got);
        }
        return 0;
}

static int extract_entry(struct agent_bundle_tar *t, struct archive_entry *e, const struct agent_bundle_meta *meta,
                         int dirfd, bool *seen, struct dirs *dirs, struct progress *prog, char **ret_reason) {
        const char *path = archive_entry_pathname(e);
        if (!path || !*path)
                return ecl_reason(ret_reason, -EBADMSG, "%s: an entry without a readable name", t->name);
        int r = check_name(path, ret_reason);
        if (r < 0)
                return r;
        r = check_regular(e, path, true, ret_reason);
        if (r < 0)
                return r;
        if (archive_entry_sparse_count(e) > 0)
                return ecl_reason(ret_reason, -EBADMSG, "sparse entry %s: refused", path);
        if (archive_entry_filetype(e) == AE_IFDIR)
                return check_dir(e, path, meta, dirs, ret_reason);
        ssize_t i = find_file(meta, path);
        if (i < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: not listed in bundle.yaml", path);
        if (seen[i])
                return ecl_reason(ret_reason, -EBADMSG, "duplicate entry %s", path);
        seen[i] = true;
        const struct agent_bundle_file *f = &meta->payload[i];
        if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: no size in the tar", path);
        if ((uint64_t) archive_entry_size(e) != f->size)
                return ecl_reason(ret_reason, -EBADMSG, "%s: size %" PRIu64 " in the tar, bundle.yaml says %" PRIu64,
                                  path, (uint64_t) archive_entry_size(e), f->size);
        return extract_file(t, f, dirfd, prog, ret_reason);
}

int agent_bundle_tar_extract(struct agent_bundle_tar *t, const struct agent_bundle_meta *meta, int dirfd,
                             agent_progress_fn progress, void *userdata, char **ret_reason) {
        assert(t && t->state == ST_HEAD);
        assert(meta && dirfd >= 0);
        t->state = ST_DONE;
        struct progress prog = {.fn = progress, .userdata = userdata};
        for (size_t i = 0; i < meta->n_payload; i++)
                if (__builtin_add_overflow(prog.total, meta->payload[i].size, &prog.total))
                        return ecl_reason(ret_reason, -EBADMSG, "bundle.yaml: payload sizes add up to more than 2^64");
        clock_gettime(CLOCK_MONOTONIC, &prog.last);

        _cleanup_free_ bool *seen = calloc(meta->n_payload ?: 1, sizeof *seen);
        if (!seen)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_(dirs_clear) struct dirs dirs = {0};
        _cleanup_free_ char *last = strdup("bundle.yaml.sig");
        if (!last)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        for (;;) {
                struct archive_entry *e;
                int r = next_header(t, &e, last, ret_reason);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = extract_entry(t, e, meta, dirfd, seen, &dirs, &prog, ret_reason);
                if (r < 0)
                        return r;
                free(last);
                if (!(last = strdup(archive_entry_pathname(e))))
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        drop_input_cache(t, true);
        for (size_t i = 0; i < meta->n_payload; i++)
                if (!seen[i])
                        return ecl_reason(ret_reason, -EBADMSG, "listed entry %s is missing", meta->payload[i].path);
        if (progress)
                progress(prog.done, prog.total, userdata);
        return 0;
}
