/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* From a manifest to the policy's model (policy-ir.h). */
#include "manifest.h"
#include "policy-ir.h"

/*
 * Build the policy of a manifest.  Returns 0, -ENOMEM, or -EINVAL for an
 * impossible model, with *ret_reason (if not NULL) saying why.  Prints nothing.
 */
int pol_build(const struct ecl_manifest *m, struct pol_table **ret, char **ret_reason);
void pol_table_free(struct pol_table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct pol_table *, pol_table_free)
#define _cleanup_pol_table_ _cleanup_(pol_table_freep)
