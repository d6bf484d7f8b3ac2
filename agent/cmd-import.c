/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecluse-agent import [--downgrade] BUNDLE
 *
 * Verify a vendor bundle and quarantine it (import.h says in which order);
 * on a terminal, a progress bar on stderr while the payload streams.  Every
 * outcome is audited: `imported` (written before the entry appears, so the
 * log never misses one) or `import-refused`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent-audit.h"
#include "commands.h"
#include "import.h"
#include "log.h"
#include "output.h"
#include "reason.h"
#include "rfc3339.h"
#include "statement.h"

enum { OPT_DOWNGRADE = 1 };

struct progress {
        bool tty;
        struct timespec start;
        uint64_t last_ms;
        bool shown;
};

struct ctx {
        const struct ecl_cli *cli;
        const char *bundle;
        struct progress progress;
};

static uint64_t ms_since(const struct timespec *t0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (uint64_t) (now.tv_sec - t0->tv_sec) * 1000 + (uint64_t) ((now.tv_nsec - t0->tv_nsec) / 1000000);
}

static const char *human(uint64_t n, char *buf, size_t size) {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = (double) n;
        unsigned u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
        return buf;
}

/* userdata is the struct ctx that before_commit() gets too */
static void progress(uint64_t done, uint64_t total, void *userdata) {
        struct progress *p = &((struct ctx *) userdata)->progress;
        if (!p->tty)
                return;
        uint64_t ms = ms_since(&p->start);
        if (done < total && ms - p->last_ms < 100 && p->shown)
                return;
        p->last_ms = ms;
        p->shown = true;
        char a[32], b[32], rate[32];
        unsigned pct = total ? (unsigned) (done * 100 / total) : 100;
        unsigned width = 30, fill = total ? (unsigned) (done * width / total) : width;
        char bar[64];
        for (unsigned i = 0; i < width; i++)
                bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (ms >= 100)
                snprintf(rate, sizeof rate, "%s/s", human(done * 1000 / ms, a, sizeof a));
        else
                snprintf(rate, sizeof rate, "-");
        fprintf(stderr, "\r[%s] %3u%%  %s / %s  %s ", bar, pct, human(done, a, sizeof a), human(total, b, sizeof b),
                rate);
        if (done >= total)
                fputc('\n', stderr);
        fflush(stderr);
}

static json_t *details_of(const struct ctx *c, const struct agent_import_result *r) {
        json_t *d = json_pack("{s:s}", "bundle", c->bundle);
        if (!d)
                return NULL;
        if (r->digest[0]) {
                json_object_set_new(d, "id", json_string(r->id));
                json_object_set_new(d, "digest", json_string(r->digest));
        }
        if (r->stack)
                json_object_set_new(d, "stack", json_string(r->stack));
        if (r->version)
                json_object_set_new(d, "version", json_string(r->version));
        if (r->vendor) {
                json_object_set_new(d, "vendor", json_string(r->vendor));
                json_object_set_new(d, "vendor_key", json_string(r->vendor_fingerprint));
        }
        return d;
}

/* The `imported` record, written before the entry becomes visible. */
static int before_commit(const struct agent_import_result *r, void *userdata, char **ret_reason) {
        const struct ctx *c = userdata;
        json_auto_t *d = details_of(c, r);
        char t[ECL_RFC3339_TEXT_MAX];
        if (!d || json_object_set_new(d, "decision", json_string(agent_decision_to_string(r->decision))) < 0 ||
            json_object_set_new(d, "files", json_integer((json_int_t) r->n_payload)) < 0 ||
            json_object_set_new(d, "bytes", json_integer((json_int_t) r->payload_bytes)) < 0 ||
            json_object_set_new(d, "approval_expires", json_string(ecl_rfc3339_text(r->approval_expires, t))) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        char self[128];
        _cleanup_free_ char *warning = NULL;
        int k = agent_audit(c->cli->root, c->cli->log, agent_audit_self(self, sizeof self), "imported", r->stack, d,
                            &warning, ret_reason);
        if (warning)
                log_warning("%s", warning);
        return k;
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        struct agent_import_options o = {.progress = progress, .before_commit = before_commit, .log = cli->log};
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        while ((c = ecl_cli_next(&p)) > 0)
                if (c == OPT_DOWNGRADE)
                        o.downgrade = true;
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        struct ctx ctx = {.cli = cli, .bundle = argv[p.ind], .progress = {.tty = isatty(STDERR_FILENO) == 1}};
        clock_gettime(CLOCK_MONOTONIC, &ctx.progress.start);
        o.userdata = &ctx;

        struct agent_import_result res = {0};
        _cleanup_free_ char *why = NULL;
        r = agent_import(cli->root, ctx.bundle, &o, &res, &why);
        if (ctx.progress.shown && r < 0)
                fputc('\n', stderr);
        if (r < 0) {
                log_error("%s", ecl_reason_text(why, r));
                json_auto_t *d = details_of(&ctx, &res);
                char self[128];
                _cleanup_free_ char *warning = NULL, *awhy = NULL;
                int k = -ENOMEM;
                if (d && json_object_set_new(d, "reason", json_string(ecl_reason_text(why, r))) == 0)
                        k = agent_audit(cli->root, cli->log, agent_audit_self(self, sizeof self), "import-refused",
                                        res.stack, d, &warning, &awhy);
                if (warning)
                        log_warning("%s", warning);
                if (k < 0)
                        log_error("the refusal is not in the audit log: %s", ecl_reason_text(awhy, k));
                agent_import_result_clear(&res);
                return r;
        }
        char t[ECL_RFC3339_TEXT_MAX];
        if (cli->json) {
                json_auto_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", res.id, "digest",
                                           res.digest, "stack", res.stack, "version", res.version, "state",
                                           "quarantined", "decision", agent_decision_to_string(res.decision),
                                           "files", (json_int_t) res.n_payload, "bytes",
                                           (json_int_t) res.payload_bytes);
                if (!j || ecl_output_json(stdout, cli->json, j) < 0)
                        r = log_oom();
        } else {
                char b[32];
                printf("%s\n", res.id);
                printf("imported %s: stack %s version %s (%s), %zu files, %s, signed by %s\n", res.id, res.stack,
                       res.version, agent_decision_to_string(res.decision), res.n_payload,
                       human(res.payload_bytes, b, sizeof b), res.vendor);
                printf("quarantined until approved; officers review it with `ecluse-agent show %s` and sign "
                       "`ecluse-agent statement %s` by %s\n",
                       res.id, res.id, ecl_rfc3339_text(res.approval_expires, t));
        }
        agent_import_result_clear(&res);
        return r < 0 ? r : EX_OK;
}

const struct ecl_command agent_cmd_import = {
        .name = "import",
        .args = "BUNDLE",
        .summary = "verify a vendor bundle (signature, contents, this host's stack) and quarantine it",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("downgrade", OPT_DOWNGRADE, NULL,
                                   "accept a version not newer than the stack's floor, as a downgrade decision"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};
