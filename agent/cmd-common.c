/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd-common.h"
#include "log.h"
#include "macro.h"
#include "reason.h"

int agent_cmd_open_store(const struct ecl_cli *cli, struct agent_store **ret) {
        _cleanup_free_ char *why = NULL;
        int r = agent_store_open(cli->root, ret, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        return 0;
}
