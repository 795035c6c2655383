#!/usr/bin/env bash
# Runs each unit-test binary given (optionally under $MBOX_TEST_WRAPPER, e.g. valgrind), and closes with
# one summary line over all of them: "unit: N passed, N failed".
set -uo pipefail
passed=0 failed=0 broken=()
for t in "$@"; do
        out=$(${MBOX_TEST_WRAPPER:-} "$t" 2>&1)
        rc=$?
        printf '%s\n' "$out"
        line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -n 1)
        if [ -z "$line" ]; then
                broken+=("$(basename "$t") (exit $rc, no summary)")
                failed=$((failed + 1))
                continue
        fi
        checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
        fails=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
        errs=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
        passed=$((passed + checks - fails - errs))
        failed=$((failed + fails + errs))
        if [ "$rc" -ne 0 ] && [ $((fails + errs)) -eq 0 ]; then
                broken+=("$(basename "$t") (exit $rc)")
                failed=$((failed + 1))
        fi
done
for b in "${broken[@]}"; do echo "unit: broken: $b"; done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
