#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Log every frame an interface receives, one line each (an AF_PACKET socket).

  sniff.py --dev IFNAME --log FILE [--promisc] [--wait SECONDS]

Run inside a test network namespace.  --promisc (on a bridge) sees what the
bridge forwards between its ports, not only what is for the bridge itself.
--wait: the interface may not exist yet (a tap the shim creates); keep trying
that long.  Prints "ready" once bound.  Frames the interface sends itself
(PACKET_OUTGOING) are not logged.  Each line:

  ROUTE CLASS PKTTYPE SRC-MAC DST-MAC PROTO LEN L3-SRC L3-DST VLAN WHAT

ROUTE is the raw-frame route the frame is marked with (tests/guest/rawsend.c:
"ECLR" + route anywhere in the frame, or the IPv6 flow label 0xEC0XY), "-"
for none.  CLASS is "hk" for housekeeping of minimal shape (ARP of Ethernet,
IPv4, lengths 6/4, request or reply, nothing but zeros after its 28 bytes;
ICMPv6 neighbour discovery of at most 32 bytes; MLD of at most 88), "data"
for anything else.  VLAN is the 802.1Q tag the kernel took off ("-": none).
"""
import argparse
import re
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
PKTTYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}
MARK = re.compile(rb"ECLR([a-z][0-9])")


def mac(b):
    return ":".join(f"{x:02x}" for x in b)


def classify(frame):
    """(route, class, proto, l3src, l3dst, what) of an Ethernet frame."""
    m = MARK.search(frame)
    route = m.group(1).decode() if m else "-"
    etype = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
    off = 14
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:  # tags left in the data
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    p = frame[off:]
    if etype == 0x0806 and len(p) >= 8:
        htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", p[:8])
        minimal = (htype, ptype, hlen, plen) == (1, 0x0800, 6, 4) and op in (1, 2) and len(p) >= 28 \
            and not any(p[28:])
        src = socket.inet_ntoa(p[14:18]) if minimal else "-"
        dst = socket.inet_ntoa(p[24:28]) if minimal else "-"
        return route, "hk" if minimal else "data", "arp", src, dst, f"op={op},hlen={hlen},plen={plen}"
    if etype == 0x86DD and len(p) >= 40:
        label = struct.unpack("!I", p[:4])[0] & 0xFFFFF
        if route == "-" and label >> 8 == 0xEC0 and (label >> 4 & 0xF) >= 0xA and (label & 0xF) <= 9:
            route = f"{label >> 4 & 0xF:x}{label & 0xF}"
        plen, nh = struct.unpack("!HB", p[4:7])
        src, dst = socket.inet_ntop(socket.AF_INET6, p[8:24]), socket.inet_ntop(socket.AF_INET6, p[24:40])
        l4 = p[40:40 + plen]
        if nh == 0 and len(l4) >= 8:  # hop-by-hop options (MLD's router alert)
            nh, hl = l4[0], (l4[1] + 1) * 8
            l4 = l4[hl:]
        if nh == 58 and l4:
            t = l4[0]
            hk = (t in (133, 135, 136) and len(l4) <= 32) or (t in (130, 131, 132, 143) and len(l4) <= 88)
            return route, "hk" if hk else "data", "ipv6", src, dst, f"icmpv6/{t}/{len(l4)}"
        return route, "data", "ipv6", src, dst, f"nh={nh}/{len(l4)}"
    if etype == 0x0800 and len(p) >= 20:
        return route, "data", "ipv4", socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20]), f"proto={p[9]}"
    return route, "data", f"0x{etype:04x}", "-", "-", "-"


def open_socket(dev, promisc, wait):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    deadline = time.monotonic() + wait
    while True:
        try:
            s.bind((dev, 0))
            break
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
    if promisc:
        mreq = struct.pack("iHH8s", socket.if_nametoindex(dev), PACKET_MR_PROMISC, 0, b"")
        s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--promisc", action="store_true")
    ap.add_argument("--wait", type=float, default=0)
    a = ap.parse_args()
    s = open_socket(a.dev, a.promisc, a.wait)
    log = open(a.log, "a", buffering=1)
    print("ready", flush=True)
    while True:
        try:
            frame, anc, _flags, addr = s.recvmsg(65535, socket.CMSG_SPACE(20))
        except OSError as e:  # the device went away (the tap at stop)
            print(f"sniff.py: {a.dev}: {e}", file=sys.stderr)
            return 0
        pkttype = addr[2]
        if pkttype == 4:
            continue
        vlan = "-"
        for level, typ, data in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(data) >= 20:
                status, _len, _snap, _mac, _net, tci, tpid = struct.unpack("IIIHHHH", data[:20])
                if status & TP_STATUS_VLAN_VALID:
                    vlan = f"0x{tpid or 0x8100:04x}/{tci & 0xFFF}"
        route, cls, proto, l3src, l3dst, what = classify(frame)
        log.write(f"{route} {cls} {PKTTYPES.get(pkttype, pkttype)} {mac(frame[6:12])} {mac(frame[0:6])} "
                  f"{proto} {len(frame)} {l3src} {l3dst} {vlan} {what}\n")


if __name__ == "__main__":
    sys.exit(main())
