/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest model: freeing and formatting.  Loading is in manifest-load.c. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "manifest.h"

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
        free(m);
}

const char *ecl_proto_to_string(enum ecl_proto p) {
        switch (p) {
        case ECL_PROTO_TCP:
                return "tcp";
        case ECL_PROTO_UDP:
                return "udp";
        case ECL_PROTO_ICMP:
                return "icmp";
        case ECL_PROTO_ICMPV6:
                return "icmpv6";
        }
        return "?";
}

const char *ecl_accel_to_string(enum ecl_accel a) {
        switch (a) {
        case ECL_ACCEL_AUTO:
                return "auto";
        case ECL_ACCEL_KVM:
                return "kvm";
        case ECL_ACCEL_TCG:
                return "tcg";
        }
        return "?";
}

const char *ecl_console_to_string(enum ecl_console c) {
        switch (c) {
        case ECL_CONSOLE_LOG:
                return "log";
        case ECL_CONSOLE_NONE:
                return "none";
        }
        return "?";
}

const char *ecl_disk_format_to_string(enum ecl_disk_format f) {
        switch (f) {
        case ECL_DISK_QCOW2:
                return "qcow2";
        case ECL_DISK_RAW:
                return "raw";
        }
        return "?";
}

char *ecl_cidr_format(const struct ecl_cidr *c, char *buf, size_t size) {
        char addr[INET6_ADDRSTRLEN];
        if (!inet_ntop(c->family, c->addr, addr, sizeof addr))
                return NULL;
        if (snprintf(buf, size, "%s/%u", addr, c->prefix) >= (int) size)
                return NULL;
        return buf;
}
