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
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"

/* Parse a listing; entries sorted by last seen, newest first.  -EBADMSG on malformed JSON. */
int shim_blocked_parse(const char *json, time_t now, struct shim_blocked_entry **ret, size_t *n);

/* Free what shim_blocked_parse() and shim_policy_blocked() returned. */
void shim_blocked_entries_free(struct shim_blocked_entry *e);

/*
 * What could not be recorded (DESIGN.md invariant 4).  A record set that is
 * full makes its set statement fail, and the packet falls through the drop
 * chain to its last rule, a bare "counter drop" (found as the last rule of
 * drop_out / drop_in, whatever its "ecluse N" comment): its packets were
 * dropped and counted but are in no record.  Arrays are indexed by enum
 * shim_blocked_direction.
 */
struct shim_blocked_unrecorded {
        bool known[2];         /* the chain and its final counter were found */
        uint64_t packets[2];   /* what the final counter counted */
        uint64_t entered[2];   /* packets counted by every rule of the chain: all that reached it */
        uint64_t min_size[2];  /* the smallest size of the direction's blk_ sets (0: none listed) */
        char **full_sets;      /* names of the blk_ sets whose element count reached their size;
                                * sorted, NULL-terminated, NULL when none */
};
/* Both from one full listing of the table: the records and what could not be recorded (*u zeroed first). */
int shim_blocked_report_parse(const char *json, time_t now, struct shim_blocked_entry **ret, size_t *n,
                              struct shim_blocked_unrecorded *u);
void shim_blocked_unrecorded_done(struct shim_blocked_unrecorded *u);

/*
 * Add what a listing says to *u (start from a zeroed one): the drop chains'
 * counters, the blk_ sets' sizes, and, when `elements` is true (the listing
 * holds the sets' elements, not a terse one), which of them are full.
 * -EBADMSG on malformed JSON.
 */
int shim_blocked_unrecorded_parse(const char *json, bool elements, struct shim_blocked_unrecorded *u);



/* {"egress": N, "ingress": N} (null for a direction whose final counter was not found). */
json_t *shim_blocked_unrecorded_counts_json(const struct shim_blocked_unrecorded *u);
/* ["blk_out_p4_first", ...] of one direction, or of both when dir < 0. */
json_t *shim_blocked_full_sets_json(const struct shim_blocked_unrecorded *u, int dir);
/* Whether a blk_ set name belongs to a direction ("blk_out_..." is egress). */
bool shim_blocked_set_direction(const char *name, enum shim_blocked_direction *ret);
