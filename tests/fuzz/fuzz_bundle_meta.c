/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for bundle.yaml (agent_bundle_meta_parse) and, on the
 * same input, the approval statement parser (one target: CI fuzzes each for
 * a fixed time).  A bundle either parses into a model whose every value is
 * valid, whose stack, licensor and version make a statement that formats,
 * or fails with well-formed one-line diagnostics; a statement that parses
 * formats back to exactly the input.  Nothing may crash, leak or hang.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle-meta.h"
#include "hex.h"
#include "fuzz-diags.h"
#include "manifest.h"
#include "stack-name.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_model(const struct agent_bundle_meta *m) {
        if (m->format != AGENT_BUNDLE_FORMAT || !ecl_stack_name_valid(m->stack) || !m->licensor ||
            strlen(m->licensor) > ECL_LICENSOR_MAX || m->released >= m->expires)
                abort();
        struct agent_version v;
        if (!m->version_text || agent_version_parse(m->version_text, &v, NULL) < 0 || v.n != m->version.n ||
            agent_version_compare(&v, &m->version) != 0)
                abort();
        if (m->notes && strlen(m->notes) > AGENT_BUNDLE_NOTES_MAX)
                abort();
        if (m->n_payload < 1 || m->n_payload > AGENT_BUNDLE_PAYLOAD_MAX)
                abort();
        for (size_t i = 0; i < m->n_payload; i++) {
                const struct agent_bundle_file *f = &m->payload[i];
                uint8_t digest[32];
                if (!f->path || strncmp(f->path, "payload/", 8) != 0 || strlen(f->path) > AGENT_BUNDLE_PATH_MAX ||
                    strstr(f->path, "//") || strstr(f->path, "/../") || strstr(f->path, "/./") ||
                    f->path[strlen(f->path) - 1] == '/')
                        abort();
                if (!f->install || !*f->install || strchr(f->install, '/') || f->install[0] == '.')
                        abort();
                if (!ecl_hex_decode(f->sha256_hex, strlen(f->sha256_hex), digest, 32) ||
                    memcmp(digest, f->sha256, 32) != 0)
                        abort();
                if (agent_bundle_meta_find(m, f->path) != f)
                        abort();
                for (size_t j = 0; j < i; j++)
                        if (strcmp(m->payload[j].install, f->install) == 0)
                                abort();
        }
        /* What import accepts, the statement officers sign can say. */
        struct agent_statement s = {
                .stack = m->stack,
                .licensor = m->licensor,
                .version = m->version_text,
                .imported = m->released,
                .nonce = "00000000000000000000000000000000",
                .approval_expires = m->expires,
        };
        char *text = NULL, *why = NULL;
        if (agent_statement_format(&s, &text, &why) < 0)
                abort();
        free(text);
        free(why);
}

static void fuzz_bundle(const uint8_t *data, size_t size) {
        struct ecl_diags d = {0};
        struct agent_bundle_meta *m = NULL;
        int r = agent_bundle_meta_parse("fuzz.yaml", (const char *) data, size, &m, &d);
        if (fuzz_parsed(r, m, &d, "fuzz.yaml", ECL_MANIFEST_MAX_ERRORS + 1)) {
                check_model(m);
                agent_bundle_meta_free(m);
        }
        ecl_diags_clear(&d);
}

static void fuzz_statement(const uint8_t *data, size_t size) {
        struct agent_statement s = {0};
        char *why = NULL, *text = NULL;
        int r = agent_statement_parse((const char *) data, size, &s, &why);
        if (r == -ENOMEM)
                abort();
        if (r == 0) {
                if (agent_statement_format(&s, &text, &why) < 0 || strlen(text) != size || memcmp(text, data, size))
                        abort();
                free(text);
                agent_statement_clear(&s);
        } else if (!why || strchr(why, '\n') || s.stack || s.licensor || s.version) {
                abort();
        }
        free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_bundle(data, size);
        fuzz_statement(data, size);
        return 0;
}
