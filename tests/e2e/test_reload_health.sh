#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The update gate's health check (issue 9, agent/health.h) on the real test
# guest: after a reload, only what the new boot prints counts.
#
#  1. build the test guest (tests/guest/build-guest.sh, cached); make
#     releases/1 and releases/2 of it, each initrd the base one with a small
#     cpio appended holding /etc/ecluse-release ("1", "2"), which the guest's
#     /init prints at boot as "ECLUSE-RELEASE 1" / "ECLUSE-RELEASE 2";
#     current -> releases/1;
#  2. `ecluse-shim run` (no network, a private network namespace): the
#     guest prints "ECLUSE-RELEASE 1"; status says boot 1, reload null, and
#     a console mark;
#  3. current -> releases/2; the agent's side (tests/e2e/lib/health_wait.c,
#     agent_shim_reload + agent_health_wait, over the control socket only):
#     the reload returns boot 1, the wait for "ECLUSE-RELEASE 2" is healthy
#     (the guest stays up 3 s after it);
#  4. status: boot 2, reload done; console.log before the mark holds the
#     v1 line and what the old guest printed as it shut down, after it the
#     v2 line and no v1 line;
#  5. waits that must fail, each within its timeout: a line the guest never
#     prints, and "ECLUSE-RELEASE 1" (printed, but before the reload); a
#     wait for a boot after boot 2 (no reload asked for);
#  6. `stop STACK`: the run exits 0, no QEMU remains.
#
# Needs root.  Any missing prerequisite fails the test.  About 90 s with TCG.
# shellcheck disable=SC2317 # functions called through wait_until and traps
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/stack.sh
. "$here/lib/stack.sh"
# shellcheck source=lib/wait.sh
. "$here/lib/wait.sh"

STACK=health
health=${ECLUSE_HEALTH_WAIT_BIN:-$build/tests/e2e-health_wait}
stack_need ip python3 qemu-system-x86_64 cpio truncate
[ -x "$health" ] || fatal "tests/e2e/lib/health_wait.c not built: $health (cmake --build build --target e2e-health_wait)"
stack_build_guest

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-e2e-health.XXXXXX")
chmod 0755 "$tmp" # QEMU runs as its own user: it must search the root
root=$tmp/root
stack_tree "$root" "$STACK" "$tmp/logs"
ns=ecl-hlth$$
shim_pid=

stack_in_netns "$ns" "$root" "$tmp"
hw() { ip netns exec "$ns" "$health" "$root" "$STACK" "$@"; }

# ---- releases ---------------------------------------------------------------
step "releases/1 and releases/2: the base initrd plus /etc/ecluse-release"
stack_release "$stackdir/releases/1" 1
stack_release "$stackdir/releases/2" 2
rm -rf "$stackdir/current"
ln -s releases/1 "$stackdir/current"
chmod -R a+rX "$root"
switch_to() { # VERSION: current -> releases/VERSION, atomically (a rename over the link)
        ln -s "releases/$1" "$stackdir/current.new" && mv -T "$stackdir/current.new" "$stackdir/current"
}

stack_manifest "console=ttyS0 quiet panic=-1 ecl.raw=0 ecl.loop=30"
"$shim" --root "$root" validate "$manifest" || fatal "the test manifest does not validate"

status_json() { shimc status "$STACK" --json 2>/dev/null; }
# status_get EXPR: a Python expression over s, the stack's status object
status_get() {
        status_json | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(eval(sys.argv[1]))' "$1" 2>/dev/null
}

# ---- run v1 -----------------------------------------------------------------
step "ecluse-shim run on releases/1"
stack_run 'ECLUSE-RELEASE 1' --shutdown-timeout 20
pass "release 1 booted and printed ECLUSE-RELEASE 1"
running() { [ "$(status_get 's["state"]')" = running ]; }
wait_until 60 running || fatal "status does not say running"
got=$(status_get '(s["boot"], s["reload"], s["console"]["file"], s["console"]["generation"])')
if [ "$got" = "(1, None, 'console.log', 0)" ]; then
        pass "status: boot 1, no reload, a console mark in console.log, generation 0"
else
        fail "status after the first start: $got"
fi
# the guest is fully up before the reload: its probes ran (none reach anything) and it waits
wait_until 60 grep -q 'ECLUSE-PROBES-DONE' "$console" || fail "the guest did not finish its probes"

# ---- switch and reload to v2 ------------------------------------------------
step "current -> releases/2, reload and wait for ECLUSE-RELEASE 2"
switch_to 2 || fatal "cannot switch current"
out=$(hw reload) || fatal "agent_shim_reload failed: $out"
if [ "$out" = "boot 1" ]; then pass "agent_shim_reload: the boot before was 1"; else fail "agent_shim_reload said '$out'"; fi
start=$SECONDS
out=$(hw wait 1 150000 3000 'ECLUSE-RELEASE 2')
rc=$?
if [ "$rc" = 0 ] && [ "$out" = healthy ]; then
        pass "healthy after the reload to release 2 ($((SECONDS - start))s, up 3 s after the line)"
else
        fail "the wait for ECLUSE-RELEASE 2 said (exit $rc): $out"
fi

# ---- what status and console.log say ----------------------------------------
step "status and the console mark after the reload"
got=$(status_get '(s["state"], s["boot"], s["reload"], s["reload_problem"], s["console"]["generation"], s["console"]["generation_now"])')
if [ "$got" = "('running', 2, 'done', None, 0, 0)" ]; then
        pass "status: running, boot 2, reload done, the log not rotated"
else
        fail "status after the reload: $got"
fi
offset=$(status_get 's["console"]["offset"]')
inode=$(status_get 's["console"]["inode"]')
if [ "$inode" = "$(stat -c %i "$console")" ]; then pass "the mark's inode is console.log's"; else fail "mark inode $inode, console.log $(stat -c %i "$console")"; fi
before=$(head -c "$offset" "$console" | tr -d '\r')
after=$(tail -c "+$((offset + 1))" "$console" | tr -d '\r')
if grep -q '^ECLUSE-RELEASE 1$' <<<"$before" && ! grep -q 'ECLUSE-RELEASE 1' <<<"$after"; then
        pass "ECLUSE-RELEASE 1 is before the mark (offset $offset) only"
else
        fail "ECLUSE-RELEASE 1 is not (only) before the mark at $offset"
fi
if grep -q '^ECLUSE-RELEASE 2$' <<<"$after" && ! grep -q 'ECLUSE-RELEASE 2' <<<"$before"; then
        pass "ECLUSE-RELEASE 2 is after the mark only"
else
        fail "ECLUSE-RELEASE 2 is not (only) after the mark"
fi
# the new boot's output starts at the mark: its first line of the guest's own is the init's first
first=$(grep -m1 'ECLUSE-' <<<"$after")
if [[ "$first" == "ECLUSE-GUEST booting"* ]]; then
        pass "the first guest line after the mark is the new boot's: '$first'"
else
        fail "the first guest line after the mark is '${first:0:80}', not the new boot's"
fi
# what the old guest printed as it went down (the kernel's power-off line, when it is there) is before the mark
if grep -q 'Power down' <<<"$before$after"; then
        if grep -q 'Power down' <<<"$after"; then fail "the old guest's 'Power down' is after the mark"; else pass "the old guest's 'Power down' is before the mark"; fi
else
        echo "note: no 'Power down' line from the old guest (destroyed before it printed one)"
fi

# ---- waits that must fail ---------------------------------------------------
step "waits that must time out"
# timed_out WHAT TIMEOUT_MS ARGS...: exit 1 (-ETIMEDOUT) within the timeout and 3 s more
timed_out() {
        local what=$1 ms=$2 t0=$SECONDS out rc
        shift 2
        out=$(hw wait "$@")
        rc=$?
        local took=$((SECONDS - t0))
        if [ "$rc" = 1 ] && [ "$took" -le $((ms / 1000 + 3)) ] && [ "$took" -ge $((ms / 1000 - 1)) ]; then
                pass "$what: timed out after ${took}s: $out"
        else
                fail "$what: exit $rc after ${took}s: $out"
        fi
}
timed_out "a line the guest never prints" 5000 1 5000 1000 'ECLUSE-NEVER-PRINTED'
timed_out "ECLUSE-RELEASE 1, printed before the reload" 5000 1 5000 1000 'ECLUSE-RELEASE 1'
out=$(hw wait 1 3000 0 'ECLUSE-RELEASE 1')
if [ "$out" = "unhealthy: no line containing 'ECLUSE-RELEASE 1' within 3s" ]; then
        pass "the reason says which line was missing, and the timeout"
else
        fail "the reason does not name the line: $out"
fi
timed_out "a boot after boot 2 (no reload asked for)" 4000 2 4000 0
out=$(hw wait 1 10000 2000)
if [ "$out" = healthy ]; then pass "without a line: boot 2 stays up 2 s"; else fail "the stay-up wait said: $out"; fi

# ---- stop -------------------------------------------------------------------
stack_stop
out=$(hw wait 1 5000 0 'ECLUSE-RELEASE 2')
rc=$?
if [ "$rc" = 2 ] && grep -q 'gone' <<<"$out"; then pass "with the shim gone: $out"; else fail "after stop (exit $rc): $out"; fi

stack_verdict
