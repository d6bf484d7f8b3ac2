/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"
#include "paths.h"
#include "reason.h"
#include "strparse.h"

int shim_netns_pin_path(const char *root, const char *stack, char **ret) {
        if (ecl_path(ret, root, ECL_RUN_DIR "/%s.netns", stack) < 0)
                return -ENOMEM;
        return 0;
}

/* Write `value` to /proc/sys/net/... of the calling thread's namespace. */
static int sysctl_net(const char *key, const char *value, char **ret_reason) {
        char path[160];
        snprintf(path, sizeof path, "/proc/sys/net/%s", key);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT && strncmp(key, "ipv6/", 5) == 0 && access("/proc/sys/net/ipv6", F_OK) < 0)
                return 0; /* a kernel without IPv6 (ipv6.disable=1): nothing to turn off */
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s", path);
        size_t n = strlen(value);
        if (write(fd, value, n) != (ssize_t) n)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot set %s to %s", path, value);
        return 0;
}

static int harden_conf(const char *dev, char **ret_reason) {
        static const struct {
                const char *fmt, *value;
        } keys[] = {
                {"ipv6/conf/%s/disable_ipv6", "1"}, {"ipv4/conf/%s/forwarding", "0"},
                {"ipv4/conf/%s/rp_filter", "1"},    {"ipv4/conf/%s/arp_ignore", "8"},
                {"ipv4/conf/%s/accept_local", "0"},
        };
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
                char key[96];
                snprintf(key, sizeof key, keys[i].fmt, dev);
                int r = sysctl_net(key, keys[i].value, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

int shim_netns_harden_device(const char *dev, char **ret_reason) {
        return harden_conf(dev, ret_reason);
}

int shim_netns_create(const char *pin, int *ret_host, char **ret_reason) {
        _cleanup_close_ int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (host < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open this thread's network namespace");
        _cleanup_close_ int pfd = open(pin, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (pfd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot create the namespace pin %s", pin);
        /* Under the mount: who to ask where the mount is not seen (another mount namespace). */
        int r = dprintf(pfd, "%d\n", (int) getpid()) < 0 ? ecl_reason(ret_reason, -EIO, "cannot write %s", pin) : 0;
        if (r < 0)
                goto fail_unlink;
        if (unshare(CLONE_NEWNET) < 0) {
                r = ecl_reason_errno(ret_reason, negative_errno(), "cannot make a network namespace for the stack");
                goto fail_unlink;
        }
        /* A new namespace: only lo, down.  Every later device takes "default". */
        static const char *confs[] = {"all", "default"};
        for (size_t i = 0; r >= 0 && i < 2; i++)
                r = harden_conf(confs[i], ret_reason);
        if (r >= 0)
                r = sysctl_net("ipv4/ip_forward", "0", ret_reason);
        if (r >= 0 && mount("/proc/thread-self/ns/net", pin, NULL, MS_BIND, NULL) < 0)
                r = ecl_reason_errno(ret_reason, negative_errno(), "cannot pin the stack's network namespace at %s",
                                     pin);
        if (r < 0) {
                (void) setns(host, CLONE_NEWNET);
                goto fail_unlink;
        }
        *ret_host = TAKE_FD(host);
        return 0;
fail_unlink:
        (void) unlink(pin);
        return r;
}

/* The pid a pin file holds ("1234\n", as the supervisor writes it), or 0. */
static int pin_pid(const char *buf) {
        const char *end;
        int64_t v;
        if (ecl_parse_int_prefix(buf, 1, INT32_MAX, &v, &end) < 0 || (*end && *end != '\n'))
                return 0;
        return (int) v;
}

/* The pin as a plain file (its mount not seen here): the namespace of the supervisor it names. */
static int join_by_pid(int fd, const char *pin, char **ret_reason) {
        char buf[32] = {0};
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        int pid = n > 0 ? pin_pid(buf) : 0;
        if (pid <= 0)
                return -ENOENT;
        /* That pid must still be a supervisor, root's: a reused pid leads elsewhere. */
        char path[64], comm[32] = {0};
        snprintf(path, sizeof path, "/proc/%d", pid);
        _cleanup_close_ int proc = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (proc < 0 || fstat(proc, &st) < 0 || st.st_uid != 0)
                return -ENOENT; /* that supervisor is gone, and the mount is not visible here */
        _cleanup_close_ int cfd = openat(proc, "comm", O_RDONLY | O_CLOEXEC);
        ssize_t k = cfd >= 0 ? read(cfd, comm, sizeof comm - 1) : -1;
        if (k <= 0 || strncmp(comm, "ecluse-shim\n", 12) != 0)
                return -ENOENT;
        _cleanup_close_ int ns = openat(proc, "ns/net", O_RDONLY | O_CLOEXEC);
        if (ns < 0)
                return -ENOENT;
        if (setns(ns, CLONE_NEWNET) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(),
                                        "cannot enter the network namespace of pid %d (%s)", pid, pin);
        return 0;
}

int shim_netns_join_pinned(const char *pin, char **ret_reason) {
        _cleanup_close_ int fd = open(pin, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open the namespace pin %s", pin);
        }
        if (setns(fd, CLONE_NEWNET) < 0) {
                if (errno == EINVAL)
                        return join_by_pid(fd, pin, ret_reason);
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot enter the namespace pinned at %s", pin);
        }
        return 0;
}

int shim_netns_unpin(const char *pin, char **ret_reason) {
        struct stat st;
        if (lstat(pin, &st) < 0)
                return errno == ENOENT ? 0 : ecl_reason_errno(ret_reason, negative_errno(), "cannot look at %s", pin);
        if (!S_ISREG(st.st_mode))
                return ecl_reason(ret_reason, -EPERM, "%s is not a namespace pin (not a regular file): left alone",
                                  pin);
        /* Unmount until only the file is left (a pin may have been mounted over twice). */
        int i;
        for (i = 0; i < 8; i++)
                if (umount2(pin, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
                        if (errno != EINVAL && errno != ENOENT)
                                return ecl_reason_errno(ret_reason, negative_errno(),
                                                        "cannot unmount the namespace pin %s", pin);
                        break;
                }
        if (i == 8)
                return ecl_reason(ret_reason, -EBUSY, "%s is still mounted over after 8 unmounts: left alone", pin);
        if (unlink(pin) < 0 && errno != ENOENT)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot remove %s", pin);
        return 0;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U /* Linux 6.8 */
#endif

/* The id of the mount `path` is on; stx_mnt_id follows stx_dev_minor (glibc before 2.39 calls it padding). */
static unsigned long long mount_id(const char *path) {
        struct statx stx;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE | STATX_MNT_ID, &stx) < 0 ||
            !(stx.stx_mask & (STATX_MNT_ID_UNIQUE | STATX_MNT_ID)))
                return 0;
        uint64_t id;
        memcpy(&id, (const char *) &stx + offsetof(struct statx, stx_dev_minor) + sizeof stx.stx_dev_minor, sizeof id);
        return id;
}

int shim_netns_pin_identify(const char *pin, struct shim_netns_pin_id *ret, char **ret_reason) {
        *ret = (struct shim_netns_pin_id){0};
        struct stat st;
        if (lstat(pin, &st) < 0)
                return errno == ENOENT ? 0 : ecl_reason_errno(ret_reason, negative_errno(), "cannot look at %s", pin);
        *ret = (struct shim_netns_pin_id){.present = true, .dev = st.st_dev, .ino = st.st_ino,
                                          .mnt_id = mount_id(pin)};
        if (S_ISREG(st.st_mode)) {
                /* the file itself (no mount seen here): the supervisor it names too */
                _cleanup_close_ int fd = open(pin, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                char buf[32] = {0};
                ret->pid = fd >= 0 && pread(fd, buf, sizeof buf - 1, 0) > 0 ? pin_pid(buf) : 0;
        }
        return 0;
}

int shim_netns_unpin_if_same(const char *pin, const struct shim_netns_pin_id *id, char **ret_reason) {
        struct shim_netns_pin_id now;
        int r = shim_netns_pin_identify(pin, &now, ret_reason);
        if (r < 0)
                return r;
        if (!now.present)
                return 0;
        if (!id->present || now.dev != id->dev || now.ino != id->ino || now.mnt_id != id->mnt_id ||
            now.pid != id->pid) {
                log_debug("%s is the pin of a later run now: left alone", pin);
                return 1;
        }
        return shim_netns_unpin(pin, ret_reason);
}
