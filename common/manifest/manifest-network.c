/* SPDX-License-Identifier: Apache-2.0 */
/* The network part of the manifest: the tap's bridge, MAC, source addresses and the openings. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest-internal.h"
#include "netaddr.h"
#include "strparse.h"

static void parse_bridge(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_network *n = obj;
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return;
        if (!ecl_ifname_valid(s)) {
                _cleanup_free_ char *shown = mctx_excerpt(c, s);
                if (shown)
                        mctx_error_at(c, value, "1 to 15 letters, digits, '_', '.' or '-'",
                                      "invalid interface name '%s' for '%s'", shown, path);
                return;
        }
        n->bridge = mctx_strdup(c, s);
}

static void parse_mac(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_network *n = obj;
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return;
        int r = ecl_mac_parse(s, n->mac);
        if (r == -EINVAL)
                mctx_error_at(c, value, "six hex octets like 52:54:00:12:34:56", "invalid MAC address '%s' for '%s'",
                              shown, path);
        else if (r < 0 && strspn(s, "0:") == strlen(s))
                mctx_error_at(c, value, NULL, "'%s' must not be all zeros", path);
        else if (r < 0)
                mctx_error_at(c, value, "a guest MAC is unicast: the first octet is even, e.g. 52:54:00:12:34:56",
                              "'%s' is a multicast address: '%s'", path, shown);
        else
                n->has_mac = true;
}

/* A list of single addresses (no prefix length), no duplicates. */
static void parse_address_list(struct mctx *c, const char *path, yaml_node_t *value, size_t max, const char *what,
                               struct ecl_cidr **ret, size_t *ret_n) {
        size_t count;
        struct ecl_cidr *list = mctx_list_alloc(c, path, value, max, false, sizeof *list, &count);
        *ret = list;
        if (!list)
                return;
        *ret_n = count;
        for (size_t i = 0; i < count; i++) {
                yaml_node_t *item = mctx_item(c, value, i);
                char sub[MPATH_MAX];
                const char *s;
                mctx_itempath(sub, path, i);
                if (!mctx_scalar(c, sub, item, &s))
                        continue;
                _cleanup_free_ char *shown = mctx_excerpt(c, s);
                if (!shown)
                        return;
                struct ecl_cidr a;
                if (ecl_ip_parse(s, &a) < 0) {
                        if (strchr(s, '/'))
                                mctx_error_at(c, item, what, "'%s' must be a single address, got '%s'", sub, shown);
                        else
                                mctx_error_at(c, item, NULL, "invalid IP address '%s' for '%s'", shown, sub);
                        continue;
                }
                list[i] = a;
                for (size_t j = 0; j < i; j++)
                        if (ecl_cidr_equal(&list[j], &a)) {
                                mctx_error_at(c, item, NULL, "duplicate address '%s' in '%s'", shown, path);
                                break;
                        }
        }
}

static void parse_addresses(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_network *n = obj;
        parse_address_list(c, path, value, ECL_ADDRESSES_MAX, "the guest's own addresses, without a prefix length",
                           &n->addresses, &n->n_addresses);
}

static void parse_neighbours(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_network *n = obj;
        parse_address_list(c, path, value, ECL_ADDRESSES_MAX,
                           "on-link hosts by address, e.g. the router 192.0.2.1 or fe80::1, without a prefix length",
                           &n->neighbours, &n->n_neighbours);
}

/* ---- rules ---- */

struct rule_ctx {
        struct ecl_rule *rule;
        bool net_ok, proto_ok, ports_ok;
};

static void parse_rule_net(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct rule_ctx *rc = obj;
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return;
        struct ecl_cidr net;
        int r = ecl_cidr_parse(s, &net);
        if (r == -EINVAL)
                mctx_error_at(c, value, "an IPv4 or IPv6 address, or a network like 192.0.2.0/24 or 2001:db8::/32",
                              "invalid address or network '%s' for '%s'", shown, path);
        else if (r == -ERANGE)
                mctx_error_at(c, value, strchr(s, ':') ? "at most 128 for IPv6" : "at most 32 for IPv4",
                              "invalid prefix length in '%s' for '%s'", shown, path);
        else if (r == -EADDRNOTAVAIL) {
                char buf[ECL_CIDR_STRLEN], hint[ECL_CIDR_STRLEN + 32];
                snprintf(hint, sizeof hint, "did you mean '%s'?", ecl_cidr_format(&net, buf, sizeof buf));
                mctx_error_at(c, value, hint, "'%s' has host bits set: '%s'", path, shown);
        } else if (r < 0)
                mctx_error_at(c, value, NULL, "invalid address or network '%s' for '%s'", shown, path);
        else {
                rc->rule->net = net;
                rc->net_ok = true;
        }
}


static void parse_rule_proto(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct rule_ctx *rc = obj;
        unsigned v;
        if (mctx_enum(c, path, value, ecl_proto_names, ELEMENTSOF(ecl_proto_names), NULL, &v)) {
                rc->rule->proto = v;
                rc->proto_ok = true;
        }
}

static bool parse_port(struct mctx *c, const char *path, yaml_node_t *item, struct ecl_port_range *ret) {
        const char *s;
        if (item->type != YAML_SCALAR_NODE || ecl_yaml_is_null(item)) {
                mctx_error_at(c, item, "a port like 443 or a range like \"8000-8080\"",
                              "'%s' must be a port or a range, got %s", path, ecl_yaml_kind(item));
                return false;
        }
        if (!mctx_scalar(c, path, item, &s))
                return false;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return false;
        bool plain = item->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        int r;
        if (!plain && !strchr(s, '-'))
                r = -EINVAL; /* "443": a single port is a number, not a string */
        else
                r = ecl_port_range_parse(s, ret);
        if (r == -EINVAL && !plain && strspn(s, "0123456789") == strlen(s))
                mctx_error_at(c, item, "write a single port as a number, without quotes",
                              "invalid port '%s' for '%s'", shown, path);
        else if (r == -EINVAL)
                mctx_error_at(c, item, "a port like 443 or a range like \"8000-8080\"", "invalid port '%s' for '%s'",
                              shown, path);
        else if (r == -ERANGE)
                mctx_error_at(c, item, "ports are 1-65535", "port '%s' out of range for '%s'", shown, path);
        else if (r == -EDOM) {
                struct ecl_port_range rev;
                const char *dash = strchr(s, '-');
                char hint[64];
                int64_t first = 0, last = 0; /* ecl_port_range_parse has read both as ports */
                (void) ecl_parse_int_prefix(dash + 1, 1, UINT16_MAX, &first, NULL);
                (void) ecl_parse_int_prefix(s, 1, UINT16_MAX, &last, NULL);
                rev.first = (uint16_t) first;
                rev.last = (uint16_t) last;
                snprintf(hint, sizeof hint, "write \"%u-%u\"", rev.first, rev.last);
                mctx_error_at(c, item, hint, "reversed port range '%s' for '%s'", shown, path);
        }
        return r == 0;
}

static void parse_rule_ports(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct rule_ctx *rc = obj;
        struct ecl_rule *rule = rc->rule;
        size_t n;
        if (value->type == YAML_SCALAR_NODE && !ecl_yaml_is_null(value)) {
                mctx_error_at(c, value, "write a list, e.g. ports: [443]", "'%s' must be a list, got a scalar", path);
                return;
        }
        if (value->type == YAML_SEQUENCE_NODE && value->data.sequence.items.top == value->data.sequence.items.start) {
                mctx_error_at(c, value, "leave 'ports' out to open every port", "'%s' must not be empty", path);
                return;
        }
        rule->ports = mctx_list_alloc(c, path, value, ECL_PORTS_MAX, false, sizeof *rule->ports, &n);
        if (!rule->ports)
                return;
        bool ok = true;
        for (size_t i = 0; i < n; i++) {
                yaml_node_t *item = mctx_item(c, value, i);
                char sub[MPATH_MAX];
                if (!parse_port(c, mctx_itempath(sub, path, i), item, &rule->ports[rule->n_ports])) {
                        ok = false;
                        continue;
                }
                struct ecl_port_range *p = &rule->ports[rule->n_ports];
                for (size_t j = 0; j < rule->n_ports; j++)
                        if (ecl_port_ranges_overlap(&rule->ports[j], p)) {
                                char hint[64];
                                snprintf(hint, sizeof hint, "already opened by %u-%u", rule->ports[j].first,
                                         rule->ports[j].last);
                                if (rule->ports[j].first == rule->ports[j].last)
                                        snprintf(hint, sizeof hint, "already opened by %u", rule->ports[j].first);
                                mctx_error_at(c, item, hint, "'%s' overlaps an earlier port", sub);
                                ok = false;
                                break;
                        }
                rule->n_ports++;
        }
        rc->ports_ok = ok;
}

static void parse_rule_why(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct rule_ctx *rc = obj;
        mctx_string(c, path, value, ECL_WHY_MAX, &rc->rule->why);
}

enum { RULE_NET, RULE_PROTO, RULE_PORTS, RULE_WHY, RULE_N_KEYS };
static const char why_hint[] = "every opening is justified: say why it is needed";
static const struct mkey egress_keys[RULE_N_KEYS] = {
        [RULE_NET] = {.name = "to",
                      .required = true,
                      .missing_hint = "the destination: an address or a network",
                      .parse = parse_rule_net,
                      .mistaken = "from",
                      .mistaken_hint = "an egress rule names its destination with 'to'"},
        [RULE_PROTO] = MKEY("proto", true, "tcp, udp, icmp or icmpv6", parse_rule_proto),
        [RULE_PORTS] = MKEY("ports", false, NULL, parse_rule_ports),
        [RULE_WHY] = MKEY("why", true, why_hint, parse_rule_why),
};
static const struct mkey ingress_keys[RULE_N_KEYS] = {
        [RULE_NET] = {.name = "from",
                      .required = true,
                      .missing_hint = "the source: an address or a network",
                      .parse = parse_rule_net,
                      .mistaken = "to",
                      .mistaken_hint = "an ingress rule names its source with 'from'"},
        [RULE_PROTO] = MKEY("proto", true, "tcp, udp, icmp or icmpv6", parse_rule_proto),
        [RULE_PORTS] = MKEY("ports", false, NULL, parse_rule_ports),
        [RULE_WHY] = MKEY("why", true, why_hint, parse_rule_why),
};

static void check_rule(struct mctx *c, const char *path, const struct rule_ctx *rc, yaml_node_t **found) {
        const struct ecl_rule *rule = rc->rule;
        if (!rc->proto_ok)
                return;
        bool icmp = rule->proto == ECL_PROTO_ICMP || rule->proto == ECL_PROTO_ICMPV6;
        if (icmp && found[RULE_PORTS])
                mctx_error_at(c, found[RULE_PORTS], "ICMP has no ports", "'%s.ports' is not allowed with proto %s",
                              path, ecl_proto_to_string(rule->proto));
        if (!rc->net_ok)
                return;
        char buf[ECL_CIDR_STRLEN];
        if (rule->proto == ECL_PROTO_ICMP && rule->net.family == AF_INET6)
                mctx_error_at(c, found[RULE_PROTO], "use icmpv6 for IPv6", "proto icmp does not match the IPv6 network '%s' in '%s'",
                              ecl_cidr_format(&rule->net, buf, sizeof buf), path);
        else if (rule->proto == ECL_PROTO_ICMPV6 && rule->net.family == AF_INET)
                mctx_error_at(c, found[RULE_PROTO], "use icmp for IPv4", "proto icmpv6 does not match the IPv4 network '%s' in '%s'",
                              ecl_cidr_format(&rule->net, buf, sizeof buf), path);
}

static void parse_rules(struct mctx *c, const char *path, yaml_node_t *value, const struct mkey *keys,
                        struct ecl_rule **ret, size_t *n_ret) {
        size_t n;
        *ret = mctx_list_alloc(c, path, value, ECL_RULES_MAX, true, sizeof **ret, &n);
        if (!*ret)
                return;
        *n_ret = n;
        for (size_t i = 0; i < n && !c->gave_up; i++) {
                yaml_node_t *item = mctx_item(c, value, i);
                struct rule_ctx rc = {.rule = &(*ret)[i]};
                yaml_node_t *found[RULE_N_KEYS];
                char sub[MPATH_MAX];
                rc.rule->pos = ecl_yaml_pos(item);
                if (mctx_mapping(c, mctx_itempath(sub, path, i), ecl_yaml_pos(item), item, keys, RULE_N_KEYS, &rc,
                                 found))
                        check_rule(c, sub, &rc, found);
        }
}

static void parse_egress(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_network *n = obj;
        parse_rules(c, path, value, egress_keys, &n->egress, &n->n_egress);
}

static void parse_ingress(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_network *n = obj;
        parse_rules(c, path, value, ingress_keys, &n->ingress, &n->n_ingress);
}

static const struct mkey network_keys[] = {
        MKEY("bridge", false, NULL, parse_bridge),
        MKEY("mac", false, NULL, parse_mac),
        MKEY("addresses", true,
             "the guest's own addresses, e.g. [192.0.2.2]: the tap admits no other source, so a guest cannot "
             "claim a neighbour's",
             parse_addresses),
        MKEY("neighbours", false, NULL, parse_neighbours),
        MKEY("egress", false, NULL, parse_egress),
        MKEY("ingress", false, NULL, parse_ingress),
};

void mctx_parse_network(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        struct ecl_manifest *m = obj;
        if (mctx_mapping(c, path, ecl_yaml_pos(key), value, network_keys, ELEMENTSOF(network_keys), &m->network,
                         NULL))
                m->has_network = true;
}
