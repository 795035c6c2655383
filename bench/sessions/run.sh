#!/usr/bin/env bash
# `make bench-sessions`: mbox's sessions (sandboxes/NAME/terminal and exec, through mbox-apiserver) beside
# pods/exec of the same pod, both through kube-apiserver, in one run, printed as one table (method and
# recorded figures: docs/sessions-bench.md):
#   1. keystroke to echo: one terminal, BENCH_KEYS keystrokes one after another (a byte written on stdin ->
#      the same byte back on stdout), p50/p99, beside pods/exec of the terminal's command (sh -l) with a TTY;
#   2. exec of `true`, connect -> exit code, p50/p99 over BENCH_EXECS runs one after another, beside
#      pods/exec; and the same as a user runs it, `mbox exec` beside `kubectl exec`, a process per run;
#   3. memory: BENCH_SESSIONS terminals held open and idle over BENCH_SANDBOXES sandboxes; mbox-apiserver's
#      RSS before and with them, per session, and by kind of mapping; kube-apiserver's the same way, beside
#      its growth with as many pods/exec terminals over the same pods.
# Every session is opened by one client (bench/sessions/go, client-go's WebSocket executor, as kubectl exec
# uses it). The operator and mbox-apiserver run as their ServiceAccounts; one Project, deleted at the end.
# Knobs: BENCH_KEYS (500), BENCH_EXECS (100), BENCH_CLI (20), BENCH_SESSIONS (200), BENCH_SANDBOXES (4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

KEYS=${BENCH_KEYS:-500}
EXECS=${BENCH_EXECS:-100}
CLI=${BENCH_CLI:-20}
SESSIONS=${BENCH_SESSIONS:-200}
SANDBOXES=${BENCH_SANDBOXES:-4}

# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-sessions build/mbox-operator build/mbox-apiserver build/mbox

# the client, built into the cache keyed by a hash of its sources (as hack/build-binaries.sh does
# remotecommand): editing them makes the next run build a new one
src=$here/go
drv=$MBOX_CACHE_DIR/bench-sessions-$( (cd "$src" && cat go.mod go.sum main.go) | sha256sum | cut -c1-16)/bench-sessions
if [ ! -x "$drv" ]; then
        echo "bench-sessions: building the client" >&2
        mkdir -p "${drv%/*}.tmp"
        (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "${drv%/*}.tmp/bench-sessions" .)
        rm -rf "${drv%/*}" && mv "${drv%/*}.tmp" "${drv%/*}"
fi

out=$root/build/bench
mkdir -p "$out"
suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
P=bench-$suffix
NS=mbox-$P
tmp=$(mktemp -d)
_cleanup_file=$tmp/cleanup
: >"$_cleanup_file"
holder=
say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
        local rc=$?
        set +e
        exec 3>&-
        [ -n "$holder" ] && kill "$holder" 2>/dev/null
        [ -n "${APILOG:-}" ] && cp "$APILOG" "$out/bench-sessions-$suffix.log" 2>/dev/null
        if [ -n "${PORT:-}" ]; then
                say "deleting project $P"
                kubectl delete projects.mbox.dev "$P" --ignore-not-found --timeout=300s >/dev/null 2>&1 || forget_project "$P"
        fi
        _cleanup
        rm -rf "$tmp"
        bench_release
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# rss_by_kind PID: the RSS (KiB) of the process's mappings by kind, "stacks heap other": a thread stack is an
# anonymous mapping right above its guard page (4 KiB, no access); the heap is the main heap and malloc's
# arenas (anonymous, aligned to their 64 MiB)
rss_by_kind() {
        perl -ne 'if (/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\S+)\s*(\S*)/) {
                        ($lo, $hi, $anon) = (hex $1, hex $2, $4 eq "0" && $5 eq "");
                        $kind = $5 eq "[heap]" || ($anon && $lo % 67108864 == 0) ? "h"
                                : $anon && $lo == $guard_end ? "s" : "o";
                        $guard_end = $anon && $3 eq "---p" && $hi - $lo == 4096 ? $hi : -1;
                        next }
                $rss{$kind} += $1 if /^Rss:\s+(\d+)/;
                END { printf "%d %d %d", $rss{s}, $rss{h}, $rss{o} }' "/proc/$1/smaps"
}
vm_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
drive() { # drive PREFIX ARGS...: runs the client, sets PREFIX<key> for each key=value it prints
        local prefix=$1
        shift
        "$drv" --kubeconfig="$KUBECONFIG" "$@" >"$tmp/drive.out" ||
                { echo "bench-sessions: the client failed: $*" >&2; exit 1; }
        eval "$(sed -nE "s/^([a-z0-9_]+)=([0-9.]+)$/${prefix}\1=\2/p" "$tmp/drive.out")"
}
ms_now() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }
pctl() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int(p * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", a[i]}'; }
timed() { # timed N CMD...: the wall time of CMD, N times, one per line (ms)
        local n=$1 t0 t1
        shift
        for _ in $(seq 1 "$n"); do
                t0=$(ms_now)
                "$@" >/dev/null
                t1=$(ms_now)
                awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
        done
}

install_operator_rbac
say "starting mbox-operator"
PORT=$(start_operator "$tmp/operator.log" --resync=10m --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox")
# room for every session of part 3, all of one user, spread over the sandboxes
per_sandbox=$(((SESSIONS + SANDBOXES - 1) / SANDBOXES + 2))
[ "$(ulimit -n)" -ge $((4 * SESSIONS + 1024)) ] || ulimit -n $((4 * SESSIONS + 1024))
say "starting mbox-apiserver"
start_apiserver "postgresql://postgres@127.0.0.1:$PG_PORT/mbox" --max-sessions-per-sandbox="$per_sandbox" \
        --max-sessions-per-user=$((SESSIONS + 10)) --max-long-running=$((SESSIONS + 10)) \
        --max-long-running-per-user=$((SESSIONS + 10))
KAPID=$(cat "$MBOX_STATE_DIR/pids/kube-apiserver.pid")
bench_project "$P" bench-sessions
template "$NS" box
for i in $(seq 0 $((SANDBOXES - 1))); do sandbox "$NS" "s$i"; done
say "waiting for $SANDBOXES sandboxes"
kubectl -n "$NS" wait --for=condition=Ready sandboxes.mbox.dev --all --timeout=300s >/dev/null
for i in $(seq 0 $((SANDBOXES - 1))); do wait_for "sandbox s$i Running" 60 phase_is "$NS" "s$i" Running; done
POD=$(kubectl -n "$NS" get sandboxes.mbox.dev s0 -o jsonpath='{.status.podName}')
SB=/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes
PODEXEC=/api/v1/namespaces/$NS/pods/$POD/exec

say "keystroke to echo: $KEYS keystrokes, mbox terminal, then pods/exec -it of sh -l"
drive mt_ --mode=echo --n="$KEYS" --path="$SB/s0/terminal"
drive kt_ --mode=echo --n="$KEYS" --path="$PODEXEC" -- sh -l

say "exec of true: $EXECS runs, mbox exec, then pods/exec"
drive me_ --mode=exec --n="$EXECS" --path="$SB/s0/exec" -- true
drive ke_ --mode=exec --n="$EXECS" --path="$PODEXEC" -- true
say "exec of true: $CLI runs of the mbox command, then of kubectl"
timed "$CLI" "$root/build/mbox" exec -n "$NS" s0 -- true >"$tmp/mcli"
timed "$CLI" kubectl -n "$NS" exec "$POD" -c sandbox -- true >"$tmp/kcli"

say "memory: $SESSIONS terminals over $SANDBOXES sandboxes"
# every earlier session ended first (mbox-apiserver waits a few seconds for a client to answer its close)
drained() { [ "$(grep -c 'msg="session started"' "$APILOG")" = "$(grep -c 'msg="session ended"' "$APILOG")" ]; }
wait_for "the earlier sessions to end" 30 drained
sleep 2
read -r st0 h0 o0 <<<"$(rss_by_kind "$APIPID")"
m0=$(vm_kb "$APIPID" VmRSS) k0=$(vm_kb "$KAPID" VmRSS) t0=$(vm_kb "$APIPID" Threads) f0=$(ls "/proc/$APIPID/fd" | wc -l)
hold() { # hold MEASURE ARGS...: opens SESSIONS terminals (ARGS: the client's paths and command), runs MEASURE
        # once they are all open and quiet, then closes them
        local measure=$1
        shift
        rm -f "$tmp/hold.in" "$tmp/hold.out"
        mkfifo "$tmp/hold.in"
        "$drv" --kubeconfig="$KUBECONFIG" --mode=hold --n="$SESSIONS" "$@" <"$tmp/hold.in" >"$tmp/hold.out" &
        holder=$!
        exec 3>"$tmp/hold.in"
        until grep -q '^open=' "$tmp/hold.out"; do
                kill -0 "$holder" 2>/dev/null || { echo "bench-sessions: the client failed to open the terminals" >&2; exit 1; }
                sleep 0.5
        done
        sleep 3
        "$measure"
        exec 3>&-
        wait "$holder" || { echo "bench-sessions: the client failed closing the terminals" >&2; exit 1; }
        holder=
}
with_mbox() {
        read -r st1 h1 o1 <<<"$(rss_by_kind "$APIPID")"
        m1=$(vm_kb "$APIPID" VmRSS) k1=$(vm_kb "$KAPID" VmRSS) t1=$(vm_kb "$APIPID" Threads)
        f1=$(ls "/proc/$APIPID/fd" | wc -l)
}
with_pods() { kp1=$(vm_kb "$KAPID" VmRSS); }
paths=()
for i in $(seq 0 $((SANDBOXES - 1))); do paths+=("--path=$SB/s$i/terminal"); done
hold with_mbox "${paths[@]}"
# for context, kube-apiserver with as many pods/exec terminals (sh -l, as the terminal runs) over the same pods
say "memory: $SESSIONS pods/exec terminals over the same pods"
paths=()
for i in $(seq 0 $((SANDBOXES - 1))); do
        paths+=("--path=/api/v1/namespaces/$NS/pods/$(kubectl -n "$NS" get sandboxes.mbox.dev "s$i" -o jsonpath='{.status.podName}')/exec")
done
wait_for "the terminals to end" 30 drained
sleep 2
kp0=$(vm_kb "$KAPID" VmRSS)
hold with_pods "${paths[@]}" -- sh -l

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
per() { awk -v a="$1" -v b="$2" -v n="$SESSIONS" 'BEGIN {printf "%.1f", (b - a) / n}'; }
printf '\nbench-sessions: %s sandboxes (KWOK pods), mbox-apiserver pid %s, %s\n\n' "$SANDBOXES" "$APIPID" "$(date -u +%FT%TZ)"
printf '| figure | mbox | pods/exec | ratio | target |\n|---|---|---|---|---|\n'
printf '| keystroke to echo, TTY, p50 (ms), %s keys | %s | %s | %s | ≤ 1.1 |\n' "$KEYS" "$mt_p50_ms" "$kt_p50_ms" "$(ratio "$mt_p50_ms" "$kt_p50_ms")"
printf '| keystroke to echo, TTY, p99 (ms) | %s | %s | %s | ≤ 1.1 |\n' "$mt_p99_ms" "$kt_p99_ms" "$(ratio "$mt_p99_ms" "$kt_p99_ms")"
printf '| exec of `true`, connect to exit code, p50 (ms), %s runs | %s | %s | %s | ≤ 1.0 |\n' "$EXECS" "$me_p50_ms" "$ke_p50_ms" "$(ratio "$me_p50_ms" "$ke_p50_ms")"
printf '| exec of `true`, connect to exit code, p99 (ms) | %s | %s | %s | ≤ 1.0 |\n' "$me_p99_ms" "$ke_p99_ms" "$(ratio "$me_p99_ms" "$ke_p99_ms")"
printf '| `mbox exec` / `kubectl exec` of `true`, p50 (ms), %s processes | %s | %s | %s | |\n' "$CLI" \
        "$(pctl 0.5 <"$tmp/mcli")" "$(pctl 0.5 <"$tmp/kcli")" "$(ratio "$(pctl 0.5 <"$tmp/mcli")" "$(pctl 0.5 <"$tmp/kcli")")"
printf '| mbox-apiserver RSS before / with %s terminals (MiB) | %s / %s | | | |\n' "$SESSIONS" "$(mib "$m0")" "$(mib "$m1")"
printf '| mbox-apiserver RSS per terminal (KiB) | %s | | | ≤ 64 |\n' "$(per "$m0" "$m1")"
printf '| of which thread stacks / malloc heap and arenas / the rest (KiB per terminal) | %s / %s / %s | | | |\n' \
        "$(per "$st0" "$st1")" "$(per "$h0" "$h1")" "$(per "$o0" "$o1")"
printf '| mbox-apiserver threads / open files before / with them | %s / %s, %s / %s | | | |\n' "$t0" "$f0" "$t1" "$f1"
printf '| kube-apiserver RSS before / with %s terminals (MiB) | %s / %s | %s / %s | | |\n' "$SESSIONS" "$(mib "$k0")" "$(mib "$k1")" "$(mib "$kp0")" "$(mib "$kp1")"
printf '| kube-apiserver RSS per terminal (KiB) | %s | %s | %s | |\n' "$(per "$k0" "$k1")" "$(per "$kp0" "$kp1")" "$(ratio "$(per "$k0" "$k1")" "$(per "$kp0" "$kp1")")"
