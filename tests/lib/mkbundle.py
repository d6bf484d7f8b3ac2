#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mkbundle.py: build an ecluse update bundle for tests, good or broken.

A bundle (DESIGN.md, "Bundles, approvals, access") is an uncompressed tar
(ustar or pax) whose first two entries are bundle.yaml and bundle.yaml.sig
(the vendor's SSHSIG over bundle.yaml, namespace ecluse-bundle, made here
with `ssh-keygen -Y sign`); every other entry lives under payload/ and is
listed in bundle.yaml with its size and sha256.

  mkbundle.py --out B.tar --key VENDOR_KEY [--version 2.0.0] [--mutate M]...

Payload files come from --file INSTALL=PATH (a file's bytes), --gen
INSTALL=SIZE (SIZE deterministic bytes, seeded by --seed, the version and
the name) or --qcow2 INSTALL=VSIZE (a real qcow2 image made by qemu-img).
Without any of them the payload is what the office stack of
tests/e2e/lib/agent-fixture.sh boots: vmlinuz (gen 4096), initrd (gen
2048), disk.qcow2 (qcow2 1M).  The tar entry of INSTALL is payload/INSTALL.

--spec FILE.json gives the same settings as a JSON object (keys as the long
options, with '_' for '-'; "payload" a list of {"install", and one of
"file", "gen", "qcow2"}; "mutate" a list); options on the command line win.

--mutate M (repeatable) breaks the bundle in one way the agent must refuse.
The entry a mutation works on is the first payload file (FIRST) unless said
otherwise; each is made as hard to catch as it can be (e.g. a device entry
declared with size 0 and the digest of no bytes, so only its type is wrong).
`mkbundle.py --list-mutations` prints them (and --help, below).

Prints the bundle's digest (sha256 of the bundle.yaml in the tar, 64 hex;
its first 12 digits are the bundle's ID), or with --json a summary:
{"out", "digest", "id", "stack", "version", "format", "mutations",
"payload": [{"path", "install", "size", "sha256"}]} (as declared).
Only the Python standard library, ssh-keygen and (for qcow2) qemu-img.
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

MUTATIONS = {
    "symlink": "FIRST is a symbolic link to /etc/passwd (declared: 0 bytes)",
    "hardlink": "the second payload entry is a hard link to FIRST (declared: 0 bytes)",
    "chardev": "FIRST is a character device 1:3 (declared: 0 bytes)",
    "fifo": "FIRST is a FIFO (declared: 0 bytes)",
    "absolute": "FIRST's tar entry is named /payload/NAME (the listed path is missing)",
    "dotdot": "FIRST's tar entry is named payload/../payload/NAME",
    "extra": "an unlisted entry payload/extra after the listed ones",
    "dir-entry": "a directory entry payload/ before the payload (unlisted)",
    "missing": "FIRST is listed but has no tar entry",
    "duplicate": "FIRST's tar entry appears twice, same bytes",
    "wrong-size": "FIRST declared one byte longer than it is (its sha256 is right)",
    "oversize": "FIRST's tar entry has 64 bytes more than declared (size and sha256 declared of the rest)",
    "wrong-sha256": "FIRST's declared sha256 has its last digit changed",
    "install-twice": "the second payload file installs under FIRST's name",
    "install-slash": "FIRST installs as sub/NAME",
    "big-yaml": "bundle.yaml padded with comment lines to 1 MiB + 1 byte (signed, valid otherwise)",
    "swapped": "bundle.yaml.sig is the first entry, bundle.yaml the second",
    "no-sig": "no bundle.yaml.sig entry",
    "late-sig": "bundle.yaml.sig comes after the payload",
    "unknown-key": "signed by a fresh key no vendors file lists",
    "wrong-namespace": "signed in namespace ecluse-approval, not ecluse-bundle",
    "sig-other-bytes": "the signature is over another bundle.yaml (version with .1 appended)",
    "expired": "released 60 days ago, expired yesterday",
    "wrong-stack": "stack: payroll (no such stack configured)",
    "wrong-licensor": "licensor without its final character",
    "not-newer": "version set to --floor (default 1.0.0): not newer than the stack's floor",
    "qcow2-backing": "the qcow2 payload names a backing file (qemu-img -b base -F raw)",
    "qcow2-datafile": "the qcow2 payload names an external data file (qemu-img -o data_file=...)",
    "raw-as-qcow2": "the qcow2 payload holds raw bytes instead",
    "missing-release-file": "no payload file installs as --drop (default initrd), which the manifest boots",
    "gzip": "the whole tar compressed with gzip",
}

DEFAULT_PAYLOAD = [
    {"install": "vmlinuz", "gen": 4096},
    {"install": "initrd", "gen": 2048},
    {"install": "disk.qcow2", "qcow2": "1M"},
]
META_MAX = 1024 * 1024
SAFE_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./_+-]*[A-Za-z0-9.]$|^[A-Za-z0-9]$")


def die(msg):
    print("mkbundle.py: error: " + msg, file=sys.stderr)
    sys.exit(64)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def scalar(s):
    """A YAML scalar for s: plain when safe, else double-quoted (JSON escapes are YAML's)."""
    return s if SAFE_PLAIN.match(s) and ": " not in s and " #" not in s else json.dumps(s)


def gen_bytes(seed, size):
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(("%s/%d" % (seed, n)).encode()).digest()
        n += 1
    return bytes(out[:size])


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        die("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace").strip()))
    return p


def make_qcow2(tmp, name, vsize, how):
    path = os.path.join(tmp, name)
    cmd = ["qemu-img", "create", "-q", "-f", "qcow2"]
    opts = "cluster_size=4096"
    if how == "backing":
        base = os.path.join(tmp, "base")
        run(["qemu-img", "create", "-q", "-f", "raw", base, vsize])
        # The image names the backing file "base", as a vendor's image would.
        cmd += ["-b", "base", "-F", "raw"]
    elif how == "datafile":
        # Named relative to the image, as a vendor's image would.
        opts += ",data_file=" + name + ".data,data_file_raw=on"
    run(cmd + ["-o", opts, name, vsize], cwd=tmp)
    with open(path, "rb") as f:
        return f.read()


def sign(tmp, key, data, namespace):
    path = os.path.join(tmp, "to-sign")
    with open(path, "wb") as f:
        f.write(data)
    if os.path.exists(path + ".sig"):
        os.unlink(path + ".sig")
    run(["ssh-keygen", "-q", "-Y", "sign", "-f", key, "-n", namespace, path], stdin=subprocess.DEVNULL)
    with open(path + ".sig", "rb") as f:
        return f.read()


def bundle_yaml(o, declared):
    lines = [
        "ecluse-bundle: 1",
        "stack: " + scalar(o["stack"]),
        "licensor: " + scalar(o["licensor"]),
        "version: " + scalar(o["version"]),
        "released: " + o["released"],
        "expires: " + o["expires"],
    ]
    if o.get("notes"):
        lines.append("notes: |")
        lines += ["  " + line if line else "" for line in o["notes"].rstrip("\n").split("\n")]
    lines.append("payload:")
    for d in declared:
        lines += [
            "  - path: " + scalar(d["path"]),
            "    size: %d" % d["size"],
            "    sha256: " + d["sha256"],
            "    install: " + scalar(d["install"]),
        ]
    return ("\n".join(lines) + "\n").encode()


def entry(name, data=b"", kind=tarfile.REGTYPE, link="", mtime=0, fmt=tarfile.USTAR_FORMAT):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    ti.mode = 0o644
    ti.mtime = mtime
    ti.uname = ti.gname = "vendor"
    ti.uid = ti.gid = 1000
    ti.linkname = link
    if kind == tarfile.CHRTYPE:
        ti.devmajor, ti.devminor = 1, 3
    if kind == tarfile.DIRTYPE:
        ti.mode = 0o755
    if fmt == tarfile.PAX_FORMAT:
        # What GNU tar --format=pax writes for every file: an extended header
        # with sub-second times, so that pax headers really are in the stream.
        ti.pax_headers = {"mtime": "%d.25" % mtime, "atime": "%d.5" % mtime}
    return (ti, data if kind == tarfile.REGTYPE else None)


def options(argv):
    ap = argparse.ArgumentParser(
        prog="mkbundle.py", description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__.split("\n\n", 1)[1] + "\nmutations:\n" +
        "\n".join("  %-22s %s" % kv for kv in MUTATIONS.items()), formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", "-o", help="the bundle to write")
    ap.add_argument("--key", help="the vendor's private key (ssh-keygen -Y sign -f KEY)")
    ap.add_argument("--spec", help="a JSON object with these settings")
    ap.add_argument("--stack", help="default office")
    ap.add_argument("--licensor", help="default: Example Cloud Inc.")
    ap.add_argument("--version", help="default 2.0.0")
    ap.add_argument("--released", help="RFC 3339; default a day ago")
    ap.add_argument("--expires", help="RFC 3339; default in 30 days")
    ap.add_argument("--notes", help="release notes (default: one line naming the version)")
    # One list in command-line order: the payload's order in bundle.yaml and the tar.
    ap.add_argument("--file", action="append", dest="items", type=lambda v: ("file", v), metavar="INSTALL=PATH",
                    help="a payload file from PATH")
    ap.add_argument("--gen", action="append", dest="items", type=lambda v: ("gen", v), metavar="INSTALL=SIZE",
                    help="a payload file of SIZE generated bytes")
    ap.add_argument("--qcow2", action="append", dest="items", type=lambda v: ("qcow2", v), metavar="INSTALL=VSIZE",
                    help="a qcow2 image (qemu-img sizes: 1M)")
    ap.add_argument("--seed", help="seed of generated bytes (default: the version)")
    ap.add_argument("--format", choices=["ustar", "pax"], help="tar format (default ustar)")
    ap.add_argument("--mutate", action="append", metavar="M", help="break the bundle (--list-mutations)")
    ap.add_argument("--floor", help="the version not-newer uses (default 1.0.0)")
    ap.add_argument("--drop", help="what missing-release-file leaves out (default initrd)")
    ap.add_argument("--other-key", help="the key unknown-key signs with (default: a fresh one)")
    ap.add_argument("--json", action="store_true", help="print a JSON summary instead of the digest")
    ap.add_argument("--list-mutations", action="store_true", help="print the mutations, one a line")
    a = ap.parse_args(argv)
    if a.list_mutations:
        for k, v in MUTATIONS.items():
            print("%-22s %s" % (k, v))
        sys.exit(0)
    o = {}
    if a.spec:
        with open(a.spec) as f:
            o = json.load(f)
        if not isinstance(o, dict):
            die(a.spec + ": not a JSON object")
        o = {k.replace("_", "-"): v for k, v in o.items()}
    for k, v in vars(a).items():
        k = k.replace("_", "-")
        if v is None or k in ("spec", "items", "list-mutations") or (k == "json" and not v):
            continue
        o[k] = o.get("mutate", []) + v if k == "mutate" else v
    cli_payload = []
    for kind, item in a.items or []:
        name, sep, val = item.partition("=")
        if not sep or not name or not val:
            die("--%s wants INSTALL=VALUE, not '%s'" % (kind, item))
        cli_payload.append({"install": name, kind: int(val) if kind == "gen" else val})
    if cli_payload:
        o["payload"] = cli_payload
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    o.setdefault("stack", "office")
    o.setdefault("licensor", "Example Cloud Inc.")
    o.setdefault("version", "2.0.0")
    o.setdefault("released", rfc3339(now - datetime.timedelta(days=1)))
    o.setdefault("expires", rfc3339(now + datetime.timedelta(days=30)))
    o.setdefault("notes", "Test release %s.\nMade by tests/lib/mkbundle.py.\n" % o["version"])
    o.setdefault("format", "ustar")
    o.setdefault("mutate", [])
    o.setdefault("floor", "1.0.0")
    o.setdefault("drop", "initrd")
    o.setdefault("payload", DEFAULT_PAYLOAD)
    o["now"] = now
    if not o.get("out"):
        die("--out FILE is required (see --help)")
    if not o.get("key"):
        die("--key VENDOR_KEY is required (see --help)")
    for m in o["mutate"]:
        if m not in MUTATIONS:
            die("unknown mutation '%s' (see --list-mutations)" % m)
    if o["format"] not in ("ustar", "pax"):
        die("format must be ustar or pax")
    return o


def build(o):
    mut = set(o["mutate"])
    fmt = tarfile.PAX_FORMAT if o["format"] == "pax" else tarfile.USTAR_FORMAT
    if "expired" in mut:
        o["released"] = rfc3339(o["now"] - datetime.timedelta(days=60))
        o["expires"] = rfc3339(o["now"] - datetime.timedelta(days=1))
    if "wrong-stack" in mut:
        o["stack"] = "payroll"
    if "wrong-licensor" in mut:
        o["licensor"] = o["licensor"][:-1]
    if "not-newer" in mut:
        o["version"] = o["floor"]
    seed = o.get("seed") or o["version"]
    mtime = int(o["now"].timestamp())
    with tempfile.TemporaryDirectory(prefix="mkbundle.") as tmp:
        # ---- the payload files and what bundle.yaml declares of them
        files = []
        for p in o["payload"]:
            name = p["install"]
            if "file" in p:
                with open(p["file"], "rb") as f:
                    data = f.read()
            elif "gen" in p:
                data = gen_bytes("%s/%s" % (seed, name), int(p["gen"]))
            elif "qcow2" in p:
                how = "backing" if "qcow2-backing" in mut else "datafile" if "qcow2-datafile" in mut else None
                data = make_qcow2(tmp, name, str(p["qcow2"]), how)
                if "raw-as-qcow2" in mut:
                    data = gen_bytes("%s/%s/raw" % (seed, name), len(data))
            else:
                die("payload entry %r has none of file, gen, qcow2" % (p,))
            files.append({"path": "payload/" + name, "install": name, "data": data})
        if "missing-release-file" in mut:
            files = [f for f in files if f["install"] != o["drop"]]
        if not files:
            die("no payload files")
        declared = [{"path": f["path"], "install": f["install"], "size": len(f["data"]),
                     "sha256": hashlib.sha256(f["data"]).hexdigest()} for f in files]
        entries = [entry(f["path"], f["data"], mtime=mtime, fmt=fmt) for f in files]
        first = 0
        second = 1 if len(files) > 1 else None
        empty = hashlib.sha256(b"").hexdigest()

        def retype(i, kind, link=""):
            entries[i] = entry(files[i]["path"], kind=kind, link=link, mtime=mtime, fmt=fmt)
            declared[i].update(size=0, sha256=empty)

        if "symlink" in mut:
            retype(first, tarfile.SYMTYPE, "/etc/passwd")
        if "chardev" in mut:
            retype(first, tarfile.CHRTYPE)
        if "fifo" in mut:
            retype(first, tarfile.FIFOTYPE)
        if "hardlink" in mut:
            if second is None:
                die("hardlink needs two payload files")
            retype(second, tarfile.LNKTYPE, files[first]["path"])
        if "absolute" in mut:
            entries[first][0].name = "/" + files[first]["path"]
        if "dotdot" in mut:
            entries[first][0].name = "payload/../" + files[first]["path"]
        if "oversize" in mut:
            data = files[first]["data"] + gen_bytes(seed + "/oversize", 64)
            entries[first] = entry(files[first]["path"], data, mtime=mtime, fmt=fmt)
        if "wrong-size" in mut:
            declared[first]["size"] += 1
        if "wrong-sha256" in mut:
            h = declared[first]["sha256"]
            declared[first]["sha256"] = h[:-1] + ("0" if h[-1] != "0" else "1")
        if "install-twice" in mut:
            if second is None:
                die("install-twice needs two payload files")
            declared[second]["install"] = declared[first]["install"]
        if "install-slash" in mut:
            declared[first]["install"] = "sub/" + declared[first]["install"]
        if "duplicate" in mut:
            entries.insert(first + 1, entry(files[first]["path"], files[first]["data"], mtime=mtime, fmt=fmt))
        if "missing" in mut:
            del entries[first]
        if "extra" in mut:
            entries.append(entry("payload/extra", gen_bytes(seed + "/extra", 16), mtime=mtime, fmt=fmt))
        if "dir-entry" in mut:
            entries.insert(0, entry("payload/", kind=tarfile.DIRTYPE, mtime=mtime, fmt=fmt))

        # ---- bundle.yaml and its signature
        meta = bundle_yaml(o, declared)
        if "big-yaml" in mut:
            # Exactly one byte over: full comment lines, then one of the length left.
            pad = b"# padding so that bundle.yaml is over the 1 MiB it may have\n"
            while META_MAX + 1 - len(meta) >= 2 * len(pad):
                meta += pad
            meta += b"#" + b"x" * (META_MAX + 1 - len(meta) - 2) + b"\n"
            assert len(meta) == META_MAX + 1
        signed = meta
        if "sig-other-bytes" in mut:
            signed = meta.replace(b"\nversion: " + o["version"].encode() + b"\n",
                                  b"\nversion: " + o["version"].encode() + b".1\n", 1)
            assert signed != meta
        key = o["key"]
        if "unknown-key" in mut:
            key = o.get("other-key")
            if not key:
                key = os.path.join(tmp, "unknown-vendor")
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "unknown vendor", "-f", key])
        ns = "ecluse-approval" if "wrong-namespace" in mut else "ecluse-bundle"
        sig = sign(tmp, key, signed, ns)

        head_meta = entry("bundle.yaml", meta, mtime=mtime, fmt=fmt)
        head_sig = entry("bundle.yaml.sig", sig, mtime=mtime, fmt=fmt)
        if "no-sig" in mut:
            order = [head_meta] + entries
        elif "swapped" in mut:
            order = [head_sig, head_meta] + entries
        elif "late-sig" in mut:
            order = [head_meta] + entries + [head_sig]
        else:
            order = [head_meta, head_sig] + entries

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
            for ti, data in order:
                tar.addfile(ti, io.BytesIO(data) if data is not None else None)
        out = buf.getvalue()
        if "gzip" in mut:
            out = gzip.compress(out, mtime=0)
        tmp_out = o["out"] + ".tmp"
        with open(tmp_out, "wb") as f:
            f.write(out)
        os.replace(tmp_out, o["out"])

    digest = hashlib.sha256(meta).hexdigest()
    if o.get("json"):
        print(json.dumps({"out": o["out"], "digest": digest, "id": digest[:12], "stack": o["stack"],
                          "version": o["version"], "format": o["format"], "mutations": o["mutate"],
                          "payload": declared}))
    else:
        print(digest)


def main(argv):
    for tool in ("ssh-keygen",):
        if not shutil.which(tool):
            die(tool + " not found")
    build(options(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
