#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 9, the update gate end to end on the real test guest: an update
# quarantined, approved by two officers, applied under a running shim and
# checked on the guest's serial console; a broken one rolled back by the
# agent on its own; a rollback asked for; every step audited.
#
#  1. the test guest (tests/guest/build-guest.sh, cached); stack office under
#     a --root, its officers and vendor (lib/agent-fixture.sh's agent_signers,
#     keys made by ssh-keygen), the manifest with
#     `updates: {quorum: 2, health: {console: "APP READY", timeout: 60s}}`;
#     releases/1.0.0 placed by hand (current -> it), its initrd with
#     /etc/ecluse-release "1.0.0 APP READY" (stack_release: the guest prints
#     "ECLUSE-RELEASE <text>" at boot);
#  2. `ecluse-shim run` (no network, a private network namespace; the agent
#     runs outside it, on the same --root: the control socket is a file): the
#     guest prints ECLUSE-RELEASE 1.0.0;
#  3. bundle 2.0.0 (mkbundle.py --file: vmlinuz, and an initrd whose release
#     text is "2.0.0 APP READY"): import; `statement ID`; alice signs it with
#     `ssh-keygen -Y sign -n ecluse-approval` and `approve --signature`, bob
#     with `approve --key`; `apply` exits 0; the console after the reload has
#     ECLUSE-RELEASE 2.0.0 APP READY; `releases office --json`: 2.0.0 running
#     and the floor, 1.0.0 previous; `list --json`: applied;
#  4. bundle 3.0.0, whose guest prints "ECLUSE-RELEASE 3.0.0 broken" and never
#     APP READY: imported, approved twice; `apply` exits non-zero within the
#     health timeout and a margin, says it switched back (--json: verdict
#     rolled-back); list: rolled-back; current -> releases/2.0.0; the guest
#     printed ECLUSE-RELEASE 2.0.0 again after the 3.0.0 boot; floor 2.0.0;
#  5. `rollback office`: 1.0.0 runs (its line on the console after that),
#     2.0.0 is previous and still the floor;
#  6. the manifest's health without console, timeout 25s: `rollback office`
#     (back to 2.0.0) answers no sooner than 25 s after the guest resumed
#     (manifest.h: without a line, the guest must stay up the timeout);
#  7. `audit verify` exits 0; `audit show --json`, the agent's events in
#     order (the shim's own records in between left out): imported,
#     approved, approved, apply-started, applied, imported, approved,
#     approved, apply-started, rolled-back, rollback, rollback;
#  8. `stop office`: the run exits 0, no QEMU remains.
#
# Needs root.  Any missing prerequisite fails the test.  About 3 minutes (3 min 10 s on 2 cores)
# with TCG.  KEEP_E2E_TMP=1 keeps the tree.
# shellcheck disable=SC2317 # functions called through wait_until and traps
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/agent-fixture.sh
. "$here/lib/agent-fixture.sh"
# shellcheck source=lib/wait.sh
. "$here/lib/wait.sh"

HEALTH_TIMEOUT=60
STAY_UP=25
stack_need ip python3 qemu-system-x86_64 cpio truncate
agent_need
stack_build_guest

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-e2e-update.XXXXXX") || fatal "mktemp failed"
chmod 0755 "$tmp" # QEMU runs as its own user: it must search the root
root=$tmp/root
keys=$tmp/keys
work=$tmp/work
mkdir -p "$work"
stack_tree "$root" "$AGENT_STACK" "$tmp/logs"
agent_signers
ns=ecl-upd$$
stack_in_netns "$ns" "$root" "$tmp"

# ---- 1. the tree -------------------------------------------------------------
step "releases/1.0.0 by hand; bundles 2.0.0 and 3.0.0"
rm -rf "$stackdir/current"
stack_release "$stackdir/releases/1.0.0" "1.0.0 APP READY"
ln -s releases/1.0.0 "$stackdir/current"
chmod -R a+rX "$stackdir"
stack_release "$work/v2" "2.0.0 APP READY"
stack_release "$work/v3" "3.0.0 broken"
stack_manifest "console=ttyS0 quiet panic=-1 ecl.raw=0 ecl.loop=30"
licensor=$(sed -n 's/^licensor: //p' "$manifest")
cat >>"$manifest" <<EOF
updates:
  quorum: 2
  health:
    console: "APP READY"
    timeout: ${HEALTH_TIMEOUT}s
EOF
"$shim" --root "$root" validate "$manifest" >"$logs/validate.out" 2>&1 ||
        fatal "the test manifest does not validate: $(cat "$logs/validate.out")"
# bundle VERSION DIR: $work/VERSION.tar, its $id
bundle() {
        mkbundle "$work/$1.tar" --version "$1" --licensor "$licensor" --file "vmlinuz=$2/vmlinuz" \
                --file "initrd=$2/initrd"
}

# ---- 2. run 1.0.0 --------------------------------------------------------------
step "ecluse-shim run on releases/1.0.0"
stack_run 'ECLUSE-RELEASE 1.0.0 APP READY' --shutdown-timeout 10
pass "release 1.0.0 booted and printed ECLUSE-RELEASE 1.0.0 APP READY"
running() { [ "$(shimc status "$AGENT_STACK" --json 2>/dev/null | jq -r '.[0].state' 2>/dev/null)" = running ]; }
wait_until 60 running || fatal "status does not say running"

# The lines ECLUSE-RELEASE of the console from byte FROM on, in order, one a line.
releases_since() { # FROM
        since "$console" "$1" | grep -o '^ECLUSE-RELEASE .*' | sed 's/ *$//'
}
# import_approved VERSION DIR: bundle VERSION of DIR's kernel and initrd imported ($id), approved by alice and bob
import_approved() {
        bundle "$1" "$2"
        agent import "$work/$1.tar"
        if [ "$rc" = 0 ]; then pass "import $1 ($id)"; else fatal "import $1: exit $rc: $(cat "$work/err")"; fi
        approve_both "$id"
}
# timed NAME CMD...: the console's size before in $mark, the seconds CMD took in $took, its output in $logs/NAME.*
timed() {
        local name=$1 t0=$SECONDS
        shift
        mark=$(file_size "$console")
        "$@"
        took=$((SECONDS - t0))
        cp "$work/out" "$logs/$name.out"
        cp "$work/err" "$logs/$name.err"
}
# approve_both ID: alice signs with ssh-keygen and brings the signature, bob lets the agent sign
approve_both() {
        agent statement "$1"
        [ "$rc" = 0 ] || { fail "statement $1: exit $rc: $(cat "$work/err")"; return; }
        cp "$work/out" "$work/$1.statement"
        rm -f "$work/$1.statement.sig"
        if ssh-keygen -q -Y sign -n ecluse-approval -f "$keys/alice" "$work/$1.statement" </dev/null 2>"$work/sign.err"; then
                agent approve "$1" --signature "$work/$1.statement.sig"
                if [ "$rc" = 0 ]; then pass "$1: alice's approval (ssh-keygen -Y sign)"; else fail "$1: alice's approval: exit $rc: $(cat "$work/err")"; fi
        else
                fail "ssh-keygen -Y sign by alice failed: $(cat "$work/sign.err")"
        fi
        agent approve "$1" --key "$keys/bob"
        if [ "$rc" = 0 ]; then pass "$1: bob's approval (approve --key)"; else fail "$1: bob's approval: exit $rc: $(cat "$work/err")"; fi
        agent_json list list
        json_check "$1: approved, 2 of 2" "$logs/list.json" \
                "map(select(.id == \"$1\")) | length == 1 and .[0].state == \"approved\" and .[0].approvals == 2"
}
releases_check() { # WHAT JQ
        agent_json releases releases "$AGENT_STACK"
        json_check "$1" "$logs/releases.json" "$2"
}
# role VERSION ROLE: the releases --json condition that VERSION has ROLE (running, previous)
role() { echo "(map(select(.version == \"$1\"))[0].role == \"$2\")"; }
floor() { echo "(map(select(.floor))|map(.version) == [\"$1\"])"; }
current() { echo "(map(select(.current))|map(.version) == [\"$1\"])"; }
current_link() { # VERSION
        local target
        target=$(readlink "$stackdir/current")
        if [ "$target" = "releases/$1" ]; then pass "current -> releases/$1"; else fail "current -> '$target', not releases/$1"; fi
}

# ---- 3. 2.0.0 ------------------------------------------------------------------
step "bundle 2.0.0: import, two approvals, apply"
import_approved 2.0.0 "$work/v2"
v2=$id
timed apply-2 agent apply "$v2"
if [ "$rc" = 0 ]; then
        pass "apply 2.0.0: exit 0 in ${took}s: $(cat "$work/out")"
else
        fail "apply 2.0.0: exit $rc after ${took}s: $(tail -n 3 "$work/err")"
fi
got=$(releases_since "$mark")
if [ "$got" = "ECLUSE-RELEASE 2.0.0 APP READY" ]; then
        pass "after the reload the guest printed ECLUSE-RELEASE 2.0.0 APP READY (and no other release)"
else
        fail "release lines after the apply: '$got'"
fi
current_link 2.0.0
releases_check "releases: 2.0.0 current, running and the floor; 1.0.0 previous" \
        "$(current 2.0.0) and $(role 2.0.0 running) and $(role 1.0.0 previous) and $(floor 2.0.0)"
agent_json list list
json_check "list: 2.0.0 applied" "$logs/list.json" "map(select(.id == \"$v2\"))[0].state == \"applied\""

# ---- 4. 3.0.0, never healthy ---------------------------------------------------
step "bundle 3.0.0 (no APP READY): import, two approvals, apply, rolled back by the agent"
import_approved 3.0.0 "$work/v3"
v3=$id
timed apply-3 agent apply "$v3" --json
# the health timeout, then the switch back: the old release's boot (TCG) and 5 s up
if [ "$rc" != 0 ] && [ "$took" -ge "$HEALTH_TIMEOUT" ] && [ "$took" -le $((HEALTH_TIMEOUT + 120)) ]; then
        pass "apply 3.0.0: exit $rc after ${took}s (health timeout ${HEALTH_TIMEOUT}s)"
else
        fail "apply 3.0.0: exit $rc after ${took}s (health timeout ${HEALTH_TIMEOUT}s)"
fi
if grep -q 'switched back' "$work/err" && grep -q "no line containing 'APP READY'" "$work/err"; then
        pass "apply 3.0.0 says why and that it switched back: $(grep 'error:' "$work/err" | tail -n 1)"
else
        fail "apply 3.0.0's error does not say it switched back for want of APP READY: $(tail -n 3 "$work/err")"
fi
json_check "apply --json: verdict rolled-back, from 2.0.0" "$logs/apply-3.out" \
        '.verdict == "rolled-back" and .rolled_back == true and .version == "3.0.0" and .from == "2.0.0"'
got=$(releases_since "$mark" | tr '\n' '|')
if [ "$got" = "ECLUSE-RELEASE 3.0.0 broken|ECLUSE-RELEASE 2.0.0 APP READY|" ]; then
        pass "the guest booted 3.0.0, then 2.0.0 again after the switch back"
else
        fail "release lines during the apply of 3.0.0: '$got'"
fi
agent_json list list
json_check "list: 3.0.0 rolled-back, 2.0.0 still applied" "$logs/list.json" \
        "(map(select(.id == \"$v3\"))[0].state == \"rolled-back\") and (map(select(.id == \"$v2\"))[0].state == \"applied\")"
current_link 2.0.0
releases_check "releases: 2.0.0 current, running and still the floor; 1.0.0 previous" \
        "$(current 2.0.0) and $(role 2.0.0 running) and $(role 1.0.0 previous) and $(floor 2.0.0)"
if [ ! -e "$stackdir/releases/3.0.0" ]; then
        pass "the release that did not stay is removed: no releases/3.0.0 for a later bundle to reuse"
else
        fail "releases/3.0.0 is still there after the rollback: $(ls "$stackdir/releases/3.0.0")"
fi

# ---- 5. rollback ---------------------------------------------------------------
step "rollback office: back to 1.0.0, the floor stays"
timed rollback agent rollback "$AGENT_STACK"
if [ "$rc" = 0 ]; then pass "rollback: exit 0: $(cat "$work/out")"; else fail "rollback: exit $rc: $(tail -n 3 "$work/err")"; fi
got=$(releases_since "$mark")
if [ "$got" = "ECLUSE-RELEASE 1.0.0 APP READY" ]; then
        pass "after the rollback the guest printed ECLUSE-RELEASE 1.0.0 APP READY"
else
        fail "release lines after the rollback: '$got'"
fi
current_link 1.0.0
releases_check "releases: 1.0.0 current and running, 2.0.0 previous and still the floor" \
        "$(current 1.0.0) and $(role 1.0.0 running) and $(role 2.0.0 previous) and $(floor 2.0.0)"

# ---- 6. no health line: the guest must stay up the timeout ----------------------
step "updates.health without console: rollback office (to 2.0.0) stays up ${STAY_UP}s"
sed -i -e '/^    console: "APP READY"$/d' -e "s/^    timeout: ${HEALTH_TIMEOUT}s\$/    timeout: ${STAY_UP}s/" "$manifest"
"$shim" --root "$root" validate "$manifest" >"$logs/validate.out" 2>&1 ||
        fatal "the manifest without console does not validate: $(cat "$logs/validate.out")"
grep -q 'console: "APP' "$manifest" && fatal "the manifest still has its health line"
timed rollback-2 agent rollback "$AGENT_STACK"
ended=$(date +%s)
if [ "$rc" = 0 ]; then pass "rollback: exit 0: $(cat "$work/out")"; else fail "rollback: exit $rc: $(tail -n 3 "$work/err")"; fi
# the reload's guest resumed (the shim's record), then ran STAY_UP s before the verdict
resumed=$("$agent_bin" --root "$root" audit show --json | jq -r 'map(select(.event == "domain-resumed")) | last | .time')
up=$((ended - $(date -d "$resumed" +%s)))
if [ "$up" -ge "$STAY_UP" ] && [ "$up" -le $((STAY_UP + 30)) ]; then
        pass "the verdict came ${up}s after the guest resumed (stay up ${STAY_UP}s)"
else
        fail "the verdict came ${up}s after the guest resumed ($resumed), not after the ${STAY_UP}s it must stay up"
fi
current_link 2.0.0
releases_check "releases: 2.0.0 current, running and the floor, 1.0.0 previous" \
        "$(current 2.0.0) and $(role 2.0.0 running) and $(role 1.0.0 previous) and $(floor 2.0.0)"

# ---- 7. the audit log ----------------------------------------------------------
step "the audit log"
"$agent_bin" --root "$root" audit verify >"$logs/verify.out" 2>&1
rc=$?
if [ "$rc" = 0 ]; then pass "audit verify: $(cat "$logs/verify.out")"; else fail "audit verify: exit $rc: $(cat "$logs/verify.out")"; fi
agent_json audit audit show
want='["imported","approved","approved","apply-started","applied","imported","approved","approved","apply-started","rolled-back","rollback","rollback"]'
json_check "audit: the update gate's events in order" "$logs/audit.json" \
        "map(select(.event | IN(\"imported\",\"approved\",\"apply-started\",\"applied\",\"rolled-back\",\"rollback\",\"apply-interrupted\",\"approval-refused\",\"superseded\")) | .event) == $want"
json_check "audit: the records name the bundles and versions" "$logs/audit.json" \
        "(map(select(.event == \"applied\"))[0].details | .id == \"$v2\" and .version == \"2.0.0\" and .from == \"1.0.0\") and
         (map(select(.event == \"rolled-back\"))[0].details | .id == \"$v3\" and .version == \"3.0.0\" and .to == \"2.0.0\") and
         (map(select(.event == \"rollback\"))[0].details | .from == \"2.0.0\" and .to == \"1.0.0\")"

# ---- 8. stop -------------------------------------------------------------------
stack_stop

stack_verdict
