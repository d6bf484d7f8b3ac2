/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy in the kernel, through libnftables: render, load (one
 * transaction), verify (read back as JSON, parsed with jansson), remove, and
 * the blocked records.
 *
 * Commands are JSON built with jansson.  nftables 1.0.6 reads JSON input only
 * when JSON output is on, and its JSON listing of a netdev chain omits the
 * device, so verify also lists the two base chains as text; that command holds
 * only the table name, made of a stack name checked against the manifest's
 * pattern first.
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
#include "policy-ir.h"
#include "policy.h"

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                nft_ctx_free(*c);
}

/* ^[a-z][a-z0-9-]{0,30}$, as the manifest requires: then the name is safe in any nft command. */
static bool stack_name_ok(const char *s) {
        if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        size_t n = strlen(s);
        if (n > ECL_STACK_NAME_MAX)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

/*
 * Run one command buffer.  json: JSON in and out.  *ret_out (optional) gets
 * the output.  A refusal by nftables is -ENODEV (service unavailable), logged
 * as one line: "WHAT: nftables: FIRST ERROR LINE".  -ENOENT instead, silently,
 * when enoent_ok and the object does not exist.
 */
static int nft_run_flags(const char *what, const char *cmd, unsigned flags, bool enoent_ok, char **ret_out) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return log_oom();
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return log_oom();
        if (flags)
                nft_ctx_output_set_flags(ctx, flags);
        if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
                const char *err = nft_ctx_get_error_buffer(ctx);
                if (enoent_ok && err && strstr(err, "No such file or directory"))
                        return -ENOENT;
                int len = err ? (int) strcspn(err, "\n") : 0;
                return log_error_errno(ENODEV, "%s: nftables: %.*s", what, len, len ? err : "command failed");
        }
        if (ret_out) {
                const char *out = nft_ctx_get_output_buffer(ctx);
                *ret_out = strdup(out ? out : "");
                if (!*ret_out)
                        return log_oom();
        }
        return 0;
}

static int nft_run(const char *what, const char *cmd, bool json, bool enoent_ok, char **ret_out) {
        return nft_run_flags(what, cmd, json ? NFT_CTX_OUTPUT_JSON : 0, enoent_ok, ret_out);
}

/* A jansson value as a command, consumed; terse: without set elements. */
static int nft_run_json_flags(const char *what, json_t *j, bool terse, bool enoent_ok, char **ret_out) {
        if (!j)
                return log_oom();
        _cleanup_free_ char *cmd = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!cmd)
                return log_oom();
        return nft_run_flags(what, cmd, NFT_CTX_OUTPUT_JSON | (terse ? NFT_CTX_OUTPUT_TERSE : 0), enoent_ok, ret_out);
}

static int nft_run_json(const char *what, json_t *j, bool enoent_ok, char **ret_out) {
        return nft_run_json_flags(what, j, false, enoent_ok, ret_out);
}

int shim_policy_render(const struct ecl_manifest *m, char **ret_text) {
        if (!m->has_network) {
                if (asprintf(ret_text, "# stack %s has no network interface: nothing to filter\n", m->stack) < 0)
                        return log_oom();
                return 0;
        }
        _cleanup_pol_table_ struct pol_table *t = NULL;
        int r = pol_build(m, &t);
        if (r < 0)
                return r;
        return pol_emit_text(t, ret_text);
}

int shim_policy_load(const struct ecl_manifest *m) {
        if (!stack_name_ok(m->stack))
                return log_error_errno(EINVAL, "invalid stack name");
        _cleanup_pol_table_ struct pol_table *t = NULL;
        int r = pol_build(m, &t);
        if (r < 0)
                return r;
        if (if_nametoindex(t->device) == 0)
                return log_error_errno(ENODEV, "cannot load the policy of %s: tap %s does not exist", m->stack,
                                       t->device);
        if (if_nametoindex(t->uplink) == 0)
                return log_error_errno(ENODEV, "cannot load the policy of %s: uplink %s does not exist", m->stack,
                                       t->uplink);
        _cleanup_free_ char *cmd = NULL;
        r = pol_emit_json(t, &cmd);
        if (r < 0)
                return log_error_errno(r, "cannot build the policy of %s: %m", m->stack);
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "cannot load the policy of %s on %s", m->stack, t->device) < 0)
                return log_oom();
        return nft_run(what, cmd, true, false, NULL);
}

int shim_policy_remove(const char *stack) {
        if (!stack_name_ok(stack))
                return log_error_errno(EINVAL, "invalid stack name");
        _cleanup_free_ char *table = NULL;
        if (shim_nft_table_name(stack, &table) < 0)
                return log_oom();
        /* add + delete: succeeds whether the table exists or not. */
        return nft_run_json("cannot remove the policy",
                            json_pack("{s:[{s:{s:{s:s,s:s}}},{s:{s:{s:s,s:s}}}]}", "nftables", "add", "table", "family",
                                      "netdev", "name", table, "delete", "table", "family", "netdev", "name", table),
                            false, NULL);
}

/* The table as libnftables JSON (terse: no set elements); -ENOENT when there is none. */
static int list_table_flags(const char *table, bool terse, char **ret) {
        return nft_run_json_flags("cannot list the policy",
                                  json_pack("{s:[{s:{s:{s:s,s:s}}}]}", "nftables", "list", "table", "family", "netdev",
                                            "name", table),
                                  terse, true, ret);
}

static int list_table(const char *table, char **ret) {
        return list_table_flags(table, false, ret);
}

/* One set with its elements. */
static int list_set(const char *table, const char *set, char **ret) {
        return nft_run_json("cannot list the policy",
                            json_pack("{s:[{s:{s:{s:s,s:s,s:s}}}]}", "nftables", "list", "set", "family", "netdev",
                                      "table", table, "name", set),
                            true, ret);
}

static int problem(char **ret_problem, const char *fmt, ...) _printf_(2, 3);
static int problem(char **ret_problem, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(ret_problem, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret_problem = NULL;
                return -ENOMEM;
        }
        return -ESRCH;
}

/* The verdict a rule ends with, as in the model ("accept", "drop", "goto"). */
static const char *rule_verdict(json_t *expr, const char **target) {
        size_t n = json_array_size(expr);
        json_t *last = n ? json_array_get(expr, n - 1) : NULL;
        *target = NULL;
        if (!json_is_object(last))
                return NULL;
        if (json_object_get(last, "accept"))
                return "accept";
        if (json_object_get(last, "drop"))
                return "drop";
        json_t *fw = json_object_get(last, "fwd");
        if (fw) {
                *target = json_string_value(json_object_get(fw, "dev"));
                return "fwd";
        }
        json_t *g = json_object_get(last, "goto");
        if (g) {
                *target = json_string_value(json_object_get(g, "target"));
                return "goto";
        }
        return NULL;
}

static int strcmp_p(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void strs_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* The address set holds exactly the model's elements (compared as libnftables prints them). */
static int verify_elements(const struct pol_set *set, json_t *elems, char **ret_problem) {
        size_t n = json_array_size(elems);
        if (n != set->n_elems)
                return problem(ret_problem, "set %s has %zu elements, expected %zu", set->name, n, set->n_elems);
        if (n == 0)
                return 0;
        char **want = calloc(n, sizeof *want), **got = calloc(n, sizeof *got);
        int r = 0;
        if (!want || !got) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *el = json_array_get(elems, i);
                /* {"elem": {"val": V, "counter": ...}} when elements carry a counter, V otherwise */
                json_t *inner = json_object_get(el, "elem");
                json_t *w = pol_cidr_json(&set->elems[i]);
                want[i] = w ? json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
                json_decref(w);
                got[i] = json_dumps(inner ? json_object_get(inner, "val") : el, JSON_COMPACT | JSON_ENCODE_ANY);
                if (!want[i] || !got[i]) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        qsort(want, n, sizeof *want, strcmp_p);
        qsort(got, n, sizeof *got, strcmp_p);
        for (size_t i = 0; i < n; i++)
                if (strcmp(want[i], got[i]) != 0) {
                        r = problem(ret_problem, "set %s holds %s where %s was expected", set->name, got[i], want[i]);
                        break;
                }
out:
        strs_free(want, n);
        strs_free(got, n);
        return r;
}

static int verify_json(const struct pol_table *t, json_t *root, char **ret_problem) {
        json_t *items = json_object_get(root, "nftables");
        if (!json_is_array(items))
                return problem(ret_problem, "nftables listing has no \"nftables\" array");
        size_t *seen = calloc(t->n_chains, sizeof *seen);
        if (!seen)
                return -ENOMEM;
        bool *chain_found = calloc(t->n_chains, sizeof *chain_found);
        if (!chain_found) {
                free(seen);
                return -ENOMEM;
        }
        int r = 0;
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
                json_t *c = json_object_get(it, "chain");
                json_t *ru = json_object_get(it, "rule");
                if (c) {
                        const char *name = json_string_value(json_object_get(c, "name"));
                        size_t k;
                        for (k = 0; k < t->n_chains; k++)
                                if (name && strcmp(name, t->chains[k].name) == 0)
                                        break;
                        if (k == t->n_chains) {
                                r = problem(ret_problem, "unexpected chain %s in table %s", name ? name : "?", t->name);
                                goto out;
                        }
                        const struct pol_chain *pc = &t->chains[k];
                        chain_found[k] = true;
                        const char *hook = json_string_value(json_object_get(c, "hook"));
                        if (!pc->hook != !hook || (hook && strcmp(hook, pc->hook) != 0)) {
                                r = problem(ret_problem, "chain %s has hook %s, expected %s", name, hook ? hook : "none",
                                            pc->hook ? pc->hook : "none");
                                goto out;
                        }
                        if (pc->hook) {
                                const char *pol = json_string_value(json_object_get(c, "policy"));
                                const char *type = json_string_value(json_object_get(c, "type"));
                                json_t *prio = json_object_get(c, "prio");
                                if (!pol || strcmp(pol, "drop") != 0) {
                                        r = problem(ret_problem, "chain %s has policy %s, expected drop", name, pol ? pol : "none");
                                        goto out;
                                }
                                if (!type || strcmp(type, "filter") != 0 || !json_is_integer(prio) ||
                                    json_integer_value(prio) != pc->prio) {
                                        r = problem(ret_problem, "chain %s is not a filter chain at priority %d", name, pc->prio);
                                        goto out;
                                }
                        }
                } else if (ru) {
                        const char *chain = json_string_value(json_object_get(ru, "chain"));
                        const char *comment = json_string_value(json_object_get(ru, "comment"));
                        size_t k;
                        for (k = 0; k < t->n_chains; k++)
                                if (chain && strcmp(chain, t->chains[k].name) == 0)
                                        break;
                        if (k == t->n_chains) {
                                r = problem(ret_problem, "rule in unexpected chain %s", chain ? chain : "?");
                                goto out;
                        }
                        /* The seen[k]-th rule of the model in that chain. */
                        const struct pol_rule *want = NULL;
                        size_t idx = 0;
                        for (size_t q = 0; q < t->n_rules; q++)
                                if (strcmp(t->rules[q].chain, chain) == 0 && idx++ == seen[k]) {
                                        want = &t->rules[q];
                                        break;
                                }
                        seen[k]++;
                        if (!want) {
                                r = problem(ret_problem, "chain %s has an unexpected extra rule (%s)", chain,
                                            comment ? comment : "no comment");
                                goto out;
                        }
                        const char *target;
                        const char *verdict = rule_verdict(json_object_get(ru, "expr"), &target);
                        const struct pol_stmt *wv = &want->s[want->n - 1];
                        if (!comment || strcmp(comment, want->comment) != 0 || !verdict ||
                            strcmp(verdict, wv->verdict) != 0 ||
                            (target && strcmp(target, wv->target) != 0)) {
                                r = problem(ret_problem, "chain %s: rule %zu is not \"%s\" ending in %s", chain, seen[k],
                                            want->comment, wv->verdict);
                                goto out;
                        }
                }
        }
        for (size_t k = 0; k < t->n_chains; k++) {
                size_t want = 0;
                for (size_t q = 0; q < t->n_rules; q++)
                        want += strcmp(t->rules[q].chain, t->chains[k].name) == 0;
                if (!chain_found[k]) {
                        r = problem(ret_problem, "chain %s is missing from table %s", t->chains[k].name, t->name);
                        goto out;
                }
                if (seen[k] != want) {
                        r = problem(ret_problem, "chain %s has %zu rules, expected %zu", t->chains[k].name, seen[k], want);
                        goto out;
                }
        }
out:
        free(seen);
        free(chain_found);
        return r;
}

/*
 * The elements of one set of the table, as libnftables lists them (NULL when
 * it has none); *ret_root holds them (caller drops it).  A missing set or an
 * unreadable listing is a problem.
 */
static int set_elements(const struct pol_table *t, const char *set, json_t **ret_root, json_t **ret_elems,
                        char **ret_problem) {
        _cleanup_free_ char *out = NULL;
        int r = list_set(t->name, set, &out);
        if (r == -ENOENT)
                return problem(ret_problem, "set %s is missing from table %s", set, t->name);
        if (r < 0)
                return r;
        json_error_t err;
        json_t *root = json_loads(out, 0, &err);
        if (!root)
                return problem(ret_problem, "cannot parse the nftables listing: %s", err.text);
        json_t *found = NULL, *it;
        size_t i;
        json_array_foreach(json_object_get(root, "nftables"), i, it) if (json_object_get(it, "set")) found =
                json_object_get(it, "set");
        if (!found) {
                json_decref(root);
                return problem(ret_problem, "set %s is missing from table %s", set, t->name);
        }
        *ret_root = root;
        *ret_elems = json_object_get(found, "elem");
        return 0;
}

/*
 * A fixed set holds exactly the model's elements, none if the model has none.
 * Listed one by one: the table itself is listed terse, so the guest-made
 * elements of the dynamic sets (up to 65,536 each) cost nothing to check.
 */
static int verify_fixed_sets(const struct pol_table *t, char **ret_problem) {
        for (size_t k = 0; k < t->n_sets; k++) {
                if (t->sets[k].flags & PSF_TIMEOUT)
                        continue;
                json_t *root, *elems;
                int r = set_elements(t, t->sets[k].name, &root, &elems, ret_problem);
                if (r < 0)
                        return r;
                r = verify_elements(&t->sets[k], elems, ret_problem);
                json_decref(root);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * The grant sets hold what the shim granted: nothing yet.  Break-glass
 * grants (issue 10) will come through the supervisor, which will pass the
 * grants it made; until then any element is an opening made from outside.
 */
static int verify_grant_sets(const struct pol_table *t, char **ret_problem) {
        for (size_t k = 0; k < t->n_sets; k++) {
                if (strncmp(t->sets[k].name, "grant_", 6) != 0)
                        continue;
                json_t *root, *elems;
                int r = set_elements(t, t->sets[k].name, &root, &elems, ret_problem);
                if (r < 0)
                        return r;
                size_t n = json_array_size(elems);
                json_decref(root);
                if (n > 0)
                        return problem(ret_problem, "grant set %s holds %zu element%s the shim did not grant",
                                       t->sets[k].name, n, n == 1 ? "" : "s");
        }
        return 0;
}

/* Every set the model declares exists (verify_fixed_sets checks the elements of the fixed ones). */
static int verify_sets_present(const struct pol_table *t, json_t *root, char **ret_problem) {
        json_t *items = json_object_get(root, "nftables");
        for (size_t k = 0; k < t->n_sets; k++) {
                bool found = false;
                size_t i;
                json_t *it;
                json_array_foreach(items, i, it) {
                        const char *name = json_string_value(json_object_get(json_object_get(it, "set"), "name"));
                        if (name && strcmp(name, t->sets[k].name) == 0) {
                                found = true;
                                break;
                        }
                }
                if (!found)
                        return problem(ret_problem, "set %s is missing from table %s", t->sets[k].name, t->name);
        }
        return 0;
}

/* nftables 1.0.6 does not put the device in its JSON: read the base chain's header line as text. */
static int verify_device(const struct pol_table *t, const struct pol_chain *c, char **ret_problem) {
        _cleanup_free_ char *cmd = NULL, *out = NULL, *want = NULL;
        const char *dev = c->on_uplink ? t->uplink : t->device;
        if (asprintf(&cmd, "list chain netdev %s %s", t->name, c->name) < 0 ||
            asprintf(&want, "type filter hook %s device \"%s\" priority %d; policy drop;", c->hook, dev, c->prio) < 0)
                return -ENOMEM;
        int r = nft_run("cannot list the policy", cmd, false, false, &out);
        if (r < 0)
                return r;
        if (!strstr(out, want))
                return problem(ret_problem, "chain %s of table %s is not on device %s", c->name, t->name, dev);
        return 0;
}

/* Whether `dev` is one of the names a chain header line hooks: device "X" or devices = { X, Y }. */
static bool hooks_device(const char *line, const char *dev) {
        const char *p = strstr(line, "device \"");
        if (p) {
                p += strlen("device \"");
                size_t n = strlen(dev);
                return strncmp(p, dev, n) == 0 && p[n] == '"';
        }
        p = strstr(line, "devices = {");
        if (!p)
                return false;
        p += strlen("devices = {");
        const char *end = strchr(p, '}');
        for (size_t n = strlen(dev); p && end && p < end; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
                while (*p == ' ' || *p == '"')
                        p++;
                if (strncmp(p, dev, n) == 0 && strchr(" ,\"}", p[n]))
                        return true;
        }
        return false;
}

/*
 * No chain of another table hooks the tap or the uplink (any family: inet
 * has an ingress hook too): one that ran before ours could forward frames
 * itself.  nftables 1.0.6 names devices only in its text listing.
 */
static int verify_no_foreign_hooks(const struct pol_table *t, char **ret_problem) {
        _cleanup_free_ char *out = NULL;
        int r = nft_run("cannot list the chains", "list chains", false, false, &out);
        if (r < 0)
                return r;
        char family[16] = "", table[POL_NAME_MAX] = "";
        for (char *line = out, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (sscanf(line, "table %15s %47s {", family, table) == 2)
                        continue;
                if (!strstr(line, " hook "))
                        continue;
                bool ours = streq(family, "netdev") && streq(table, t->name);
                const char *devs[] = {t->device, t->uplink};
                for (size_t i = 0; i < 2 && !ours; i++)
                        if (hooks_device(line, devs[i]))
                                return problem(ret_problem, "table %s %s hooks %s too", family, table, devs[i]);
        }
        return 0;
}

int shim_policy_verify(const struct ecl_manifest *m, char **ret_problem) {
        *ret_problem = NULL;
        if (!stack_name_ok(m->stack))
                return log_error_errno(EINVAL, "invalid stack name");
        _cleanup_pol_table_ struct pol_table *t = NULL;
        int r = pol_build(m, &t);
        if (r < 0)
                return r;
        _cleanup_free_ char *out = NULL;
        r = list_table_flags(t->name, true, &out);
        if (r == -ENOENT)
                return problem(ret_problem, "table netdev %s does not exist", t->name);
        if (r < 0)
                return r;
        /*
         * The table has no flags: "dormant" unhooks every chain while rules and
         * sets stay as they were.  (nftables 1.0.6 cuts its JSON short after
         * "flags", so look for the key in the text before parsing it.)
         */
        char *first_obj = strstr(out, "\"table\":");
        char *end = first_obj ? strchr(first_obj, '}') : NULL;
        char *flags = first_obj ? strstr(first_obj, "\"flags\"") : NULL;
        if (flags && (!end || flags < end))
                return problem(ret_problem, "table netdev %s has flags set (made dormant?)", t->name);
        json_error_t err;
        json_t *root = json_loads(out, 0, &err);
        if (!root)
                return problem(ret_problem, "cannot parse the nftables listing: %s", err.text);
        r = verify_json(t, root, ret_problem);
        if (r >= 0)
                r = verify_sets_present(t, root, ret_problem);
        json_decref(root);
        if (r >= 0)
                r = verify_fixed_sets(t, ret_problem);
        for (size_t k = 0; r >= 0 && k < t->n_chains; k++)
                if (t->chains[k].hook)
                        r = verify_device(t, &t->chains[k], ret_problem);
        if (r >= 0)
                r = verify_grant_sets(t, ret_problem);
        if (r >= 0)
                r = verify_no_foreign_hooks(t, ret_problem);
        return r;
}

int shim_policy_blocked(const char *stack, struct shim_blocked_entry **ret, size_t *n) {
        if (!stack_name_ok(stack))
                return log_error_errno(EINVAL, "invalid stack name");
        _cleanup_free_ char *table = NULL, *out = NULL;
        if (shim_nft_table_name(stack, &table) < 0)
                return log_oom();
        int r = list_table(table, &out);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "no policy loaded for stack %s (table netdev %s)", stack, table);
        if (r < 0)
                return r;
        return shim_blocked_parse(out, time(NULL), ret, n);
}

/* ---- drop records and what could not be recorded (blocked.h parses them) ---- */

static int table_of(const char *stack, char **ret) {
        if (!stack_name_ok(stack))
                return log_error_errno(EINVAL, "invalid stack name");
        return shim_nft_table_name(stack, ret) < 0 ? log_oom() : 0;
}

int shim_policy_blocked_report(const char *stack, struct shim_blocked_entry **ret, size_t *n,
                               struct shim_blocked_unrecorded *u) {
        *u = (struct shim_blocked_unrecorded){0};
        _cleanup_free_ char *table = NULL, *out = NULL;
        int r = table_of(stack, &table);
        if (r < 0)
                return r;
        r = list_table(table, &out);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "no policy loaded for stack %s (table netdev %s)", stack, table);
        if (r < 0)
                return r;
        return shim_blocked_report_parse(out, time(NULL), ret, n, u);
}

int shim_policy_unrecorded_read(const char *stack, struct shim_blocked_unrecorded *u) {
        *u = (struct shim_blocked_unrecorded){0};
        _cleanup_free_ char *table = NULL, *out = NULL;
        int r = table_of(stack, &table);
        if (r < 0)
                return r;
        r = list_table_flags(table, true, &out);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "no policy loaded for stack %s (table netdev %s)", stack, table);
        if (r < 0)
                return r;
        r = shim_blocked_unrecorded_parse(out, false, u);
        if (r < 0)
                return r;
        json_error_t err;
        json_t *root = json_loads(out, 0, &err);
        if (!root) {
                shim_blocked_unrecorded_done(u);
                return log_error_errno(EBADMSG, "cannot parse the nftables listing: %s", err.text);
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
                r = list_set(table, name, &set);
                if (r >= 0)
                        r = shim_blocked_unrecorded_parse(set, true, u);
        }
        json_decref(root);
        if (r < 0)
                shim_blocked_unrecorded_done(u);
        return r;
}

/* {"add"|"delete": {"element": {... "name": "grant_DIRv", "elem": [{"elem": {"val": ADDR . PROTO . PORTS, "timeout": T}}]}}} */
static int grant_cmd(const char *verb, const char *stack, const struct shim_grant *g) {
        if (!stack_name_ok(stack))
                return log_error_errno(EINVAL, "invalid stack name");
        if ((g->proto != ECL_PROTO_TCP && g->proto != ECL_PROTO_UDP) || g->ports.first > g->ports.last ||
            (g->net.family != AF_INET && g->net.family != AF_INET6) ||
            g->net.prefix > (g->net.family == AF_INET ? 32 : 128) || g->timeout_s == 0 ||
            g->timeout_s > POL_BLOCKED_TIMEOUT)
                return log_error_errno(EINVAL, "invalid access grant (tcp or udp, ports, 1 s to 7 days)");
        _cleanup_free_ char *table = NULL;
        if (shim_nft_table_name(stack, &table) < 0)
                return log_oom();
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
                return log_oom();
        }
        json_t *cmd = elem ? json_pack("{s:[{s:{s:{s:s,s:s,s:s,s:[o]}}}]}", "nftables", verb, "element", "family",
                                       "netdev", "table", table, "name", set, "elem", elem)
                           : NULL;
        return nft_run_json(what, cmd, strcmp(verb, "delete") == 0, NULL);
}

int shim_policy_grant(const char *stack, const struct shim_grant *g) {
        return grant_cmd("add", stack, g);
}

int shim_policy_grant_revoke(const char *stack, const struct shim_grant *g) {
        return grant_cmd("delete", stack, g);
}
