#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `ecluse-shim run --connect` on a libvirt that others can reach: a private
# libvirtd this test starts itself (own mount namespace with empty
# /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
# its own /etc/libvirt; own network namespace; unix socket in a temp dir),
# reached as qemu+unix:///system?socket=...  The stack has no network, the
# guest is the e2e kernel-boot guest (tests/guest/build-guest.sh, or
# $ECLUSE_GUEST_DIR with vmlinuz and initrd.img), with one empty qcow2 disk.
#
# Proves, on that connection:
#   - run brings the domain up; the live XML read back is cut (no graphics,
#     channel, vsock, redirdev, hostdev, filesystem, shmem, parallel, tpm,
#     qemu:commandline, no serial other than a file); QEMU has -sandbox on;
#     QEMU listens on no TCP/UDP port;
#   - a chardev (chardev-add), a device with an id and one without
#     (device_add) added through QEMU's monitor (virsh qemu-monitor-command:
#     libvirt never hears of them, the live XML does not change): the
#     periodic check compares QEMU's own view (shim/qmp-check.h), the domain
#     is paused, the audit log has a violation naming it, `status` says held;
#   - the same for what would carry the guest's data out through QEMU itself
#     (UNIX sockets in the test's temp dir only): an NBD export of the
#     guest's disk (nbd-server-start + block-export-add), a block node of
#     the nbd driver (blockdev-add, on a qemu-nbd the test starts) and one
#     of the file driver on a file that is no disk of the XML (targets a
#     blockdev-backup could send the disk to), a migration to a socket the
#     test listens on (migrate); the disk as libvirt made it is no violation
#     (the stack starts and runs);
#   - a channel hot-plugged from outside (virsh attach-device --live) either
#     is refused by libvirt (the domain ecluse builds has no virtio-serial
#     controller and no free hot-plug slot) and the domain stays as it was,
#     or is detected: the domain is paused, the audit log has device-added;
#   - the stack's nftables table deleted from outside: the domain is
#     paused, audited, `status` says held; a resume from outside is undone;
#   - a domain destroyed from outside: the shim notices, cleans up, exits;
#   - kill -9 of the shim leaves domain, tap and policy as they were (fail
#     closed) and a second run refuses; SIGTERM of a fresh shim removes
#     domain, tap and policy.
# The shim runs in libvirtd's network namespace (libvirtd opens the tap by
# name), so tap and table live there, never on the host.
# Needs root, libvirtd, qemu-system-x86_64, qemu-img, qemu-nbd, python3, jq.  It fails rather than skips: a
# skipped proof proves nothing.
set -euo pipefail

src=${ECLUSE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
shim=${ECLUSE_SHIM_BIN:-$src/build/shim/ecluse-shim}
die() { echo "test_hotplug_system: FAIL: $*" >&2; exit 1; }
note() { echo "test_hotplug_system: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (private libvirtd, QEMU)"
for t in libvirtd virsh unshare nsenter ss qemu-system-x86_64 qemu-img qemu-nbd python3 jq; do
        command -v "$t" >/dev/null || die "$t not found (scripts/dev deps)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-hotplug.XXXXXX")
chmod 755 "$tmp"
lvd_pid= shim_pid= listener_pid=
cleanup() {
        set +e
        [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
        [ -n "$shim_pid" ] && kill -TERM "$shim_pid" 2>/dev/null && wait "$shim_pid" 2>/dev/null
        if [ -S "$tmp/sock/libvirt-sock" ]; then
                virsh -q -c "$uri" destroy ecluse-hpt >/dev/null 2>&1
                virsh -q -c "$uri" undefine ecluse-hpt >/dev/null 2>&1
        fi
        [ -n "$lvd_pid" ] && kill -TERM "$lvd_pid" 2>/dev/null && wait "$lvd_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the guest --------------------------------------------------------------
guest=${ECLUSE_GUEST_DIR:-}
if [ -z "$guest" ]; then
        [ -x "$src/tests/guest/build-guest.sh" ] || die "no guest: tests/guest/build-guest.sh missing and ECLUSE_GUEST_DIR unset"
        guest=${ECLUSE_BUILD_DIR:-$src/build}/guest
        "$src/tests/guest/build-guest.sh" "$guest" >&2
fi
[ -s "$guest/vmlinuz" ] && [ -s "$guest/initrd.img" ] || die "guest missing in $guest"
root=$tmp/root
# In the stack's own tree (DESIGN.md invariant 1), as the agent applies a
# release: current -> releases/VERSION.
stackdir=$root/var/lib/ecluse/stacks/hpt
mkdir -p "$stackdir/releases/1"
cp "$guest/vmlinuz" "$guest/initrd.img" "$stackdir/releases/1/"
qemu-img create -q -f qcow2 "$stackdir/releases/1/disk.qcow2" 16M
ln -s releases/1 "$stackdir/current"
chmod -R a+rX "$root"
chmod 0600 "$stackdir/releases/1/disk.qcow2" # a disk is its owner's alone (run refuses it otherwise)
cat >"$tmp/hpt.yaml" <<'YAML'
ecluse: 1
stack: hpt
licensor: Hot-plug Test Inc.
vm:
  vcpus: 1
  memory: 256MiB
  accel: tcg
  kernel: /var/lib/ecluse/stacks/hpt/current/vmlinuz
  initrd: /var/lib/ecluse/stacks/hpt/current/initrd.img
  cmdline: console=ttyS0
  disks:
    - path: /var/lib/ecluse/stacks/hpt/current/disk.qcow2
      format: qcow2
network:
  addresses: [192.0.2.2]
  egress:
    - to: 192.0.2.10/32
      proto: tcp
      ports: [443]
      why: test peer (never contacted)
console: log
YAML

# ---- a private libvirtd -----------------------------------------------------
mkdir -p "$tmp/etc/qemu/networks/autostart" "$tmp/sock"
cat >"$tmp/libvirtd.conf" <<CONF
unix_sock_dir = "$tmp/sock"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
cp "$tmp/libvirtd.conf" "$tmp/etc/libvirtd.conf"
printf 'stdio_handler = "file"\nseccomp_sandbox = 1\n' >"$tmp/etc/qemu.conf"
cat >"$tmp/inner.sh" <<'INNER'
set -e
for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
        mkdir -p "$d"
        mount -t tmpfs -o mode=0755 tmpfs "$d"
done
mount --bind "$1/etc" /etc/libvirt
exec libvirtd --config "$1/libvirtd.conf" --pid-file "$1/libvirtd.pid"
INNER
unshare -m -n --propagation private bash "$tmp/inner.sh" "$tmp" >"$tmp/libvirtd.log" 2>&1 &
lvd_pid=$!
uri="qemu+unix:///system?socket=$tmp/sock/libvirt-sock"
for _ in $(seq 100); do
        virsh -q -c "$uri" version >/dev/null 2>&1 && break
        kill -0 "$lvd_pid" 2>/dev/null || die "libvirtd did not start: $(tail -3 "$tmp/libvirtd.log")"
        sleep 0.2
done
virsh -q -c "$uri" version >/dev/null 2>&1 || die "libvirtd does not answer on $tmp/sock"
note "private libvirtd up: $uri"

domstate() { virsh -q -c "$uri" domstate ecluse-hpt 2>/dev/null | head -n1 || true; }
wait_state() { # STATE SECONDS
        for _ in $(seq $(($2 * 5))); do
                [ "$(domstate)" = "$1" ] && return 0
                sleep 0.2
        done
        return 1
}
starts=0
start_shim() { # the log of this start is $tmp/shim.log
        starts=$((starts + 1))
        [ -e "$tmp/shim.log" ] && mv "$tmp/shim.log" "$tmp/shim.$starts.log"
        # in libvirtd's network namespace: libvirtd opens the tap by name there
        nsenter -t "$lvd_pid" -n "$shim" --root "$root" run "$tmp/hpt.yaml" --connect "$uri" --shutdown-timeout 2 \
                >"$tmp/shim.log" 2>&1 &
        shim_pid=$!
        for _ in $(seq 3000); do
                grep -q "stack hpt running" "$tmp/shim.log" && return 0
                kill -0 "$shim_pid" 2>/dev/null || die "shim exited: $(tail -3 "$tmp/shim.log")"
                sleep 0.2
        done
        die "shim did not bring the stack up in 600 s"
}

# ---- up, and what it looks like --------------------------------------------
start_shim
[ "$(domstate)" = running ] || die "domain not running after run: $(domstate)"
xml=$(virsh -c "$uri" dumpxml ecluse-hpt)
for bad in '<graphics' '<channel' '<vsock' '<redirdev' '<hostdev' '<filesystem' '<shmem' '<parallel' \
        '<tpm' '<smartcard' 'qemu:commandline' "<serial type='pty'" "<serial type='tcp'" "<serial type='unix'"; do
        if grep -qF "$bad" <<<"$xml"; then die "live XML has $bad"; fi
done
qpid=$(pgrep -f 'guest=ecluse-hpt,' | head -n1) || die "no QEMU process"
tr '\0' ' ' </proc/"$qpid"/cmdline | grep -q -- '-sandbox on' || die "QEMU runs without -sandbox on"
if nsenter -t "$qpid" -n ss -Hltnup | grep -q "pid=$qpid,"; then die "QEMU listens on a TCP/UDP port"; fi
if ss -Hltnup | grep -q "pid=$qpid,"; then die "QEMU listens on a host TCP/UDP port"; fi
note "up: live XML cut, -sandbox on, no listening port"
# the disk's nodes as libvirt 9.0 makes them (a file node under a qcow2
# node) passed the check before the guest ran
qmp() { # QMP-COMMAND: must succeed
        virsh -c "$uri" qemu-monitor-command ecluse-hpt "$1" >"$tmp/qmp.out" 2>&1 || true
        grep -q '"return"' "$tmp/qmp.out" || die "QEMU refused $1: $(cat "$tmp/qmp.out")"
}
qmp '{"execute":"query-named-block-nodes","arguments":{"flat":true}}'
disk_node=$(jq -r '.return[] | select(.drv == "qcow2") | ."node-name"' "$tmp/qmp.out")
[ -n "$disk_node" ] || die "no qcow2 node for the disk: $(cat "$tmp/qmp.out")"
note "disk: node $disk_node ($(jq -r '[.return[].drv] | join(", ")' "$tmp/qmp.out")), no violation"

# ---- added through QEMU's monitor: no libvirt event, not in the live XML ---
audit_log=$root/var/lib/ecluse/audit.log
qmp_held() { # CASE QMP-COMMAND WHAT [EVENT] (what the audit record EVENT, default violation, names); ends the shim
        virsh -c "$uri" qemu-monitor-command ecluse-hpt "$2" >"$tmp/qmp.out" 2>&1 || true
        grep -q '"return"' "$tmp/qmp.out" || die "$1: QEMU refused it: $(cat "$tmp/qmp.out")"
        grep -qE "qmp(char|rng|exp|nbd|file|sock)|<rng" <(virsh -c "$uri" dumpxml ecluse-hpt) &&
                die "$1: libvirt's live XML shows it"
        # the periodic check (every 5 s) sees it
        wait_state paused 30 || die "$1 through QMP and the domain was not paused ($(domstate))"
        grep "\"${4:-violation}\"" "$audit_log" | grep -qF "$3" || die "$1: no ${4:-violation} audit record naming $3"
        "$shim" --root "$root" --json=pretty status hpt >"$tmp/status.json" || die "status failed"
        jq -e '.[0].state == "held"' "$tmp/status.json" >/dev/null || die "$1: status does not show the hold: $(cat "$tmp/status.json")"
        grep -qF "$3" "$tmp/status.json" || die "$1: status does not name $3: $(cat "$tmp/status.json")"
        # tap and uplink are in libvirtd's namespace, and status says so
        jq -e '.[0].network_namespace == "host"' "$tmp/status.json" >/dev/null ||
                die "$1: status does not say the tap is in libvirtd's namespace: $(cat "$tmp/status.json")"
        note "$1 through QMP: domain paused, audited ($3), status held"
        kill -TERM "$shim_pid"; wait "$shim_pid" || true; shim_pid=
}
# a listening socket QEMU's user can make: anyone who reaches it talks to QEMU
mkdir -m 1777 "$tmp/qmpsock"
# device_add goes to the free root port (pci.1 has net0, pci.2 the disk)
qmp_held chardev-add \
        '{"execute":"chardev-add","arguments":{"id":"qmpchar","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"'"$tmp"'/qmpsock/c.sock"}},"server":true,"wait":false}}}}' \
        "chardev qmpchar"
start_shim
qmp_held "device_add with id" \
        '{"execute":"device_add","arguments":{"driver":"virtio-rng-pci","bus":"pci.3","id":"qmprng"}}' \
        "device qmprng (virtio-rng-pci)"
start_shim
qmp_held "device_add without id" \
        '{"execute":"device_add","arguments":{"driver":"virtio-rng-pci","bus":"pci.3"}}' \
        "device without id device[0] (virtio-rng-pci)"

# ---- the guest's data out through QEMU itself (UNIX sockets in $tmp) -------
start_shim
# an NBD server is nothing yet; the export of the disk's node serves it
qmp '{"execute":"nbd-server-start","arguments":{"addr":{"type":"unix","data":{"path":"'"$tmp"'/qmpsock/nbd.sock"}}}}'
qmp_held block-export-add \
        '{"execute":"block-export-add","arguments":{"type":"nbd","id":"qmpexp","node-name":"'"$disk_node"'"}}' \
        "block export qmpexp (nbd of node $disk_node)"
start_shim
# QEMU connects as the node is added: a qemu-nbd listens, on a scratch file
qemu-img create -q -f raw "$tmp/qmpsock/scratch.raw" 16M
(umask 0; exec qemu-nbd --persistent -f raw -k "$tmp/qmpsock/qemu-nbd.sock" "$tmp/qmpsock/scratch.raw") &
listener_pid=$!
for _ in $(seq 50); do [ -S "$tmp/qmpsock/qemu-nbd.sock" ] && break; sleep 0.1; done
[ -S "$tmp/qmpsock/qemu-nbd.sock" ] || die "qemu-nbd did not listen"
qmp_held "blockdev-add of an nbd node" \
        '{"execute":"blockdev-add","arguments":{"driver":"nbd","node-name":"qmpnbd","server":{"type":"unix","path":"'"$tmp"'/qmpsock/qemu-nbd.sock"}}}' \
        "block node qmpnbd (nbd nbd+unix:"
kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true; listener_pid=
start_shim
install -m 0666 /dev/null "$tmp/qmpsock/file.raw"
truncate -s 16M "$tmp/qmpsock/file.raw"
qmp_held "blockdev-add of a file node" \
        '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"qmpfile","filename":"'"$tmp"'/qmpsock/file.raw"}}' \
        "block node qmpfile (file $tmp/qmpsock/file.raw, no disk of the XML)"
start_shim
# a listener that takes the connection and reads nothing: the migration
# stays under way until the stack is stopped
python3 - "$tmp/qmpsock/migrate.sock" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.listen(1)
conn, _ = s.accept()
time.sleep(600)
PY
listener_pid=$!
for _ in $(seq 50); do [ -S "$tmp/qmpsock/migrate.sock" ] && break; sleep 0.1; done
[ -S "$tmp/qmpsock/migrate.sock" ] || die "the migration listener did not listen"
qmp_held migrate \
        '{"execute":"migrate","arguments":{"uri":"unix:'"$tmp"'/qmpsock/migrate.sock"}}' \
        "QEMU event MIGRATION" qemu-event
# the hold stopped it: QEMU cancelled the migration, and the audit log says so
grep '"leak-stopped"' "$audit_log" | grep -qi "migrat" || die "migrate: no leak-stopped audit record naming the migration"
note "migrate: the hold cancelled the migration (leak-stopped audited)"
kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true; listener_pid=
start_shim
xml=$(virsh -c "$uri" dumpxml ecluse-hpt)

# ---- hot-plug from outside --------------------------------------------------
cat >"$tmp/chan.xml" <<'XML'
<channel type='unix'>
  <target type='virtio' name='org.qemu.guest_agent.0'/>
</channel>
XML
in_ns() { nsenter -t "$lvd_pid" -n "$@"; }
in_ns nft list table netdev ecluse-hpt >/dev/null || die "no policy table while running"
in_ns ip link show ecl-hpt >/dev/null || die "no tap while running"

if virsh -c "$uri" attach-device ecluse-hpt "$tmp/chan.xml" --live >"$tmp/attach.out" 2>&1; then
        wait_state paused 30 || die "channel hot-plugged and the domain was not paused ($(domstate))"
        grep -q '"device-added"' "$root/var/lib/ecluse/audit.log" || die "no device-added audit record"
        grep -q "device added from outside" "$tmp/shim.log" || die "the shim did not report the hot-plug"
        note "hot-plug detected: domain paused, audited"
        kill -TERM "$shim_pid"; wait "$shim_pid" || true; shim_pid=
else
        note "hot-plug refused by libvirt: $(tr '\n' ' ' <"$tmp/attach.out")"
        [ "$(domstate)" = running ] || die "domain state changed after a refused hot-plug: $(domstate)"
        [ "$(virsh -c "$uri" dumpxml ecluse-hpt)" = "$xml" ] || die "live XML changed after a refused hot-plug"

        # ---- the policy removed from outside: detected, paused, audited ------
        in_ns nft delete table netdev ecluse-hpt
        wait_state paused 30 || die "policy removed and the domain was not paused ($(domstate))"
        # the shim's netlink watch sees it as it happens (shim/watch.h), not the next poll
        grep -q '"policy-tampered"' "$root/var/lib/ecluse/audit.log" || die "no policy-tampered audit record"
        "$shim" --root "$root" --json=pretty status hpt >"$tmp/status.json" || die "status failed"
        jq -e '.[0].state == "held"' "$tmp/status.json" >/dev/null || die "status does not show the hold: $(cat "$tmp/status.json")"
        note "policy removed from outside: domain paused, audited, status held"
        # a resume from outside is undone
        virsh -q -c "$uri" resume ecluse-hpt >/dev/null
        sleep 1
        wait_state paused 30 || die "outside resume not undone ($(domstate))"
        note "outside resume undone"

        # ---- destroyed from outside: the shim cleans up and leaves ----------
        virsh -q -c "$uri" destroy ecluse-hpt >/dev/null
        for _ in $(seq 150); do kill -0 "$shim_pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$shim_pid" 2>/dev/null && die "shim still running after the domain was destroyed"
        wait "$shim_pid" || true
        shim_pid=
        virsh -q -c "$uri" dominfo ecluse-hpt >/dev/null 2>&1 && die "domain still defined after the shim left"
        note "outside destroy: shim cleaned up and exited"
fi
grep -q '"stop"' "$root/var/lib/ecluse/audit.log" || die "no stop audit record"

# ---- kill -9 leaves the domain as it was; a new shim refuses to take over ---
start_shim
kill -KILL "$shim_pid"; wait "$shim_pid" 2>/dev/null || true; shim_pid=
sleep 1
[ "$(domstate)" = running ] || die "domain not running after kill -9 of the shim: $(domstate)"
in_ns nft list table netdev ecluse-hpt >/dev/null || die "policy gone after kill -9 of the shim"
in_ns ip link show ecl-hpt >/dev/null || die "tap gone after kill -9 of the shim"
if in_ns "$shim" --root "$root" run "$tmp/hpt.yaml" --connect "$uri" >"$tmp/second.log" 2>&1; then
        die "a second shim took over a running stack"
fi
grep -q "running already" "$tmp/second.log" || die "second shim: $(cat "$tmp/second.log")"
virsh -q -c "$uri" destroy ecluse-hpt >/dev/null
note "kill -9: domain left running (fail closed); a second run refuses"

# ---- SIGTERM: no domain left ------------------------------------------------
start_shim
kill -TERM "$shim_pid"; wait "$shim_pid" || die "shim exited non-zero on SIGTERM"; shim_pid=
virsh -q -c "$uri" dominfo ecluse-hpt >/dev/null 2>&1 && die "domain left after SIGTERM"
in_ns ip link show ecl-hpt >/dev/null 2>&1 && die "tap left after SIGTERM"
in_ns nft list table netdev ecluse-hpt >/dev/null 2>&1 && die "policy table left after SIGTERM"
note "SIGTERM: domain, tap and policy gone"
echo "test_hotplug_system: ok"
