/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* The ecluse-agent commands; each returns a sysexits status. */
#include "cli.h"
