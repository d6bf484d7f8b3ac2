/* SPDX-License-Identifier: Apache-2.0 */
/* The reload and the health verdict after it (health.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control-client.h"
#include "fileio.h"
#include "health.h"
#include "macro.h"
#include "paths.h"
#include "reason.h"
#include "stack-name.h"

#define CONSOLE_LOG "console.log"
#define CONSOLE_LOG_OLD "console.log.1"
#define MAX_FILES_PER_READ 8 /* files passed in one call: more rotations than that are read at the next */

/* ---- the line match -------------------------------------------------------- */

int agent_line_match_init(struct agent_line_match *m, const char *needle, char **ret_reason) {
        size_t len = needle ? strlen(needle) : 0;
        if (len == 0)
                return ecl_reason(ret_reason, -EINVAL, "the health line is empty");
        if (len > AGENT_HEALTH_LINE_MAX)
                return ecl_reason(ret_reason, -EINVAL, "the health line is longer than %d bytes",
                                  AGENT_HEALTH_LINE_MAX);
        if (strpbrk(needle, "\r\n"))
                return ecl_reason(ret_reason, -EINVAL, "the health line holds a line break");
        *m = (struct agent_line_match){.needle = needle, .len = len};
        return 0;
}

/* The last len - 1 bytes of the line so far (carry, then seg), kept for a match that a chunk boundary splits. */
static void keep_tail(struct agent_line_match *m, const char *seg, size_t n) {
        size_t keep = m->len - 1;
        if (n >= keep) {
                memcpy(m->carry, seg + n - keep, keep);
                m->n_carry = keep;
                return;
        }
        size_t from_carry = m->n_carry + n > keep ? keep - n : m->n_carry;
        memmove(m->carry, m->carry + m->n_carry - from_carry, from_carry);
        memcpy(m->carry + from_carry, seg, n);
        m->n_carry = from_carry + n;
}

/* seg: part of one line (no newline).  True when the line so far holds the needle. */
static bool match_segment(struct agent_line_match *m, const char *seg, size_t n) {
        if (m->n_carry > 0) {
                /* a match that starts in the carry ends within the first len - 1 bytes of seg */
                char joint[2 * AGENT_HEALTH_LINE_MAX];
                size_t take = n < m->len - 1 ? n : m->len - 1;
                memcpy(joint, m->carry, m->n_carry);
                memcpy(joint + m->n_carry, seg, take);
                if (memmem(joint, m->n_carry + take, m->needle, m->len))
                        return true;
        }
        if (memmem(seg, n, m->needle, m->len))
                return true;
        keep_tail(m, seg, n);
        return false;
}

bool agent_line_match_feed(struct agent_line_match *m, const void *buf, size_t n) {
        const char *p = buf, *end = p + n;
        while (!m->found && p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *seg_end = nl ? nl : end;
                if (match_segment(m, p, (size_t) (seg_end - p)))
                        m->found = true;
                if (nl)
                        m->n_carry = 0; /* a new line: nothing carries over it */
                p = nl ? nl + 1 : end;
        }
        return m->found;
}

/* ---- following the console files ------------------------------------------- */

void agent_console_follow_init(struct agent_console_follow *f, uint64_t offset, uint64_t inode, uint64_t generation) {
        *f = (struct agent_console_follow){.offset = offset, .inode = inode, .generation = generation, .fd = -1};
}

void agent_console_follow_done(struct agent_console_follow *f) {
        closep(&f->fd);
        f->fd = -1;
}

/* 1 and *ret_fd, *ret_ino when name is there, 0 when it is not, or the error of fileio.h with a reason. */
static int open_console(int dir_fd, const char *name, int *ret_fd, uint64_t *ret_ino, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        struct stat st;
        int r = ecl_file_open_at(dir_fd, name, 0, ret_fd, &st, &why);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return ecl_reason(ret_reason, r, "the stack's %s: %s", name, ecl_reason_text(why, r));
        *ret_ino = (uint64_t) st.st_ino;
        return 1;
}

/* The inode of name in dir_fd (no link followed), 0 when it is not there. */
static int inode_of(int dir_fd, const char *name, uint64_t *ret, char **ret_reason) {
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) {
                        *ret = 0;
                        return 0;
                }
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot stat the stack's %s", name);
        }
        *ret = (uint64_t) st.st_ino;
        return 0;
}

/*
 * Read the followed file on from f->pos into m while the budget lasts: 1
 * found, 0 at its end, 2 out of budget, or a negative errno.
 */
static int read_on(struct agent_console_follow *f, struct agent_line_match *m, char *buf, size_t chunk, size_t *budget,
                   char **ret_reason) {
        for (;;) {
                if (*budget == 0)
                        return 2;
                size_t want = chunk < *budget ? chunk : *budget;
                ssize_t n = pread(f->fd, buf, want, (off_t) f->pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ecl_reason_errno(ret_reason, negative_errno(), "cannot read the stack's console");
                if (n == 0)
                        return 0;
                f->pos += (uint64_t) n;
                *budget -= (size_t) n;
                if (agent_line_match_feed(m, buf, (size_t) n))
                        return 1;
        }
}

/* Find the marked file: 1 following it, 0 not yet (a rotation raced the status), or an error. */
static int start(struct agent_console_follow *f, int dir_fd, uint64_t generation_now, char **ret_reason) {
        uint64_t d = generation_now - f->generation;
        if (d >= 2) {
                /* the marked file is gone: console.log.1 and console.log are all after the mark */
                f->started = true;
                f->done_ino = 0;
                return 1;
        }
        int fd = -1;
        uint64_t ino = 0;
        int r = open_console(dir_fd, d == 0 ? CONSOLE_LOG : CONSOLE_LOG_OLD, &fd, &ino, ret_reason);
        if (r <= 0)
                return r;
        if (ino != f->inode) {
                close(fd); /* rotated since the status was read: the next status tells */
                return 0;
        }
        f->fd = fd;
        f->ino = ino;
        f->pos = f->offset;
        f->started = true;
        return 1;
}

/* The file after the one read to its end: console.log.1 when it is a newer one, else console.log.  1, 0, error. */
static int next_file(struct agent_console_follow *f, int dir_fd, char **ret_reason) {
        int fd = -1;
        uint64_t ino = 0;
        int r = open_console(dir_fd, CONSOLE_LOG_OLD, &fd, &ino, ret_reason);
        if (r < 0)
                return r;
        if (r > 0 && ino == f->done_ino) {
                close(fd);
                r = 0;
        }
        if (r == 0) {
                r = open_console(dir_fd, CONSOLE_LOG, &fd, &ino, ret_reason);
                if (r <= 0 || ino == f->done_ino) { /* not there yet (between the rotation's rename and open) */
                        if (r > 0)
                                close(fd);
                        return r < 0 ? r : 0;
                }
        }
        f->fd = fd;
        f->ino = ino;
        f->pos = 0;
        return 1;
}

int agent_console_follow_read(struct agent_console_follow *f, int dir_fd, uint64_t generation_now,
                              struct agent_line_match *m, size_t chunk, size_t max, char **ret_reason) {
        if (m->found)
                return 1;
        if (generation_now < f->generation)
                return ecl_reason(ret_reason, -EPROTO,
                                  "the console's generation went back (%" PRIu64 " after %" PRIu64 "): another shim",
                                  generation_now, f->generation);
        if (!f->started) {
                int r = start(f, dir_fd, generation_now, ret_reason);
                if (r <= 0)
                        return r;
        }
        _cleanup_free_ char *buf = malloc(chunk ? chunk : 1);
        if (!buf)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t budget = max;
        for (unsigned files = 0; files < MAX_FILES_PER_READ; files++) {
                if (f->fd < 0) {
                        int r = next_file(f, dir_fd, ret_reason);
                        if (r <= 0)
                                return r;
                }
                int r = read_on(f, m, buf, chunk ? chunk : 1, &budget, ret_reason);
                if (r != 0)
                        return r == 2 ? 0 : r;
                uint64_t live = 0;
                r = inode_of(dir_fd, CONSOLE_LOG, &live, ret_reason);
                if (r < 0)
                        return r;
                if (live == f->ino)
                        return 0; /* still the file the shim writes: more later */
                /* rotated: the shim writes no more to it; what came before the rename is read now */
                r = read_on(f, m, buf, chunk ? chunk : 1, &budget, ret_reason);
                if (r != 0)
                        return r == 2 ? 0 : r;
                f->done_ino = f->ino;
                agent_console_follow_done(f);
        }
        return 0;
}

/* ---- the shim's status ----------------------------------------------------- */

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms) {
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* "2m", "30s", "1500ms". */
static const char *duration(uint64_t ms, char buf[static 32]) {
        if (ms >= 60000 && ms % 60000 == 0)
                snprintf(buf, 32, "%" PRIu64 "m", ms / 60000);
        else if (ms >= 1000 && ms % 1000 == 0)
                snprintf(buf, 32, "%" PRIu64 "s", ms / 1000);
        else
                snprintf(buf, 32, "%" PRIu64 "ms", ms);
        return buf;
}

static int get_u64(json_t *o, const char *key, uint64_t *ret) {
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EPROTO;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static const char *get_str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key)); /* NULL when absent, null or not a string */
}

static int status(const char *root, const char *stack, json_t **ret, uint64_t *ret_boot, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        json_t *o = NULL;
        int r = ecl_control_call(root, stack, "status", &o, &why);
        if (r == -ESRCH)
                return ecl_reason(ret_reason, r, "the shim of %s is not running", stack);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        if (get_u64(o, "boot", ret_boot) < 0) {
                json_decref(o);
                return ecl_reason(ret_reason, -EPROTO, "the shim of %s reports no boot number (older than the agent)",
                                  stack);
        }
        *ret = o;
        return 0;
}

int agent_shim_reload(const char *root, const char *stack, uint64_t *ret_boot_before, char **ret_reason) {
        json_t *o = NULL;
        uint64_t boot = 0;
        int r = status(root, stack, &o, &boot, ret_reason);
        if (r < 0)
                return r;
        json_decref(o);
        o = NULL;
        _cleanup_free_ char *why = NULL;
        r = ecl_control_call(root, stack, "reload", &o, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        json_decref(o);
        *ret_boot_before = boot;
        return 0;
}

/* ---- the wait --------------------------------------------------------------- */

struct wait {
        const char *root, *stack;
        const struct agent_health *h;
        uint64_t boot_before, boot; /* boot: the one after the reload, 0 before it is seen */
        bool running_seen, line_seen;
        uint64_t line_at; /* when the line was seen (or, without one, the guest first ran) */
        int dir_fd;
        struct agent_line_match m;
        struct agent_console_follow follow;
        char state[64]; /* the last state reported, for the reasons */
};

static int open_stack_dir(struct wait *w, char **ret_reason) {
        if (w->dir_fd >= 0)
                return 0;
        _cleanup_free_ char *path = NULL;
        if (ecl_path(&path, w->root, ECL_STACKS_STATE_DIR "/%s", w->stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        w->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (w->dir_fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s", path);
        return 0;
}

/* The boot after the reload has been seen: where its console begins. */
static int start_console(struct wait *w, json_t *o, char **ret_reason) {
        if (!w->h->console_line)
                return 0;
        json_t *c = json_object_get(o, "console");
        if (!json_is_object(c))
                return ecl_reason(ret_reason, -ENOENT,
                                  "the console of %s is not logged: the health line cannot be seen", w->stack);
        uint64_t offset, inode, generation;
        if (get_u64(c, "offset", &offset) < 0 || get_u64(c, "inode", &inode) < 0 ||
            get_u64(c, "generation", &generation) < 0)
                return ecl_reason(ret_reason, -EPROTO, "the shim of %s reports no console mark", w->stack);
        agent_console_follow_init(&w->follow, offset, inode, generation);
        return open_stack_dir(w, ret_reason);
}

/* One status: 1 healthy, 0 not yet, or the failure. */
static int check(struct wait *w, char **ret_reason) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        uint64_t boot = 0;
        int r = status(w->root, w->stack, &o, &boot, ret_reason);
        if (r == -ESRCH)
                return ecl_reason(ret_reason, r, "the shim of %s is gone after the reload", w->stack);
        if (r < 0)
                return r;
        const char *state = get_str(o, "state"), *reload = get_str(o, "reload"),
                   *problem = get_str(o, "reload_problem");
        snprintf(w->state, sizeof w->state, "%s", state ? state : "?");
        if (reload && streq(reload, "refused") && boot <= w->boot_before)
                return ecl_reason(ret_reason, -EBUSY, "the shim of %s refused the reload: %s", w->stack,
                                  problem ? problem : "no reason given");
        if (reload && streq(reload, "failed"))
                return ecl_reason(ret_reason, -ESRCH, "the reload of %s failed: %s", w->stack,
                                  problem ? problem : "the guest stays stopped");
        if (boot <= w->boot_before)
                return 0; /* the old guest still (shutting down), or the reload not started yet */
        if (w->boot == 0) {
                w->boot = boot;
                r = start_console(w, o, ret_reason);
                if (r < 0)
                        return r;
        } else if (boot != w->boot) {
                return ecl_reason(ret_reason, -ESRCH,
                                  "the guest was started again (boot %" PRIu64 ") during its health check", boot);
        }
        if (!state)
                return ecl_reason(ret_reason, -EPROTO, "the shim of %s reports no state", w->stack);
        if (streq(state, "paused") && !w->running_seen)
                return 0; /* started paused, not resumed yet */
        if (streq(state, "held") || streq(state, "held-unaudited") || streq(state, "hold-failed")) {
                const char *v = get_str(o, "violation");
                return ecl_reason(ret_reason, -EPERM, "the guest is held after the reload (%s: %s)", state,
                                  v ? v : "no reason given");
        }
        if (!streq(state, "running"))
                return ecl_reason(ret_reason, -ESRCH, "the guest stopped after the reload (state %s)", state);
        uint64_t now = now_ms();
        w->running_seen = true;
        if (!w->line_seen && !w->h->console_line) {
                w->line_seen = true;
                w->line_at = now;
        }
        if (!w->line_seen) {
                uint64_t generation_now = 0;
                if (get_u64(json_object_get(o, "console"), "generation_now", &generation_now) < 0)
                        return ecl_reason(ret_reason, -EPROTO, "the shim of %s reports no console generation",
                                          w->stack);
                r = agent_console_follow_read(&w->follow, w->dir_fd, generation_now, &w->m, AGENT_HEALTH_CHUNK,
                                              AGENT_HEALTH_READ_MAX, ret_reason);
                if (r < 0)
                        return r;
                if (r > 0) {
                        w->line_seen = true;
                        w->line_at = now;
                }
        }
        return w->line_seen && now - w->line_at >= w->h->settle_ms;
}

static int timed_out(const struct wait *w, char **ret_reason) {
        char t[32], s[32];
        const struct agent_health *h = w->h;
        duration(h->timeout_ms, t);
        duration(h->settle_ms, s);
        if (!w->boot)
                return ecl_reason(ret_reason, -ETIMEDOUT, "the guest did not start again within %s", t);
        if (!w->running_seen)
                return ecl_reason(ret_reason, -ETIMEDOUT, "the guest did not run within %s of the reload (state %s)", t,
                                  w->state);
        if (!w->line_seen)
                return ecl_reason(ret_reason, -ETIMEDOUT, "no line containing '%s' within %s", h->console_line, t);
        if (h->console_line)
                return ecl_reason(ret_reason, -ETIMEDOUT,
                                  "the guest printed '%s' but did not stay up %s more within %s", h->console_line, s,
                                  t);
        return ecl_reason(ret_reason, -ETIMEDOUT, "the guest did not stay up %s within %s", s, t);
}

int agent_health_wait(const char *root, const char *stack, uint64_t boot_before, const struct agent_health *h,
                      char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        if (h->timeout_ms == 0)
                return ecl_reason(ret_reason, -EINVAL, "the health check needs a timeout");
        struct wait w = {.root = root, .stack = stack, .h = h, .boot_before = boot_before, .dir_fd = -1};
        agent_console_follow_init(&w.follow, 0, 0, 0);
        int r = 0;
        if (h->console_line) {
                r = agent_line_match_init(&w.m, h->console_line, ret_reason);
                if (r < 0)
                        return r;
        }
        uint64_t deadline = now_ms() + h->timeout_ms;
        for (;;) {
                r = check(&w, ret_reason);
                if (r != 0)
                        break;
                uint64_t now = now_ms();
                if (now >= deadline) {
                        r = timed_out(&w, ret_reason);
                        break;
                }
                uint64_t left = deadline - now;
                sleep_ms(left < AGENT_HEALTH_POLL_MS ? left : AGENT_HEALTH_POLL_MS);
        }
        agent_console_follow_done(&w.follow);
        closep(&w.dir_fd);
        return r > 0 ? 0 : r;
}
