/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy in a real kernel: load, read back with the real `nft` and with
 * shim_policy_verify, tampering detected, text and JSON forms alike, grants,
 * example manifests, replace and remove.  Traffic through it is in
 * test_policy_traffic.c; both run in network namespaces they create
 * (policy-netns.h).
 */
#include "policy-netns.h"

static void test_load_verify_and_read_back_with_nft(void **state) {
        struct env *e = *state;
        load(e);
        /* The real nft sees both base chains with policy drop, on the tap. */
        json_t *root = nft_json("table");
        json_t *out = find_chain(root, "guest_out"), *in = find_chain(root, "guest_in");
        assert_non_null(out);
        assert_non_null(in);
        assert_string_equal(json_string_value(json_object_get(out, "hook")), "ingress");
        assert_string_equal(json_string_value(json_object_get(in, "hook")), "ingress");
        assert_string_equal(json_string_value(json_object_get(out, "policy")), "drop");
        assert_string_equal(json_string_value(json_object_get(in, "policy")), "drop");
        /* Every rule has a counter. */
        size_t i, j, rules = 0;
        json_t *it, *x;
        json_array_foreach(json_object_get(root, "nftables"), i, it) {
                json_t *r = json_object_get(it, "rule");
                if (!r)
                        continue;
                rules++;
                bool counter = false;
                json_array_foreach(json_object_get(r, "expr"), j, x) counter |= json_object_get(x, "counter") != NULL;
                assert_true(counter);
        }
        assert_true(rules > 20);
        json_decref(root);
        char *argv[] = {(char *) "nft", (char *) "list", (char *) "table", (char *) "netdev", (char *) TABLE, NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        assert_non_null(strstr(res.out, "hook ingress device \"" TAP "\" priority -500; policy drop;"));
        assert_non_null(strstr(res.out, "hook ingress device \"" UPLINK "\" priority -500; policy drop;"));
        tl_result_free(&res);
}

static void test_verify_detects_tampering(void **state) {
        struct env *e = *state;
        load(e);
        char *problem = NULL;
        sh(e, false, "nft insert rule netdev " TABLE " guest_out accept");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(problem);
        free(problem), problem = NULL;

        load(e);
        sh(e, false, "nft add chain netdev " TABLE " guest_in { type filter hook ingress device " UPLINK
                     " priority -500 ; policy accept ; }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "policy"));
        free(problem), problem = NULL;

        load(e);
        sh(e, false, "nft delete element netdev " TABLE " guest_addrs4 { " GUEST4 " }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "guest_addrs4"));
        free(problem), problem = NULL;
        sh(e, false, "nft add element netdev " TABLE " guest_addrs4 { " SPOOF4 " }"); /* same count, other address */
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, SPOOF4));
        free(problem), problem = NULL;

        /* The table made dormant: every rule and set as loaded, no hook. */
        load(e);
        sh(e, false, "nft add table netdev " TABLE " { flags dormant ; }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "flags"));
        free(problem), problem = NULL;

        /* An opening the shim did not grant. */
        load(e);
        sh(e, false, "nft add element netdev " TABLE " grant_out4 { " SPOOF4 " . tcp . 443 timeout 1h }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "grant_out4"));
        free(problem), problem = NULL;

        /* Another table's chain on the tap or the uplink, in any family. */
        const char *foreign[] = {("nft add chain netdev other c { type filter hook ingress device " TAP " priority 0 ; }"),
                                 ("nft add chain inet other c { type filter hook ingress device " UPLINK
                                  " priority 0 ; }")};
        const char *family[] = {"netdev", "inet"};
        for (size_t i = 0; i < ELEMENTSOF(foreign); i++) {
                load(e);
                sh(e, false, "nft add table %s other", family[i]);
                sh(e, false, "%s", foreign[i]);
                assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
                assert_non_null(strstr(problem, "hooks"));
                free(problem), problem = NULL;
                sh(e, false, "nft delete table %s other", family[i]);
        }
        /* A chain elsewhere is none of the policy's business. */
        load(e);
        sh(e, false, "nft add table netdev other");
        sh(e, false, "nft add chain netdev other c { type filter hook ingress device " LAN_IF " priority 0 ; }");
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
        sh(e, false, "nft delete table netdev other");

        assert_int_equal(shim_policy_remove("t", NULL), 0);
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "does not exist"));
        free(problem), problem = NULL;

        /* The same rules hooked on another device. */
        char *text = NULL;
        assert_int_equal(shim_policy_render(&e->m, &text, NULL), 0);
        for (char *p = text; (p = strstr(p, "device \"" TAP "\"")); p++)
                memcpy(p, "device \"ecl-u\"", strlen("device \"ecl-u\""));
        sh(e, false, "ip link add name ecl-u type veth peer name ecl-u-peer");
        char *dir = tl_mkdtemp(), *file = tl_strf("%s/policy.nft", dir);
        tl_write_file(file, text, strlen(text));
        sh(e, false, "nft -f %s", file);
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(strstr(problem, "not on device " TAP));
        free(problem);
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        sh(e, false, "ip link del dev ecl-u");
        tl_rm_rf(dir);
        free(dir), free(file), free(text);
}

/* nft -f of text (in the test's namespace): for commands with quoted words, which sh() cannot pass. */
static void nft_text(const char *text) {
        char *dir = tl_mkdtemp(), *file = tl_strf("%s/cmd.nft", dir);
        tl_write_file(file, text, strlen(text));
        char *argv[] = {(char *) "nft", (char *) "-f", file, NULL};
        struct tl_result res;
        tl_run(argv, &res);
        if (res.status != 0)
                fprintf(stderr, "nft -f failed: %s%s\n", res.out, res.err);
        assert_int_equal(res.status, 0);
        tl_result_free(&res);
        tl_rm_rf(dir);
        free(dir), free(file);
}

/*
 * Hooks named with a '*' (a prefix on kernels 6.16+; nft 1.0.6 sends the name
 * as it is, which the kernel takes for a whole name, yet lists it alike) and
 * flowtables: foreign hooks too.  A flowtable needs CONFIG_NF_FLOW_TABLE and
 * devices that exist: without them that case is skipped, said on stderr.
 */
static void test_verify_detects_wildcard_and_flowtable_hooks(void **state) {
        struct env *e = *state;
        char *problem = NULL;
        const char *wild[] = {"add table netdev other\nadd chain netdev other c { type filter hook ingress device "
                              "\"ecl-*\" priority 0; }\n",
                              "add table inet other\nadd chain inet other c { type filter hook ingress devices = { "
                              "\"lo\", \"ecu*\" } priority 0; }\n"};
        const char *family[] = {"netdev", "inet"};
        for (size_t i = 0; i < ELEMENTSOF(wild); i++) {
                load(e);
                nft_text(wild[i]);
                assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
                assert_non_null(strstr(problem, i == 0 ? "hooks " TAP " too" : "hooks " UPLINK " too"));
                free(problem), problem = NULL;
                sh(e, false, "nft delete table %s other", family[i]);
        }
        load(e);
        sh(e, false, "nft add table inet other");
        char *argv[] = {(char *) "nft", (char *) "add flowtable inet other ft { hook ingress priority 0; devices = { "
                        TAP " }; }", NULL};
        struct tl_result res;
        tl_run(argv, &res);
        if (res.status == 0) {
                assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
                assert_non_null(strstr(problem, "flowtable ft hooks " TAP " too"));
                free(problem), problem = NULL;
        } else {
                fprintf(stderr, "flowtable case skipped: this kernel has no flowtable: %s", res.err);
        }
        tl_result_free(&res);
        sh(e, false, "nft delete table inet other");
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
}

/* The comment and handle of the first rule of chain whose line contains what. */
static void find_rule(const char *chain, const char *what, char comment[32], unsigned *handle) {
        char *argv[] = {(char *) "nft", (char *) "-a", (char *) "list", (char *) "chain", (char *) "netdev",
                        (char *) TABLE, (char *) chain, NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        char *line = strstr(res.out, what);
        assert_non_null(line);
        char *c = strstr(line, "comment \"");
        assert_non_null(c);
        c += strlen("comment \"");
        size_t n = strcspn(c, "\"");
        assert_true(n < 32);
        memcpy(comment, c, n);
        comment[n] = '\0';
        char *h = strstr(c, "# handle ");
        assert_non_null(h);
        *handle = (unsigned) strtoul(h + strlen("# handle "), NULL, 10);
        tl_result_free(&res);
}

/*
 * Replace the first rule of chain whose line contains what by body (nft text
 * before the comment), keeping its comment: a rule rewritten under its name.
 * Its comment goes to comment.
 */
static void rewrite_rule(const char *chain, const char *what, const char *body, char comment[32]) {
        unsigned handle;
        find_rule(chain, what, comment, &handle);
        char *cmd = tl_strf("replace rule netdev " TABLE " %s handle %u %s comment \"%s\"\n", chain, handle, body, comment);
        nft_text(cmd);
        free(cmd);
}

/* Load with the text form changed by replacing from with to (once): a table rewritten while no shim watched. */
static void load_text_with(struct env *e, const char *from, const char *to) {
        char *text = NULL;
        assert_int_equal(shim_policy_render(&e->m, &text, NULL), 0);
        char *p = strstr(text, from);
        assert_non_null(p);
        char *changed = tl_strf("%.*s%s%s", (int) (p - text), text, to, p + strlen(from));
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        nft_text(changed);
        free(changed), free(text);
}

static void expect_problem(struct env *e, const char *what1, const char *what2) {
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&e->m, &problem), -ESRCH);
        assert_non_null(problem);
        fprintf(stderr, "verify: %s\n", problem);
        assert_non_null(strstr(problem, what1));
        if (what2)
                assert_non_null(strstr(problem, what2));
        free(problem);
}

/* Issue 13: verify compares what the rules do, not their names. */
static void test_verify_compares_whole_rules(void **state) {
        struct env *e = *state;
        char comment[32];

        /* A rule rewritten under its comment: same comment and verdict, forwards everything. */
        load(e);
        rewrite_rule("guest_out", "fwd to \"" UPLINK "\"", "counter meta mark set 0x65636c75 fwd to \"" UPLINK "\"",
                     comment);
        expect_problem(e, "expression differs", comment);

        /* The same in a chain the base chains jump to: drops without recording. */
        load(e);
        rewrite_rule("drop_out", "drop", "counter drop", comment);
        expect_problem(e, "drop_out", "expression differs");

        /* A rule added at the end of a chain. */
        load(e);
        sh(e, false, "nft add rule netdev " TABLE " arp_out counter accept");
        expect_problem(e, "arp_out", "rules");

        /* A second base chain on the tap, in the policy's own table. */
        load(e);
        sh(e, false, "nft add chain netdev " TABLE " extra { type filter hook ingress device " TAP
                     " priority -600 ; policy accept ; }");
        sh(e, false, "nft add rule netdev " TABLE " extra fwd to " UPLINK);
        expect_problem(e, "chain extra", "not the policy's");

        /* The table made dormant. */
        load(e);
        sh(e, false, "nft add table netdev " TABLE " { flags dormant ; }");
        expect_problem(e, "flags", "dormant");

        /* An element in a grant set that the shim did not grant. */
        load(e);
        sh(e, false, "nft add element netdev " TABLE " grant_in4 { " HOST4 " . tcp . 22 timeout 1h }");
        expect_problem(e, "grant_in4", "did not grant");

        /* A set's flags changed (loaded again from outside). */
        load_text_with(e, "\tset guest_addrs4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n",
                       "\tset guest_addrs4 {\n\t\ttype ipv4_addr\n");
        expect_problem(e, "set guest_addrs4", "flags interval");

        /* A dynamic set's timeout (a flow kept for a week). */
        load_text_with(e, "timeout 3600s\n", "timeout 7d\n");
        expect_problem(e, "set nbr_macs", "timeout");

        /* What the packet path fills is not the policy's to compare: a learned MAC passes. */
        load(e);
        sh(e, false, "nft add element netdev " TABLE " nbr_macs { " HOST_MAC " }");
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
        assert_null(problem);
}

/* The image the load kept is what verify compares with, without rebuilding it. */
static void test_verify_with_the_loaded_image(void **state) {
        struct env *e = *state;
        struct pol_image *img = NULL;
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        assert_int_equal(shim_policy_load_image(&e->m, &img, NULL), 0);
        assert_non_null(img);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify_image(&e->m, img, &problem), 0);
        assert_null(problem);
        char comment[32];
        rewrite_rule("guest_in", "fwd to \"" TAP "\"", "counter meta mark set 0x65636c75 fwd to \"" TAP "\"", comment);
        assert_int_equal(shim_policy_verify_image(&e->m, img, &problem), -ESRCH);
        assert_non_null(strstr(problem, "expression differs"));
        assert_non_null(strstr(problem, comment));
        free(problem);
        shim_policy_image_free(img);
}

/*
 * Drop what differs between two loads of the same ruleset: handles, counter
 * values and the elements of the sets the packet path fills (stray IPv6
 * neighbour/multicast traffic of the interfaces hits the rules meanwhile).
 */
static void strip_volatile(json_t *j) {
        if (json_is_object(j)) {
                json_object_del(j, "handle");
                const char *name = json_string_value(json_object_get(j, "name"));
                if (name && (strncmp(name, "blk_", 4) == 0 || strncmp(name, "flows", 5) == 0 ||
                             strncmp(name, "peers", 5) == 0))
                        json_object_del(j, "elem");
                if (json_is_object(json_object_get(j, "counter")))
                        json_object_set_new(j, "counter", json_null());
                const char *k;
                json_t *v;
                json_object_foreach(j, k, v) strip_volatile(v);
        } else if (json_is_array(j)) {
                size_t i;
                json_t *v;
                json_array_foreach(j, i, v) strip_volatile(v);
        }
}

static void test_text_and_json_forms_load_alike(void **state) {
        struct env *e = *state;
        load(e);
        json_t *a = nft_json("table");
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        char *text = NULL;
        assert_int_equal(shim_policy_render(&e->m, &text, NULL), 0);
        char *dir = tl_mkdtemp();
        char *path = tl_strf("%s/policy.nft", dir);
        tl_write_file(path, text, strlen(text));
        sh(e, false, "nft -f %s", path);
        json_t *b = nft_json("table");
        strip_volatile(a);
        strip_volatile(b);
        char *sa = json_dumps(a, JSON_SORT_KEYS | JSON_INDENT(1)), *sb = json_dumps(b, JSON_SORT_KEYS | JSON_INDENT(1));
        if (strcmp(sa, sb) != 0)
                fprintf(stderr, "JSON-loaded:\n%s\ntext-loaded:\n%s\n", sa, sb);
        assert_string_equal(sa, sb);
        /* What the text loaded passes verification too. */
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
        free(sa), free(sb), free(text), free(path);
        json_decref(a), json_decref(b);
        tl_rm_rf(dir);
        free(dir);
}

static size_t grant_elements(const char *set) {
        char *argv[] = {(char *) "nft", (char *) "-j", (char *) "list", (char *) "set", (char *) "netdev",
                        (char *) TABLE, (char *) set, NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 0);
        json_error_t err;
        json_t *j = json_loads(res.out, 0, &err);
        assert_non_null(j);
        size_t n = json_array_size(json_object_get(json_object_get(json_array_get(json_object_get(j, "nftables"), 1), "set"), "elem"));
        json_decref(j);
        tl_result_free(&res);
        return n;
}

static void test_grant_opens_one_flow_for_a_bounded_time(void **state) {
        struct env *e = *state;
        load(e);
        int h = sock_in(e, false, AF_INET, SOCK_DGRAM), g = sock_in(e, true, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6100);
        do_bind(g, GUEST4, 0);
        send_to(g, HOST4, 6100, "before");
        assert_int_equal(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 6100, 1, NULL), 1);
        char buf[16];
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);

        struct shim_grant grant = {.proto = ECL_PROTO_UDP, .ports = {6100, 6100}, .timeout_s = 2};
        cidr(&grant.net, HOST4, 32);
        assert_int_equal(shim_policy_grant("t", &grant, NULL), 0);
        close(h);
        udp_roundtrip_port(e, HOST4, GUEST4, AF_INET, 6100); /* request and reply pass */
        /* The kernel closes it by itself. */
        for (int i = 0; i < 100 && grant_elements("grant_out4") > 0; i++)
                usleep(100 * 1000);
        assert_int_equal(grant_elements("grant_out4"), 0);
        h = sock_in(e, false, AF_INET, SOCK_DGRAM);
        do_bind(h, HOST4, 6100);
        send_to(g, HOST4, 6100, "after");
        assert_int_equal(wait_blocked(SHIM_BLOCKED_EGRESS, GUEST4, HOST4, "udp", 6100, 2, NULL), 2);
        assert_true(recv(h, buf, sizeof buf, MSG_DONTWAIT) < 0);
        close(h);
        close(g);

        /* Ingress, a port range, revoked before its time. */
        struct shim_grant in = {.ingress = true, .proto = ECL_PROTO_TCP, .ports = {2300, 2310}, .timeout_s = 600};
        cidr(&in.net, "10.77.0.0", 24);
        assert_false(tcp_exchange(e, true, GUEST4, 2305, HOST4));
        assert_int_equal(shim_policy_grant("t", &in, NULL), 0);
        assert_true(tcp_exchange(e, true, GUEST4, 2305, HOST4));
        assert_int_equal(shim_policy_grant_revoke("t", &in, NULL), 0);
        assert_int_equal(grant_elements("grant_in4"), 0);
        assert_false(tcp_exchange(e, true, GUEST4, 2305, HOST4));
        assert_int_equal(shim_policy_grant_revoke("t", &in, NULL), -ENOENT);

        struct shim_grant bad = {.proto = ECL_PROTO_ICMP, .timeout_s = 60};
        cidr(&bad.net, HOST4, 32);
        assert_int_equal(shim_policy_grant("t", &bad, NULL), -EBADMSG);
}

static void test_rules_outlive_the_loader(void **state) {
        struct env *e = *state;
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(shim_policy_load(&e->m, NULL) == 0 ? 0 : 1);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        char *problem = NULL;
        assert_int_equal(shim_policy_verify(&e->m, &problem), 0);
}

static void test_example_manifests(void **state) {
        struct env *e = *state;
        const char *files[] = {"office.yaml", "test-guest.yaml", "minimal.yaml"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char *path = tl_strf("%s/manifests/%s", ECLUSE_SOURCE_DIR, files[i]);
                struct ecl_diags diags = {0};
                struct ecl_manifest *m = NULL;
                int r = ecl_manifest_load_file(path, &m, &diags);
                ecl_diags_print(&diags, stderr);
                ecl_diags_clear(&diags);
                assert_int_equal(r, 0);
                char *text = NULL;
                assert_int_equal(shim_policy_render(m, &text, NULL), 0);
                if (!m->has_network) {
                        assert_non_null(strstr(text, "no network"));
                        assert_int_equal(shim_policy_load(m, NULL), -EBADMSG); /* bad content: no network to filter */
                } else {
                        char tap[IFNAMSIZ];
                        shim_tap_name(m->stack, 0, tap);
                        assert_int_equal(shim_policy_load(m, NULL), -ENODEV); /* no tap yet */
                        sh(e, false, "ip link add name %s type veth peer name eclpeer", tap);
                        assert_int_equal(shim_policy_load(m, NULL), -ENODEV); /* no uplink yet */
                        char inner[IFNAMSIZ], outer[IFNAMSIZ];
                        shim_uplink_names(m->stack, inner, outer);
                        sh(e, false, "ip link add name %s type veth peer name %s", inner, outer);
                        char *dir = tl_mkdtemp(), *file = tl_strf("%s/policy.nft", dir);
                        tl_write_file(file, text, strlen(text));
                        sh(e, false, "nft -c -f %s", file); /* the text form is valid nft */
                        tl_rm_rf(dir);
                        free(dir), free(file);
                        assert_int_equal(shim_policy_load(m, NULL), 0);
                        char *problem = NULL;
                        r = shim_policy_verify(m, &problem);
                        if (r < 0)
                                fprintf(stderr, "%s: %s\n", files[i], problem);
                        assert_int_equal(r, 0);
                        assert_int_equal(shim_policy_remove(m->stack, NULL), 0);
                        sh(e, false, "ip link del dev %s", tap);
                        sh(e, false, "ip link del dev %s", inner);
                }
                free(text);
                free(path);
                ecl_manifest_free(m);
        }
}

static void test_replace_then_remove_leaves_nothing(void **state) {
        struct env *e = *state;
        load(e);
        load(e); /* replacing is one transaction: the table is never absent */
        json_t *root = nft_json("ruleset");
        size_t i, tables = 0;
        json_t *it;
        json_array_foreach(json_object_get(root, "nftables"), i, it) tables += json_object_get(it, "table") != NULL;
        assert_int_equal(tables, 1);
        json_decref(root);
        assert_int_equal(shim_policy_remove("t", NULL), 0);
        root = nft_json("ruleset");
        assert_int_equal(json_array_size(json_object_get(root, "nftables")), 1); /* metainfo only */
        json_decref(root);
        assert_int_equal(shim_policy_remove("t", NULL), 0); /* removing nothing is fine */
        struct shim_blocked_entry *b = NULL;
        size_t n;
        assert_int_equal(shim_policy_blocked("t", &b, &n, NULL), -ENOENT);
        /* The command: no policy is missing input (66), no stack a usage error (64). */
        char *argv[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "t", NULL};
        struct tl_result res;
        tl_run(argv, &res);
        assert_int_equal(res.status, 66);
        assert_non_null(strstr(res.err, "error: no policy loaded for stack t"));
        tl_result_free(&res);
        argv[2] = NULL;
        tl_run(argv, &res);
        assert_int_equal(res.status, 64);
        tl_result_free(&res);
        char *bad[] = {(char *) ECLUSE_SHIM_BIN, (char *) "blocked", (char *) "../x", NULL};
        tl_run(bad, &res);
        assert_int_equal(res.status, 64); /* not a stack name */
        tl_result_free(&res);
}


int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_verify_and_read_back_with_nft),
                cmocka_unit_test(test_verify_detects_tampering),
                cmocka_unit_test(test_verify_detects_wildcard_and_flowtable_hooks),
                cmocka_unit_test(test_verify_compares_whole_rules),
                cmocka_unit_test(test_verify_with_the_loaded_image),
                cmocka_unit_test(test_text_and_json_forms_load_alike),
                cmocka_unit_test(test_grant_opens_one_flow_for_a_bounded_time),
                cmocka_unit_test(test_rules_outlive_the_loader),
                cmocka_unit_test(test_example_manifests),
                cmocka_unit_test(test_replace_then_remove_leaves_nothing),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
