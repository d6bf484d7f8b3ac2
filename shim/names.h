/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Names derived from a stack, the same in every module and every run:
 * the libvirt domain, the tap device, the nftables table, the guest MAC.
 */
#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"

#define SHIM_DOMAIN_PREFIX "ecluse-"
#define SHIM_TAP_PREFIX "ecl-"
#define SHIM_TAP_HASH_SEP "_" /* in no stack name: a long form never equals a short one */
#define SHIM_NFT_TABLE_PREFIX "ecluse-"

/* "ecluse-STACK" */
int shim_domain_name(const char *stack, char **ret);
/* "ecluse-STACK": the netdev table that holds the stack's policy */
int shim_nft_table_name(const char *stack, char **ret);
/*
 * Tap device of interface `index` (0 for now: one network per stack), at most
 * 15 characters: "ecl-STACK" when the stack name is short enough (at most 11
 * characters), otherwise "ecl-" + the first 6 characters + "_" + 4 hex
 * digits of SHA-256(stack), e.g. "ecl-a-very_3f0c".  A stack name has no
 * "_" (^[a-z][a-z0-9-]{0,30}$), so the long form of one stack is never the
 * short form of another (the long form of "abcdef-and-more" is not the short
 * form of the stack "abcdef-1a2b").
 * Index > 0 always takes a hashed form: "ecl-" + the first 5 characters +
 * "_" + 5 hex digits of SHA-256("STACK/INDEX"), e.g. "ecl-offic_1b2c3".
 * Its "_" stands at most 9 characters in, where neither form of index 0 has
 * one, so it never equals any stack's index-0 name ("office" index 1 is not
 * the stack "office1"); two of index > 0 differ but by a 20-bit hash.
 */
void shim_tap_name(const char *stack, unsigned index, char buf[static IFNAMSIZ]);
/*
 * The stack's uplink (netns.h), a veth pair named like the tap with another
 * prefix: `inner` ("ecu-...") beside the tap, where the policy forwards what
 * it accepts, and `outer` ("ecb-..."), the port on the operator's bridge.
 */
#define SHIM_UPLINK_INNER_PREFIX "ecu-"
#define SHIM_UPLINK_OUTER_PREFIX "ecb-"
void shim_uplink_names(const char *stack, char inner[static IFNAMSIZ], char outer[static IFNAMSIZ]);
/*
 * The manifest's MAC, or the first 6 bytes of SHA-256(stack) made locally
 * administered and unicast (first octet x2, x6, xa or xe).
 */
void shim_guest_mac(const struct ecl_manifest *m, uint8_t mac[static 6]);
/* The IPv6 link-local address a guest derives from its MAC (modified EUI-64, RFC 4291 appendix A). */
void shim_guest_linklocal(const uint8_t mac[static 6], uint8_t addr[static 16]);

/*
 * The DAC identity QEMU runs as under the embedded driver (qemu-id.h): uid
 * and gid SHIM_QEMU_ID_BASE + the first 20 bits of SHA-256(stack) from byte
 * 6 on, in [0x7f000000, 0x7f0fffff].  That range lies above systemd's
 * container range (up to 0x6fffffff) and below 2^31, and is in no
 * /etc/passwd or /etc/group (qemu-id.c refuses to use one that is).
 */
#define SHIM_QEMU_ID_BASE 0x7f000000u
#define SHIM_QEMU_ID_BITS 20
uid_t shim_qemu_id(const char *stack);
