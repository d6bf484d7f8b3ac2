/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the strict readers of the agent's store: the input is
 * put where the store reads it, quarantine/ID/record.json when its first
 * byte is 'r', stacks/STACK/state otherwise, and read back.  What reads
 * must write, and read again to the same values: the reader accepts nothing
 * the writer would not produce.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "store.h"

#define ID "0123456789ab"
/* Not assert(): NDEBUG (RelWithDebInfo) must not take the calls away. */
#define CHECK(x)                 \
        do {                     \
                if (!(x))        \
                        abort(); \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/fuzz_store.XXXXXX";

static void remove_root(void) {
        int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tmp >= 0) {
                (void) ecl_rm_rf_at(tmp, root + strlen("/tmp/"), NULL);
                close(tmp);
        }
}

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && streq(a, b));
}

static void record_round_trip(struct agent_store *s) {
        struct agent_bundle_record a = {}, b = {};
        if (agent_record_read(s, ID, &a, NULL) < 0)
                return;
        CHECK(agent_record_write(s, &a, NULL) == 0);
        CHECK(agent_record_read(s, ID, &b, NULL) == 0);
        CHECK(streq(a.id, b.id) && streq(a.digest, b.digest) && same(a.stack, b.stack) && same(a.version, b.version) &&
              a.state == b.state && a.downgrade == b.downgrade && a.imported == b.imported && a.expires == b.expires &&
              a.approval_expires == b.approval_expires && a.changed == b.changed && same(a.reason, b.reason));
        agent_record_clear(&a);
        agent_record_clear(&b);
}

static void state_round_trip(struct agent_store *s) {
        struct agent_stack_state a = {}, b = {};
        if (agent_stack_state_read(s, "office", &a, NULL) < 0)
                return;
        CHECK(agent_stack_state_write(s, "office", &a, NULL) == 0);
        CHECK(agent_stack_state_read(s, "office", &b, NULL) == 0);
        CHECK(same(a.floor, b.floor) && same(a.running, b.running) && same(a.previous, b.previous) && a.op == b.op &&
              same(a.op_bundle, b.op_bundle) && same(a.op_from, b.op_from) && same(a.op_to, b.op_to) &&
              same(a.op_phase, b.op_phase) && a.op_started == b.op_started);
        agent_stack_state_clear(&a);
        agent_stack_state_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* One scratch root for the whole run: the harness's, not the library's. */
        static struct agent_store *s;
        static int entry_fd = -1, stack_fd = -1;
        if (!s) {
                CHECK(mkdtemp(root));
                atexit(remove_root);
                CHECK(agent_store_open(root, &s, NULL) == 0);
                int dfd = -1;
                char *tmp = NULL;
                CHECK(agent_store_import_begin(s, &dfd, &tmp, NULL) == 0);
                struct agent_bundle_record r = {.id = ID,
                                                .digest = ID "0000000000000000000000000000000000000000000000000000",
                                                .stack = (char *) "office",
                                                .version = (char *) "1"};
                CHECK(agent_record_write_at(dfd, &r, NULL) == 0);
                close(dfd);
                CHECK(agent_store_import_commit(s, tmp, ID, NULL) == 0);
                free(tmp);
                CHECK(agent_store_open_entry(s, ID, &entry_fd, NULL) == 0);
                CHECK(agent_store_stack_dir(s, "office", &stack_fd, NULL) == 0);
        }
        if (size == 0)
                return 0;
        bool record = data[0] == 'r';
        CHECK(ecl_write_atomic_at(record ? entry_fd : stack_fd, record ? AGENT_RECORD_FILE : AGENT_STATE_FILE, data + 1,
                                  size - 1, 0600, NULL) == 0);
        if (record)
                record_round_trip(s);
        else
                state_round_trip(s);
        return 0;
}
