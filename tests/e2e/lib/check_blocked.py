#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check `ecluse-shim blocked STACK --json` against the attempts the guest made.

  check_blocked.py FILE EXPECT...

FILE holds the JSON (DESIGN.md: one array of objects with the keys dst, proto,
port, count, first, last).  Each EXPECT is "DST PROTO PORT": PROTO may list
alternatives with '|' (icmpv6|ipv6-icmp), PORT may be '*' (no port: icmp).
Every expectation must match at least one entry with count >= 1 and
first <= last.  Entries that say their direction (an extension of the
contract) must say "egress": these are attempts the guest made.  Prints the list and what matched; exits 1 on any miss or on
malformed JSON.
"""
import ipaddress
import json
import sys

KEYS = ("dst", "proto", "port", "count", "first", "last")


def same_addr(a, b):
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    ok = True
    if not isinstance(data, list):
        print(f"blocked --json is a {type(data).__name__}, not an array")
        return 1
    for e in data:
        missing = [k for k in KEYS if not isinstance(e, dict) or k not in e]
        if missing:
            print(f"entry {e!r} lacks {', '.join(missing)}")
            ok = False
    if not ok:
        return 1
    for e in data:
        print("  blocked: " + " ".join(f"{k}={e[k]}" for k in KEYS))
    for spec in sys.argv[2:]:
        dst, protos, port = spec.split()
        protos = protos.split("|")
        hits = [e for e in data
                if same_addr(str(e["dst"]), dst) and str(e["proto"]) in protos
                and (port == "*" or str(e["port"]) == port)
                and e.get("direction", "egress") == "egress"]
        good = [e for e in hits if isinstance(e["count"], int) and e["count"] >= 1
                and str(e["first"]) <= str(e["last"])]
        if good:
            print(f"  ok: {spec} count={sum(e['count'] for e in good)}")
        else:
            print(f"  MISSING: {spec} ({len(hits)} entries match but none has count >= 1)"
                  if hits else f"  MISSING: {spec}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
