/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle-meta.h"
#include "durable.h"
#include "fileio.h"
#include "macro.h"
#include "reason.h"
#include "store-internal.h"
#include "strutil.h"

bool agent_store_lower_hex(const char *s, size_t n) {
        return strspn(s, "0123456789abcdef") == n && s[n] == '\0';
}

bool agent_store_id_valid(const char *s) {
        return s && strlen(s) == AGENT_BUNDLE_ID_LEN && agent_store_lower_hex(s, AGENT_BUNDLE_ID_LEN);
}

/*
 * Dotted numbers: the syntax of bundle.yaml's version (bundle-meta.h) as far
 * as it is needed to trust a stored text as a directory name and a version;
 * agent_version_parse() can take its place when it is there.
 */
bool agent_store_version_valid(const char *s) {
        size_t n = strlen(s), parts = 0;
        if (n == 0 || n > AGENT_VERSION_TEXT_MAX)
                return false;
        for (const char *p = s;; p++) {
                size_t d = strspn(p, "0123456789");
                if (d == 0 || (d > 1 && p[0] == '0') || ++parts > AGENT_VERSION_PARTS)
                        return false;
                if (d > 10 || (d == 10 && strncmp(p, "4294967295", 10) > 0)) /* each part a uint32_t */
                        return false;
                p += d;
                if (*p == '\0')
                        return true;
                if (*p != '.')
                        return false;
        }
}

/* o is an object with exactly the keys keys[0..n). */
int agent_store_json_keys(json_t *o, const char *const *keys, size_t n, const char *what, char **ret_reason) {
        if (!json_is_object(o))
                return ecl_reason(ret_reason, -EBADMSG, "%s: not a JSON object", what);
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
                size_t i = 0;
                while (i < n && !streq(keys[i], k))
                        i++;
                if (i == n)
                        return ecl_reason(ret_reason, -EBADMSG, "%s: unknown key \"%.64s\"", what, k);
        }
        for (size_t i = 0; i < n; i++)
                if (!json_object_get(o, keys[i]))
                        return ecl_reason(ret_reason, -EBADMSG, "%s: no \"%s\"", what, keys[i]);
        return 0;
}

/* o[key], a string valid() accepts (or null when nullable: *ret NULL); *ret is a copy. */
int agent_store_json_string(json_t *o, const char *key, bool nullable, bool (*valid)(const char *), char **ret,
                            const char *what, char **ret_reason) {
        json_t *v = json_object_get(o, key);
        if (nullable && json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not a string%s", what, key,
                                  nullable ? " or null" : "");
        if (valid && !valid(json_string_value(v)))
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not valid: \"%.64s\"", what, key,
                                  json_string_value(v));
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : ecl_reason(ret_reason, -ENOMEM, "out of memory");
}

int agent_store_json_time(json_t *o, const char *key, uint64_t *ret, const char *what, char **ret_reason) {
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not a time (seconds since the epoch)", what,
                                  key);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

int agent_store_json_enum(json_t *o, const char *key, const char *const *names, size_t n, int *ret, const char *what,
                          char **ret_reason) {
        json_t *v = json_object_get(o, key);
        int e = json_is_string(v) ? ecl_enum_from_name(names, n, json_string_value(v)) : -EINVAL;
        if (e < 0)
                return ecl_reason(ret_reason, -EBADMSG, "%s: \"%s\" is not one of its names", what, key);
        *ret = e;
        return 0;
}

/* Parse buf as a JSON document; *ret the object. */
static int load(const char *buf, size_t len, json_t **ret, const char *what, char **ret_reason) {
        json_error_t err;
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                return ecl_reason(ret_reason, -EBADMSG, "%s: not JSON: %s (line %d)", what, err.text, err.line);
        *ret = j;
        return 0;
}

/* Write j to dirfd/name atomically, indented, with a final newline. */
int agent_store_json_write(int dirfd, const char *name, json_t *j, const char *what, char **ret_reason) {
        _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        size_t n = strlen(text);
        char *t = realloc(text, n + 2);
        if (!t)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        text = t;
        memcpy(text + n, "\n", 2);
        if (n + 1 > AGENT_STORE_FILE_MAX)
                return ecl_reason(ret_reason, -EINVAL, "%s: too large to store (%zu bytes)", what, n + 1);
        _cleanup_free_ char *why = NULL;
        int r = ecl_write_atomic_at(dirfd, name, text, n + 1, 0600, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", what, ecl_reason_text(why, r));
        return 0;
}

/* Read dirfd/name (fileio.h: no link, a regular file, capped) and parse it. */
int agent_store_json_read(int dirfd, const char *name, json_t **ret, const char *what, char **ret_reason) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL, *why = NULL;
        size_t len;
        int r = ecl_file_open_at(dirfd, name, AGENT_STORE_FILE_MAX, &fd, NULL, &why);
        if (r >= 0)
                r = ecl_file_read_fd(fd, AGENT_STORE_FILE_MAX, &buf, &len, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s: %s", what, ecl_reason_text(why, r));
        return load(buf, len, ret, what, ret_reason);
}
