/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "policy-hooks.h"
#include "policy-ir.h"
#include "reason.h"

/* Whether the name at p (up to '"', ',', ' ', '}' or the end) is dev, or a prefix of it ending in '*'. */
static bool name_hooks(const char *p, const char *dev) {
        size_t n = strcspn(p, "\", }");
        if (n > 0 && p[n - 1] == '*')
                return strncmp(p, dev, n - 1) == 0;
        return n == strlen(dev) && strncmp(p, dev, n) == 0;
}

bool pol_hooks_device(const char *line, const char *dev) {
        const char *p = strstr(line, "device \"");
        if (p)
                return name_hooks(p + strlen("device \""), dev);
        p = strstr(line, "devices = {");
        if (!p)
                return false;
        p += strlen("devices = {");
        const char *end = strchr(p, '}');
        for (; p && end && p < end; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
                while (*p == ' ' || *p == '"')
                        p++;
                if (p < end && name_hooks(p, dev))
                        return true;
        }
        return false;
}

int pol_foreign_hooks(char *listing, bool flowtables, const char *ours, const char *const devs[2],
                      char **ret_problem) {
        char family[16] = "", table[POL_NAME_MAX] = "", flowtable[POL_NAME_MAX] = "";
        for (char *line = listing, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (sscanf(line, "table %15s %47s {", family, table) == 2) {
                        flowtable[0] = '\0';
                        continue;
                }
                if (flowtables) {
                        /* flowtable NAME {, then hook and devices on lines of their own */
                        if (sscanf(line, " flowtable %47s {", flowtable) == 1)
                                continue;
                        if (!flowtable[0] || strncmp(line + strspn(line, " \t"), "devices = {", 11) != 0)
                                continue;
                        for (size_t i = 0; i < 2; i++)
                                if (pol_hooks_device(line, devs[i]))
                                        return ecl_reason(ret_problem, -ESRCH, "table %s %s flowtable %s hooks %s too",
                                                           family, table, flowtable, devs[i]);
                        continue;
                }
                if (!strstr(line, " hook "))
                        continue;
                bool is_ours = streq(family, "netdev") && streq(table, ours);
                for (size_t i = 0; i < 2 && !is_ours; i++)
                        if (pol_hooks_device(line, devs[i]))
                                return ecl_reason(ret_problem, -ESRCH, "table %s %s hooks %s too", family, table, devs[i]);
        }
        return 0;
}
