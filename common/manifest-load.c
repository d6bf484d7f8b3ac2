/* SPDX-License-Identifier: Apache-2.0 */
/* Scaffold: replaced by the strict libyaml loader. */
#include <errno.h>

#include "manifest.h"

int ecl_manifest_load_file(const char *path, struct ecl_manifest **ret, struct ecl_diags *diags) {
        (void) ret;
        ecl_diags_add(diags, path, (struct ecl_pos){0, 0}, NULL, "manifest loader not built yet");
        return -EOPNOTSUPP;
}

int ecl_manifest_load_buffer(const char *name, const char *buf, size_t len, struct ecl_manifest **ret,
                             struct ecl_diags *diags) {
        (void) buf, (void) len, (void) ret;
        ecl_diags_add(diags, name, (struct ecl_pos){0, 0}, NULL, "manifest loader not built yet");
        return -EOPNOTSUPP;
}
