/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "strutil.h"

static const char *const level_names[] = {
        [ECL_LOG_ERROR] = "error",
        [ECL_LOG_WARNING] = "warning",
        [ECL_LOG_NOTICE] = "notice",
        [ECL_LOG_DEBUG] = "debug",
};

static const char *level_name(enum ecl_log_level level) {
        const char *n = ECL_ENUM_NAME(level_names, level);
        return n ? n : "debug";
}

void ecl_logv(enum ecl_log_level level, int error, const char *fmt, va_list ap) {
        if (level == ECL_LOG_DEBUG && !getenv("ECLUSE_DEBUG"))
                return;
        /* Let "%m" print the error we were given, not whatever errno holds. */
        int saved = errno;
        errno = error < 0 ? -error : error;
        char buf[2048];
        vsnprintf(buf, sizeof buf, fmt, ap);
        errno = saved;
        /* Messages quote libvirt, QEMU, a shim's answer, a file name: no control character reaches the terminal. */
        ecl_str_make_printable(buf);
        /* ECLUSE_DEBUG=1: each line with its CLOCK_MONOTONIC time, to see where the time goes */
        const char *debug = getenv("ECLUSE_DEBUG");
        struct timespec ts;
        if (debug && streq(debug, "1") && clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
                fprintf(stderr, "[%5lld.%06ld] %s: %s: %s\n", (long long) ts.tv_sec, ts.tv_nsec / 1000,
                        program_invocation_short_name, level_name(level), buf);
        else
                fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, level_name(level), buf);
}

int ecl_log_errno(enum ecl_log_level level, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        ecl_logv(level, error, fmt, ap);
        va_end(ap);
        if (error == 0)
                return -EIO;
        return error < 0 ? error : -error;
}
