/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit-checkpoint.h"
#include "fileio.h"
#include "reason.h"

#define MAGIC "ecluse-audit-checkpoint v1\n"

int ecl_audit_checkpoint_format(const struct ecl_audit_checkpoint *cp, char **ret) {
        if (asprintf(ret, MAGIC "records %" PRIu64 "\nhead %.64s\n", cp->records, cp->head) < 0)
                return -ENOMEM;
        return 0;
}

int ecl_audit_checkpoint_parse(const char *text, size_t len, struct ecl_audit_checkpoint *ret) {
        const char *p = text, *end = text + len;
        struct ecl_audit_checkpoint cp = {0};
        if (len > ECL_AUDIT_CHECKPOINT_MAX || (size_t) (end - p) < strlen(MAGIC) ||
            memcmp(p, MAGIC, strlen(MAGIC)) != 0)
                return -EBADMSG;
        p += strlen(MAGIC);
        if (end - p < 8 || memcmp(p, "records ", 8) != 0)
                return -EBADMSG;
        p += 8;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9') {
                if (p - digits >= 16)
                        return -EBADMSG;
                cp.records = cp.records * 10 + (uint64_t) (*p - '0');
                p++;
        }
        if (p == digits || (*digits == '0' && p - digits > 1) || cp.records > ECL_AUDIT_SEQ_MAX)
                return -EBADMSG;
        if (end - p < 6 || memcmp(p, "\nhead ", 6) != 0)
                return -EBADMSG;
        p += 6;
        if (end - p != ECL_AUDIT_HASH_LEN + 1 || p[ECL_AUDIT_HASH_LEN] != '\n')
                return -EBADMSG;
        for (size_t i = 0; i < ECL_AUDIT_HASH_LEN; i++)
                if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
                        return -EBADMSG;
        memcpy(cp.head, p, ECL_AUDIT_HASH_LEN);
        if (cp.records == 0 && strcmp(cp.head, ECL_AUDIT_GENESIS) != 0)
                return -EBADMSG;
        *ret = cp;
        return 0;
}

int ecl_audit_checkpoint_load(const char *path, struct ecl_audit_checkpoint *ret, char **ret_text, size_t *ret_len,
                              char **ret_reason) {
        _cleanup_free_ char *text = NULL, *why = NULL;
        size_t len = 0;
        int r = ecl_file_read(path, ECL_AUDIT_CHECKPOINT_MAX, &text, &len, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "checkpoint %s: %s", path, ecl_reason_text(why, r));
        if (ecl_audit_checkpoint_parse(text, len, ret) < 0)
                return ecl_reason(ret_reason, -EBADMSG,
                                  "%s: not an audit checkpoint (expected \"ecluse-audit-checkpoint v1\", "
                                  "\"records N\", \"head HASH\" lines)",
                                  path);
        if (ret_text)
                *ret_text = TAKE_PTR(text);
        if (ret_len)
                *ret_len = len;
        return 0;
}
