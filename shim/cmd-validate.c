/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>

#include "commands.h"
#include "log.h"
#include "manifest.h"

/* validate MANIFEST...: every problem of every file, one line each. */
int shim_cmd_validate(const struct ecl_cli *cli, int argc, char **argv) {
        (void) cli;
        if (argc < 2) {
                log_error("validate needs at least one manifest (validate MANIFEST...)");
                return EX_USAGE;
        }
        int status = EX_OK;
        for (int i = 1; i < argc; i++) {
                struct ecl_diags diags = {0};
                _cleanup_manifest_ struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(argv[i], &m, &diags);
                ecl_diags_print(&diags, stderr);
                ecl_diags_clear(&diags);
                if (r < 0) {
                        int s = ecl_exit_status(r);
                        /* Bad data outranks a missing file: 65 if any manifest is wrong. */
                        if (status == EX_OK || s == EX_DATAERR)
                                status = s;
                } else if (!cli->json) {
                        printf("%s: ok (stack %s)\n", argv[i], m->stack);
                }
        }
        return status;
}
