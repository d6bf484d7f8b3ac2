/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "reason.h"
#include "stack-name.h"
#include "store-internal.h"
#include "strutil.h"

#define RELEASES_PREFIX "releases/"
#define PHASE_MAX 32

static const char *const op_names[] = {
        [AGENT_OP_NONE] = "none",
        [AGENT_OP_APPLY] = "apply",
        [AGENT_OP_ROLLBACK] = "rollback",
};

static bool phase_valid(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= PHASE_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz-") == n;
}

static const char *const state_keys[] = {
        "floor", "running", "previous", "op", "op-bundle", "op-from", "op-to", "op-phase", "op-started",
};

void agent_stack_state_clear(struct agent_stack_state *st) {
        free(st->floor);
        free(st->running);
        free(st->previous);
        free(st->op_bundle);
        free(st->op_from);
        free(st->op_to);
        free(st->op_phase);
        *st = (struct agent_stack_state){};
}

static bool op_fields_valid(const struct agent_stack_state *st) {
        if (st->op == AGENT_OP_NONE)
                return !st->op_bundle && !st->op_from && !st->op_to && !st->op_phase && st->op_started == 0;
        return st->op_phase != NULL;
}

static int stack_state_parse(json_t *o, struct agent_stack_state *ret, const char *what, char **ret_reason) {
        struct agent_stack_state st = {};
        int op = 0, r = agent_store_json_keys(o, state_keys, ELEMENTSOF(state_keys), what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "floor", true, agent_store_version_valid, &st.floor, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "running", true, agent_store_version_valid, &st.running, what,
                                            ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "previous", true, agent_store_version_valid, &st.previous, what,
                                            ret_reason);
        if (r >= 0)
                r = agent_store_json_enum(o, "op", op_names, ELEMENTSOF(op_names), &op, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "op-bundle", true, agent_store_id_valid, &st.op_bundle, what,
                                            ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "op-from", true, agent_store_version_valid, &st.op_from, what,
                                            ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "op-to", true, agent_store_version_valid, &st.op_to, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "op-phase", true, phase_valid, &st.op_phase, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_time(o, "op-started", &st.op_started, what, ret_reason);
        st.op = op;
        if (r >= 0 && !op_fields_valid(&st))
                r = ecl_reason(ret_reason, -EBADMSG, "%s: %s", what,
                               op == AGENT_OP_NONE ? "no operation, but \"op-\" values"
                                                   : "an operation without a phase");
        if (r < 0) {
                agent_stack_state_clear(&st);
                return r;
        }
        *ret = st;
        return 0;
}

/* The first release, placed by hand: stacks/STACK/current -> releases/VERSION. */
static int adopt(int stack_fd, const char *where, struct agent_stack_state *ret, char **ret_reason) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(stack_fd, "current", target, sizeof target - 1);
        if (n < 0 && errno == ENOENT)
                return 0;
        if (n < 0 && errno == EINVAL)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s/current is not a link to releases/VERSION: its version cannot be adopted "
                                  "(move it to releases/VERSION and link current to it)",
                                  where);
        if (n < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot read %s/current", where);
        target[n] = '\0';
        const char *version = target + strlen(RELEASES_PREFIX);
        if ((size_t) n == sizeof target - 1 || strncmp(target, RELEASES_PREFIX, strlen(RELEASES_PREFIX)) != 0 ||
            strchr(version, '/') || !*version || streq(version, ".") || streq(version, ".."))
                return ecl_reason(ret_reason, -EXDEV, "%s/current points to '%.128s', not to releases/VERSION", where,
                                  target);
        if (!agent_store_version_valid(version))
                return ecl_reason(ret_reason, -EBADMSG, "%s/current points to '%.128s', but '%.96s' is not a version",
                                  where, target, version);
        _cleanup_close_ int rel = openat(stack_fd, "releases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int fd = rel < 0 ? -1 : openat(rel, version, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int r = negative_errno();
                return ecl_reason(ret_reason, r == -ENOTDIR ? -ELOOP : r, "%s/current points to '%s', which %s", where,
                                  target,
                                  r == -ENOENT                   ? "does not exist"
                                  : r == -ENOTDIR || r == -ELOOP ? "is not a directory (or a link, refused)"
                                                                 : strerror(-r));
        }
        ret->floor = strdup(version);
        ret->running = strdup(version);
        if (!ret->floor || !ret->running) {
                agent_stack_state_clear(ret);
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        return 0;
}

int agent_stack_state_read(struct agent_store *s, const char *stack, struct agent_stack_state *ret, char **ret_reason) {
        *ret = (struct agent_stack_state){};
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "\"%.64s\" is not a stack name", stack);
        _cleanup_free_ char *where = NULL;
        if (asprintf(&where, "%s/%s", s->stacks, stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_close_ int fd = openat(s->stacks_fd, stack, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return ecl_reason_errno(ret_reason, errno == ENOTDIR ? -ELOOP : negative_errno(),
                                        "cannot open %s (a link or not a directory?)", where);
        struct stat st;
        if (fstatat(fd, AGENT_STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                return adopt(fd, where, ret, ret_reason);
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "%s/" AGENT_STATE_FILE, where) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        json_auto_t *o = NULL;
        int r = agent_store_json_read(fd, AGENT_STATE_FILE, &o, what, ret_reason);
        if (r < 0)
                return r;
        return stack_state_parse(o, ret, what, ret_reason);
}

static bool optional(const char *s, bool (*valid)(const char *)) {
        return !s || valid(s);
}

int agent_stack_state_write(struct agent_store *s, const char *stack, const struct agent_stack_state *st,
                            char **ret_reason) {
        const char *op = ECL_ENUM_NAME(op_names, st->op);
        if (!op || !optional(st->floor, agent_store_version_valid) ||
            !optional(st->running, agent_store_version_valid) || !optional(st->previous, agent_store_version_valid) ||
            !optional(st->op_bundle, agent_store_id_valid) || !optional(st->op_from, agent_store_version_valid) ||
            !optional(st->op_to, agent_store_version_valid) || !optional(st->op_phase, phase_valid) ||
            !op_fields_valid(st) || !AGENT_STORE_TIME_OK(st->op_started))
                return ecl_reason(ret_reason, -EINVAL, "the state of stack %.64s cannot be written as it is", stack);
        _cleanup_close_ int fd = -1;
        int r = agent_store_stack_dir(s, stack, &fd, ret_reason);
        if (r < 0)
                return r;
        json_auto_t *o = json_pack("{s:s?, s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:I}", "floor", st->floor,
                                   "running", st->running, "previous", st->previous, "op", op, "op-bundle",
                                   st->op_bundle, "op-from", st->op_from, "op-to", st->op_to, "op-phase", st->op_phase,
                                   "op-started", (json_int_t) st->op_started);
        if (!o)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "%s/%s/" AGENT_STATE_FILE, s->stacks, stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return agent_store_json_write(fd, AGENT_STATE_FILE, o, what, ret_reason);
}

int agent_store_stack_dir(struct agent_store *s, const char *stack, int *ret_dirfd, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "\"%.64s\" is not a stack name", stack);
        _cleanup_free_ char *where = NULL;
        if (asprintf(&where, "%s/%s", s->stacks, stack) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return agent_store_subdir(s->stacks_fd, stack, 0711, where, ret_dirfd, ret_reason);
}
