/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The stack manifest (DESIGN.md, "Stack manifest"): a typed model, filled
 * only by the strict loader.  Every value in here has been validated: names
 * match their patterns, addresses are parsed, numbers are in range, the
 * paths of the files the VM opens lie in the stack's own tree
 * (/var/lib/ecluse/stacks/STACK/current/ or .../data/, stack-path.h).  Anything the manifest does not open is closed, so there is no
 * field for a console, a channel, a device or a filesystem: the domain builder
 * cannot be asked for one.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "diag.h"
#include "netaddr.h"
#include "stack-name.h" /* ECL_STACK_NAME_MAX */

#define ECL_MANIFEST_VERSION 1
#define ECL_MANIFEST_MAX_SIZE (1024 * 1024) /* bytes; larger files are refused unread */
#define ECL_MANIFEST_MAX_ERRORS 100 /* reported per file; then "too many errors" */

/* Limits of the schema (manifests/README.md). */
#define ECL_VCPUS_MAX 64
#define ECL_MEMORY_MIB_MIN 64
#define ECL_MEMORY_MIB_MAX (1024 * 1024) /* 1 TiB */
#define ECL_DISKS_MAX 16
#define ECL_ADDRESSES_MAX 16
#define ECL_RULES_MAX 256          /* per direction */
#define ECL_PORTS_MAX 64           /* entries per rule */
#define ECL_QUORUM_MAX 16
#define ECL_LICENSOR_MAX 256       /* bytes */
#define ECL_WHY_MAX 512            /* bytes */
#define ECL_CMDLINE_MAX 2048       /* bytes, the x86 kernel's limit */
#define ECL_ACCESS_MAX_DURATION_DEFAULT_S (4 * 3600)
#define ECL_ACCESS_MAX_DURATION_LIMIT_S (7 * 86400)
#define ECL_QUORUM_DEFAULT 2
#define ECL_HEALTH_CONSOLE_MAX 256 /* bytes */
#define ECL_HEALTH_TIMEOUT_DEFAULT_S 120
#define ECL_HEALTH_TIMEOUT_MAX_S 86400

enum ecl_accel { ECL_ACCEL_AUTO, ECL_ACCEL_KVM, ECL_ACCEL_TCG };
enum ecl_proto { ECL_PROTO_TCP, ECL_PROTO_UDP, ECL_PROTO_ICMP, ECL_PROTO_ICMPV6 };
enum ecl_console { ECL_CONSOLE_LOG, ECL_CONSOLE_NONE };
enum ecl_disk_format { ECL_DISK_QCOW2, ECL_DISK_RAW };

/* One opening in the policy.  For egress `net` is the destination, for ingress the source. */
struct ecl_rule {
        struct ecl_cidr net;
        enum ecl_proto proto;
        struct ecl_port_range *ports; /* empty: every port (never for icmp/icmpv6) */
        size_t n_ports;
        char *why;
        struct ecl_pos pos; /* where the rule stands in the manifest */
};

struct ecl_disk {
        char *path;
        enum ecl_disk_format format;
        struct ecl_pos pos;     /* where the disk stands in the manifest */
        struct ecl_pos path_pos; /* where its path is written */
};

struct ecl_vm {
        unsigned vcpus;         /* 1..64, default 1 */
        uint64_t memory_mib;    /* 64 MiB..1 TiB, required */
        enum ecl_accel accel;   /* default auto */
        char *kernel;           /* in the stack's tree; NULL: firmware boot from the first disk */
        char *initrd;           /* in the stack's tree, only with kernel */
        char *cmdline;          /* only with kernel */
        struct ecl_disk *disks;
        size_t n_disks;
        struct ecl_pos kernel_pos, initrd_pos; /* where they are written */
};

struct ecl_network {
        char *bridge;           /* host bridge the tap joins; NULL: tap not enslaved */
        bool has_mac;
        uint8_t mac[6];         /* when absent, derived from the stack name */
        struct ecl_cidr *addresses; /* host addresses (/32, /128) the guest may send from; at least one */
        size_t n_addresses;
        struct ecl_cidr *neighbours; /* on-link hosts (/32, /128) besides the rules' peers: routers, link-locals */
        size_t n_neighbours;
        struct ecl_rule *egress;
        size_t n_egress;
        struct ecl_rule *ingress;
        size_t n_ingress;
};

struct ecl_manifest {
        char *file;             /* where it was loaded from, for messages */
        unsigned version;       /* ecluse: 1 */
        char *stack;            /* ^[a-z][a-z0-9-]{0,30}$ */
        char *licensor;
        struct ecl_vm vm;
        bool has_network;       /* no network key: the VM has no interface at all */
        struct ecl_network network;
        enum ecl_console console; /* default log */
        unsigned updates_quorum;  /* >= 1, default 2 */
        /*
         * updates.health: what "came up healthy" means after an apply.  With
         * health_console, the guest prints a console line containing that text
         * (after the reload) within health_timeout_s; without it (NULL: absent),
         * the guest only has to stay up for health_timeout_s.  Either way the
         * agent rolls back by itself otherwise.
         */
        char *health_console;       /* 1..256 bytes, no control or unsafe character; NULL: absent */
        uint64_t health_timeout_s;  /* 1 s..24 h, default 120 */
        unsigned access_quorum;   /* >= 1, default 2 */
        uint64_t access_max_duration_s; /* default 4h, at most 7 days */
};

/*
 * Load and validate a manifest.  On bad data returns -EBADMSG with every
 * problem in diags (appended; at most ECL_MANIFEST_MAX_ERRORS and a last
 * "too many errors"); on I/O trouble another negative errno with one diag
 * naming the file at 0:0.  *ret is set only on success.
 *
 * load_file reads the file as fileio.h does: a symbolic link is -ELOOP,
 * anything but a regular file -EBADMSG, a file over ECL_MANIFEST_MAX_SIZE
 * -EFBIG, all before parsing; a missing file is -ENOENT.  name may be NULL
 * ("<input>").
 */
int ecl_manifest_load_file(const char *path, struct ecl_manifest **ret, struct ecl_diags *diags);
int ecl_manifest_load_buffer(const char *name, const char *buf, size_t len, struct ecl_manifest **ret,
                             struct ecl_diags *diags);
/*
 * The files the VM opens (kernel, initrd, disks), read under root: each must
 * resolve in the stack's own tree through no link but `current` and be a
 * regular file (ecl_stack_path_open()) with one name only (no second hard
 * link: libvirt hands the file to QEMU's user), a disk with no access for
 * group or others (mode 0600 or less).  Every problem goes to diags at the
 * path's position and the result is -EBADMSG, or -ENOENT when every problem
 * is a missing file; -ENOMEM.  With missing_ok (validate), a file that does
 * not exist, or that this user may not look at, is no problem; run needs
 * every file.
 */
int ecl_manifest_check_files(const struct ecl_manifest *m, const char *root, bool missing_ok,
                             struct ecl_diags *diags);
void ecl_manifest_free(struct ecl_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ecl_manifest *, ecl_manifest_free)
#define _cleanup_manifest_ _cleanup_(ecl_manifest_freep)

const char *ecl_proto_to_string(enum ecl_proto p);
const char *ecl_accel_to_string(enum ecl_accel a);
const char *ecl_console_to_string(enum ecl_console c);
const char *ecl_disk_format_to_string(enum ecl_disk_format f);
