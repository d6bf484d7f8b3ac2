/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy in the kernel, through libnftables: render, load (one
 * transaction), verify, remove, and the blocked records.
 *
 * Commands are JSON built with jansson.  nftables 1.0.6 reads JSON input only
 * when JSON output is on.  Verify compares images (policy-image.h): the one
 * the load's commands make, from libnftables' netlink debug output of them
 * (kept by shim_policy_load_image, or made again by a dry run), with the
 * kernel's, from one text listing of the table with the same debug output
 * (JSON omits a netdev chain's device); that command, like the listing of
 * every chain for foreign hooks, holds only the table name, made of a stack
 * name checked against the manifest's pattern first.
 */
#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocked.h"
#include "log.h"
#include "names.h"
#include "policy-hooks.h"
#include "policy-image-compare.h"
#include "policy-image.h"
#include "policy-build.h"
#include "policy-emit.h"
#include "policy-ir.h"
#include "policy.h"
#include "reason.h"
#include "stack-name.h"

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}

/*
 * Run one command buffer.  flags: output flags (JSON: JSON in and out);
 * debug: libnftables' debug output (NFT_DEBUG_NETLINK), which goes with the
 * output; dry: check and print, commit nothing.  *ret_out (optional) gets the
 * output.  A refusal by nftables is -ECL_ESERVICE (service unavailable), with
 * *ret_reason "WHAT: nftables: FIRST ERROR LINE".  -ENOENT instead, without a
 * reason, when enoent_ok and the object does not exist.
 */
static int nft_exec(const char *what, const char *cmd, unsigned flags, unsigned debug, bool dry, bool enoent_ok,
                    char **ret_out, char **ret_reason) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        if (flags)
                nft_ctx_output_set_flags(ctx, flags);
        if (debug)
                nft_ctx_output_set_debug(ctx, debug);
        nft_ctx_set_dry_run(ctx, dry);
        if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
                const char *err = nft_ctx_get_error_buffer(ctx);
                if (enoent_ok && err && strstr(err, "No such file or directory"))
                        return -ENOENT;
                int len = err ? (int) strcspn(err, "\n") : 0;
                return ecl_reason(ret_reason, -ECL_ESERVICE, "%s: nftables: %.*s", what, len,
                                  len ? err : "command failed");
        }
        if (ret_out) {
                const char *out = nft_ctx_get_output_buffer(ctx);
                *ret_out = strdup(out ? out : "");
                if (!*ret_out)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        return 0;
}

static int nft_run_flags(const char *what, const char *cmd, unsigned flags, bool enoent_ok, char **ret_out,
                         char **ret_reason) {
        return nft_exec(what, cmd, flags, 0, false, enoent_ok, ret_out, ret_reason);
}

static int nft_run(const char *what, const char *cmd, bool json, bool enoent_ok, char **ret_out, char **ret_reason) {
        return nft_run_flags(what, cmd, json ? NFT_CTX_OUTPUT_JSON : 0, enoent_ok, ret_out, ret_reason);
}

/* A jansson value as a command, consumed; terse: without set elements. */
static int nft_run_json_flags(const char *what, json_t *j, bool terse, bool enoent_ok, char **ret_out,
                              char **ret_reason) {
        if (!j)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        _cleanup_free_ char *cmd = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!cmd)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return nft_run_flags(what, cmd, NFT_CTX_OUTPUT_JSON | (terse ? NFT_CTX_OUTPUT_TERSE : 0), enoent_ok, ret_out,
                             ret_reason);
}

static int nft_run_json(const char *what, json_t *j, bool enoent_ok, char **ret_out, char **ret_reason) {
        return nft_run_json_flags(what, j, false, enoent_ok, ret_out, ret_reason);
}

int shim_policy_render(const struct ecl_manifest *m, char **ret_text, char **ret_reason) {
        if (!m->has_network) {
                if (asprintf(ret_text, "# stack %s has no network interface: nothing to filter\n", m->stack) < 0)
                        return ecl_reason(ret_reason, -ENOMEM, "out of memory");
                return 0;
        }
        _cleanup_pol_table_ struct pol_table *t = NULL;
        int r = pol_build(m, &t, ret_reason);
        if (r < 0)
                return r;
        r = pol_emit_text(t, ret_text);
        return r == -ENOMEM ? ecl_reason(ret_reason, -ENOMEM, "out of memory") : r;
}

/*
 * Run cmd (JSON) with libnftables' netlink debug output on and build the
 * image it loads (policy-image.h); dry: do not commit it (verify's rebuild).
 */
static int run_capturing(const struct pol_table *t, const char *what, const char *cmd, bool dry,
                         struct pol_image **ret_image, char **ret_reason) {
        _cleanup_free_ char *out = NULL;
        int r = nft_exec(what, cmd, NFT_CTX_OUTPUT_JSON, ret_image ? NFT_DEBUG_NETLINK : 0, dry, false,
                         ret_image ? &out : NULL, ret_reason);
        if (r < 0 || !ret_image)
                return r;
        r = pol_image_expect(t, out, ret_image, ret_reason);
        return r == -ENOMEM ? ecl_reason(ret_reason, -ENOMEM, "out of memory") : r;
}

int shim_policy_load(const struct ecl_manifest *m, char **ret_reason) {
        return shim_policy_load_image(m, NULL, ret_reason);
}

int shim_policy_load_image(const struct ecl_manifest *m, struct pol_image **ret_image, char **ret_reason) {
        if (!ecl_stack_name_valid(m->stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        _cleanup_pol_table_ struct pol_table *t = NULL;
        int r = pol_build(m, &t, ret_reason);
        if (r < 0)
                return r;
        if (if_nametoindex(t->device) == 0)
                return ecl_reason(ret_reason, -ENODEV, "cannot load the policy of %s: tap %s does not exist", m->stack,
                                  t->device);
        if (if_nametoindex(t->uplink) == 0)
                return ecl_reason(ret_reason, -ENODEV, "cannot load the policy of %s: uplink %s does not exist",
                                  m->stack, t->uplink);
        _cleanup_free_ char *cmd = NULL;
        r = pol_emit_json(t, &cmd);
        if (r < 0)
                return ecl_reason(ret_reason, r, "cannot build the policy of %s: %s", m->stack, strerror(-r));
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "cannot load the policy of %s on %s", m->stack, t->device) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        return run_capturing(t, what, cmd, false, ret_image, ret_reason);
}

int shim_policy_remove(const char *stack, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        _cleanup_free_ char *table = NULL;
        if (shim_nft_table_name(stack, &table) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        /* add + delete: succeeds whether the table exists or not. */
        return nft_run_json("cannot remove the policy",
                            json_pack("{s:[{s:{s:{s:s,s:s}}},{s:{s:{s:s,s:s}}}]}", "nftables", "add", "table", "family",
                                      "netdev", "name", table, "delete", "table", "family", "netdev", "name", table),
                            false, NULL, ret_reason);
}

/* The table as libnftables JSON (terse: no set elements); -ENOENT when there is none. */
static int list_table_flags(const char *table, bool terse, char **ret, char **ret_reason) {
        return nft_run_json_flags(
                "cannot list the policy",
                json_pack("{s:[{s:{s:{s:s,s:s}}}]}", "nftables", "list", "table", "family", "netdev", "name", table),
                terse, true, ret, ret_reason);
}

static int list_table(const char *table, char **ret, char **ret_reason) {
        return list_table_flags(table, false, ret, ret_reason);
}

/* One set with its elements. */
static int list_set(const char *table, const char *set, char **ret, char **ret_reason) {
        return nft_run_json("cannot list the policy",
                            json_pack("{s:[{s:{s:{s:s,s:s,s:s}}}]}", "nftables", "list", "set", "family", "netdev",
                                      "table", table, "name", set),
                            true, ret, ret_reason);
}

/*
 * No chain of another table, and no flowtable, hooks the tap or the uplink
 * (any family: inet has an ingress hook too, and a flowtable's fast path
 * forwards packets itself): one that ran before ours could forward frames.
 * nftables 1.0.6 names devices only in its text listings.
 */
static int verify_no_foreign_hooks(const struct pol_table *t, char **ret_problem) {
        const char *const devs[] = {t->device, t->uplink};
        for (int flowtables = 0; flowtables < 2; flowtables++) {
                _cleanup_free_ char *out = NULL;
                int r = nft_run(flowtables ? "cannot list the flowtables" : "cannot list the chains",
                                flowtables ? "list flowtables" : "list chains", false, false, &out, ret_problem);
                if (r < 0)
                        return r;
                r = pol_foreign_hooks(out, flowtables, t->name, devs, ret_problem);
                if (r < 0)
                        return r;
        }
        return 0;
}

int shim_policy_verify(const struct ecl_manifest *m, char **ret_problem) {
        return shim_policy_verify_image(m, NULL, ret_problem);
}

int shim_policy_verify_image(const struct ecl_manifest *m, const struct pol_image *loaded, char **ret_problem) {
        *ret_problem = NULL;
        if (!ecl_stack_name_valid(m->stack))
                return ecl_reason(ret_problem, -EINVAL, "invalid stack name");
        /* With the load's image, only the names are needed: no IR to build (5 ms for 10,000 entries). */
        struct pol_table names = {0};
        const struct pol_table *t = &names;
        _cleanup_free_ char *table = NULL;
        if (shim_nft_table_name(m->stack, &table) < 0)
                return ecl_reason(ret_problem, -ENOMEM, "out of memory");
        snprintf(names.name, sizeof names.name, "%s", table);
        char outer[IFNAMSIZ];
        shim_tap_name(m->stack, 0, names.device);
        shim_uplink_names(m->stack, names.uplink, outer);
        _cleanup_pol_table_ struct pol_table *built = NULL;
        _cleanup_pol_image_ struct pol_image *rebuilt = NULL;
        int r;
        if (!loaded) {
                /* What loading it would send, from the IR, without committing it. */
                r = pol_build(m, &built, ret_problem);
                if (r < 0)
                        return r;
                t = built;
                _cleanup_free_ char *cmd = NULL;
                r = pol_emit_json(t, &cmd);
                if (r < 0)
                        return ecl_reason(ret_problem, r, "cannot build the policy of %s: %s", m->stack, strerror(-r));
                r = run_capturing(t, "cannot rebuild the policy's image", cmd, true, &rebuilt, ret_problem);
                if (r < 0)
                        return r;
                loaded = rebuilt;
        }
        /*
         * The kernel's table, in one listing: libnftables' netlink form of every
         * rule and set element, then the text (terse: no elements) with the
         * table's flags, the chains' hooks and devices, the sets' declarations.
         */
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        if (asprintf(&cmd, "list table netdev %s", t->name) < 0) /* a checked stack name */
                return ecl_reason(ret_problem, -ENOMEM, "out of memory");
        r = nft_exec("cannot list the policy", cmd, NFT_CTX_OUTPUT_TERSE, NFT_DEBUG_NETLINK, false, true, &out,
                     ret_problem);
        if (r == -ENOENT)
                return ecl_reason(ret_problem, -ESRCH, "table netdev %s does not exist", t->name);
        if (r < 0)
                return r;
        _cleanup_pol_image_ struct pol_image *kernel = NULL;
        _cleanup_free_ char *why = NULL;
        r = pol_image_parse_listing(loaded, out, &kernel, &why);
        if (r == -ENOMEM)
                return ecl_reason(ret_problem, -ENOMEM, "out of memory");
        if (r < 0)
                return ecl_reason(ret_problem, -ESRCH, "cannot read the listing of table netdev %s: %s", t->name,
                                  ecl_reason_text(why, r));
        r = pol_image_compare(loaded, kernel, ret_problem);
        if (r == -ENOMEM)
                return ecl_reason(ret_problem, -ENOMEM, "out of memory");
        if (r == -ESRCH) {
                /* name the table: the image's problems are about its parts */
                char *p = NULL;
                if (asprintf(&p, "table netdev %s: %s", t->name, *ret_problem) < 0)
                        return ecl_reason(ret_problem, -ENOMEM, "out of memory");
                free(*ret_problem);
                *ret_problem = p;
                return r;
        }
        return verify_no_foreign_hooks(t, ret_problem);
}

void shim_policy_image_free(struct pol_image *img) {
        pol_image_free(img);
}

/* A listing blocked.h cannot read: -EBADMSG (what jansson said is logged at debug level). */
static int listing_unreadable(int r, const char *table, char **ret_reason) {
        if (r == -EBADMSG)
                return ecl_reason(ret_reason, r, "cannot read the nftables listing of table netdev %s", table);
        return r == -ENOMEM ? ecl_reason(ret_reason, -ENOMEM, "out of memory") : r;
}

int shim_policy_blocked(const char *stack, struct shim_blocked_entry **ret, size_t *n, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        _cleanup_free_ char *table = NULL, *out = NULL;
        if (shim_nft_table_name(stack, &table) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        int r = list_table(table, &out, ret_reason);
        if (r == -ENOENT)
                return ecl_reason(ret_reason, -ENOENT, "no policy loaded for stack %s (table netdev %s)", stack, table);
        if (r < 0)
                return r;
        r = shim_blocked_parse(out, time(NULL), ret, n);
        return r < 0 ? listing_unreadable(r, table, ret_reason) : r;
}

/* ---- drop records and what could not be recorded (blocked.h parses them) ---- */

static int table_of(const char *stack, char **ret, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        return shim_nft_table_name(stack, ret) < 0 ? ecl_reason(ret_reason, -ENOMEM, "out of memory") : 0;
}

int shim_policy_blocked_report(const char *stack, struct shim_blocked_entry **ret, size_t *n,
                               struct shim_blocked_unrecorded *u, char **ret_reason) {
        *u = (struct shim_blocked_unrecorded){0};
        _cleanup_free_ char *table = NULL, *out = NULL;
        int r = table_of(stack, &table, ret_reason);
        if (r < 0)
                return r;
        r = list_table(table, &out, ret_reason);
        if (r == -ENOENT)
                return ecl_reason(ret_reason, -ENOENT, "no policy loaded for stack %s (table netdev %s)", stack, table);
        if (r < 0)
                return r;
        r = shim_blocked_report_parse(out, time(NULL), ret, n, u);
        return r < 0 ? listing_unreadable(r, table, ret_reason) : r;
}

int shim_policy_unrecorded_read(const char *stack, struct shim_blocked_unrecorded *u, char **ret_reason) {
        *u = (struct shim_blocked_unrecorded){0};
        _cleanup_free_ char *table = NULL, *out = NULL;
        int r = table_of(stack, &table, ret_reason);
        if (r < 0)
                return r;
        r = list_table_flags(table, true, &out, ret_reason);
        if (r == -ENOENT)
                return ecl_reason(ret_reason, -ENOENT, "no policy loaded for stack %s (table netdev %s)", stack, table);
        if (r < 0)
                return r;
        r = shim_blocked_unrecorded_parse(out, false, u);
        if (r < 0)
                return listing_unreadable(r, table, ret_reason);
        json_error_t err;
        json_t *root = json_loads(out, 0, &err);
        if (!root) {
                shim_blocked_unrecorded_done(u);
                log_debug("cannot parse the nftables listing: %s", err.text);
                return listing_unreadable(-EBADMSG, table, ret_reason);
        }
        /* Only a drop chain that has counted as many packets as a set holds can have filled one. */
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(root, "nftables"), i, it) {
                if (r < 0)
                        break;
                const char *name = json_string_value(json_object_get(json_object_get(it, "set"), "name"));
                enum shim_blocked_direction d;
                if (!shim_blocked_set_direction(name, &d) || u->min_size[d] == 0 || u->entered[d] < u->min_size[d])
                        continue;
                _cleanup_free_ char *set = NULL;
                r = list_set(table, name, &set, ret_reason);
                if (r >= 0) {
                        r = shim_blocked_unrecorded_parse(set, true, u);
                        if (r < 0)
                                r = listing_unreadable(r, table, ret_reason);
                }
        }
        json_decref(root);
        if (r < 0)
                shim_blocked_unrecorded_done(u);
        return r;
}

/* {"add"|"delete": {"element": {... "name": "grant_DIRv", "elem": [{"elem": {"val": ADDR . PROTO . PORTS, "timeout": T}}]}}} */
static int grant_cmd(const char *verb, const char *stack, const struct shim_grant *g, char **ret_reason) {
        if (!ecl_stack_name_valid(stack))
                return ecl_reason(ret_reason, -EINVAL, "invalid stack name");
        if ((g->proto != ECL_PROTO_TCP && g->proto != ECL_PROTO_UDP) || g->ports.first > g->ports.last ||
            (g->net.family != AF_INET && g->net.family != AF_INET6) ||
            g->net.prefix > (g->net.family == AF_INET ? 32 : 128) || g->timeout_s == 0 ||
            g->timeout_s > POL_BLOCKED_TIMEOUT)
                return ecl_reason(ret_reason, -EBADMSG, "invalid access grant (tcp or udp, ports, 1 s to 7 days)");
        _cleanup_free_ char *table = NULL;
        if (shim_nft_table_name(stack, &table) < 0)
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        char set[POL_NAME_MAX];
        snprintf(set, sizeof set, "grant_%s%s", g->ingress ? "in" : "out", g->net.family == AF_INET ? "4" : "6");
        json_t *port = g->ports.first == g->ports.last
                               ? json_integer(g->ports.first)
                               : json_pack("{s:[i,i]}", "range", (int) g->ports.first, (int) g->ports.last);
        json_t *val = json_pack("{s:[o,s,o]}", "concat", pol_cidr_json(&g->net),
                                g->proto == ECL_PROTO_TCP ? "tcp" : "udp", port);
        json_t *elem = strcmp(verb, "add") == 0 && val
                               ? json_pack("{s:{s:o,s:I}}", "elem", "val", val, "timeout", (json_int_t) g->timeout_s)
                               : val;
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "cannot %s the access grant of %s", verb, stack) < 0) {
                json_decref(elem);
                return ecl_reason(ret_reason, -ENOMEM, "out of memory");
        }
        json_t *cmd = elem ? json_pack("{s:[{s:{s:{s:s,s:s,s:s,s:[o]}}}]}", "nftables", verb, "element", "family",
                                       "netdev", "table", table, "name", set, "elem", elem)
                           : NULL;
        return nft_run_json(what, cmd, strcmp(verb, "delete") == 0, NULL, ret_reason);
}

int shim_policy_grant(const char *stack, const struct shim_grant *g, char **ret_reason) {
        return grant_cmd("add", stack, g, ret_reason);
}

int shim_policy_grant_revoke(const char *stack, const struct shim_grant *g, char **ret_reason) {
        return grant_cmd("delete", stack, g, ret_reason);
}
