#!/usr/bin/env bash
# Runs the integration tests against the local control plane: brings the cluster up when it is not (and
# stops it again afterwards unless MBOX_KEEP_CLUSTER=1), runs every test_* function of every
# tests/integration/test-*.sh (or of the files given), and closes with "integration: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

started=0
if ! bash "$root/hack/cluster.sh" status >/dev/null 2>&1; then
        bash "$root/hack/cluster.sh" up || { echo "integration: 0 passed, 1 failed"; exit 1; }
        started=1
fi
stop() { [ $started -eq 1 ] && [ "${MBOX_KEEP_CLUSTER:-0}" != 1 ] && bash "$root/hack/cluster.sh" down; }
trap stop EXIT

files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$here"/test-*.sh)
passed=0 failed=0 failures=()
for f in "${files[@]}"; do
        tests=$(bash -c ". '$here/lib.sh'; . '$f'; declare -F" | awk '$3 ~ /^test_/ {print $3}')
        for t in $tests; do
                name="$(basename "$f" .sh):$t"
                start=$SECONDS
                (
                        . "$here/lib.sh"
                        _cleanup_file=$(mktemp)
                        trap _cleanup EXIT
                        . "$f"
                        set -e
                        "$t"
                )
                rc=$?
                if [ $rc -eq 0 ]; then
                        passed=$((passed + 1))
                        echo "ok - $name ($((SECONDS - start))s)"
                else
                        failed=$((failed + 1))
                        failures+=("$name")
                        echo "not ok - $name ($((SECONDS - start))s)"
                fi
        done
done
# C integration tests (Check binaries built from tests/integration/c/), when the caller names them
. "$here/lib.sh"
export MBOX_KUBECTL_DIR=$K8S_BIN
if [ $# -eq 0 ]; then
        for bin in ${MBOX_C_ITESTS:-}; do
                out=$("$bin" 2>&1)
                rc=$?
                printf '%s\n' "$out" | sed 's/^/    /'
                line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
                checks=$(sed -nE 's/.*Checks: ([0-9]+).*/\1/p' <<<"$line")
                bad=$(sed -nE 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/p' <<<"$line" | awk '{print $1 + $2}')
                if [ -z "$line" ] || [ $rc -ne 0 ]; then
                        failed=$((failed + ${bad:-1}))
                        passed=$((passed + ${checks:-0} - ${bad:-0}))
                        failures+=("$(basename "$bin")")
                        echo "not ok - $(basename "$bin")"
                else
                        passed=$((passed + checks))
                        echo "ok - $(basename "$bin") ($checks checks)"
                fi
        done
fi
for n in "${failures[@]}"; do echo "integration: failed: $n"; done
echo "integration: $passed passed, $failed failed"
[ $failed -eq 0 ]
