/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit line parser.  Beyond "no crash": every line the scanner accepts
 * must be exactly what the writer produces for the same record, and its
 * details must be read the same way by jansson and written back identically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit-json.h"
#include "audit-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const char *line, size_t len, const struct ecl_audit_line *l) {
        const char *why;
        struct ecl_audit_record rec;
        if (ecl_audit_record_parse(line, len, &rec, &why) < 0)
                abort();
        json_error_t err;
        json_t *details = json_loadb(l->details.s, l->details.len, 0, &err);
        if (!details || !json_is_object(details))
                abort();
        /* jansson re-read + canonical writer = the same bytes. */
        char *buf = NULL;
        size_t bl = 0;
        FILE *f = open_memstream(&buf, &bl);
        if (!f || ecl_audit_json_write_value(f, details) < 0)
                abort();
        fclose(f);
        if (bl != l->details.len || memcmp(buf, l->details.s, bl) != 0)
                abort();
        free(buf);
        /* The writer, given the decoded record, reproduces the hashed part exactly. */
        struct ecl_audit_hasher *h = NULL;
        if (ecl_audit_hasher_new(&h) < 0)
                abort();
        char *out = NULL, hash[ECL_AUDIT_HASH_LEN + 1];
        size_t ol = 0;
        if (ecl_audit_format_line(h, rec.seq, rec.time, rec.prev, rec.actor, rec.event, rec.subject, details, &out, &ol,
                                  hash, NULL) < 0)
                abort();
        if (ol < l->hashed_len || memcmp(out, line, l->hashed_len) != 0)
                abort();
        /* ...and the hash the scanner-side computes is the writer's. */
        char again[ECL_AUDIT_HASH_LEN + 1];
        if (ecl_audit_hasher_line(h, line, l->hashed_len, again) < 0 || strcmp(again, hash) != 0)
                abort();
        free(out);
        ecl_audit_hasher_free(h);
        json_decref(details);
        ecl_audit_record_done(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *line = (const char *) data, *why = NULL;
        if (size > 0 && line[size - 1] == '\n')
                size--;
        struct ecl_audit_line l;
        if (ecl_audit_line_scan(line, size, &l, &why) == 0)
                check_roundtrip(line, size, &l);
        else if (!why)
                abort();
        /* The JSON scanner on its own, from the first byte. */
        const char *end = line + size;
        const char *p = ecl_audit_json_scan_value(line, end, &why);
        if (p && (p < line || p > end))
                abort();
        return 0;
}
