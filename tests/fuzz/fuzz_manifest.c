/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the manifest loader and validator: any input must
 * either load into a model whose every value is in range, or fail with at
 * least one well-formed one-line diagnostic; nothing may crash, leak or hang.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-diags.h"
#include "manifest.h"
#include "netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_model(const struct ecl_manifest *m) {
        char buf[ECL_CIDR_STRLEN];
        if (m->version != ECL_MANIFEST_VERSION || !m->stack || !m->licensor || strlen(m->stack) > ECL_STACK_NAME_MAX)
                abort();
        if (m->vm.vcpus < 1 || m->vm.vcpus > ECL_VCPUS_MAX || m->vm.memory_mib < ECL_MEMORY_MIB_MIN ||
            m->vm.memory_mib > ECL_MEMORY_MIB_MAX)
                abort();
        if (!m->vm.kernel && (m->vm.n_disks == 0 || m->vm.initrd || m->vm.cmdline))
                abort();
        for (size_t i = 0; i < m->vm.n_disks; i++)
                if (!m->vm.disks[i].path || m->vm.disks[i].path[0] != '/')
                        abort();
        if (m->updates_quorum < 1 || m->updates_quorum > ECL_QUORUM_MAX || m->access_quorum < 1 ||
            m->access_quorum > ECL_QUORUM_MAX || m->access_max_duration_s == 0 ||
            m->access_max_duration_s > ECL_ACCESS_MAX_DURATION_LIMIT_S)
                abort();
        if (m->health_timeout_s < 1 || m->health_timeout_s > ECL_HEALTH_TIMEOUT_MAX_S ||
            (m->health_console && (!*m->health_console || strlen(m->health_console) > ECL_HEALTH_CONSOLE_MAX)))
                abort();
        if (m->network.has_mac && (m->network.mac[0] & 1))
                abort();
        /* A network always names the guest's own addresses; both lists are of single, distinct addresses. */
        if (m->has_network && m->network.n_addresses == 0)
                abort();
        const struct ecl_cidr *addrs[2] = {m->network.addresses, m->network.neighbours};
        size_t n_addrs[2] = {m->network.n_addresses, m->network.n_neighbours};
        for (size_t l = 0; l < 2; l++) {
                if (n_addrs[l] > ECL_ADDRESSES_MAX || (n_addrs[l] && !addrs[l]))
                        abort();
                for (size_t i = 0; i < n_addrs[l]; i++) {
                        const struct ecl_cidr *a = &addrs[l][i];
                        if (!ecl_cidr_format(a, buf, sizeof buf) ||
                            a->prefix != (a->family == AF_INET ? 32 : 128))
                                abort();
                        for (size_t j = 0; j < i; j++)
                                if (ecl_cidr_equal(&addrs[l][j], a))
                                        abort();
                }
        }
        const struct ecl_rule *lists[2] = {m->network.egress, m->network.ingress};
        size_t counts[2] = {m->network.n_egress, m->network.n_ingress};
        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        const struct ecl_rule *r = &lists[l][i];
                        if (!r->why || !*r->why || !ecl_cidr_format(&r->net, buf, sizeof buf))
                                abort();
                        bool icmp = r->proto == ECL_PROTO_ICMP || r->proto == ECL_PROTO_ICMPV6;
                        if (icmp && r->n_ports)
                                abort();
                        if ((r->proto == ECL_PROTO_ICMP && r->net.family != AF_INET) ||
                            (r->proto == ECL_PROTO_ICMPV6 && r->net.family != AF_INET6))
                                abort();
                        for (size_t p = 0; p < r->n_ports; p++)
                                if (r->ports[p].first < 1 || r->ports[p].first > r->ports[p].last)
                                        abort();
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ecl_diags d = {0};
        struct ecl_manifest *m = NULL;
        int r = ecl_manifest_load_buffer("fuzz.yaml", (const char *) data, size, &m, &d);
        if (fuzz_parsed(r, m, &d, "fuzz.yaml", ECL_MANIFEST_MAX_ERRORS + 1)) {
                check_model(m);
                ecl_manifest_free(m);
        }
        ecl_diags_clear(&d);
        return 0;
}
