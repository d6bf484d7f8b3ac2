/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "reason.h"
#include "stack-name.h"
#include "store-internal.h"
#include "strutil.h"

static const char *const state_names[] = {
        [AGENT_BUNDLE_QUARANTINED] = "quarantined", [AGENT_BUNDLE_APPROVED] = "approved",
        [AGENT_BUNDLE_APPLYING] = "applying",       [AGENT_BUNDLE_APPLIED] = "applied",
        [AGENT_BUNDLE_ROLLED_BACK] = "rolled-back", [AGENT_BUNDLE_REJECTED] = "rejected",
        [AGENT_BUNDLE_EXPIRED] = "expired",         [AGENT_BUNDLE_SUPERSEDED] = "superseded",
        [AGENT_BUNDLE_DAMAGED] = "damaged",
};

const char *agent_bundle_state_to_string(enum agent_bundle_state s) {
        return ECL_ENUM_NAME(state_names, s);
}

static bool digest_valid(const char *s) {
        return strlen(s) == 64 && agent_store_lower_hex(s, 64);
}

static bool reason_valid(const char *s) {
        return !ecl_str_has_control(s, strlen(s));
}

/* agent_store_json_string() into a fixed buffer of size bytes. */
static int get_fixed(json_t *o, const char *key, bool (*valid)(const char *), char *buf, size_t size, const char *what,
                     char **ret_reason) {
        _cleanup_free_ char *s = NULL;
        int r = agent_store_json_string(o, key, false, valid, &s, what, ret_reason);
        if (r < 0)
                return r;
        if (strlen(s) >= size) /* what valid() accepts fits: a mistake here */
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is too long", what, key);
        memcpy(buf, s, strlen(s) + 1);
        return 0;
}

static const char *const record_keys[] = {
        "id",      "digest",           "stack",   "version", "state", "downgrade", "imported",
        "expires", "approval-expires", "changed", "reason",
};

void agent_record_clear(struct agent_bundle_record *r) {
        free(r->stack);
        free(r->version);
        free(r->reason);
        *r = (struct agent_bundle_record){};
}

void agent_record_list_free(struct agent_bundle_record *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                agent_record_clear(&v[i]);
        free(v);
}

static int record_parse(json_t *o, const char *id, struct agent_bundle_record *ret, const char *what,
                        char **ret_reason) {
        struct agent_bundle_record rec = {};
        int state = 0, r = agent_store_json_keys(o, record_keys, ELEMENTSOF(record_keys), what, ret_reason);
        json_t *down = json_object_get(o, "downgrade");
        if (r >= 0)
                r = get_fixed(o, "id", agent_store_id_valid, rec.id, sizeof rec.id, what, ret_reason);
        if (r >= 0)
                r = get_fixed(o, "digest", digest_valid, rec.digest, sizeof rec.digest, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "stack", false, ecl_stack_name_valid, &rec.stack, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "version", false, agent_store_version_valid, &rec.version, what,
                                            ret_reason);
        if (r >= 0)
                r = agent_store_json_enum(o, "state", state_names, ELEMENTSOF(state_names), &state, what, ret_reason);
        if (r >= 0 && state == AGENT_BUNDLE_DAMAGED)
                r = ecl_reason(ret_reason, -EBADMSG, "%s: \"state\" is not one of its names", what);
        if (r >= 0 && !json_is_boolean(down))
                r = ecl_reason(ret_reason, -EBADMSG, "%s: \"downgrade\" is not true or false", what);
        if (r >= 0)
                r = agent_store_json_time(o, "imported", &rec.imported, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_time(o, "expires", &rec.expires, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_time(o, "approval-expires", &rec.approval_expires, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_time(o, "changed", &rec.changed, what, ret_reason);
        if (r >= 0)
                r = agent_store_json_string(o, "reason", true, reason_valid, &rec.reason, what, ret_reason);
        if (r >= 0 && (!streq(rec.id, id) || strncmp(rec.digest, id, AGENT_BUNDLE_ID_LEN) != 0))
                r = ecl_reason(ret_reason, -EBADMSG, "%s: the record of bundle %s (digest %s)", what, rec.id,
                               rec.digest);
        if (r < 0) {
                agent_record_clear(&rec);
                return r;
        }
        rec.state = state;
        rec.downgrade = json_is_true(down);
        *ret = rec;
        return 0;
}

int agent_record_read_at(int dirfd, const char *id, struct agent_bundle_record *ret, char **ret_reason) {
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "record of bundle %s", id) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        json_auto_t *o = NULL;
        int r = agent_store_json_read(dirfd, AGENT_RECORD_FILE, &o, what, ret_reason);
        if (r < 0)
                return r;
        return record_parse(o, id, ret, what, ret_reason);
}

int agent_record_read(struct agent_store *s, const char *id, struct agent_bundle_record *ret, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        int r = agent_store_open_entry(s, id, &fd, ret_reason);
        if (r < 0)
                return r;
        return agent_record_read_at(fd, id, ret, ret_reason);
}

int agent_record_write_at(int dirfd, const struct agent_bundle_record *rec, char **ret_reason) {
        const char *state = agent_bundle_state_to_string(rec->state);
        if (!agent_store_id_valid(rec->id) || !digest_valid(rec->digest) ||
            strncmp(rec->digest, rec->id, AGENT_BUNDLE_ID_LEN) != 0)
                return ecl_reason(ret_reason, -EINVAL, "a record needs an ID and the digest it starts");
        if (!rec->stack || !ecl_stack_name_valid(rec->stack) || !rec->version ||
            !agent_store_version_valid(rec->version) || !state || rec->state == AGENT_BUNDLE_DAMAGED ||
            (rec->reason && !reason_valid(rec->reason)) || !AGENT_STORE_TIME_OK(rec->imported) ||
            !AGENT_STORE_TIME_OK(rec->expires) || !AGENT_STORE_TIME_OK(rec->approval_expires) ||
            !AGENT_STORE_TIME_OK(rec->changed))
                return ecl_reason(ret_reason, -EINVAL, "the record of bundle %s cannot be written as it is", rec->id);
        json_auto_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:s?}", "id", rec->id, "digest",
                                   rec->digest, "stack", rec->stack, "version", rec->version, "state", state,
                                   "downgrade", (int) rec->downgrade, "imported", (json_int_t) rec->imported, "expires",
                                   (json_int_t) rec->expires, "approval-expires", (json_int_t) rec->approval_expires,
                                   "changed", (json_int_t) rec->changed, "reason", rec->reason);
        if (!o)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "record of bundle %s", rec->id) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return agent_store_json_write(dirfd, AGENT_RECORD_FILE, o, what, ret_reason);
}

int agent_record_write(struct agent_store *s, const struct agent_bundle_record *rec, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        int r = agent_store_open_entry(s, rec->id, &fd, ret_reason);
        if (r < 0)
                return r;
        return agent_record_write_at(fd, rec, ret_reason);
}
