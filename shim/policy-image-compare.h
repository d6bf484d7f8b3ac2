/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Comparing two policy images (policy-image.h): what verify reports. */
#include "policy-image.h"

/*
 * 0 when have is want; -ESRCH with *ret_problem (one line naming the first
 * difference: table, chain, set, element, or rule by its comment; *ret_problem
 * must be NULL or a string to free, and the caller frees it); -ENOMEM.
 */
int pol_image_compare(const struct pol_image *want, const struct pol_image *have, char **ret_problem);
