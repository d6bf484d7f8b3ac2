/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim_domain_check_cut() on arbitrary XML (the launcher runs it on what
 * libvirt hands back).  Besides not crashing, a document it calls cut must
 * hold none of the well-known remote channels.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domain-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, const char *msg, ...) {
        (void) ctx, (void) msg;
}

static const char *const never_in_a_cut_domain =
        "count(/domain/devices/graphics | /domain/devices/channel | /domain/devices/vsock | "
        "/domain/devices/redirdev | /domain/devices/hostdev | /domain/devices/filesystem | /domain/devices/shmem | "
        "/domain/devices/parallel | /domain/devices/tpm | /domain/devices/smartcard | /domain/devices/sound | "
        "/domain/devices/controller[@type='usb' and not(@model='none')] | "
        "/domain/devices/memballoon[not(@model='none')] | /domain/devices/serial[not(@type='file')] | "
        "/domain/devices/console[not(@type='file')] | /domain/devices/interface[not(@type='ethernet')] | "
        "/domain/*[namespace-uri()='" SHIM_LIBVIRT_QEMU_NS "'])";

/* A document the checker called cut holds none of the well-known channels. */
static void oracle(const char *xml, size_t size) {
        xmlDocPtr doc = xmlReadMemory(xml, (int) size, "fuzz.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                abort();
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression((const xmlChar *) never_in_a_cut_domain, ctx) : NULL;
        if (o && xmlXPathCastToNumber(o) != 0)
                abort();
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256 * 1024)
                return 0;
        xmlSetGenericErrorFunc(NULL, quiet);
        char *xml = malloc(size + 1);
        if (!xml)
                return 0;
        memcpy(xml, data, size);
        xml[size] = '\0';
        size_t len = strlen(xml);
        static const char *const taps[] = {NULL, "ecl-office"};
        for (size_t i = 0; i < 2; i++) {
                char *v = NULL;
                int r = shim_domain_check_cut_xml(xml, taps[i], &v);
                if (r != 0 && r != -EPERM && r != -EINVAL && r != -EBADMSG && r != -ENOMEM)
                        abort();
                if ((r == -EPERM) && !v)
                        abort();
                if (r == 0 && v)
                        abort();
                free(v);
                if (r == 0)
                        oracle(xml, len);
        }
        free(xml);
        return 0;
}
