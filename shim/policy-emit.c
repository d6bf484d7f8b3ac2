/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two emitters of the intermediate rule list: libnftables JSON (built with
 * jansson, never by pasting strings) for loading, nft text for display.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-emit.h"
#include "policy-ir.h"

static const struct {
        const char *text;  /* nft syntax */
        const char *proto; /* JSON payload protocol, NULL for meta (or raw) */
        const char *field; /* JSON payload field or meta key */
        const char *raw_base; /* raw payload: "th" or "nh" ... */
        int raw_off, raw_len;  /* ... offset and length in bits */
        uint32_t mask;         /* compared after "& mask" */
        bool exthdr;           /* an IPv6 extension header field: proto is its name */
} fields[] = {
        [PF_ETHER_SADDR] = {.text = "ether saddr", .proto = "ether", .field = "saddr"},
        [PF_ETHER_DADDR] = {.text = "ether daddr", .proto = "ether", .field = "daddr"},
        [PF_ETHER_TYPE] = {.text = "ether type", .proto = "ether", .field = "type"},
        [PF_META_PROTOCOL] = {.text = "meta protocol", .field = "protocol"},
        [PF_META_L4PROTO] = {.text = "meta l4proto", .field = "l4proto"},
        [PF_ARP_SADDR_ETHER] = {.text = "arp saddr ether", .proto = "arp", .field = "saddr ether"},
        [PF_ARP_SADDR_IP] = {.text = "arp saddr ip", .proto = "arp", .field = "saddr ip"},
        [PF_IP_SADDR] = {.text = "ip saddr", .proto = "ip", .field = "saddr"},
        [PF_IP_DADDR] = {.text = "ip daddr", .proto = "ip", .field = "daddr"},
        [PF_IP6_SADDR] = {.text = "ip6 saddr", .proto = "ip6", .field = "saddr"},
        [PF_IP6_DADDR] = {.text = "ip6 daddr", .proto = "ip6", .field = "daddr"},
        [PF_IP6_HOPLIMIT] = {.text = "ip6 hoplimit", .proto = "ip6", .field = "hoplimit"},
        [PF_ICMPV6_TYPE] = {.text = "icmpv6 type", .proto = "icmpv6", .field = "type"},
        [PF_TH_SPORT] = {.text = "th sport", .proto = "th", .field = "sport"},
        [PF_TH_DPORT] = {.text = "th dport", .proto = "th", .field = "dport"},
        [PF_META_LEN] = {.text = "meta length", .field = "length"},
        [PF_META_MARK] = {.text = "meta mark", .field = "mark"},
        [PF_ARP_HTYPE] = {.text = "arp htype", .proto = "arp", .field = "htype"},
        [PF_ARP_PTYPE] = {.text = "arp ptype", .proto = "arp", .field = "ptype"},
        [PF_ARP_HLEN] = {.text = "arp hlen", .proto = "arp", .field = "hlen"},
        [PF_ARP_PLEN] = {.text = "arp plen", .proto = "arp", .field = "plen"},
        [PF_ARP_OP] = {.text = "arp operation", .proto = "arp", .field = "operation"},
        [PF_ARP_DADDR_ETHER] = {.text = "arp daddr ether", .proto = "arp", .field = "daddr ether"},
        [PF_ARP_DADDR_IP] = {.text = "arp daddr ip", .proto = "arp", .field = "daddr ip"},
        [PF_IP_FRAGOFF] = {.text = "ip frag-off & 0x1fff", .proto = "ip", .field = "frag-off", .mask = 0x1fff},
        [PF_IP6_NEXTHDR] = {.text = "ip6 nexthdr", .proto = "ip6", .field = "nexthdr"},
        [PF_IP6_FRAGOFF] = {.text = "frag frag-off", .proto = "frag", .field = "frag-off", .exthdr = true},
        [PF_ICMP_TYPE] = {.text = "icmp type", .proto = "icmp", .field = "type"},
        [PF_ICMP_CODE] = {.text = "icmp code", .proto = "icmp", .field = "code"},
        [PF_ICMPV6_CODE] = {.text = "icmpv6 code", .proto = "icmpv6", .field = "code"},
        [PF_TCP_CTL] = {.text = "tcp flags & 0x7", .proto = "tcp", .field = "flags", .mask = 0x7},
        [PF_TH_WORD1] = {.text = "@th,32,32", .raw_base = "th", .raw_off = 32, .raw_len = 32},
        [PF_ND_TARGET] = {.text = "@th,64,128", .raw_base = "th", .raw_off = 64, .raw_len = 128},
        [PF_ND_OPT_HDR] = {.text = "@th,192,16", .raw_base = "th", .raw_off = 192, .raw_len = 16},
        [PF_ND_OPT_MAC] = {.text = "@th,208,48", .raw_base = "th", .raw_off = 208, .raw_len = 48},
        [PF_RS_OPT_HDR] = {.text = "@th,64,16", .raw_base = "th", .raw_off = 64, .raw_len = 16},
        [PF_RS_OPT_MAC] = {.text = "@th,80,48", .raw_base = "th", .raw_off = 80, .raw_len = 48},
        [PF_ICMP_INNER_VIHL] = {.text = "@th,64,8", .raw_base = "th", .raw_off = 64, .raw_len = 8},
        [PF_ICMP_INNER_PROTO] = {.text = "@th,136,8", .raw_base = "th", .raw_off = 136, .raw_len = 8},
        [PF_ICMPV6_INNER_NEXT] = {.text = "@th,112,8", .raw_base = "th", .raw_off = 112, .raw_len = 8},
        [PF_ICMP_INNER_SADDR] = {.text = "@th,160,32", .raw_base = "th", .raw_off = 160, .raw_len = 32},
        [PF_ICMP_INNER_DADDR] = {.text = "@th,192,32", .raw_base = "th", .raw_off = 192, .raw_len = 32},
        [PF_ICMPV6_INNER_SADDR] = {.text = "@th,128,128", .raw_base = "th", .raw_off = 128, .raw_len = 128},
        [PF_ICMPV6_INNER_DADDR] = {.text = "@th,256,128", .raw_base = "th", .raw_off = 256, .raw_len = 128},
        [PF_ARP_PAD1] = {.text = "@nh,224,128", .raw_base = "nh", .raw_off = 224, .raw_len = 128},
        [PF_ARP_PAD2] = {.text = "@nh,352,16", .raw_base = "nh", .raw_off = 352, .raw_len = 16},
        [PF_IP6_VTCFL] = {.text = "@nh,0,32", .raw_base = "nh", .raw_off = 0, .raw_len = 32},
        [PF_IP6_LENGTH] = {.text = "ip6 length", .proto = "ip6", .field = "length"},
        [PF_ETHER_SRC_GROUP] = {.text = "@ll,48,8 & 0x1", .raw_base = "ll", .raw_off = 48, .raw_len = 8, .mask = 0x1},
        [PF_ETHER_DST_OUI] = {.text = "@ll,0,24", .raw_base = "ll", .raw_off = 0, .raw_len = 24},
        [PF_IP_HDRLENGTH] = {.text = "ip hdrlength", .proto = "ip", .field = "hdrlength"},
        [PF_IP6_FRAG_NEXT] = {.text = "frag nexthdr", .proto = "frag", .field = "nexthdr", .exthdr = true},
        [PF_ICMP_UNUSED] = {.text = "@th,32,16", .raw_base = "th", .raw_off = 32, .raw_len = 16},
};

/* The first `bits` bits of b (a multiple of 8) as 0x..., with the bits past `prefix` set to `fill`. */
static void hex_bits(const uint8_t b[static 16], unsigned bits, unsigned prefix, bool fill, char out[static 35]) {
        static const char digit[] = "0123456789abcdef"; /* not snprintf: 10,000 networks make 40,000 of these */
        out[0] = '0', out[1] = 'x';
        for (unsigned i = 0; i < bits / 8; i++) {
                uint8_t v = b[i];
                if (prefix < (i + 1) * 8) {
                        unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
                        uint8_t m = (uint8_t) (keep ? 0xff << (8 - keep) : 0);
                        v = fill ? (uint8_t) (v | ~m) : (uint8_t) (v & m);
                }
                out[2 + 2 * i] = digit[v >> 4];
                out[3 + 2 * i] = digit[v & 0xf];
        }
        out[2 + bits / 8 * 2] = '\0';
}

/* A PV_HEX value of a field `bits` wide: one number, or lo and hi of a range. */
static bool hex_val(const struct pol_val *v, unsigned bits, char lo[static 35], char hi[static 35]) {
        unsigned prefix = v->cidr.prefix; /* 0: every value (a ::/0 network) */
        if (prefix > bits)
                prefix = bits;
        hex_bits(v->cidr.addr, bits, prefix, false, lo);
        hex_bits(v->cidr.addr, bits, prefix, true, hi);
        return prefix < bits;
}

/* ---- text ---- */

struct out {
        char *buf;
        size_t len;
        FILE *f;
};

static int val_text(FILE *f, const struct pol_val *v, unsigned bits) {
        char a[INET6_ADDRSTRLEN];
        switch (v->kind) {
        case PV_MAC:
                fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x", v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4],
                        v->mac[5]);
                return 0;
        case PV_CIDR:
                if (!inet_ntop(v->cidr.family, v->cidr.addr, a, sizeof a))
                        return -EINVAL;
                if (v->cidr.prefix == (v->cidr.family == AF_INET ? 32 : 128))
                        fputs(a, f);
                else
                        fprintf(f, "%s/%u", a, v->cidr.prefix);
                return 0;
        case PV_NUM:
                fprintf(f, "%u", v->lo);
                return 0;
        case PV_RANGE:
                fprintf(f, "%u-%u", v->lo, v->hi);
                return 0;
        case PV_SYM:
                fputs(v->sym, f);
                return 0;
        case PV_HEX: {
                char lo[35], hi[35];
                if (hex_val(v, bits, lo, hi))
                        fprintf(f, "%s-%s", lo, hi);
                else
                        fputs(lo, f);
                return 0;
        }
        }
        return -EINVAL;
}

/* The width of a key for raw values: its only field's raw length. */
static unsigned key_bits(const struct pol_key *k) {
        return k->n == 1 && fields[k->f[0]].raw_len ? (unsigned) fields[k->f[0]].raw_len : 128;
}

static void key_text(FILE *f, const struct pol_key *k) {
        for (size_t i = 0; i < k->n; i++)
                fprintf(f, "%s%s", i ? " . " : "", fields[k->f[i]].text);
}

static int stmt_text(FILE *f, const struct pol_stmt *s) {
        int r = 0;
        switch (s->kind) {
        case PS_MATCH:
                key_text(f, &s->key);
                /* After "& mask" nft needs the operator spelled out. */
                fputs(s->negate ? " != " : s->key.n == 1 && fields[s->key.f[0]].mask ? " == " : " ", f);
                if (s->rhs == PR_VALUE)
                        r = val_text(f, &s->val, key_bits(&s->key));
                else if (s->rhs == PR_SET_REF)
                        fprintf(f, "@%s", s->set);
                else {
                        fputs("{ ", f);
                        for (size_t i = 0; i < s->n_vals && r >= 0; i++) {
                                if (i)
                                        fputs(", ", f);
                                r = val_text(f, &s->vals[i], key_bits(&s->key));
                        }
                        fputs(" }", f);
                }
                return r;
        case PS_SET:
                fprintf(f, "%s @%s { ", s->update ? "update" : "add", s->set);
                key_text(f, &s->key);
                if (s->timeout_s)
                        fprintf(f, " timeout %us", s->timeout_s);
                fputs(" }", f);
                return 0;
        case PS_COUNTER:
                fputs("counter", f);
                return 0;
        case PS_MARK:
                fprintf(f, "meta mark set 0x%08x", s->mark);
                return 0;
        case PS_LIMIT:
                fprintf(f, "limit rate %u/second burst %u packets", s->rate, s->burst);
                return 0;
        case PS_VERDICT:
                if (streq(s->verdict, "fwd")) {
                        fprintf(f, "fwd to \"%s\"", s->target);
                        return 0;
                }
                fputs(s->verdict, f);
                if (s->target[0])
                        fprintf(f, " %s", s->target);
                return 0;
        }
        return -EINVAL;
}

static int set_text(FILE *f, const struct pol_set *s) {
        fprintf(f, "\tset %s {\n\t\ttype ", s->name);
        for (size_t i = 0; i < s->n_type; i++)
                fprintf(f, "%s%s", i ? " . " : "", s->type[i]);
        fputs("\n", f);
        if (s->flags) {
                const char *sep = "";
                fputs("\t\tflags ", f);
                if (s->flags & PSF_DYNAMIC)
                        fprintf(f, "%sdynamic", sep), sep = ",";
                if (s->flags & PSF_INTERVAL)
                        fprintf(f, "%sinterval", sep), sep = ",";
                if (s->flags & PSF_TIMEOUT)
                        fprintf(f, "%stimeout", sep), sep = ",";
                fputs("\n", f);
        }
        if (s->timeout_s)
                fprintf(f, "\t\ttimeout %us\n", s->timeout_s);
        if (s->size)
                fprintf(f, "\t\tsize %u\n", s->size);
        if (s->counter)
                fputs("\t\tcounter\n", f);
        if (s->n_elems) {
                fputs("\t\telements = { ", f);
                for (size_t i = 0; i < s->n_elems; i++) {
                        struct pol_val v = {.kind = PV_CIDR, .cidr = s->elems[i]};
                        if (i)
                                fputs(i % 4 ? ", " : ",\n\t\t\t     ", f);
                        if (val_text(f, &v, 128) < 0)
                                return -EINVAL;
                }
                fputs(" }\n", f);
        }
        fputs("\t}\n\n", f);
        return 0;
}

int pol_emit_text(const struct pol_table *t, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        int r = 0;
        fprintf(f, "table netdev %s {\n", t->name);
        for (size_t i = 0; i < t->n_sets && r >= 0; i++)
                r = set_text(f, &t->sets[i]);
        for (size_t c = 0; c < t->n_chains && r >= 0; c++) {
                const struct pol_chain *ch = &t->chains[c];
                fprintf(f, "%s\tchain %s {\n", c ? "\n" : "", ch->name);
                if (ch->hook)
                        fprintf(f, "\t\ttype filter hook %s device \"%s\" priority %d; policy %s;\n", ch->hook,
                                ch->on_uplink ? t->uplink : t->device, ch->prio, ch->policy_drop ? "drop" : "accept");
                for (size_t i = 0; i < t->n_rules && r >= 0; i++) {
                        const struct pol_rule *ru = &t->rules[i];
                        if (strcmp(ru->chain, ch->name) != 0)
                                continue;
                        fputs("\t\t", f);
                        for (size_t j = 0; j < ru->n && r >= 0; j++) {
                                if (j)
                                        fputc(' ', f);
                                r = stmt_text(f, &ru->s[j]);
                        }
                        fprintf(f, " comment \"%s\"\n", ru->comment);
                }
                fputs("\t}\n", f);
        }
        fputs("}\n", f);
        if (fclose(f) != 0 || r < 0) {
                free(buf);
                return r < 0 ? r : -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* ---- JSON ---- */

static json_t *field_json(enum pol_field fl) {
        json_t *e;
        if (fields[fl].raw_len)
                e = json_pack("{s:{s:s,s:i,s:i}}", "payload", "base", fields[fl].raw_base, "offset", fields[fl].raw_off,
                              "len", fields[fl].raw_len);
        else if (fields[fl].exthdr)
                e = json_pack("{s:{s:s,s:s}}", "exthdr", "name", fields[fl].proto, "field", fields[fl].field);
        else if (!fields[fl].proto)
                e = json_pack("{s:{s:s}}", "meta", "key", fields[fl].field);
        else
                e = json_pack("{s:{s:s,s:s}}", "payload", "protocol", fields[fl].proto, "field", fields[fl].field);
        if (e && fields[fl].mask)
                e = json_pack("{s:[o,I]}", "&", e, (json_int_t) fields[fl].mask);
        return e;
}

static json_t *key_json(const struct pol_key *k) {
        if (k->n == 1)
                return field_json(k->f[0]);
        json_t *a = json_array();
        for (size_t i = 0; a && i < k->n; i++)
                if (json_array_append_new(a, field_json(k->f[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a ? json_pack("{s:o}", "concat", a) : NULL;
}

static json_t *val_json(const struct pol_val *v, unsigned bits) {
        char a[INET6_ADDRSTRLEN];
        switch (v->kind) {
        case PV_MAC: {
                char m[18];
                snprintf(m, sizeof m, "%02x:%02x:%02x:%02x:%02x:%02x", v->mac[0], v->mac[1], v->mac[2], v->mac[3],
                         v->mac[4], v->mac[5]);
                return json_string(m);
        }
        case PV_CIDR:
                if (!inet_ntop(v->cidr.family, v->cidr.addr, a, sizeof a))
                        return NULL;
                if (v->cidr.prefix == (v->cidr.family == AF_INET ? 32 : 128))
                        return json_string(a);
                return json_pack("{s:{s:s,s:i}}", "prefix", "addr", a, "len", (int) v->cidr.prefix);
        case PV_NUM:
                return json_integer(v->lo);
        case PV_RANGE:
                return json_pack("{s:[I,I]}", "range", (json_int_t) v->lo, (json_int_t) v->hi);
        case PV_SYM:
                return json_string(v->sym);
        case PV_HEX: {
                char lo[35], hi[35];
                if (hex_val(v, bits, lo, hi))
                        return json_pack("{s:[s,s]}", "range", lo, hi);
                return json_string(lo);
        }
        }
        return NULL;
}

json_t *pol_cidr_json(const struct ecl_cidr *c) {
        struct pol_val v = {.kind = PV_CIDR, .cidr = *c};
        return val_json(&v, 128);
}

static json_t *set_ref_json(const char *name) {
        char ref[POL_NAME_MAX + 1];
        snprintf(ref, sizeof ref, "@%s", name);
        return json_string(ref);
}

static json_t *stmt_json(const struct pol_stmt *s) {
        switch (s->kind) {
        case PS_MATCH: {
                json_t *right = NULL;
                if (s->rhs == PR_VALUE)
                        right = val_json(&s->val, key_bits(&s->key));
                else if (s->rhs == PR_SET_REF)
                        right = set_ref_json(s->set);
                else {
                        json_t *a = json_array();
                        for (size_t i = 0; a && i < s->n_vals; i++)
                                if (json_array_append_new(a, val_json(&s->vals[i], key_bits(&s->key))) < 0) {
                                        json_decref(a);
                                        a = NULL;
                                }
                        right = a ? json_pack("{s:o}", "set", a) : NULL;
                }
                return json_pack("{s:{s:s,s:o,s:o}}", "match", "op", s->negate ? "!=" : "==", "left",
                                 key_json(&s->key), "right", right);
        }
        case PS_SET: {
                json_t *elem = key_json(&s->key);
                if (elem && s->timeout_s)
                        elem = json_pack("{s:{s:o,s:I}}", "elem", "val", elem, "timeout", (json_int_t) s->timeout_s);
                return json_pack("{s:{s:s,s:o,s:o}}", "set", "op", s->update ? "update" : "add", "elem", elem, "set",
                                 set_ref_json(s->set));
        }
        case PS_COUNTER:
                return json_pack("{s:n}", "counter");
        case PS_MARK:
                return json_pack("{s:{s:{s:{s:s}},s:I}}", "mangle", "key", "meta", "key", "mark", "value",
                                 (json_int_t) s->mark);
        case PS_LIMIT:
                return json_pack("{s:{s:I,s:s,s:I}}", "limit", "rate", (json_int_t) s->rate, "per", "second", "burst",
                                 (json_int_t) s->burst);
        case PS_VERDICT:
                if (streq(s->verdict, "fwd"))
                        return json_pack("{s:{s:s}}", "fwd", "dev", s->target);
                if (s->target[0])
                        return json_pack("{s:{s:s}}", s->verdict, "target", s->target);
                return json_pack("{s:n}", s->verdict);
        }
        return NULL;
}

static json_t *set_json(const struct pol_table *t, const struct pol_set *s) {
        /* One datatype is a string; an array means a concatenation, even of one. */
        json_t *type = s->n_type == 1 ? json_string(s->type[0]) : json_array();
        for (size_t i = 0; type && s->n_type > 1 && i < s->n_type; i++)
                if (json_array_append_new(type, json_string(s->type[i])) < 0) {
                        json_decref(type);
                        return NULL;
                }
        json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "family", "netdev", "table", t->name, "name", s->name, "type", type);
        if (!o)
                return NULL;
        json_t *flags = json_array();
        if (!flags)
                goto fail;
        /* "dynamic" is not accepted in JSON by nftables 1.0.6; it infers it from the set statements. */
        if ((s->flags & PSF_INTERVAL) && json_array_append_new(flags, json_string("interval")) < 0)
                goto fail_flags;
        if ((s->flags & PSF_TIMEOUT) && json_array_append_new(flags, json_string("timeout")) < 0)
                goto fail_flags;
        if (json_array_size(flags) > 0) {
                if (json_object_set_new(o, "flags", flags) < 0)
                        goto fail;
        } else
                json_decref(flags);
        if (s->timeout_s && json_object_set_new(o, "timeout", json_integer(s->timeout_s)) < 0)
                goto fail;
        if (s->size && json_object_set_new(o, "size", json_integer(s->size)) < 0)
                goto fail;
        if (s->counter && json_object_set_new(o, "stmt", json_pack("[{s:n}]", "counter")) < 0)
                goto fail;
        if (s->n_elems) {
                json_t *el = json_array();
                if (!el || json_object_set_new(o, "elem", el) < 0)
                        goto fail;
                for (size_t i = 0; i < s->n_elems; i++)
                        if (json_array_append_new(el, pol_cidr_json(&s->elems[i])) < 0)
                                goto fail;
        }
        return json_pack("{s:{s:o}}", "add", "set", o);
fail_flags:
        json_decref(flags);
fail:
        json_decref(o);
        return NULL;
}

static json_t *chain_json(const struct pol_table *t, const struct pol_chain *c) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "family", "netdev", "table", t->name, "name", c->name);
        if (o && c->hook &&
            (json_object_set_new(o, "type", json_string("filter")) < 0 ||
             json_object_set_new(o, "hook", json_string(c->hook)) < 0 ||
             json_object_set_new(o, "prio", json_integer(c->prio)) < 0 ||
             json_object_set_new(o, "dev", json_string(c->on_uplink ? t->uplink : t->device)) < 0 ||
             json_object_set_new(o, "policy", json_string(c->policy_drop ? "drop" : "accept")) < 0)) {
                json_decref(o);
                return NULL;
        }
        return o ? json_pack("{s:{s:o}}", "add", "chain", o) : NULL;
}

static json_t *rule_json(const struct pol_table *t, const struct pol_rule *r) {
        json_t *expr = json_array();
        for (size_t i = 0; expr && i < r->n; i++)
                if (json_array_append_new(expr, stmt_json(&r->s[i])) < 0) {
                        json_decref(expr);
                        return NULL;
                }
        if (!expr)
                return NULL;
        return json_pack("{s:{s:{s:s,s:s,s:s,s:s,s:o}}}", "add", "rule", "family", "netdev", "table", t->name, "chain",
                         r->chain, "comment", r->comment, "expr", expr);
}

static int push(json_t *cmds, json_t *cmd) {
        /* json_array_append_new takes the reference even on failure and fails on NULL. */
        return json_array_append_new(cmds, cmd) < 0 ? -ENOMEM : 0;
}

int pol_emit_json(const struct pol_table *t, char **ret) {
        json_t *cmds = json_array();
        if (!cmds)
                return -ENOMEM;
        int r = 0;
        /* add + delete + add: replaces an existing table, creates a missing one, in one transaction. */
        r = push(cmds, json_pack("{s:{s:{s:s,s:s}}}", "add", "table", "family", "netdev", "name", t->name));
        if (r >= 0)
                r = push(cmds, json_pack("{s:{s:{s:s,s:s}}}", "delete", "table", "family", "netdev", "name", t->name));
        if (r >= 0)
                r = push(cmds, json_pack("{s:{s:{s:s,s:s}}}", "add", "table", "family", "netdev", "name", t->name));
        for (size_t i = 0; i < t->n_sets && r >= 0; i++)
                r = push(cmds, set_json(t, &t->sets[i]));
        for (size_t i = 0; i < t->n_chains && r >= 0; i++)
                r = push(cmds, chain_json(t, &t->chains[i]));
        for (size_t i = 0; i < t->n_rules && r >= 0; i++)
                r = push(cmds, rule_json(t, &t->rules[i]));
        json_t *root = r >= 0 ? json_pack("{s:o}", "nftables", cmds) : NULL;
        if (!root) {
                /* json_pack steals "o" references even when it fails. */
                if (r < 0)
                        json_decref(cmds);
                return -ENOMEM;
        }
        char *s = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
