/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netdev.h"
#include "reason.h"
#include "tap.h"

int shim_tap_create(const char *name, const struct shim_tap_opts *o, char **ret_reason) {
        int r = shim_netdev_name_ok(name, ret_reason);
        if (r < 0)
                return r;
        if (if_nametoindex(name) != 0)
                return ecl_reason(ret_reason, -EEXIST,
                                  "network device %s exists already (left over from an earlier run?)", name);

        _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot open /dev/net/tun");
        /* No IFF_VNET_HDR, and multi-queue so that libvirt's later open cannot add it (tap.h). */
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_TUN_EXCL};
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot create tap %s", name);
        if (!streq(ifr.ifr_name, name)) /* the kernel may not rename, but be sure */
                return ecl_reason(ret_reason, -EEXIST, "tap %s came out as %s", name, ifr.ifr_name);
        if (ioctl(fd, TUNSETPERSIST, 1) < 0)
                return ecl_reason_errno(ret_reason, negative_errno(), "cannot make tap %s persistent", name);

        /* From here on the device outlives fd: undo on failure. */
        if (o->owner != (uid_t) -1 && ioctl(fd, TUNSETOWNER, (unsigned long) o->owner) < 0)
                r = ecl_reason_errno(ret_reason, negative_errno(), "cannot give tap %s to uid %u", name,
                                     (unsigned) o->owner);
        if (r >= 0 && o->group != (gid_t) -1 && ioctl(fd, TUNSETGROUP, (unsigned long) o->group) < 0)
                r = ecl_reason_errno(ret_reason, negative_errno(), "cannot give tap %s to gid %u", name,
                                     (unsigned) o->group);
        unsigned mtu = o->mtu;
        struct shim_netdev_info br;
        if (r >= 0 && mtu == 0 && o->bridge && shim_netdev_info(-1, o->bridge, &br, NULL) == 0)
                mtu = br.mtu;
        if (r >= 0 && mtu > 0)
                r = shim_netdev_set_mtu(-1, name, mtu, ret_reason);
        if (r >= 0 && o->bridge)
                r = shim_netdev_enslave(-1, name, o->bridge, ret_reason);
        if (r >= 0)
                r = shim_netdev_set_up(-1, name, ret_reason);
        if (r >= 0) {
                /* Our queue stays attached but disabled: nothing is queued to it. */
                struct ifreq q = {.ifr_flags = IFF_DETACH_QUEUE};
                if (ioctl(fd, TUNSETQUEUE, &q) < 0)
                        r = ecl_reason_errno(ret_reason, negative_errno(), "cannot disable ecluse's queue of tap %s",
                                             name);
        }
        if (r < 0) {
                (void) ioctl(fd, TUNSETPERSIST, 0); /* closing fd below then removes it */
                return r;
        }
        if (o->hold)
                *o->hold = TAKE_FD(fd);
        return 0;
}

int shim_tap_delete(const char *name, char **ret_reason) {
        return shim_netdev_delete(-1, name, ret_reason);
}

int shim_tap_exists(const char *name) {
        if (shim_netdev_name_ok(name, NULL) < 0)
                return -EINVAL;
        if (if_nametoindex(name) == 0)
                return 0;
        /* The tun driver says "tun" and, for a tap, bus_info "tap" (right in any netns, unlike sysfs). */
        struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
        struct ifreq ifr = {.ifr_data = (void *) &info};
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
        _cleanup_close_ int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sk < 0)
                return negative_errno();
        int r = ioctl(sk, SIOCETHTOOL, &ifr) < 0 ? negative_errno() : 0;
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r == -EOPNOTSUPP ? -ENOTTY : r;
        return streq(info.driver, "tun") && streq(info.bus_info, "tap") ? 1 : -ENOTTY;
}

int shim_tap_vnet_hdr(const char *name, char **ret_reason) {
        struct shim_netdev_info info;
        int r = shim_netdev_info(-1, name, &info, ret_reason);
        if (r < 0)
                return r;
        if (!streq(info.kind, "tun"))
                return ecl_reason(ret_reason, -ENOTTY, "%s is no tun device", name);
        if (!info.vnet_hdr_known)
                return ecl_reason(ret_reason, -EPROTO, "the kernel does not say whether %s takes vnet headers", name);
        return info.vnet_hdr ? 1 : 0;
}
