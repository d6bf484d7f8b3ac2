/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Reasons: library code does not print.  Where the caller needs to know why
 * something failed or was refused, a function takes `char **ret_reason` and
 * sets it with ecl_reason(); the command prints it, the agent puts it in its
 * audit log.  Positioned problems in files go to struct ecl_diags instead.
 */
#include <errno.h>

#include "macro.h"

/*
 * The errno for a failure of a service ecluse drives (libvirt, nftables):
 * the service refused or failed, as opposed to ecluse's own I/O.  Exit
 * status 69 (cli.h).
 */
#define ECL_ESERVICE EREMOTEIO

/*
 * When ret_reason is not NULL, replace *ret_reason with a newly allocated
 * one-line text (control characters become '?', since reasons quote
 * untrusted input).  *ret_reason must be NULL or a string to free.  Returns
 * err, so that `return ecl_reason(ret_reason, -EBADMSG, "...")` reads as one
 * step; when the text cannot be allocated, *ret_reason is NULL and the
 * result is -ENOMEM instead.  So a caller that gets back the err it passed
 * always has its reason.
 */
int ecl_reason(char **ret_reason, int err, const char *fmt, ...) _printf_(3, 4);

/*
 * ecl_reason() for a failed call: the text is followed by ": " and
 * strerror(-err), as "%m" does in a log line:
 *
 *         return ecl_reason_errno(ret_reason, negative_errno(), "cannot open %s", path);
 */
int ecl_reason_errno(char **ret_reason, int err, const char *fmt, ...) _printf_(3, 4);

/* What to print for a failure: the reason if one was set, else strerror(-err). */
const char *ecl_reason_text(const char *reason, int err);
