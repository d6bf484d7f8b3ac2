/* SPDX-License-Identifier: Apache-2.0 */
/* The stack's libvirt domain, built with libxml2 (see domain.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlsave.h>

#include "console-pipe.h"
#include "domain-check.h"
#include "domain.h"
#include "reason.h"
#include "names.h"
#include "qemu-id.h"
#include "paths.h"
#include "strutil.h"
#include "xml-cleanup.h"
#include "stack-name.h"


/* The FIFO the shim reads the guest's serial console from (console-pipe.h). */
int shim_domain_console_path(const char *root, const char *stack, char **ret) {
        return ecl_path(ret, root, ECL_STACKS_STATE_DIR "/%s/" SHIM_CONSOLE_PIPE, stack);
}

const char *shim_domain_type(enum ecl_accel accel) {
        switch (accel) {
        case ECL_ACCEL_KVM:
                return "kvm";
        case ECL_ACCEL_TCG:
                return "qemu";
        case ECL_ACCEL_AUTO:
                break;
        }
        return NULL;
}

/* A child element with text content (escaped by libxml2), or an empty one for text NULL. */
static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text) {
        return xmlNewTextChild(parent, NULL, X(name), X(text));
}

static int prop(xmlNodePtr node, const char *name, const char *value) {
        return xmlNewProp(node, X(name), X(value)) ? 0 : -ENOMEM;
}

/* Element with up to two attributes (name NULL ends the list early). */
static xmlNodePtr elem(xmlNodePtr parent, const char *name, const char *a1, const char *v1, const char *a2,
                       const char *v2) {
        xmlNodePtr n = child(parent, name, NULL);
        if (!n)
                return NULL;
        if ((a1 && prop(n, a1, v1) < 0) || (a2 && prop(n, a2, v2) < 0))
                return NULL;
        return n;
}

/* "vda" .. "vdz", "vdaa" .. : libvirt's disk naming. */
static void disk_target(size_t index, char buf[static 16]) {
        char rev[8];
        size_t n = 0;
        size_t i = index + 1;
        while (i > 0 && n < sizeof rev) {
                i--;
                rev[n++] = (char) ('a' + i % 26);
                i /= 26;
        }
        size_t p = 0;
        buf[p++] = 'v', buf[p++] = 'd';
        while (n > 0)
                buf[p++] = rev[--n];
        buf[p] = '\0';
}

static int add_metadata(xmlNodePtr domain, const struct ecl_manifest *m) {
        xmlNodePtr md = child(domain, "metadata", NULL);
        if (!md)
                return -ENOMEM;
        xmlNodePtr st = xmlNewChild(md, NULL, X("stack"), NULL);
        if (!st)
                return -ENOMEM;
        xmlNsPtr ns = xmlNewNs(st, X(SHIM_DOMAIN_METADATA_NS), X(SHIM_DOMAIN_METADATA_PREFIX));
        if (!ns)
                return -ENOMEM;
        xmlSetNs(st, ns);
        if (prop(st, "name", m->stack) < 0)
                return -ENOMEM;
        if (m->licensor && !xmlNewTextChild(st, ns, X("licensor"), X(m->licensor)))
                return -ENOMEM;
        return 0;
}

/* A child element whose text is a manifest path under root. */
static int path_child(xmlNodePtr parent, const char *name, const char *root, const char *path) {
        _cleanup_free_ char *p = NULL;
        if (ecl_path(&p, root, "%s", path) < 0 || !child(parent, name, p))
                return -ENOMEM;
        return 0;
}

static int add_os(xmlNodePtr domain, const struct ecl_manifest *m, const char *root) {
        xmlNodePtr os = child(domain, "os", NULL);
        if (!os)
                return -ENOMEM;
        xmlNodePtr type = child(os, "type", "hvm");
        if (!type || prop(type, "arch", "x86_64") < 0 || prop(type, "machine", "q35") < 0)
                return -ENOMEM;
        if (m->vm.kernel) {
                if (path_child(os, "kernel", root, m->vm.kernel) < 0)
                        return -ENOMEM;
                if (m->vm.initrd && path_child(os, "initrd", root, m->vm.initrd) < 0)
                        return -ENOMEM;
                if (m->vm.cmdline && !child(os, "cmdline", m->vm.cmdline))
                        return -ENOMEM;
        } else if (!elem(os, "boot", "dev", "hd", NULL, NULL)) {
                return -ENOMEM;
        }
        return 0;
}

static int add_disk(xmlNodePtr devices, const struct ecl_disk *d, size_t index, const char *root) {
        char target[16];
        disk_target(index, target);
        _cleanup_free_ char *path = NULL;
        if (ecl_path(&path, root, "%s", d->path) < 0)
                return -ENOMEM;
        xmlNodePtr disk = elem(devices, "disk", "type", "file", "device", "disk");
        if (!disk)
                return -ENOMEM;
        const char *format = d->format == ECL_DISK_RAW ? "raw" : "qcow2";
        if (!elem(disk, "driver", "name", "qemu", "type", format) ||
            !elem(disk, "source", "file", path, NULL, NULL) ||
            /* No backing chain: a backing file named in a qcow2 header (a
             * vendor could point it at nbd:// or http://) is never opened. */
            !child(disk, "backingStore", NULL) || !elem(disk, "target", "dev", target, "bus", "virtio"))
                return -ENOMEM;
        return 0;
}

static int add_interface(xmlNodePtr devices, const struct ecl_manifest *m) {
        char tap[IFNAMSIZ], mac_text[18];
        uint8_t mac[6];
        shim_tap_name(m->stack, 0, tap);
        shim_guest_mac(m, mac);
        snprintf(mac_text, sizeof mac_text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                 mac[4], mac[5]);
        xmlNodePtr iface = elem(devices, "interface", "type", "ethernet", NULL, NULL);
        if (!iface || !elem(iface, "mac", "address", mac_text, NULL, NULL) ||
            !elem(iface, "target", "dev", tap, "managed", "no") ||
            !elem(iface, "model", "type", "virtio", NULL, NULL) ||
            /* Two queues: libvirt opens the tap with IFF_MULTI_QUEUE, so its
             * open finds the device as ecluse made it, without IFF_VNET_HDR,
             * and the guest's virtio-net headers (its own checksum offsets)
             * never reach the kernel (tap.h).  A single-queue open of that
             * tap is refused: it fails closed. */
            !elem(iface, "driver", "queues", "2", NULL, NULL) ||
            /* No option ROM: nothing boots from the network. */
            !elem(iface, "rom", "enabled", "no", NULL, NULL))
                return -ENOMEM;
        return 0;
}

static int add_serial(xmlNodePtr devices, const char *root, const struct ecl_manifest *m) {
        _cleanup_free_ char *path = NULL;
        if (shim_domain_console_path(root, m->stack, &path) < 0)
                return -ENOMEM;
        xmlNodePtr serial = elem(devices, "serial", "type", "file", NULL, NULL);
        xmlNodePtr source = serial ? elem(serial, "source", "path", path, "append", "on") : NULL;
        /* libvirt opens the FIFO as root and passes the fd: QEMU's user must not own it */
        if (!source || !elem(source, "seclabel", "model", "dac", "relabel", "no") ||
            !elem(serial, "target", "port", "0", NULL, NULL))
                return -ENOMEM;
        return 0;
}

static int add_devices(xmlNodePtr domain, const struct ecl_manifest *m, const struct shim_domain_opts *o) {
        xmlNodePtr devices = child(domain, "devices", NULL);
        if (!devices)
                return -ENOMEM;
        for (size_t i = 0; i < m->vm.n_disks; i++)
                if (add_disk(devices, &m->vm.disks[i], i, o->root) < 0)
                        return -ENOMEM;
        if (m->has_network && add_interface(devices, m) < 0)
                return -ENOMEM;
        if (m->console == ECL_CONSOLE_LOG && add_serial(devices, o->root, m) < 0)
                return -ENOMEM;
        xmlNodePtr video = child(devices, "video", NULL);
        if (!elem(devices, "controller", "type", "usb", "model", "none") || !video ||
            !elem(video, "model", "type", "none", NULL, NULL) ||
            !elem(devices, "memballoon", "model", "none", NULL, NULL))
                return -ENOMEM;
        return 0;
}

/* Text XML 1.0 can carry: valid UTF-8 without control characters. */
static bool text_ok(const char *s) {
        if (!s)
                return true;
        if (ecl_str_has_control(s, (size_t) -1))
                return false;
        return xmlCheckUTF8((const unsigned char *) s) != 0;
}

static bool path_ok(const char *s) {
        return !s || (s[0] == '/' && text_ok(s));
}

/* What the builder refuses even though the loader should never let it through. */
static int check_input(const struct ecl_manifest *m, const struct shim_domain_opts *o, char **ret_reason) {
        if (!m || !o)
                return ecl_reason(ret_reason, -EINVAL, "domain: no manifest or options");
        if (!shim_domain_type(o->accel))
                return ecl_reason(ret_reason, -EINVAL, "domain: accelerator %s not resolved (kvm or tcg)",
                                  ecl_accel_to_string(o->accel));
        if (!ecl_stack_name_valid(m->stack))
                return ecl_reason(ret_reason, -EBADMSG, "domain: manifest has no valid stack name");
        if (!text_ok(m->licensor) || !text_ok(m->vm.cmdline) || !path_ok(m->vm.kernel) ||
            !path_ok(m->vm.initrd) || (o->uuid && !text_ok(o->uuid)) || (o->root && !text_ok(o->root)))
                return ecl_reason(ret_reason, -EBADMSG,
                                  "domain: stack %s: a path is not absolute or a text has control "
                                  "characters or is not UTF-8",
                                  m->stack);
        for (size_t i = 0; i < m->vm.n_disks; i++)
                if (!m->vm.disks[i].path || !path_ok(m->vm.disks[i].path))
                        return ecl_reason(ret_reason, -EBADMSG, "domain: stack %s: disk %zu has no absolute path",
                                          m->stack, i + 1);
        if (m->vm.vcpus < 1 || m->vm.memory_mib < 1)
                return ecl_reason(ret_reason, -EBADMSG, "domain: stack %s has no vcpus or no memory", m->stack);
        if (!m->vm.kernel && m->vm.n_disks == 0)
                return ecl_reason(ret_reason, -EBADMSG, "domain: stack %s has neither a kernel nor a disk to boot",
                                  m->stack);
        if (m->vm.n_disks > 26 * 27)
                return ecl_reason(ret_reason, -EBADMSG, "domain: stack %s has too many disks", m->stack);
        return 0;
}

/* QEMU as the stack's own uid and gid, no supplementary group; libvirt labels its files for it. */
static int add_seclabel(xmlNodePtr domain, uid_t id) {
        char label[SHIM_QEMU_ID_LABEL_MAX];
        shim_qemu_id_label(id, label);
        xmlNodePtr sl = elem(domain, "seclabel", "type", "static", "model", "dac");
        if (!sl || prop(sl, "relabel", "yes") < 0 || !child(sl, "label", label))
                return -ENOMEM;
        return 0;
}

int shim_domain_build(const struct ecl_manifest *m, const struct shim_domain_opts *o, xmlDocPtr *ret,
                      char **ret_reason) {
        int r = check_input(m, o, ret_reason);
        if (r < 0)
                return r;
        _cleanup_free_ char *name = NULL;
        if (shim_domain_name(m->stack, &name) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        char num[32];

        _cleanup_xml_doc_ xmlDocPtr doc = xmlNewDoc(X("1.0"));
        if (!doc)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        xmlNodePtr domain = xmlNewNode(NULL, X("domain"));
        if (!domain)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        xmlDocSetRootElement(doc, domain);
        if (prop(domain, "type", shim_domain_type(o->accel)) < 0 || !child(domain, "name", name) ||
            (o->uuid && !child(domain, "uuid", o->uuid)))
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (add_metadata(domain, m) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        snprintf(num, sizeof num, "%" PRIu64, m->vm.memory_mib);
        xmlNodePtr n = child(domain, "memory", num);
        if (!n || prop(n, "unit", "MiB") < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        snprintf(num, sizeof num, "%u", m->vm.vcpus);
        n = child(domain, "vcpu", num);
        if (!n || prop(n, "placement", "static") < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (add_os(domain, m, o->root) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        xmlNodePtr features = child(domain, "features", NULL);
        if (!features || !child(features, "acpi", NULL) || !elem(domain, "clock", "offset", "utc", NULL, NULL) ||
            !child(domain, "on_poweroff", "destroy") || !child(domain, "on_reboot", "restart") ||
            !child(domain, "on_crash", "destroy"))
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (add_devices(domain, m, o) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (o->qemu_id && add_seclabel(domain, o->qemu_id) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");

        char tap[IFNAMSIZ];
        shim_tap_name(m->stack, 0, tap);
        _cleanup_free_ char *violation = NULL;
        r = shim_domain_check_cut(doc, m->has_network ? tap : NULL, &violation);
        if (r == -EPERM)
                return ecl_reason(ret_reason, r, "domain: built domain of stack %s is not cut: %s", m->stack,
                                  violation);
        if (r < 0)
                return ecl_reason(ret_reason, r, "domain: cannot check domain of stack %s: %s", m->stack, strerror(-r));
        *ret = TAKE_PTR(doc);
        return 0;
}

int shim_domain_to_string(xmlDocPtr doc, char **ret) {
        xmlBufferPtr buf = xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
        if (!save) {
                xmlBufferFree(buf);
                return -ENOMEM;
        }
        long w = xmlSaveDoc(save, doc);
        int c = xmlSaveClose(save);
        if (w < 0 || c < 0) {
                xmlBufferFree(buf);
                return -EIO;
        }
        /* End with a newline, like every text a command prints. */
        const char *text = (const char *) xmlBufferContent(buf);
        size_t len = strlen(text);
        char *s = NULL;
        int n = asprintf(&s, "%s%s", text, len > 0 && text[len - 1] == '\n' ? "" : "\n");
        xmlBufferFree(buf);
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int shim_domain_render(const struct ecl_manifest *m, const struct shim_domain_opts *o, char **ret, char **ret_reason) {
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        int r = shim_domain_build(m, o, &doc, ret_reason);
        if (r < 0)
                return r;
        r = shim_domain_to_string(doc, ret);
        if (r < 0)
                return ecl_reason(ret_reason, r, "domain: cannot serialise domain of stack %s: %s", m->stack,
                                  strerror(-r));
        return 0;
}
