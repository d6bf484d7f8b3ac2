# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The end-to-end test's network: namespaces the test creates and removes,
# linked to nothing but each other (see tests/e2e/README.md).
#
#   topo_up ID      create ecl-ID-{host,svc,vnd,ctl}; the bridge ecl-br0 lives
#                   in the host namespace, each other namespace hangs off it
#                   by a veth; addresses only from 192.0.2.0/24, 2001:db8::/64
#   topo_down       kill every process left in the namespaces, delete them
#
# After topo_up: TOPO_HOST TOPO_SVC TOPO_VND TOPO_CTL name the namespaces.

TOPO_BRIDGE=ecl-br0
TOPO_SVC_IP=192.0.2.10
TOPO_SVC_IP6=2001:db8::10
TOPO_SVC_MAC=02:00:00:e2:e0:10
TOPO_VND_IP=192.0.2.66
TOPO_VND_IP6=2001:db8::66
TOPO_VND_MAC=02:00:00:e2:e0:66
TOPO_CTL_IP=192.0.2.3
TOPO_CTL_IP6=2001:db8::3
TOPO_CTL_MAC=02:00:00:e2:e0:03
# The guest's side, for the test's manifest.
# shellcheck disable=SC2034
TOPO_GUEST_IP=192.0.2.2
# shellcheck disable=SC2034
TOPO_GUEST_IP6=2001:db8::2
# shellcheck disable=SC2034
TOPO_GUEST_MAC=52:54:00:e2:e0:02

topo_netns_list=()

# A leaf namespace NS linked into the bridge by veth PORT (host side) / eth0.
topo_leaf() { # NS PORT MAC IP IP6
        local ns=$1 port=$2 mac=$3 ip4=$4 ip6=$5
        ip netns add "$ns"
        topo_netns_list+=("$ns")
        ip -n "$ns" link set lo up
        ip -n "$TOPO_HOST" link add "$port" type veth peer name eth0 netns "$ns"
        ip -n "$TOPO_HOST" link set "$port" master "$TOPO_BRIDGE" up
        ip -n "$ns" link set eth0 address "$mac"
        # Static addresses, no duplicate address detection, no autoconfiguration.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0 \
                net.ipv6.conf.eth0.autoconf=0
        ip -n "$ns" addr add "$ip4/24" dev eth0
        ip -n "$ns" addr add "$ip6/64" dev eth0 nodad
        ip -n "$ns" link set eth0 up
}

topo_up() { # ID
        local id=$1
        TOPO_HOST=ecl-$id-host
        TOPO_SVC=ecl-$id-svc
        TOPO_VND=ecl-$id-vnd
        TOPO_CTL=ecl-$id-ctl
        ip netns add "$TOPO_HOST"
        topo_netns_list+=("$TOPO_HOST")
        ip -n "$TOPO_HOST" link set lo up
        # No STP: a new port forwards at once.
        ip -n "$TOPO_HOST" link add "$TOPO_BRIDGE" type bridge stp_state 0 forward_delay 0
        ip -n "$TOPO_HOST" link set "$TOPO_BRIDGE" up
        topo_leaf "$TOPO_SVC" vsvc "$TOPO_SVC_MAC" "$TOPO_SVC_IP" "$TOPO_SVC_IP6"
        topo_leaf "$TOPO_VND" vvnd "$TOPO_VND_MAC" "$TOPO_VND_IP" "$TOPO_VND_IP6"
        topo_leaf "$TOPO_CTL" vctl "$TOPO_CTL_MAC" "$TOPO_CTL_IP" "$TOPO_CTL_IP6"
}

# Remove the control host from the bridge once the control run is over.
topo_drop_ctl() {
        topo_kill_ns "$TOPO_CTL"
        ip netns del "$TOPO_CTL" 2>/dev/null || true
}

# Kill every process inside namespace NS (only this test's processes live there).
topo_kill_ns() { # NS
        local pids pid
        pids=$(ip netns pids "$1" 2>/dev/null) || return 0
        for pid in $pids; do
                kill -KILL "$pid" 2>/dev/null || true
        done
        # Wait (bounded) until they are gone so the namespace can go.
        local i=0
        while [ -n "$(ip netns pids "$1" 2>/dev/null)" ] && [ $i -lt 50 ]; do
                sleep 0.1
                i=$((i + 1))
        done
}

topo_down() {
        local ns
        for ns in "${topo_netns_list[@]}"; do
                topo_kill_ns "$ns"
        done
        for ns in "${topo_netns_list[@]}"; do
                ip netns del "$ns" 2>/dev/null || true
        done
        topo_netns_list=()
}
