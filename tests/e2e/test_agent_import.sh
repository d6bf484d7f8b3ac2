#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 9, the update gate: `ecluse-agent import` (DESIGN.md, "Bundles,
# approvals, access").  Bundles are built at test time by tests/lib/mkbundle.py
# (tar, payloads, the vendor's signature by ssh-keygen) for a --root tree made
# by lib/agent-fixture.sh: stack office, release 1.0.0 placed by hand.
#
#  0. control: `ecluse-agent verify` accepts mkbundle.py's vendor signature
#     and refuses those of --mutate unknown-key, wrong-namespace, sig-other-bytes;
#  1. a good bundle (2.0.0) imports: exit 0, its ID on stdout, an `imported`
#     audit record that names it; `list --json` is one object with id (the
#     first 12 hex of sha256(bundle.yaml)), stack, version, state
#     "quarantined", decision "apply", approvals 0, quorum 2, imported, expires;
#  2. every refusal DESIGN.md lists, one bundle each (mkbundle.py --mutate ...;
#     also a version equal to the floor written "1.0", an older one, and a
#     pax bundle with a device entry): exit 65, exactly one stderr line
#     "...: error: ...", quarantine/, stacks/ and the rest of the root byte
#     for byte as they were (paths, types, modes, owners, link targets,
#     contents; the audit log aside), the audit log one
#     record longer, that record's event `import-refused`, `audit verify` ok;
#     `list --json` still has the one bundle;
#  3. the good bundle again: refused the same way (already imported);
#  4. a pax bundle (2.2.0) imports;
#  5. 0.9.0 with --downgrade imports as decision "downgrade";
#  6. `show ID --json` (shape below) for a bundle whose vmlinuz is the running
#     one's, with a file the running release lacks, and without one it has.
#
# The shape this test assumes for `show ID --json` (one object):
#   {"id": "<12 hex>", "digest": "sha256:<64 hex of bundle.yaml>",
#    "stack", "licensor", "version", "released", "expires", "imported",
#    "state", "decision", "approvals", "quorum", "notes": "<text>",
#    "running": "<version of the running release, or null>",
#    "payload": [{"path", "install", "size", "sha256"}, ...]   (bundle.yaml's order),
#    "changes": [{"name": "<file name>", "change": "added|removed|changed|same"}, ...]}
# "changes" has one object per file name in the running release or the
# bundle: added (only in the bundle), removed (only in the running
# release), changed (both, other bytes), same (both, same sha256).
#
# Runs in a few seconds, unprivileged; no VM.  KEEP_E2E_TMP=1 keeps the tree.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/agent-fixture.sh
. "$here/lib/agent-fixture.sh"
agent_fixture
# A file of the running release that the next ones no longer ship.
echo "release 1.0.0" >"$stackdir/releases/1.0.0/README"
chmod 0600 "$stackdir/releases/1.0.0/README"
# The first command that touches the stack may adopt the hand-placed release.
agent releases "$AGENT_STACK"

# ---- 0. control: the tooling's signatures, checked by `ecluse-agent verify` --
step "control: ecluse-agent verify accepts the good bundle's signature and none of the broken ones"
sig_verdict() { # BUNDLE: `verify` of its bundle.yaml.sig against the vendors file
        rm -rf "$work/x" && mkdir "$work/x" && tar -xf "$1" -C "$work/x" bundle.yaml bundle.yaml.sig 2>/dev/null
        agent verify --signers "$root/etc/ecluse/vendors" --namespace ecluse-bundle \
                --signature "$work/x/bundle.yaml.sig" "$work/x/bundle.yaml"
}
mkbundle "$work/good.tar" --version 2.0.0
sig_verdict "$work/good.tar"
if [ "$rc" = 0 ] && grep -q "$AGENT_VENDOR" "$work/out"; then
        pass "the good bundle's signature verifies ($AGENT_VENDOR)"
else
        fatal "ecluse-agent verify refuses mkbundle.py's good signature: exit $rc: $(cat "$work/err")"
fi
for m in unknown-key wrong-namespace sig-other-bytes; do
        mkbundle "$work/control.tar" --mutate "$m"
        sig_verdict "$work/control.tar"
        if [ "$rc" = 65 ]; then pass "mkbundle.py --mutate $m: verify refuses it"; else fail "mkbundle.py --mutate $m: verify exits $rc"; fi
done

# ---- 1. a good bundle ------------------------------------------------------
step "import a good bundle (2.0.0)"
mkbundle "$work/good.tar" --version 2.0.0
good_id=$id
good_expires=$(tar -xOf "$work/good.tar" bundle.yaml | sed -n 's/^expires: //p')
n0=$(audit_count)
agent import "$work/good.tar"
if [ "$rc" = 0 ]; then pass "import exits 0"; else fail "import exits $rc: $(cat "$work/err")"; fi
if grep -qx "$good_id" "$work/out"; then pass "import prints the ID $good_id"; else fail "import printed '$(head -c 300 "$work/out")', not the ID $good_id"; fi
if [ "$(audit_count)" = $((n0 + 1)) ] && [ "$(audit_last .event)" = imported ] &&
        audit_last . | jq -e --arg id "$good_id" 'tostring | contains($id)' >/dev/null; then
        pass "one audit record 'imported' naming $good_id"
else
        fail "after import the audit log has $(audit_count) records (was $n0), the last: $(audit_last . | head -c 500)"
fi
agent_json list-1 list
json_check "list --json: one quarantined bundle, decision apply, 0 of 2 approvals" "$logs/list-1.json" \
        "length == 1 and (.[0] | .id == \"$good_id\" and .stack == \"office\" and .version == \"2.0.0\"
         and .state == \"quarantined\" and .decision == \"apply\" and .approvals == 0 and .quorum == 2
         and (.imported | type) == \"string\" and .expires == \"$good_expires\")"

# ---- 2. every refusal ------------------------------------------------------
refuse() { # WHAT MKBUNDLE-ARGS...
        local what=$1
        shift
        mkbundle "$work/refused.tar" --version 2.0.5 "$@"
        expect_refused "$what" import-refused agent import "$work/refused.tar"
}
step "refusals: each exits 65, leaves quarantine and releases as they were, audits import-refused"
refuse "a symbolic link entry" --mutate symlink
refuse "a hard link entry" --mutate hardlink
refuse "a character device entry" --mutate chardev
refuse "a FIFO entry" --mutate fifo
refuse "an absolute path (/payload/vmlinuz)" --mutate absolute
refuse "a '..' path (payload/../payload/vmlinuz)" --mutate dotdot
refuse "an entry bundle.yaml does not list" --mutate extra
refuse "a listed entry missing from the tar" --mutate missing
refuse "an entry twice" --mutate duplicate
refuse "a wrong size in bundle.yaml" --mutate wrong-size
refuse "a wrong sha256 in bundle.yaml" --mutate wrong-sha256
refuse "an install name twice" --mutate install-twice
refuse "an install name with '/'" --mutate install-slash
refuse "a bundle.yaml of 1 MiB + 1 byte" --mutate big-yaml
refuse "a payload file bigger than declared" --mutate oversize
refuse "bundle.yaml.sig first, bundle.yaml second" --mutate swapped
refuse "no bundle.yaml.sig" --mutate no-sig
refuse "bundle.yaml.sig after the payload" --mutate late-sig
refuse "a signature by a key the vendors file does not list" --mutate unknown-key
refuse "a signature in namespace ecluse-approval" --mutate wrong-namespace
refuse "a signature over other bytes" --mutate sig-other-bytes
refuse "an expired bundle" --mutate expired
refuse "a stack not configured here" --mutate wrong-stack
refuse "another licensor" --mutate wrong-licensor
refuse "the version of the floor (1.0.0)" --mutate not-newer
refuse "the version of the floor written 1.0" --mutate not-newer --floor 1.0
refuse "an older version without --downgrade" --version 0.9.0
refuse "a qcow2 disk with a backing file" --mutate qcow2-backing
refuse "a qcow2 disk with an external data file" --mutate qcow2-datafile
refuse "raw bytes where the manifest declares qcow2" --mutate raw-as-qcow2
refuse "a release without the initrd the manifest boots" --mutate missing-release-file
refuse "a gzip-compressed tar" --mutate gzip
refuse "a pax tar with a character device" --format pax --mutate chardev
agent_json list-2 list
json_check "after the refusals list --json still has the one bundle" "$logs/list-2.json" \
        "length == 1 and .[0].id == \"$good_id\""

# ---- 3. the same bundle again ----------------------------------------------
step "the good bundle again"
expect_refused "a bundle already imported" import-refused agent import "$work/good.tar"

# ---- 4. pax ----------------------------------------------------------------
step "a pax bundle (2.2.0)"
mkbundle "$work/pax.tar" --version 2.2.0 --format pax
pax_id=$id
agent import "$work/pax.tar"
if [ "$rc" = 0 ]; then pass "a pax bundle imports"; else fail "a pax bundle: exit $rc: $(cat "$work/err")"; fi

# ---- 5. downgrade ----------------------------------------------------------
step "0.9.0 with --downgrade"
mkbundle "$work/old.tar" --version 0.9.0
old_id=$id
agent import --downgrade "$work/old.tar"
if [ "$rc" = 0 ]; then pass "import --downgrade of 0.9.0 exits 0"; else fail "import --downgrade: exit $rc: $(cat "$work/err")"; fi
agent_json list-3 list
json_check "list --json: 0.9.0 is quarantined as a downgrade, 2.0.0 and 2.2.0 as updates" "$logs/list-3.json" \
        "length == 3
         and (map(select(.id == \"$old_id\"))[0] | .version == \"0.9.0\" and .decision == \"downgrade\" and .state == \"quarantined\" and .quorum == 2)
         and (map(select(.id == \"$pax_id\"))[0] | .version == \"2.2.0\" and .decision == \"apply\")
         and (map(select(.id == \"$good_id\"))[0] | .decision == \"apply\")"

# ---- 6. show ---------------------------------------------------------------
step "show ID --json"
rel=$stackdir/releases/1.0.0
mkbundle "$work/show.tar" --version 2.3.0 --notes $'Fixes CVE-2026-0001.\nSecond line.\n' \
        --file "vmlinuz=$rel/vmlinuz" --gen initrd=1024 --qcow2 disk.qcow2=2M --gen tools.txt=100
show_id=$id
show_digest=$digest
cp "$work/bundle.json" "$logs/show-bundle.json"
agent import "$work/show.tar"
[ "$rc" = 0 ] || fail "import of 2.3.0: exit $rc: $(cat "$work/err")"
# What changes against the running release, from the files themselves.
expected_changes=$("$py" - "$rel" "$logs/show-bundle.json" <<'EOF'
import hashlib, json, os, sys
rel, summary = sys.argv[1], json.load(open(sys.argv[2]))
old = {n: hashlib.sha256(open(os.path.join(rel, n), "rb").read()).hexdigest() for n in os.listdir(rel)}
new = {p["install"]: p["sha256"] for p in summary["payload"]}
out = []
for n in sorted(set(old) | set(new)):
    c = "added" if n not in old else "removed" if n not in new else "same" if old[n] == new[n] else "changed"
    out.append({"name": n, "change": c})
print(json.dumps(out))
EOF
)
echo "$expected_changes" >"$logs/show-expected-changes.json"
agent_json show show "${show_id:0:8}"
json_check "show: id, digest, stack, licensor, version, state, decision, notes, running" "$logs/show.json" \
        ".id == \"$show_id\" and .digest == \"sha256:$show_digest\" and .stack == \"office\"
         and .licensor == \"$AGENT_LICENSOR\" and .version == \"2.3.0\" and .state == \"quarantined\"
         and .decision == \"apply\" and .approvals == 0 and .quorum == 2 and .running == \"1.0.0\"
         and (.notes | contains(\"Fixes CVE-2026-0001.\") and contains(\"Second line.\"))"
json_check "show: the payload with path, install, size and sha256, as bundle.yaml lists it" "$logs/show.json" \
        "[.payload[] | {path, install, size, sha256}] == $(jq -c '.payload' "$logs/show-bundle.json")"
json_check "show: changes against 1.0.0 (vmlinuz same, initrd changed, tools.txt added, README removed, ...)" \
        "$logs/show.json" "(.changes | sort_by(.name) | map({name, change})) == $expected_changes"
jq -e 'map(.change) | index("same") and index("changed") and index("added") and index("removed")' \
        "$logs/show-expected-changes.json" >/dev/null || fail "the show case does not have all four kinds of change"

agent show 000000000000 --json
if [ "$rc" = 66 ] && one_error_line "$work/err"; then pass "show of an unknown ID: 66, one line"; else fail "show of an unknown ID: exit $rc: $(cat "$work/err")"; fi

# ---- the log ---------------------------------------------------------------
agent audit verify
if [ "$rc" = 0 ]; then pass "audit verify"; else fail "audit verify: exit $rc: $(cat "$work/err")"; fi
agent_json audit audit show
json_check "audit show --json: 4 imported records, $agent_refusals import-refused" "$logs/audit.json" \
        "(map(select(.event == \"imported\")) | length) == 4 and (map(select(.event == \"import-refused\")) | length) == $agent_refusals"

stack_verdict
