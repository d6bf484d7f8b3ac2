#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# How close is `ecluse-agent import` to the disk?  For a bundle whose payload
# is one big disk image (random bytes, `format: raw` in the manifest, beside a
# 4 KiB kernel and initrd), it times, RUNS times each, in rounds whose order
# rotates (dd, direct, hash+cp, import; then direct, hash+cp, import, dd; ...):
#
#   dd       dd if=IMAGE of=OUT bs=4M conv=fsync        one durable copy: the floor
#   direct   dd ... iflag=direct oflag=direct conv=fsync  the same without the page
#                                                        cache (for reference, no goal)
#   hash+cp  sha256sum IMAGE && cp IMAGE OUT && sync OUT  (coreutils; `sync FILE`
#                                                        is an fsync of that file)
#   import   ecluse-agent --root R import BUNDLE         verify, stream the payload
#                                                        into quarantine (hash and
#                                                        write in one pass), fsync
#
# IMAGE is the same file import extracts from BUNDLE (BUNDLE holds it as its
# tar entry payload/disk.img).  Between runs the outputs are removed (and the
# quarantine entry with them), then, as CACHE says:
#   cold   sync; echo 3 > /proc/sys/vm/drop_caches: every run reads from the disk
#   warm   the run's input is read once (cat >/dev/null) first: every run reads
#          from the page cache (import drops its input from the cache behind
#          itself, so it would otherwise read cold after its first run)
# Wall time of each run, medians, ratios import/dd and import/(hash+cp), and the
# peak RSS of import (/usr/bin/time -f %M, or VmHWM polled from /proc).
# Goals (issue 9): import <= 1.15x dd; import peak RSS < 32 MiB and the same
# for every size (here: within 1 MiB of each other).
#
#   bench/import.sh                      (as root for cold runs)
#   env: SIZES="1024 4096" (MiB)  RUNS=5  CACHE=cold|warm|both (root: cold, else warm)
#        BUILD=build  WORKDIR=/var/tmp (a temporary directory is made in it; all files
#        on that one file system, which must not be tmpfs: it needs 5x the largest size free)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
sizes=${SIZES:-1024 4096}
runs=${RUNS:-5}
if [ "$(id -u)" = 0 ]; then cache=${CACHE:-cold}; else cache=${CACHE:-warm}; fi
agent=$build/agent/ecluse-agent
me=import.sh

die() { echo "$me: $*" >&2; exit 1; }
case $cache in
cold | both) [ "$(id -u)" = 0 ] || die "CACHE=$cache drops the page cache: run as root (or CACHE=warm)" ;;
warm) ;;
*) die "CACHE must be cold, warm or both, not '$cache'" ;;
esac
for t in ssh-keygen openssl tar sha256sum dd awk; do
  command -v "$t" >/dev/null || die "$t not found"
done

if [ ! -x "$agent" ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target ecluse-agent -j2 >/dev/null
fi
grep -q "CMAKE_BUILD_TYPE:STRING=Debug" "$build/CMakeCache.txt" 2>/dev/null &&
  echo "$me: warning: $build is a Debug build" >&2
grep -q "ECLUSE_SANITIZE:BOOL=ON" "$build/CMakeCache.txt" 2>/dev/null &&
  die "$build is a sanitizer build: RSS and time would be the sanitizer's"

# ---- the work directory: one file system, not tmpfs, room for 5x the largest
parent=${WORKDIR:-/var/tmp}
[ -d "$parent" ] || die "WORKDIR $parent is not a directory"
fstype=$(df --output=fstype "$parent" | tail -n 1)
case $fstype in tmpfs | ramfs) die "$parent is $fstype: the bench measures a disk, set WORKDIR" ;; esac
max=0
for s in $sizes; do
  [[ $s =~ ^[1-9][0-9]*$ ]] || die "SIZES are MiB, not '$s'"
  ((s > max)) && max=$s
done
need=$((5 * max * 1024 * 1024))
avail=$(df -P -B1 "$parent" | awk 'NR == 2 { print $4 }')
if ((avail < need)); then
  die "$parent has $((avail >> 20)) MiB free, the bench needs $((need >> 20)) MiB (5x ${max} MiB): set WORKDIR or SIZES"
fi
work=$(mktemp -d "$parent/ecluse-bench-import.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# ---- a root with one stack (the e2e fixture's office, its disk raw) and its
# first release placed by hand (tests/e2e/lib/agent-fixture.sh makes the same shape)
root=$work/root
stack=bench
etc=$root/etc/ecluse
lib=$root/var/lib/ecluse
mkdir -p "$etc/stacks" "$lib/inbox" "$lib/access" "$lib/stacks/$stack/releases/1.0.0"
mkdir -m 0700 "$lib/quarantine"
ssh-keygen -q -t ed25519 -N '' -C vendor -f "$work/vendor" </dev/null
echo "release@example-cloud.com namespaces=\"ecluse-bundle\" $(cat "$work/vendor.pub")" >"$etc/vendors"
ssh-keygen -q -t ed25519 -N '' -C officer -f "$work/officer" </dev/null
echo "alice namespaces=\"ecluse-approval,ecluse-access\" $(cat "$work/officer.pub")" >"$etc/officers"
cat >"$etc/stacks/$stack.yaml" <<EOF
ecluse: 1
stack: $stack
licensor: Example Cloud Inc.
vm:
  vcpus: 1
  memory: 256MiB
  accel: tcg
  kernel: /var/lib/ecluse/stacks/$stack/current/vmlinuz
  initrd: /var/lib/ecluse/stacks/$stack/current/initrd
  cmdline: console=ttyS0
  disks:
    - path: /var/lib/ecluse/stacks/$stack/current/disk.img
      format: raw
console: log
updates:
  quorum: 1
EOF
rel=$lib/stacks/$stack/releases/1.0.0
head -c 3000 /dev/urandom >"$rel/vmlinuz"
head -c 1500 /dev/urandom >"$rel/initrd"
head -c 65536 /dev/urandom >"$rel/disk.img"
chmod 0600 "$rel"/*
ln -s releases/1.0.0 "$lib/stacks/$stack/current"

# Random bytes, fast: AES-CTR of zeros under a random key.
random_file() { # FILE BYTES
  # openssl ends on SIGPIPE when head has enough
  { openssl enc -aes-128-ctr -K "$(openssl rand -hex 16)" -iv 0 -nosalt -in /dev/zero 2>/dev/null || true; } |
    head -c "$2" >"$1"
  [ "$(stat -c %s "$1")" = "$2" ] || die "cannot make $2 random bytes in $1"
}

# A signed bundle of version VERSION with the image IMAGE: $work/bundle-MIB.tar
make_bundle() { # MIB VERSION
  local mib=$1 version=$2 d=$work/stage-$1 f now expires
  mkdir -p "$d/payload"
  random_file "$d/payload/disk.img" $((mib * 1024 * 1024))
  head -c 4096 /dev/urandom >"$d/payload/vmlinuz"
  head -c 4096 /dev/urandom >"$d/payload/initrd"
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  expires=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
  {
    printf 'ecluse-bundle: 1\nstack: %s\nlicensor: Example Cloud Inc.\nversion: %s\n' "$stack" "$version"
    printf 'released: %s\nexpires: %s\nnotes: |\n  bench/import.sh, %s MiB\npayload:\n' "$now" "$expires" "$mib"
    for f in vmlinuz initrd disk.img; do
      printf '  - path: payload/%s\n    size: %s\n    sha256: %s\n    install: %s\n' "$f" \
        "$(stat -c %s "$d/payload/$f")" "$(openssl dgst -sha256 -r "$d/payload/$f" | cut -c1-64)" "$f"
    done
  } >"$d/bundle.yaml"
  ssh-keygen -q -Y sign -f "$work/vendor" -n ecluse-bundle "$d/bundle.yaml" </dev/null
  # In this order, no directory entry; ustar holds sizes up to 8 GiB - 1.
  tar --format=ustar --owner=0 --group=0 -C "$d" -cf "$work/bundle-$mib.tar" \
    bundle.yaml bundle.yaml.sig payload/vmlinuz payload/initrd payload/disk.img
  mv "$d/payload/disk.img" "$work/image-$mib"
  rm -rf "$d"
}

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# shellcheck disable=SC2086 # a list of numbers, split on purpose
words() { printf '%s\n' $1; }
med() { words "$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# Peak RSS (KiB) of a command: /usr/bin/time if there is one, else VmHWM polled.
if [ -x /usr/bin/time ]; then
  peak() { # OUTFILE CMD...
    local o=$1
    shift
    /usr/bin/time -f %M -o "$o" "$@"
  }
else
  peak() {
    local o=$1 pid hwm=0 h
    shift
    "$@" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || true
      [ -n "$h" ] && ((h > hwm)) && hwm=$h
      sleep 0.05
    done
    echo "$hwm" >"$o"
    wait "$pid"
  }
fi

out=$work/out
quarantine=$lib/quarantine
clean() { # remove every output, then cold or warm the cache for INPUT
  rm -f "$out"
  find "$quarantine" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  sync
  if [ "$1" = cold ]; then
    echo 3 >/proc/sys/vm/drop_caches
  else
    cat "$2" >/dev/null
  fi
}

# One timed run: prints "SECONDS PEAK_KIB"
run_one() { # KIND MIB MODE
  local kind=$1 mib=$2 mode=$3 img=$work/image-$2 bundle=$work/bundle-$2.tar t0 t1 input
  case $kind in dd | direct | hashcp) input=$img ;; import) input=$bundle ;; esac
  clean "$mode" "$input"
  t0=$(now)
  case $kind in
  dd) peak "$work/rss" dd if="$img" of="$out" bs=4M conv=fsync status=none ;;
  direct) peak "$work/rss" dd if="$img" of="$out" bs=4M iflag=direct oflag=direct conv=fsync status=none ;;
  hashcp) # shellcheck disable=SC2016 # sh's own $1 and $2
    peak "$work/rss" sh -c 'sha256sum "$1" >/dev/null && cp "$1" "$2" && sync "$2"' sh "$img" "$out" ;;
  import)
    peak "$work/rss" "$agent" --root "$root" import "$bundle" >"$work/import.out" 2>"$work/import.err" ||
      die "import of $bundle failed: $(cat "$work/import.err")"
    ;;
  esac
  t1=$(now)
  awk -v a="$t0" -v b="$t1" -v m="$(cat "$work/rss")" 'BEGIN { printf "%.3f %d\n", b - a, m }'
}

echo "bench/import.sh: $(date -u +%FT%TZ), $(nproc) CPUs, $(uname -r), $fstype on $(df -P "$parent" | awk 'NR == 2 { print $1 }')"
echo "agent: $agent ($(awk -F= '/^CMAKE_BUILD_TYPE/ { print $2 }' "$build/CMakeCache.txt" 2>/dev/null))"
echo "sizes: $sizes MiB, $runs runs each, cache: $cache; load: $(uptime | sed 's/.*load average: //')"

summary=()
version_n=0
for mib in $sizes; do
  version_n=$((version_n + 1))
  echo
  echo "== $mib MiB: making the image and its bundle"
  make_bundle "$mib" "2.$version_n.0"
  # Once, checked: import accepts the bundle and quarantines the image's very bytes.
  "$agent" --root "$root" import "$work/bundle-$mib.tar" >"$work/import.out" 2>"$work/import.err" ||
    die "import of the $mib MiB bundle failed: $(cat "$work/import.err")"
  id=$(head -n 1 "$work/import.out")
  [[ $id =~ ^[0-9a-f]{12}$ ]] || die "import printed '$(head -c 200 "$work/import.out")', not a bundle ID"
  [ -f "$quarantine/$id/payload/disk.img" ] || die "import put no payload/disk.img under quarantine/$id/"
  cmp -s "$quarantine/$id/payload/disk.img" "$work/image-$mib" || die "quarantine/$id/payload/disk.img is not the image"
  echo "import ok: ID $id, quarantine/$id/payload/disk.img is the image ($(stat -c %s "$work/image-$mib") bytes)"

  modes=$cache
  [ "$cache" = both ] && modes="cold warm"
  for mode in $modes; do
    declare -A times=() rss=()
    kinds=(dd direct hashcp import)
    for ((r = 0; r < runs; r++)); do
      line="run $((r + 1)) ($mode):"
      for ((k = 0; k < ${#kinds[@]}; k++)); do
        kind=${kinds[$(((r + k) % ${#kinds[@]}))]}
        t=
        read -r t m < <(run_one "$kind" "$mib" "$mode")
        [ -n "$t" ] || die "the $kind run failed"
        times[$kind]+="$t "
        rss[$kind]+="$m "
        line+=" $kind $t s ($((m / 1024)) MiB)"
      done
      echo "$line  [load $(cut -d' ' -f1-3 /proc/loadavg)]"
    done
    md=$(med "${times[dd]}")
    mx=$(med "${times[direct]}")
    mh=$(med "${times[hashcp]}")
    mi=$(med "${times[import]}")
    mr=$(med "${rss[import]}")
    rmax=$(words "${rss[import]}" | sort -g | tail -n 1)
    summary+=("$mib $mode $md $mx $mh $mi $(ratio "$mi" "$md") $(ratio "$mi" "$mh") $mr $rmax")
    unset times rss
  done
  rm -f "$work/image-$mib" "$work/bundle-$mib.tar" "$out"
  find "$quarantine" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
done

echo
echo "medians of $runs runs (seconds); peak RSS of import in KiB (median, max)"
printf '%-8s %-5s %8s %8s %8s %8s %10s %14s %14s %s\n' MiB cache dd direct hash+cp import import/dd import/hash+cp RSS verdict
fail=0
declare -A rss_by_mode=()
for s in "${summary[@]}"; do
  read -r mib mode md mx mh mi rd rh mr rmax <<<"$s"
  v=PASS
  awk -v r="$rd" 'BEGIN { exit !(r <= 1.15) }' || v="MISS(time)"
  if ((rmax >= 32 * 1024)); then
    [ "$v" = PASS ] && v="MISS(rss)" || v+=",MISS(rss)"
  fi
  [ "$v" = PASS ] || fail=1
  printf '%-8s %-5s %8.3f %8.3f %8.3f %8.3f %10s %14s %14s %s\n' "$mib" "$mode" "$md" "$mx" "$mh" "$mi" "$rd" "$rh" "$mr,$rmax" "$v"
  rss_by_mode[$mode]+="$rmax "
done
for mode in "${!rss_by_mode[@]}"; do
  read -r lo hi < <(words "${rss_by_mode[$mode]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }')
  if ((hi - lo <= 1024)); then
    echo "peak RSS ($mode) the same for every size: $lo..$hi KiB (within 1 MiB): PASS"
  else
    echo "peak RSS ($mode) grows with the size: $lo..$hi KiB: MISS"
    fail=1
  fi
done
echo "goals: import/dd <= 1.15, import peak RSS < 32 MiB and within 1 MiB across sizes"
echo "load at the end: $(uptime | sed 's/.*load average: //')"
exit $fail
