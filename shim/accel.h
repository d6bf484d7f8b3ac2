/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Choosing the accelerator of `vm.accel` (DESIGN.md): `auto` probes KVM with
 * a bounded check and falls back to TCG with a warning, because /dev/kvm can
 * exist on hosts where guests hang (nested virtualisation gone wrong).
 *
 * The probe runs in a forked child: open the device, KVM_GET_API_VERSION,
 * KVM_CREATE_VM, one page of guest memory holding a few real-mode
 * instructions (a loop of ten million iterations, then mov al,0x42;
 * out 0x10,al; hlt), one vCPU, KVM_RUN, and it must see the port write of
 * 0x42 and then the halt.  A child that does not answer within the timeout
 * is killed and the probe fails.  The loop is what catches the host where
 * /dev/kvm opens and runs guests, but so slowly (every instruction trapped)
 * that they seem to hang: healthy KVM finishes it in milliseconds, that host
 * needs about ten seconds.
 *
 * ECLUSE_ACCEL_PROBE_DEV overrides the device path (tests point it at a
 * file that does not exist).
 */
#include <stdbool.h>

#include "manifest.h"

#define SHIM_ACCEL_PROBE_TIMEOUT_MS 2000
#define SHIM_ACCEL_PROBE_DEV_ENV "ECLUSE_ACCEL_PROBE_DEV"

/*
 * Run the probe.  0 when KVM ran the test guest; otherwise a negative errno
 * and *ret_reason (if not NULL) says why in a few words, e.g. "/dev/kvm: No
 * such file or directory" or "KVM_RUN did not return within 2000 ms".
 * A timeout of 0 fails at once (-ETIMEDOUT).  Logs nothing.
 */
int shim_accel_probe_kvm(unsigned timeout_ms, char **ret_reason);

/*
 * Resolve the wanted accelerator into kvm or tcg:
 *   auto: kvm if the probe passes, else tcg and *ret_reason =
 *         "accel: auto: KVM unusable (...), falling back to TCG", a warning
 *         for the caller to print;
 *   kvm:  kvm if the probe passes, else -ENODEV and *ret_reason =
 *         "accel: kvm asked for, but KVM is unusable (...)"
 *         (ecl_exit_status(-ENODEV) is 69);
 *   tcg:  tcg, no probe.
 * *ret_reason (optional, caller frees) is NULL when there is nothing to say.
 * Logs nothing.
 */
int shim_accel_resolve(enum ecl_accel wanted, unsigned timeout_ms, enum ecl_accel *ret, char **ret_reason);
