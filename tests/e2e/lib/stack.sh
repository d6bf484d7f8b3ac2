# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# What every end-to-end test of a real stack sets up the same way: the
# binaries, the verdict helpers, the prerequisites, the test guest, the
# scratch tree of one stack under a --root, its logs, and the end.
#
#   . lib/stack.sh            (after `here` is the test's directory)
#   stack_need TOOL...        root, the tools, a built shim: or FATAL
#   stack_build_guest         tests/guest/build-guest.sh into $guest_dir (cached)
#   stack_tree ROOT STACK LOGS  $stackdir, $console, $manifest under ROOT;
#                             the guest's kernel and initrd in $stackdir/current
#   stack_manifest CMDLINE    $manifest: TCG, 256 MiB, that guest, console: log,
#                             no network (a test appends what it needs)
#   stack_release DIR TEXT    DIR/vmlinuz and DIR/initrd: the guest, its initrd
#                             with a cpio appended holding /etc/ecluse-release
#                             (TEXT), which the guest prints at boot as
#                             "ECLUSE-RELEASE TEXT"
#   qemu_in_netns NS          the PID of the QEMU in network namespace NS
#   stack_stop                `stop STACK` (the test's shimc), the run
#                             ($shim_pid) exits 0, no QEMU (the test's qemu_pid)
#   stack_in_netns NS ROOT SCRATCH  NS made for a stack without a network: shimc
#                             (--root ROOT) and qemu_pid run there; at exit its
#                             processes are killed and SCRATCH removed
#                             (stack_netns_down, stack_scratch_done)
#   stack_run LINE [OPTION...]  `ecluse-shim run $manifest OPTION...` in that namespace, in the
#                             background ($shim_pid, its output in $logs/shim-run.log), until
#                             the console has a line containing LINE (at most 300 s) or FATAL
#   stack_netns_down NS       every process of network namespace NS killed by PID, NS deleted
#   stack_scratch_done PATH...  removed, or kept (and said so) with KEEP_E2E_TMP=1
#   alive PID                 a process that exists and is not a zombie
#   step/pass/fail/fatal      output and $failures; fatal dumps the logs, exits 1
#   stack_dump_logs           the last lines of every log and of the console
#   stack_verdict             exit 0, or 1 with the logs when a check failed
#
# A test may define dump_logs (called by fatal and stack_verdict) to show
# more; it defaults to stack_dump_logs.  The shim, QEMU and whatever runs in
# the stack's own network namespace are in none of the test's namespaces:
# each test's cleanup kills them by PID.

src=${ECLUSE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${ECLUSE_BUILD_DIR:-$src/build}
shim=${ECLUSE_SHIM_BIN:-$build/shim/ecluse-shim}
guest_dir=${ECLUSE_GUEST_DIR:-$build/guest}
failures=0
logs=
console=
shim_pid=

step() { echo "=== [${SECONDS}s] $*"; }
pass() { echo "PASS: $*"; }
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}
fatal() {
        echo "FATAL: $*"
        dump_logs
        exit 1
}
dump_logs() { stack_dump_logs; }

stack_dump_logs() {
        local f
        if [ -n "${logs:-}" ] && [ -d "$logs" ]; then
                for f in "$logs"/*; do
                        [ -s "$f" ] || continue
                        echo "----- $(basename "$f") (last 40 lines)"
                        tail -n 40 "$f"
                done
        fi
        if [ -n "${console:-}" ] && [ -s "$console" ]; then
                echo "----- $(basename "$console") (last 40 lines)"
                tail -n 40 "$console" | tr -d '\r'
        fi
}

stack_need() { # TOOL...
        [ "$(id -u)" = 0 ] || fatal "needs root (libvirt's embedded driver, network namespaces)"
        local tool
        for tool in "$@"; do
                command -v "$tool" >/dev/null || fatal "$tool not found (scripts/dev deps installs it)"
        done
        [ -x "$shim" ] || fatal "ecluse-shim not built: $shim"
}

stack_build_guest() {
        step "build the guest into $guest_dir"
        bash "$src/tests/guest/build-guest.sh" "$guest_dir" || fatal "building the guest failed"
}

# Manifest paths are under --root (shim/domain.h): the guest is installed
# where the agent would apply a release.
stack_tree() { # ROOT STACK LOGS
        stack_name=$2
        stackdir=$1/var/lib/ecluse/stacks/$2
        console=$stackdir/console.log
        # shellcheck disable=SC2034 # the test's
        manifest=$1/etc/ecluse/stacks/$2.yaml
        logs=$3
        mkdir -p "$logs" "$stackdir/current" "$1/etc/ecluse/stacks"
        cp "$guest_dir/vmlinuz" "$stackdir/current/vmlinuz"
        cp "$guest_dir/initrd.img" "$stackdir/current/initrd"
        # QEMU runs as its own user: it must reach the kernel and the initrd.
        chmod -R a+rX "$1"
}

stack_manifest() { # CMDLINE
        cat >"$manifest" <<EOF
ecluse: 1
stack: $stack_name
licensor: End-to-end Test Vendor
vm:
  vcpus: 1
  memory: 256MiB
  accel: tcg
  kernel: /var/lib/ecluse/stacks/$stack_name/current/vmlinuz
  initrd: /var/lib/ecluse/stacks/$stack_name/current/initrd
  cmdline: $1
console: log
EOF
}

stack_release() { # DIR TEXT
        local dir=$1 extra
        extra=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-release.XXXXXX") || fatal "mktemp failed"
        mkdir -p "$dir" "$extra/etc"
        cp "$guest_dir/vmlinuz" "$dir/vmlinuz"
        cp "$guest_dir/initrd.img" "$dir/initrd"
        # the kernel unpacks concatenated archives; zeros pad the first to a 512-byte boundary
        truncate -s %512 "$dir/initrd"
        echo "$2" >"$extra/etc/ecluse-release"
        if ! (cd "$extra" && printf '%s\n' etc etc/ecluse-release | cpio -o -H newc -R 0:0 --quiet) >>"$dir/initrd"; then
                rm -rf "$extra"
                fatal "cannot append the release cpio to $dir/initrd"
        fi
        rm -rf "$extra"
}

qemu_in_netns() { # NS
        local pid
        for pid in $(ip netns pids "$1" 2>/dev/null); do
                if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^[^ ]*qemu-system-x86_64 "; then
                        echo "$pid"
                        return 0
                fi
        done
        return 1
}

stack_stop() {
        step "ecluse-shim stop"
        if shimc stop "$stack_name" >"$logs/stop.out" 2>&1; then
                pass "ecluse-shim stop $stack_name"
        else
                fail "ecluse-shim stop failed: $(cat "$logs/stop.out")"
        fi
        if wait_until 90 eval "! alive $shim_pid"; then
                wait "$shim_pid"
                local rc=$?
                if [ "$rc" = 0 ]; then pass "ecluse-shim run exited 0 after stop"; else fail "ecluse-shim run exited $rc after stop"; fi
        else
                fail "ecluse-shim run still running 90s after stop"
        fi
        if qemu_pid >/dev/null; then fail "QEMU still runs after stop"; else pass "no QEMU after stop"; fi
}

stack_in_netns() { # NS ROOT SCRATCH
        stack_ns=$1 stack_root=$2 stack_scratch=$3
        trap 'stack_netns_down "$stack_ns"; stack_scratch_done "$stack_scratch"' EXIT
        trap 'exit 130' INT TERM
        ip netns add "$stack_ns" || fatal "cannot create the network namespace $stack_ns"
        # shellcheck disable=SC2317 # the test's
        shimc() { ip netns exec "$stack_ns" "$shim" --root "$stack_root" "$@"; }
        # shellcheck disable=SC2317
        qemu_pid() { qemu_in_netns "$stack_ns"; }
}

stack_run() { # LINE [OPTION...]
        local line=$1
        shift
        ip netns exec "$stack_ns" "$shim" --root "$stack_root" run "$manifest" "$@" >"$logs/shim-run.log" 2>&1 &
        shim_pid=$!
        # shellcheck disable=SC2317 # called through wait_until
        line_or_gone() { grep -qF -- "$line" "$console" 2>/dev/null || ! alive "$shim_pid"; }
        wait_until 300 line_or_gone
        alive "$shim_pid" || fatal "ecluse-shim run exited before the guest printed '$line'"
        grep -qF -- "$line" "$console" || fatal "the guest printed no '$line' within 300s"
}

stack_netns_down() { # NS
        local pid
        for pid in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$1" 2>/dev/null
}

stack_scratch_done() { # PATH...
        if [ "${KEEP_E2E_TMP:-0}" = 1 ]; then
                echo "kept $*"
        else
                rm -rf "$@"
        fi
}

# A process that exists and is not a zombie (a dead child not reaped yet).
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stack_verdict() {
        if [ "$failures" -gt 0 ]; then
                echo "=== $failures check(s) failed"
                dump_logs
                exit 1
        fi
        echo "=== all checks passed"
        exit 0
}

# The uid and gid QEMU runs as under the embedded driver (shim_qemu_id() of names.h).
stack_qemu_id() { # STACK
        python3 -c 'import hashlib,sys; h=hashlib.sha256(sys.argv[1].encode()).digest(); print(0x7f000000 + ((h[6] << 16 | h[7] << 8 | h[8]) >> 4))' "$1"
}

# QEMU (PID) runs as the stack's own identity, and a process of libvirt's
# QEMU user (what every other VM of qemu:///system runs as) can reach none
# of it: not the monitor socket MON, not the domain directory (master key),
# not the process (signals, /proc/PID/environ: what ptrace access guards).
stack_check_qemu_identity() { # PID MON
        local pid=$1 mon=$2 id
        id=$(stack_qemu_id "$stack_name")
        local uids gids groups
        uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")
        gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")
        groups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$pid/status" | tr -d ' ')
        # libvirt sets the supplementary groups to the gid alone
        if [ "$uids" = "$id $id $id $id" ] && [ "$gids" = "$id $id $id $id" ] && { [ -z "$groups" ] || [ "$groups" = "$id" ]; }; then
                pass "QEMU runs as the stack's own uid and gid $id, no other group"
        else
                fail "QEMU runs as uid '$uids' gid '$gids' groups '$groups', not $id alone"
        fi
        getent passwd libvirt-qemu >/dev/null || { fail "no libvirt-qemu user to try from"; return; }
        local as_qemu=(setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --init-groups)
        local dir out
        dir=$(dirname "$mon")
        [ -S "$mon" ] || { fail "no monitor socket at $mon"; return; }
        # Debian's python3: a per-user interpreter (pyenv) may be out of libvirt-qemu's reach
        out=$("${as_qemu[@]}" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused:", e.strerror); sys.exit(0)
print("connected"); sys.exit(1)' "$mon" 2>&1)
        if [ $? = 0 ] && [[ "$out" == refused:* ]]; then
                pass "libvirt-qemu cannot connect to the monitor ($out)"
        else
                fail "libvirt-qemu reached the monitor socket $mon: $out"
        fi
        if "${as_qemu[@]}" ls "$dir" >/dev/null 2>&1 || "${as_qemu[@]}" cat "$dir/master-key.aes" >/dev/null 2>&1; then
                fail "libvirt-qemu can list $dir or read its master key"
        else
                pass "libvirt-qemu can neither list the domain directory nor read the master key"
        fi
        if "${as_qemu[@]}" kill -0 "$pid" 2>/dev/null || "${as_qemu[@]}" cat "/proc/$pid/environ" >/dev/null 2>&1; then
                fail "libvirt-qemu can signal QEMU or read its /proc/$pid/environ"
        else
                pass "libvirt-qemu can neither signal QEMU nor read its environment (ptrace access)"
        fi
}
