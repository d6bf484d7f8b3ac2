/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Inside the manifest loader: the spelling of its enums and the network part
 * of its schema; the walk itself is manifest-walk.h.  Only the manifest-*.c
 * files include this.
 */
#include "manifest-walk.h"
#include "manifest.h"

#define ECL_MANIFEST_MAX_DEPTH 8 /* root > network > egress > rule > ports is 4 */

/* The spelling of each enum value (manifest.c), for parsing and for printing. */
extern const char *const ecl_proto_names[ECL_PROTO_ICMPV6 + 1];
extern const char *const ecl_accel_names[ECL_ACCEL_TCG + 1];
extern const char *const ecl_console_names[ECL_CONSOLE_NONE + 1];
extern const char *const ecl_disk_format_names[ECL_DISK_RAW + 1];

/* The network part (manifest-network.c). */
void mctx_parse_network(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj);
