#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A quarantined bundle changed behind the agent's back is never believed
# (issue 9): whoever can write in quarantine/ cannot swap what officers see
# or sign.  For each part of an entry, a copy of a freshly imported bundle
# is changed on disk, then `show`, `statement`, `approve` and `apply` must
# refuse it with exit 65 and one line naming what disagrees:
#  1. bundle.yaml edited (its digest no longer the ID's): "changed since import";
#  2. the statement edited (a later approval deadline): "statement and its
#     record disagree" (the nonce alone is not bound by the record: a
#     statement with another nonce still names the same bundle, stack,
#     version, decision and deadline, so an approval over it approves the
#     same thing);
#  3. record.json's version changed: the same;
#  4. record.json with an unknown key: refused by the strict reader;
#  5. a whole entry forged consistently (bundle.yaml rewritten, the
#     statement, the record and the directory name following its new
#     digest): the vendor's signature, checked again, refuses it;
#  6. an approval file planted by hand (a signature over other bytes) does
#     not count: `list --json` still says 0 approvals.
# Runs in a few seconds, unprivileged; no VM.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/agent-fixture.sh
. "$here/lib/agent-fixture.sh"
agent_fixture

q=$root/var/lib/ecluse/quarantine
fresh() { # a new bundle of VERSION imported: $id
        mkbundle "$work/$1.tar" --version "$1"
        agent import "$work/$1.tar"
        [ "$rc" = 0 ] || fatal "import of $1 exits $rc: $(cat "$work/err")"
}
refused_all() { # WHAT PATTERN: every reading command refuses $id with PATTERN in its one line
        local what=$1 pattern=$2 cmd ok=1
        for cmd in show statement "approve --signature $work/none.sig" apply; do
                # shellcheck disable=SC2086 # cmd holds the command and its options
                agent $cmd "$id"
                if [ "$rc" != 65 ] || ! one_error_line "$work/err" || ! grep -q "$pattern" "$work/err"; then
                        ok=0
                        fail "$what: '$cmd' exits $rc: $(head -c 300 "$work/err")"
                fi
        done
        [ "$ok" = 1 ] && pass "$what: show, statement, approve and apply refuse it ($(cat "$work/err"))"
}
printf 'x\n' >"$work/none.sig"

step "bundle.yaml changed in quarantine"
fresh 2.0.0
sed -i 's/^notes: .*/notes: nothing to see/' "$q/$id/bundle.yaml"
refused_all "an edited bundle.yaml" "changed since import"

step "the statement changed in quarantine"
fresh 2.1.0
sed -i 's/^approval-expires: .*/approval-expires: 2099-01-01T00:00:00Z/' "$q/$id/statement"
refused_all "an edited statement" "disagree"

step "record.json changed in quarantine"
fresh 2.2.0
python3 - "$q/$id/record.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p)); r["version"] = "9.9.9"; open(p, "w").write(json.dumps(r))
PY
refused_all "a record.json naming another version" "disagree"
fresh 2.3.0
python3 - "$q/$id/record.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p)); r["approved"] = True; open(p, "w").write(json.dumps(r))
PY
refused_all "a record.json with a key of its own" "record"

step "an entry forged consistently"
fresh 2.5.0
forged=$(python3 - "$q" "$id" <<'PY'
import hashlib, json, os, sys
q, old = sys.argv[1], sys.argv[2]
d = os.path.join(q, old)
meta = open(os.path.join(d, "bundle.yaml")).read().replace("notes: ", "notes: forged, ", 1)
if "forged" not in meta:
    meta = meta.replace("licensor:", "notes: forged\nlicensor:", 1)
digest = hashlib.sha256(meta.encode()).hexdigest()
open(os.path.join(d, "bundle.yaml"), "w").write(meta)
st = open(os.path.join(d, "statement")).read().splitlines(True)
st = [("bundle: sha256:%s\n" % digest) if l.startswith("bundle: ") else l for l in st]
open(os.path.join(d, "statement"), "w").write("".join(st))
r = json.load(open(os.path.join(d, "record.json")))
r["id"], r["digest"] = digest[:12], digest
open(os.path.join(d, "record.json"), "w").write(json.dumps(r))
os.rename(d, os.path.join(q, digest[:12]))
print(digest[:12])
PY
)
id=$forged
refused_all "a consistently forged entry ($id)" "vendor signature"

step "an approval planted by hand"
fresh 2.4.0
agent statement "$id"
cp "$work/out" "$work/stmt"
printf 'other bytes\n' >"$work/other"
ssh-keygen -q -Y sign -f "$keys/alice" -n ecluse-approval "$work/other" >/dev/null 2>&1 || fatal "ssh-keygen -Y sign"
install -m 0640 "$work/other.sig" "$q/$id/approvals/000001.sig"
agent list --json
n=$(jq -r --arg id "$id" '.[] | select(.id == $id) | .approvals' "$work/out")
if [ "$n" = 0 ]; then pass "a planted signature over other bytes counts for nothing (approvals 0)"; else fail "approvals $n after a planted file"; fi
agent show "$id" --json
if jq -e '.signatures[0].counted == false and (.signatures[0].refused | test("verify|signature"))' "$work/out" >/dev/null; then
        pass "show says why it does not count: $(jq -r '.signatures[0].refused' "$work/out")"
else
        fail "show of the planted approval: $(head -c 400 "$work/out")"
fi

agent audit verify
if [ "$rc" = 0 ]; then pass "audit verify"; else fail "audit verify exits $rc: $(cat "$work/err")"; fi
stack_verdict
