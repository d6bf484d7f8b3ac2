/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Cleanup helpers for libxml2's types, in one place for every module that parses or builds XML. */
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "macro.h"

/* A C string as libxml2's character type. */
#define X(s) ((const xmlChar *) (s))

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc)
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathContextPtr, xmlXPathFreeContext)
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathObjectPtr, xmlXPathFreeObject)
#define _cleanup_xml_doc_ _cleanup_(xmlFreeDocp)

/* For strings libxml2 allocated (xmlGetProp, xmlNodeGetContent, xmlGetNodePath). */
static inline void xml_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}
