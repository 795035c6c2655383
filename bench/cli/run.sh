#!/usr/bin/env bash
# `make bench-cli`: the mbox command beside kubectl, each run as a whole process (start, kubeconfig, TLS,
# requests, output) and timed from outside, the two alternating in one run, printed as one table (method
# and recorded figures: docs/cli-bench.md):
#   1. `mbox exec SB -- true` beside `kubectl exec POD -- true` (the sandbox's pod), BENCH_EXECS runs each;
#   2. `mbox sandbox list` beside `kubectl get msb`, table output, over BENCH_SANDBOXES Sandboxes,
#      BENCH_LISTS runs each; and the same with -o json.
# Part 2's Sandboxes are written straight to the API (one kubectl apply, then their status as the operator
# leaves a Running sandbox, through the status subresource) once the operator is stopped, so that a
# thousand of them need no pods: both commands list exactly the same objects.
# Knobs: BENCH_EXECS (20), BENCH_LISTS (10), BENCH_SANDBOXES (1000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

EXECS=${BENCH_EXECS:-20}
LISTS=${BENCH_LISTS:-10}
SANDBOXES=${BENCH_SANDBOXES:-1000}

# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-cli build/mbox-operator build/mbox-apiserver build/mbox
MBOX=$root/build/mbox

suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
P=bench-$suffix
NS=mbox-$P
LNS=bench-cli-$suffix
tmp=$(mktemp -d)
_cleanup_file=$tmp/cleanup
: >"$_cleanup_file"
say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
        local rc=$?
        set +e
        kubectl delete namespace "$LNS" --ignore-not-found --wait=false >/dev/null 2>&1
        _cleanup
        rm -rf "$tmp"
        bench_release
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# alternate N FILE-A FILE-B CMD-A... :: CMD-B...: runs A then B, N times, each wall time (ms) to its file;
# the clock is bash's own (EPOCHREALTIME), so no process of the measuring is inside the measure
alternate() {
        local n=$1 fa=$2 fb=$3 a=() b=() t0 t1
        shift 3
        while [ "$1" != :: ]; do a+=("$1"); shift; done
        shift
        b=("$@")
        for _ in $(seq 1 "$n"); do
                t0=$EPOCHREALTIME
                "${a[@]}" >/dev/null
                t1=$EPOCHREALTIME
                echo "$t0 $t1" >>"$fa"
                t0=$EPOCHREALTIME
                "${b[@]}" >/dev/null
                t1=$EPOCHREALTIME
                echo "$t0 $t1" >>"$fb"
        done
}
# pctl P FILE: the P-quantile of FILE's "start end" pairs (seconds), in ms
pctl() { awk '{printf "%.3f\n", ($2 - $1) * 1000}' "$2" | sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int(p * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", a[i]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# ---- 1. exec ----
setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
start_apiserver ""
bench_project "$P" bench-cli
template "$NS" box
sandbox "$NS" sb
wait_for "sandbox sb Running" 120 phase_is "$NS" sb Running
POD=$(kubectl -n "$NS" get sandboxes.mbox.dev sb -o jsonpath='{.status.podName}')
"$MBOX" exec -n "$NS" sb -- true && kubectl -n "$NS" exec "$POD" -c sandbox -- true # warm both paths
say "1. exec of true: $EXECS runs of mbox exec and of kubectl exec, alternating"
alternate "$EXECS" "$tmp/me" "$tmp/ke" "$MBOX" exec -n "$NS" sb -- true :: kubectl -n "$NS" exec "$POD" -c sandbox -- true

# ---- 2. list ----
say "2. $SANDBOXES Sandboxes in $LNS (the operator stopped: no pods)"
# the operator and mbox-apiserver go first (by the PIDs this bench started), so nothing reconciles them
while read -r kind v; do [ "$kind" = pid ] && kill "$v" 2>/dev/null; done <"$_cleanup_file"
kubectl create namespace "$LNS" >/dev/null
for i in $(seq 1 "$SANDBOXES"); do
        printf -- '---\napiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: sb-%04d, namespace: %s, labels: {app: bench}}\nspec: {templateRef: {name: box}}\n' "$i" "$LNS"
done | kubectl apply -f - >/dev/null
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
seq 1 "$SANDBOXES" | xargs -P 4 -I{} sh -c 'n=$(printf %04d {}); kubectl -n "$1" patch sandboxes.mbox.dev "sb-$n" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",\"reason\":\"Ready\",\"message\":\"the sandbox is running\",\"project\":\"bench\",\"podName\":\"sb-$n\",\"podIP\":\"10.0.$(({} / 250)).$(({} % 250))\",\"templateVersion\":\"9597cb51\",\"startedAt\":\"$2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"the sandbox is running\",\"lastTransitionTime\":\"$2\"}]}}" >/dev/null' _ "$LNS" "$now"
[ "$("$MBOX" sandbox list -n "$LNS" -o name | wc -l)" = "$SANDBOXES" ] || { echo "bench-cli: mbox lists another number" >&2; exit 1; }
"$MBOX" sandbox list -n "$LNS" >/dev/null && kubectl -n "$LNS" get msb >/dev/null
say "2. $LISTS runs of mbox sandbox list and of kubectl get msb, alternating; then -o json"
alternate "$LISTS" "$tmp/ml" "$tmp/kl" "$MBOX" sandbox list -n "$LNS" :: kubectl -n "$LNS" get sandboxes.mbox.dev
alternate "$LISTS" "$tmp/mj" "$tmp/kj" "$MBOX" sandbox list -n "$LNS" -o json :: kubectl -n "$LNS" get sandboxes.mbox.dev -o json

row() { # WHAT MBOX-FILE KUBECTL-FILE TARGET
        local m50 k50 m90 k90
        m50=$(pctl 0.5 "$2") k50=$(pctl 0.5 "$3") m90=$(pctl 0.9 "$2") k90=$(pctl 0.9 "$3")
        printf '%-44s | %-16s | %-16s | %-6s | %s\n' "$1" "$m50 / $m90" "$k50 / $k90" "$(ratio "$m50" "$k50")" "$4"
}
echo
echo "bench-cli: the mbox command beside kubectl $(kubectl version --client -o json | jq -r .clientVersion.gitVersion), wall time of a process, ms (p50 / p90)"
printf '%-44s | %-16s | %-16s | %-6s | %s\n' "figure" "mbox" "kubectl" "ratio" "target"
row "exec SB -- true ($EXECS runs)" "$tmp/me" "$tmp/ke" "<= 0.5"
row "sandbox list / get msb, $SANDBOXES ($LISTS runs)" "$tmp/ml" "$tmp/kl" ""
row "  the same, -o json" "$tmp/mj" "$tmp/kj" ""
printf '%-44s | %-16s | %-16s | %-6s | %s\n' "binary size, bytes" "$(stat -c %s "$MBOX")" \
        "$(stat -c %s "$(command -v kubectl)")" "" ""
