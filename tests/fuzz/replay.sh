#!/usr/bin/env bash
# Replays each libFuzzer target over its seed corpus (tests/fuzz/corpus/<target>/), every input once and no
# fuzzing, as a regression test: an input that crashes, leaks, trips a sanitizer or runs past 10 s fails
# its target. A target with no seeds fails too. Part of `make test`; closes with "fuzz: N passed, N failed".
# Usage: tests/fuzz/replay.sh TARGET...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
for bin in "$@"; do
        name=$(basename "$bin")
        seeds=("$here/corpus/$name"/*)
        if [ ! -e "${seeds[0]}" ]; then
                failed=$((failed + 1))
                echo "not ok - $name (no seeds in tests/fuzz/corpus/$name)"
                continue
        fi
        if out=$("$bin" -timeout=10 -rss_limit_mb=2048 "${seeds[@]}" 2>&1); then
                passed=$((passed + 1))
                echo "ok - $name (${#seeds[@]} inputs)"
        else
                failed=$((failed + 1))
                printf '%s\n' "$out" | tail -n 30 | sed 's/^/    /'
                echo "not ok - $name"
        fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
