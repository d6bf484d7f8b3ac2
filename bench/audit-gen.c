/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Write a valid audit log of N records to FILE, fast: the same line writer
 * as ecl_audit_append() (ecl_audit_format_line), without the per-record
 * lock, fsync and syslog.  Used by bench/audit-verify.sh.
 *
 *   audit-gen N FILE
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit-record.h"

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: audit-gen N FILE\n");
                return 64;
        }
        uint64_t n = strtoull(argv[1], NULL, 10);
        FILE *out = fopen(argv[2], "we");
        if (!out) {
                perror(argv[2]);
                return 73;
        }
        static char obuf[1 << 20];
        setvbuf(out, obuf, _IOFBF, sizeof obuf);
        struct ecl_audit_hasher *h;
        if (ecl_audit_hasher_new(&h) < 0)
                return 70;
        char prev[ECL_AUDIT_HASH_LEN + 1] = ECL_AUDIT_GENESIS, hash[ECL_AUDIT_HASH_LEN + 1];
        static const char *events[] = {"bundle.imported", "bundle.approved", "release.applied", "access.granted",
                                        "note"};
        static const char *actors[] = {"alice@example.eu", "bob@example.eu", "ecluse", "carol \"ops\" lead"};
        for (uint64_t i = 1; i <= n; i++) {
                char version[32], t[ECL_RFC3339_LEN + 1];
                snprintf(version, sizeof version, "1.%" PRIu64 ".%" PRIu64, i / 1000, i % 1000);
                ecl_rfc3339_format((time_t) (1790000000 + i), t);
                json_t *d = json_pack("{s:s,s:s,s:I,s:s}", "stack", "office", "version", version, "size",
                                      (json_int_t) (i * 4096), "why", "routine update, quorum 2/2 reached");
                char *line;
                size_t len;
                if (!d || ecl_audit_format_line(h, i, t, prev, actors[i % 4], events[i % 5], "office", d, &line, &len,
                                                hash, NULL) < 0)
                        return 70;
                fwrite(line, 1, len, out);
                free(line);
                json_decref(d);
                memcpy(prev, hash, sizeof prev);
        }
        ecl_audit_hasher_free(h);
        if (fclose(out) != 0) {
                perror(argv[2]);
                return 74;
        }
        return 0;
}
