/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Strict parsing of network values: IPv4/IPv6 addresses and networks
 * (struct ecl_cidr), port numbers and ranges, MAC addresses,
 * interface names.  Every parser returns 0 or a negative errno saying what
 * is wrong, so that the caller can word a precise message.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 network; a plain address is a /32 or /128. Host bits are zero. */
struct ecl_cidr {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16]; /* network byte order; first 4 bytes for AF_INET */
        uint8_t prefix;
};

struct ecl_port_range {
        uint16_t first;
        uint16_t last; /* == first for a single port */
};

/* "192.0.2.0/24", "2001:db8::1/128"; buf must hold ECL_CIDR_STRLEN bytes. */
#define ECL_CIDR_STRLEN 50
char *ecl_cidr_format(const struct ecl_cidr *c, char *buf, size_t size);

/* A plain address ("192.0.2.1", "2001:db8::1") as a /32 or /128. -EINVAL if malformed. */
int ecl_ip_parse(const char *s, struct ecl_cidr *ret);

/*
 * An address or network: "192.0.2.0/24", "2001:db8::/32", or a plain address
 * (full prefix).  -EINVAL malformed, -ERANGE prefix too long for the family,
 * -EADDRNOTAVAIL host bits set: then *ret holds the network with the host bits
 * cleared, for a hint.
 */
int ecl_cidr_parse(const char *s, struct ecl_cidr *ret);

/* Clear the bits beyond the prefix. */
void ecl_cidr_mask(struct ecl_cidr *c);
/* True when both have the same family, prefix and network. */
bool ecl_cidr_equal(const struct ecl_cidr *a, const struct ecl_cidr *b);

#define ECL_PORT_MIN 1
#define ECL_PORT_MAX 65535
/* A port number 1..65535 (first == last). -EINVAL malformed, -ERANGE out of range. */
int ecl_port_parse_number(int64_t n, struct ecl_port_range *ret);
/*
 * "443" or "8000-8080".  -EINVAL malformed, -ERANGE a port outside 1..65535,
 * -EDOM reversed range (first > last).
 */
int ecl_port_range_parse(const char *s, struct ecl_port_range *ret);
bool ecl_port_ranges_overlap(const struct ecl_port_range *a, const struct ecl_port_range *b);

/*
 * "52:54:00:12:34:56" (either case).  -EINVAL malformed, -EADDRNOTAVAIL a
 * multicast/broadcast address (lowest bit of the first octet set) or all zeros.
 */
int ecl_mac_parse(const char *s, uint8_t mac[static 6]);

/* A Linux interface name: 1..15 of [A-Za-z0-9_.-], not "." or "..". */
bool ecl_ifname_valid(const char *s);
