#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The guest's console cannot fill the disk (issue 13): a guest writing to its
# serial port in a loop, under `ecluse-shim run --console-cap 64`.
#
#  1. build the test guest (tests/guest/build-guest.sh, cached); its init
#     prints "ECLUSE-SPAM N ..." lines without pause with ecl.spam=1;
#  2. a manifest without `network:`, console: log; `ecluse-shim run` in a
#     private network namespace;
#  3. for 30 s, twice a second: console.log and console.log.1 each at most
#     64 KiB, no third file; the guest wrote several times that (its line
#     numbers say how much) and keeps writing (the numbers grow), the stack
#     stays running;
#  4. the serial's FIFO console.pipe is root's, 0600, and QEMU holds it open
#     without naming it (libvirt passed the descriptor); the log files are
#     root's; the live XML keeps the FIFO from being relabelled;
#  5. `stop STACK`: the run exits 0, no QEMU remains.
#
# Needs root.  Any missing prerequisite fails the test.
# shellcheck disable=SC2317 # functions called through wait_until and traps
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/stack.sh
. "$here/lib/stack.sh"
# shellcheck source=lib/wait.sh
. "$here/lib/wait.sh"

STACK=spam
CAP_KIB=64
cap=$((CAP_KIB * 1024))
stack_need ip python3 qemu-system-x86_64
stack_build_guest

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-e2e-console.XXXXXX")
# QEMU runs as its own user: it must search the root (mktemp -d is 0700).
chmod 0755 "$tmp"
root=$tmp/root
stack_tree "$root" "$STACK" "$tmp/logs"
old=$console.1
fifo=$stackdir/console.pipe
ns=ecl-cons$$
shim_pid=

dump_logs() {
        stack_dump_logs
        ls -la "$stackdir" 2>/dev/null
}

# Every process of the namespace (the shim, QEMU: no network, so no stack
# namespace of its own) goes by PID.
stack_in_netns "$ns" "$root" "$tmp"

stack_manifest "console=ttyS0 quiet panic=-1 ecl.raw=0 ecl.loop=30 ecl.spam=1"
"$shim" --root "$root" validate "$manifest" || fatal "the test manifest does not validate"

size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# The highest line number the guest printed, in either file.
last_spam() {
        cat "$old" "$console" 2>/dev/null | tr -d '\r' |
                awk '$1 == "ECLUSE-SPAM" && $2 ~ /^[0-9]+$/ && $2 + 0 > n { n = $2 + 0 } END { print n + 0 }'
}
state() {
        shimc status "$STACK" --json 2>/dev/null |
                python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("state"))'
}

# ---- run --------------------------------------------------------------------
step "ecluse-shim run --console-cap $CAP_KIB"
ip netns exec "$ns" "$shim" --root "$root" run "$manifest" --console-cap "$CAP_KIB" >"$logs/shim-run.log" 2>&1 &
shim_pid=$!
spam_or_gone() { [ "$(last_spam)" -gt 0 ] || ! alive "$shim_pid"; }
wait_until 300 spam_or_gone
alive "$shim_pid" || fatal "ecluse-shim run exited before the guest wrote to its console"
[ "$(last_spam)" -gt 0 ] || fatal "the guest wrote no ECLUSE-SPAM line within 300s"
pass "the guest writes to its serial port"

# ---- 30 s of a guest that does nothing but print ----------------------------
step "30 s of console: each file at most $cap bytes"
max_log=0 max_old=0 extra=
first=$(last_spam)
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do
        s=$(size "$console") o=$(size "$old")
        [ "$s" -gt "$max_log" ] && max_log=$s
        [ "$o" -gt "$max_old" ] && max_old=$o
        for f in "$stackdir"/console*; do
                case "${f##*/}" in console.log | console.log.1 | console.pipe) ;; *) extra+=" ${f##*/}" ;; esac
        done
        sleep 0.5
done
last=$(last_spam)
echo "largest console.log $max_log, console.log.1 $max_old; lines $first .. $last"
if [ "$max_log" -le "$cap" ] && [ "$max_old" -le "$cap" ] && [ -z "$extra" ]; then
        pass "console.log and console.log.1 stayed within ${CAP_KIB} KiB each, nothing else"
else
        fail "console files over the cap: console.log $max_log, console.log.1 $max_old, others:${extra:- none}"
fi
if [ -s "$old" ]; then pass "console.log was rotated to console.log.1"; else fail "no console.log.1: the cap was never reached"; fi
# A line is about 90 bytes: the guest wrote several caps' worth.
if [ "$((last * 80))" -ge "$((4 * cap))" ]; then
        pass "the guest wrote about $((last * 90 / 1024)) KiB, more than 4 caps"
else
        fail "the guest wrote only $last lines: the cap was hardly tested"
fi
sleep 2
if [ "$(last_spam)" -gt "$last" ] && [ "$last" -gt "$first" ]; then
        pass "the guest keeps writing (line $(last_spam))"
else
        fail "the guest stopped writing at line $(last_spam)"
fi
st=$(state)
if [ "$st" = running ]; then pass "status says running"; else fail "status says '$st', not running"; fi

# ---- who holds what ---------------------------------------------------------
step "the FIFO and the log files"
read -r ftype fown fmode < <(stat -c '%F %u %a' "$fifo" 2>/dev/null)
if [ "$ftype" = fifo ] && [ "$fown" = 0 ] && [ "$fmode" = 600 ]; then
        pass "console.pipe is a FIFO of root's, 0600"
else
        fail "console.pipe: $(stat -c '%F %U %a' "$fifo" 2>&1)"
fi
for f in "$console" "$old"; do
        read -r fown fmode < <(stat -c '%u %a' "$f")
        if [ "$fown" = 0 ] && [ $((8#$fmode & 8#022)) = 0 ]; then pass "${f##*/} is root's ($fmode)"; else fail "${f##*/}: $(stat -c '%U %a' "$f")"; fi
done
qpid=$(qemu_pid) || fatal "no QEMU in $ns"
ino=$(stat -c %i "$fifo")
held=
for fd in /proc/"$qpid"/fd/*; do
        [ "$(stat -L -c %i "$fd" 2>/dev/null)" = "$ino" ] && held=$fd
done
if [ -n "$held" ] && ! tr '\0' ' ' <"/proc/$qpid/cmdline" | grep -q 'console\.pipe'; then
        pass "QEMU holds the FIFO ($held) without naming it: libvirt passed the descriptor"
else
        fail "QEMU and the FIFO: held '${held:-no}', cmdline $(tr '\0' ' ' <"/proc/$qpid/cmdline" | grep -o '[^ ]*chardev[^ ]* [^ ]*')"
fi
live=$(find "$root" -path '*/qemu/*' -name "ecluse-$STACK.xml" -exec grep -l '<domstatus' {} + 2>/dev/null | head -n1)
if [ -n "$live" ] && python3 - "$live" "$fifo" <<'EOF'; then
import sys
import xml.etree.ElementTree as ET
serials = ET.parse(sys.argv[1]).getroot().findall(".//devices/serial")
ok = len(serials) == 1 and serials[0].get("type") == "file"
src = serials[0].find("source") if ok else None
ok = ok and src is not None and src.get("path") == sys.argv[2]
labels = src.findall("seclabel") if ok else []
ok = ok and len(labels) == 1 and labels[0].get("model") == "dac" and labels[0].get("relabel") == "no"
sys.exit(0 if ok else 1)
EOF
        pass "the live serial is the FIFO with <seclabel model='dac' relabel='no'/>"
else
        fail "the live serial is not the unrelabelled FIFO: $(grep -A4 '<serial' "$live" 2>/dev/null)"
fi

# ---- stop -------------------------------------------------------------------
stack_stop

stack_verdict
