#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 9, the update gate: statements, approvals and the quorum (DESIGN.md,
# "Bundles, approvals, access").  On the tree of lib/agent-fixture.sh (stack
# office, quorum 2; officers alice, bob, carol, alice's second key on the line
# "alice,alice@corp", erin whose line's valid-before has passed; dave is no
# officer) two good bundles are imported, A (2.0.0) and B (2.1.0).
#
#  1. `statement ID` prints exactly nine lines, in DESIGN.md's order:
#       ecluse approval v1
#       decision: apply
#       stack: office
#       licensor: Example Cloud Inc.
#       version: 2.0.0
#       bundle: sha256:<sha256 of A's bundle.yaml>
#       imported: <RFC 3339 UTC, the `imported` of list --json>
#       nonce: <32 hex>
#       approval-expires: <RFC 3339 UTC, after imported>
#     the same bytes each time; B's has its own version, digest and nonce;
#  2. officers sign it with `ssh-keygen -Y sign -n ecluse-approval`;
#     `approve A --signature F` by alice: exit 0, `approved` audited,
#     approvals 1, state quarantined, quarantine/A/approvals/ not empty;
#  3. each of these leaves the quorum unmet: exit 65, exactly one stderr
#     line "...: error: ...", the root (quarantine/, stacks/, all but the
#     audit log) byte for byte as it was, one `approval-refused` audit record, `audit verify` ok,
#     approvals still 1:
#       alice again (the same signature), alice's second key, bob's signature
#       over B's statement, bob's over A's in namespace ecluse-access, dave
#       (no officer), erin (valid-before in the past);
#  4. bob: exit 0, approvals 2, state "approved";
#  5. `approve B --key KEYFILE` (the agent runs ssh-keygen itself) by carol:
#     approvals 1; `reject B --reason TEXT`: state "rejected", `rejected`
#     audited; bob's approval of B afterwards: refused as in 3;
#  6. usage: approve with neither or both of --key and --signature, reject
#     without --reason: exit 64, one line.
#
# Not covered here: an approval whose approval-expires has passed (it needs
# a clock the test can move; the unit tests of the quorum have it).
#
# Runs in a few seconds, unprivileged; no VM.  KEEP_E2E_TMP=1 keeps the tree.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/agent-fixture.sh
. "$here/lib/agent-fixture.sh"
agent_fixture
quarantine=$root/var/lib/ecluse/quarantine

import_bundle() { # FILE VERSION: sets $id, $digest
        mkbundle "$1" --version "$2"
        agent import "$1"
        [ "$rc" = 0 ] || fail "import of $2: exit $rc: $(cat "$work/err")"
}
import_bundle "$work/a.tar" 2.0.0
A=$id
A_digest=$digest
import_bundle "$work/b.tar" 2.1.0
B=$id
B_digest=$digest
step "imported A=$A (2.0.0) and B=$B (2.1.0)"

# The bundle's object in list --json.
listed() { # ID JQ-CONDITION
        agent_json list list
        json_check "list: $1 has $2" "$logs/list.json" "map(select(.id == \"$1\")) | length == 1 and (.[0] | $2)"
}

# ---- 1. the statement ------------------------------------------------------
step "statement"
agent statement "$A"
cp "$work/out" "$work/A.statement"
[ "$rc" = 0 ] || fail "statement $A: exit $rc: $(cat "$work/err")"
agent_json list list
imported=$(jq -r --arg id "$A" '.[] | select(.id == $id) | .imported' "$logs/list.json" 2>/dev/null)
if "$py" - "$work/A.statement" "$A_digest" "$imported" >"$work/check" 2>&1 <<'EOF'; then
import datetime, re, sys
text = open(sys.argv[1], "rb").read().decode()
digest, imported = sys.argv[2], sys.argv[3]
fixed = ["ecluse approval v1", "decision: apply", "stack: office", "licensor: Example Cloud Inc.",
         "version: 2.0.0", "bundle: sha256:" + digest]
lines = text.split("\n")
assert text.endswith("\n") and lines[-1] == "", "the statement does not end with one newline"
lines = lines[:-1]
assert len(lines) == 9, "%d lines, not 9" % len(lines)
assert lines[:6] == fixed, "the first six lines are %r, not %r" % (lines[:6], fixed)
t = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
m1, m2, m3 = re.fullmatch("imported: " + t, lines[6]), re.fullmatch("nonce: [0-9a-f]{32}", lines[7]), \
    re.fullmatch("approval-expires: " + t, lines[8])
assert m1 and m2 and m3, "lines 7-9 are not imported, nonce, approval-expires: %r" % lines[6:]
p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
now = datetime.datetime.now(datetime.timezone.utc)
assert abs((now - p(m1.group(1))).total_seconds()) < 600, "imported is not now: " + lines[6]
assert p(m3.group(1)) > p(m1.group(1)), "approval-expires is not after imported"
assert m1.group(1) == imported, "imported %s is not list's %s" % (m1.group(1), imported)
EOF
        pass "statement: the nine lines of DESIGN.md, bundle sha256:${A_digest:0:12}..., imported as listed"
else
        fail "statement of A: $(tail -n 1 "$work/check")"
        sed 's/^/  | /' "$work/A.statement"
fi
agent statement "$A"
if [ "$rc" = 0 ] && [ -s "$work/out" ] && cmp -s "$work/out" "$work/A.statement"; then pass "statement: the same bytes again"; else fail "statement of A changed between two calls"; fi
agent statement "$B"
cp "$work/out" "$work/B.statement"
if grep -qx "version: 2.1.0" "$work/B.statement" && grep -qx "bundle: sha256:$B_digest" "$work/B.statement" &&
        [ "$(grep '^nonce: ' "$work/B.statement")" != "$(grep '^nonce: ' "$work/A.statement")" ]; then
        pass "statement of B: its own version, digest and nonce"
else
        fail "statement of B: $(tr '\n' '|' <"$work/B.statement")"
fi

# ---- 2. alice --------------------------------------------------------------
sign() { # KEY STATEMENT NAMESPACE OUT
        cp "$2" "$work/to-sign"
        rm -f "$work/to-sign.sig"
        ssh-keygen -q -Y sign -f "$keys/$1" -n "$3" "$work/to-sign" </dev/null || fatal "ssh-keygen -Y sign as $1 failed"
        mv "$work/to-sign.sig" "$4"
}
approved() { # WHAT ID ARGS...: exit 0 and an `approved` record
        local what=$1 n0
        shift
        n0=$(audit_count)
        agent approve "$@"
        if [ "$rc" = 0 ] && [ "$(audit_count)" = $((n0 + 1)) ] && [ "$(audit_last .event)" = approved ]; then
                pass "$what: approved, audited"
        else
                fail "$what: exit $rc, $(($(audit_count) - n0)) audit records, the last '$(audit_last .event)': $(cat "$work/err")"
        fi
}
step "alice approves A"
sign alice "$work/A.statement" ecluse-approval "$work/alice-A.sig"
approved "alice" "$A" --signature "$work/alice-A.sig"
listed "$A" '.approvals == 1 and .quorum == 2 and .state == "quarantined"'
if [ -d "$quarantine/$A/approvals" ] && [ -n "$(ls -A "$quarantine/$A/approvals")" ]; then
        pass "quarantine/$A/approvals/ holds alice's approval"
else
        fail "quarantine/$A/approvals/ is missing or empty"
fi

# ---- 3. what leaves the quorum unmet ---------------------------------------
step "approvals that must not count"
refused() { # WHAT SIGNATURE
        expect_refused "$1" approval-refused agent approve "$A" --signature "$2"
        listed "$A" '.approvals == 1 and .state == "quarantined"'
}
refused "alice again, the same signature" "$work/alice-A.sig"
sign alice2 "$work/A.statement" ecluse-approval "$work/alice2-A.sig"
refused "alice again, with her second key (alice,alice@corp)" "$work/alice2-A.sig"
sign bob "$work/B.statement" ecluse-approval "$work/bob-B.sig"
refused "bob's signature over B's statement" "$work/bob-B.sig"
sign bob "$work/A.statement" ecluse-access "$work/bob-A-access.sig"
refused "bob's signature in namespace ecluse-access" "$work/bob-A-access.sig"
sign dave "$work/A.statement" ecluse-approval "$work/dave-A.sig"
refused "dave, who is no officer" "$work/dave-A.sig"
sign erin "$work/A.statement" ecluse-approval "$work/erin-A.sig"
refused "erin, whose officer line expired (valid-before 20200101)" "$work/erin-A.sig"

# ---- 4. bob: the quorum ----------------------------------------------------
step "bob approves A: quorum"
sign bob "$work/A.statement" ecluse-approval "$work/bob-A.sig"
approved "bob" "$A" --signature "$work/bob-A.sig"
listed "$A" '.approvals == 2 and .quorum == 2 and .state == "approved" and .decision == "apply"'

# ---- 5. --key, reject ------------------------------------------------------
step "carol approves B with --key; B rejected"
approved "carol, --key (the agent signs)" "$B" --key "$keys/carol"
listed "$B" '.approvals == 1 and .state == "quarantined"'
n0=$(audit_count)
agent reject "$B" --reason "the vendor recalled 2.1.0"
if [ "$rc" = 0 ] && [ "$(audit_count)" = $((n0 + 1)) ] && [ "$(audit_last .event)" = rejected ] &&
        audit_last . | jq -e 'tostring | contains("the vendor recalled 2.1.0")' >/dev/null; then
        pass "reject: exit 0, a 'rejected' record with the reason"
else
        fail "reject: exit $rc, last record: $(audit_last . | head -c 500): $(cat "$work/err")"
fi
listed "$B" '.state == "rejected"'
expect_refused "bob approving B after its rejection" approval-refused agent approve "$B" --signature "$work/bob-B.sig"
listed "$B" '.state == "rejected" and .approvals == 1'
listed "$A" '.state == "approved" and .approvals == 2'

# ---- 6. usage --------------------------------------------------------------
step "usage errors"
usage() { # WHAT ARGS...
        local what=$1
        shift
        agent "$@"
        if [ "$rc" = 64 ] && one_error_line "$work/err"; then pass "$what: 64, one line"; else fail "$what: exit $rc: $(cat "$work/err")"; fi
}
usage "approve without --key or --signature" approve "$A"
usage "approve with both --key and --signature" approve "$A" --key "$keys/bob" --signature "$work/bob-A.sig"
usage "reject without --reason" reject "$A"

agent audit verify
if [ "$rc" = 0 ]; then pass "audit verify"; else fail "audit verify: exit $rc: $(cat "$work/err")"; fi

stack_verdict
