#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 9, the update gate: an agent killed with SIGKILL at any moment of an
# import or an apply leaves nothing half done once the next command ran
# (DESIGN.md, "Bundles, approvals, access": "A crash at any moment leaves
# either the old or the new release running, never a mix").
#
# No hook in the agent: strace's fault injection delivers a real SIGKILL at
# the entry of the Nth call of one system call (the call does not happen):
#   strace -f -e trace=SC -e inject=SC:signal=KILL:when=N ecluse-agent ...
# A first run of each operation under strace lists the calls that mark its
# steps (mkdirat, openat with O_CREAT, write, fsync, renameat, renameat2,
# symlinkat, unlinkat, connect); the agent is then killed at each of them,
# from a copy of the state before the operation, and restarted.
#
#  1. import (no VM): killed at every one of those calls; the restart is
#     the same import again (exit 0, or 65 "already imported" when the
#     kill came after the entry's rename);
#  2. apply, on the real test guest run by the real shim (apply needs one:
#     it reloads and gates on the guest's health): releases/1.0.0 placed by
#     hand and bundle 2.0.0, each the guest's kernel and initrd with
#     /etc/ecluse-release appended ("ECLUSE-RELEASE 1.0.0" / "2.0.0" at
#     boot, tests/e2e/test_reload_health.sh), two approvals.  Killed at
#     every call before `current` is switched (the restart is `releases
#     STACK`, which finishes or undoes what was in flight: no reload needed,
#     current never moved); after the switch at a few points only (each
#     costs a boot or two: the recovery switches back and reloads): right
#     after the switch, as the reload is asked, during the health wait, at the state's last write
#     and at the bundle record's last write;
#  3. after each restart (tests/e2e/lib/check_crash.py): current ->
#     releases/V, V 1.0.0 or 2.0.0, every file of V its sha256; no
#     releases/.stage-*, no .current.new; the state says nothing in flight;
#     quarantine/ holds no .import-* and every entry is complete; no bundle
#     "applying"; `audit verify` exits 0;
#  4. the apply run to its end: healthy, current -> releases/2.0.0, the
#     guest booted 2.0.0.
#
# Needs root, strace, QEMU.  About 3 to 4 minutes with TCG.
# shellcheck disable=SC2317 # functions called through wait_until and traps
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/agent-fixture.sh
. "$here/lib/agent-fixture.sh"
# shellcheck source=lib/wait.sh
. "$here/lib/wait.sh"

check_py=$here/lib/check_crash.py
stack_need ip strace cpio truncate qemu-system-x86_64
stack_build_guest
agent_fixture
chmod 0755 "$tmp" # QEMU runs as its own user: it must search the root
lib=$root/var/lib/ecluse
# shellcheck disable=SC2034 # lib/stack.sh's
stack_name=$AGENT_STACK console=$stackdir/console.log
ns=ecl-crsh$$
stack_in_netns "$ns" "$root" "$tmp"
kills=0

# ---- kill and restart -------------------------------------------------------
# The system calls whose every invocation is a kill point.
KILL_CALLS=(mkdirat openat write fsync renameat renameat2 symlinkat unlinkat connect)

# trace_points OUT CMD...: run CMD under strace, write "CALL N" per kill point to OUT
# (openat only with O_CREAT; connect only to the control socket, i.e. an AF_UNIX path)
trace_points() {
        local out=$1 list
        shift
        list=$(
                IFS=,
                echo "${KILL_CALLS[*]}"
        )
        strace -f -qq -o "$work/trace" -e trace="$list" "$@" >"$work/out" 2>"$work/err"
        rc=$?
        "$py" - "$work/trace" >"$out" <<'EOF'
import re, sys
pids, counts = set(), {}
for line in open(sys.argv[1]):
    m = re.match(r"(\d+) +(\w+)\((.*)", line)
    if not m:
        continue
    pid, call, rest = m.groups()
    pids.add(pid)
    counts[call] = counts.get(call, 0) + 1
    if call == "openat" and "O_CREAT" not in rest:
        continue
    if call == "connect" and not re.search(r'sun_path="[^"]*\.sock"', rest):
        continue
    print(call, counts[call], rest[:120].replace("\n", " "))
if len(pids) != 1:
    sys.exit("more than one process: strace's counters are per process")
EOF
}

# kill_at CALL N CMD...: CMD killed at the entry of its Nth CALL; 0 when it was
kill_at() {
        local call=$1 n=$2
        shift 2
        # in a subshell (not its last command: it must not exec strace), whose stderr takes "Killed"
        (
                strace -f -qq -o /dev/null -e trace="$call" -e inject="$call:signal=KILL:when=$n" "$@" \
                        >"$work/out" 2>"$work/err"
                echo $? >"$work/rc"
        ) 2>/dev/null
        rc=$(cat "$work/rc")
        [ "$rc" = 137 ]
}

# killed_state WHAT: right after a kill, what must hold at every moment (check_crash.py --killed)
killed_state() {
        local out
        out=$("$py" "$check_py" --killed "$root" "$AGENT_STACK" "$work/releases.json" 2>&1) ||
                fail "$1, before the restart: $(tr '\n' ';' <<<"$out")"
}

# kill_each WHAT POINTS SAVED RESTART CMD...: at each kill point of the file POINTS ("CALL N
# what"), from the state SAVED: CMD killed there, the checks of a killed agent, RESTART (a
# function, given what happened), the checks of step 3; how many kills in $killed
kill_each() {
        local what=$1 points=$2 saved=$3 restart=$4 call n where at
        shift 4
        killed=0
        while read -r -u 3 call n where; do # fd 3: CMD and RESTART must not eat the list
                at="$what killed at $call #$n ($where)"
                restore "$saved"
                if ! kill_at "$call" "$n" "$@"; then
                        fail "$what: not killed at $call #$n ($where): exit $rc: $(head -c 300 "$work/err")"
                        continue
                fi
                killed=$((killed + 1))
                killed_state "$at"
                "$restart" "$at" && invariants "$at"
        done 3<"$points"
}

# invariants WHAT: the checks of step 3
invariants() {
        local what=$1 out
        if ! out=$("$py" "$check_py" "$root" "$AGENT_STACK" "$work/releases.json" 2>&1); then
                fail "$what: $(tr '\n' ';' <<<"$out")"
                return 1
        fi
        if [ -e "$lib/audit.log" ] && ! "$agent_bin" --root "$root" audit verify >"$work/verify.out" 2>&1; then
                fail "$what: audit verify: $(head -n 1 "$work/verify.out")"
                return 1
        fi
        return 0
}

# save NAME / restore NAME: the agent's state (quarantine/, audit.log, the stack's
# state, releases/ and current; not the shim's files in the stack's directory)
save() {
        local d=$tmp/saved-$1
        rm -rf "$d"
        mkdir -p "$d/stack"
        cp -a "$lib/quarantine" "$d/quarantine"
        [ -e "$lib/audit.log" ] && cp -a "$lib/audit.log" "$d/audit.log"
        cp -a "$stackdir/releases" "$stackdir/current" "$d/stack/"
        [ -e "$stackdir/state" ] && cp -a "$stackdir/state" "$d/stack/state"
        return 0
}
restore() {
        local d=$tmp/saved-$1
        rm -rf "$lib/quarantine" "$lib/audit.log" "$stackdir/releases" "$stackdir/state" "$stackdir/.current.new" \
                "$stackdir"/.state.tmp-*
        cp -a "$d/quarantine" "$lib/quarantine"
        [ -e "$d/audit.log" ] && cp -a "$d/audit.log" "$lib/audit.log"
        cp -a "$d/stack/releases" "$stackdir/releases"
        [ -e "$d/stack/state" ] && cp -a "$d/stack/state" "$stackdir/state"
        # current: a link renamed over the one there (cp would follow it)
        ln -sfn "$(readlink "$d/stack/current")" "$stackdir/current.restore" && mv -T "$stackdir/current.restore" "$stackdir/current"
}

# ---- releases: the real guest -----------------------------------------------
step "releases: the test guest's kernel and initrd with /etc/ecluse-release"
# guest_initrd VERSION OUT: the guest's initrd with a cpio holding /etc/ecluse-release appended
guest_initrd() {
        local extra=$tmp/extra-$1
        mkdir -p "$extra/etc"
        cp "$guest_dir/initrd.img" "$2"
        truncate -s %512 "$2"
        echo "$1" >"$extra/etc/ecluse-release"
        (cd "$extra" && printf '%s\n' etc etc/ecluse-release | cpio -o -H newc -R 0:0 --quiet) >>"$2" ||
                fatal "cannot append the release cpio"
}
rel1=$stackdir/releases/1.0.0
cp "$guest_dir/vmlinuz" "$rel1/vmlinuz"
guest_initrd 1.0.0 "$rel1/initrd"
guest_initrd 2.0.0 "$work/initrd-2.0.0"
chmod 0600 "$rel1"/*
# the guest, quiet, no raw frames; the health line: what /init prints for any release
sed -i -e 's|^  cmdline: .*|  cmdline: console=ttyS0 quiet panic=-1 ecl.raw=0 ecl.loop=30|' \
        -e 's|^    console: .*|    console: "ECLUSE-RELEASE"|' "$manifest"
grep -q 'console: "ECLUSE-RELEASE"' "$manifest" || fatal "this build's manifests have no updates.health"
"$shim" --root "$root" validate "$AGENT_STACK" >"$logs/validate.out" 2>&1 ||
        fatal "the test manifest does not validate: $(cat "$logs/validate.out")"

mkbundle "$work/b2.tar" --version 2.0.0 --file vmlinuz="$guest_dir/vmlinuz" --file initrd="$work/initrd-2.0.0" \
        --qcow2 disk.qcow2=1M
cp "$work/bundle.json" "$work/b2.json"
B=$id
"$py" - "$rel1" "$work/b2.json" >"$work/releases.json" <<'EOF'
import hashlib, json, os, sys
rel, b2 = sys.argv[1:3]
one = {n: hashlib.sha256(open(os.path.join(rel, n), "rb").read()).hexdigest() for n in os.listdir(rel)}
two = {p["install"]: p["sha256"] for p in json.load(open(b2))["payload"]}
print(json.dumps({"1.0.0": one, "2.0.0": two}))
EOF
invariants "before anything" || fatal "the fixture itself does not pass the checks"
save fresh

# ---- 1. import --------------------------------------------------------------
step "import $B, killed at each step"
trace_points "$work/import.points" "$agent_bin" --root "$root" import "$work/b2.tar"
[ "$rc" = 0 ] || fatal "import under strace: exit $rc: $(cat "$work/err")"
invariants "import, not killed" || fatal "a whole import does not pass the checks"
echo "import: $(wc -l <"$work/import.points") kill points"
# the restart after a killed import: the same import again, exit 0 or "already imported"
import_again() {
        agent import "$work/b2.tar"
        if [ "$rc" != 0 ] && ! { [ "$rc" = 65 ] && grep -q 'already imported' "$work/err"; }; then
                fail "$1: the import again: exit $rc: $(cat "$work/err")"
                return 1
        fi
        [ -d "$lib/quarantine/$B" ] || { fail "$1: no quarantine/$B after the import again"; return 1; }
}
kill_each import "$work/import.points" fresh import_again "$agent_bin" --root "$root" import "$work/b2.tar"
import_kills=$killed
kills=$((kills + import_kills))
pass "import: killed at $import_kills points, each time complete after the import again"

# ---- 2. apply ---------------------------------------------------------------
step "approvals of $B (alice, bob)"
for o in alice bob; do
        agent approve --key "$keys/$o" "$B"
        [ "$rc" = 0 ] || fatal "approve by $o: exit $rc: $(cat "$work/err")"
done
save approved

step "ecluse-shim run on releases/1.0.0"
ip netns exec "$ns" "$shim" --root "$root" run "$manifest" --shutdown-timeout 3 >"$logs/shim-run.log" 2>&1 &
shim_pid=$!
booted_or_gone() { grep -q "ECLUSE-RELEASE $1" "$console" 2>/dev/null || ! alive "$shim_pid"; }
wait_until 300 booted_or_gone 1.0.0
alive "$shim_pid" || fatal "ecluse-shim run exited before the guest booted"
grep -q 'ECLUSE-RELEASE 1.0.0' "$console" || fatal "release 1.0.0 printed no ECLUSE-RELEASE 1.0.0 within 300s"
pass "release 1.0.0 booted"

step "apply $B once under strace: its kill points"
t0=$SECONDS
trace_points "$work/apply.points" "$agent_bin" --root "$root" apply "$B"
[ "$rc" = 0 ] || fatal "apply under strace: exit $rc: $(cat "$work/err")"
invariants "apply, not killed" || fatal "a whole apply does not pass the checks"
[ "$(readlink "$stackdir/current")" = releases/2.0.0 ] || fatal "apply exited 0, current -> $(readlink "$stackdir/current")"
echo "apply: $(wc -l <"$work/apply.points") kill points, $((SECONDS - t0))s"
# the switch: the rename of .current.new over current
switch=$(grep -n '^renameat[0-9]* [0-9]* .*"\.current\.new", [0-9]*, "current"' "$work/apply.points" | head -n 1 | cut -d: -f1)
[ -n "$switch" ] || fatal "no rename of .current.new over current in the apply's trace"
# after the switch, only: the next call (before the reload), the first connect
# after it (the reload asked), the third (the health wait's), the state's last
# write and the bundle record's last write (see the header)
total=$(wc -l <"$work/apply.points")
{
        head -n $((switch)) "$work/apply.points"
        sed -n "$((switch + 1))p" "$work/apply.points"
        tail -n +"$((switch + 1))" "$work/apply.points" | grep '^connect ' | sed -n '1p;3p'
        tail -n +"$((switch + 1))" "$work/apply.points" | grep '^renameat .*, "state")' | tail -n 1
        tail -n +"$((switch + 1))" "$work/apply.points" | grep '^renameat .*, "record.json")' | tail -n 1
} | awk '!seen[$1" "$2]++' >"$work/apply.kills"
echo "apply: killing at $(wc -l <"$work/apply.kills") of $total points ($switch up to the switch)"

# the restart after a killed apply: `releases STACK`, which finishes or undoes what was in flight
releases_again() {
        agent releases "$AGENT_STACK"
        [ "$rc" = 0 ] || { fail "$1: releases: exit $rc: $(cat "$work/err")"; return 1; }
}
kill_each apply "$work/apply.kills" approved releases_again "$agent_bin" --root "$root" apply "$B"
apply_kills=$killed
kills=$((kills + apply_kills))
pass "apply: killed at $apply_kills points, each time one complete release current after the restart"

# ---- 4. to the end ----------------------------------------------------------
step "apply $B to its end"
restore approved
agent apply "$B"
if [ "$rc" = 0 ] && [ "$(readlink "$stackdir/current")" = releases/2.0.0 ] && invariants "the last apply"; then
        pass "applied: current -> releases/2.0.0, healthy"
else
        fail "the last apply: exit $rc: $(cat "$work/err")"
fi
[ "$(tr -d '\r' <"$console" | grep -o 'ECLUSE-RELEASE [0-9.]*' | tail -n 1)" = "ECLUSE-RELEASE 2.0.0" ] ||
        fail "the guest's last boot was not release 2.0.0"
agent show "$B" --json
[ "$(jq -r .state "$work/out" 2>/dev/null)" = applied ] || fail "bundle $B is not applied: $(head -c 300 "$work/out")"

[ "$kills" -ge 20 ] || fail "only $kills kill points (at least 20)"
pass "$kills kill points in all ($import_kills import, $apply_kills apply)"
stack_stop
stack_verdict
