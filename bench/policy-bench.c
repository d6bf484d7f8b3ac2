/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helper of bench/policy-load.sh and bench/policy-throughput.sh (not a test):
 * builds a manifest for stack "bench" with N egress entries and loads it
 * through shim_policy_load, on the tap "ecl-bench" that the script made.
 *
 *   policy-bench load N RUNS        time RUNS loads (each replaces the last), print ms per run
 *   policy-bench apply N ADDR PORT  load once, with ADDR tcp PORT allowed (last in the manifest)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

static struct ecl_port_range port_sets[][2] = {
        {{443, 443}, {0, 0}}, {{80, 80}, {443, 443}}, {{8000, 8080}, {0, 0}}, {{22, 22}, {0, 0}},
        {{53, 53}, {0, 0}},   {{5432, 5432}, {0, 0}}, {{636, 636}, {389, 389}}, {{9000, 9100}, {0, 0}},
};

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* n entries: mostly IPv4 hosts and /24s, one in ten IPv6, eight kinds of port lists. */
static struct ecl_rule *entries(size_t n, const char *extra_addr, unsigned extra_port, size_t *ret_n) {
        struct ecl_rule *r = calloc(n + 1, sizeof *r);
        if (!r)
                abort();
        for (size_t i = 0; i < n; i++) {
                size_t k = i % 8;
                r[i].proto = k == 4 ? ECL_PROTO_UDP : ECL_PROTO_TCP;
                r[i].ports = port_sets[k];
                r[i].n_ports = port_sets[k][1].first ? 2 : 1;
                if (i % 10 == 9) {
                        r[i].net.family = AF_INET6;
                        r[i].net.addr[0] = 0x20, r[i].net.addr[1] = 0x01, r[i].net.addr[2] = 0x0d, r[i].net.addr[3] = 0xb8;
                        r[i].net.addr[14] = (uint8_t) (i >> 8), r[i].net.addr[15] = (uint8_t) i;
                        r[i].net.prefix = 128;
                } else {
                        r[i].net.family = AF_INET;
                        r[i].net.addr[0] = 10, r[i].net.addr[1] = (uint8_t) (100 + (i >> 16));
                        r[i].net.addr[2] = (uint8_t) (i >> 8), r[i].net.addr[3] = (uint8_t) i;
                        r[i].net.prefix = 32;
                        if (i % 10 == 3) {
                                r[i].net.addr[1] = (uint8_t) (200 + (i >> 16)), r[i].net.addr[3] = 0;
                                r[i].net.prefix = 24;
                        }
                }
        }
        *ret_n = n;
        if (extra_addr) {
                static struct ecl_port_range p;
                p.first = p.last = (uint16_t) extra_port;
                r[n].net.family = AF_INET;
                if (inet_pton(AF_INET, extra_addr, r[n].net.addr) != 1)
                        abort();
                r[n].net.prefix = 32;
                r[n].proto = ECL_PROTO_TCP;
                r[n].ports = &p;
                r[n].n_ports = 1;
                *ret_n = n + 1;
        }
        return r;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        if (argc < 4) {
                fprintf(stderr, "usage: policy-bench load N RUNS | apply N ADDR PORT\n");
                return 64;
        }
        size_t n = strtoul(argv[2], NULL, 10);
        struct ecl_manifest m = {.stack = (char *) "bench", .has_network = true};
        struct ecl_cidr guest[1] = {{.family = AF_INET, .addr = {10, 99, 0, 2}, .prefix = 32}};
        m.network.addresses = guest;
        m.network.n_addresses = 1;
        m.network.has_mac = true;
        memcpy(m.network.mac, "\x52\x54\x00\x00\xbe\x01", 6);
        if (strcmp(argv[1], "load") == 0) {
                int runs = atoi(argv[3]);
                m.network.egress = entries(n, NULL, 0, &m.network.n_egress);
                double *t = calloc((size_t) runs, sizeof *t);
                for (int i = 0; i < runs; i++) {
                        double a = now_ms();
                        if (shim_policy_load(&m, NULL) < 0)
                                return 69;
                        t[i] = now_ms() - a;
                        printf("load %zu entries: %.1f ms\n", m.network.n_egress, t[i]);
                }
                /* verify as the supervisor does it, against what the load sent; then rebuilt from the manifest */
                struct pol_image *img = NULL;
                if (shim_policy_load_image(&m, &img, NULL) < 0)
                        return 69;
                char *problem = NULL;
                double *v = calloc((size_t) runs, sizeof *v);
                for (int i = 0; i < runs; i++) {
                        double a = now_ms();
                        if (shim_policy_verify_image(&m, img, &problem) < 0) {
                                fprintf(stderr, "verify: %s\n", problem ? problem : "?");
                                return 69;
                        }
                        v[i] = now_ms() - a;
                        printf("verify (the load's image): %.1f ms\n", v[i]);
                }
                shim_policy_image_free(img);
                double a = now_ms();
                if (shim_policy_verify(&m, &problem) < 0) {
                        fprintf(stderr, "verify: %s\n", problem ? problem : "?");
                        return 69;
                }
                printf("verify (image rebuilt from the manifest): %.1f ms\n", now_ms() - a);
                qsort(v, (size_t) runs, sizeof *v, cmp_double);
                printf("median verify (the load's image): %.1f ms\n", v[runs / 2]);
                free(v);
                qsort(t, (size_t) runs, sizeof *t, cmp_double);
                printf("median load: %.1f ms\n", t[runs / 2]);
                free(t);
        } else if (strcmp(argv[1], "apply") == 0 && argc == 5) {
                m.network.egress = entries(n, argv[3], (unsigned) atoi(argv[4]), &m.network.n_egress);
                if (shim_policy_load(&m, NULL) < 0)
                        return 69;
        } else {
                fprintf(stderr, "usage: policy-bench load N RUNS | apply N ADDR PORT\n");
                return 64;
        }
        free(m.network.egress);
        return 0;
}
