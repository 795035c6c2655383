#!/usr/bin/env bash
# The test command (`make test`): unit tests, each fuzz target over its seed corpus (MBOX_FUZZ_BINS), then
# the integration tests on a private test stack, then one closing line over all of them:
# "total: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
bash "$here/run-unit.sh" "$@" | tee -a "$out" || rc=1
# shellcheck disable=SC2086
bash "$here/fuzz/replay.sh" ${MBOX_FUZZ_BINS:-} | tee -a "$out" || rc=1
bash "$here/integration/run.sh" | tee -a "$out" || rc=1
p=$(grep -E '^(unit|fuzz|integration): [0-9]+ passed' "$out" | awk '{s += $2} END {print s + 0}')
f=$(grep -E '^(unit|fuzz|integration): [0-9]+ passed' "$out" | awk '{s += $4} END {print s + 0}')
[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
echo "total: $p passed, $f failed"
exit $rc
