/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Cleanup helpers for libvirt's types, in one place for every module that talks to libvirt. */
#include <libvirt/libvirt.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainPtr, virDomainFree)
DEFINE_TRIVIAL_CLEANUP_FUNC(virConnectPtr, virConnectClose)
#define _cleanup_virt_domain_ _cleanup_(virDomainFreep)
#define _cleanup_virt_connect_ _cleanup_(virConnectClosep)
