/* SPDX-License-Identifier: Apache-2.0 */
#include "stack-name.h"

#include <string.h>

bool ecl_stack_name_valid(const char *s) {
        if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        size_t n = strlen(s);
        return n <= ECL_STACK_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}
