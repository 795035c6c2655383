#!/usr/bin/env bash
# The web console's figures on a private bench stack (hack/stack.sh): the JavaScript the first view loads
# (gzip, web/scripts/size.mjs), the time from navigation to an interactive list of BENCH_SANDBOXES (500)
# sandboxes, and from creating a sandbox to its row on screen through the watch (bench/console/bench.mjs in
# headless Chromium, signed in as a Developer member). Method and recorded figures: docs/console-bench.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"
# shellcheck source=../lib.sh
. "$here/../lib.sh"
N=${BENCH_SANDBOXES:-500}
node "$root/web/scripts/size.mjs" "$root/web/dist"
bench_needs bench-console build/mbox-operator build/mbox-apiserver web/dist/index.html web/node_modules/playwright-core

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
start_apiserver "" --console-listen=127.0.0.1:0 --console-dir="$root/web/dist"
wait_for "the console listener" 20 grep -q 'msg="console listening"' "$APILOG"
url=$(sed -nE 's/.*msg="console listening" .*port=([0-9]+).*/http:\/\/127.0.0.1:\1/p' "$APILOG" | head -n 1)
bench_project "$P" bench-console
template "$NS" box
kubectl -n "$NS" create serviceaccount dev >/dev/null
kubectl patch projects.mbox.dev "$P" --type=merge \
        -p "{\"spec\":{\"members\":[{\"kind\":\"ServiceAccount\",\"name\":\"dev\",\"namespace\":\"$NS\",\"role\":\"Developer\"}]}}" >/dev/null
wait_for "the member's role" 30 bash -c \
        "[ \"\$(kubectl auth can-i list sandboxes.mbox.dev -n $NS --as=system:serviceaccount:$NS:dev)\" = yes ]"
token=$(kubectl -n "$NS" create token dev --duration=1h)
# N stopped sandboxes (no pods: the list is what is measured)
for ((i = 0; i < N; i++)); do
        printf -- '---\napiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: sb-%04d, namespace: %s}\nspec: {templateRef: {name: box}, state: Stopped}\n' "$i" "$NS"
done | kubectl apply -f - >/dev/null
echo "bench-console: $N sandboxes in $NS, console at $url" >&2
node "$here/bench.mjs" "$url" "$token" "$P" "$NS" "$N"
