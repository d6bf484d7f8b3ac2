# SPDX-License-Identifier: Apache-2.0
# Sourced by bench/policy-*.sh: compile bench/policy-bench.c against the built
# libraries ($BUILD, default build/) into $1.
policy_bench_build() {
  local here build out
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  build=${BUILD:-$here/build}
  out=$1
  if [ ! -f "$build/shim/libecluse-shim-lib.a" ]; then
    echo "build first: cmake -S . -B build && cmake --build build" >&2
    exit 66
  fi
  # shellcheck disable=SC2046
  cc -O2 -D_GNU_SOURCE -I"$here/shim" -I"$here/common/base" -I"$here/common/manifest" -I"$here/common/trust" -I"$here/common/control" "$here/bench/policy-bench.c" -o "$out" \
    "$build/shim/libecluse-shim-lib.a" "$build/common/libecluse-manifest.a" "$build/common/libecluse-trust.a" "$build/common/libecluse-control.a" "$build/common/libecluse-base.a" \
    $(pkg-config --libs libnftables jansson libcrypto yaml-0.1 libxml-2.0 libvirt libseccomp libcap)
}
