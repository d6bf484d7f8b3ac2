/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strict manifest loader: reading the file safely, the document, and the
 * top-level and vm parts of the schema (the network part is in
 * manifest-network.c).  Every problem is reported; nothing is guessed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "manifest-internal.h"
#include "paths.h"
#include "stack-path.h"
#include "strparse.h"

/* ---- top level ---- */

static void parse_version(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_manifest *m = obj;
        int64_t v;
        /* check_version() stopped the walk for any other integer. */
        if (mctx_int(c, path, value, ECL_MANIFEST_VERSION, ECL_MANIFEST_VERSION, &v))
                m->version = (unsigned) v;
}

static void parse_stack(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        mctx_stack_name(c, path, value, &((struct ecl_manifest *) obj)->stack);
}

static void parse_licensor(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_manifest *m = obj;
        mctx_string(c, path, value, ECL_LICENSOR_MAX, &m->licensor);
}

/* Console kinds other tools offer: each would be a remote channel. */
static const char *const remote_consoles[] = {"tcp", "udp", "telnet", "pty", "unix", "socket",
                                              "vnc", "spice", "ssh", "network", "remote"};

static void parse_console(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_manifest *m = obj;
        if (value->type == YAML_SCALAR_NODE && !ecl_yaml_is_null(value)) {
                const char *s = (const char *) value->data.scalar.value;
                for (size_t i = 0; i < ELEMENTSOF(remote_consoles); i++)
                        if (streq(s, remote_consoles[i])) {
                                char hint[160];
                                snprintf(hint, sizeof hint,
                                         "ecluse has no remote console: a %s console would open a channel to the VM;"
                                         " use log or none",
                                         s);
                                mctx_error_at(c, value, hint, "invalid value '%s' for '%s'", s, path);
                                return;
                        }
        }
        unsigned v;
        if (mctx_enum(c, path, value, ecl_console_names, ELEMENTSOF(ecl_console_names), NULL, &v))
                m->console = v;
}

static void parse_quorum(struct mctx *c, const char *path, yaml_node_t *value, unsigned *ret) {
        int64_t v;
        if (mctx_int(c, path, value, 1, ECL_QUORUM_MAX, &v))
                *ret = (unsigned) v;
}

static void parse_updates_quorum(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        parse_quorum(c, path, value, &((struct ecl_manifest *) obj)->updates_quorum);
}

static void parse_access_quorum(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        parse_quorum(c, path, value, &((struct ecl_manifest *) obj)->access_quorum);
}

/* A duration in (0, max_s]; `range` says so in words ("more than 0s and at most 7d"). */
static bool parse_duration(struct mctx *c, const char *path, yaml_node_t *value, uint64_t max_s, const char *range,
                           uint64_t *ret) {
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return false;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return false;
        int r = ecl_parse_duration(s, max_s, ret);
        if (r == -EINVAL)
                mctx_error_at(c, value, "a number and a unit d, h, m or s, e.g. 4h, 30m, 1h30m",
                              "invalid duration '%s' for '%s'", shown, path);
        else if (r < 0)
                mctx_error_at(c, value, NULL, "'%s' must be %s, got %s", path, range, shown);
        return r == 0;
}

static void parse_max_duration(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_manifest *m = obj;
        parse_duration(c, path, value, ECL_ACCESS_MAX_DURATION_LIMIT_S, "more than 0s and at most 7d",
                       &m->access_max_duration_s);
}

static void parse_health_console(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        mctx_string(c, path, value, ECL_HEALTH_CONSOLE_MAX, &((struct ecl_manifest *) obj)->health_console);
}

static void parse_health_timeout(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_manifest *m = obj;
        parse_duration(c, path, value, ECL_HEALTH_TIMEOUT_MAX_S, "at least 1s and at most 24h", &m->health_timeout_s);
}

static const struct mkey health_keys[] = {
        MKEY("console", false, NULL, parse_health_console),
        MKEY("timeout", false, NULL, parse_health_timeout),
};

static void parse_health(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        mctx_mapping(c, path, ecl_yaml_pos(key), value, health_keys, ELEMENTSOF(health_keys), obj, NULL);
}

static const struct mkey updates_keys[] = {
        MKEY("quorum", false, NULL, parse_updates_quorum),
        MKEY("health", false, NULL, parse_health),
};

static const struct mkey access_keys[] = {
        MKEY("quorum", false, NULL, parse_access_quorum),
        MKEY("max-duration", false, NULL, parse_max_duration),
};

static void parse_updates(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        mctx_mapping(c, path, ecl_yaml_pos(key), value, updates_keys, ELEMENTSOF(updates_keys), obj, NULL);
}

static void parse_access(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        mctx_mapping(c, path, ecl_yaml_pos(key), value, access_keys, ELEMENTSOF(access_keys), obj, NULL);
}

/* ---- vm ---- */

static void parse_vcpus(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_vm *vm = obj;
        int64_t v;
        if (mctx_int(c, path, value, 1, ECL_VCPUS_MAX, &v))
                vm->vcpus = (unsigned) v;
}

static void parse_memory(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_vm *vm = obj;
        const char *s;
        if (!mctx_scalar(c, path, value, &s))
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, s);
        if (!shown)
                return;
        uint64_t mib;
        int r = ecl_parse_size_mib(s, &mib);
        if (r == -EINVAL && strspn(s, "0123456789") == strlen(s))
                mctx_error_at(c, value, "MiB or GiB, e.g. 2GiB or 512MiB", "'%s' needs a unit, got %s", path, shown);
        else if (r == -EINVAL)
                mctx_error_at(c, value, "an integer and MiB or GiB, e.g. 2GiB or 512MiB", "invalid size '%s' for '%s'",
                              shown, path);
        else if (r < 0 || mib < ECL_MEMORY_MIB_MIN || mib > ECL_MEMORY_MIB_MAX)
                mctx_error_at(c, value, NULL, "'%s' must be between 64MiB and 1024GiB, got %s", path, shown);
        else
                vm->memory_mib = mib;
}


static void parse_accel(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_vm *vm = obj;
        unsigned v;
        if (mctx_enum(c, path, value, ecl_accel_names, ELEMENTSOF(ecl_accel_names), NULL, &v))
                vm->accel = v;
}

static void parse_kernel(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_vm *vm = obj;
        vm->kernel_pos = ecl_yaml_pos(value);
        mctx_file_path(c, path, value, &vm->kernel);
}

static void parse_initrd(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_vm *vm = obj;
        vm->initrd_pos = ecl_yaml_pos(value);
        mctx_file_path(c, path, value, &vm->initrd);
}

static void parse_cmdline(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        mctx_string(c, path, value, ECL_CMDLINE_MAX, &((struct ecl_vm *) obj)->cmdline);
}


static void parse_disk_path(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_disk *d = obj;
        d->path_pos = ecl_yaml_pos(value);
        mctx_file_path(c, path, value, &d->path);
}

static void parse_disk_format(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        unsigned v;
        if (mctx_enum(c, path, value, ecl_disk_format_names, ELEMENTSOF(ecl_disk_format_names), NULL, &v))
                ((struct ecl_disk *) obj)->format = v;
}

static const struct mkey disk_keys[] = {
        MKEY("path", true, "the disk image's absolute path", parse_disk_path),
        MKEY("format", true, "qcow2 or raw: ecluse never guesses a disk's format", parse_disk_format),
};

static void parse_disks(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        (void) key;
        struct ecl_vm *vm = obj;
        size_t n;
        vm->disks = mctx_list_alloc(c, path, value, ECL_DISKS_MAX, true, sizeof *vm->disks, &n);
        if (!vm->disks)
                return;
        vm->n_disks = n;
        for (size_t i = 0; i < n; i++) {
                yaml_node_t *item = mctx_item(c, value, i);
                char sub[MPATH_MAX];
                vm->disks[i].pos = ecl_yaml_pos(item);
                mctx_mapping(c, mctx_itempath(sub, path, i), ecl_yaml_pos(item), item, disk_keys,
                             ELEMENTSOF(disk_keys), &vm->disks[i], NULL);
                for (size_t j = 0; j < i && vm->disks[i].path; j++)
                        if (vm->disks[j].path && streq(vm->disks[j].path, vm->disks[i].path)) {
                                _cleanup_free_ char *shown = mctx_excerpt(c, vm->disks[i].path);
                                char hint[64];
                                snprintf(hint, sizeof hint, "already at line %u", vm->disks[j].pos.line);
                                if (shown)
                                        mctx_error_at(c, item, hint, "'%s' repeats the disk '%s'", sub, shown);
                                break;
                        }
        }
}

enum { VM_VCPUS, VM_MEMORY, VM_ACCEL, VM_KERNEL, VM_INITRD, VM_CMDLINE, VM_DISKS, VM_N_KEYS };
static const struct mkey vm_keys[] = {
        [VM_VCPUS] = MKEY("vcpus", false, NULL, parse_vcpus),
        [VM_MEMORY] = MKEY("memory", true, "e.g. 'memory: 2GiB'", parse_memory),
        [VM_ACCEL] = MKEY("accel", false, NULL, parse_accel),
        [VM_KERNEL] = MKEY("kernel", false, NULL, parse_kernel),
        [VM_INITRD] = MKEY("initrd", false, NULL, parse_initrd),
        [VM_CMDLINE] = MKEY("cmdline", false, NULL, parse_cmdline),
        [VM_DISKS] = MKEY("disks", false, NULL, parse_disks),
};

static void parse_vm(struct mctx *c, const char *path, yaml_node_t *key, yaml_node_t *value, void *obj) {
        struct ecl_manifest *m = obj;
        yaml_node_t *found[VM_N_KEYS];
        if (!mctx_mapping(c, path, ecl_yaml_pos(key), value, vm_keys, ELEMENTSOF(vm_keys), &m->vm, found))
                return;
        /* Boot: a kernel (with optional initrd and command line), or firmware from the first disk. */
        if (!found[VM_KERNEL]) {
                if (found[VM_INITRD])
                        mctx_error_at(c, found[VM_INITRD], "an initrd is only used when booting a kernel",
                                      "'vm.initrd' needs 'vm.kernel'");
                if (found[VM_CMDLINE])
                        mctx_error_at(c, found[VM_CMDLINE], "a command line is only used when booting a kernel",
                                      "'vm.cmdline' needs 'vm.kernel'");
                yaml_node_t *d = found[VM_DISKS];
                if (!d || (d->type == YAML_SEQUENCE_NODE && d->data.sequence.items.top == d->data.sequence.items.start))
                        mctx_error_at(c, key, "without a kernel the VM boots its first disk with firmware",
                                      "'vm' needs a 'kernel' or at least one disk");
        }
}

/*
 * The files the VM opens lie in the stack's own tree (DESIGN.md, "What cut
 * means", 1).  Checked once the whole document is read: 'stack' may come
 * after 'vm'.  Without a valid stack name that error is reported already.
 */
static void check_tree(struct mctx *c, const struct ecl_manifest *m, const char *key, const char *path,
                       struct ecl_pos pos) {
        if (!path || !m->stack || ecl_stack_path_check(m->stack, path) == 0)
                return;
        _cleanup_free_ char *shown = mctx_excerpt(c, path);
        if (!shown)
                return;
        char hint[2 * (sizeof ECL_STACKS_STATE_DIR + ECL_STACK_NAME_MAX) + 128];
        snprintf(hint, sizeof hint,
                 "the VM opens files only in its stack's tree: " ECL_STACKS_STATE_DIR "/%s/current/ for the release,"
                 " " ECL_STACKS_STATE_DIR "/%s/data/ for persistent disks",
                 m->stack, m->stack);
        mctx_error(c, pos, hint, "'%s' must lie in the stack's own tree, got '%s'", key, shown);
}

static void check_trees(struct mctx *c, const struct ecl_manifest *m) {
        check_tree(c, m, "vm.kernel", m->vm.kernel, m->vm.kernel_pos);
        check_tree(c, m, "vm.initrd", m->vm.initrd, m->vm.initrd_pos);
        for (size_t i = 0; i < m->vm.n_disks; i++) {
                char item[MPATH_MAX], key[MPATH_MAX];
                mctx_subpath(key, mctx_itempath(item, "vm.disks", i), "path");
                check_tree(c, m, key, m->vm.disks[i].path, m->vm.disks[i].path_pos);
        }
}

/* ---- the document ---- */

enum { TOP_ECLUSE, TOP_N_KEYS = 8 };
static const struct mkey top_keys[TOP_N_KEYS] = {
        [TOP_ECLUSE] = MKEY("ecluse", true, "a manifest starts with 'ecluse: 1'", parse_version),
        MKEY("stack", true, "the stack's name, e.g. 'stack: office'", parse_stack),
        MKEY("licensor", true, "who licenses the software: shown in status and audit", parse_licensor),
        MKEY("vm", true, "the VM: at least 'memory', and a 'kernel' or a disk", parse_vm),
        MKEY("network", false, NULL, mctx_parse_network),
        MKEY("console", false, NULL, parse_console),
        MKEY("updates", false, NULL, parse_updates),
        MKEY("access", false, NULL, parse_access),
};

int ecl_manifest_load_buffer(const char *name, const char *buf, size_t len, struct ecl_manifest **ret,
                             struct ecl_diags *diags) {
        static const struct ecl_yaml_limits limits = {
                .max_depth = ECL_MANIFEST_MAX_DEPTH,
                .max_errors = ECL_MANIFEST_MAX_ERRORS,
                .what = "a manifest",
        };
        struct ecl_yaml_doc doc;
        struct mctx c = {
                .file = name ? name : "<input>",
                .doc = &doc,
                .diags = diags,
                .what = "a manifest",
                .root_hint = "a manifest starts with 'ecluse: 1'",
                .no_such_key = mctx_forbidden_reason,
        };
        yaml_node_t *root;
        int r = mctx_load(&c, buf, len, ECL_MANIFEST_MAX_SIZE, &limits, "empty manifest", &root);
        if (r < 0) {
                ecl_yaml_doc_done(&doc);
                return r;
        }
        _cleanup_manifest_ struct ecl_manifest *m = calloc(1, sizeof *m);
        if (!m) {
                ecl_yaml_doc_done(&doc);
                return -ENOMEM;
        }
        *m = (struct ecl_manifest){
                .vm = {.vcpus = 1, .accel = ECL_ACCEL_AUTO},
                .console = ECL_CONSOLE_LOG,
                .updates_quorum = ECL_QUORUM_DEFAULT,
                .access_quorum = ECL_QUORUM_DEFAULT,
                .access_max_duration_s = ECL_ACCESS_MAX_DURATION_DEFAULT_S,
                .health_timeout_s = ECL_HEALTH_TIMEOUT_DEFAULT_S,
        };
        m->file = mctx_strdup(&c, c.file);
        if (mctx_check_format(&c, root, "ecluse", ECL_MANIFEST_VERSION, "manifest version") &&
            mctx_mapping(&c, "", ecl_yaml_pos(root), root, top_keys, ELEMENTSOF(top_keys), m, NULL))
                check_trees(&c, m);
        ecl_yaml_doc_done(&doc);
        r = mctx_done(&c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int file_error(struct ecl_diags *diags, const char *path, int r, const char *what) {
        if (ecl_diags_add(diags, path, (struct ecl_pos){0, 0}, NULL, "%s", what) < 0)
                return -ENOMEM;
        return r;
}

int ecl_manifest_load_file(const char *path, struct ecl_manifest **ret, struct ecl_diags *diags) {
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len = 0;
        int r = ecl_file_read(path, ECL_MANIFEST_MAX_SIZE, &buf, &len, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return file_error(diags, path, r, why ? why : strerror(-r));
        return ecl_manifest_load_buffer(path, buf, len, ret, diags);
}
