/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

int shim_domain_name(const char *stack, char **ret) {
        return asprintf(ret, SHIM_DOMAIN_PREFIX "%s", stack) < 0 ? -ENOMEM : 0;
}

int shim_nft_table_name(const char *stack, char **ret) {
        return asprintf(ret, SHIM_NFT_TABLE_PREFIX "%s", stack) < 0 ? -ENOMEM : 0;
}

static void stack_digest(const char *stack, unsigned char out[static SHA256_DIGEST_LENGTH]) {
        SHA256((const unsigned char *) stack, strlen(stack), out);
}

void shim_tap_name(const char *stack, unsigned index, char buf[static IFNAMSIZ]) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        if (index > 0) {
                /* "STACK/INDEX" hashed; the '_' right after at most 5 characters of the name marks this form */
                char key[48];
                int n = snprintf(key, sizeof key, "%s/%u", stack, index);
                SHA256((const unsigned char *) key, (size_t) n, d);
                snprintf(buf, IFNAMSIZ, SHIM_TAP_PREFIX "%.5s" SHIM_TAP_HASH_SEP "%02x%02x%x", stack, d[0], d[1],
                         d[2] >> 4);
                return;
        }
        if (strlen(stack) <= IFNAMSIZ - 1 - strlen(SHIM_TAP_PREFIX)) {
                snprintf(buf, IFNAMSIZ, SHIM_TAP_PREFIX "%s", stack);
                return;
        }
        stack_digest(stack, d);
        /* '_' is in no stack name, so no short form has this shape */
        snprintf(buf, IFNAMSIZ, SHIM_TAP_PREFIX "%.6s" SHIM_TAP_HASH_SEP "%02x%02x", stack, d[0], d[1]);
}

void shim_uplink_names(const char *stack, char inner[static IFNAMSIZ], char outer[static IFNAMSIZ]) {
        char tap[IFNAMSIZ];
        shim_tap_name(stack, 0, tap);
        const char *rest = tap + strlen(SHIM_TAP_PREFIX);
        snprintf(inner, IFNAMSIZ, SHIM_UPLINK_INNER_PREFIX "%s", rest);
        snprintf(outer, IFNAMSIZ, SHIM_UPLINK_OUTER_PREFIX "%s", rest);
}

void shim_guest_mac(const struct ecl_manifest *m, uint8_t mac[static 6]) {
        if (m->has_network && m->network.has_mac) {
                memcpy(mac, m->network.mac, 6);
                return;
        }
        unsigned char d[SHA256_DIGEST_LENGTH];
        stack_digest(m->stack, d);
        /* Locally administered, unicast, 40 bits of the digest: outside every vendor's space, libvirt's 52:54:00 included. */
        memcpy(mac, d, 6);
        mac[0] = (uint8_t) ((mac[0] & 0xfc) | 0x02);
}

void shim_guest_linklocal(const uint8_t mac[static 6], uint8_t addr[static 16]) {
        memset(addr, 0, 16);
        addr[0] = 0xfe, addr[1] = 0x80;
        addr[8] = mac[0] ^ 0x02, addr[9] = mac[1], addr[10] = mac[2];
        addr[11] = 0xff, addr[12] = 0xfe;
        addr[13] = mac[3], addr[14] = mac[4], addr[15] = mac[5];
}

uid_t shim_qemu_id(const char *stack) {
        unsigned char h[SHA256_DIGEST_LENGTH];
        stack_digest(stack, h);
        /* bytes 0-5 are the MAC, 0-2 the tap's hash: take the next ones */
        uint32_t v = ((uint32_t) h[6] << 16 | (uint32_t) h[7] << 8 | h[8]) >> (24 - SHIM_QEMU_ID_BITS);
        return (uid_t) (SHIM_QEMU_ID_BASE + v);
}
