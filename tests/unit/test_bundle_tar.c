/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bundles are built at test time with libarchive's writer (ustar, pax, GNU
 * tar), or by hand where the writer would not make what a hostile vendor
 * could (pax records that rename or resize an entry, a header that claims a
 * huge bundle.yaml), then read with bundle-tar.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "bundle-tar.h"
#include "sshsig.h"
#include "testlib.h"

#define META "ecluse-bundle: 1\nstack: office\n"
#define SIG "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"

struct ent {
        const char *path;
        mode_t type;      /* 0: regular */
        const void *data;
        size_t len;
        int64_t size;     /* header size when not -1... set by E() to len */
        const char *link; /* symlink target, or hard link target when hard */
        bool hard;
};

#define E(p, d) {.path = (p), .data = (d), .len = sizeof(d) - 1, .size = sizeof(d) - 1}
#define HEAD E("bundle.yaml", META), E("bundle.yaml.sig", SIG)

static const char kernel[] = "a kernel\n";
static const char initrd[] = "an initrd, in a subdirectory\n";

struct fixture {
        char *dir;     /* scratch */
        int outfd;     /* where files are extracted */
        struct agent_bundle_file files[2];
        struct agent_bundle_meta meta;
};

static void sha256(const void *data, size_t len, uint8_t out[32]) {
        unsigned n = 0;
        assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
        assert_int_equal(n, 32);
}

static void set_file(struct agent_bundle_file *f, const char *path, const char *install, const void *data,
                     size_t len) {
        f->path = (char *) path;
        f->install = (char *) install;
        f->size = len;
        sha256(data, len, f->sha256);
        for (int i = 0; i < 32; i++)
                snprintf(f->sha256_hex + 2 * i, 3, "%02x", f->sha256[i]);
}

static int setup(void **state) {
        struct fixture *fx = calloc(1, sizeof *fx);
        assert_non_null(fx);
        fx->dir = tl_mkdtemp();
        _cleanup_free_ char *out = tl_strf("%s/out", fx->dir);
        assert_int_equal(mkdir(out, 0700), 0);
        fx->outfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fx->outfd >= 0);
        set_file(&fx->files[0], "payload/vmlinuz", "vmlinuz", kernel, strlen(kernel));
        set_file(&fx->files[1], "payload/boot/initrd.img", "initrd.img", initrd, strlen(initrd));
        fx->meta = (struct agent_bundle_meta){.file = (char *) "bundle.yaml", .payload = fx->files, .n_payload = 2};
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        struct fixture *fx = *state;
        close(fx->outfd);
        tl_rm_rf(fx->dir);
        free(fx->dir);
        free(fx);
        return 0;
}

/* Write ents as a tar (format and filter: libarchive codes) into a new file; its path. */
static char *build(struct fixture *fx, int format, int filter, const struct ent *ents, size_t n) {
        static int serial;
        char *path = tl_strf("%s/bundle-%d.tar", fx->dir, serial++);
        struct archive *a = archive_write_new();
        assert_non_null(a);
        assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
        if (filter == ARCHIVE_FILTER_GZIP)
                assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                const struct ent *x = &ents[i];
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, x->path);
                archive_entry_set_mode(e, (x->type ? x->type : AE_IFREG) | 0644);
                archive_entry_set_mtime(e, 1700000000, 0);
                if (x->type == AE_IFLNK)
                        archive_entry_set_symlink(e, x->link);
                if (x->hard)
                        archive_entry_set_hardlink(e, x->link);
                if (x->type == AE_IFCHR || x->type == AE_IFBLK)
                        archive_entry_set_rdev(e, makedev(1, 3));
                if (!x->type || x->type == AE_IFREG)
                        archive_entry_set_size(e, x->size);
                else
                        archive_entry_set_size(e, 0);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (x->len)
                        assert_int_equal(archive_write_data(a, x->data, x->len),
                                         (la_ssize_t) (x->size < (int64_t) x->len ? (size_t) x->size : x->len));
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        return path;
}

/* The result of reading a bundle through to the end. */
struct outcome {
        int r;
        char *reason;
        const char *stage; /* "open", "head", "extract" or "done" */
        uint64_t last_done, last_total;
        unsigned calls;
};

static void progress(uint64_t done, uint64_t total, void *userdata) {
        struct outcome *o = userdata;
        assert_true(done <= total);
        assert_true(done >= o->last_done);
        o->last_done = done;
        o->last_total = total;
        o->calls++;
}

static void outcome_clear(struct outcome *o) {
        free(o->reason);
}

static struct outcome run_fd(struct fixture *fx, int fd) {
        struct outcome o = {0};
        _cleanup_(agent_bundle_tar_freep) struct agent_bundle_tar *t = NULL;
        o.stage = "open";
        o.r = agent_bundle_tar_open(fd, "b.tar", &t, &o.reason);
        if (o.r < 0)
                return o;
        _cleanup_free_ char *meta = NULL, *sig = NULL;
        size_t meta_len = 0, sig_len = 0;
        o.stage = "head";
        o.r = agent_bundle_tar_read_head(t, &meta, &meta_len, &sig, &sig_len, &o.reason);
        if (o.r < 0)
                return o;
        assert_int_equal(meta_len, strlen(META));
        assert_memory_equal(meta, META, meta_len + 1);
        assert_int_equal(sig_len, strlen(SIG));
        assert_memory_equal(sig, SIG, sig_len + 1);
        o.stage = "extract";
        o.r = agent_bundle_tar_extract(t, &fx->meta, fx->outfd, progress, &o, &o.reason);
        if (o.r == 0)
                o.stage = "done";
        return o;
}

static struct outcome run(struct fixture *fx, const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        return run_fd(fx, fd);
}

static void assert_refused_at(struct outcome *o, const char *stage, const char *needle, const char *file, int line) {
        if (o->r != -EBADMSG || !o->reason || !strstr(o->reason, needle) || strcmp(o->stage, stage) != 0)
                fail_msg("%s:%d: expected -EBADMSG at %s with \"%s\", got %d at %s: %s", file, line, stage, needle,
                         o->r, o->stage, o->reason ? o->reason : "(no reason)");
        if (strchr(o->reason, '\n'))
                fail_msg("%s:%d: reason is not one line: %s", file, line, o->reason);
        outcome_clear(o);
}
#define assert_refused(o, stage, needle)                                      \
        do {                                                                  \
                struct outcome o_ = (o);                                      \
                assert_refused_at(&o_, (stage), (needle), __FILE__, __LINE__); \
        } while (0)

static void reset_out(struct fixture *fx) {
        _cleanup_free_ char *out = tl_strf("%s/out", fx->dir);
        tl_rm_rf(out);
        assert_int_equal(mkdir(out, 0700), 0);
        close(fx->outfd);
        fx->outfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fx->outfd >= 0);
}

static void build_run_refused(struct fixture *fx, int format, const struct ent *ents, size_t n, const char *stage,
                              const char *needle, int line) {
        _cleanup_free_ char *p = build(fx, format, 0, ents, n);
        reset_out(fx);
        struct outcome o = run(fx, p);
        assert_refused_at(&o, stage, needle, __FILE__, line);
}
#define REFUSED(fx, stage, needle, ...)                                                                           \
        do {                                                                                                      \
                const struct ent ents_[] = {__VA_ARGS__};                                                         \
                build_run_refused((fx), ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ents_, ELEMENTSOF(ents_), (stage),    \
                                  (needle), __LINE__);                                                            \
                build_run_refused((fx), ARCHIVE_FORMAT_TAR_USTAR, ents_, ELEMENTSOF(ents_), (stage), (needle),    \
                                  __LINE__);                                                                      \
        } while (0)

static char *read_out(struct fixture *fx, const char *name, size_t *len, mode_t *mode) {
        int fd = openat(fx->outfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return NULL;
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        *mode = st.st_mode;
        char *buf = malloc((size_t) st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(read(fd, buf, (size_t) st.st_size), st.st_size);
        buf[st.st_size] = '\0';
        *len = (size_t) st.st_size;
        close(fd);
        return buf;
}

static void assert_out(struct fixture *fx, const char *name, const void *data, size_t len) {
        size_t got_len;
        mode_t mode;
        _cleanup_free_ char *got = read_out(fx, name, &got_len, &mode);
        assert_non_null(got);
        assert_true(S_ISREG(mode));
        assert_int_equal(mode & 07777, 0600);
        assert_int_equal(got_len, len);
        assert_memory_equal(got, data, len);
}

static unsigned count_out(struct fixture *fx) {
        _cleanup_free_ char *out = tl_strf("%s/out", fx->dir);
        _cleanup_free_ char *cmd = tl_strf("ls -A '%s' | wc -l", out);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        unsigned n = 0;
        assert_int_equal(fscanf(p, "%u", &n), 1);
        pclose(p);
        return n;
}

static void good_in(void **state, int format) {
        struct fixture *fx = *state;
        const struct ent ents[] = {
                HEAD,
                {.path = "payload/", .type = AE_IFDIR},
                E("payload/vmlinuz", kernel),
                {.path = "payload/boot", .type = AE_IFDIR},
                E("payload/boot/initrd.img", initrd),
        };
        _cleanup_free_ char *p = build(fx, format, 0, ents, ELEMENTSOF(ents));
        /* The mode is 0600 whatever the umask. */
        mode_t old = umask(0277);
        struct outcome o = run(fx, p);
        umask(old);
        if (o.r < 0)
                fail_msg("%s: %s", o.stage, o.reason);
        assert_out(fx, "vmlinuz", kernel, strlen(kernel));
        assert_out(fx, "initrd.img", initrd, strlen(initrd));
        assert_int_equal(count_out(fx), 2);
        /* The last call says everything is done. */
        assert_true(o.calls >= 1);
        assert_int_equal(o.last_total, strlen(kernel) + strlen(initrd));
        assert_int_equal(o.last_done, o.last_total);
        outcome_clear(&o);
        reset_out(fx);
}

static void test_good(void **state) {
        good_in(state, ARCHIVE_FORMAT_TAR_USTAR);
        good_in(state, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
        good_in(state, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        good_in(state, ARCHIVE_FORMAT_TAR_GNUTAR);
}

/* A large file in several blocks (and write-behind windows), a long name (a pax path record), from a pipe. */
static void test_good_large_long_name_pipe(void **state) {
        struct fixture *fx = *state;
        size_t len = 20 * 1024 * 1024 + 12345;
        _cleanup_free_ uint8_t *big = malloc(len);
        assert_non_null(big);
        for (size_t i = 0; i < len; i++)
                big[i] = (uint8_t) (i * 2654435761u >> 13);
        char long_path[200];
        snprintf(long_path, sizeof long_path, "payload/%s/disk.qcow2",
                 "a-directory-name-long-enough-that-ustar-cannot-hold-the-path-in-its-hundred-bytes-of-name-so-pax-"
                 "must");
        set_file(&fx->files[1], long_path, "disk.qcow2", big, len);
        const struct ent ents[] = {
                HEAD,
                E("payload/vmlinuz", kernel),
                {.path = long_path, .data = big, .len = len, .size = (int64_t) len},
        };
        _cleanup_free_ char *p = build(fx, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0, ents, ELEMENTSOF(ents));
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(pfd[0]);
                dup2(pfd[1], STDOUT_FILENO);
                execlp("cat", "cat", p, (char *) NULL);
                _exit(127);
        }
        close(pfd[1]);
        struct outcome o = run_fd(fx, pfd[0]);
        close(pfd[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (o.r < 0)
                fail_msg("%s: %s", o.stage, o.reason);
        assert_out(fx, "disk.qcow2", big, len);
        assert_out(fx, "vmlinuz", kernel, strlen(kernel));
        assert_int_equal(o.last_done, len + strlen(kernel));
        outcome_clear(&o);

        /* One byte changed in the middle: refused, with both hashes. */
        reset_out(fx);
        big[len / 2] ^= 1;
        _cleanup_free_ char *q = build(fx, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0, ents, ELEMENTSOF(ents));
        o = run(fx, q);
        _cleanup_free_ char *needle = tl_strf("disk.qcow2: sha256 mismatch (bundle.yaml says %s, the file is ",
                                              fx->files[1].sha256_hex);
        assert_refused(o, "extract", needle);
}

static void test_first_entries(void **state) {
        struct fixture *fx = *state;
        REFUSED(fx, "head", "the first entry is payload/vmlinuz, not bundle.yaml", E("payload/vmlinuz", kernel),
                HEAD);
        REFUSED(fx, "head", "the first entry is bundle.yaml.sig, not bundle.yaml", E("bundle.yaml.sig", SIG),
                E("bundle.yaml", META), E("payload/vmlinuz", kernel));
        REFUSED(fx, "head", "the second entry is payload/vmlinuz, not bundle.yaml.sig", E("bundle.yaml", META),
                E("payload/vmlinuz", kernel), E("bundle.yaml.sig", SIG));
        REFUSED(fx, "head", "bundle.yaml.sig missing", E("bundle.yaml", META));
        REFUSED(fx, "head", "the first entry is ./bundle.yaml, not bundle.yaml", E("./bundle.yaml", META),
                E("bundle.yaml.sig", SIG));
        REFUSED(fx, "head", "link entry bundle.yaml -> /etc/passwd",
                {.path = "bundle.yaml", .type = AE_IFLNK, .link = "/etc/passwd"}, E("bundle.yaml.sig", SIG));
        REFUSED(fx, "head", "hard link entry bundle.yaml.sig -> bundle.yaml", E("bundle.yaml", META),
                {.path = "bundle.yaml.sig", .link = "bundle.yaml", .hard = true});
        REFUSED(fx, "head", "the first entry is bundle.yaml/, not bundle.yaml", {.path = "bundle.yaml", .type = AE_IFDIR},
                E("bundle.yaml.sig", SIG));
        /* An archive with no entry at all. */
        _cleanup_free_ char *p = build(fx, ARCHIVE_FORMAT_TAR_USTAR, 0, NULL, 0);
        assert_refused(run(fx, p), "head", "no entries, bundle.yaml missing");
}

/* A ustar header by hand: name, size in octal, type flag, checksum. */
static void raw_header_link(uint8_t h[512], const char *name, uint64_t size, char type, const char *link) {
        memset(h, 0, 512);
        assert_true(strlen(name) < 100);
        memcpy(h, name, strlen(name));
        if (link)
                memcpy(h + 157, link, strlen(link));
        memcpy(h + 100, "0000644", 7);
        memcpy(h + 108, "0000000", 7);
        memcpy(h + 116, "0000000", 7);
        snprintf((char *) h + 124, 12, "%011llo", (unsigned long long) size);
        memcpy(h + 136, "14544642000", 11);
        h[156] = (uint8_t) type;
        memcpy(h + 257, "ustar\0" "00", 8);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
}

static void raw_header(uint8_t h[512], const char *name, uint64_t size, char type) {
        raw_header_link(h, name, size, type, NULL);
}

struct raw {
        uint8_t *buf;
        size_t len;
};

static void raw_add(struct raw *r, const void *p, size_t len) {
        r->buf = realloc(r->buf, r->len + len + 512);
        assert_non_null(r->buf);
        memcpy(r->buf + r->len, p, len);
        r->len += len;
}

/* An entry: header, data padded to 512. */
static void raw_entry(struct raw *r, const char *name, char type, const void *data, size_t len, uint64_t size) {
        uint8_t h[512];
        raw_header(h, name, size, type);
        raw_add(r, h, 512);
        raw_add(r, data, len);
        static const uint8_t zero[512];
        if (len % 512)
                raw_add(r, zero, 512 - len % 512);
}

/* One pax extended header with the records key1, value1, ..., NULL. */
static void raw_pax(struct raw *r, ...) {
        char recs[1024] = "";
        va_list ap;
        va_start(ap, r);
        for (const char *key; (key = va_arg(ap, const char *));) {
                const char *value = va_arg(ap, const char *);
                int n = (int) (strlen(key) + strlen(value) + 3);
                int total = n + snprintf(NULL, 0, "%d", n);
                if (snprintf(NULL, 0, "%d", total) != snprintf(NULL, 0, "%d", n))
                        total++;
                size_t at = strlen(recs);
                snprintf(recs + at, sizeof recs - at, "%d %s=%s\n", total, key, value);
                assert_int_equal((int) (strlen(recs) - at), total);
        }
        va_end(ap);
        raw_entry(r, "PaxHeaders/x", 'x', recs, strlen(recs), strlen(recs));
}

static void raw_end(struct raw *r) {
        static const uint8_t zero[1024];
        raw_add(r, zero, sizeof zero);
}

static struct outcome run_raw(struct fixture *fx, const struct raw *r) {
        _cleanup_free_ char *p = tl_strf("%s/raw.tar", fx->dir);
        tl_write_file(p, r->buf, r->len);
        return run(fx, p);
}

static void raw_head(struct raw *r) {
        raw_entry(r, "bundle.yaml", '0', META, strlen(META), strlen(META));
        raw_entry(r, "bundle.yaml.sig", '0', SIG, strlen(SIG), strlen(SIG));
}

/* The hand-made tars are read as the good ones are: a control for the refusals below. */
static void test_raw_control(void **state) {
        struct fixture *fx = *state;
        struct raw r = {0};
        raw_head(&r);
        raw_pax(&r, "path", "payload/vmlinuz", NULL);
        raw_entry(&r, "payload/other", '0', kernel, strlen(kernel), strlen(kernel));
        raw_entry(&r, "payload/boot/initrd.img", '0', initrd, strlen(initrd), strlen(initrd));
        raw_end(&r);
        struct outcome o = run_raw(fx, &r);
        if (o.r < 0)
                fail_msg("%s: %s", o.stage, o.reason);
        assert_out(fx, "vmlinuz", kernel, strlen(kernel));
        free(r.buf);
}

static void test_meta_over_cap_unread(void **state) {
        struct fixture *fx = *state;
        /* The header claims 2 MiB; only a few bytes follow.  Refused from the header, not as truncated. */
        struct raw r = {0};
        uint8_t h[512];
        raw_header(h, "bundle.yaml", 2 * 1024 * 1024, '0');
        raw_add(&r, h, 512);
        raw_add(&r, META, strlen(META));
        assert_refused(run_raw(fx, &r), "head", "bundle.yaml: 2097152 bytes, at most 1048576: refused");
        free(r.buf);

        /* Exactly the cap plus one, complete: refused too; the cap itself is accepted by the size check. */
        size_t len = AGENT_BUNDLE_META_MAX_SIZE + 1;
        _cleanup_free_ char *big = malloc(len);
        assert_non_null(big);
        memset(big, '#', len);
        REFUSED(fx, "head", "bundle.yaml: 1048577 bytes, at most 1048576",
                {.path = "bundle.yaml", .data = big, .len = len, .size = (int64_t) len}, E("bundle.yaml.sig", SIG));

        /* The signature's cap. */
        size_t slen = ECL_SSHSIG_MAX_SIZE + 1;
        _cleanup_free_ char *sbig = malloc(slen);
        assert_non_null(sbig);
        memset(sbig, 'A', slen);
        REFUSED(fx, "head", "bundle.yaml.sig: 65537 bytes, at most 65536", E("bundle.yaml", META),
                {.path = "bundle.yaml.sig", .data = sbig, .len = slen, .size = (int64_t) slen});
}

static void test_special_entries(void **state) {
        struct fixture *fx = *state;
        REFUSED(fx, "extract", "link entry payload/vmlinuz -> /etc/shadow: links are refused", HEAD,
                {.path = "payload/vmlinuz", .type = AE_IFLNK, .link = "/etc/shadow"});
        REFUSED(fx, "extract", "hard link entry payload/boot/initrd.img -> payload/vmlinuz: links are refused", HEAD,
                E("payload/vmlinuz", kernel), {.path = "payload/boot/initrd.img", .link = "payload/vmlinuz", .hard = true});
        REFUSED(fx, "extract", "device entry payload/vmlinuz", HEAD, {.path = "payload/vmlinuz", .type = AE_IFCHR});
        REFUSED(fx, "extract", "device entry payload/vmlinuz", HEAD, {.path = "payload/vmlinuz", .type = AE_IFBLK});
        REFUSED(fx, "extract", "FIFO entry payload/vmlinuz", HEAD, {.path = "payload/vmlinuz", .type = AE_IFIFO});
        assert_int_equal(count_out(fx), 0);
}

static void test_names(void **state) {
        struct fixture *fx = *state;
        REFUSED(fx, "extract", "/payload/vmlinuz: absolute path: refused", HEAD, E("/payload/vmlinuz", kernel));
        REFUSED(fx, "extract", "payload/boot/../vmlinuz: path with '..': refused", HEAD,
                E("payload/boot/../vmlinuz", kernel));
        REFUSED(fx, "extract", "../vmlinuz: path with '..'", HEAD, E("../vmlinuz", kernel));
        REFUSED(fx, "extract", "payload/..: path with '..'", HEAD, E("payload/..", kernel));
        REFUSED(fx, "extract", "entry payload/vm?linuz: control character in its name", HEAD,
                E("payload/vm\nlinuz", kernel));
        REFUSED(fx, "extract", "payload/x: not listed in bundle.yaml", HEAD, E("payload/x", kernel));
        REFUSED(fx, "extract", "payload//vmlinuz: not listed in bundle.yaml", HEAD, E("payload//vmlinuz", kernel));
        REFUSED(fx, "extract", "bundle.yaml: not listed in bundle.yaml", HEAD, E("bundle.yaml", META));
        assert_int_equal(count_out(fx), 0);
}

static void test_listing(void **state) {
        struct fixture *fx = *state;
        REFUSED(fx, "extract", "listed entry payload/boot/initrd.img is missing", HEAD, E("payload/vmlinuz", kernel));
        reset_out(fx);
        REFUSED(fx, "extract", "listed entry payload/vmlinuz is missing", HEAD);
        REFUSED(fx, "extract", "duplicate entry payload/vmlinuz", HEAD, E("payload/vmlinuz", kernel),
                E("payload/vmlinuz", kernel));
        reset_out(fx);
        /* The header's size is checked before a byte is written. */
        static const char longer[] = "a kernel!\n";
        REFUSED(fx, "extract", "payload/vmlinuz: size 10 in the tar, bundle.yaml says 9", HEAD,
                E("payload/vmlinuz", longer));
        size_t len;
        mode_t mode;
        assert_null(read_out(fx, "vmlinuz", &len, &mode));
        static const char shorter[] = "a kerne\n";
        REFUSED(fx, "extract", "payload/vmlinuz: size 8 in the tar, bundle.yaml says 9", HEAD,
                E("payload/vmlinuz", shorter));
        assert_null(read_out(fx, "vmlinuz", &len, &mode));
        static const char other[] = "a kernal\n";
        REFUSED(fx, "extract", "payload/vmlinuz: sha256 mismatch (bundle.yaml says ", HEAD, E("payload/vmlinuz", other));
        reset_out(fx);
}

static void test_pax_rename_resize(void **state) {
        struct fixture *fx = *state;
        /* A pax record renames a listed ustar name to an unlisted one: the final name counts. */
        struct raw r = {0};
        raw_head(&r);
        raw_pax(&r, "path", "payload/evil", NULL);
        raw_entry(&r, "payload/vmlinuz", '0', kernel, strlen(kernel), strlen(kernel));
        raw_end(&r);
        assert_refused(run_raw(fx, &r), "extract", "payload/evil: not listed in bundle.yaml");
        free(r.buf);

        /* ... or to one with "..". */
        r = (struct raw){0};
        raw_head(&r);
        raw_pax(&r, "path", "payload/../../etc/cron.d/x", NULL);
        raw_entry(&r, "payload/vmlinuz", '0', kernel, strlen(kernel), strlen(kernel));
        raw_end(&r);
        assert_refused(run_raw(fx, &r), "extract", "payload/../../etc/cron.d/x: path with '..'");
        free(r.buf);

        /* A pax size over the listed one, with the data there: refused before a byte is written. */
        r = (struct raw){0};
        raw_head(&r);
        raw_pax(&r, "size", "600", NULL);
        char data[600];
        memset(data, 'k', sizeof data);
        raw_entry(&r, "payload/vmlinuz", '0', data, sizeof data, strlen(kernel));
        raw_end(&r);
        assert_refused(run_raw(fx, &r), "extract", "payload/vmlinuz: size 600 in the tar, bundle.yaml says 9");
        free(r.buf);
        size_t len;
        mode_t mode;
        assert_null(read_out(fx, "vmlinuz", &len, &mode));

        /* A pax link target (libarchive applies it over a non-empty ustar one). */
        r = (struct raw){0};
        raw_head(&r);
        raw_pax(&r, "linkpath", "/etc/shadow", NULL);
        uint8_t h[512];
        raw_header_link(h, "payload/vmlinuz", 0, '2', "harmless");
        raw_add(&r, h, 512);
        raw_end(&r);
        assert_refused(run_raw(fx, &r), "extract", "link entry payload/vmlinuz -> /etc/shadow");
        free(r.buf);

        /* GNU sparse in pax (version 0.1 records, a hole at byte 4): refused. */
        r = (struct raw){0};
        raw_head(&r);
        raw_pax(&r, "GNU.sparse.size", "9", "GNU.sparse.numblocks", "2", "GNU.sparse.map", "0,4,5,4", NULL);
        raw_entry(&r, "payload/vmlinuz", '0', "a kenel\n", 8, 8);
        raw_end(&r);
        struct outcome o = run_raw(fx, &r);
        assert_refused(o, "extract", "sparse entry payload/vmlinuz: refused");
        free(r.buf);
}

static void test_directories(void **state) {
        struct fixture *fx = *state;
        REFUSED(fx, "extract", "directory entry payload/etc/: only payload/ and the directories of listed files", HEAD,
                {.path = "payload/etc/", .type = AE_IFDIR});
        REFUSED(fx, "extract", "directory entry payload/vmlinuz", HEAD, {.path = "payload/vmlinuz", .type = AE_IFDIR});
        REFUSED(fx, "extract", "directory entry payload/boot/initrd.img", HEAD,
                {.path = "payload/boot/initrd.img", .type = AE_IFDIR});
        REFUSED(fx, "extract", "directory entry etc/", HEAD, {.path = "etc/", .type = AE_IFDIR});
        REFUSED(fx, "extract", "directory entry pay/", HEAD, {.path = "pay/", .type = AE_IFDIR});
        REFUSED(fx, "extract", "duplicate entry payload/", HEAD, {.path = "payload/", .type = AE_IFDIR},
                {.path = "payload/", .type = AE_IFDIR});
        assert_int_equal(count_out(fx), 0);

        /* A directory entry with data: refused. */
        struct raw r = {0};
        raw_head(&r);
        raw_entry(&r, "payload/", '5', kernel, strlen(kernel), strlen(kernel));
        raw_end(&r);
        /* libarchive takes a directory to have no data: what follows is read as a header. */
        assert_refused(run_raw(fx, &r), "extract", "b.tar: entry after payload/: ");
        free(r.buf);
}

static void test_truncated(void **state) {
        struct fixture *fx = *state;
        struct raw r = {0};
        raw_head(&r);
        uint8_t h[512];
        raw_header(h, "payload/vmlinuz", strlen(kernel), '0');
        raw_add(&r, h, 512);
        raw_add(&r, "a ker", 5);
        assert_refused(run_raw(fx, &r), "extract", "payload/vmlinuz: ");
        free(r.buf);
}

static void test_not_a_plain_tar(void **state) {
        struct fixture *fx = *state;
        const struct ent ents[] = {HEAD, E("payload/vmlinuz", kernel), E("payload/boot/initrd.img", initrd)};
        _cleanup_free_ char *gz = build(fx, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_GZIP, ents, 3);
        assert_refused(run(fx, gz), "open", "b.tar: gzip-compressed: refused, a bundle is an uncompressed tar");

        /* Garbage, of one block and of more. */
        _cleanup_free_ char *g = tl_strf("%s/garbage", fx->dir);
        char junk[4096];
        for (size_t i = 0; i < sizeof junk; i++)
                junk[i] = (char) ('A' + i * 7 % 26);
        tl_write_file(g, junk, sizeof junk);
        assert_refused(run(fx, g), "open", "b.tar: not a tar archive (");
        tl_write_file(g, junk, 100);
        assert_refused(run(fx, g), "open", "b.tar: not a tar archive (");
        tl_write_file(g, "", 0);
        assert_refused(run(fx, g), "open", "b.tar: empty, not a bundle");

        /* A zip, which libarchive could read with another reader. */
        _cleanup_free_ char *zip = build(fx, ARCHIVE_FORMAT_ZIP, 0, ents, 3);
        assert_refused(run(fx, zip), "open", "b.tar: not a tar archive (");

        /* An old V7 header (no ustar magic), which the tar reader also takes. */
        struct raw r = {0};
        uint8_t h[512];
        raw_header(h, "bundle.yaml", strlen(META), '0');
        memset(h + 257, 0, 8);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
        raw_add(&r, h, 512);
        raw_add(&r, META, strlen(META));
        static const uint8_t zero[2048];
        raw_add(&r, zero, sizeof zero);
        assert_refused(run_raw(fx, &r), "head", "not a ustar, pax or GNU tar header");
        free(r.buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_good, setup, teardown),
                cmocka_unit_test_setup_teardown(test_good_large_long_name_pipe, setup, teardown),
                cmocka_unit_test_setup_teardown(test_first_entries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_raw_control, setup, teardown),
                cmocka_unit_test_setup_teardown(test_meta_over_cap_unread, setup, teardown),
                cmocka_unit_test_setup_teardown(test_special_entries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directories, setup, teardown),
                cmocka_unit_test_setup_teardown(test_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pax_rename_resize, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_plain_tar, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
