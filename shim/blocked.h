/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The drop records of a stack's policy, read from the libnftables JSON
 * listing of its table.  The drop chains add every dropped packet's key to a
 * "blk_DIR_KIND_first" set (add: the timeout is never refreshed) and update a
 * "blk_DIR_KIND_last" set (update: refreshed, with a counter), both with the
 * same timeout T.  An element that expires in E seconds was touched T-E
 * seconds ago: first seen from the first set, last seen and the count from
 * the last set.  DIR is "out" (sent by the guest) or "in" (sent to it); KIND
 * "p4"/"p6" (IP with ports: src . dst . proto . port), "n4"/"n6" (IP without:
 * src . dst . proto), "l2" (non-IP: src MAC . dst MAC . ethertype).
 */
#include <stddef.h>
#include <time.h>

#include "policy.h"

/* Parse a listing; entries sorted by last seen, newest first.  -EBADMSG on malformed JSON. */
int shim_blocked_parse(const char *json, time_t now, struct shim_blocked_entry **ret, size_t *n);
