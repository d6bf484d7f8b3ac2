/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's health gate (agent/health.h) as a command, for
 * tests/e2e/test_reload_health.sh against a shim the script runs; not a
 * test itself (tests/CMakeLists.txt builds it as e2e-health_wait):
 *
 *   e2e-health_wait ROOT STACK reload
 *       agent_shim_reload(): prints "boot N", the boot that ran before
 *   e2e-health_wait ROOT STACK wait BOOT_BEFORE TIMEOUT_MS SETTLE_MS [LINE]
 *       agent_health_wait(): prints "healthy" or "unhealthy: REASON"
 *
 * Exit 0 done/healthy, 1 timed out (-ETIMEDOUT), 2 any other failure, 64 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "macro.h"
#include "reason.h"

static int usage(void) {
        fprintf(stderr, "usage: e2e-health_wait ROOT STACK reload\n"
                        "       e2e-health_wait ROOT STACK wait BOOT_BEFORE TIMEOUT_MS SETTLE_MS [LINE]\n");
        return 64;
}

static int number(const char *s, uint64_t *ret) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || !*s || *end || *s == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 4)
                return usage();
        const char *root = argv[1], *stack = argv[2];
        _cleanup_free_ char *why = NULL;
        if (streq(argv[3], "reload") && argc == 4) {
                uint64_t boot = 0;
                int r = agent_shim_reload(root, stack, &boot, &why);
                if (r < 0) {
                        printf("failed: %s\n", ecl_reason_text(why, r));
                        return 2;
                }
                printf("boot %" PRIu64 "\n", boot);
                return 0;
        }
        if (!streq(argv[3], "wait") || (argc != 7 && argc != 8))
                return usage();
        uint64_t before, timeout, settle;
        if (number(argv[4], &before) < 0 || number(argv[5], &timeout) < 0 || number(argv[6], &settle) < 0)
                return usage();
        struct agent_health h = {
                .console_line = argc == 8 ? argv[7] : NULL, .timeout_ms = timeout, .settle_ms = settle};
        int r = agent_health_wait(root, stack, before, &h, &why);
        if (r < 0) {
                printf("unhealthy: %s\n", ecl_reason_text(why, r));
                return r == -ETIMEDOUT ? 1 : 2;
        }
        printf("healthy\n");
        return 0;
}
