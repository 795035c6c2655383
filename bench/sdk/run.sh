#!/usr/bin/env bash
# `make bench-sdk`: the TypeScript SDK (sdk/typescript) beside the mbox command on a private bench stack
# (hack/stack.sh), alternating in one run: time from createSandbox to Running beside `mbox sandbox create
# --wait`, and from runTask(['true']) to its end beside `mbox task run SB -- true` (bench/sdk/bench.mjs;
# method and recorded figures: docs/sdk-bench.md). Knobs: BENCH_SANDBOXES (10), BENCH_TASKS (20).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"
# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-sdk build/mbox-operator build/mbox-apiserver build/mbox sdk/typescript/dist/index.js

P=bench-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
NS=mbox-$P
tmp=$(mktemp -d)
_cleanup_file=$tmp/cleanup
: >"$_cleanup_file"
cleanup() {
        local rc=$?
        set +e
        _cleanup
        rm -rf "$tmp"
        bench_release
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
start_apiserver ""
bench_project "$P" bench-sdk
template "$NS" box
kubectl patch projects.mbox.dev "$P" --type=merge -p '{"spec":{"defaultTemplate":{"name":"box"}}}' >/dev/null
# the bench imports the package by its name, from its own directory's node_modules link
mkdir -p "$tmp/node_modules/@mbox"
ln -s "$root/sdk/typescript" "$tmp/node_modules/@mbox/sdk"
cp "$here/bench.mjs" "$tmp/bench.mjs"
BENCH_NS=$NS BENCH_MBOX=$root/build/mbox node "$tmp/bench.mjs"
