#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# DESIGN.md: "Every valid stack name must start under any --root of up to 64
# bytes".  A stack with a 31-character name (the longest ^[a-z][a-z0-9-]{0,30}$
# allows) under a --root of exactly 64 bytes: libvirt's monitor socket under
# ROOT/var/lib/ecluse/libvirt/STACK would be 156 bytes, the control socket
# ROOT/run/ecluse/STACK.sock 112, both over sun_path's 107.
#
#  1. build the test guest (tests/guest/build-guest.sh, cached);
#  2. a manifest without `network:` (no tap, no bridge), console: log;
#  3. `ecluse-shim run` in a private network namespace; the guest boots
#     (its serial log says ECLUSE-GUEST up);
#  4. `status STACK --json` says running; QEMU's monitor socket is bound
#     through the short alias (libvirt-embed.h) and leads into the root;
#  5. QEMU runs as the stack's own uid and gid, and a process of libvirt's
#     QEMU user can neither connect to its monitor, read its domain
#     directory, signal it nor read its /proc environment;
#  6. `stop STACK`: the run exits 0, no QEMU remains.
#
# Needs root.  Any missing prerequisite fails the test.
# shellcheck disable=SC2317 # functions called through wait_until and traps
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/stack.sh
. "$here/lib/stack.sh"
# shellcheck source=lib/wait.sh
. "$here/lib/wait.sh"

STACK=a-stack-name-of-31-characters-x
stack_need ip python3 qemu-system-x86_64
[ "${#STACK}" = 31 ] || fatal "the stack name has ${#STACK} characters, not 31"
stack_build_guest

# ---- a root of exactly 64 bytes -------------------------------------------
base=${TMPDIR:-/tmp}/ecluse-e2e-long.
pad=$((64 - ${#base} - 6)) # mktemp's XXXXXX
[ "$pad" -ge 0 ] || fatal "TMPDIR is too long for a 64-byte root: $base"
root=$(mktemp -d "$base$(printf '%*s' "$pad" '' | tr ' ' p)XXXXXX") || fatal "mktemp failed"
# QEMU runs as its own user: it must search the root (mktemp -d is 0700).
chmod 0755 "$root"
[ "${#root}" = 64 ] || fatal "the root has ${#root} bytes, not 64: $root"
stack_tree "$root" "$STACK" "$(mktemp -d "${TMPDIR:-/tmp}/ecluse-e2e-long-logs.XXXXXX")"
ns=ecl-long$$
shim_pid=

qemu_pid() { qemu_in_netns "$ns"; }

cleanup() {
        local pid
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
        if [ "${KEEP_E2E_TMP:-0}" = 1 ]; then
                echo "kept $root and $logs"
        else
                rm -rf "$root" "$logs"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" || fatal "cannot create the network namespace $ns"
shimc() { ip netns exec "$ns" "$shim" --root "$root" "$@"; }

stack_manifest "console=ttyS0 quiet panic=-1 ecl.raw=0 ecl.loop=30"
step "root $root (${#root} bytes), stack $STACK"
"$shim" --root "$root" validate "$manifest" || fatal "the test manifest does not validate"

# ---- run ------------------------------------------------------------------
step "ecluse-shim run"
ip netns exec "$ns" "$shim" --root "$root" run "$manifest" >"$logs/shim-run.log" 2>&1 &
shim_pid=$!
up_or_gone() { grep -q '^ECLUSE-GUEST up' <(tr -d '\r' <"$console" 2>/dev/null) || ! alive "$shim_pid"; }
wait_until 300 up_or_gone
alive "$shim_pid" || fatal "ecluse-shim run exited before the guest came up"
grep -q '^ECLUSE-GUEST up' <(tr -d '\r' <"$console") || fatal "the guest did not come up within 300s"
pass "a 31-character stack started under a 64-byte root"

if shimc status "$STACK" --json >"$logs/status.json" 2>&1 &&
        python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(not isinstance(o,list) or len(o)!=1 or o[0].get("state")!="running")' "$logs/status.json"; then
        pass "status $STACK --json says running"
else
        fail "status $STACK: $(cat "$logs/status.json")"
fi

# The monitor: libvirt binds it under the root it is given (the alias); the
# directory it is in must be the stack's embedded root under --root.
qpid=$(qemu_pid) || fatal "no QEMU in $ns"
mon=$(tr '\0' '\n' <"/proc/$qpid/cmdline" | grep -o 'path=[^,]*monitor.sock' | head -n 1)
mon=${mon#path=}
if [ -z "$mon" ]; then
        # libvirt may pass the listening socket as an fd: find it among QEMU's sockets
        mon=$(awk 'NR > 1 && $8 ~ /monitor\.sock$/ { print $8; exit }' "/proc/$qpid/net/unix")
fi
echo "monitor socket: ${mon:-not found} (${#mon} bytes)"
real=$(readlink -f "$(dirname "$mon")" 2>/dev/null)
if [ -n "$mon" ] && [ "${#mon}" -le 107 ] && [[ "$real" == "$root/var/lib/ecluse/libvirt/$STACK/lib/qemu/domain-"* ]]; then
        pass "the monitor socket has ${#mon} bytes and leads to $real"
else
        fail "monitor socket '$mon' (${#mon} bytes) resolves to '$real'"
fi
stack_check_qemu_identity "$qpid" "$real/monitor.sock"

# ---- stop -------------------------------------------------------------------
stack_stop

stack_verdict
