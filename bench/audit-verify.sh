#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# How fast is `ecluse-agent audit verify` compared with just hashing the file?
# Generates an audit log of N records (default 1,000,000) with a small C
# driver (bench/audit-gen.c, the library's own line writer), then times
#   ecluse-agent audit verify --log F     and     sha256sum F
# RUNS times each (default 5) and prints the medians and their ratio.
# Goal: ratio <= 2.
#
#   bench/audit-verify.sh [N] [RUNS]      (BUILD=build by default)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
n=${1:-1000000}
runs=${2:-5}
agent=$build/agent/ecluse-agent
lib=$build/common/libecluse-trust.a
base_lib=$build/common/libecluse-base.a
if [ ! -x "$agent" ] || [ ! -f "$lib" ]; then
  echo "audit-verify.sh: build first (cmake -S . -B build && cmake --build build)" >&2
  exit 66
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$here/common/base" -I"$here/common/trust" "$here/bench/audit-gen.c" "$lib" "$base_lib" \
   $(pkg-config --cflags --libs jansson libcrypto) -o "$work/audit-gen"
log=$work/audit.log
"$work/audit-gen" "$n" "$log"
echo "log: $n records, $(stat -c %s "$log") bytes"
"$agent" audit verify --log "$log" >/dev/null    # warm the page cache, and it must pass

# Wall-clock seconds of one run of "$@" (output discarded).
time_one() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

v=(); s=()
for _ in $(seq "$runs"); do
  v+=("$(time_one "$agent" audit verify --log "$log")")
  s+=("$(time_one sha256sum "$log")")
done
mv=$(printf '%s\n' "${v[@]}" | median)
ms=$(printf '%s\n' "${s[@]}" | median)
printf 'audit verify: median %.3f s over %d runs (%s)\n' "$mv" "$runs" "${v[*]}"
printf 'sha256sum:    median %.3f s over %d runs (%s)\n' "$ms" "$runs" "${s[*]}"
printf 'ratio verify/sha256sum: %.2f (goal <= 2)\n' "$(awk -v a="$mv" -v b="$ms" 'BEGIN { print a / b }')"
