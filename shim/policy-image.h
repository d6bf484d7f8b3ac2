/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The policy's table in libnftables' own canonical form, so that verify
 * (policy.c) compares what the kernel holds, not names.  An image holds:
 *
 *   - whatever the table has besides sets and chains (flags dormant, say);
 *   - each chain and its header (type, hook, device, priority, policy;
 *     empty for a regular chain);
 *   - each set's declaration (type, size, flags, counter, timeout) and, for
 *     the sets whose contents are the policy's (fixed sets, and grant sets:
 *     what the shim granted), their elements;
 *   - each rule's whole expression list, in order, as libnftables prints it
 *     with NFT_DEBUG_NETLINK, normalised: no handles, no counter values, no
 *     default flags, and each anonymous set's elements in place of its name.
 *
 * Two sources.  The expected image: declarations from the IR, rules and
 * elements from libnftables' netlink debug output of the commands that load
 * the table (the load itself, or a dry run of it).  The kernel's: one
 * `list table` with NFT_DEBUG_NETLINK and NFT_CTX_OUTPUT_TERSE (the debug part
 * has the elements and expressions, the text part the declarations); the
 * elements of the sets the packet path fills (flows, drop records, learned
 * MACs) are skipped, not stored.
 */
#include "policy-ir.h"

struct pol_image;

/*
 * The image that loading t gives, from load_debug (libnftables' netlink debug
 * output of its commands).  -ENOMEM, or -EBADMSG with *ret_reason (if not
 * NULL) when the output is not what libnftables prints.  Prints nothing.
 */
int pol_image_expect(const struct pol_table *t, const char *load_debug, struct pol_image **ret, char **ret_reason);

/*
 * The kernel's image from a listing of the table (see above); want says which
 * sets' elements to keep.  -ENOMEM, or -EBADMSG with *ret_reason (if not
 * NULL) when the listing cannot be read.  Prints nothing.
 */
int pol_image_parse_listing(const struct pol_image *want, const char *listing, struct pol_image **ret,
                            char **ret_reason);

void pol_image_free(struct pol_image *img);

DEFINE_TRIVIAL_CLEANUP_FUNC(struct pol_image *, pol_image_free)
#define _cleanup_pol_image_ _cleanup_(pol_image_freep)
