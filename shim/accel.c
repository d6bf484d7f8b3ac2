/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "log.h"
#include "reason.h"
#include "strutil.h"

#define GUEST_ADDR 0x1000
#define GUEST_PORT 0x10
#define GUEST_VALUE 0x42
/*
 * The loop makes the probe catch a KVM that "works" but crawls: where nested
 * virtualisation traps every instruction (about a million per second instead
 * of a billion), guests seem to hang.  Healthy KVM runs this in milliseconds.
 */
#define GUEST_LOOPS 10000000u

/* What the child reports: a step and an errno. */
struct probe_result {
        int step;
        int error;
};

enum probe_step {
        STEP_OK,
        STEP_OPEN,
        STEP_API,
        STEP_VM,
        STEP_MEMORY,
        STEP_VCPU,
        STEP_REGS,
        STEP_RUN,
        STEP_EXIT_IO,
        STEP_EXIT_HLT,
};

static const char *const step_names[] = {
        [STEP_OPEN] = "open",
        [STEP_API] = "KVM_GET_API_VERSION",
        [STEP_VM] = "KVM_CREATE_VM",
        [STEP_MEMORY] = "guest memory",
        [STEP_VCPU] = "KVM_CREATE_VCPU",
        [STEP_REGS] = "vCPU registers",
        [STEP_RUN] = "KVM_RUN",
        [STEP_EXIT_IO] = "test guest did not write to its port",
        [STEP_EXIT_HLT] = "test guest did not halt",
};

static const char *step_name(int step) {
        const char *n = ECL_ENUM_NAME(step_names, step);
        return n ? n : "probe";
}

/* In the child: the whole KVM round trip.  Descriptors leak into _exit. */
static struct probe_result probe_child(const char *dev) {
        /* Real mode at GUEST_ADDR: a busy loop, then a port write and a halt. */
        static const uint8_t code[] = {
                0x66, 0xb9,                             /* mov ecx, GUEST_LOOPS */
                GUEST_LOOPS & 0xff, (GUEST_LOOPS >> 8) & 0xff, (GUEST_LOOPS >> 16) & 0xff, GUEST_LOOPS >> 24,
                0x66, 0x49,                             /* 1: dec ecx */
                0x75, 0xfc,                             /* jnz 1b */
                0xb0, GUEST_VALUE,                      /* mov al, 0x42 */
                0xe6, GUEST_PORT,                       /* out 0x10, al */
                0xf4,                                   /* hlt */
        };
        int kvm = open(dev, O_RDWR | O_CLOEXEC);
        if (kvm < 0)
                return (struct probe_result){STEP_OPEN, errno};
        int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
        if (api < 0)
                return (struct probe_result){STEP_API, errno};
        if (api != KVM_API_VERSION)
                return (struct probe_result){STEP_API, EPROTO};
        int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
        if (vm < 0)
                return (struct probe_result){STEP_VM, errno};
        long page = sysconf(_SC_PAGESIZE);
        uint8_t *mem = mmap(NULL, (size_t) page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
                return (struct probe_result){STEP_MEMORY, errno};
        memcpy(mem, code, sizeof code);
        struct kvm_userspace_memory_region region = {
                .slot = 0,
                .guest_phys_addr = GUEST_ADDR,
                .memory_size = (uint64_t) page,
                .userspace_addr = (uintptr_t) mem,
        };
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
                return (struct probe_result){STEP_MEMORY, errno};
        int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
        if (vcpu < 0)
                return (struct probe_result){STEP_VCPU, errno};
        int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (run_size < (int) sizeof(struct kvm_run))
                return (struct probe_result){STEP_VCPU, run_size < 0 ? errno : EPROTO};
        struct kvm_run *run = mmap(NULL, (size_t) run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        if (run == MAP_FAILED)
                return (struct probe_result){STEP_VCPU, errno};

        struct kvm_sregs sregs;
        if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
                return (struct probe_result){STEP_REGS, errno};
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
                return (struct probe_result){STEP_REGS, errno};
        struct kvm_regs regs = {.rip = GUEST_ADDR, .rflags = 0x2};
        if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
                return (struct probe_result){STEP_REGS, errno};

        if (ioctl(vcpu, KVM_RUN, 0) < 0)
                return (struct probe_result){STEP_RUN, errno};
        if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
            run->io.port != GUEST_PORT || run->io.count != 1 ||
            ((const uint8_t *) run)[run->io.data_offset] != GUEST_VALUE)
                return (struct probe_result){STEP_EXIT_IO, EPROTO};
        if (ioctl(vcpu, KVM_RUN, 0) < 0)
                return (struct probe_result){STEP_RUN, errno};
        if (run->exit_reason != KVM_EXIT_HLT)
                return (struct probe_result){STEP_EXIT_HLT, EPROTO};
        if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
                return (struct probe_result){STEP_REGS, errno};
        if ((uint32_t) regs.rcx != 0)
                return (struct probe_result){STEP_EXIT_IO, EPROTO};
        return (struct probe_result){STEP_OK, 0};
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the child, killing it first when it has not finished; bounded by pidfd. */
static void reap(pid_t pid, int pidfd, bool kill_first) {
        if (kill_first) {
                if (pidfd >= 0)
                        (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                else
                        (void) kill(pid, SIGKILL);
        }
        if (pidfd >= 0) {
                /* A child stuck in the kernel may never die: do not wait for it forever. */
                struct pollfd p = {.fd = pidfd, .events = POLLIN};
                if (poll(&p, 1, 1000) <= 0) {
                        log_debug("KVM probe child %d does not exit; left behind", (int) pid);
                        return;
                }
        }
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

int shim_accel_probe_kvm(unsigned timeout_ms, char **ret_reason) {
        const char *dev = getenv(SHIM_ACCEL_PROBE_DEV_ENV);
        if (!dev || !*dev)
                dev = "/dev/kvm";
        if (ret_reason)
                *ret_reason = NULL;

        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rd = p[0];
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[1]);
                (void) ecl_reason(ret_reason, 0, "cannot fork the probe: %s", strerror(e));
                return -e;
        }
        if (pid == 0) {
                close(p[0]);
                /* Second bound, should the parent be gone. */
                alarm(timeout_ms / 1000 + 2);
                struct probe_result res = probe_child(dev);
                (void) !write(p[1], &res, sizeof res);
                _exit(0);
        }
        close(p[1]);
        _cleanup_close_ int pidfd = pidfd_open(pid, 0);

        struct probe_result res;
        size_t got = 0;
        int64_t deadline = now_ms() + timeout_ms;
        while (got < sizeof res) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        break;
                struct pollfd pfd = {.fd = rd, .events = POLLIN};
                int n = poll(&pfd, 1, (int) left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                ssize_t k = read(rd, (char *) &res + got, sizeof res - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        if (got < sizeof res) {
                bool timed_out = now_ms() >= deadline;
                reap(pid, pidfd, true);
                if (timed_out) {
                        (void) ecl_reason(ret_reason, 0, "%s: test guest did not finish within %u ms (KVM hangs or crawls)", dev, timeout_ms);
                        return -ETIMEDOUT;
                }
                (void) ecl_reason(ret_reason, 0, "%s: probe process died", dev);
                return -EIO;
        }
        reap(pid, pidfd, false);
        if (res.step == STEP_OK)
                return 0;
        int e = res.error > 0 ? res.error : EIO;
        if (res.step == STEP_OPEN)
                (void) ecl_reason(ret_reason, 0, "%s: %s", dev, strerror(e));
        else if (res.step == STEP_EXIT_IO || res.step == STEP_EXIT_HLT)
                (void) ecl_reason(ret_reason, 0, "%s: %s", dev, step_name(res.step));
        else
                (void) ecl_reason(ret_reason, 0, "%s: %s: %s", dev, step_name(res.step), strerror(e));
        return -e;
}

int shim_accel_resolve(enum ecl_accel wanted, unsigned timeout_ms, enum ecl_accel *ret, char **ret_reason) {
        if (ret_reason)
                *ret_reason = NULL;
        if (wanted == ECL_ACCEL_TCG) {
                *ret = ECL_ACCEL_TCG;
                return 0;
        }
        _cleanup_free_ char *why = NULL;
        int r = shim_accel_probe_kvm(timeout_ms, &why);
        if (r >= 0) {
                *ret = ECL_ACCEL_KVM;
                return 0;
        }
        if (wanted == ECL_ACCEL_KVM)
                return ecl_reason(ret_reason, -ENODEV, "accel: kvm asked for, but KVM is unusable (%s)",
                                  why ? why : "probe failed");
        r = ecl_reason(ret_reason, 0, "accel: auto: KVM unusable (%s), falling back to TCG",
                       why ? why : "probe failed");
        if (r < 0)
                return r;
        *ret = ECL_ACCEL_TCG;
        return 0;
}
