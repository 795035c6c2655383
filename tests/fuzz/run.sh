#!/usr/bin/env bash
# Runs each libFuzzer target for the given number of seconds, starting from its seed corpus in
# tests/fuzz/corpus/<target>/ (copied, so new inputs never land in the repository). A crash, leak or
# timeout fails the run and leaves the reproducer in findings/ beside the targets (build-fuzz/ by default).
# Usage: tests/fuzz/run.sh SECONDS TARGET...
set -uo pipefail
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
failed=0 passed=0
out=$(dirname "$1") # the targets' build directory: corpora, logs and findings go there
mkdir -p "$out/findings"
for bin in "$@"; do
        name=$(basename "$bin")
        corpus=$out/corpus/$name
        mkdir -p "$corpus"
        [ -d "$here/corpus/$name" ] && cp -n "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
        echo "fuzz: $name for ${secs}s"
        if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
                -artifact_prefix="$out/findings/$name-" "$corpus" >"$out/$name.log" 2>&1; then
                passed=$((passed + 1))
                grep -E '^stat::(number_of_executed_units|new_units_added)' "$out/$name.log" | sed "s/^/fuzz: $name: /"
        else
                failed=$((failed + 1))
                tail -n 40 "$out/$name.log"
                echo "fuzz: $name FAILED (log: $out/$name.log)"
        fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
