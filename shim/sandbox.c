/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>

/* clone(2)'s flags: the first argument on x86-64 and most others, the second on s390. */
#if defined(__s390__) || defined(__s390x__)
#define SHIM_CLONE_FLAGS_ARG 1
#else
#define SHIM_CLONE_FLAGS_ARG 0
#endif

#include "log.h"
#include "reason.h"
#include "sandbox.h"
#include "strparse.h"

/* Each one found needed by starting and destroying a guest without it (see sandbox.h). */
static const cap_value_t caps_embed[] = {
        CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_NET_ADMIN,
};
static const cap_value_t caps_remote[] = {
        CAP_NET_ADMIN,
};

const char *shim_sandbox_profile_to_string(enum shim_sandbox_profile p) {
        switch (p) {
        case SHIM_SANDBOX_EMBED:
                return "embed";
        default:
                return "remote";
        }
}

enum shim_sandbox_profile shim_sandbox_profile_for_uri(const char *uri) {
        if (!uri || !*uri || strncmp(uri, "qemu:///embed?", 14) == 0 || streq(uri, "qemu:///embed"))
                return SHIM_SANDBOX_EMBED;
        return SHIM_SANDBOX_REMOTE;
}

const cap_value_t *shim_sandbox_caps(enum shim_sandbox_profile p, size_t *ret_n) {
        switch (p) {
        case SHIM_SANDBOX_EMBED:
                *ret_n = ELEMENTSOF(caps_embed);
                return caps_embed;
        default:
                *ret_n = ELEMENTSOF(caps_remote);
                return caps_remote;
        }
}

static bool cap_in(cap_value_t c, const cap_value_t *keep, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (keep[i] == c)
                        return true;
        return false;
}

static void cap_freep(cap_t *c) {
        if (*c)
                cap_free(*c);
}

/* Number of threads of this process, from /proc/self/status. */
static int count_threads(unsigned *ret, char **ret_reason) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        if (!f)
                return ecl_reason_errno(ret_reason, -errno, "cannot open /proc/self/status");
        char line[256];
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "Threads: %u", ret) == 1)
                        return 0;
        return ecl_reason(ret_reason, -ENODATA, "no Threads line in /proc/self/status");
}

int shim_sandbox_drop_caps(const cap_value_t *keep, size_t n, char **ret_reason) {
        unsigned threads = 0;
        int r = count_threads(&threads, ret_reason);
        if (r < 0)
                return r;
        if (threads != 1)
                return ecl_reason(ret_reason, -EBUSY,
                                  "cannot drop capabilities with %u threads running "
                                  "(capabilities are per thread: drop them before libvirt starts threads)",
                                  threads);

        cap_value_t last = (cap_value_t) cap_max_bits();
        _cleanup_(cap_freep) cap_t cur = cap_get_proc();
        if (!cur)
                return ecl_reason_errno(ret_reason, -errno, "cannot read capabilities");
        cap_flag_value_t have_setpcap = CAP_CLEAR;
        if (cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &have_setpcap) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot read capabilities");

        /* The bounding set first: shrinking it needs CAP_SETPCAP, which may go next. */
        if (have_setpcap == CAP_SET) {
                for (cap_value_t c = 0; c < last; c++) {
                        if (cap_in(c, keep, n) || cap_get_bound(c) != 1)
                                continue;
                        if (cap_drop_bound(c) < 0)
                                return ecl_reason_errno(ret_reason, -errno,
                                                        "cannot drop capability %d from the bounding set", (int) c);
                }
        } else {
                log_debug("no CAP_SETPCAP: the bounding set stays as it is");
        }
        if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot clear the ambient capabilities");

        _cleanup_(cap_freep) cap_t want = cap_init();
        if (!want)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                cap_flag_value_t p = CAP_CLEAR;
                if (keep[i] < 0 || keep[i] >= last || cap_get_flag(cur, keep[i], CAP_PERMITTED, &p) < 0 ||
                    p != CAP_SET) {
                        log_debug("capability %d to keep is not held; skipped", (int) keep[i]);
                        continue;
                }
                cap_value_t v = keep[i];
                if (cap_set_flag(want, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
                    cap_set_flag(want, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
                        return ecl_reason_errno(ret_reason, -errno, "cannot build the capability set");
        }
        if (cap_set_proc(want) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot drop capabilities");
        return 0;
}

int shim_sandbox_no_new_privs(char **ret_reason) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return ecl_reason_errno(ret_reason, -errno, "cannot set no_new_privs");
        return 0;
}

#define P_EMBED (1u << SHIM_SANDBOX_EMBED)
#define P_REMOTE (1u << SHIM_SANDBOX_REMOTE)
#define P_ALL (P_EMBED | P_REMOTE)

/* What the shim (and QEMU under it) never needs, once its own network namespace is made. */
static const struct deny {
        const char *name;
        int error;
        unsigned profiles;
} deny_list[] = {
        /* the kernel itself */
        {"kexec_load", EPERM, P_ALL},
        {"kexec_file_load", EPERM, P_ALL},
        {"init_module", EPERM, P_ALL},
        {"finit_module", EPERM, P_ALL},
        {"delete_module", EPERM, P_ALL},
        {"create_module", EPERM, P_ALL},
        {"reboot", EPERM, P_ALL},
        {"swapon", EPERM, P_ALL},
        {"swapoff", EPERM, P_ALL},
        {"acct", EPERM, P_ALL},
        {"quotactl", EPERM, P_ALL},
        {"quotactl_fd", EPERM, P_ALL},
        {"lookup_dcookie", EPERM, P_ALL},
        {"syslog", EPERM, P_ALL},
        {"iopl", EPERM, P_ALL},
        {"ioperm", EPERM, P_ALL},
        {"vhangup", EPERM, P_ALL},
        {"uselib", EPERM, P_ALL},
        {"nfsservctl", EPERM, P_ALL},
        {"_sysctl", EPERM, P_ALL},
        /* the clock */
        {"settimeofday", EPERM, P_ALL},
        {"clock_settime", EPERM, P_ALL},
        {"clock_adjtime", EPERM, P_ALL},
        {"adjtimex", EPERM, P_ALL},
        {"stime", EPERM, P_ALL},
        /* other processes' memory and files */
        {"ptrace", EPERM, P_ALL},
        {"process_vm_readv", EPERM, P_ALL},
        {"process_vm_writev", EPERM, P_ALL},
        {"process_madvise", EPERM, P_ALL},
        {"pidfd_getfd", EPERM, P_ALL},
        {"open_by_handle_at", EPERM, P_ALL},
        {"name_to_handle_at", EPERM, P_ALL},
        /* keyrings */
        {"keyctl", EPERM, P_ALL},
        {"add_key", EPERM, P_ALL},
        {"request_key", EPERM, P_ALL},
        /* filesystems and namespaces (clone with namespace flags: below) */
        {"pivot_root", EPERM, P_ALL},
        {"chroot", EPERM, P_ALL},
        {"fsopen", EPERM, P_ALL},
        {"fsconfig", EPERM, P_ALL},
        {"fsmount", EPERM, P_ALL},
        {"fspick", EPERM, P_ALL},
        {"move_mount", EPERM, P_ALL},
        {"open_tree", EPERM, P_ALL},
        {"mount_setattr", EPERM, P_ALL},
        {"mount", EPERM, P_ALL},
        {"umount2", EPERM, P_ALL},
        {"unshare", EPERM, P_ALL},
        {"setns", EPERM, P_ALL},
        /* kernel attack surface probed by libraries: "not supported" */
        {"bpf", ENOSYS, P_ALL},
        {"userfaultfd", ENOSYS, P_ALL},
        {"perf_event_open", ENOSYS, P_ALL},
        {"io_uring_setup", ENOSYS, P_ALL},
        {"io_uring_enter", ENOSYS, P_ALL},
        {"io_uring_register", ENOSYS, P_ALL},
};

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

int shim_sandbox_seccomp(enum shim_sandbox_profile p, char **ret_reason) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "seccomp: cannot ask for thread synchronisation");
        /* Other architectures (x32, i386 on x86_64) would be ways around the list. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "seccomp: cannot set the bad-architecture action");

        for (size_t i = 0; i < ELEMENTSOF(deny_list); i++) {
                if (!(deny_list[i].profiles & (1u << p)))
                        continue;
                int nr = seccomp_syscall_resolve_name(deny_list[i].name);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(deny_list[i].error), nr, 0);
                if (r == -EDOM || r == -EFAULT)
                        continue; /* a pseudo-syscall libseccomp cannot filter here */
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "seccomp: cannot deny %s", deny_list[i].name);
        }
        /*
         * New namespaces through clone(2) as through unshare(2): refused flag by
         * flag.  clone3(2) passes its flags in memory, out of a filter's reach:
         * "not supported", and glibc falls back to clone(2) for threads and fork.
         */
        static const unsigned long ns_flags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                                 CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
        for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
                const struct scmp_arg_cmp has = {.arg = SHIM_CLONE_FLAGS_ARG, .op = SCMP_CMP_MASKED_EQ,
                                                 .datum_a = ns_flags[i], .datum_b = ns_flags[i]};
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, has);
                if (r < 0)
                        return ecl_reason_errno(ret_reason, r, "seccomp: cannot filter clone");
        }
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0 && r != -EDOM && r != -EFAULT)
                return ecl_reason_errno(ret_reason, r, "seccomp: cannot deny clone3");
        /* personality(2): reading it (0xffffffff) is fine, switching execution domains is not. */
        const struct scmp_arg_cmp not_query = {.arg = 0, .op = SCMP_CMP_NE, .datum_a = 0xffffffffu, .datum_b = 0};
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1, not_query);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "seccomp: cannot filter personality");

        r = seccomp_load(ctx);
        if (r > 0) /* TSYNC failure: the id of the thread that could not be synchronised */
                return ecl_reason(ret_reason, -EBUSY, "seccomp: thread %d could not be synchronised", r);
        if (r < 0)
                return ecl_reason_errno(ret_reason, r, "seccomp: cannot load the filter");
        return 0;
}

/* The hex value after a status key: "\t000001ffffffffff\n". */
static int parse_hex(const char *s, uint64_t *ret) {
        const char *end;
        s += strspn(s, " \t");
        if (ecl_parse_hex_prefix(s, ret, &end) < 0 || (*end && *end != '\n'))
                return -EBADMSG;
        return 0;
}

int shim_sandbox_read_state(pid_t pid, struct shim_sandbox_state *ret, char **ret_reason) {
        char path[64];
        if (pid > 0)
                snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        else
                snprintf(path, sizeof path, "/proc/self/status");
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return ecl_reason_errno(ret_reason, -errno, "cannot open %s", path);
        struct shim_sandbox_state s = {.seccomp_filters = -1U, .seccomp = -1};
        unsigned seen = 0;
        char line[256];
        static const struct {
                const char *key;
                size_t off;
        } hex[] = {
                {"CapInh:", offsetof(struct shim_sandbox_state, cap_inh)},
                {"CapPrm:", offsetof(struct shim_sandbox_state, cap_prm)},
                {"CapEff:", offsetof(struct shim_sandbox_state, cap_eff)},
                {"CapBnd:", offsetof(struct shim_sandbox_state, cap_bnd)},
                {"CapAmb:", offsetof(struct shim_sandbox_state, cap_amb)},
        };
        while (fgets(line, sizeof line, f)) {
                for (size_t i = 0; i < ELEMENTSOF(hex); i++) {
                        size_t l = strlen(hex[i].key);
                        if (strncmp(line, hex[i].key, l) != 0)
                                continue;
                        if (parse_hex(line + l, (uint64_t *) ((char *) &s + hex[i].off)) < 0)
                                return ecl_reason(ret_reason, -EBADMSG, "%s: bad %s line", path, hex[i].key);
                        seen |= 1u << i;
                }
                unsigned v;
                if (sscanf(line, "NoNewPrivs: %u", &v) == 1)
                        s.no_new_privs = v != 0;
                else if (sscanf(line, "Seccomp_filters: %u", &v) == 1)
                        s.seccomp_filters = v;
                else if (sscanf(line, "Seccomp: %u", &v) == 1)
                        s.seccomp = (int) v;
        }
        if (seen != (1u << ELEMENTSOF(hex)) - 1 || s.seccomp < 0)
                return ecl_reason(ret_reason, -ENODATA, "%s: capability or seccomp lines missing", path);
        *ret = s;
        return 0;
}

static int caps_to_names(uint64_t mask, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *m = open_memstream(&buf, &size);
        if (!m)
                return -ENOMEM;
        bool first = true;
        for (unsigned c = 0; c < 64; c++) {
                if (!(mask & (UINT64_C(1) << c)))
                        continue;
                char *name = cap_to_name((cap_value_t) c);
                if (!name) {
                        fclose(TAKE_PTR(m));
                        free(buf);
                        return -ENOMEM;
                }
                fprintf(m, "%s%s", first ? "" : ",", name);
                cap_free(name);
                first = false;
        }
        if (first)
                fputs("none", m);
        if (fclose(TAKE_PTR(m)) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int shim_sandbox_describe(char **ret_caps, char **ret_seccomp) {
        struct shim_sandbox_state s;
        _cleanup_free_ char *why = NULL;
        int r = shim_sandbox_read_state(0, &s, &why);
        if (r < 0) {
                log_debug("%s", ecl_reason_text(why, r));
                return r;
        }
        _cleanup_free_ char *caps = NULL, *sc = NULL;
        r = caps_to_names(s.cap_eff, &caps);
        if (r < 0)
                return r;
        const char *mode = s.seccomp == 0 ? "disabled" : s.seccomp == 1 ? "strict" : "filter";
        int k;
        if (s.seccomp == 2 && s.seccomp_filters != -1U)
                k = asprintf(&sc, "%s (%u filter%s)%s", mode, s.seccomp_filters, s.seccomp_filters == 1 ? "" : "s",
                             s.no_new_privs ? ", no_new_privs" : "");
        else
                k = asprintf(&sc, "%s%s", mode, s.no_new_privs ? ", no_new_privs" : "");
        if (k < 0)
                return -ENOMEM;
        *ret_caps = TAKE_PTR(caps);
        *ret_seccomp = TAKE_PTR(sc);
        return 0;
}
