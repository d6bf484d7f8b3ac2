#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# TCP throughput (iperf3) through a veth standing for a stack's tap, with the
# policy of N egress entries (default 10,000; the iperf3 server allowed as the
# last entry) against the same path without any table.  Both directions:
# guest -> host (guest_out, hook ingress) and host -> guest (-R: guest_in, hook
# egress, admitted as replies of the tracked flow).  Median of RUNS (default 5)
# runs of SECONDS (default 5) each, alternating unfiltered and filtered; prints
# the ratios (goal: at least 0.9).  Everything happens in two network
# namespaces this script creates; traffic only between them.
#   sudo bench/policy-throughput.sh      N=10000 RUNS=5 SECONDS_PER_RUN=5 BUILD=build
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "policy-throughput.sh: needs root" >&2; exit 77; }
command -v iperf3 >/dev/null || { echo "policy-throughput.sh: needs iperf3" >&2; exit 69; }
if [ -z "${ECLUSE_BENCH_IN_NS:-}" ]; then
  exec env ECLUSE_BENCH_IN_NS=1 unshare -n bash "$0" "$@"
fi
n=${N:-10000}
runs=${RUNS:-5}
secs=${SECONDS_PER_RUN:-5}
tmp=$(mktemp -d)
guest_pid=
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$guest_pid" ] && kill "$guest_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# shellcheck source=bench/policy-build-helper.sh
. "$here/bench/policy-build-helper.sh"
policy_bench_build "$tmp/policy-bench"

# The guest: a second namespace, held by a sleeping process of ours.
unshare -n sleep 100000 &
guest_pid=$!
sleep 0.2
g() { nsenter -t "$guest_pid" -n "$@"; }
ip link add name ecl-bench type veth peer name ecl-bench-g
ip link set dev ecl-bench-g netns "/proc/$guest_pid/ns/net"
# The uplink as run makes it (shim/netns.h): the policy forwards between tap and
# ecu-bench; the host's address is on the outer end.  Unfiltered, a bridge of
# the two inner ends stands for "nothing in the way".
ip link add name ecu-bench type veth peer name ecb-bench
ip link set dev lo up
ip addr add 10.99.0.1/24 dev ecb-bench
ip link set dev ecl-bench up
ip link set dev ecu-bench up
ip link set dev ecb-bench up
ip link add name brbench type bridge
ip link set dev brbench up
g ip link set dev lo up
g ip link set dev ecl-bench-g address 52:54:00:00:be:01
g ip addr add 10.99.0.2/24 dev ecl-bench-g
g ip link set dev ecl-bench-g up

iperf3 -s -B 10.99.0.1 >/dev/null 2>&1 &
server_pid=$!
sleep 0.5

# Mbit/s received, guest as client ($1: "" or -R).
measure() {
  g iperf3 -c 10.99.0.1 -t "$secs" -f m $1 2>/dev/null | awk '/receiver/ {print $(NF-2)}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/plain-out"; : >"$tmp/filt-out"; : >"$tmp/plain-in"; : >"$tmp/filt-in"
for i in $(seq "$runs"); do
  nft delete table netdev ecluse-bench 2>/dev/null || true
  ip link set dev ecl-bench master brbench; ip link set dev ecu-bench master brbench
  measure "" >>"$tmp/plain-out"
  measure -R >>"$tmp/plain-in"
  ip link set dev ecl-bench nomaster; ip link set dev ecu-bench nomaster
  "$tmp/policy-bench" apply "$n" 10.99.0.1 5201
  measure "" >>"$tmp/filt-out"
  measure -R >>"$tmp/filt-in"
  echo "run $i: guest->host $(tail -1 "$tmp/plain-out") / $(tail -1 "$tmp/filt-out") Mbit/s," \
    "host->guest $(tail -1 "$tmp/plain-in") / $(tail -1 "$tmp/filt-in") Mbit/s (unfiltered / filtered)"
done
# The filtered runs really went through the policy: its flow rule counted them.
nft list chain netdev ecluse-bench guest_out | grep '@flows_out4' | grep -q 'counter packets [1-9]' ||
  { echo "policy-throughput.sh: the filtered runs did not hit the policy" >&2; exit 70; }
po=$(median <"$tmp/plain-out"); fo=$(median <"$tmp/filt-out")
pi=$(median <"$tmp/plain-in"); fi_=$(median <"$tmp/filt-in")
awk -v po="$po" -v fo="$fo" -v pi="$pi" -v fi="$fi_" -v n="$n" -v r="$runs" 'BEGIN {
  printf "policy of %d egress entries, median of %d runs\n", n, r
  printf "guest->host: unfiltered %.0f Mbit/s, filtered %.0f Mbit/s, ratio %.3f\n", po, fo, fo / po
  printf "host->guest: unfiltered %.0f Mbit/s, filtered %.0f Mbit/s, ratio %.3f\n", pi, fi, fi / pi
}'
