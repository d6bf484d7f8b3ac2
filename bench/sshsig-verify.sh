#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# SSHSIG verifications per second: ecluse against `ssh-keygen -Y verify`
# run once per signature (what a shell script or a tool calling OpenSSH does).
#
#   bench/sshsig-verify.sh [BUILD_DIR]      (default: build)
#   env: KEYTYPE=ed25519|ecdsa|rsa (ed25519)  N=signatures per run (200)  RUNS=runs (5)
#
# Three numbers, each the median of RUNS runs:
#   ecluse library   in-process (bench/sshsig-bench.c), as the agent verifies
#   ecluse-agent     `ecluse-agent verify` spawned per signature
#   ssh-keygen       `ssh-keygen -Y verify` spawned per signature
# and the ratios to ssh-keygen.  Needs ssh-keygen, cc and pkg-config; the
# project must be built first (cmake --build BUILD_DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
keytype=${KEYTYPE:-ed25519}
n=${N:-200}
runs=${RUNS:-5}
ns=ecluse-approval
principal=officer@example.org
agent=$build/agent/ecluse-agent
lib=$build/common/libecluse-trust.a
base_lib=$build/common/libecluse-base.a
for f in "$agent" "$lib"; do
  [ -e "$f" ] || { echo "sshsig-verify.sh: $f missing: build the project first" >&2; exit 66; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2046
cc -O2 -D_GNU_SOURCE -I"$here/common/base" -I"$here/common/trust" "$here/bench/sshsig-bench.c" "$lib" "$base_lib" \
  $(pkg-config --libs libcrypto jansson yaml-0.1 libxml-2.0) -o "$work/sshsig-bench"

ssh-keygen -q -t "$keytype" -N '' -C bench -f "$work/key"
printf '%s %s\n' "$principal" "$(cut -d' ' -f1,2 "$work/key.pub")" > "$work/signers"
mkdir "$work/m"
for ((i = 0; i < n; i++)); do
  printf 'ecluse statement %d\nbundle sha256:%064d\n' "$i" "$i" > "$work/m/m$i"
  ssh-keygen -q -Y sign -f "$work/key" -n "$ns" "$work/m/m$i"
done

now() { date +%s.%N; }
rate() { awk -v n="$n" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", n / (b - a) }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

lib_rates=() cli_rates=() ossh_rates=()
for ((r = 0; r < runs; r++)); do
  lib_rates+=("$("$work/sshsig-bench" "$work/signers" "$ns" "$principal" "$work/m" "$n")")

  t0=$(now)
  for ((i = 0; i < n; i++)); do
    "$agent" verify --signers "$work/signers" --namespace "$ns" --principal "$principal" \
      --signature "$work/m/m$i.sig" "$work/m/m$i" >/dev/null
  done
  cli_rates+=("$(rate "$t0" "$(now)")")

  t0=$(now)
  for ((i = 0; i < n; i++)); do
    ssh-keygen -Y verify -f "$work/signers" -I "$principal" -n "$ns" -s "$work/m/m$i.sig" \
      < "$work/m/m$i" >/dev/null
  done
  ossh_rates+=("$(rate "$t0" "$(now)")")
done

lib=$(printf '%s\n' "${lib_rates[@]}" | median)
cli=$(printf '%s\n' "${cli_rates[@]}" | median)
ossh=$(printf '%s\n' "${ossh_rates[@]}" | median)
echo "SSHSIG verify, $keytype key, $n signatures x $runs runs (median verifications/s)"
printf '  %-34s %10s/s\n' "ecluse library (in-process)" "$lib" \
  "ecluse-agent verify (per signature)" "$cli" "ssh-keygen -Y verify (per signature)" "$ossh"
awk -v a="$lib" -v b="$cli" -v c="$ossh" \
  'BEGIN { printf "ratio ecluse library / ssh-keygen: %.1fx\nratio ecluse-agent verify / ssh-keygen: %.2fx\n", a / c, b / c }'
