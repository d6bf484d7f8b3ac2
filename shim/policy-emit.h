/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The policy's model (policy-ir.h) as libnftables JSON commands or nft text. */
#include <jansson.h>

#include "policy-ir.h"

/* {"nftables": [...]}: replace the table (add, delete, add) and create everything, as one transaction. */
int pol_emit_json(const struct pol_table *t, char **ret);
/* An address as libnftables JSON writes it: "192.0.2.1" or {"prefix": {"addr": ..., "len": ...}}. */
json_t *pol_cidr_json(const struct ecl_cidr *c);
/* "table netdev NAME { ... }" in nft syntax. */
int pol_emit_text(const struct pol_table *t, char **ret);
