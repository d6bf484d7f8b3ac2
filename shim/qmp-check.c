/* SPDX-License-Identifier: Apache-2.0 */
/* QEMU's view of its devices against the live XML (see qmp-check.h). */
#include <errno.h>
#include <jansson.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "domain-check.h"
#include "domain.h"
#include "macro.h"
#include "strutil.h"
#include "xml-cleanup.h"
#include "qmp-check.h"
#include "reason.h"



static const char *const commands[SHIM_QMP_N_QUERIES] = {
        [SHIM_QMP_PERIPHERAL] = "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}",
        [SHIM_QMP_PERIPHERAL_ANON] = "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral-anon\"}}",
        [SHIM_QMP_PCI] = "{\"execute\":\"query-pci\"}",
        [SHIM_QMP_CHARDEV] = "{\"execute\":\"query-chardev\"}",
        [SHIM_QMP_OBJECTS] = "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}",
        [SHIM_QMP_MIGRATE] = "{\"execute\":\"query-migrate\"}",
        [SHIM_QMP_BLOCK_EXPORTS] = "{\"execute\":\"query-block-exports\"}",
        [SHIM_QMP_BLOCK_NODES] = "{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}",
        [SHIM_QMP_JOBS] = "{\"execute\":\"query-jobs\"}",
        [SHIM_QMP_DUMP] = "{\"execute\":\"query-dump\"}",
};

static const char *const query_names[SHIM_QMP_N_QUERIES] = {
        [SHIM_QMP_PERIPHERAL] = "qom-list /machine/peripheral",
        [SHIM_QMP_PERIPHERAL_ANON] = "qom-list /machine/peripheral-anon",
        [SHIM_QMP_PCI] = "query-pci",
        [SHIM_QMP_CHARDEV] = "query-chardev",
        [SHIM_QMP_OBJECTS] = "qom-list /objects",
        [SHIM_QMP_MIGRATE] = "query-migrate",
        [SHIM_QMP_BLOCK_EXPORTS] = "query-block-exports",
        [SHIM_QMP_BLOCK_NODES] = "query-named-block-nodes",
        [SHIM_QMP_JOBS] = "query-jobs",
        [SHIM_QMP_DUMP] = "query-dump",
};

const char *shim_qmp_command(enum shim_qmp_query q) {
        return q < SHIM_QMP_N_QUERIES ? commands[q] : NULL;
}

/*
 * Devices libvirt instantiates with -device id=ALIAS: every device element
 * with an alias but those that are built into the machine or no device.
 */
#define DEVICE_ALIASES                                                                                          \
        "/domain/devices/*[not(self::input[@bus='ps2'] or self::video[model/@type='none'] or "                  \
        "self::memballoon[@model='none'] or self::controller[@type='usb' and @model='none'] or "              \
        "self::controller[@type='pci' and (@model='pci-root' or @model='pcie-root')] or "                     \
        "self::controller[(@type='sata' or @type='ide') and @index='0'] or self::console or "                 \
        "self::watchdog[@model='itco'] or self::audio)]/alias/@name"
/* Devices whose backend is a chardev "char" + alias. */
#define CHARDEV_ALIASES                                                                                         \
        "/domain/devices/*[self::serial or self::console or self::parallel or self::channel or "                \
        "self::redirdev or self::smartcard or self::interface[@type='vhostuser'] or "                          \
        "self::rng[backend/@model='egd']]/alias/@name"
/* Devices with a backend object "obj" + alias. */
#define OBJECT_ALIASES "/domain/devices/rng/alias/@name"
/* The files and block devices of the disks: what a protocol node may open. */
#define DISK_SOURCES "/domain/devices/disk/source/@file | /domain/devices/disk/source/@dev"

/* Block drivers that keep the data on this host; the protocol ones open a file, which must be a disk's. */
static const char *const local_drivers[] = {"raw", "qcow2", "luks", "throttle", "copy-on-read", "preallocate"};
static const char *const protocol_drivers[] = {"file", "host_device", "host_cdrom"};

/* What the XML lets QEMU have. */
struct expected {
        char **devices, **chardevs, **objects, **disks;
};

static void expected_done(struct expected *e) {
        strv_free(e->devices);
        strv_free(e->chardevs);
        strv_free(e->objects);
        strv_free(e->disks);
}

static bool strv_has(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

static bool among(const char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* prefix + each attribute value of expr, then the fixed names, as a NULL-terminated vector. */
static int collect(xmlXPathContextPtr ctx, const char *expr, const char *prefix, const char *const *fixed,
                   size_t n_fixed, char ***ret) {
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = xmlXPathEvalExpression(X(expr), ctx);
        if (!o)
                return -ENOMEM;
        size_t n = o->nodesetval ? (size_t) o->nodesetval->nodeNr : 0;
        char **v = calloc(n + n_fixed + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                xmlChar *val = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
                if (!val || asprintf(&v[k], "%s%s", prefix, (const char *) val) < 0) {
                        v[k] = NULL;
                        xmlFree(val);
                        strv_free(v);
                        return -ENOMEM;
                }
                xmlFree(val);
                k++;
        }
        for (size_t i = 0; i < n_fixed; i++)
                if (!(v[k++] = strdup(fixed[i]))) {
                        strv_free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

static int expected_from_xml(const char *xml, struct expected *e, char **ret_why) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        int r = shim_domain_parse_xml(xml, &doc, ret_why);
        if (r < 0)
                return r;
        _cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        if (!ctx)
                return -ENOMEM;
        static const char *const monitor[] = {"charmonitor"}, *const objects[] = {"masterKey0", "pc.ram"};
        r = collect(ctx, DEVICE_ALIASES, "", NULL, 0, &e->devices);
        if (r >= 0)
                r = collect(ctx, CHARDEV_ALIASES, "char", monitor, ELEMENTSOF(monitor), &e->chardevs);
        if (r >= 0)
                r = collect(ctx, OBJECT_ALIASES, "obj", objects, ELEMENTSOF(objects), &e->objects);
        if (r >= 0)
                r = collect(ctx, DISK_SOURCES, "", NULL, 0, &e->disks);
        return r;
}

/* What was found beyond the XML, ", "-separated, at most MAX_FINDINGS of them. */
#define MAX_FINDINGS 16
struct findings {
        char *text;
        unsigned n;
        int error; /* -ENOMEM once an append failed */
};


static void found(struct findings *f, const char *fmt, ...) _printf_(2, 3);
static void found(struct findings *f, const char *fmt, ...) {
        if (f->error || ++f->n > MAX_FINDINGS)
                return;
        char *item = NULL, *joined = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&item, fmt, ap);
        va_end(ap);
        if (r < 0) {
                f->error = -ENOMEM;
                return;
        }
        ecl_str_make_ascii(item); /* QEMU's strings are untrusted: printable ASCII only */
        if (asprintf(&joined, "%s%s%s", f->text ? f->text : "", f->text ? ", " : "", item) < 0) {
                free(item);
                f->error = -ENOMEM;
                return;
        }
        free(item);
        free(f->text);
        f->text = joined;
}

static int bad_reply(char **ret_why, enum shim_qmp_query q, const char *what) {
        return ecl_reason(ret_why, -EBADMSG, "QEMU's reply to %s %s", query_names[q], what);
}

/* The "return" member of a QMP reply; an error reply (its desc in *ret_why) or another shape is -EBADMSG. */
static int reply_return(const char *text, enum shim_qmp_query q, json_t **ret_root, json_t **ret_value,
                        char **ret_why) {
        if (!text)
                return bad_reply(ret_why, q, "is missing");
        if (strnlen(text, (size_t) SHIM_QMP_REPLY_MAX + 1) > SHIM_QMP_REPLY_MAX)
                return bad_reply(ret_why, q, "is larger than 4 MiB");
        json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!root)
                return bad_reply(ret_why, q, "is not JSON");
        json_t *error = json_object_get(root, "error");
        json_t *value = json_object_get(root, "return");
        if (error || !value) {
                const char *desc = json_string_value(json_object_get(error, "desc"));
                _cleanup_free_ char *what = NULL;
                int r = asprintf(&what, "is an error (%s)", desc ? desc : "no return value");
                json_decref(root);
                if (r < 0)
                        return -ENOMEM;
                ecl_str_make_ascii(what);
                return bad_reply(ret_why, q, what);
        }
        *ret_root = root;
        *ret_value = value;
        return 0;
}

/* "child<TYPE>" -> TYPE (NULL for properties that are no child objects). */
static const char *child_type(const char *type, char *buf, size_t size) {
        size_t n = type ? strlen(type) : 0;
        if (n < 8 || strncmp(type, "child<", 6) != 0 || type[n - 1] != '>')
                return NULL;
        snprintf(buf, size, "%.*s", (int) (n - 7), type + 6);
        return buf;
}

/* qom-list: each child object not in allowed (NULL: none allowed) is a finding called kind. */
static int compare_qom_list(json_t *list, enum shim_qmp_query q, char *const *allowed, const char *kind,
                            struct findings *f, char **ret_why) {
        if (!json_is_array(list))
                return bad_reply(ret_why, q, "is no list");
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
                const char *name = json_string_value(json_object_get(e, "name"));
                const char *type = json_string_value(json_object_get(e, "type"));
                if (!name || !type)
                        return bad_reply(ret_why, q, "has an entry without name or type");
                char buf[128];
                const char *t = child_type(type, buf, sizeof buf);
                if (t && !strv_has(allowed, name))
                        found(f, "%s %s (%s)", kind, name, t);
        }
        return 0;
}

/* query-pci, recursively behind bridges (depth bounded by the parser's nesting limit). */
static int compare_pci_devices(json_t *devices, char *const *allowed, struct findings *f, char **ret_why) {
        if (!json_is_array(devices))
                return bad_reply(ret_why, SHIM_QMP_PCI, "has a bus without a device list");
        size_t i;
        json_t *d;
        json_array_foreach(devices, i, d) {
                const char *qdev_id = json_string_value(json_object_get(d, "qdev_id"));
                json_t *bus = json_object_get(d, "bus"), *slot = json_object_get(d, "slot"),
                       *fn = json_object_get(d, "function");
                if (!qdev_id || !json_is_integer(bus) || !json_is_integer(slot) || !json_is_integer(fn))
                        return bad_reply(ret_why, SHIM_QMP_PCI, "has a device without qdev_id, bus, slot or function");
                const char *desc = json_string_value(json_object_get(json_object_get(d, "class_info"), "desc"));
                if (*qdev_id ? !strv_has(allowed, qdev_id) : json_integer_value(bus) != 0)
                        found(f, "PCI device %s at %02llx:%02llx.%llx (%s)", *qdev_id ? qdev_id : "without id",
                              (unsigned long long) json_integer_value(bus),
                              (unsigned long long) json_integer_value(slot),
                              (unsigned long long) json_integer_value(fn), desc ? desc : "unknown class");
                json_t *bridge = json_object_get(d, "pci_bridge");
                json_t *behind = bridge ? json_object_get(bridge, "devices") : NULL;
                if (behind) {
                        int r = compare_pci_devices(behind, allowed, f, ret_why);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int compare_pci(json_t *buses, char *const *allowed, struct findings *f, char **ret_why) {
        if (!json_is_array(buses))
                return bad_reply(ret_why, SHIM_QMP_PCI, "is no list of buses");
        size_t i;
        json_t *b;
        json_array_foreach(buses, i, b) {
                int r = compare_pci_devices(json_object_get(b, "devices"), allowed, f, ret_why);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int compare_chardevs(json_t *list, char *const *allowed, struct findings *f, char **ret_why) {
        if (!json_is_array(list))
                return bad_reply(ret_why, SHIM_QMP_CHARDEV, "is no list");
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
                const char *label = json_string_value(json_object_get(c, "label"));
                const char *filename = json_string_value(json_object_get(c, "filename"));
                if (!label)
                        return bad_reply(ret_why, SHIM_QMP_CHARDEV, "has a chardev without label");
                if (!strv_has(allowed, label))
                        found(f, "chardev %s (%s)", label, filename ? filename : "?");
        }
        return 0;
}

/*
 * query-migrate: {} before any migration, else a status.  ecluse never
 * migrates: any status but "none" is RAM on its way out, or gone (a precopy
 * sends the whole RAM before it completes, fails or is cancelled).
 */
static int compare_migrate(json_t *info, struct findings *f, char **ret_why) {
        if (!json_is_object(info))
                return bad_reply(ret_why, SHIM_QMP_MIGRATE, "is no object");
        json_t *status = json_object_get(info, "status");
        if (!status)
                return 0;
        const char *s = json_string_value(status);
        if (!s)
                return bad_reply(ret_why, SHIM_QMP_MIGRATE, "has a status that is no string");
        if (streq(s, "completed") || streq(s, "failed") || streq(s, "cancelled"))
                found(f, "migration %s (the guest's memory may have been sent out)", s);
        else if (!streq(s, "none"))
                found(f, "migration in progress (%s)", s);
        return 0;
}

/* query-block-exports: libvirt exports nothing (an NBD, vhost-user-blk or FUSE export serves a disk). */
static int compare_exports(json_t *list, struct findings *f, char **ret_why) {
        if (!json_is_array(list))
                return bad_reply(ret_why, SHIM_QMP_BLOCK_EXPORTS, "is no list");
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) {
                if (!json_is_object(x))
                        return bad_reply(ret_why, SHIM_QMP_BLOCK_EXPORTS, "has an export that is no object");
                const char *id = json_string_value(json_object_get(x, "id"));
                const char *type = json_string_value(json_object_get(x, "type"));
                const char *node = json_string_value(json_object_get(x, "node-name"));
                found(f, "block export %s (%s of node %s)", id ? id : "?", type ? type : "?", node ? node : "?");
        }
        return 0;
}

/*
 * query-named-block-nodes (flat: every node, QEMU names those it was given
 * no name for): a local driver, and a protocol node on a disk's own file.
 */
static int compare_nodes(json_t *list, char *const *disks, struct findings *f, char **ret_why) {
        if (!json_is_array(list))
                return bad_reply(ret_why, SHIM_QMP_BLOCK_NODES, "is no list");
        size_t i;
        json_t *n;
        json_array_foreach(list, i, n) {
                const char *name = json_string_value(json_object_get(n, "node-name"));
                const char *drv = json_string_value(json_object_get(n, "drv"));
                if (!name || !drv)
                        return bad_reply(ret_why, SHIM_QMP_BLOCK_NODES, "has a node without node-name or drv");
                const char *file = json_string_value(json_object_get(n, "file"));
                if (among(protocol_drivers, ELEMENTSOF(protocol_drivers), drv)) {
                        if (!file || !strv_has(disks, file))
                                found(f, "block node %s (%s %s, no disk of the XML)", name, drv, file ? file : "?");
                } else if (!among(local_drivers, ELEMENTSOF(local_drivers), drv))
                        found(f, "block node %s (%s %s)", name, drv, file ? file : "?");
        }
        return 0;
}

/*
 * query-jobs: libvirt runs no job on an ecluse domain (no snapshot, block
 * copy or commit), so any job listed is someone else's: a backup, mirror,
 * commit or stream copies a disk, even once it is over (concluded, not yet
 * dismissed).
 */
static int compare_jobs(json_t *list, struct findings *f, char **ret_why) {
        if (!json_is_array(list))
                return bad_reply(ret_why, SHIM_QMP_JOBS, "is no list");
        size_t i;
        json_t *j;
        json_array_foreach(list, i, j) {
                if (!json_is_object(j))
                        return bad_reply(ret_why, SHIM_QMP_JOBS, "has a job that is no object");
                const char *id = json_string_value(json_object_get(j, "id"));
                const char *type = json_string_value(json_object_get(j, "type"));
                const char *status = json_string_value(json_object_get(j, "status"));
                found(f, "job %s (%s, %s)", id ? id : "?", type ? type : "?", status ? status : "?");
        }
        return 0;
}

/* query-dump: "none" until a dump-guest-memory; any other status is the guest's memory written out. */
static int compare_dump(json_t *info, struct findings *f, char **ret_why) {
        if (!json_is_object(info))
                return bad_reply(ret_why, SHIM_QMP_DUMP, "is no object");
        const char *s = json_string_value(json_object_get(info, "status"));
        if (!s)
                return bad_reply(ret_why, SHIM_QMP_DUMP, "has no status");
        if (streq(s, "active"))
                found(f, "memory dump in progress");
        else if (!streq(s, "none"))
                found(f, "memory dump %s (the guest's memory may have been written out)", s);
        return 0;
}

static int compare_one(enum shim_qmp_query q, json_t *v, const struct expected *e, struct findings *f,
                       char **ret_why) {
        switch (q) {
        case SHIM_QMP_PERIPHERAL: return compare_qom_list(v, q, e->devices, "device", f, ret_why);
        case SHIM_QMP_PERIPHERAL_ANON: return compare_qom_list(v, q, NULL, "device without id", f, ret_why);
        case SHIM_QMP_PCI: return compare_pci(v, e->devices, f, ret_why);
        case SHIM_QMP_CHARDEV: return compare_chardevs(v, e->chardevs, f, ret_why);
        case SHIM_QMP_OBJECTS: return compare_qom_list(v, q, e->objects, "object", f, ret_why);
        case SHIM_QMP_MIGRATE: return compare_migrate(v, f, ret_why);
        case SHIM_QMP_BLOCK_EXPORTS: return compare_exports(v, f, ret_why);
        case SHIM_QMP_BLOCK_NODES: return compare_nodes(v, e->disks, f, ret_why);
        case SHIM_QMP_JOBS: return compare_jobs(v, f, ret_why);
        case SHIM_QMP_DUMP: return compare_dump(v, f, ret_why);
        default: return -EINVAL;
        }
}

int shim_qmp_compare(const char *live_xml, const char *const replies[SHIM_QMP_N_QUERIES], char **ret_violation) {
        if (ret_violation)
                *ret_violation = NULL;
        _cleanup_(expected_done) struct expected e = {0};
        int r = expected_from_xml(live_xml, &e, ret_violation);
        if (r < 0)
                return r;
        struct findings f = {0};
        for (enum shim_qmp_query q = 0; q < SHIM_QMP_N_QUERIES && r >= 0; q++) {
                _cleanup_(json_decrefp) json_t *root = NULL;
                json_t *value = NULL;
                r = reply_return(replies[q], q, &root, &value, ret_violation);
                if (r >= 0)
                        r = compare_one(q, value, &e, &f, ret_violation);
        }
        if (r >= 0)
                r = f.error;
        if (r >= 0 && f.n > 0) {
                r = ecl_reason(ret_violation, -EPERM, "QEMU has what the live XML does not declare: %s%s", f.text,
                               f.n > MAX_FINDINGS ? ", ..." : "");
        }
        free(f.text);
        return r;
}

int shim_qmp_check(virDomainPtr dom, const char *live_xml, char **ret_violation) {
        if (ret_violation)
                *ret_violation = NULL;
        char *replies[SHIM_QMP_N_QUERIES] = {0};
        int r = 0;
        for (enum shim_qmp_query q = 0; q < SHIM_QMP_N_QUERIES; q++)
                if (virDomainQemuMonitorCommand(dom, commands[q], &replies[q], 0) < 0) {
                        const char *msg = virGetLastErrorMessage();
                        r = ecl_reason(ret_violation, -EIO, "cannot ask QEMU (%s): %s", query_names[q],
                                       msg && *msg ? msg : "unknown libvirt error");
                        break;
                }
        if (r == 0)
                r = shim_qmp_compare(live_xml, (const char *const *) replies, ret_violation);
        for (enum shim_qmp_query q = 0; q < SHIM_QMP_N_QUERIES; q++)
                free(replies[q]);
        return r;
}
