/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Every path of DESIGN.md ("Paths") lives under a root prefix (--root), so
 * tests run unprivileged in a temporary tree.  root "" or "/" is the host.
 */
#include "macro.h"

#define ECL_ETC_DIR "/etc/ecluse"
#define ECL_STACKS_CONF_DIR "/etc/ecluse/stacks"
#define ECL_OFFICERS_FILE "/etc/ecluse/officers"
#define ECL_VENDORS_FILE "/etc/ecluse/vendors"
#define ECL_STATE_DIR "/var/lib/ecluse"
#define ECL_INBOX_DIR "/var/lib/ecluse/inbox"
#define ECL_QUARANTINE_DIR "/var/lib/ecluse/quarantine"
#define ECL_STACKS_STATE_DIR "/var/lib/ecluse/stacks"
#define ECL_LIBVIRT_DIR "/var/lib/ecluse/libvirt"
#define ECL_AUDIT_LOG "/var/lib/ecluse/audit.log"
#define ECL_RUN_DIR "/run/ecluse"

/* *ret = root + printf(fmt, ...), with exactly one '/' between them. 0 or -ENOMEM. */
int ecl_path(char **ret, const char *root, const char *fmt, ...) _printf_(3, 4);
