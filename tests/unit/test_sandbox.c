/* SPDX-License-Identifier: Apache-2.0 */
/* ecluse-test-label: system: root (capabilities), QEMU and embedded libvirt */
/*
 * Every check runs in a forked child, since the sandbox cannot be undone;
 * the child reports the first thing that went wrong through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <linux/keyctl.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "testlib.h"

typedef const char *(*child_fn)(void);

/* Run fn in a child; fail with its message if it returns one. */
static void in_child(child_fn fn) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                const char *msg = fn();
                if (msg)
                        (void) !write(p[1], msg, strlen(msg));
                _exit(msg ? 1 : 0);
        }
        close(p[1]);
        char buf[512] = {0};
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
                got += (size_t) n;
        close(p[0]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (got > 0)
                fail_msg("child: %s", buf);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

static long key_get_process_keyring(void) {
        return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1);
}

/* -errno of a raw syscall result, 0 if it succeeded. */
static int err_of(long r) {
        return r < 0 ? -errno : 0;
}

static void *thread_keyctl(void *arg) {
        int *fd = arg;
        char c;
        /* wait until the main thread has loaded the filter */
        if (read(fd[0], &c, 1) != 1)
                return (void *) (intptr_t) -EIO;
        return (void *) (intptr_t) err_of(key_get_process_keyring());
}

static const char *check_seccomp_embed(void) {
        static char msg[256];
        /* Before: these work (or fail for another reason than the filter). */
        if (err_of(key_get_process_keyring()) != 0)
                return "keyctl fails before the filter";
        if (personality(0xffffffff) < 0)
                return "personality query fails before the filter";
        int kexec_before = err_of(syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL));

        int go[2];
        if (pipe(go) < 0)
                return "pipe";
        pthread_t t;
        if (pthread_create(&t, NULL, thread_keyctl, go) != 0)
                return "pthread_create";

        if (shim_sandbox_seccomp(SHIM_SANDBOX_EMBED, NULL) < 0)
                return "shim_sandbox_seccomp failed";
        if (write(go[1], "x", 1) != 1)
                return "write";
        void *tres;
        pthread_join(t, &tres);
        if ((intptr_t) tres != -EPERM)
                return "keyctl from another thread was not refused (TSYNC)";

        int r = err_of(key_get_process_keyring());
        if (r != -EPERM) {
                snprintf(msg, sizeof msg, "keyctl after the filter: %s", strerror(-r));
                return msg;
        }
        r = err_of(syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL));
        if (r != -EPERM) {
                snprintf(msg, sizeof msg, "kexec_file_load after the filter: %s (before: %s)", strerror(-r),
                         strerror(-kexec_before));
                return msg;
        }
        if (err_of(syscall(SYS_userfaultfd, O_CLOEXEC)) != -ENOSYS)
                return "userfaultfd not refused with ENOSYS";
        if (err_of(syscall(SYS_io_uring_setup, 1, NULL)) != -ENOSYS)
                return "io_uring_setup not refused with ENOSYS";
        if (err_of(syscall(SYS_init_module, NULL, 0UL, "")) != -EPERM)
                return "init_module not refused";
        if (err_of(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0)) != -EPERM)
                return "ptrace not refused";
        if (personality(PER_LINUX32) >= 0 || errno != EPERM)
                return "personality change not refused";
        if (personality(0xffffffff) < 0)
                return "personality query refused";
        /* What the supervisor and libvirt need still works. */
        if (getpid() <= 0 || access("/proc/self/status", R_OK) < 0)
                return "ordinary calls refused";
        struct shim_sandbox_state s;
        if (shim_sandbox_read_state(0, &s, NULL) < 0)
                return "read_state failed";
        if (s.seccomp != 2 || !s.no_new_privs)
                return "/proc/self/status does not show seccomp filter mode and no_new_privs";
        return NULL;
}

static void test_seccomp_refuses_denied_calls(void **state) {
        (void) state;
        in_child(check_seccomp_embed);
}

static const char *check_seccomp_remote(void) {
        static char msg[256];
        const char *target = "/nonexistent-ecluse-sandbox-test";
        /* unfiltered, this is ENOENT for root and EPERM for others: only root tells them apart */
        int before = err_of(umount2(target, 0));
        if (shim_sandbox_no_new_privs(NULL) < 0 || shim_sandbox_seccomp(SHIM_SANDBOX_REMOTE, NULL) < 0)
                return "setting up the filter failed";
        int after = err_of(umount2(target, 0));
        if (after != -EPERM || (geteuid() == 0 && before == -EPERM)) {
                snprintf(msg, sizeof msg, "umount2: before %s, after %s", strerror(-before), strerror(-after));
                return msg;
        }
        if (err_of(mount(NULL, target, NULL, MS_REMOUNT, NULL)) != -EPERM)
                return "mount not refused";
        if (err_of(syscall(SYS_unshare, 0)) != -EPERM)
                return "unshare not refused";
        if (err_of(syscall(SYS_bpf, 0, NULL, 0)) != -ENOSYS)
                return "bpf not refused with ENOSYS";
        return NULL;
}

static void test_seccomp_remote_refuses_mounts(void **state) {
        (void) state;
        in_child(check_seccomp_remote);
}

static void *noop_thread(void *arg) {
        return arg;
}

static const char *check_embed_refuses_namespaces(void) {
        if (shim_sandbox_seccomp(SHIM_SANDBOX_EMBED, NULL) < 0)
                return "setting up the filter failed";
        if (err_of(syscall(SYS_unshare, 0)) != -EPERM)
                return "unshare not refused in the embed profile";
        if (err_of(umount2("/nonexistent-ecluse-sandbox-test", 0)) != -EPERM)
                return "umount2 not refused in the embed profile";
        /* nor through clone: one flag among others is enough to refuse */
        if (err_of(syscall(SYS_clone, (unsigned long) (CLONE_NEWNET | SIGCHLD), NULL, NULL, NULL, 0)) != -EPERM)
                return "clone(CLONE_NEWNET) not refused";
        if (err_of(syscall(SYS_clone, (unsigned long) (CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD), NULL, NULL, NULL, 0)) !=
            -EPERM)
                return "clone(CLONE_NEWUSER|CLONE_NEWNS) not refused";
        if (err_of(syscall(SYS_clone3, NULL, 0)) != -ENOSYS)
                return "clone3 not refused with ENOSYS";
        /* a plain fork and a thread still work (glibc falls back from clone3) */
        pid_t pid = fork();
        if (pid == 0)
                _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid)
                return "fork refused";
        pthread_t th;
        if (pthread_create(&th, NULL, noop_thread, NULL) != 0 || pthread_join(th, NULL) != 0)
                return "pthread_create refused";
        return NULL;
}

static void test_seccomp_embed_refuses_namespaces(void **state) {
        (void) state;
        in_child(check_embed_refuses_namespaces);
}

#define BIT(c) (UINT64_C(1) << (c))

static const char *check_drop_caps(void) {
        static char msg[256];
        const cap_value_t keep[] = {CAP_NET_ADMIN, CAP_KILL};
        if (shim_sandbox_drop_caps(keep, ELEMENTSOF(keep), NULL) < 0)
                return "shim_sandbox_drop_caps failed";
        struct shim_sandbox_state s;
        if (shim_sandbox_read_state(0, &s, NULL) < 0)
                return "read_state failed";
        const uint64_t want = BIT(CAP_NET_ADMIN) | BIT(CAP_KILL);
        if (s.cap_eff != want || s.cap_prm != want || s.cap_bnd != want || s.cap_inh != 0 || s.cap_amb != 0) {
                snprintf(msg, sizeof msg, "CapEff %016llx CapPrm %016llx CapBnd %016llx CapInh %016llx CapAmb %016llx",
                         (unsigned long long) s.cap_eff, (unsigned long long) s.cap_prm,
                         (unsigned long long) s.cap_bnd, (unsigned long long) s.cap_inh,
                         (unsigned long long) s.cap_amb);
                return msg;
        }
        /* And the kernel agrees: CAP_SETUID and CAP_CHOWN are gone. */
        if (setuid(65534) == 0 || errno != EPERM)
                return "setuid still works";
        if (chown("/proc/self/status", 65534, 65534) == 0)
                return "chown still works";
        _cleanup_free_ char *caps = NULL, *sc = NULL;
        if (shim_sandbox_describe(&caps, &sc) < 0)
                return "describe failed";
        if (strcmp(caps, "cap_kill,cap_net_admin") != 0) {
                snprintf(msg, sizeof msg, "describe: caps '%s'", caps);
                return msg;
        }
        if (shim_sandbox_seccomp(SHIM_SANDBOX_EMBED, NULL) < 0)
                return "seccomp after dropping CAP_SYS_ADMIN failed";
        free(sc);
        sc = NULL;
        free(caps);
        caps = NULL;
        if (shim_sandbox_describe(&caps, &sc) < 0)
                return "describe failed";
        if (strncmp(sc, "filter (", 8) != 0 || !strstr(sc, "no_new_privs")) {
                snprintf(msg, sizeof msg, "describe: seccomp '%s'", sc);
                return msg;
        }
        return NULL;
}

static void test_drop_caps(void **state) {
        (void) state;
        tl_require(geteuid() == 0, "root (to drop capabilities)");
        in_child(check_drop_caps);
}

static const char *check_profile_sets(void) {
        size_t n;
        struct shim_sandbox_state s;
        const cap_value_t *c = shim_sandbox_caps(SHIM_SANDBOX_EMBED, &n);
        if (shim_sandbox_drop_caps(c, n, NULL) < 0)
                return "dropping to the embed set failed";
        if (shim_sandbox_read_state(0, &s, NULL) < 0)
                return "read_state failed";
        if (!(s.cap_eff & BIT(CAP_NET_ADMIN)) || !(s.cap_eff & BIT(CAP_SETUID)) || (s.cap_eff & BIT(CAP_SYS_MODULE)) ||
            (s.cap_bnd & BIT(CAP_SYS_BOOT)) || (s.cap_eff & BIT(CAP_NET_RAW)) || (s.cap_bnd & BIT(CAP_SYS_ADMIN)))
                return "embed set: wrong capabilities";
        c = shim_sandbox_caps(SHIM_SANDBOX_REMOTE, &n);
        if (shim_sandbox_drop_caps(c, n, NULL) < 0)
                return "dropping to the remote set failed";
        if (shim_sandbox_read_state(0, &s, NULL) < 0)
                return "read_state failed";
        if (s.cap_eff != BIT(CAP_NET_ADMIN) || s.cap_bnd != BIT(CAP_NET_ADMIN))
                return "remote set: not CAP_NET_ADMIN alone";
        return NULL;
}

static void test_profile_sets(void **state) {
        (void) state;
        tl_require(geteuid() == 0, "root (to drop capabilities)");
        assert_int_equal(shim_sandbox_profile_for_uri(NULL), SHIM_SANDBOX_EMBED);
        assert_int_equal(shim_sandbox_profile_for_uri("qemu:///embed?root=/x"), SHIM_SANDBOX_EMBED);
        assert_int_equal(shim_sandbox_profile_for_uri("qemu:///system"), SHIM_SANDBOX_REMOTE);
        assert_int_equal(shim_sandbox_profile_for_uri("qemu:///embedded"), SHIM_SANDBOX_REMOTE);
        assert_string_equal(shim_sandbox_profile_to_string(SHIM_SANDBOX_EMBED), "embed");
        assert_string_equal(shim_sandbox_profile_to_string(SHIM_SANDBOX_REMOTE), "remote");
        in_child(check_profile_sets);
}

static void *idle_thread(void *arg) {
        int *fd = arg;
        char c;
        (void) !read(fd[0], &c, 1);
        return NULL;
}

static const char *check_drop_caps_refuses_threads(void) {
        int go[2];
        if (pipe(go) < 0)
                return "pipe";
        pthread_t t;
        if (pthread_create(&t, NULL, idle_thread, go) != 0)
                return "pthread_create";
        const cap_value_t keep[] = {CAP_NET_ADMIN};
        _cleanup_free_ char *why = NULL;
        int r = shim_sandbox_drop_caps(keep, 1, &why);
        (void) !write(go[1], "x", 1);
        pthread_join(t, NULL);
        if (r != -EBUSY)
                return "drop_caps did not refuse a multi-threaded process";
        return why && strstr(why, "cannot drop capabilities with 2 threads running") ? NULL : "no reason handed back";
}

static void test_drop_caps_refuses_threads(void **state) {
        (void) state;
        in_child(check_drop_caps_refuses_threads);
}

/* Read from fd until needle shows up; false on EOF. */
static bool read_until(int fd, const char *needle) {
        char buf[4096];
        size_t got = 0;
        for (;;) {
                if (got == sizeof buf - 1) {
                        memmove(buf, buf + got / 2, got - got / 2);
                        got -= got / 2;
                }
                ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
                if (n <= 0)
                        return false;
                got += (size_t) n;
                buf[got] = 0;
                if (strstr(buf, needle))
                        return true;
        }
}

/* QEMU started under the shim's sandbox still installs its own (-sandbox on). */
static void test_qemu_sandbox_stacks(void **state) {
        (void) state;
        tl_require(tl_have_program("qemu-system-x86_64"), "qemu-system-x86_64");
        int in[2], out[2];
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(null, 2);
                if (geteuid() == 0) {
                        size_t n;
                        const cap_value_t *c = shim_sandbox_caps(SHIM_SANDBOX_EMBED, &n);
                        if (shim_sandbox_drop_caps(c, n, NULL) < 0)
                                _exit(90);
                }
                if (shim_sandbox_no_new_privs(NULL) < 0 || shim_sandbox_seccomp(SHIM_SANDBOX_EMBED, NULL) < 0)
                        _exit(91);
                execlp("qemu-system-x86_64", "qemu-system-x86_64", "-sandbox",
                       "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", "-machine",
                       "none", "-accel", "tcg", "-nodefaults", "-display", "none", "-monitor", "stdio",
                       (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        bool prompt = read_until(out[0], "(qemu)");
        struct shim_sandbox_state s = {0};
        int r = prompt ? shim_sandbox_read_state(pid, &s, NULL) : -EIO;
        (void) !write(in[1], "quit\n", 5);
        close(in[1]);
        char sink[256];
        while (read(out[0], sink, sizeof sink) > 0)
                ;
        close(out[0]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!prompt)
                fail_msg("QEMU did not come up under the sandbox (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        assert_int_equal(r, 0);
        assert_int_equal(s.seccomp, 2);
        assert_true(s.no_new_privs);
        if (s.seccomp_filters != -1U)
                assert_true(s.seccomp_filters >= 2); /* ours, then QEMU's */
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

/* The real use: embedded libvirt starts QEMU from a shim that has dropped its capabilities and filters. */
static char *embed_root;

static void *event_loop(void *arg) {
        (void) arg;
        for (;;)
                virEventRunDefaultImpl();
        return NULL;
}

static const char *check_embedded_libvirt(void) {
        static char msg[512];
        size_t n;
        const cap_value_t *keep = shim_sandbox_caps(SHIM_SANDBOX_EMBED, &n);
        if (shim_sandbox_drop_caps(keep, n, NULL) < 0)
                return "drop_caps failed";
        uint64_t kept = 0;
        for (size_t i = 0; i < n; i++)
                kept |= BIT(keep[i]);
        if (virEventRegisterDefaultImpl() < 0)
                return "virEventRegisterDefaultImpl failed";
        pthread_t t;
        if (pthread_create(&t, NULL, event_loop, NULL) != 0)
                return "pthread_create";
        _cleanup_free_ char *uri = tl_strf("qemu:///embed?root=%s", embed_root);
        virConnectPtr conn = virConnectOpen(uri);
        if (!conn)
                return "cannot open the embedded driver";
        if (shim_sandbox_no_new_privs(NULL) < 0 || shim_sandbox_seccomp(SHIM_SANDBOX_EMBED, NULL) < 0)
                return "sandbox failed";
        virDomainPtr d = virDomainCreateXML(conn,
                                            "<domain type='qemu'><name>sbxtest</name><memory unit='MiB'>64</memory>"
                                            "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>"
                                            "<devices><memballoon model='none'/></devices></domain>",
                                            VIR_DOMAIN_START_PAUSED);
        if (!d) {
                snprintf(msg, sizeof msg, "domain did not start: %s", virGetLastErrorMessage());
                return msg;
        }
        const char *problem = NULL;
        int st = 0, reason = 0;
        if (virDomainResume(d) < 0 || virDomainGetState(d, &st, &reason, 0) < 0 || st != VIR_DOMAIN_RUNNING)
                problem = "domain not running after resume";
        _cleanup_free_ char *pidfile = tl_strf("%s/run/qemu/sbxtest.pid", embed_root);
        _cleanup_free_ char *pidtext = tl_read_file(pidfile, NULL);
        struct shim_sandbox_state q = {0};
        if (!problem && (!pidtext || shim_sandbox_read_state((pid_t) atoi(pidtext), &q, NULL) < 0))
                problem = "cannot read QEMU's status";
        if (!problem && (q.seccomp != 2 || !q.no_new_privs || q.cap_eff != 0 || (q.cap_bnd & ~kept) != 0 ||
                         (q.seccomp_filters != -1U && q.seccomp_filters < 2))) {
                snprintf(msg, sizeof msg, "QEMU: seccomp %d (%u filters), nnp %d, CapEff %llx, CapBnd %llx", q.seccomp,
                         q.seccomp_filters, q.no_new_privs, (unsigned long long) q.cap_eff,
                         (unsigned long long) q.cap_bnd);
                problem = msg;
        }
        if (virDomainDestroy(d) < 0 && !problem) {
                snprintf(msg, sizeof msg, "cannot destroy the domain: %s", virGetLastErrorMessage());
                problem = msg;
        }
        virDomainFree(d);
        virConnectClose(conn);
        return problem;
}

static void test_embedded_libvirt_under_sandbox(void **state) {
        (void) state;
        tl_require(geteuid() == 0 && tl_have_program("qemu-system-x86_64") && getpwnam("libvirt-qemu"),
                   "root, qemu-system-x86_64 and the libvirt-qemu user");
        embed_root = tl_mkdtemp();
        assert_int_equal(chmod(embed_root, 0755), 0);
        _cleanup_free_ char *etc = tl_strf("%s/etc", embed_root), *conf = tl_strf("%s/etc/qemu.conf", embed_root);
        assert_int_equal(mkdir(etc, 0755), 0);
        /* no virtlogd in a test; the settings the EMBED profile asks for */
        const char *text = "stdio_handler = \"file\"\n" SHIM_SANDBOX_EMBED_QEMU_CONF;
        tl_write_file(conf, text, strlen(text));
        in_child(check_embedded_libvirt);
        tl_rm_rf(embed_root);
        free(embed_root);
        embed_root = NULL;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_seccomp_refuses_denied_calls),
                cmocka_unit_test(test_seccomp_remote_refuses_mounts),
                cmocka_unit_test(test_seccomp_embed_refuses_namespaces),
                cmocka_unit_test(test_drop_caps),
                cmocka_unit_test(test_profile_sets),
                cmocka_unit_test(test_drop_caps_refuses_threads),
                cmocka_unit_test(test_qemu_sandbox_stacks),
                cmocka_unit_test(test_embedded_libvirt_under_sandbox),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
