/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A stack's name, as DESIGN.md ("Manifest") defines it: ^[a-z][a-z0-9-]{0,30}$.
 * Such a name is safe in a path component, a libvirt domain name, an nft
 * table name and a systemd instance name, which is why every module that
 * builds one of these from a name checks it here first.
 */
#include <stdbool.h>

#define ECL_STACK_NAME_MAX 31

/* True when s (which may be NULL) is a valid stack name. */
bool ecl_stack_name_valid(const char *s);
