/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-audit.h"
#include "audit-log.h"
#include "fileio.h"
#include "macro.h"
#include "paths.h"
#include "reason.h"

int agent_audit_path(const char *root, const char *log, char **ret) {
        if (log && *log) {
                *ret = strdup(log);
                return *ret ? 0 : -ENOMEM;
        }
        return ecl_path(ret, root, ECL_AUDIT_LOG);
}

const char *agent_audit_self(char *buf, size_t size) {
        struct passwd pw, *res = NULL;
        char tmp[1024];
        uid_t uid = getuid();
        if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_name && *res->pw_name)
                snprintf(buf, size, "%s", res->pw_name);
        else
                snprintf(buf, size, "uid %u", (unsigned) uid);
        return buf;
}

int agent_audit(const char *root, const char *log, const char *actor, const char *event, const char *subject,
                const json_t *details, char **ret_warning, char **ret_reason) {
        _cleanup_free_ char *path = NULL;
        if (agent_audit_path(root, log, &path) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        char self[128];
        json_auto_t *d = details ? json_deep_copy(details) : json_object();
        if (!d || json_object_set_new(d, "by", json_string(agent_audit_self(self, sizeof self))) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *why = NULL;
        int r = ecl_mkdir_parent(path, 0750, &why);
        if (r < 0)
                return ecl_reason(ret_reason, r, "the audit log %s: %s", path, ecl_reason_text(why, r));
        struct ecl_audit_repair repair = {0};
        r = ecl_audit_append(path, actor, event, subject ? subject : "", d, NULL, &repair, &why);
        if (repair.kind != ECL_AUDIT_REPAIR_NONE && ret_warning)
                (void) ecl_reason(ret_warning, 0, "%s: %s", path, repair.text);
        if (r < 0)
                return ecl_reason(ret_reason, r, "%s", ecl_reason_text(why, r));
        return 0;
}
