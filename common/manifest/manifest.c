/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest model: freeing and formatting.  Loading is in manifest-load.c. */
#include <stdlib.h>

#include "manifest-internal.h"
#include "strutil.h"

static void rules_free(struct ecl_rule *rules, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rules[i].ports);
                free(rules[i].why);
        }
        free(rules);
}

void ecl_manifest_free(struct ecl_manifest *m) {
        if (!m)
                return;
        free(m->file);
        free(m->stack);
        free(m->licensor);
        free(m->vm.kernel);
        free(m->vm.initrd);
        free(m->vm.cmdline);
        for (size_t i = 0; i < m->vm.n_disks; i++)
                free(m->vm.disks[i].path);
        free(m->vm.disks);
        free(m->network.bridge);
        free(m->network.addresses);
        free(m->network.neighbours);
        rules_free(m->network.egress, m->network.n_egress);
        rules_free(m->network.ingress, m->network.n_ingress);
        free(m->health_console);
        free(m);
}

/* The one spelling of each enum value, for parsing and for printing. */
const char *const ecl_proto_names[ECL_PROTO_ICMPV6 + 1] = {
        [ECL_PROTO_TCP] = "tcp", [ECL_PROTO_UDP] = "udp", [ECL_PROTO_ICMP] = "icmp", [ECL_PROTO_ICMPV6] = "icmpv6"};
const char *const ecl_accel_names[ECL_ACCEL_TCG + 1] = {
        [ECL_ACCEL_AUTO] = "auto", [ECL_ACCEL_KVM] = "kvm", [ECL_ACCEL_TCG] = "tcg"};
const char *const ecl_console_names[ECL_CONSOLE_NONE + 1] = {[ECL_CONSOLE_LOG] = "log", [ECL_CONSOLE_NONE] = "none"};
const char *const ecl_disk_format_names[ECL_DISK_RAW + 1] = {[ECL_DISK_QCOW2] = "qcow2", [ECL_DISK_RAW] = "raw"};

const char *ecl_proto_to_string(enum ecl_proto p) {
        return ECL_ENUM_NAME(ecl_proto_names, p) ?: "?";
}

const char *ecl_accel_to_string(enum ecl_accel a) {
        return ECL_ENUM_NAME(ecl_accel_names, a) ?: "?";
}

const char *ecl_console_to_string(enum ecl_console c) {
        return ECL_ENUM_NAME(ecl_console_names, c) ?: "?";
}

const char *ecl_disk_format_to_string(enum ecl_disk_format f) {
        return ECL_ENUM_NAME(ecl_disk_format_names, f) ?: "?";
}
