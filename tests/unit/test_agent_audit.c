/* SPDX-License-Identifier: Apache-2.0 */
/* agent/agent-audit: where the agent's records go, who they name, what a repair says. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "agent-audit.h"
#include "audit-log.h"
#include "testlib.h"

static json_t *last_record(const char *log) {
        size_t len = 0;
        _cleanup_free_ char *text = tl_read_file(log, &len);
        assert_true(len > 0 && text[len - 1] == '\n');
        text[len - 1] = '\0';
        char *line = strrchr(text, '\n');
        json_t *j = json_loads(line ? line + 1 : text, 0, NULL);
        assert_non_null(j);
        return j;
}

static void test_path(void **state) {
        (void) state;
        _cleanup_free_ char *p = NULL;
        assert_int_equal(agent_audit_path("/r", NULL, &p), 0);
        assert_string_equal(p, "/r/var/lib/ecluse/audit.log");
        free(p);
        p = NULL;
        assert_int_equal(agent_audit_path("/r", "", &p), 0);
        assert_string_equal(p, "/r/var/lib/ecluse/audit.log");
        free(p);
        p = NULL;
        assert_int_equal(agent_audit_path("/r", "/elsewhere.log", &p), 0);
        assert_string_equal(p, "/elsewhere.log");
}

static void test_record(void **state) {
        (void) state;
        _cleanup_free_ char *root = tl_mkdtemp();
        _cleanup_free_ char *log = tl_strf("%s/var/lib/ecluse/audit.log", root);
        json_t *d = json_pack("{s:s}", "id", "0123456789ab");
        _cleanup_free_ char *why = NULL, *warning = NULL;
        /* the parent directory is made; the officer is the actor, the account is "by"; details are borrowed */
        assert_int_equal(agent_audit(root, NULL, "alice", "approved", "office", d, &warning, &why), 0);
        assert_null(warning);
        assert_int_equal(json_object_size(d), 1);
        json_decref(d);
        json_t *j = last_record(log);
        assert_string_equal(json_string_value(json_object_get(j, "actor")), "alice");
        assert_string_equal(json_string_value(json_object_get(j, "event")), "approved");
        assert_string_equal(json_string_value(json_object_get(j, "subject")), "office");
        json_t *det = json_object_get(j, "details");
        assert_string_equal(json_string_value(json_object_get(det, "id")), "0123456789ab");
        char self[128];
        assert_string_equal(json_string_value(json_object_get(det, "by")), agent_audit_self(self, sizeof self));
        json_decref(j);

        /* no details, no subject */
        assert_int_equal(agent_audit(root, NULL, "ecluse", "expired", NULL, NULL, NULL, &why), 0);
        j = last_record(log);
        assert_string_equal(json_string_value(json_object_get(j, "subject")), "");
        assert_non_null(json_object_get(json_object_get(j, "details"), "by"));
        json_decref(j);

        /* a torn tail is repaired before the record, and said */
        int fd = open(log, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"seq\":3,", 9), 9);
        close(fd);
        assert_int_equal(agent_audit(root, NULL, "bob", "approved", "office", NULL, &warning, &why), 0);
        assert_non_null(warning);
        assert_non_null(strstr(warning, log));
        struct ecl_audit_verify v;
        assert_int_equal(ecl_audit_verify(log, NULL, &v), 0);

        /* a refused actor: an error with a reason, the log untouched */
        size_t before = 0, after = 0;
        free(tl_read_file(log, &before));
        free(why);
        why = NULL;
        assert_true(agent_audit(root, NULL, "a\tb", "approved", "office", NULL, NULL, &why) < 0);
        assert_non_null(why);
        free(tl_read_file(log, &after));
        assert_int_equal(before, after);
        tl_rm_rf(root);
}

static void test_self(void **state) {
        (void) state;
        char buf[128];
        const char *me = agent_audit_self(buf, sizeof buf);
        assert_ptr_equal(me, buf);
        assert_true(strlen(me) > 0);
        if (getuid() == 0)
                assert_string_equal(me, "root");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path),
                cmocka_unit_test(test_record),
                cmocka_unit_test(test_self),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
