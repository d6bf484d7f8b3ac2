#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Time to load (one transaction, replacing the previous table) a policy of
# N egress entries (default 10,000; goal: under 100 ms), through
# shim_policy_load, on a veth standing for the tap, in a network namespace this
# script creates.  Prints every run and the median of RUNS (default 7).
#   sudo bench/policy-load.sh            N=10000 RUNS=7 BUILD=build
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "policy-load.sh: needs root (network namespace, nftables)" >&2; exit 77; }
if [ -z "${ECLUSE_BENCH_IN_NS:-}" ]; then
  exec env ECLUSE_BENCH_IN_NS=1 unshare -n bash "$0" "$@"
fi
n=${N:-10000}
runs=${RUNS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=bench/policy-build-helper.sh
. "$here/bench/policy-build-helper.sh"
policy_bench_build "$tmp/policy-bench"
ip link add name ecl-bench type veth peer name ecl-bench-g
ip link add name ecu-bench type veth peer name ecb-bench # the uplink (shim/netns.h)
"$tmp/policy-bench" load "$n" "$runs"
echo "rules: $(nft -a list chain netdev ecluse-bench guest_out | grep -c comment) in guest_out," \
  "sets: $(nft list sets netdev | grep -c '^\s*set ')"
