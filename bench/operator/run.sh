#!/usr/bin/env bash
# `make bench-operator`: mbox-operator against the agent-sandbox controller alone, on the running local
# cluster, in one run, printed as one table (method and recorded figures: docs/operator-bench.md):
#   1. BENCH_N raw SandboxClaims (through a warm pool of 0 replicas) in a burst until all are Ready, and
#      BENCH_N mbox Sandboxes in a burst until all are Running, one burst at a time, each deleted before the
#      next, in the order raw, mbox, mbox, raw: a cluster slows as it ages (etcd's history, the last
#      burst's Events), and this order gives each side an early and a late turn. Each side's time is the
#      mean of its two; the ratio is of the means. Each burst (and step 3) starts once the API server has
#      settled (under 15% of a CPU over 5 s): the substrate's work for the previous burst (events, garbage
#      collection) goes on after its objects are gone;
#   2. mbox-operator's peak RSS and CPU seconds over the run beside the agent-sandbox controller's;
#   3. a Sandbox's creation -> its SandboxClaim's creation, both as one watch sees them, p50/p99, at
#      BENCH_RATE creates/s (and from the create request sent, which adds the API server's own answer);
#   4. operator API writes per sandbox over create -> Running -> stop -> start -> delete (BENCH_K of them).
# The operator runs as its ServiceAccount (tests/integration/lib.sh start_operator), one Project per side
# (bench-<random>-raw and bench-<random>), both deleted at the end while the operator still runs.
# Knobs: BENCH_N (200), BENCH_PAR (20 creates in flight), BENCH_RATE (50/s), BENCH_RATE_N (200),
# BENCH_K (20). The driver is bench/operator/go (client-go, no client-side rate limit). Each burst must
# fit the cluster at once: the bench stack gets a KWOK node per 256 sandboxes (MBOX_KWOK_NODES overrides).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

N=${BENCH_N:-200}
PAR=${BENCH_PAR:-20}
RATE=${BENCH_RATE:-50}
RATE_N=${BENCH_RATE_N:-200}
K=${BENCH_K:-20}

# every pod of a burst must fit at once: a KWOK node (64 CPUs) holds 256 pods of the template's Small preset
need=$((N > RATE_N ? N : RATE_N))
nodes=$(((need + 255) / 256))
export MBOX_KWOK_NODES=${MBOX_KWOK_NODES:-$((nodes > 2 ? nodes : 2))}
# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-operator build/mbox-operator
ASPID=$(cat "$MBOX_STATE_DIR/pids/agent-sandbox.pid" 2>/dev/null || true)
[ -n "$ASPID" ] && kill -0 "$ASPID" 2>/dev/null || {
        echo "bench-operator: the agent-sandbox controller is not running (no live $MBOX_STATE_DIR/pids/agent-sandbox.pid)" >&2
        exit 1
}

cpus=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.allocatable.cpu}{"\n"}{end}' |
        awk '/m$/ { s += substr($0, 1, length($0) - 1) / 1000; next } { s += $0 } END { printf "%d", s }')
if [ $((need * 250)) -gt $((cpus * 1000)) ]; then
        echo "bench-operator: $need sandboxes of 250m CPU each need $((need / 4)) CPUs, and the cluster's nodes" \
                "allocate $cpus; start the cluster with more KWOK nodes (MBOX_KWOK_NODES, 64 CPUs each)" >&2
        exit 1
fi

out=$root/build/bench
mkdir -p "$out"
drv=$out/bench-operator-go
(cd "$here/go" && GOFLAGS=-mod=mod go build -o "$drv" .)

suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
PRAW=bench-$suffix-raw
PMBOX=bench-$suffix
NSRAW=mbox-$PRAW
NSMBOX=mbox-$PMBOX
OPLOG=$out/bench-operator-$suffix.log
tmp=$(mktemp -d)
_cleanup_file=$tmp/cleanup
: >"$_cleanup_file"
sampler=
say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
mark() { printf '%s %s\n' "$1" "$(date +%s)" >>"$tmp/marks"; } # phase boundaries
others_in() { # max number of other mbox-operator processes seen between marks $1 and $2
        local a b
        a=$(awk -v m="$1" '$1 == m {print $2}' "$tmp/marks") b=$(awk -v m="$2" '$1 == m {print $2}' "$tmp/marks")
        awk -v a="$a" -v b="$b" '$1 >= a && $1 <= b && $2 > m {m = $2} END {print m + 0}' "$tmp/others"
}
load_in() { # mean 1-minute load average of the machine between marks $1 and $2
        local a b
        a=$(awk -v m="$1" '$1 == m {print $2}' "$tmp/marks") b=$(awk -v m="$2" '$1 == m {print $2}' "$tmp/marks")
        awk -v a="$a" -v b="$b" '$1 >= a && $1 <= b {s += $3; n++} END {if (n) printf "%.1f", s / n; else print "-"}' "$tmp/others"
}

cleanup() {
        local rc=$? p
        [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
        # the projects go first, while the operator still runs its finalizers
        if [ -n "${PORT:-}" ]; then
                say "deleting projects $PRAW and $PMBOX"
                kubectl delete projects.mbox.dev "$PRAW" "$PMBOX" --ignore-not-found --wait=false >/dev/null 2>&1 || true
                kubectl wait --for=delete projects.mbox.dev/"$PRAW" projects.mbox.dev/"$PMBOX" --timeout=300s >/dev/null 2>&1 || true
        fi
        for p in "$PRAW" "$PMBOX"; do
                if kubectl get projects.mbox.dev "$p" >/dev/null 2>&1 || kubectl get ns "mbox-$p" >/dev/null 2>&1; then
                        say "project $p did not go away with the operator; forcing it"
                        forget_project "$p"
                fi
        done
        _cleanup # stops the operator (by its PID) and removes its kubeconfig
        if [ -n "${OPPID:-}" ]; then # never return with it still running: it drains its workers first
                for _ in $(seq 1 120); do kill -0 "$OPPID" 2>/dev/null || break; sleep 0.25; done
                if kill -0 "$OPPID" 2>/dev/null; then
                        say "mbox-operator $OPPID did not stop within 30 s of SIGTERM; killing it"
                        kill -KILL "$OPPID" 2>/dev/null || true
                fi
        fi
        rm -rf "$tmp"
        bench_release
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- process figures: /proc/PID/stat utime+stime (ticks), /proc/PID/status VmRSS/VmHWM (kB) ----
tck=$(getconf CLK_TCK)
cpu_s() { awk -v t="$tck" '{sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$1/stat"; }
vm_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
other_operators() { # mbox-operator processes other than ours (other engineers' tests): they reconcile our objects too
        local p n=0
        for p in $(pgrep -x mbox-operator 2>/dev/null); do [ "$p" = "$OPPID" ] || n=$((n + 1)); done
        echo $n
}
other_sandboxes() { # mbox Sandboxes outside our namespaces: our operator reconciles those too
        kubectl get sandboxes.mbox.dev -A --no-headers 2>/dev/null | awk -v a="$NSRAW" -v b="$NSMBOX" '$1 != a && $1 != b' | wc -l
}
writes_by_series() { # "resource verb value" per series of mbox_operator_api_writes_total
        curl -fs "http://127.0.0.1:$PORT/metrics" |
                sed -nE 's/^mbox_operator_api_writes_total\{(.*)\} ([0-9.e+]+)$/\1 \2/p' |
                sed -E 's/resource="([^"]*)"/\1/; s/verb="([^"]*)"/\1/; s/,/ /'
}
writes_sum() { metric "$PORT" mbox_operator_api_writes_total; }
drive() { # drive PREFIX ARGS...: runs the driver, sets PREFIX<key> for each key=value it prints
        local prefix=$1
        shift
        "$drv" "$@" >"$tmp/drive.out" || { echo "bench-operator: the driver failed: $*" >&2; exit 1; }
        eval "$(sed -nE "s/^([a-z0-9_]+)=([0-9.]+)$/${prefix}\1=\2/p" "$tmp/drive.out")"
}

APISERVER_PID=$(cat "$MBOX_STATE_DIR/pids/kube-apiserver.pid" 2>/dev/null || true)
cpu_of() { if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then cpu_s "$1"; else echo 0; fi; }
settle() { # PREFIX: waits until kube-apiserver uses under 15% of a CPU over 5 s (at most 600 s); sets PREFIX_settle_s
        local t0 a b i
        t0=$(date +%s)
        for ((i = 0; i < 120; i++)); do
                [ -n "$APISERVER_PID" ] && kill -0 "$APISERVER_PID" 2>/dev/null || break
                a=$(cpu_s "$APISERVER_PID")
                sleep 5
                b=$(cpu_s "$APISERVER_PID")
                awk -v a="$a" -v b="$b" 'BEGIN {exit !(b - a < 0.75)}' && break
        done
        eval "${1}_settle_s=$(($(date +%s) - t0))"
}

# ---- the operator ----
install_operator_rbac
say "starting mbox-operator (log $OPLOG)"
# shellcheck disable=SC2086 # BENCH_OPERATOR_ARGS: extra mbox-operator flags, split on spaces
PORT=$(start_operator "$OPLOG" --resync=10m ${BENCH_OPERATOR_ARGS:-})
OPPID=$(awk '$1 == "pid" {p = $2} END {print p}' "$_cleanup_file")
kill -0 "$OPPID" || { echo "bench-operator: cannot find the operator's PID" >&2; exit 1; }
say "operator pid $OPPID, health port $PORT; agent-sandbox controller pid $ASPID"
as_cpu0=$(cpu_s "$ASPID") op_cpu0=$(cpu_s "$OPPID") as_hwm0=$(vm_kb "$ASPID" VmHWM)
others_max=$(other_operators)

# sampler: peak VmRSS of both processes over the run (the controller's VmHWM covers its whole life),
# the operator's peak Sandbox work-queue depth, and other operators seen
(
        as_max=0 op_max=0 q_max=0 oo_max=0
        while kill -0 "$OPPID" 2>/dev/null; do
                a=$(vm_kb "$ASPID" VmRSS 2>/dev/null || echo 0) o=$(vm_kb "$OPPID" VmRSS 2>/dev/null || echo 0)
                q=$(curl -fs "http://127.0.0.1:$PORT/metrics" 2>/dev/null |
                        awk '$1 ~ /^mbox_operator_workqueue_depth\{controller="sandbox"/ {print $NF}' || true)
                n=$(other_operators)
                [ "${a:-0}" -gt "$as_max" ] && as_max=$a
                [ "${o:-0}" -gt "$op_max" ] && op_max=$o
                [ "${q:-0}" -gt "$q_max" ] 2>/dev/null && q_max=$q
                [ "$n" -gt "$oo_max" ] && oo_max=$n
                printf '%s %s %s\n' "$(date +%s)" "$n" "$(cut -d' ' -f1 /proc/loadavg)" >>"$tmp/others"
                printf 'as_rss_max=%s\nop_rss_max=%s\nqueue_max=%s\nothers_max=%s\n' "$as_max" "$op_max" "$q_max" "$oo_max" >"$tmp/sample.new"
                mv "$tmp/sample.new" "$tmp/sample"
                sleep 0.5
        done
) &
sampler=$!

# ---- projects and templates: the same template in both namespaces ----
for p in "$PRAW" "$PMBOX"; do
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $p}
spec:
  displayName: bench-operator $p
YAML
done
for p in "$PRAW" "$PMBOX"; do
        wait_for "project $p Ready" 60 kubectl wait --for=condition=Ready "projects.mbox.dev/$p" --timeout=1s
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: box, namespace: mbox-$p}
spec:
  image: busybox:1.36
  command: ["sh", "-c", "tail -f /dev/null"]
  resourcePreset: Small
YAML
done
pool() { kubectl -n "$1" get sandboxwarmpools.extensions.agents.x-k8s.io -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
for ns in "$NSRAW" "$NSMBOX"; do wait_for "the warm pool in $ns" 60 test -n "$(pool "$ns")"; done
POOL=$(pool "$NSRAW")
say "projects ready; raw claims go through $NSRAW/$POOL (the operator's projection of template box)"

t_run0=$(date +%s.%N)
# ---- 1. the bursts, never at once: raw, mbox, mbox, raw ----
burst() { # SIDE TURN: one burst of N on SIDE (raw or mb), then its deletion; sets SIDE<TURN>_* and marks SIDE<TURN>
        local v=$1$2 settled ready what kind ns template
        if [ "$1" = raw ]; then
                what="raw SandboxClaims" kind=claims ns=$NSRAW template=$POOL
        else
                what="mbox Sandboxes" kind=sandboxes ns=$NSMBOX template=box
        fi
        settle "$v"
        settled=${v}_settle_s
        say "1. $N $what in a burst ($PAR in flight), turn $2 (the API server settled in ${!settled} s)"
        mark "$v"
        local api0 op0 as0
        api0=$(cpu_of "$APISERVER_PID") op0=$(cpu_of "$OPPID") as0=$(cpu_of "$ASPID")
        drive "${v}_" burst "$kind" "$ns" "$N" "$template" "$PAR"
        # CPU-seconds each process used from the first create to the last object ready
        eval "${v}_cpu_api=$(awk -v a="$api0" -v b="$(cpu_of "$APISERVER_PID")" 'BEGIN {printf "%.1f", b - a}')"
        eval "${v}_cpu_op=$(awk -v a="$op0" -v b="$(cpu_of "$OPPID")" 'BEGIN {printf "%.1f", b - a}')"
        eval "${v}_cpu_as=$(awk -v a="$as0" -v b="$(cpu_of "$ASPID")" 'BEGIN {printf "%.1f", b - a}')"
        ready=${v}_all_ready_s
        say "   all Running/Ready in ${!ready} s; deleting them"
        drive "${v}del_" clean "$ns" "$kind"
}
burst raw 1
burst mb 1
burst mb 2
burst raw 2
mark rt0

# ---- 3. create -> claim latency at a steady rate ----
settle rt
say "3. $RATE_N mbox Sandboxes at $RATE/s: Sandbox ADDED -> claim ADDED"
drive rt_ rate "$NSMBOX" "$RATE_N" "$RATE" box
say "   p50 ${rt_seen_p50_ms} ms, p99 ${rt_seen_p99_ms} ms; deleting them"
drive rtdel_ clean "$NSMBOX" sandboxes

# ---- 4. API writes per sandbox over a whole lifecycle ----
say "4. $K mbox Sandboxes: create -> Running -> Stopped -> Running -> deleted"
sleep 2 # let the previous deletions' last writes land
mark lc0
others_sb0=$(other_sandboxes)
writes_by_series >"$tmp/w0"
w0=$(writes_sum)
drive lc_ lifecycle "$NSMBOX" "$K" box "$PAR"
sleep 2
w1=$(writes_sum)
writes_by_series >"$tmp/w1"
others_sb1=$(other_sandboxes)
mark lc1
ev=$(kubectl -n "$NSMBOX" get events -o jsonpath='{range .items[?(@.involvedObject.kind=="Sandbox")]}{.involvedObject.name} {.count}{"\n"}{end}' 2>/dev/null |
        awk '$1 ~ /^l-/ {s += ($2 == "" ? 1 : $2)} END {print s + 0}')
t_run1=$(date +%s.%N)

curl -fs "http://127.0.0.1:$PORT/metrics" >"${OPLOG%.log}.metrics" || true
rec() { awk -v c="$1" -v r="$2" 'index($1, "mbox_operator_reconcile_total{controller=\"" c "\",result=\"" r "\"}") == 1 {s += $NF} END {printf "%d", s}' "${OPLOG%.log}.metrics"; }

# ---- 2. process figures over the run ----
as_cpu1=$(cpu_s "$ASPID") op_cpu1=$(cpu_s "$OPPID")
op_hwm=$(vm_kb "$OPPID" VmHWM) op_rss=$(vm_kb "$OPPID" VmRSS)
as_hwm=$(vm_kb "$ASPID" VmHWM) as_rss=$(vm_kb "$ASPID" VmRSS)
as_age=$(awk -v t="$tck" -v up="$(cut -d' ' -f1 /proc/uptime)" '{sub(/.*\) /, ""); printf "%d", up - $20 / t}' "/proc/$ASPID/stat")
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=
# shellcheck disable=SC1091
. "$tmp/sample"
op_cpu=$(awk -v a="$op_cpu0" -v b="$op_cpu1" 'BEGIN {printf "%.2f", b - a}')
as_cpu=$(awk -v a="$as_cpu0" -v b="$as_cpu1" 'BEGIN {printf "%.2f", b - a}')
run_s=$(awk -v a="$t_run0" -v b="$t_run1" 'BEGIN {printf "%.0f", b - a}')

# ---- the operator's log: what it says about slowness ----
log_warn=$(grep -c 'level=warn' "$OPLOG" || true)
log_err=$(grep -c 'level=error' "$OPLOG" || true)
log_403=$(grep -c "level=warn.*': 403 " "$OPLOG" || true)
log_404=$(grep -c "level=warn.*': 404 " "$OPLOG" || true)
log_throttle=$(grep -ci "throttl\|': 429 \|too many requests" "$OPLOG" || true)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
wps=$(awk -v a="$w0" -v b="$w1" -v k="$K" 'BEGIN {printf "%.1f", (b - a) / k}')

printf '\n'
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "figure" "mbox" "agent-sandbox alone / ref." "ratio" "target"
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "$(printf '%.0s-' {1..60})" "----------------------" "------------------------------" "------" "------"
mean() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (a + b) / 2}'; }
turns() { printf '%s (%s, %s)' "$(mean "$1" "$2")" "$1" "$2"; } # the mean, then each turn
mb_all=$(mean "$mb1_all_ready_s" "$mb2_all_ready_s") raw_all=$(mean "$raw1_all_ready_s" "$raw2_all_ready_s")
mb_p50=$(mean "$mb1_p50_ready_s" "$mb2_p50_ready_s") raw_p50=$(mean "$raw1_p50_ready_s" "$raw2_p50_ready_s")
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "burst of $N ($PAR in flight) to all Running / all Ready, s" \
        "$(turns "$mb1_all_ready_s" "$mb2_all_ready_s")" "$(turns "$raw1_all_ready_s" "$raw2_all_ready_s")" \
        "$(ratio "$mb_all" "$raw_all")" "<= 1.15"
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  in the order raw, mbox, mbox, raw: mean (turn 1, turn 2)" "" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  same bursts: p50 of each object's time to Running/Ready, s" \
        "$(turns "$mb1_p50_ready_s" "$mb2_p50_ready_s")" "$(turns "$raw1_p50_ready_s" "$raw2_p50_ready_s")" \
        "$(ratio "$mb_p50" "$raw_p50")" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  same bursts: kube-apiserver CPU-seconds" \
        "$(turns "$mb1_cpu_api" "$mb2_cpu_api")" "$(turns "$raw1_cpu_api" "$raw2_cpu_api")" \
        "$(ratio "$(mean "$mb1_cpu_api" "$mb2_cpu_api")" "$(mean "$raw1_cpu_api" "$raw2_cpu_api")")" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  same bursts: agent-sandbox controller CPU-seconds" \
        "$(turns "$mb1_cpu_as" "$mb2_cpu_as")" "$(turns "$raw1_cpu_as" "$raw2_cpu_as")" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  same bursts: mbox-operator CPU-seconds" \
        "$(turns "$mb1_cpu_op" "$mb2_cpu_op")" "$(turns "$raw1_cpu_op" "$raw2_cpu_op")" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  before each: waited for the API server to settle, s" \
        "$mb1_settle_s, $mb2_settle_s" "$raw1_settle_s, $raw2_settle_s" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  same bursts: all creates answered, s" \
        "$mb1_created_s, $mb2_created_s" "$raw1_created_s, $raw2_created_s" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  deleting each batch until pods and PVCs are gone, s" \
        "$mb1del_deleted_s, $mb2del_deleted_s" "$raw1del_deleted_s, $raw2del_deleted_s" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "peak RSS over the run, MiB (sampled VmRSS every 0.5 s)" \
        "$(mib "$op_rss_max")" "$(mib "$as_rss_max")" "$(ratio "$op_rss_max" "$as_rss_max")" "<= 0.33"
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "VmHWM, MiB (operator: this run; controller: its ${as_age} s life)" \
        "$(mib "$op_hwm")" "$(mib "$as_hwm") (was $(mib "$as_hwm0") at start)" "$(ratio "$op_hwm" "$as_hwm")" "<= 0.33"
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "VmRSS at the end, MiB" "$(mib "$op_rss")" "$(mib "$as_rss")" "$(ratio "$op_rss" "$as_rss")" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "CPU seconds over the run (${run_s} s; controller: delta)" \
        "$op_cpu" "$as_cpu" "$(ratio "$op_cpu" "$as_cpu")" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "Sandbox created -> claim created, p50, ms ($RATE_N at $RATE/s)" "$rt_seen_p50_ms" "-" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "Sandbox created -> claim created, p99, ms (max $rt_seen_max_ms)" "$rt_seen_p99_ms" "-" "" "<= 100"
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  each as one watch sees it; from the create sent: p50 / p99" "$rt_p50_ms / $rt_p99_ms" "-" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  the create request itself (sent -> answered), p50 / p99, ms" "$rt_create_p50_ms / $rt_create_p99_ms" "-" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  achieved create rate, /s (worst slot lateness ${rt_sched_late_max_ms} ms)" "$rt_rate" "-" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "API writes per sandbox, create->run->stop->start->delete" "$wps" "-" "" ""
while read -r res verb v; do
        v0=$(awk -v r="$res" -v b="$verb" '$1 == r && $2 == b {print $3}' "$tmp/w0")
        d=$(awk -v a="${v0:-0}" -v b="$v" -v k="$K" 'BEGIN {if (b - a > 0) printf "%d (%.2f/sandbox)", b - a, (b - a) / k}')
        [ -n "$d" ] && printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  $res $verb" "$d" "" "" ""
done <"$tmp/w1"
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  cross-check from a watch: Sandbox changes not by the driver" \
        "$lc_sb_mods_by_others ($(awk -v a="$lc_sb_mods_by_others" -v k="$K" 'BEGIN {printf "%.2f", a / k}')/sandbox)" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  cross-check from a watch: SandboxClaim changes (any writer)" \
        "$lc_claim_adds add, $lc_claim_mods mod, $lc_claim_dels del" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  Events about these sandboxes (not in the counter)" "$ev" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  lifecycle steps: Running/Stopped/Running/gone, s" \
        "$lc_running_s/$lc_stopped_s/$lc_restarted_s/$lc_deleted_s" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "peak Sandbox work-queue depth (sampled)" "$queue_max" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "Sandbox reconciles: success / requeue / error (incl. conflicts)" \
        "$(rec sandbox success) / $(rec sandbox requeue) / $(rec sandbox error)" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "  Sandbox reconciles per sandbox this run created" \
        "$(awk -v r="$(($(rec sandbox success) + $(rec sandbox requeue) + $(rec sandbox error)))" -v n="$((2 * N + RATE_N + K))" 'BEGIN {printf "%.0f", r / n}')" "" "" ""
qwait() { # the Sandbox queue's wait histogram: mean, and keys that waited longer than 1 s and 10 s
        awk 'index($1, "mbox_operator_workqueue_latency_seconds_") == 1 && $1 ~ /controller="sandbox"/ {
                if ($1 ~ /_sum/) s = $NF; else if ($1 ~ /_count/) c = $NF
                else if ($1 ~ /le="1"/) b1 = $NF; else if ($1 ~ /le="10"/) b10 = $NF
        } END {if (c) printf "%.2f s / %d / %d", s / c, c - b1, c - b10; else print "-"}' "${OPLOG%.log}.metrics"
}
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "Sandbox queue wait: mean / keys > 1 s / keys > 10 s" "$(qwait)" "" "" ""
printf '%-60s | %-22s | %-30s | %-6s | %s\n' "operator log: warn / error / 403 / 404 / throttling lines" \
        "$log_warn / $log_err / $log_403 / $log_404 / $log_throttle" "" "" ""
printf '\nShared cluster: other mbox-operator processes (tests by other engineers; they reconcile these objects too)\n'
printf 'seen at most: bursts %s, rate run %s, lifecycle %s; mbox Sandboxes outside\n' \
        "$(others_in raw1 rt0)" "$(others_in rt0 lc0)" "$(others_in lc0 lc1)"
printf 'this run at the lifecycle step: %s before, %s after. Mean load average (%s cores) over each burst\n' \
        "$others_sb0" "$others_sb1" "$(nproc)"
printf 'and its deletion: raw %s, mbox %s, mbox %s, raw %s;\n' \
        "$(load_in raw1 mb1)" "$(load_in mb1 mb2)" "$(load_in mb2 raw2)" "$(load_in raw2 rt0)"
printf 'rate run %s, lifecycle %s. Other operators and load disturb every figure. Operator log: %s,\nits /metrics at the end: %s\n' \
        "$(load_in rt0 lc0)" "$(load_in lc0 lc1)" "$OPLOG" "${OPLOG%.log}.metrics"
