#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_crash.py: what must hold after an agent killed at any moment restarted
(tests/e2e/test_agent_crash.sh).

  check_crash.py [--killed] ROOT STACK RELEASES.json

RELEASES.json: {"VERSION": {"INSTALL": "sha256", ...}, ...}, every release
that may be current and what its files must be (the hand-placed one and the
bundles' payloads, as mkbundle.py declared them).

Checks, one line on stdout per failure (nothing when all hold; exit 1 then):
  - current is a symbolic link "releases/V", V one of RELEASES.json, a
    directory holding exactly V's files, each of V's sha256;
  - no releases/.stage-*, no .current.new;
  - stacks/STACK/state, when there, has op "none" and running == V;
  - quarantine/ holds no .import-* and no temporary file of an atomic write;
    every quarantine/ID is complete: record.json (its id ID, its digest
    the sha256 of bundle.yaml), bundle.yaml.sig, statement, approvals/,
    payload/ holding exactly the files bundle.yaml lists, each of its size
    and sha256;
  - no bundle is "applying" (nothing is in flight after a restart).

--killed: right after the kill, before any restart: only what must hold at
every moment (current a complete release, every quarantine/ID complete);
what the restart removes or finishes (.import-*, .stage-*, temporary
files, an op in flight, a bundle "applying") is allowed.
"""
import hashlib
import json
import os
import re
import stat
import sys

killed = sys.argv[1:2] == ["--killed"]
root, stack, releases_json = sys.argv[1 + killed:4 + killed]
with open(releases_json) as f:
    releases = json.load(f)
lib = os.path.join(root, "var/lib/ecluse")
sdir = os.path.join(lib, "stacks", stack)
bad = []


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- the stack --------------------------------------------------------------
cur = os.path.join(sdir, "current")
version = None
if not os.path.islink(cur):
    bad.append("current is not a symbolic link")
else:
    target = os.readlink(cur)
    m = re.fullmatch(r"releases/([^/]+)", target)
    if not m or m.group(1) not in releases:
        bad.append("current -> %s: not a known release" % target)
    else:
        version = m.group(1)
        rdir = os.path.join(sdir, "releases", version)
        st = os.lstat(rdir)
        if not stat.S_ISDIR(st.st_mode):
            bad.append("releases/%s is not a directory" % version)
        else:
            files = sorted(os.listdir(rdir))
            want = releases[version]
            if files != sorted(want):
                bad.append("releases/%s holds %s, not %s" % (version, files, sorted(want)))
            for name, digest in want.items():
                p = os.path.join(rdir, name)
                if os.path.isfile(p) and not os.path.islink(p) and sha(p) != digest:
                    bad.append("releases/%s/%s: sha256 mismatch" % (version, name))
rels = os.path.join(sdir, "releases")
for n in os.listdir(rels) if os.path.isdir(rels) and not killed else []:
    if n.startswith(".stage-"):
        bad.append("releases/%s left behind" % n)
for n in os.listdir(sdir) if not killed else []:
    if n == ".current.new" or ".tmp-" in n:
        bad.append("stacks/%s/%s left behind" % (stack, n))
state_path = os.path.join(sdir, "state")
if os.path.exists(state_path) and not killed:
    with open(state_path) as f:
        state = json.load(f)
    if state.get("op") != "none":
        bad.append("state: op %s (phase %s) still in flight" % (state.get("op"), state.get("op-phase")))
    if version and state.get("running") != version:
        bad.append("state: running %s, but current -> releases/%s" % (state.get("running"), version))

# ---- the quarantine ---------------------------------------------------------
q = os.path.join(lib, "quarantine")
for n in sorted(os.listdir(q)):
    p = os.path.join(q, n)
    if n.startswith(".import-") or ".tmp-" in n:
        if not killed:
            bad.append("quarantine/%s left behind" % n)
        continue
    if not re.fullmatch(r"[0-9a-f]{12}", n):
        continue
    for d, _, fs in os.walk(p):
        for f in fs:
            if ".tmp-" in f and not killed:
                bad.append("quarantine/%s: %s left behind" % (n, os.path.relpath(os.path.join(d, f), p)))
    need = ["record.json", "bundle.yaml", "bundle.yaml.sig", "statement", "approvals", "payload"]
    missing = [x for x in need if not os.path.exists(os.path.join(p, x))]
    if missing:
        bad.append("quarantine/%s is partial: no %s" % (n, ", ".join(missing)))
        continue
    with open(os.path.join(p, "record.json")) as f:
        rec = json.load(f)
    if rec.get("id") != n or rec.get("digest") != sha(os.path.join(p, "bundle.yaml")):
        bad.append("quarantine/%s: record.json does not match the entry" % n)
    if rec.get("state") == "applying" and not killed:
        bad.append("quarantine/%s: still 'applying' with nothing in flight" % n)
    with open(os.path.join(p, "bundle.yaml")) as f:
        text = f.read()
    # bundle.yaml's payload list (mkbundle.py's layout: size, sha256, install per item)
    listed = re.findall(r"size: (\d+)\s+sha256: ([0-9a-f]{64})\s+install: (\S+)", text)
    if not listed:
        bad.append("quarantine/%s: no payload listed in bundle.yaml" % n)
    pdir = os.path.join(p, "payload")
    if sorted(os.listdir(pdir)) != sorted(x[2] for x in listed):
        bad.append("quarantine/%s/payload holds %s" % (n, sorted(os.listdir(pdir))))
    for size, digest, name in listed:
        f = os.path.join(pdir, name)
        if not os.path.isfile(f) or os.path.getsize(f) != int(size) or sha(f) != digest:
            bad.append("quarantine/%s/payload/%s is not what bundle.yaml says" % (n, name))

for b in bad:
    print(b)
sys.exit(1 if bad else 0)
