#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Time from `ecluse-shim run` to a resumed, policy-protected guest, against
# `virsh create` of the same rendered domain XML on the same kind of
# connection (both start the process, open the connection and start QEMU).
#
#   bench/run-latency.sh MANIFEST [BUILD_DIR]      (default: build)
#   env: RUNS=runs (5)  CONNECT=URI (default: the embedded driver)
#
# shim:  from exec to the line "stack S running" (printed after resume,
#        i.e. tap + policy + define + start paused + live XML and policy
#        read back and checked + resume); then SIGTERM, not timed.
# virsh: from exec of `virsh "create X; destroy D"` to its exit, minus the
#        destroy (virsh -t times each command): process, connection,
#        create (domain running).  With the embedded driver virsh uses a
#        root of its own (a root opens in one process at a time), prepared
#        with the same qemu.conf as the shim's.
# Prints each run, the medians and the ratio shim/virsh (goal <= 1.05, issue 13).
# Needs root (taps, nftables, QEMU).  A stack with a network runs in a
# network namespace of the script's own (unshare -n): the taps and the
# nftables table are made there.  env ROOT (default /) is passed as
# --root to both render and run, so the manifest's files are where run
# looks for them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
manifest=$(realpath "${1:?usage: run-latency.sh MANIFEST [BUILD_DIR]}")
build=$(cd "${2:-$here/build}" && pwd)
runs=${RUNS:-5}
shim=$build/shim/ecluse-shim
[ -x "$shim" ] || { echo "run-latency.sh: $shim missing: build first" >&2; exit 66; }
root=${ROOT:-/}
stack=$("$shim" validate "$manifest" | sed -n 's/.*(stack \(.*\))$/\1/p')
[ -n "$stack" ] || { echo "run-latency.sh: $manifest does not validate" >&2; exit 65; }

work=$(mktemp -d)
chmod 755 "$work"
shim_pid=
trap '[ -n "$shim_pid" ] && kill -TERM "$shim_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

"$shim" --root "$root" render "$manifest" --domain >"$work/domain.xml"
# the stack's tap, if it has one (the domain names it)
tap=$(sed -n "s/.*<target dev=[\"']\([^\"']*\)[\"'] managed=[\"']no[\"'].*/\1/p" "$work/domain.xml" | head -n1)
if [ -n "$tap" ] && [ "${ECLUSE_BENCH_NETNS:-}" != 1 ]; then
        # taps only in a network namespace of our own
        rm -rf "$work"
        trap - EXIT
        exec env ECLUSE_BENCH_NETNS=1 unshare -n bash "$0" "$@"
fi
if [ -n "${CONNECT:-}" ]; then
        virsh_uri=$CONNECT
        connect=(--connect "$CONNECT")
else
        # the embedded driver's root for virsh, as the shim prepares its own
        mkdir -p "$work/virsh-root/etc"
        printf 'seccomp_sandbox = 1\nstdio_handler = "file"\n' >"$work/virsh-root/etc/qemu.conf"
        virsh_uri="qemu:///embed?root=$work/virsh-root"
        connect=()
fi

: >"$work/shim.times"
: >"$work/virsh.times"
for ((i = 1; i <= runs; i++)); do
        log=$work/shim.$i.log
        t0=$(now)
        "$shim" --root "$root" run "$manifest" "${connect[@]}" --shutdown-timeout 0 >"$log" 2>&1 &
        shim_pid=$!
        until grep -q "stack $stack running" "$log"; do
                kill -0 "$shim_pid" 2>/dev/null || { echo "run-latency.sh: shim failed: $(tail -2 "$log")" >&2; exit 70; }
                sleep 0.01
        done
        t1=$(now)
        kill -TERM "$shim_pid"
        wait "$shim_pid" || true
        shim_pid=
        echo "$t1 - $t0" | bc -l >>"$work/shim.times"

        # virsh gets its tap ready-made (untimed), as the shim makes its own
        # (multi-queue: the domain asks for two queues, tap.h)
        [ -n "$tap" ] && ip tuntap add dev "$tap" mode tap multi_queue && ip link set "$tap" up
        # the serial is the shim's FIFO (console-pipe.h): libvirt's open of it waits for a reader,
        # which the shim is; for virsh, a cat (untimed) drains it
        fifo=$root/var/lib/ecluse/stacks/$stack/console.pipe
        reader=
        if [ -p "$fifo" ]; then
                cat "$fifo" >/dev/null &
                reader=$!
        fi
        # one virsh process (the embedded driver lives as long as it does):
        # wall time minus the destroy, which virsh -t times itself
        t0=$(now)
        virsh -q -t -c "$virsh_uri" "create $work/domain.xml; destroy ecluse-$stack" >"$work/virsh.$i.out"
        t1=$(now)
        d=$(sed -n 's/^(Time: \([0-9.]*\) ms)$/\1/p' "$work/virsh.$i.out" | tail -n1)
        [ -n "$d" ] || { echo "run-latency.sh: virsh: $(cat "$work/virsh.$i.out")" >&2; exit 70; }
        echo "$t1 - $t0 - $d / 1000" | bc -l >>"$work/virsh.times"
        [ -n "$tap" ] && ip link del "$tap"
        if [ -n "$reader" ]; then kill "$reader" 2>/dev/null || true; wait "$reader" 2>/dev/null || true; fi
        printf 'run %d: shim %.3f s, virsh create %.3f s\n' "$i" "$(tail -n1 "$work/shim.times")" \
                "$(tail -n1 "$work/virsh.times")"
done
s=$(median <"$work/shim.times")
v=$(median <"$work/virsh.times")
printf 'median of %d: shim run %.3f s, virsh create %.3f s, ratio %.3f (goal <= 1.05)\n' "$runs" "$s" "$v" \
        "$(echo "$s / $v" | bc -l)"
