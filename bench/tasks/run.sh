#!/usr/bin/env bash
# `make bench-tasks`: ExecutionTasks on the running local cluster, in one run, printed as one table
# (method and recorded figures: docs/tasks-bench.md):
#   1. latency of a task running `true`: create sent -> a watch sees Succeeded, p50/p99 over BENCH_N tasks
#      one after another, beside `kubectl exec POD -- true` timed the same way (wall time of the command);
#   2. throughput: BENCH_QUEUED tasks created at once across BENCH_SANDBOXES sandboxes, until the last
#      one Succeeded; mbox-operator's peak RSS while they run;
#   3. output: one task writing BENCH_BYTES to stdout (create -> Succeeded, the full output stored in
#      Postgres) beside `kubectl exec POD -- head -c BYTES /dev/zero >/dev/null`.
# The operator runs as its ServiceAccount with the local database; one Project, deleted at the end.
# Knobs: BENCH_N (50), BENCH_QUEUED (500), BENCH_SANDBOXES (10), BENCH_BYTES (104857600).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

N=${BENCH_N:-50}
QUEUED=${BENCH_QUEUED:-500}
SANDBOXES=${BENCH_SANDBOXES:-10}
BYTES=${BENCH_BYTES:-104857600}

# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-tasks build/mbox-operator
out=$root/build/bench
mkdir -p "$out"
drv=$out/bench-tasks-go
(cd "$here/go" && GOFLAGS=-mod=mod go build -o "$drv" .)

suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
P=bench-$suffix
NS=mbox-$P
OPLOG=$out/bench-tasks-$suffix.log
tmp=$(mktemp -d)
_cleanup_file=$tmp/cleanup
: >"$_cleanup_file"
sampler=
say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
        local rc=$?
        [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
        if [ -n "${PORT:-}" ]; then
                say "deleting project $P"
                kubectl delete projects.mbox.dev "$P" --ignore-not-found --timeout=300s >/dev/null 2>&1 || forget_project "$P"
        fi
        _cleanup
        if [ -n "${OPPID:-}" ]; then
                for _ in $(seq 1 120); do kill -0 "$OPPID" 2>/dev/null || break; sleep 0.25; done
                kill -0 "$OPPID" 2>/dev/null && kill -KILL "$OPPID" 2>/dev/null
        fi
        rm -rf "$tmp"
        bench_release
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

vm_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
drive() { # drive PREFIX ARGS...: runs the driver, sets PREFIX<key> for each key=value it prints
        local prefix=$1
        shift
        "$drv" --kubeconfig="$KUBECONFIG" --namespace="$NS" "$@" >"$tmp/drive.out" ||
                { echo "bench-tasks: the driver failed: $*" >&2; exit 1; }
        eval "$(sed -nE "s/^([a-z0-9_]+)=([0-9.]+)$/${prefix}\1=\2/p" "$tmp/drive.out")"
}
ms_now() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }
pctl() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int(p * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", a[i]}'; }

install_operator_rbac
say "starting mbox-operator (log $OPLOG)"
# the output figure stores every byte: the operator's limit on one task's output must not cut it
PORT=$(start_operator "$OPLOG" --resync=10m --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox" \
        --max-task-output="$((BYTES > 67108864 ? BYTES : 67108864))")
OPPID=$(awk '$1 == "pid" {p = $2} END {print p}' "$_cleanup_file")
bench_project "$P" bench-tasks
template "$NS" box
names=()
for i in $(seq 0 $((SANDBOXES - 1))); do
        sandbox "$NS" "s$i"
        names+=("s$i")
done
say "waiting for $SANDBOXES sandboxes"
kubectl -n "$NS" wait --for=condition=Ready sandboxes.mbox.dev --all --timeout=300s >/dev/null
POD=$(kubectl -n "$NS" get sandboxes.mbox.dev s0 -o jsonpath='{.status.podName}')
list=$(IFS=,; echo "${names[*]}")

say "latency: $N tasks running true, one after another"
drive lat_ --mode=latency --n="$N" --sandboxes=s0 --prefix=lat
say "latency: $N times kubectl exec $POD -- true"
for _ in $(seq 1 "$N"); do
        t0=$(ms_now)
        kubectl -n "$NS" exec "$POD" -- true
        t1=$(ms_now)
        awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
done >"$tmp/kexec"
k_p50=$(pctl 0.5 <"$tmp/kexec") k_p99=$(pctl 0.99 <"$tmp/kexec")

say "throughput: $QUEUED tasks over $SANDBOXES sandboxes"
rss0=$(vm_kb "$OPPID" VmRSS)
(
        m=0
        while kill -0 "$OPPID" 2>/dev/null; do
                r=$(vm_kb "$OPPID" VmRSS 2>/dev/null || echo 0)
                [ "$r" -gt "$m" ] && m=$r && echo "$m" >"$tmp/rss_peak"
                sleep 0.2
        done
) &
sampler=$!
drive tp_ --mode=throughput --n="$QUEUED" --sandboxes="$list" --prefix=tp
kill "$sampler" 2>/dev/null
sampler=
rss_peak=$(cat "$tmp/rss_peak" 2>/dev/null || echo 0)
kubectl -n "$NS" delete mtask --all --wait=false >/dev/null

say "output: one task writing $BYTES bytes"
drive out_ --mode=output --bytes="$BYTES" --sandboxes=s0 --prefix=o
say "output: kubectl exec $POD -- head -c $BYTES /dev/zero"
t0=$(ms_now)
kubectl -n "$NS" exec "$POD" -- head -c "$BYTES" /dev/zero >/dev/null
t1=$(ms_now)
k_out=$(awk -v a="$t0" -v b="$t1" -v n="$BYTES" 'BEGIN {printf "%.1f", n / 1e6 / ((b - a) / 1000)}')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
printf '\nbench-tasks: %s sandboxes (KWOK pods), operator pid %s, %s\n\n' "$SANDBOXES" "$OPPID" "$(date -u +%FT%TZ)"
printf '| figure | mbox ExecutionTask | kubectl exec | ratio | target |\n|---|---|---|---|---|\n'
printf '| latency of `true`, p50 (ms) | %s | %s | %s | ≤ 1.5 |\n' "$lat_p50_ms" "$k_p50" "$(ratio "$lat_p50_ms" "$k_p50")"
printf '| latency of `true`, p99 (ms) | %s | %s | %s | |\n' "$lat_p99_ms" "$k_p99" "$(ratio "$lat_p99_ms" "$k_p99")"
printf '| throughput, %s queued over %s sandboxes (tasks/s) | %s (%s s) | | | |\n' "$QUEUED" "$SANDBOXES" "$tp_tasks_per_s" "$tp_seconds"
printf '| operator RSS before / peak during the throughput run (MiB) | %s / %s | | | |\n' \
        "$(awk -v k="$rss0" 'BEGIN {printf "%.1f", k / 1024}')" "$(awk -v k="$rss_peak" 'BEGIN {printf "%.1f", k / 1024}')"
printf '| stdout throughput, %s MiB (MB/s) | %s | %s | %s | |\n' "$((BYTES / 1048576))" "$out_mb_per_s" "$k_out" "$(ratio "$out_mb_per_s" "$k_out")"
