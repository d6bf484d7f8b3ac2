/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image parsers (shim/policy-image.c) on arbitrary text: as the load's
 * debug output of a small table, and as a listing of it (what the kernel holds
 * is partly up to whoever can change it), each compared with the other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy-image-compare.h"
#include "policy-image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *types[] = {"ipv4_addr", "inet_proto", "inet_service"};

static const char load_debug[] = "out4_0 ecluse-t 4\n"
                                 "out4_0 ecluse-t 0\n"
                                 "\telement 00000000  : 1 [end]\telement 0100630a  : 0 [end]\n"
                                 "__set%d ecluse-t 3 size 2\n"
                                 "__set%d ecluse-t 0\n"
                                 "\telement 00000008  : 0 [end]\n"
                                 "netdev ecluse-t guest_out\n"
                                 "  [ lookup reg 1 set __set%d ]\n"
                                 "  [ lookup reg 1 set out4_0 ]\n"
                                 "  [ counter pkts 0 bytes 0 ]\n"
                                 "  userdata = { \\x00\\x09ecluse 1\\x00 }\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        struct pol_set sets[2] = {{.name = "out4_0", .type = {types[0]}, .n_type = 1, .flags = PSF_INTERVAL},
                                  {.name = "grant_out4",
                                   .type = {types[0], types[1], types[2]},
                                   .n_type = 3,
                                   .flags = PSF_INTERVAL | PSF_TIMEOUT,
                                   .counter = true}};
        struct pol_chain chains[1] = {{.name = "guest_out", .hook = "ingress", .prio = -500, .policy_drop = true}};
        struct pol_table t = {.name = "ecluse-t", .device = "ecl-t", .uplink = "ecu-t", .sets = sets, .n_sets = 2,
                              .chains = chains, .n_chains = 1};
        struct pol_image *want = NULL, *fuzzed = NULL, *have = NULL;
        char *problem = NULL;
        if (pol_image_expect(&t, load_debug, &want, NULL) < 0)
                abort(); /* the fixed sample parses */
        if (pol_image_parse_listing(want, s, &have, NULL) == 0) {
                if (pol_image_compare(want, have, &problem) == -ESRCH && !problem)
                        abort();
                free(problem), problem = NULL;
        }
        if (pol_image_expect(&t, s, &fuzzed, NULL) == 0) {
                if (pol_image_compare(fuzzed, want, &problem) == -ESRCH && !problem)
                        abort();
                free(problem);
        }
        pol_image_free(want);
        pol_image_free(fuzzed);
        pol_image_free(have);
        free(s);
        return 0;
}
