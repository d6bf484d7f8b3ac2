/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rawsend: the raw frames a hostile guest would try, sent through AF_PACKET
 * on one interface (tests/e2e/test_cut.sh; DESIGN.md invariant 2, issue 7).
 * Built static into the test guest's initramfs by tests/guest/build-guest.sh.
 *
 *   rawsend dev=eth0 ip=192.0.2.2 ip6=2001:db8::2 vendor=192.0.2.66
 *           vendor6=2001:db8::66 vendormac=02:00:00:e2:e0:66
 *           svc=192.0.2.10 svcmac=02:00:00:e2:e0:10 [rounds=4] [gap=1]
 *
 * ip/ip6 are the sender's own (allowed) addresses; its MAC is read from the
 * interface and its link-local address derived from it (EUI-64).  Every route
 * is sent once per round, rounds seconds apart.  Output (stdout), one line per
 * route, then one summary line:
 *
 *   ECLUSE-RAW ROUTE HOST DESCRIPTION     HOST: where the frame is aimed
 *   ECLUSE-RAW-DONE rounds=N frames=N errors=N
 *
 * Every frame is marked with its route: the string "ECLR" + ROUTE (six
 * bytes) in its payload, padding or an unused ARP field, and on IPv6 also the
 * flow label 0xEC0XY for route "XY" (letters a-f are hex digits).  Routes
 * about size carry the marker as the payload itself; routes about who
 * speaks to whom (b, d) keep housekeeping's shape and size, and carry it
 * only where a receiver does not look (ARP's target hardware address of a
 * gratuitous ARP, the flow label).  z1 is the allowed flow itself: it must
 * arrive, so that silence elsewhere means something.  Checksums are right
 * wherever a receiver checks them.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

typedef uint8_t mac_t[6];

/* Own, vendor's and service's addresses (sip6: only spoofed, never reached). */
static struct {
        mac_t mac, vmac, smac;
        struct in_addr ip, vip, sip;
        struct in6_addr ip6, ll6, vip6, vll6, sip6;
} c;

static const mac_t bcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const mac_t spoofmac = {0x02, 0x00, 0x00, 0xe2, 0xe0, 0x77}; /* nobody's */
static const mac_t allnodes_mac = {0x33, 0x33, 0, 0, 0, 1};
static const mac_t allrouters_mac = {0x33, 0x33, 0, 0, 0, 2};

/* A frame being built. */
struct frame {
        uint8_t b[1600];
        size_t n;
        const char *route;
};

static void put(struct frame *f, const void *p, size_t len) {
        if (f->n + len > sizeof f->b) {
                fprintf(stderr, "rawsend: frame too long\n");
                exit(1);
        }
        memcpy(f->b + f->n, p, len);
        f->n += len;
}
static void put8(struct frame *f, unsigned v) { put(f, &(uint8_t){(uint8_t) v}, 1); }
static void put16(struct frame *f, unsigned v) { put(f, &(uint16_t){htons((uint16_t) v)}, 2); }
static void put32(struct frame *f, uint32_t v) { put(f, &(uint32_t){htonl(v)}, 4); }
static void set16(struct frame *f, size_t at, unsigned v) {
        f->b[at] = (uint8_t) (v >> 8);
        f->b[at + 1] = (uint8_t) v;
}

/* LEN bytes of "ECLRxy route xy ecluse-raw " repeated. */
static void put_marker(struct frame *f, size_t len) {
        char unit[32];
        int u = snprintf(unit, sizeof unit, "ECLR%s route %s ecluse-raw ", f->route, f->route);
        for (size_t i = 0; i < len; i++)
                put8(f, (uint8_t) unit[i % (size_t) u]);
}

/* Ethernet addresses; the EtherType (or a VLAN tag first) comes next. */
static void eth_addrs(struct frame *f, const uint8_t *dst, const uint8_t *src) {
        f->n = 0;
        put(f, dst, 6);
        put(f, src, 6);
}
static void eth(struct frame *f, const uint8_t *dst, const uint8_t *src, unsigned type) {
        eth_addrs(f, dst, src);
        put16(f, type);
}

/* Internet checksum over a pseudo-header sum and DATA. */
static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len) {
        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (len & 1)
                sum += (uint32_t) (p[len - 1] << 8);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}
static uint32_t sum_bytes(const void *p, size_t len) {
        return (uint16_t) ~csum(0, p, len);
}

/* ---- IPv4 -------------------------------------------------------------- */
static size_t ip4(struct frame *f, struct in_addr src, struct in_addr dst, unsigned proto) {
        size_t at = f->n;
        put8(f, 0x45);
        put8(f, 0);
        put16(f, 0); /* total length, set by ip4_end */
        put16(f, 0x4543);
        put16(f, 0x4000); /* DF */
        put8(f, 64);
        put8(f, proto);
        put16(f, 0);
        put(f, &src, 4);
        put(f, &dst, 4);
        return at;
}
/* Lengths and checksums once the layer-4 part (at L4, checksum at L4+CSUM_AT) is written. */
static void ip4_end(struct frame *f, size_t at, size_t l4, size_t csum_at) {
        set16(f, at + 2, (unsigned) (f->n - at));
        set16(f, at + 10, csum(0, f->b + at, 20));
        uint32_t ps = sum_bytes(f->b + at + 12, 8) + f->b[at + 9] + (uint32_t) (f->n - l4);
        if (f->b[at + 9] == IPPROTO_UDP)
                set16(f, l4 + 4, (unsigned) (f->n - l4));
        set16(f, l4 + csum_at, csum(ps, f->b + l4, f->n - l4));
}

/* A TFTP read request for a file named by the marker: the vendor's TFTP
 * service logs it, so a leak shows in its request log as well. */
static void udp4_tftp(struct frame *f, const uint8_t *smac, struct in_addr src) {
        eth(f, c.vmac, smac, ETHERTYPE_IP);
        size_t at = ip4(f, src, c.vip, IPPROTO_UDP), l4 = f->n;
        put16(f, 40069);
        put16(f, 69);
        put32(f, 0); /* length, checksum */
        put16(f, 1); /* RRQ */
        put_marker(f, 24);
        put(f, "\0octet", 7);
        ip4_end(f, at, l4, 6);
}

/* A TCP SYN to the service's allowed port 443, with the marker as data. */
static void tcp4_syn(struct frame *f) {
        size_t at = ip4(f, c.ip, c.sip, IPPROTO_TCP), l4 = f->n;
        put16(f, 40443);
        put16(f, 443);
        put32(f, 0x45434c52);
        put32(f, 0);
        put16(f, 0x5002); /* data offset 5, SYN */
        put16(f, 64240);
        put32(f, 0); /* checksum, urgent pointer */
        put_marker(f, 64);
        ip4_end(f, at, l4, 16);
}

/* ---- ARP --------------------------------------------------------------- */
static void arp_head(struct frame *f, unsigned hlen, unsigned plen, unsigned op) {
        eth(f, bcast, c.mac, ETHERTYPE_ARP);
        put16(f, 1); /* Ethernet */
        put16(f, ETHERTYPE_IP);
        put8(f, hlen);
        put8(f, plen);
        put16(f, op);
}
/* ARP of the usual shape; THA NULL: the marker ("ECLRxy") stands in it. */
static void arp(struct frame *f, unsigned op, struct in_addr spa, const uint8_t *tha, struct in_addr tpa) {
        arp_head(f, 6, 4, op);
        put(f, c.mac, 6);
        put(f, &spa, 4);
        if (tha)
                put(f, tha, 6);
        else
                put_marker(f, 6);
        put(f, &tpa, 4);
}

/* ---- IPv6 and ICMPv6 --------------------------------------------------- */
static const struct in6_addr *a6(const char *s) {
        static struct in6_addr v[8];
        static int i;
        struct in6_addr *r = &v[i++ % 8];
        inet_pton(AF_INET6, s, r);
        return r;
}

static size_t ip6(struct frame *f, const struct in6_addr *src, const struct in6_addr *dst, unsigned nh,
                  unsigned hops) {
        size_t at = f->n;
        /* The flow label 0xEC0XY marks route "XY" (its letter a hex digit). */
        unsigned label = 0xEC000u | (unsigned) (f->route[0] - 'a' + 10) << 4 | (unsigned) (f->route[1] - '0');
        put32(f, 0x60000000u | label);
        put16(f, 0); /* payload length, set by ip6_end */
        put8(f, nh);
        put8(f, hops);
        put(f, src, 16);
        put(f, dst, 16);
        return at;
}
static void ip6_end(struct frame *f, size_t at, size_t csum_at) {
        size_t l4 = at + 40, len = f->n - l4;
        set16(f, at + 4, (unsigned) len);
        if (f->b[at + 6] == IPPROTO_UDP)
                set16(f, l4 + 4, (unsigned) len);
        uint32_t ps = sum_bytes(f->b + at + 8, 32) + (uint32_t) len + f->b[at + 6];
        set16(f, l4 + csum_at, csum(ps, f->b + l4, len));
}

/* Neighbour discovery, hop limit 255.  TARGET NULL: none (RS).  LLA: the
 * sender's link-layer address option (1 source, 2 target) or 0.  EXTRA:
 * bytes of an unknown option (type 253, RFC 4727) holding the marker. */
static void nd(struct frame *f, const uint8_t *edst, const struct in6_addr *src, const struct in6_addr *dst,
               unsigned type, uint32_t flags, const struct in6_addr *target, unsigned lla, size_t extra) {
        eth(f, edst, c.mac, ETHERTYPE_IPV6);
        size_t at = ip6(f, src, dst, IPPROTO_ICMPV6, 255);
        put8(f, type);
        put8(f, 0);
        put16(f, 0);
        put32(f, flags);
        if (target)
                put(f, target, 16);
        if (lla) {
                put8(f, lla);
                put8(f, 1);
                put(f, c.mac, 6);
        }
        if (extra) {
                put8(f, 253);
                put8(f, (unsigned) (extra / 8));
                put_marker(f, extra - 2);
        }
        ip6_end(f, at, 2);
}

static void udp6_tftp(struct frame *f, const struct in6_addr *src) {
        eth(f, c.vmac, c.mac, ETHERTYPE_IPV6);
        size_t at = ip6(f, src, &c.vip6, IPPROTO_UDP, 64);
        put16(f, 40069);
        put16(f, 69);
        put32(f, 0);
        put16(f, 1);
        put_marker(f, 24);
        put(f, "\0octet", 7);
        ip6_end(f, at, 6);
}

/* ---- the routes -------------------------------------------------------- */
enum { NS = 135, NA = 136, RS = 133 };
#define NA_SO 0x60000000u /* solicited, override */
#define NA_O 0x20000000u

/* One route: builds its frame into F. */
static void route(struct frame *f) {
        const char *r = f->route;
        struct in6_addr offlink = *a6("2001:db8:ffff::66"), snm = *a6("ff02::1:ff00:0");
        mac_t snm_mac = {0x33, 0x33, 0xff, c.vip6.s6_addr[13], c.vip6.s6_addr[14], c.vip6.s6_addr[15]};
        memcpy(snm.s6_addr + 13, c.vip6.s6_addr + 13, 3);
        struct in_addr other;
        inet_pton(AF_INET, "192.0.2.77", &other);

        if (!strcmp(r, "a1")) /* NS, 1400 bytes of options, unicast to the vendor */
                nd(f, c.vmac, &c.ip6, &c.vip6, NS, 0, &c.vip6, 1, 1400);
        else if (!strcmp(r, "a2")) /* the same to an off-link address, through the vendor's MAC as router */
                nd(f, c.vmac, &c.ip6, &offlink, NS, 0, &offlink, 1, 1400);
        else if (!strcmp(r, "a3")) /* the same to the vendor's solicited-node multicast group */
                nd(f, snm_mac, &c.ip6, &snm, NS, 0, &c.vip6, 1, 1400);
        else if (!strcmp(r, "a4")) /* NA for the guest's own address, 1400 bytes of options, to all nodes */
                nd(f, allnodes_mac, &c.ll6, a6("ff02::1"), NA, NA_O, &c.ip6, 2, 1400);
        else if (!strcmp(r, "a5")) /* RS with 1400 bytes of options to all routers */
                nd(f, allrouters_mac, &c.ll6, a6("ff02::2"), RS, 0, NULL, 1, 1400);
        else if (!strcmp(r, "b1")) /* a plain NS, unicast from the global address to the vendor's */
                nd(f, c.vmac, &c.ip6, &c.vip6, NS, 0, &c.vip6, 1, 0);
        else if (!strcmp(r, "b2")) /* a plain NA for the guest's own address, unicast to the vendor */
                nd(f, c.vmac, &c.ip6, &c.vip6, NA, NA_SO, &c.ip6, 2, 0);
        else if (!strcmp(r, "b3")) /* a plain RS, unicast to the vendor */
                nd(f, c.vmac, &c.ip6, &c.vip6, RS, 0, NULL, 1, 0);
        else if (!strcmp(r, "c1")) { /* a valid ARP request padded to 1500 bytes */
                arp(f, 1, c.ip, (const uint8_t[6]){0}, c.vip);
                put_marker(f, 1500 - 28);
        } else if (!strcmp(r, "c2")) { /* a valid ARP request, the 18 bytes to Ethernet's minimum marked */
                arp(f, 1, c.ip, (const uint8_t[6]){0}, c.vip);
                put_marker(f, 60 - f->n);
        } else if (!strcmp(r, "c3")) { /* hlen 32: own MAC and IP where fixed offsets look, data after */
                arp_head(f, 32, 4, 1);
                put(f, c.mac, 6);
                put(f, &c.ip, 4);
                put_marker(f, 22);
                put(f, &c.ip, 4);
                put_marker(f, 32);
                put(f, &c.vip, 4);
        } else if (!strcmp(r, "c4")) { /* plen 16 */
                arp_head(f, 6, 16, 1);
                put(f, c.mac, 6);
                put(f, &c.ip, 4);
                put_marker(f, 12);
                put(f, (const uint8_t[6]){0}, 6);
                put(f, &c.vip, 4);
                put_marker(f, 12);
        } else if (!strcmp(r, "c5")) /* exact length, opcode 255 */
                arp(f, 255, c.ip, NULL, c.vip);
        else if (!strcmp(r, "d1")) /* gratuitous ARP request claiming the vendor's address */
                arp(f, 1, c.vip, NULL, c.vip);
        else if (!strcmp(r, "d2")) /* gratuitous ARP reply claiming another address */
                arp(f, 2, other, NULL, other);
        else if (!strcmp(r, "d3")) /* unsolicited NA claiming the vendor's global address */
                nd(f, allnodes_mac, &c.ll6, a6("ff02::1"), NA, NA_O, &c.vip6, 2, 0);
        else if (!strcmp(r, "d4")) /* unsolicited NA claiming the vendor's link-local address */
                nd(f, allnodes_mac, &c.ll6, a6("ff02::1"), NA, NA_O, &c.vll6, 2, 0);
        else if (!strcmp(r, "d5")) /* NA for the guest's own address from a link-local that is not its own */
                nd(f, allnodes_mac, a6("fe80::77"), a6("ff02::1"), NA, NA_O, &c.ip6, 2, 0);
        else if (!strcmp(r, "e1")) /* UDP to the vendor, MAC and IPv4 source both spoofed */
                udp4_tftp(f, spoofmac, c.sip);
        else if (!strcmp(r, "e2")) /* own MAC, spoofed IPv4 source */
                udp4_tftp(f, c.mac, c.sip);
        else if (!strcmp(r, "e3")) /* spoofed MAC, own IPv4 source */
                udp4_tftp(f, spoofmac, c.ip);
        else if (!strcmp(r, "e4")) /* own MAC, spoofed IPv6 source */
                udp6_tftp(f, &c.sip6);
        else if (r[0] == 'f' || r[0] == 'z') { /* the allowed flow, tagged or (z1) not */
                eth_addrs(f, c.smac, c.mac);
                if (!strcmp(r, "f2")) { /* 802.1ad outer tag, 802.1Q inner */
                        put16(f, 0x88a8);
                        put16(f, 10);
                        put16(f, ETHERTYPE_VLAN);
                        put16(f, 20);
                } else if (!strcmp(r, "f1") || !strcmp(r, "f3")) {
                        put16(f, ETHERTYPE_VLAN);
                        put16(f, r[1] == '1' ? 10 : 0); /* f3: priority tag, VID 0 */
                }
                put16(f, ETHERTYPE_IP);
                tcp4_syn(f);
        }
}

static const char *const routes[][3] = {
        {"a1", "vendor", "NS with 1400 bytes of options, unicast to the vendor's global address"},
        {"a2", "vendor", "NS with 1400 bytes of options to an off-link address (vendor's MAC as router)"},
        {"a3", "vendor", "NS with 1400 bytes of options to the vendor's solicited-node group"},
        {"a4", "vendor", "NA with 1400 bytes of options to all nodes"},
        {"a5", "vendor", "RS with 1400 bytes of options to all routers"},
        {"b1", "vendor", "NS unicast to the vendor's global address (no payload)"},
        {"b2", "vendor", "NA unicast to the vendor's global address (no payload)"},
        {"b3", "vendor", "RS unicast to the vendor's global address (no payload)"},
        {"c1", "vendor", "ARP request padded to 1500 bytes"},
        {"c2", "vendor", "ARP request padded to 60 bytes with data"},
        {"c3", "vendor", "ARP with hlen 32 (own MAC and IP at the fixed offsets)"},
        {"c4", "vendor", "ARP with plen 16"},
        {"c5", "vendor", "ARP with opcode 255"},
        {"d1", "vendor", "gratuitous ARP claiming the vendor's address"},
        {"d2", "vendor", "gratuitous ARP reply claiming 192.0.2.77"},
        {"d3", "vendor", "unsolicited NA claiming the vendor's global address"},
        {"d4", "vendor", "unsolicited NA claiming the vendor's link-local address"},
        {"d5", "vendor", "NA from a link-local address not the guest's (fe80::77)"},
        {"e1", "vendor", "UDP to the vendor, spoofed source MAC and IPv4 (the service's)"},
        {"e2", "vendor", "UDP to the vendor, own MAC, spoofed source IPv4 (the service's)"},
        {"e3", "vendor", "UDP to the vendor, spoofed source MAC, own IPv4"},
        {"e4", "vendor", "UDP to the vendor over IPv6, spoofed source (the service's)"},
        {"f1", "service", "the allowed flow (TCP 443 to the service) tagged 802.1Q VID 10"},
        {"f2", "service", "the allowed flow double-tagged (802.1ad 10, 802.1Q 20)"},
        {"f3", "service", "the allowed flow priority-tagged (802.1Q VID 0)"},
        {"z1", "service", "control: the allowed flow itself, untagged, which must arrive"},
};

/* ---- main -------------------------------------------------------------- */
static void need(int ok, const char *what) {
        if (!ok) {
                printf("ECLUSE-RAW-ERROR bad or missing %s\n", what);
                exit(64);
        }
}
static int parse_mac(const char *s, uint8_t *m) {
        return s && sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6;
}
/* fe80::/64 with the EUI-64 interface identifier of MAC. */
static void link_local(const uint8_t *m, struct in6_addr *a) {
        memset(a, 0, sizeof *a);
        a->s6_addr[0] = 0xfe;
        a->s6_addr[1] = 0x80;
        const uint8_t id[8] = {(uint8_t) (m[0] ^ 2), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
        memcpy(a->s6_addr + 8, id, 8);
}

int main(int argc, char **argv) {
        const char *dev = NULL, *ip = NULL, *ip6 = NULL, *vip = NULL, *vip6 = NULL, *vmac = NULL, *sip = NULL,
                   *smac = NULL;
        int rounds = 4, gap = 1;
        for (int i = 1; i < argc; i++) {
                char *k = argv[i], *v = strchr(k, '=');
                need(v != NULL, k);
                *v++ = 0;
                if (!strcmp(k, "dev")) dev = v;
                else if (!strcmp(k, "ip")) ip = v;
                else if (!strcmp(k, "ip6")) ip6 = v;
                else if (!strcmp(k, "vendor")) vip = v;
                else if (!strcmp(k, "vendor6")) vip6 = v;
                else if (!strcmp(k, "vendormac")) vmac = v;
                else if (!strcmp(k, "svc")) sip = v;
                else if (!strcmp(k, "svcmac")) smac = v;
                else if (!strcmp(k, "rounds")) rounds = atoi(v);
                else if (!strcmp(k, "gap")) gap = atoi(v);
                else need(0, k);
        }
        need(dev && strlen(dev) < IFNAMSIZ, "dev");
        need(ip && inet_pton(AF_INET, ip, &c.ip) == 1, "ip");
        need(ip6 && inet_pton(AF_INET6, ip6, &c.ip6) == 1, "ip6");
        need(vip && inet_pton(AF_INET, vip, &c.vip) == 1, "vendor");
        need(vip6 && inet_pton(AF_INET6, vip6, &c.vip6) == 1, "vendor6");
        need(parse_mac(vmac, c.vmac), "vendormac");
        need(sip && inet_pton(AF_INET, sip, &c.sip) == 1, "svc");
        need(parse_mac(smac, c.smac), "svcmac");
        /* The service's IPv6 address, to spoof: ::10 in the vendor's /64. */
        c.sip6 = c.vip6;
        memset(c.sip6.s6_addr + 8, 0, 8);
        c.sip6.s6_addr[15] = 0x10;
        link_local(c.vmac, &c.vll6);

        int s = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only */
        if (s < 0) {
                printf("ECLUSE-RAW-ERROR no AF_PACKET socket\n");
                return 69;
        }
        struct ifreq ifr = {0};
        strcpy(ifr.ifr_name, dev);
        if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
                printf("ECLUSE-RAW-ERROR no interface %s\n", dev);
                return 69;
        }
        memcpy(c.mac, ifr.ifr_hwaddr.sa_data, 6);
        link_local(c.mac, &c.ll6);
        if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
                printf("ECLUSE-RAW-ERROR no interface %s\n", dev);
                return 69;
        }
        struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifr.ifr_ifindex, .sll_halen = 6};

        size_t nroutes = sizeof routes / sizeof routes[0];
        for (size_t i = 0; i < nroutes; i++)
                printf("ECLUSE-RAW %s %s %s\n", routes[i][0], routes[i][1], routes[i][2]);
        fflush(stdout);
        int frames = 0, errors = 0;
        for (int round = 0; round < rounds; round++) {
                if (round)
                        sleep((unsigned) gap);
                for (size_t i = 0; i < nroutes; i++) {
                        struct frame f = {.route = routes[i][0]};
                        route(&f);
                        memcpy(to.sll_addr, f.b, 6);
                        if (sendto(s, f.b, f.n, 0, (struct sockaddr *) &to, sizeof to) == (ssize_t) f.n) {
                                frames++;
                        } else {
                                errors++;
                                printf("ECLUSE-RAW-ERROR %s: send failed (%zu bytes)\n", f.route, f.n);
                        }
                }
        }
        printf("ECLUSE-RAW-DONE rounds=%d frames=%d errors=%d\n", rounds, frames, errors);
        return errors ? 1 : 0;
}
