#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check a LIVE libvirt domain XML for the elements DESIGN.md invariant 1 forbids.

  check_domain.py FILE TAP

FILE is the domain XML as libvirt holds it for the running domain: either a
<domain> with an id attribute (what virDomainGetXMLDesc returns for a running
domain) or libvirt's own status file (<domstatus> around such a <domain>).
TAP is the tap device ecluse made for the stack: the only interface allowed.

Prints one line per violation and exits 1 if there is any, 0 otherwise.
An independent reading of the invariant (a deny-list over the parsed tree),
deliberately not the shim's own checker.
"""
import sys
import xml.etree.ElementTree as ET

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"

# Device elements that open a channel out of the VM (DESIGN.md invariant 1).
FORBIDDEN_DEVICES = {
    "graphics": "remote display",
    "channel": "guest agent / spice channel",
    "vsock": "vsock",
    "redirdev": "USB redirection",
    "hostdev": "host device passthrough",
    "filesystem": "shared filesystem",
    "shmem": "shared memory device",
    "parallel": "parallel port",
    "smartcard": "smartcard (can be a passthrough channel)",
    "hub": "USB hub",
}


def main():
    if len(sys.argv) != 3:
        print("usage: check_domain.py FILE TAP", file=sys.stderr)
        return 2
    path, tap = sys.argv[1], sys.argv[2]
    root = ET.parse(path).getroot()
    if root.tag == "domstatus":
        dom = root.find("domain")
        if dom is None:
            print(f"{path}: <domstatus> without <domain>")
            return 1
    elif root.tag == "domain":
        dom = root
    else:
        print(f"{path}: root element is <{root.tag}>, not <domain>")
        return 1

    bad = []
    if dom.get("id") is None:
        bad.append("domain has no id attribute: this is not the XML of a running domain")

    for el in dom.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{" + QEMU_NS + "}"):
            bad.append(f"qemu namespace element {el.tag.split('}')[1]} (QEMU passthrough)")

    devices = dom.find("devices")
    if devices is None:
        bad.append("no <devices>")
        devices = ET.Element("devices")

    for name, why in FORBIDDEN_DEVICES.items():
        for _ in devices.findall(name):
            bad.append(f"<{name}> ({why})")

    for c in devices.findall("controller[@type='usb']"):
        if c.get("model") != "none":
            bad.append(f"USB controller model={c.get('model')}")
    for el in devices.iter():
        if el.get("bus") == "usb" or (el.tag == "address" and el.get("type") == "usb"):
            bad.append(f"USB device <{el.tag}>")

    balloons = devices.findall("memballoon")
    for b in balloons:
        if b.get("model") != "none":
            bad.append(f"memory balloon model={b.get('model')}")

    for rng in devices.findall("rng"):
        be = rng.find("backend")
        if be is None or be.get("model") == "egd" or be.get("type") in ("tcp", "udp", "unix"):
            bad.append("random-number source with a network backend")

    for tpm in devices.findall("tpm"):
        be = tpm.find("backend")
        bad.append(f"TPM (backend {be.get('type') if be is not None else '?'})")

    for kind in ("serial", "console"):
        for s in devices.findall(kind):
            if s.get("type") != "file":
                bad.append(f"<{kind} type={s.get('type')}> (only a local file is allowed)")

    for iface in devices.findall("interface"):
        target = iface.find("target")
        dev = target.get("dev") if target is not None else None
        if iface.get("type") != "ethernet" or dev != tap:
            bad.append(f"interface type={iface.get('type')} dev={dev} (only the tap {tap})")
        for sub in ("ip", "route", "script", "downscript", "source"):
            if iface.find(sub) is not None:
                bad.append(f"interface <{sub}>")
    if not devices.findall("interface"):
        bad.append(f"no interface on {tap}: the test expects the stack's tap")

    for b in bad:
        print(f"forbidden: {b}")
    n = len(list(devices))
    print(f"checked live domain {dom.findtext('name')} id={dom.get('id')}: {n} devices, "
          f"{len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
