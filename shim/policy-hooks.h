/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify's reading of nftables' text listings of chains and flowtables, for
 * foreign hooks on the tap or the uplink.  Side-effect free, so the unit
 * tests reach it.
 */
#pragma once

#include <stdbool.h>

/*
 * Whether a chain header or flowtable devices line hooks dev: device "X" or
 * devices = { X, Y }, a name ending in '*' (a prefix, kernel 6.16+) hooking
 * every device it begins.
 */
bool pol_hooks_device(const char *line, const char *dev);

/*
 * listing: the text of `list chains` (flowtables false) or `list flowtables`
 * (true), modified in place.  0 when no object but chains of table netdev
 * ours hooks devs[0] or devs[1]; -ESRCH with *ret_problem naming the first.
 */
int pol_foreign_hooks(char *listing, bool flowtables, const char *ours, const char *const devs[2],
                      char **ret_problem);
