/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "output.h"
#include "status-print.h"
#include "strutil.h"

static void put_value(FILE *f, json_t *v) {
        if (!v) {
                fputs("unknown", f);
                return;
        }
        if (json_is_string(v)) {
                ecl_fput_printable(f, json_string_value(v));
                return;
        }
        _cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ecl_fput_printable(f, s ? s : "?");
}

/* {"egress": 3, "ingress": 0} as "egress 3, ingress 0". */
static bool put_counts(FILE *f, json_t *v) {
        const char *key;
        json_t *x;
        if (!json_is_object(v) || json_object_size(v) == 0)
                return false;
        json_object_foreach(v, key, x)
                if (!json_is_integer(x) && !json_is_null(x))
                        return false;
        bool first = true;
        json_object_foreach(v, key, x) {
                fputs(first ? "" : ", ", f);
                ecl_fput_printable(f, key);
                fputc(' ', f);
                put_value(f, json_is_null(x) ? NULL : x);
                first = false;
        }
        return true;
}

/* ["a", "b"] as "a b", [] as "none". */
static bool put_names(FILE *f, json_t *v) {
        size_t i;
        json_t *x;
        if (!json_is_array(v))
                return false;
        json_array_foreach(v, i, x)
                if (!json_is_string(x))
                        return false;
        if (json_array_size(v) == 0)
                fputs("none", f);
        json_array_foreach(v, i, x) {
                fputs(i ? " " : "", f);
                ecl_fput_printable(f, json_string_value(x));
        }
        return true;
}

int shim_print_object(FILE *f, json_t *j, enum ecl_json_style style) {
        if (style != ECL_JSON_OFF)
                return ecl_output_json(f, style, j) < 0 ? -ENOMEM : 0;
        if (!json_is_object(j)) {
                put_value(f, j);
                fputc('\n', f);
                return 0;
        }
        json_t *stack = json_object_get(j, "stack"), *state = json_object_get(j, "state");
        if (stack)
                put_value(f, stack);
        else
                fputc('?', f);
        fputs(": ", f);
        if (state)
                put_value(f, state);
        else
                fputs("(no state)", f);
        fputc('\n', f);
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
                if (streq(key, "stack") || streq(key, "state"))
                        continue;
                fputs("  ", f);
                ecl_fput_printable(f, key);
                fputs(": ", f);
                /* what could not be recorded, for people: "egress 3, ingress 0", "blk_out_p4_first ..." */
                if (!(streq(key, "unrecorded") && put_counts(f, v)) && !(streq(key, "full_sets") && put_names(f, v)))
                        put_value(f, v);
                fputc('\n', f);
        }
        return 0;
}
