/* SPDX-License-Identifier: Apache-2.0 */
/* Invariant 1 over a domain document, with XPath (see domain-check.h). */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domain-check.h"
#include "macro.h"
#include "reason.h"
#include "xml-cleanup.h"


/*
 * The devices a cut domain may have, each with the XPath condition (relative
 * to the device element) under which it is harmless, and what it is when not.
 */
struct allowed_device {
        const char *element;
        const char *condition;
        const char *why;
};

static const struct allowed_device allowed[] = {
        {"emulator", "true()", NULL},
        {"disk",
         "(@type='file' or @type='block') and not(.//source[@protocol]) and "
         "not(.//backingStore[@type and @type!='file' and @type!='block'])",
         "a disk not backed by a local file or block device (network, vhost-user, volume, NVMe)"},
        {"controller",
         "not(@type='usb' or @type='virtio-serial' or @type='ccid' or @type='xenbus') or "
         "(@type='usb' and @model='none')",
         "USB is only allowed as model='none'; virtio-serial, ccid and xenbus carry channels"},
        {"interface", "@type='ethernet' and not(ip) and not(route) and not(script) and not(downscript)",
         "an interface other than an ecluse tap (type='ethernet' without host-side addresses or scripts)"},
        {"input", "(@type='mouse' or @type='keyboard') and @bus='ps2' and not(source)",
         "an input device other than the implicit PS/2 mouse and keyboard"},
        {"video", "model and not(model[not(@type='none')])", "a video device (only model type='none')"},
        {"audio", "@type='none'", "an audio backend other than type='none'"},
        {"memballoon", "@model='none'", "a memory balloon (only model='none')"},
        /* the only seclabel a file source may carry: libvirt leaves the FIFO root's (console-pipe.h) */
        {"serial", "@type='file' and source/@path and not(source/seclabel[not(@model='dac' and @relabel='no')])",
         "a serial port not to a local file, or its file relabelled"},
        {"console", "@type='file' and source/@path and source/@path = ../serial[@type='file']/source/@path",
         "a console other than the mirror of a file serial"},
        {"rng",
         "backend[@model='builtin'] or backend[@model='random' and (normalize-space(.)='' or "
         "normalize-space(.)='/dev/urandom' or normalize-space(.)='/dev/random')]",
         "a random-number source other than builtin or /dev/urandom (egd is a socket)"},
        {"watchdog", "true()", NULL},
        {"panic", "true()", NULL},
};

/* Why the well-known forbidden devices are forbidden, for the message. */
static const struct {
        const char *element;
        const char *why;
} forbidden[] = {
        {"graphics", "remote display"},
        {"channel", "guest channel (agent, spice)"},
        {"vsock", "host socket"},
        {"redirdev", "USB redirection"},
        {"hostdev", "host device passthrough"},
        {"filesystem", "shared filesystem"},
        {"shmem", "shared memory"},
        {"parallel", "parallel port"},
        {"tpm", "TPM"},
        {"smartcard", "smartcard"},
        {"sound", "sound card"},
        {"hub", "USB hub"},
        {"lease", "lock manager lease"},
        {"crypto", "crypto device"},
        {"iommu", "IOMMU"},
        {"memory", "memory device"},
        {"nvram", "NVRAM device"},
        {"pstore", "pstore device"},
};

static const char *forbidden_why(const char *element) {
        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                if (streq(forbidden[i].element, element))
                        return forbidden[i].why;
        return "not on the allow-list";
}

static const struct allowed_device *find_allowed(xmlNodePtr n) {
        if (n->ns)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (xmlStrEqual(n->name, X(allowed[i].element)))
                        return &allowed[i];
        return NULL;
}

/* Evaluate a boolean XPath expression with n as the context node: 1, 0, or -ENOMEM. */
static int eval_bool(xmlXPathContextPtr ctx, xmlNodePtr n, const char *expr) {
        ctx->node = n;
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = xmlXPathEvalExpression(X(expr), ctx);
        if (!o)
                return -ENOMEM;
        return xmlXPathCastToBoolean(o) ? 1 : 0;
}

/* "<name type='T' model='M'>" for the message; attributes shown when present. */
static void describe(xmlNodePtr n, char *buf, size_t size) {
        _cleanup_(xml_freep) xmlChar *type = xmlGetNoNsProp(n, X("type"));
        _cleanup_(xml_freep) xmlChar *model = xmlGetNoNsProp(n, X("model"));
        const char *prefix = n->ns && n->ns->prefix ? (const char *) n->ns->prefix : NULL;
        snprintf(buf, size, "<%s%s%s%s%s%s%s%s%s>", prefix ? prefix : "", prefix ? ":" : "", (const char *) n->name,
                 type ? " type='" : "",
                 type ? (const char *) type : "", type ? "'" : "", model ? " model='" : "",
                 model ? (const char *) model : "", model ? "'" : "");
}

static int violation(char **ret, xmlNodePtr n, const char *why) {
        if (!ret)
                return -EPERM;
        char what[256];
        describe(n, what, sizeof what);
        _cleanup_(xml_freep) xmlChar *path = xmlGetNodePath(n);
        return ecl_reason(ret, -EPERM, "%s at %s: %s", what, path ? (const char *) path : "?", why);
}

static int check_interface(xmlNodePtr n, const char *expected_tap, unsigned *count, char **ret) {
        if (!expected_tap)
                return violation(ret, n, "this stack has no network, so no interface");
        if (++*count > 1)
                return violation(ret, n, "a second interface (a stack has one tap)");
        xmlNodePtr target = NULL;
        for (xmlNodePtr c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && !c->ns && xmlStrEqual(c->name, X("target"))) {
                        /* libvirt reads the first; refuse rather than guess which one counts */
                        if (target)
                                return violation(ret, n, "an interface with two targets");
                        target = c;
                }
        _cleanup_(xml_freep) xmlChar *dev = target ? xmlGetNoNsProp(target, X("dev")) : NULL;
        if (!dev || !xmlStrEqual(dev, X(expected_tap)))
                return violation(ret, n, "the interface is not on the stack's tap");
        return 0;
}

static int check_devices(xmlXPathContextPtr ctx, const char *expected_tap, char **ret) {
        ctx->node = xmlDocGetRootElement(ctx->doc);
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr devs = xmlXPathEvalExpression(X("/domain/devices/*"), ctx);
        if (!devs)
                return -ENOMEM;
        xmlNodeSetPtr set = devs->nodesetval;
        unsigned interfaces = 0;
        for (int i = 0; set && i < set->nodeNr; i++) {
                xmlNodePtr n = set->nodeTab[i];
                const struct allowed_device *a = find_allowed(n);
                if (!a)
                        return violation(ret, n, forbidden_why((const char *) n->name));
                int r = eval_bool(ctx, n, a->condition);
                if (r < 0)
                        return r;
                if (r == 0)
                        return violation(ret, n, a->why);
                if (streq(a->element, "interface")) {
                        r = check_interface(n, expected_tap, &interfaces, ret);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* *ret = the first node of expr in document order, or NULL when there is none. */
static int first_node(xmlXPathContextPtr ctx, const char *expr, xmlNodePtr *ret) {
        ctx->node = xmlDocGetRootElement(ctx->doc);
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = xmlXPathEvalExpression(X(expr), ctx);
        if (!o)
                return -ENOMEM;
        *ret = o->nodesetval && o->nodesetval->nodeNr > 0 ? o->nodesetval->nodeTab[0] : NULL;
        return 0;
}

int shim_domain_check_cut(xmlDocPtr doc, const char *expected_tap, char **ret_violation) {
        if (ret_violation)
                *ret_violation = NULL;
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!root || root->ns || !xmlStrEqual(root->name, X("domain")))
                return -EINVAL;
        if (expected_tap && (!*expected_tap || strlen(expected_tap) >= IFNAMSIZ))
                return -EINVAL;
        _cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        if (!ctx)
                return -ENOMEM;

        /* qemu:commandline, qemu:override and any other driver passthrough. */
        xmlNodePtr n;
        int r = first_node(ctx, "/domain/*[namespace-uri()!='']", &n);
        if (r < 0)
                return r;
        if (n)
                return violation(ret_violation, n,
                                 xmlStrEqual(n->ns->href, X(SHIM_LIBVIRT_QEMU_NS))
                                         ? "QEMU passthrough (arbitrary command line or device properties)"
                                         : "driver-specific passthrough");
        r = first_node(ctx, "/domain/on_crash[normalize-space(.)!='destroy']", &n);
        if (r < 0)
                return r;
        if (n)
                return violation(ret_violation, n, "on_crash must be destroy (no dump, no restart)");
        return check_devices(ctx, expected_tap, ret_violation);
}

static int not_xml(char **ret, const char *why) {
        if (ret && !(*ret = strdup(why)))
                return -ENOMEM;
        return -EBADMSG;
}

int shim_domain_parse_xml(const char *xml, xmlDocPtr *ret_doc, char **ret_why) {
        *ret_doc = NULL;
        if (ret_why)
                *ret_why = NULL;
        if (!xml)
                return -EINVAL;
        size_t len = strnlen(xml, (size_t) SHIM_DOMAIN_XML_MAX + 1);
        if (len > SHIM_DOMAIN_XML_MAX)
                return not_xml(ret_why, "domain XML larger than 16 MiB");
        xmlDocPtr doc = xmlReadMemory(xml, (int) len, "domain.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return not_xml(ret_why, "domain XML is not well formed");
        if (doc->intSubset || doc->extSubset) {
                xmlFreeDoc(doc);
                return not_xml(ret_why, "domain XML has a document type declaration");
        }
        *ret_doc = doc;
        return 0;
}

int shim_domain_check_cut_xml(const char *xml, const char *expected_tap, char **ret_violation) {
        xmlDocPtr doc;
        int r = shim_domain_parse_xml(xml, &doc, ret_violation);
        if (r < 0)
                return r;
        r = shim_domain_check_cut(doc, expected_tap, ret_violation);
        xmlFreeDoc(doc);
        return r;
}

int shim_domain_check_identity(xmlDocPtr doc, uid_t id, char **ret_violation) {
        if (ret_violation)
                *ret_violation = NULL;
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!root || root->ns || !xmlStrEqual(root->name, X("domain")) || id == 0)
                return -EINVAL;
        _cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        if (!ctx)
                return -ENOMEM;
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o =
                xmlXPathEvalExpression(X("/domain/seclabel[@model='dac']"), ctx);
        if (!o)
                return -ENOMEM;
        int n = o->nodesetval ? o->nodesetval->nodeNr : 0;
        if (n == 0)
                return ecl_reason(ret_violation, -EPERM, "no dac seclabel: QEMU would run as libvirt's shared user");
        if (n > 1)
                return ecl_reason(ret_violation, -EPERM, "more than one dac seclabel");
        xmlNodePtr sl = o->nodesetval->nodeTab[0];
        _cleanup_(xml_freep) xmlChar *type = xmlGetProp(sl, X("type"));
        _cleanup_(xml_freep) xmlChar *relabel = xmlGetProp(sl, X("relabel"));
        if (!type || !xmlStrEqual(type, X("static")))
                return ecl_reason(ret_violation, -EPERM, "dac seclabel of type '%s', not static",
                                  type ? (const char *) type : "(none)");
        if (relabel && !xmlStrEqual(relabel, X("yes")))
                return ecl_reason(ret_violation, -EPERM, "dac seclabel with relabel='%s'", (const char *) relabel);
        xmlNodePtr label = NULL;
        unsigned labels = 0;
        for (xmlNodePtr c = sl->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, X("label")))
                        label = c, labels++;
        if (labels != 1)
                return ecl_reason(ret_violation, -EPERM, "dac seclabel without exactly one label");
        _cleanup_(xml_freep) xmlChar *text = xmlNodeGetContent(label);
        char want[32];
        snprintf(want, sizeof want, "+%u:+%u", (unsigned) id, (unsigned) id);
        if (!text || !xmlStrEqual(text, X(want)))
                return ecl_reason(ret_violation, -EPERM, "QEMU runs as '%s', not the stack's own identity",
                                  text ? (const char *) text : "");
        return 0;
}
