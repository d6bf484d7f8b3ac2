# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154 # src, build, shim: lib/stack.sh sets them
#
# What the tests of the update gate (ecluse-agent import, approve, ...)
# share: a --root tree with one stack and its first release, the keys of
# a vendor and of officers, bundles made by tests/lib/mkbundle.py, and
# checks that a refusal changed nothing.  No VM, no root needed.
#
#   . lib/agent-fixture.sh        (after `here` is set; it brings lib/stack.sh: step, pass, fail,
#                                 fatal, stack_verdict, $src, $build, $shim)
#   agent_fixture                 the agent built, python3, jq, ssh-keygen, qemu-img, or FATAL; then
#                                 $tmp (removed on exit unless KEEP_E2E_TMP=1), $root, $keys, $work,
#                                 $logs; the tree below; $vendor_key, $manifest, $stackdir
#   agent_signers                 under $root (set, with $keys: the fixture's or a test's own tree): the
#                                 keys, etc/ecluse/{vendors,officers} and var/lib/ecluse/{inbox,
#                                 quarantine,access}/ of the tree below; $vendor_key
#   agent ARGS...                 ecluse-agent --root $root ARGS; stdout in $work/out, stderr in
#                                 $work/err, the status in $rc (never fails the shell)
#   mkbundle OUT ARGS...          tests/lib/mkbundle.py --out OUT --key $vendor_key --json ARGS; the
#                                 bundle's digest (sha256 of its bundle.yaml) in $digest, its ID ($id)
#                                 the first 12 digits, mkbundle.py's summary in $work/bundle.json
#   agent_snapshot                every path under $root but the audit log (quarantine/, stacks/ and
#                                 all else): type, mode, owner, link target, size and sha256 of
#                                 files (no times), one line each, sorted
#   audit_count                   records in audit.log (0 when there is none)
#   audit_last FIELD              jq FIELD of the last record (.event, .subject, ...)
#   expect_refused WHAT EVENT CMD...
#                                 CMD (an `agent ...` call) exits 65 with exactly one stderr line
#                                 "...: error: ...", the whole tree (quarantine/, releases, all
#                                 but the audit log) is byte for byte as it was, the
#                                 audit log grew by exactly one record whose event is EVENT, and
#                                 `audit verify` passes; counts itself in $agent_refusals
#   json_check WHAT FILE JQ       pass when FILE is one JSON document and `jq -e JQ FILE` is true,
#                                 else fail showing FILE
#   agent_json NAME ARGS...       `agent ARGS --json`, which must exit 0; its stdout in $logs/NAME.json
#
# The tree (DESIGN.md, "Paths"), under $root:
#   etc/ecluse/stacks/office.yaml   kernel, initrd and disk.qcow2 under current/, quorum 2
#                                   (updates.health too, when validate accepts it)
#   etc/ecluse/vendors              release@example-cloud.com, namespaces="ecluse-bundle" ($keys/vendor)
#   etc/ecluse/officers             alice, bob, carol ($keys/NAME); "alice,alice@corp" with a second key
#                                   of alice's ($keys/alice2); erin with valid-before in the past
#                                   ($keys/erin); $keys/dave is no officer
#   var/lib/ecluse/{inbox,quarantine,access}/   as the integrator's tmpfiles make them
#   var/lib/ecluse/stacks/office/releases/1.0.0/{vmlinuz,initrd,disk.qcow2}   0600, placed by hand
#   var/lib/ecluse/stacks/office/current -> releases/1.0.0
#
# A refused import may create the stack's `state` file where there was none
# (the agent adopts the hand-placed release on the first command that
# touches the stack); any other change is a failure.

# shellcheck source=lib/stack.sh
. "$here/lib/stack.sh"

agent_bin=${ECLUSE_AGENT_BIN:-$build/agent/ecluse-agent}
mkbundle_py=$src/tests/lib/mkbundle.py
AGENT_STACK=office
AGENT_LICENSOR="Example Cloud Inc."
AGENT_VENDOR=release@example-cloud.com
agent_refusals=0
# The interpreter itself: a version manager's shim (pyenv) costs a fifth of a
# second a call, and the tests call python a hundred times.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=python3

agent_need() {
        local tool
        for tool in python3 jq ssh-keygen qemu-img; do
                command -v "$tool" >/dev/null || fatal "$tool not found (scripts/dev deps installs it)"
        done
        [ -x "$agent_bin" ] || fatal "ecluse-agent not built: $agent_bin"
        [ -x "$shim" ] || fatal "ecluse-shim not built: $shim"
}

agent_cleanup() {
        if [ "${KEEP_E2E_TMP:-0}" = 1 ]; then
                echo "kept $tmp"
        else
                rm -rf "$tmp"
        fi
}

agent_keygen() { # NAME: $keys/NAME and $keys/NAME.pub
        ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$keys/$1" </dev/null || fatal "ssh-keygen for $1 failed"
}

agent_manifest() { # HEALTH(0|1)
        {
                cat <<EOF
ecluse: 1
stack: $AGENT_STACK
licensor: $AGENT_LICENSOR
vm:
  vcpus: 1
  memory: 256MiB
  accel: tcg
  kernel: /var/lib/ecluse/stacks/$AGENT_STACK/current/vmlinuz
  initrd: /var/lib/ecluse/stacks/$AGENT_STACK/current/initrd
  cmdline: console=ttyS0
  disks:
    - path: /var/lib/ecluse/stacks/$AGENT_STACK/current/disk.qcow2
      format: qcow2
console: log
updates:
  quorum: 2
EOF
                if [ "$1" = 1 ]; then
                        printf '  health:\n    console: "APP READY"\n    timeout: 2m\n'
                fi
                printf 'access:\n  quorum: 2\n  max-duration: 4h\n'
        } >"$manifest"
}

agent_signers() {
        local etc=$root/etc/ecluse lib=$root/var/lib/ecluse
        mkdir -p "$keys" "$etc/stacks" "$lib/inbox" "$lib/access" "$lib/stacks"
        mkdir -m 0700 "$lib/quarantine"
        vendor_key=$keys/vendor

        local k
        for k in vendor alice alice2 bob carol dave erin; do agent_keygen "$k"; done
        echo "$AGENT_VENDOR namespaces=\"ecluse-bundle\" $(cat "$keys/vendor.pub")" >"$etc/vendors"
        local ns='namespaces="ecluse-approval,ecluse-access,ecluse-audit"'
        {
                echo "# officers of the test host (tests/e2e/lib/agent-fixture.sh)"
                echo "alice $ns $(cat "$keys/alice.pub")"
                echo "bob $ns $(cat "$keys/bob.pub")"
                echo "carol $ns $(cat "$keys/carol.pub")"
                echo "# alice's second key (a hardware key, say): still alice"
                echo "alice,alice@corp $ns $(cat "$keys/alice2.pub")"
                echo "# erin's mandate ended"
                echo "erin $ns,valid-before=\"20200101\" $(cat "$keys/erin.pub")"
        } >"$etc/officers"
}

agent_fixture() {
        agent_need
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-e2e-agent.XXXXXX") || fatal "mktemp failed"
        trap agent_cleanup EXIT
        trap 'exit 130' INT TERM
        root=$tmp/root
        keys=$tmp/keys
        work=$tmp/work
        logs=$tmp/logs
        mkdir -p "$work" "$logs"
        agent_signers
        manifest=$root/etc/ecluse/stacks/$AGENT_STACK.yaml
        stackdir=$root/var/lib/ecluse/stacks/$AGENT_STACK

        # The first release, placed by the integrator.
        local rel=$stackdir/releases/1.0.0
        mkdir -p "$rel"
        head -c 3000 /dev/urandom >"$rel/vmlinuz"
        head -c 1500 /dev/urandom >"$rel/initrd"
        qemu-img create -q -f qcow2 -o cluster_size=4096 "$rel/disk.qcow2" 1M || fatal "qemu-img create failed"
        chmod 0600 "$rel"/*
        ln -s releases/1.0.0 "$stackdir/current"

        agent_manifest 1
        if ! "$shim" --root "$root" validate "$AGENT_STACK" >"$logs/validate.out" 2>&1; then
                # updates.health is not in every build yet (DESIGN.md has it)
                agent_manifest 0
                "$shim" --root "$root" validate "$AGENT_STACK" >"$logs/validate.out" 2>&1 ||
                        fatal "the test manifest does not validate: $(cat "$logs/validate.out")"
        fi
        step "root $root: stack $AGENT_STACK, release 1.0.0 running, officers alice bob carol (erin expired)"
}

agent() {
        "$agent_bin" --root "$root" "$@" >"$work/out" 2>"$work/err"
        rc=$?
        return 0
}

mkbundle() { # OUT ARGS...
        local out=$1
        shift
        "$py" "$mkbundle_py" --out "$out" --key "$vendor_key" --json "$@" >"$work/bundle.json" ||
                fatal "mkbundle.py $* failed"
        digest=$(jq -r .digest "$work/bundle.json")
        [[ "$digest" =~ ^[0-9a-f]{64}$ ]] || fatal "mkbundle.py gave '$digest', not a digest"
        # shellcheck disable=SC2034 # the test's
        id=${digest:0:12}
}

agent_snapshot() {
        "$py" - "$root" <<'EOF'
import hashlib, os, stat, sys
base = sys.argv[1]
paths = [base]
for d, dirs, files in os.walk(base):
    paths += [os.path.join(d, n) for n in dirs + files]
for p in sorted(paths):
    rel = os.path.relpath(p, base)
    if rel == "var/lib/ecluse/audit.log":
        continue
    st = os.lstat(p)
    line = "%s %s %04o %d:%d" % (rel, stat.filemode(st.st_mode)[0], stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISLNK(st.st_mode):
        line += " -> " + os.readlink(p)
    elif stat.S_ISREG(st.st_mode):
        with open(p, "rb") as f:
            line += " %d %s" % (st.st_size, hashlib.sha256(f.read()).hexdigest())
    print(line)
EOF
}

audit_log() { echo "$root/var/lib/ecluse/audit.log"; }

audit_count() {
        local f
        f=$(audit_log)
        if [ -f "$f" ]; then wc -l <"$f" | tr -d ' '; else echo 0; fi
}

audit_last() { # FIELD
        local f
        f=$(audit_log)
        [ -s "$f" ] && tail -n 1 "$f" | jq -r "$1"
}

# One line on stderr, in the form every error has (DESIGN.md, "Commands").
one_error_line() { # FILE
        [ "$(wc -l <"$1")" = 1 ] && [ -z "$(tail -c 1 "$1" | tr -d '\n')" ] && grep -Eq '^.+: error: .+' "$1"
}

expect_refused() { # WHAT EVENT CMD...
        local what=$1 event=$2 before after n0 n1 ok=1 why=
        shift 2
        agent_refusals=$((agent_refusals + 1))
        before=$(agent_snapshot)
        n0=$(audit_count)
        "$@"
        after=$(agent_snapshot)
        n1=$(audit_count)
        # The adoption of the hand-placed release may write its state file once.
        local state=var/lib/ecluse/stacks/$AGENT_STACK/state
        if ! grep -q "^$state " <<<"$before"; then
                after=$(grep -v "^$state " <<<"$after")
        fi
        [ "$rc" = 65 ] || { ok=0; why+=" exit $rc, not 65;"; }
        one_error_line "$work/err" || { ok=0; why+=" stderr is not one '...: error: ...' line;"; }
        [ "$before" = "$after" ] || { ok=0; why+=" the tree changed;"; }
        if [ "$n1" != $((n0 + 1)) ]; then
                ok=0
                why+=" the audit log has $n1 records, not $((n0 + 1));"
        elif [ "$(audit_last .event)" != "$event" ]; then
                ok=0
                why+=" the last audit record is '$(audit_last .event)', not '$event';"
        fi
        "$agent_bin" --root "$root" audit verify >"$work/verify.out" 2>&1 ||
                { ok=0; why+=" audit verify fails: $(head -n 1 "$work/verify.out");"; }
        if [ "$ok" = 1 ]; then
                pass "$what: refused (65): $(cat "$work/err")"
        else
                fail "$what:$why"
                echo "  stderr: $(head -c 2000 "$work/err")"
                echo "  stdout: $(head -c 500 "$work/out")"
                [ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/  /' | head -n 20
        fi
}

agent_json() { # NAME ARGS...
        local name=$1
        shift
        agent "$@" --json
        cp "$work/out" "$logs/$name.json"
        [ "$rc" = 0 ] || fail "$* --json: exit $rc: $(head -c 500 "$work/err")"
}

json_check() { # WHAT FILE JQ
        # One JSON document, no more, no less (jq -e passes on an empty file).
        if [ "$(jq -s length "$2" 2>/dev/null)" = 1 ] && jq -e "$3" "$2" >/dev/null 2>&1; then
                pass "$1"
        else
                fail "$1: jq '$3' is not true of: $(head -c 1500 "$2")"
        fi
}
