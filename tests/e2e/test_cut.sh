#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end proof that `ecluse-shim run` boots a stack with its network cut
# at the tap, on a real guest (tests/e2e/README.md has the topology):
#
#  1. build the test guest (tests/guest/build-guest.sh, cached);
#  2. create private network namespaces: a host (bridge ecl-br0, where the
#     shim runs), a service host and a vendor host, and a control host;
#  3. control run: the guest's probes, run from the control host, reach every
#     service (so a BLOCKED below means the policy, not a dead service);
#  4. run the guest under `ecluse-shim run`, with NOTIFY_SOCKET naming a
#     socket the test listens on (as systemd does for Type=notify): READY=1
#     comes only once the stack is up, so the first `status` after it must
#     say running with the policy verified; then read its serial log: the
#     allowed flow works (with this run's token), everything else is refused,
#     and the vendor's own log never saw the guest;
#  4b. the guest's raw frames (tests/guest/rawsend.c: ND with payload, ND to
#     unicast non-neighbours, padded and malformed ARP, claims of other
#     addresses, spoofed sources, VLAN tags), watched by packet sockets on the
#     tap, the bridge, the vendor and the service host: each route left the
#     guest, none reached any host (a control run from the control host
#     shows that each does reach it when nothing is in the way);
#  5. `blocked --json` lists every attempt with a count;
#  6. the live domain XML has none of the forbidden elements, QEMU listens on
#     no TCP/UDP socket, runs with `-sandbox on` and sits in the stack's own
#     network namespace (only lo, tap and uplink; no address, no route);
#  6b. tampering, the guest probing the vendor all along: a `nft flush
#     ruleset` in the host's namespace changes nothing; in the stack's, the
#     table made dormant, a rule rewritten under its comment, an element
#     added to a grant set, a second chain on the tap and a flush each hold
#     the stack within a second (status, audit), the vendor sees nothing, and
#     `reload` brings it back verified;
#  7. kill -9 the shim: the guest still cannot reach the vendor, the policy
#     table is still in the kernel, and a flush of it opens nothing either;
#  8. run again (it replaces the domain the killed shim left; READY=1
#     again), then `ecluse-shim stop`: STOPPING=1 after READY=1, and no
#     QEMU, no tap and no rule remain.
#
# Needs root (namespaces, taps, nftables).  Any missing prerequisite fails the
# test: this is what CI runs, and a skipped proof proves nothing.
# shellcheck disable=SC2317 # functions called through wait_until and traps
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/stack.sh
. "$here/lib/stack.sh"
# shellcheck source=lib/topology.sh
. "$here/lib/topology.sh"
# shellcheck source=lib/wait.sh
. "$here/lib/wait.sh"

STACK=e2e

# ---- prerequisites ------------------------------------------------------
stack_need ip nft ss python3 busybox qemu-system-x86_64 apt-get dpkg-deb cpio modinfo
stack_build_guest
rawsend=$guest_dir/rawsend
[ -x "$rawsend" ] || fatal "no $rawsend (tests/guest/build-guest.sh builds it)"

# ---- scratch tree, namespaces, cleanup ----------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-e2e.XXXXXX")
# QEMU may run as another user: it must reach the kernel and the console.
chmod 0755 "$tmp"
root=$tmp/root
stack_tree "$root" "$STACK" "$tmp/logs"
tap=
table=

cleanup() {
        # The shim, QEMU and the tap's sniffer live in the stack's own network
        # namespace, in none of the topology's: they go by PID first.
        # (only while each PID is still what it was: the shim's and the sniffers'
        # command lines name this test's root or logs)
        local p
        [ -n "${console_reader:-}" ] && kill -KILL "$console_reader" 2>/dev/null
        [ -n "${notify_pid:-}" ] && kill -KILL "$notify_pid" 2>/dev/null
        for p in ${shim_pid:-} $(declare -F qemu_pid >/dev/null && qemu_pid) ${stack_sniffers:-}; do
                tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -e "$tmp" -e "/run/ecluse/v/${embed_alias:-$tmp}/" &&
                        kill -KILL "$p" 2>/dev/null || true
        done
        # Every process left in the namespaces is this test's (services,
        # sniffers); topo_down kills them by PID, then deletes the namespaces
        # with whatever bridge they still hold.
        topo_down
        if [ "${KEEP_E2E_TMP:-0}" = 1 ]; then
                echo "kept $tmp"
        else
                rm -rf "$tmp"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

id=e2e$$
topo_up "$id" || fatal "cannot create the network namespaces"
hostns() { ip netns exec "$TOPO_HOST" "$@"; }
shimc() { hostns "$shim" --root "$root" "$@"; }

# This run's token: only the services of this run can produce it.
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# ---- services -----------------------------------------------------------
step "services: $TOPO_SVC_IP tcp 443+8443; $TOPO_VND_IP tcp 443, udp 69 (tftp), udp 53 (dns), icmp; IPv6 alike"
ip netns exec "$TOPO_SVC" python3 "$here/lib/services.py" --token "$token" --http 443 --http 8443 \
        --log "$logs/service-requests.log" >"$logs/service.out" 2>&1 &
ip netns exec "$TOPO_VND" python3 "$here/lib/services.py" --token "$token" --http 443 --tftp --dns \
        --log "$logs/vendor-requests.log" >"$logs/vendor.out" 2>&1 &
disown -a # killed with their namespaces by topo_down
if ! wait_for_line "$logs/service.out" '^ready$' 20 || ! wait_for_line "$logs/vendor.out" '^ready$' 20; then
        fatal "the services did not start"
fi

# The service manager's end of NOTIFY_SOCKET (lib/notify.py): one line per
# datagram the shim sends ("READY=1 STATUS=...", "STOPPING=1 ...").
notify_sock=$tmp/notify.sock
notify_log=$logs/notify.log
python3 "$here/lib/notify.py" --socket "$notify_sock" --log "$notify_log" >"$logs/notify.out" 2>&1 &
notify_pid=$!
disown
wait_for_line "$logs/notify.out" '^ready$' 20 || fatal "the NOTIFY_SOCKET listener did not start"

# Packet sockets (lib/sniff.py) log every frame the far ends receive, and
# every frame the bridge forwards (promiscuous), one line each with the
# raw-frame route it is marked with; the tap's comes when the shim makes it.
start_sniffer() { # NAME NETNS DEV [sniff.py options]; NETNS: a name, or the path of a pinned namespace
        local name=$1 ns=$2 dev=$3
        local enter=(ip netns exec "$ns")
        [ "${ns#/}" = "$ns" ] || enter=(nsenter --net="$ns")
        shift 3
        "${enter[@]}" python3 "$here/lib/sniff.py" --dev "$dev" --log "$logs/sniff-$name.log" "$@" \
                >"$logs/sniff-$name.out" 2>&1 &
        # one in the stack's namespace is in none of the topology's: cleanup kills it by PID
        [ "${ns#/}" = "$ns" ] || stack_sniffers+=" $!"
        disown
}
start_sniffer vendor "$TOPO_VND" eth0
start_sniffer service "$TOPO_SVC" eth0
start_sniffer bridge "$TOPO_HOST" "$TOPO_BRIDGE" --promisc
for s in vendor service bridge; do
        wait_for_line "$logs/sniff-$s.out" '^ready$' 20 || fatal "the $s sniffer did not start"
done
# How many frames marked with route ROUTE a sniffer logged.
marked() { # NAME ROUTE
        awk -v r="$2" '$1 == r { n++ } END { print n + 0 }' "$logs/sniff-$1.log" 2>/dev/null || echo 0
}
# The routes rawsend sends, from its output: "ECLUSE-RAW ROUTE HOST WHAT".
raw_routes() { # FILE -> "ROUTE HOST WHAT" lines
        tr -d '\r' <"$1" | sed -n 's/^ECLUSE-RAW \([a-z][0-9]\) \(vendor\|service\) /\1 \2 /p'
}

params="ecl.svc=$TOPO_SVC_IP ecl.vendor=$TOPO_VND_IP ecl.vendor6=$TOPO_VND_IP6 ecl.token=$token"
params+=" ecl.vendormac=$TOPO_VND_MAC ecl.svcmac=$TOPO_SVC_MAC"

# ---- control run --------------------------------------------------------
step "control: the guest's probes from the control host, nothing in the way"
# shellcheck disable=SC2086 # one argument per parameter
ip netns exec "$TOPO_CTL" busybox sh "$src/tests/guest/init" $params >"$logs/control.out" 2>&1
cat "$logs/control.out"
n_ok=$(grep -c '^ECLUSE-PROBE .* OK' "$logs/control.out")
n_all=$(grep -c '^ECLUSE-PROBE ' "$logs/control.out")
if [ "$n_all" -ge 8 ] && [ "$n_ok" = "$n_all" ]; then
        pass "control: all $n_all probes answered"
else
        fatal "control: only $n_ok of $n_all probes answered; a refusal in the guest would prove nothing"
fi

step "control: the raw-frame routes from the control host, nothing in the way"
ip netns exec "$TOPO_CTL" "$rawsend" dev=eth0 ip="$TOPO_CTL_IP" ip6="$TOPO_CTL_IP6" vendor="$TOPO_VND_IP" \
        vendor6="$TOPO_VND_IP6" vendormac="$TOPO_VND_MAC" svc="$TOPO_SVC_IP" svcmac="$TOPO_SVC_MAC" rounds=1 \
        >"$logs/control-raw.out" 2>&1 || fatal "control: rawsend failed: $(cat "$logs/control-raw.out")"
sleep 1
missed=
n_raw=0
while read -r r host what; do
        n_raw=$((n_raw + 1))
        [ "$(marked "$host" "$r")" -ge 1 ] && [ "$(marked bridge "$r")" -ge 1 ] || missed+=" $r ($what)"
done < <(raw_routes "$logs/control-raw.out")
if [ "$n_raw" -ge 20 ] && [ -z "$missed" ]; then
        pass "control: each of the $n_raw raw-frame routes reached its host and the bridge"
else
        fatal "control: $n_raw raw-frame routes, these never arrived where aimed:$missed; a 0 behind the tap would prove nothing"
fi
topo_drop_ctl
: >"$logs/vendor-requests.log"
: >"$logs/service-requests.log"
for s in vendor service bridge; do : >"$logs/sniff-$s.log"; done

# ---- manifest -----------------------------------------------------------
# (the guest's kernel and initrd are in place under the root: stack_tree)
stack_manifest "console=ttyS0 quiet panic=-1 ecl.ip=$TOPO_GUEST_IP/24 ecl.ip6=$TOPO_GUEST_IP6/64 $params ecl.loop=3"
cat >>"$manifest" <<EOF
network:
  bridge: $TOPO_BRIDGE
  mac: $TOPO_GUEST_MAC
  addresses: [$TOPO_GUEST_IP, $TOPO_GUEST_IP6]
  egress:
    - to: $TOPO_SVC_IP/32
      proto: tcp
      ports: [443]
      why: the end-to-end test's service host
EOF
step "manifest $manifest"
cat "$manifest"
"$shim" --root "$root" validate "$manifest" || fatal "the test manifest does not validate"

# ---- helpers about the running stack ------------------------------------
shim_pid=
notify_off=0
start_shim() { # LOGNAME
        # Not through a shell function: $! must be the shim itself (ip netns
        # exec execs it), so that kill -9 hits the shim.  What it notifies is
        # read from notify_off on.
        notify_off=$(file_size "$notify_log")
        NOTIFY_SOCKET=$notify_sock ip netns exec "$TOPO_HOST" "$shim" --root "$root" run "$manifest" >"$logs/$1" 2>&1 &
        shim_pid=$!
}
# What the shim started last notified, one datagram a line.
notified() { since "$notify_log" "$notify_off"; }
ready_or_gone() { notified | grep -q '^READY=1' || ! alive "$shim_pid"; }
status_field() { # FIELD -> the stack's status value
        shimc status "$STACK" --json 2>/dev/null |
                python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get(sys.argv[1]))' "$1"
}
# The domain's state as libvirt last saved it (its status file under the
# embedded root: written at start and at resume), read without the shim.
libvirt_state() {
        local f
        f=$(find "$root" -path '*/qemu/*' -name "ecluse-$STACK.xml" -exec grep -l '<domstatus' {} + 2>/dev/null | head -n1)
        [ -n "$f" ] && sed -n "s/.*<domstatus state='\([a-z]*\)'.*/\1/p" "$f" | head -n1
}
# READY=1 is the shim's word that the guest runs cut.  Checked at once, first
# without the shim (whose control socket answers only from its event loop):
# libvirt has the domain resumed, tap and table exist; then status agrees.
check_ready() { # WHAT
        wait_until 300 ready_or_gone
        if ! notified | grep -q '^READY=1'; then
                alive "$shim_pid" || fatal "$1: ecluse-shim run exited without READY=1 ($(notified | tr '\n' ' '))"
                fatal "$1: no READY=1 on NOTIFY_SOCKET within 300s"
        fi
        local lv state policy
        lv=$(libvirt_state)
        if [ "$lv" = running ] && tap_exists && table_exists; then
                pass "$1: at READY=1 libvirt has the domain running, tap $tap and table $table exist"
        else
                fail "$1: READY=1 came too early: libvirt says '${lv:-no domain}', tap $(tap_exists && echo exists || echo missing), table $(table_exists && echo exists || echo missing)"
        fi
        state=$(status_field state)
        policy=$(status_field policy)
        if [ "$state" = running ] && [ "$policy" = verified ]; then
                pass "$1: READY=1 on NOTIFY_SOCKET, and the first status after it says running, policy verified"
        else
                fail "$1: READY=1 came before the stack was up: status then says state $state, policy $policy"
        fi
        if notified | grep -q "^READY=1 STATUS=stack $STACK running"; then
                pass "$1: READY=1 came with a STATUS= naming the stack"
        else
                fail "$1: READY=1 without a STATUS= naming the stack: $(notified | tr '\n' ' ')"
        fi
}

# QEMU's PID: the emulator process of the stack (in the stack's own namespace,
# so looked for among all processes).  Another test's stack of the same name
# has another root: its files are under the root, or under the alias the shim
# gives a long root (shim/libvirt-embed.h: 16 hex digits of SHA-256 of the
# embedded root's real path).
embed_alias=$(printf '%s' "$root/var/lib/ecluse/libvirt/$STACK" | sha256sum | cut -c1-16)
qemu_pid() {
        local pid cmd
        for pid in $(ls /proc | grep -E '^[0-9]+$'); do
                cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
                case "$cmd" in *"$root/"* | *"/run/ecluse/v/$embed_alias/"*) ;; *) continue ;; esac
                if grep -q "^[^ ]*qemu-system-x86_64 .*guest=ecluse-$STACK" <<<"$cmd"; then
                        echo "$pid"
                        return 0
                fi
        done
        return 1
}

# The stack's own network namespace (shim/netns.h), pinned by the shim: tap,
# uplink and table live there; the uplink's outer end is the bridge port.
pin=$root/run/ecluse/$STACK.netns
# The shim runs under `ip netns exec`, whose mount namespace keeps the pin's
# mount to itself: from here the pin is the file under it, holding the shim's
# pid; once the shim is gone, QEMU's pid leads there.
stackns() {
        local pid
        pid=$(cat "$pin" 2>/dev/null) && [ -e "/proc/$pid/ns/net" ] || pid=${qpid:-}
        [ -n "$pid" ] && nsenter -t "$pid" -n "$@"
}
tap_exists() { stackns ip link show dev "$tap" >/dev/null 2>&1; }
table_exists() { stackns nft list table netdev "$table" >/dev/null 2>&1; }

# shim/names.h: the tap is "ecl-STACK" for a short name, the uplink
# "ecu-STACK" beside it and "ecb-STACK" on the bridge, the table "ecluse-STACK".
tap=ecl-$STACK
uplink=ecu-$STACK
port=ecb-$STACK
table=ecluse-$STACK

# ---- run ----------------------------------------------------------------
step "run: ecluse-shim run in $TOPO_HOST"
start_shim shim-run1.log
# Before the tap's ingress hook (packet taps come first): what the guest sent.
wait_until 120 eval 'stackns true 2>/dev/null' || fatal "the shim pinned no network namespace at $pin"
start_sniffer tap "/proc/$(cat "$pin")/ns/net" "$tap" --wait 120
check_ready "first run"
boot_deadline=360
probes_done_or_shim_gone() { grep -q ECLUSE-PROBES-DONE "$console" 2>/dev/null || ! alive "$shim_pid"; }
wait_until "$boot_deadline" probes_done_or_shim_gone
if ! grep -q ECLUSE-PROBES-DONE "$console" 2>/dev/null; then
        alive "$shim_pid" || fatal "ecluse-shim run exited before the guest finished its probes"
        fatal "the guest did not finish its probes within ${boot_deadline}s"
fi
alive "$shim_pid" || fatal "ecluse-shim run is not running after the guest's probes"
pass "the guest booted under ecluse-shim run and ran its probes"
tr -d '\r' <"$console" | grep '^ECLUSE-'

probe() { # NAME -> status of the first line for that probe
        tr -d '\r' <"$console" | awk -v n="$1" '$1 == "ECLUSE-PROBE" && $2 == n { print $5; exit }'
}

step "the guest's serial log"
if tr -d '\r' <"$console" | grep -q "^ECLUSE-PROBE allowed-tcp $TOPO_SVC_IP 443 OK token=$token\$"; then
        pass "allowed flow tcp $TOPO_SVC_IP:443 works and returned this run's token"
else
        fail "allowed flow tcp $TOPO_SVC_IP:443: $(probe allowed-tcp)"
fi
for p in service-other-port vendor-tcp vendor-udp vendor-icmp vendor-dns vendor-tcp6 vendor-icmp6; do
        st=$(probe "$p")
        if [ "$st" = BLOCKED ]; then
                pass "$p refused"
        else
                fail "$p: expected BLOCKED, got '${st:-no line}'"
        fi
done

step "the raw-frame routes (tests/guest/rawsend.c)"
sleep 1 # the sniffers' last lines
tr -d '\r' <"$console" | grep '^ECLUSE-RAW' >"$logs/guest-raw.out"
if grep -q '^ECLUSE-RAW-DONE .* errors=0$' "$logs/guest-raw.out"; then
        pass "the guest sent its raw frames: $(grep '^ECLUSE-RAW-DONE' "$logs/guest-raw.out")"
else
        fail "rawsend did not run cleanly in the guest: $(grep -E '^ECLUSE-RAW-(DONE|ERROR)' "$logs/guest-raw.out" | tr '\n' ' ')"
fi
grep -q '^ready$' "$logs/sniff-tap.out" 2>/dev/null || fail "the tap sniffer never started: $(cat "$logs/sniff-tap.out")"
n_raw=0
while read -r r host what; do
        n_raw=$((n_raw + 1))
        sent=$(marked tap "$r") v=$(marked vendor "$r") sv=$(marked service "$r") br=$(marked bridge "$r")
        if [ "$sent" -lt 1 ]; then
                fail "raw route $r ($what): the tap never saw it leave the guest, so its 0 below proves nothing"
        elif [ "$r" = z1 ]; then
                if [ "$sv" -ge 1 ] && [ "$br" -ge 1 ]; then
                        pass "raw route z1 ($what): $sv of $sent at the service host, so the sniffers see what passes the tap"
                else
                        fail "raw route z1 ($what): $sent sent, $sv at the service host, $br on the bridge; the allowed flow must arrive"
                fi
        elif [ $((v + sv + br)) = 0 ]; then
                pass "raw route $r refused at the tap: $what ($sent sent, none at any host)"
        else
                fail "raw route $r LEAKED: $what: $sent sent, $v at the vendor host, $sv at the service host, $br on the bridge"
        fi
done < <(raw_routes "$logs/guest-raw.out")
[ "$n_raw" -ge 20 ] || fail "only $n_raw raw-frame routes in the guest's console"
# Beyond the marked frames: the vendor host got no data at all, only the
# housekeeping of minimal shape (ARP, neighbour discovery, MLD).
unmarked=$(awk '$1 == "-" && $2 == "data"' "$logs/sniff-vendor.log")
if [ -n "$unmarked" ]; then
        fail "the vendor host received $(wc -l <<<"$unmarked") unmarked data frames: $(head -n 5 <<<"$unmarked" | tr '\n' ';')"
else
        pass "the vendor host received no unmarked data frame, only $(awk '$1 == "-" && $2 == "hk"' "$logs/sniff-vendor.log" | wc -l) housekeeping frames"
fi
# The vendor's sniffer saw every route in the control run; it still listens
# now if a ping from the service host shows in its log.
ip netns exec "$TOPO_SVC" busybox ping -c 1 -W 2 "$TOPO_VND_IP" >/dev/null 2>&1
if wait_for_line "$logs/sniff-vendor.log" "^- data host $TOPO_SVC_MAC [^ ]+ ipv4 [0-9]+ $TOPO_SVC_IP " 5; then
        pass "the vendor host's sniffer still listens (it logged the service host's ping)"
else
        fail "the vendor host's sniffer did not log the service host's ping: its 0s prove nothing"
fi

step "what the far ends saw"
cat "$logs/service-requests.log" "$logs/vendor-requests.log"
if grep -q "^tcp 443 $TOPO_GUEST_IP\$" "$logs/service-requests.log"; then
        pass "the service host answered the guest on 443"
else
        fail "the service host never saw the guest on 443"
fi
if grep -q "^tcp 8443 " "$logs/service-requests.log"; then
        fail "the service host saw a connection on 8443"
else
        pass "nothing reached the service host on 8443"
fi
if [ -s "$logs/vendor-requests.log" ]; then
        fail "the vendor host received requests"
else
        pass "the vendor host received nothing"
fi

step "ecluse-shim blocked $STACK --json"
# The vendor host is on the guest's link but no neighbour of it: the guest's
# attempts stop at resolving it (ARP who-has, an NS to its solicited-node
# group), so that is what blocked reports; the raw frames sent to its MAC
# (udp 69, ND) are reported by their own destination.
vnd_sol6=$(python3 -c 'import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1]).packed
print(ipaddress.ip_address(bytes.fromhex("ff0200000000000000000001ff") + a[13:]))' "$TOPO_VND_IP6")
if shimc blocked "$STACK" --json >"$logs/blocked.json" 2>"$logs/blocked.err"; then
        if python3 "$here/lib/check_blocked.py" "$logs/blocked.json" \
                "$TOPO_SVC_IP tcp 8443" \
                "$TOPO_VND_IP arp *" \
                "$TOPO_VND_IP udp 69" \
                "$vnd_sol6 icmpv6|ipv6-icmp *" \
                "$TOPO_VND_IP6 icmpv6|ipv6-icmp *"; then
                pass "blocked lists every refused attempt with a count"
        else
                fail "blocked does not list every refused attempt"
        fi
else
        fail "ecluse-shim blocked failed: $(cat "$logs/blocked.err")"
fi

step "ecluse-shim status $STACK --json"
if shimc status "$STACK" --json >"$logs/status.json" 2>"$logs/status.err"; then
        cat "$logs/status.json"
        if python3 - "$logs/status.json" "$STACK" <<'EOF'; then
import json, sys
objs = json.load(open(sys.argv[1]))
assert isinstance(objs, list) and len(objs) == 1, "status STACK --json is not an array of one object"
st = [o for o in objs if isinstance(o, dict) and o.get("stack") == sys.argv[2]]
assert st, "no object for the stack"
missing = [k for k in ("stack", "state", "accel", "policy", "capabilities") if k not in st[0]]
assert not missing, "missing keys: " + ", ".join(missing)
assert st[0]["state"] == "running", "state is %r" % st[0]["state"]
assert st[0]["policy"] == "verified", "policy is %r" % st[0]["policy"]
assert st[0].get("network_namespace") == "stack", "network_namespace is %r" % st[0].get("network_namespace")
EOF
                pass "status reports the stack running with accel, policy and capabilities"
        else
                fail "status --json does not describe the running stack"
        fi
else
        fail "ecluse-shim status failed: $(cat "$logs/status.err")"
fi

# ---- the live domain ----------------------------------------------------
step "the live domain XML"
live=
# The shim's own report of the live XML, when status carries it.
if [ -s "$logs/status.json" ] && python3 - "$logs/status.json" "$logs/live-status.xml" <<'EOF'; then
import json, sys
objs = json.load(open(sys.argv[1]))
for o in objs:
    for k in ("domain_xml", "live_xml", "xml"):
        if isinstance(o, dict) and isinstance(o.get(k), str) and "<domain" in o[k]:
            open(sys.argv[2], "w").write(o[k])
            sys.exit(0)
sys.exit(1)
EOF
        live=$logs/live-status.xml
        echo "from status --json"
fi
# Otherwise libvirt's own record of the running domain: the status XML the
# QEMU driver keeps in its state directory under the embedded root.
if [ -z "$live" ]; then
        live=$(find "$root" -path '*/qemu/*' -name "ecluse-$STACK.xml" -exec grep -l '<domstatus' {} + 2>/dev/null | head -n1)
        [ -n "$live" ] && echo "from libvirt's status file $live"
fi
if [ -z "$live" ]; then
        fail "no live domain XML (neither in status --json nor in libvirt's state directory)"
elif python3 "$here/lib/check_domain.py" "$live" "$tap"; then
        pass "the live domain has none of the forbidden elements"
else
        fail "the live domain has forbidden elements"
fi

step "QEMU"
qpid=$(qemu_pid) || fatal "no QEMU process for ecluse-$STACK"
# QEMU sits in the stack's namespace, which holds nothing but lo, tap and uplink.
if [ "$(readlink "/proc/$qpid/ns/net")" != "$(stackns readlink /proc/self/ns/net)" ]; then
        fail "QEMU (pid $qpid) is not in the stack's network namespace"
else
        devs=$(nsenter -t "$qpid" -n ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
        if [ "$devs" = "$(printf '%s\n' lo "$tap" "$uplink" | sort | tr '\n' ' ')" ]; then
                pass "QEMU runs in the stack's own network namespace: $devs"
        else
                fail "the stack's network namespace holds: $devs"
        fi
        if [ -n "$(nsenter -t "$qpid" -n ip -o addr show)" ] || [ -n "$(nsenter -t "$qpid" -n ip route show)" ]; then
                fail "the stack's network namespace has addresses or routes: $(nsenter -t "$qpid" -n ip -o addr show)"
        else
                pass "the stack's network namespace has no address and no route"
        fi
fi
tr '\0' '\n' <"/proc/$qpid/cmdline" >"$logs/qemu-cmdline.txt"
if grep -A1 -x -- '-sandbox' "$logs/qemu-cmdline.txt" | tail -n1 | grep -Eq '^on(,|$)'; then
        pass "QEMU runs with -sandbox $(grep -A1 -x -- '-sandbox' "$logs/qemu-cmdline.txt" | tail -n1)"
else
        fail "QEMU's command line has no '-sandbox on'"
fi
for opt in -vnc -spice -gdb -s -incoming -qmp; do
        if grep -qx -- "$opt" "$logs/qemu-cmdline.txt"; then
                fail "QEMU's command line has $opt"
        fi
done

# Every TCP/UDP socket QEMU holds, by inode, against the listening sockets of
# its own namespace and of the real host (ss -p as a second reading).
listening_inodes() { # /proc/PID/net: TCP in LISTEN (0A), every bound UDP socket
        awk 'FNR > 1 && ((FILENAME ~ /tcp/ && $4 == "0A") || FILENAME ~ /udp/) { print $10 }' \
                "$1"/tcp "$1"/tcp6 "$1"/udp "$1"/udp6 2>/dev/null
}
qemu_sockets=$(for fd in /proc/"$qpid"/fd/*; do readlink "$fd"; done 2>/dev/null |
        sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort -u)
leaks=
for ino in $(listening_inodes "/proc/$qpid/net") $(listening_inodes /proc/1/net); do
        if grep -qx "$ino" <<<"$qemu_sockets"; then
                leaks+=" inode:$ino"
        fi
done
ss_host=$( (hostns ss -lntupH; nsenter -t "$qpid" -n ss -lntupH) 2>/dev/null | grep "pid=$qpid," || true)
ss_real=$(ss -lntupH 2>/dev/null | grep "pid=$qpid," || true)
if [ -z "$leaks" ] && [ -z "$ss_host" ] && [ -z "$ss_real" ]; then
        pass "QEMU (pid $qpid) listens on no TCP/UDP socket, in $TOPO_HOST or on the host"
else
        fail "QEMU listens:$leaks $ss_host $ss_real"
fi
# Unix sockets: QEMU's monitor is a listening socket libvirt made for itself;
# it must live under the stack's root, where only root can reach it.
unix_listen=$(awk 'NR > 1 && $4 == "00010000" && $6 == "01" { print $7, $8 }' "/proc/$qpid/net/unix" |
        while read -r ino path; do grep -qx "$ino" <<<"$qemu_sockets" && echo "${path:-(unnamed)}"; done)
echo "QEMU's listening unix sockets: ${unix_listen:-none}"
# A long root reaches libvirt through its short alias (/run/ecluse/v/HASH,
# shim/libvirt-embed.h): judged by where the socket's directory leads.
outside=$(while read -r path; do
        [ -n "$path" ] || continue
        case $path in /*) real=$(readlink -f "$(dirname "$path")")/$(basename "$path") ;; *) real=$path ;; esac
        [[ "$real" == "$root/"* ]] || echo "$path"
done <<<"$unix_listen")
if [ -z "$outside" ]; then
        pass "QEMU's only listening unix sockets are under the stack's root"
else
        fail "QEMU listens on unix sockets outside the stack's root: $outside"
fi

# ---- tampering with the policy from outside -------------------------------
# DESIGN.md invariant 3: a change from outside is caught at once and lets
# nothing through meanwhile.  The guest probes the vendor every 3 s all along
# (ecl.loop=3); after each change the shim must hold the domain within a
# second (netlink, not the 5 s poll), `status` must stop saying "verified",
# the audit log must say why, and the vendor host must see nothing from the
# guest.  `reload` then brings the stack back with its policy loaded afresh.
guest_frames_at_vendor() { # lines of the vendor's sniffer log from the guest's addresses
        awk -v a="$TOPO_GUEST_IP" -v b="$TOPO_GUEST_IP6" '$2 == "data" && ($7 == a || $7 == b)' "$logs/sniff-vendor.log" | wc -l
}
tamper() { # NAME COMMAND...: run COMMAND in the stack's namespace, expect a hold at once
        local name=$1 before audits
        shift
        before=$(guest_frames_at_vendor)
        audits=$(grep -c '"policy-tampered"' "$root/var/lib/ecluse/audit.log" || true)
        if ! "$@" >"$logs/tamper-$name.out" 2>&1; then
                fail "tamper $name: the change itself failed: $(cat "$logs/tamper-$name.out")"
                return
        fi
        sleep 1
        local state policy
        state=$(status_field state)
        policy=$(status_field policy)
        if [ "$state" = held ] && [ "$policy" != verified ]; then
                pass "tamper $name: held within a second (status: state $state, policy $policy)"
        else
                fail "tamper $name: a second later status says state $state, policy $policy"
        fi
        if [ "$(grep -c '"policy-tampered"' "$root/var/lib/ecluse/audit.log")" -gt "$audits" ]; then
                pass "tamper $name: audited as policy-tampered"
        else
                fail "tamper $name: no policy-tampered record in the audit log"
        fi
        sleep 3 # a probe's worth: the guest is paused, nothing may come
        if [ "$(guest_frames_at_vendor)" = "$before" ]; then
                pass "tamper $name: the vendor host saw nothing from the guest"
        else
                fail "tamper $name: the vendor host saw frames from the guest: $(awk -v a="$TOPO_GUEST_IP" '$7 == a' "$logs/sniff-vendor.log" | tail -3)"
        fi
}
reload_and_wait() { # NAME: reload, then wait for the guest's vendor probes to run again
        local off
        off=$(file_size "$console")
        if ! shimc reload "$STACK" >"$logs/reload-$1.out" 2>&1; then
                fail "reload after $1 failed: $(cat "$logs/reload-$1.out")"
                return
        fi
        if wait_until 240 loop_lines_since "$off" 1 && [ "$(status_field policy)" = verified ] &&
                [ "$(status_field state)" = running ]; then
                pass "reload after $1: running again, policy verified, probing the vendor"
        else
                fail "reload after $1: state $(status_field state), policy $(status_field policy)"
        fi
}
loop_lines_since() { # OFFSET N: at least N looping vendor probes after OFFSET
        [ "$(since "$console" "$1" | grep -c '^ECLUSE-PROBE loop-vendor-tcp ')" -ge "$2" ]
}
wait_until 60 loop_lines_since 0 1 || fail "the guest does not probe the vendor in a loop"

step "tampering: nft flush ruleset in the host's namespace (systemctl reload nftables)"
before=$(guest_frames_at_vendor)
hostns nft flush ruleset
sleep 2
if [ "$(status_field state)" = running ] && [ "$(status_field policy)" = verified ]; then
        pass "a flush in the host's namespace leaves the stack running, its policy verified"
else
        fail "after a flush in the host's namespace: state $(status_field state), policy $(status_field policy)"
fi
[ "$(guest_frames_at_vendor)" = "$before" ] && pass "and the vendor host saw nothing" ||
        fail "after a host flush the vendor host saw frames from the guest"

step "tampering in the stack's namespace"
tamper dormant stackns nft add table netdev "$table" '{ flags dormant ; }'
reload_and_wait dormant
handle=$(stackns nft -a list chain netdev "$table" guest_out | awk '/goto drop_out comment/ {h=$NF} END {print h}')
comment=$(stackns nft -a list chain netdev "$table" guest_out | awk '/goto drop_out comment/ {c=$0} END {print c}' |
        sed -n 's/.*comment "\([^"]*\)".*/\1/p')
if [ -n "$handle" ] && [ -n "$comment" ]; then
        tamper rewrite stackns nft replace rule netdev "$table" guest_out handle "$handle" \
                ip daddr "$TOPO_VND_IP" counter fwd to "\"$uplink\"" comment "\"$comment\""
        reload_and_wait rewrite
else
        fail "tamper rewrite: no catch-all rule found in guest_out"
fi
tamper grant stackns nft add element netdev "$table" grant_out4 "{ $TOPO_VND_IP . tcp . 443 timeout 1h }"
reload_and_wait grant
printf 'table netdev evil {\n chain c {\n  type filter hook ingress device "%s" priority -1000;\n  ip daddr %s fwd to "%s"\n }\n}\n' \
        "$tap" "$TOPO_VND_IP" "$uplink" >"$logs/evil.nft"
tamper second-chain stackns nft -f "$logs/evil.nft"
stackns nft delete table netdev evil || fail "the second chain's table is gone: $(stackns nft list tables)"
reload_and_wait second-chain
tamper flush stackns nft flush ruleset
reload_and_wait flush
qpid=$(qemu_pid) || fatal "no QEMU process for ecluse-$STACK after the reloads"

# ---- kill -9 the shim ---------------------------------------------------
step "kill -9 ecluse-shim (pid $shim_pid)"
offset=$(file_size "$console")
kill -KILL "$shim_pid"
wait "$shim_pid" 2>/dev/null
# The shim read the serial's FIFO into console.log (shim/console-pipe.h): with
# it gone the guest's output is dropped.  The test reads it on in its place,
# only to see the guest's probes.
cat "$stackdir/console.pipe" >>"$console" 2>/dev/null &
console_reader=$!
disown
if alive "$qpid"; then
        pass "QEMU (pid $qpid) outlives the shim"
        # The probe running at the moment of the kill may have started
        # before it: wait for two that started after.
        if wait_until 90 loop_lines_since "$offset" 2; then
                after=$(since "$console" "$offset" | grep '^ECLUSE-PROBE loop-vendor-tcp')
                echo "$after"
                if grep -q ' OK ' <<<"$after"; then
                        fail "after kill -9 the guest reached the vendor"
                else
                        pass "after kill -9 the guest still cannot reach the vendor ($(wc -l <<<"$after") probes refused)"
                fi
        else
                fail "no vendor probe in the console after kill -9"
        fi
        # No shim to notice now: a flush in the stack's namespace must open nothing either.
        if table_exists; then
                pass "the nftables table $table is still in the kernel"
        else
                fail "the nftables table $table is gone after kill -9"
        fi
        before=$(guest_frames_at_vendor)
        off=$(file_size "$console")
        nsenter -t "$qpid" -n nft flush ruleset
        if wait_until 90 loop_lines_since "$off" 2; then
                after=$(since "$console" "$off" | grep '^ECLUSE-PROBE loop-vendor-tcp')
                if grep -q ' OK ' <<<"$after" || [ "$(guest_frames_at_vendor)" != "$before" ]; then
                        fail "after kill -9 and a flush of the stack's ruleset the guest reached the vendor"
                else
                        pass "after kill -9 and a flush of the stack's ruleset the vendor host still sees nothing ($(wc -l <<<"$after") probes)"
                fi
        else
                fail "no vendor probe in the console after the flush"
        fi
else
        fail "QEMU died with the shim: nothing left to show that the cut holds without it"
fi
if [ -s "$logs/vendor-requests.log" ]; then
        fail "the vendor host received requests: $(cat "$logs/vendor-requests.log")"
fi

# ---- restart after the crash, then stop -----------------------------------
# What an operator (or systemd) does after the supervisor died: run it again.
# The shim finds the domain the killed supervisor left running, destroys it
# and starts the stack afresh; tap and table stay in place meanwhile.
step "run again after the crash, then ecluse-shim stop"
kill -KILL "$console_reader" 2>/dev/null # the new shim reads the console again
offset=$(file_size "$console")
start_shim shim-run2.log
guest_up_or_shim_gone() { since "$console" "$offset" | grep -q '^ECLUSE-GUEST up' || ! alive "$shim_pid"; }
if wait_until 300 guest_up_or_shim_gone &&
        alive "$shim_pid"; then
        pass "the stack runs again after the crash"
        check_ready "run after the crash"
        if alive "$qpid"; then
                fail "the QEMU of the killed supervisor (pid $qpid) still runs next to the new one"
        else
                pass "the domain left by the killed supervisor was replaced"
        fi
        if ! tap_exists || ! table_exists; then
                fail "tap $tap or table $table missing while the stack runs"
        fi
        if shimc stop "$STACK" >"$logs/stop.out" 2>&1; then
                pass "ecluse-shim stop $STACK"
        else
                fail "ecluse-shim stop failed: $(cat "$logs/stop.out")"
        fi
        # stop waits for the supervisor's cleanup: checked at once, no grace.
        if tap_exists || table_exists; then
                fail "tap $tap or table $table still there when stop returned"
        else
                pass "stop returned with tap and table gone"
        fi
        if wait_until 90 eval "! alive $shim_pid"; then
                wait "$shim_pid"
                rc=$?
                if [ "$rc" = 0 ]; then
                        pass "ecluse-shim run exited 0 after stop"
                else
                        fail "ecluse-shim run exited $rc after stop"
                fi
        else
                fail "ecluse-shim run still running 90s after stop"
        fi
        # READY=1 first, STOPPING=1 (with why) last, nothing else
        if notified | awk '{ l[NR] = $0 } END { exit !(NR == 2 && l[1] ~ /^READY=1 / && l[2] ~ /^STOPPING=1 STATUS=stack [a-z0-9-]+ stopping \(stop requested\)$/) }'; then
                pass "NOTIFY_SOCKET got READY=1, then STOPPING=1 when the stop began"
        else
                fail "NOTIFY_SOCKET got, from the second run: $(notified | tr '\n' '|')"
        fi
        if qemu_pid >/dev/null; then fail "QEMU still runs after stop"; else pass "no QEMU after stop"; fi
        if tap_exists; then fail "tap $tap remains after stop"; else pass "no tap after stop"; fi
        if [ -e "$pin" ]; then fail "the namespace pin $pin remains after stop"; else pass "no namespace pin after stop"; fi
        if hostns ip link show dev "$port" >/dev/null 2>&1; then
                fail "bridge port $port remains after stop"
        else
                pass "no bridge port after stop"
        fi
        taps=$(hostns ip -d -o link show 2>/dev/null | grep -E ' tun type (tap|tun)' || true)
        [ -z "$taps" ] || fail "tun/tap devices remain after stop: $taps"
        rules=$(hostns nft list ruleset 2>/dev/null)
        if [ -z "$rules" ]; then
                pass "no nftables rule remains after stop"
        else
                fail "nftables rules remain after stop: $rules"
        fi
else
        fail "run after the crash did not bring the guest up"
fi

# ---- verdict ------------------------------------------------------------
stack_verdict
