#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `ecluse-agent serve` (issue 9): the inbox is the vendor's only way in.
#  1. a bundle already in the inbox when serve starts is imported;
#  2. one that lands while it runs (written under a dot name, then renamed,
#     as a careful vendor drops it) is imported within seconds, and a dot
#     name alone is left alone (still being written);
#  3. a bad bundle (a signature over other bytes) is refused: audited
#     `import-refused`, nothing in quarantine;
#  4. each drop is gone from the inbox once handled, imported or refused;
#  5. SIGTERM ends serve with exit 0; `audit verify` passes.
# Applying at quorum needs a running shim: the end-to-end update test covers it.
# Runs in a few seconds, unprivileged; no VM.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/agent-fixture.sh
. "$here/lib/agent-fixture.sh"
agent_fixture

inbox=$root/var/lib/ecluse/inbox
mkdir -p "$inbox"
serve_pid=
stop_serve() { [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null; }
trap 'stop_serve; agent_cleanup' EXIT

imported() { # ID: the bundle is in list --json
        "$agent_bin" --root "$root" list --json 2>/dev/null | jq -e --arg id "$1" 'any(.[]; .id == $id)' >/dev/null
}
wait_for() { # SECONDS CMD...
        local end=$((SECONDS + $1))
        shift
        while [ $SECONDS -lt "$end" ]; do "$@" && return 0; sleep 0.2; done
        return 1
}

step "a bundle waiting in the inbox, then serve"
mkbundle "$work/a.tar" --version 2.0.0
id_a=$id
cp "$work/a.tar" "$inbox/a.tar"
"$agent_bin" --root "$root" serve >"$logs/serve.out" 2>"$logs/serve.err" &
serve_pid=$!
if wait_for 20 imported "$id_a"; then pass "the waiting bundle was imported ($id_a)"; else fail "not imported: $(tail -n 3 "$logs/serve.err")"; fi
gone() { [ ! -e "$1" ]; }
if wait_for 5 gone "$inbox/a.tar"; then pass "and removed from the inbox"; else fail "a.tar is still in the inbox"; fi

step "a bundle dropped while serve runs"
mkbundle "$work/b.tar" --version 2.1.0
id_b=$id
cp "$work/b.tar" "$inbox/.b.tar.part"
sleep 1
if [ -e "$inbox/.b.tar.part" ] && ! imported "$id_b"; then pass "a dot name is left alone"; else fail "the dot name was taken"; fi
mv "$inbox/.b.tar.part" "$inbox/b.tar"
if wait_for 20 imported "$id_b"; then pass "the renamed drop was imported ($id_b)"; else fail "not imported: $(tail -n 3 "$logs/serve.err")"; fi
if wait_for 5 gone "$inbox/b.tar"; then pass "and removed from the inbox"; else fail "b.tar is still in the inbox"; fi

step "a bad bundle"
n0=$(audit_count)
mkbundle "$work/c.tar" --version 2.2.0 --mutate sig-other-bytes
id_c=$id
cp "$work/c.tar" "$inbox/.c" && mv "$inbox/.c" "$inbox/c.tar"
if wait_for 20 gone "$inbox/c.tar"; then pass "the bad drop was handled and removed"; else fail "c.tar is still in the inbox"; fi
if [ "$(audit_count)" = $((n0 + 1)) ] && [ "$(audit_last .event)" = import-refused ]; then
        pass "audited import-refused"
else
        fail "the audit log: $(audit_count) records (was $n0), last $(audit_last .event)"
fi
if ! imported "$id_c" && [ -z "$(find "$root/var/lib/ecluse/quarantine" -mindepth 1 -maxdepth 1 -name "$id_c*")" ]; then
        pass "nothing of it in quarantine"
else
        fail "the bad bundle is in quarantine"
fi

step "SIGTERM"
kill -TERM "$serve_pid"
wait "$serve_pid"
rc=$?
serve_pid=
if [ "$rc" = 0 ]; then pass "serve exits 0 on SIGTERM"; else fail "serve exits $rc: $(tail -n 3 "$logs/serve.err")"; fi
agent audit verify
if [ "$rc" = 0 ]; then pass "audit verify"; else fail "audit verify exits $rc: $(cat "$work/err")"; fi
stack_verdict
