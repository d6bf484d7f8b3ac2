/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the sources of the store (store.c: the tree, imports, IDs;
 * store-json.c: strict JSON; store-record.c: bundle records; store-stack.c:
 * stack states) share, and no other module uses.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

struct agent_store {
        int quarantine_fd;
        int stacks_fd;
        char *root;       /* --root, "" for the host */
        char *quarantine; /* the paths, for reasons */
        char *stacks;
};

/* A time JSON can hold (json_int_t). */
#define AGENT_STORE_TIME_OK(t) ((t) <= (uint64_t) INT64_MAX)

/* s[0..n) is lowercase hex and s ends there. */
bool agent_store_lower_hex(const char *s, size_t n);
/* s is AGENT_BUNDLE_ID_LEN lowercase hex digits. */
bool agent_store_id_valid(const char *s);
/* s is a version: dotted numbers. */
bool agent_store_version_valid(const char *s);

/* dfd/name made (mode) or reused, no link followed; a new one fsync'd into dfd.  *ret_fd its descriptor. */
int agent_store_subdir(int dfd, const char *name, mode_t mode, const char *where, int *ret_fd, char **ret_reason);

/* agent_record_read() from the directory dirfd (an entry's, or an import's). */
int agent_record_read_at(int dirfd, const char *id, struct agent_bundle_record *ret, char **ret_reason);

/*
 * Strict JSON, every problem -EBADMSG with what (the file, in words) first in
 * the reason.  Read dirfd/name (fileio.h: no link, a regular file, at most
 * AGENT_STORE_FILE_MAX bytes), duplicate keys refused.
 */
int agent_store_json_read(int dirfd, const char *name, json_t **ret, const char *what, char **ret_reason);
/* Replace dirfd/name with j (indented, a final newline), ecl_write_atomic_at(), mode 0600. */
int agent_store_json_write(int dirfd, const char *name, json_t *j, const char *what, char **ret_reason);
/* o is an object with exactly the keys keys[0..n). */
int agent_store_json_keys(json_t *o, const char *const *keys, size_t n, const char *what, char **ret_reason);
/* o[key], a string valid() accepts (or null when nullable: *ret NULL); *ret is a copy. */
int agent_store_json_string(json_t *o, const char *key, bool nullable, bool (*valid)(const char *), char **ret,
                            const char *what, char **ret_reason);
/* o[key], an integer 0..INT64_MAX. */
int agent_store_json_time(json_t *o, const char *key, uint64_t *ret, const char *what, char **ret_reason);
/* o[key], one of names[0..n). */
int agent_store_json_enum(json_t *o, const char *key, const char *const *names, size_t n, int *ret, const char *what,
                          char **ret_reason);
