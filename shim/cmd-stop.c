/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stop STACK [--no-wait] [--timeout S]: ask the stack's shim to shut its VM
 * down and clean up, then wait (by default up to 120 s) until the shim has
 * removed its control socket, which it does last, after the domain, the tap
 * and the rules are gone.  So when `stop` returns 0, nothing of the stack
 * remains.  When the shim's clean-up failed it says so in
 * ROOT/run/ecluse/STACK.failed before removing the socket: then `stop`
 * prints that (state "teardown-failed", the error) and exits 70.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "commands.h"
#include "control-client.h"
#include "control-proto.h"
#include "log.h"
#include "netns.h"
#include "reason.h"
#include "stack-name.h"
#include "status-print.h"

#define STOP_TIMEOUT_DEFAULT_S 120

enum { OPT_NO_WAIT = 1, OPT_TIMEOUT };

static int parse_args(const struct ecl_cli *cli, int argc, char **argv, const char **stack, bool *wait,
                      unsigned *timeout_s) {
        struct ecl_cli_parse p = {.cli = cli, .argc = argc, .argv = argv};
        int c;
        long long v;
        while ((c = ecl_cli_next(&p)) > 0) {
                if (c == OPT_NO_WAIT)
                        *wait = false;
                else if (c == OPT_TIMEOUT) {
                        int r = ecl_cli_number(&p, "timeout", 1, 3600, &v);
                        if (r < 0)
                                return r;
                        *timeout_s = (unsigned) v;
                }
        }
        if (c < 0)
                return c;
        int r = ecl_cli_operands(&p, 1, 1);
        if (r < 0)
                return r;
        if ((r = ecl_cli_stack_operand(cli, argv[p.ind])) < 0)
                return r;
        *stack = argv[p.ind];
        return 0;
}

/* Wait until the socket file is gone; -ETIMEDOUT after timeout_s. */
static int wait_gone(const char *root, const char *stack, unsigned timeout_s) {
        _cleanup_free_ char *path = NULL, *why = NULL;
        int r = ecl_control_socket_path(root, stack, &path, &why);
        if (r < 0)
                return log_error_errno(r, "%s", ecl_reason_text(why, r));
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct stat st;
                if (lstat(path, &st) < 0 && errno == ENOENT)
                        return 0;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec >= (time_t) timeout_s)
                        return log_error_errno(ETIMEDOUT, "stack %s: still shutting down after %u s (%s remains)",
                                               stack, timeout_s, path);
                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        }
}

static bool control_socket_exists(const char *root, const char *stack) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        return ecl_control_socket_path(root, stack, &path, NULL) < 0 || lstat(path, &st) == 0;
}

static int run(const struct ecl_cli *cli, int argc, char **argv) {
        const char *stack = NULL;
        bool wait = true;
        unsigned timeout_s = STOP_TIMEOUT_DEFAULT_S;
        int r = parse_args(cli, argc, argv, &stack, &wait, &timeout_s);
        if (r < 0)
                return r;
        /* the pin of the run being stopped, as it is now (a run started after ours has another) */
        _cleanup_free_ char *pin = NULL;
        struct shim_netns_pin_id pin_id = {0};
        _cleanup_free_ char *why = NULL;
        r = shim_netns_pin_path(cli->root, stack, &pin);
        if (r >= 0)
                r = shim_netns_pin_identify(pin, &pin_id, &why);
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        json_auto_t *j = NULL;
        r = ecl_control_call(cli->root, stack, "stop", &j, &why);
        if (r < 0)
                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
        if (wait) {
                r = wait_gone(cli->root, stack, timeout_s);
                if (r < 0)
                        return ecl_exit_status(r);
                json_auto_t *failed = NULL;
                r = ecl_control_read_failed(cli->root, stack, &failed, &why);
                if (r < 0)
                        return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
                if (r > 0) {
                        const char *e = json_string_value(json_object_get(failed, "error"));
                        log_error("stack %s: the shim stopped but its clean-up failed: %s (domain, tap or rules may "
                                  "remain; see its log)",
                                  stack, e ? e : "unknown error");
                        (void) shim_print_object(stdout, failed, cli->json); /* the error line said it */
                        return EX_SOFTWARE;
                }
                /*
                 * The supervisor, without the privilege to, leaves its namespace's pin
                 * (netns.h).  Not when a run was started meanwhile: its control socket
                 * comes before its pin, and its pin is another.
                 */
                if (!control_socket_exists(cli->root, stack)) {
                        r = shim_netns_unpin_if_same(pin, &pin_id, &why);
                        if (r < 0)
                                return ecl_exit_status(log_error_errno(r, "%s", ecl_reason_text(why, r)));
                        if (r > 0)
                                log_notice("%s is the pin of a later run now: left alone", pin);
                }
                json_object_set_new(j, "state", json_string("stopped"));
        }
        if (shim_print_object(stdout, j, cli->json) < 0)
                return log_oom();
        return EX_OK;
}

const struct ecl_command shim_cmd_stop = {
        .name = "stop",
        .args = "STACK",
        .summary = "shut a stack's VM down and wait until domain, tap and rules are gone",
        .options =
                (const struct ecl_option[]){
                        ECL_OPTION("no-wait", OPT_NO_WAIT, NULL, "return once the shim has taken the request"),
                        ECL_OPTION("timeout", OPT_TIMEOUT, "S", "seconds to wait (1..3600, default 120)"),
                        ECL_OPTIONS_END,
                },
        .run = run,
};
