/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * One-line messages on stderr: "PROGRAM: error: WHAT".  Only commands (the
 * cmd-*.c files, and what runs them) print above debug level; library code
 * hands its reason back (reason.h) and logs with log_debug() at most
 * (tests/unit/test_library_quiet.c).  A command that fails prints once and
 * returns the errno:
 *
 *         return log_error_errno(r, "cannot open %s: %m", path);
 *
 * "%m" expands to strerror(-r).  The program name is glibc's
 * program_invocation_short_name, set by the C runtime: no global state here.
 * Debug lines are printed only when ECLUSE_DEBUG is set; with ECLUSE_DEBUG=1
 * every line starts with CLOCK_MONOTONIC seconds, "[  123.456789] PROGRAM: ...",
 * to see where the time goes.
 */
#include <errno.h>
#include <stdarg.h>

#include "macro.h"

enum ecl_log_level { ECL_LOG_ERROR, ECL_LOG_WARNING, ECL_LOG_NOTICE, ECL_LOG_DEBUG };

/* Always returns -abs(error) (or -EIO if error is 0), for "return log_...". */
int ecl_log_errno(enum ecl_log_level level, int error, const char *fmt, ...) _printf_(3, 4);
void ecl_logv(enum ecl_log_level level, int error, const char *fmt, va_list ap) _printf_(3, 0);

#define log_error_errno(e, ...) ecl_log_errno(ECL_LOG_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) ecl_log_errno(ECL_LOG_WARNING, (e), __VA_ARGS__)
#define log_error(...) ((void) ecl_log_errno(ECL_LOG_ERROR, 0, __VA_ARGS__))
#define log_warning(...) ((void) ecl_log_errno(ECL_LOG_WARNING, 0, __VA_ARGS__))
#define log_notice(...) ((void) ecl_log_errno(ECL_LOG_NOTICE, 0, __VA_ARGS__))
#define log_debug(...) ((void) ecl_log_errno(ECL_LOG_DEBUG, 0, __VA_ARGS__))
#define log_oom() log_error_errno(ENOMEM, "out of memory")
