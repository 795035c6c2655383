#!/usr/bin/env bash
# Runs the integration tests on this checkout's private test stack (hack/stack.sh: its own state directory,
# free ports, its own Postgres), never on the stack of `make up`: brings it up when it is not running, and
# stops and removes it afterwards unless MBOX_KEEP_CLUSTER=1.
#
# Usage: tests/integration/run.sh [FILE...]   FILE: a test-*.sh file or a C test binary; default: every
# tests/integration/test-*.sh, then every binary in MBOX_C_ITESTS.
# Every test_* function of a shell file runs in a bash of its own under a time limit: MBOX_TEST_TIMEOUT
# seconds (default 300), or TIMEOUT_<function>=SECONDS set in its file. A test over its limit is killed with
# its helpers (its process group), its cleanup runs, and it is counted failed. A file that does not parse or
# source, or that defines no test, fails. Each test of a C binary (Check) is limited to MBOX_TEST_TIMEOUT
# unless it sets its own, the binary as a whole to MBOX_C_ITEST_TIMEOUT (default 1800); a binary that exits
# non-zero counts at least one failure, whatever its summary says. Closes with
# "integration: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/hack/versions.sh"
. "$root/hack/stack.sh"
limit=${MBOX_TEST_TIMEOUT:-300}
c_limit=${MBOX_C_ITEST_TIMEOUT:-1800}

stack_private test "$root"
echo "integration: test stack in $MBOX_STATE_DIR"
stack_ensure "$root" || { echo "integration: 0 passed, 1 failed"; exit 1; }
trap 'stack_release "$root"' EXIT

passed=0 failed=0 failures=()
pass() { passed=$((passed + 1)); echo "ok - $1"; }
flunk() { # name why
        failed=$((failed + 1))
        failures+=("$1")
        echo "not ok - $1${2:+ ($2)}"
}

# run_test FILE FUNCTION SECONDS: one test in its own bash and process group, under its time limit, with
# lib.sh's cleanup on every exit
run_test() {
        local f=$1 t=$2 secs=$3 name start rc
        name="$(basename "$f" .sh):$t"
        start=$SECONDS
        timeout -k 30 "$secs" bash -c '
                . "$1/lib.sh"
                _cleanup_file=$(mktemp)
                trap _cleanup EXIT
                trap "exit 124" TERM
                . "$2"
                set -e
                "$3"' _ "$here" "$f" "$t"
        rc=$?
        if [ $rc -eq 0 ]; then
                pass "$name ($((SECONDS - start))s)"
        elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                flunk "$name" "timed out after ${secs}s"
        else
                flunk "$name" "$((SECONDS - start))s"
        fi
}

# run_file FILE: every test of one shell test file
run_file() {
        local f=$1 base found tests n t v
        base=$(basename "$f")
        if ! found=$(bash -n "$f" 2>&1); then
                flunk "$base" "does not parse: $found"
                return
        fi
        # the tests, and the time limit of each: "NAME SECONDS" lines
        # under set -e: a command that fails anywhere at the top level of the file fails it, not only the last
        if ! found=$(bash -ec '. "$1/lib.sh"; . "$2"; set +e
                for t in $(declare -F | awk "\$3 ~ /^test_/ {print \$3}"); do
                        v=TIMEOUT_$t
                        echo "$t ${!v:-$3}"
                done' _ "$here" "$f" "$limit" 2>&1); then
                flunk "$base" "cannot be sourced: $(tail -n 3 <<<"$found")"
                return
        fi
        tests=$(grep -E '^test_[A-Za-z0-9_]+ [0-9]+$' <<<"$found")
        n=$(grep -c . <<<"$tests")
        echo "# $base: $n tests"
        [ "$n" -gt 0 ] || { flunk "$base" "defines no test_ function"; return; }
        # the list is read on fd 3: a test must not eat it from stdin
        while read -r t v <&3; do run_test "$f" "$t" "$v" 3<&-; done 3<<<"$tests"
}

# run_binary BIN: one Check program (tests/integration/c/)
run_binary() {
        local bin=$1 out rc line checks bad why
        out=$(timeout -k 30 "$c_limit" "$bin" 2>&1)
        rc=$?
        printf '%s\n' "$out" | sed 's/^/    /'
        line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
        checks=$(sed -nE 's/.*Checks: ([0-9]+).*/\1/p' <<<"$line")
        bad=$(sed -nE 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/p' <<<"$line" | awk '{print $1 + $2}')
        checks=${checks:-0} bad=${bad:-0}
        if [ -n "$line" ] && [ $rc -eq 0 ] && [ "$bad" -eq 0 ]; then
                passed=$((passed + checks))
                echo "ok - $(basename "$bin") ($checks checks)"
                return
        fi
        # a binary that failed counts at least one failure, even when its summary says none
        [ "$bad" -gt 0 ] || bad=1
        [ "$checks" -ge "$bad" ] || checks=$bad
        passed=$((passed + checks - bad))
        failed=$((failed + bad - 1))
        why="exit $rc"
        [ -n "$line" ] || why="$why, no summary"
        [ $rc -ne 124 ] && [ $rc -ne 137 ] || why="timed out after ${c_limit}s"
        flunk "$(basename "$bin")" "$why"
}

# the C tests find the stack through these
export KUBECONFIG=$MBOX_STATE_DIR/kubeconfig MBOX_KUBECTL_DIR=$K8S_BIN CK_DEFAULT_TIMEOUT=$limit
stack_export
files=("$@")
# shellcheck disable=SC2206
[ ${#files[@]} -gt 0 ] || files=("$here"/test-*.sh ${MBOX_C_ITESTS:-})
for f in "${files[@]}"; do
        case $f in
        *.sh) run_file "$f" ;;
        *) run_binary "$f" ;;
        esac
done
for n in "${failures[@]}"; do echo "integration: failed: $n"; done
echo "integration: $passed passed, $failed failed"
[ $failed -eq 0 ]
