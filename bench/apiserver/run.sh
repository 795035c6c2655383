#!/usr/bin/env bash
# `make bench-apiserver`: mbox-apiserver's history on the running local cluster, in one run, printed as one
# table (method and recorded figures: docs/apiserver-bench.md):
#   1. ingest: BENCH_ROWS states stored the way the mirror stores them (bench-ingest.c) beside one plain
#      COPY of the same rows into the same table, and the same states replayed (all there already);
#   2. query: one object's history (100 states) with BENCH_HISTORY_ROWS rows stored, BENCH_QUERIES times
#      through kube-apiserver (HTTPS, one connection, as `kubectl get --raw` sends it) beside the same SQL
#      run by pgbench; the same straight to mbox-apiserver; and `kubectl get --raw` itself, a process per
#      query;
#   3. end to end: BENCH_BURST changes written to kube-apiserver (4 connections) until the mirror has stored
#      every one; mbox-apiserver's RSS at idle and its peak meanwhile;
#   4. limits: BENCH_FOLLOWERS clients following one task output's log, connecting in waves of 200
#      (mbox-apiserver's RSS, its connections and its database connections meanwhile), then BENCH_FLOOD clients of one user sending
#      lists back to back for 10 s beside one client of another user (load.py, straight to mbox-apiserver
#      as the front proxy): how many the flood got answered 429, and what the other user saw.
# Everything goes to a scratch database, mbox_bench, dropped at the end; the apiserver runs as its
# ServiceAccount. Knobs: BENCH_ROWS (50000), BENCH_HISTORY_ROWS (1000000), BENCH_QUERIES (200),
# BENCH_BURST (2000), BENCH_FOLLOWERS (1000), BENCH_FLOOD (200).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

ROWS=${BENCH_ROWS:-50000}
HISTORY=${BENCH_HISTORY_ROWS:-1000000}
QUERIES=${BENCH_QUERIES:-200}
BURST=${BENCH_BURST:-2000}
FOLLOWERS=${BENCH_FOLLOWERS:-1000}
FLOOD=${BENCH_FLOOD:-200}

# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-apiserver build/libmbox.a build/mbox-apiserver
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
out=$root/build/bench
mkdir -p "$out"
pkgs="json-c yaml-0.1 libcurl openssl libpq libmicrohttpd gnutls libzstd"
# shellcheck disable=SC2046,SC2086
cc -std=gnu17 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wno-missing-field-initializers \
        -Wno-format-truncation -Werror -I"$root/pkg" $(pkg-config --cflags $pkgs) \
        -o "$out/bench-ingest" "$here/bench-ingest.c" "$root/build/libmbox.a" $(pkg-config --libs $pkgs) \
        -lwslay -lpthread -lm

DB=mbox_bench
URL="postgresql://postgres@127.0.0.1:$PG_PORT/$DB"
psql_() { "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$DB" -v ON_ERROR_STOP=1 "$@"; }
tmp=$(mktemp -d)
_cleanup_file=$tmp/cleanup
: >"$_cleanup_file"
sampler=
say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
        local rc=$?
        [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
        _cleanup
        if [ -n "${APIPID:-}" ]; then
                for _ in $(seq 1 40); do kill -0 "$APIPID" 2>/dev/null || break; sleep 0.25; done
        fi
        "$PG_BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists "$DB" 2>/dev/null
        rm -rf "$tmp"
        bench_release
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pctl() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int(p * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", a[i]}'; }
vm_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
fmt() { printf "%'.0f" "$1"; }

"$PG_BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists "$DB" 2>/dev/null
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$DB"

# 1. ingest
say "ingest: $ROWS states, the mirror's way and with COPY"
"$out/bench-ingest" "$URL" "$ROWS" >"$tmp/ingest"
eval "$(grep -E '^[a-z_]+=[0-9.]+$' "$tmp/ingest")"
mirror_rate=$(awk -v n="$ROWS" -v s="$mirror_s" 'BEGIN {printf "%.0f", n / s}')
replay_rate=$(awk -v n="$ROWS" -v s="$replayed_s" 'BEGIN {printf "%.0f", n / s}')
copy_rate=$(awk -v n="$ROWS" -v s="$copy_s" 'BEGIN {printf "%.0f", n / s}')

# 2. query: HISTORY rows of 10,000 objects (100 namespaces x 100 names, 100 states each). They are of an
# apiVersion no watch serves (bench.mbox.dev): the mirror of the apiserver started below relists the real
# mbox.dev Sandboxes and would record every stored one it does not list as DELETED
say "storing $HISTORY history rows"
per=$((HISTORY / 10000))
psql_ -c "INSERT INTO object_history (api_version, kind, namespace, name, uid, resource_version, event, phase,
                changed_at, object)
        SELECT 'bench.mbox.dev/v1alpha1', 'Sandbox', 'bench-' || (o % 100), 'sandbox-' || (o / 100),
                md5(o::text)::uuid, (o * 1000 + s)::text, CASE WHEN s = 0 THEN 'ADDED' ELSE 'MODIFIED' END,
                CASE WHEN s % 3 = 0 THEN 'Starting' ELSE 'Running' END,
                timestamptz '2026-11-01T00:00:00Z' + (s || ' minutes')::interval,
                jsonb_build_object('apiVersion', 'bench.mbox.dev/v1alpha1', 'kind', 'Sandbox', 'metadata',
                        jsonb_build_object('name', 'sandbox-' || (o / 100), 'namespace', 'bench-' || (o % 100),
                                'uid', md5(o::text)::uuid, 'resourceVersion', (o * 1000 + s)::text,
                                'labels', jsonb_build_object('mbox.dev/project', 'bench')),
                        'spec', jsonb_build_object('templateRef', jsonb_build_object('name', 'nodejs-workspace'),
                                'ports', jsonb_build_array(jsonb_build_object('name', 'web', 'port', 3000))),
                        'status', jsonb_build_object('phase', 'Running', 'observedGeneration', s,
                                'conditions', jsonb_build_array(jsonb_build_object('type', 'Ready',
                                        'status', 'True', 'reason', 'PodReady',
                                        'lastTransitionTime', '2026-11-01T00:00:00Z'))))
        FROM generate_series(0, 9999) o, generate_series(0, $per - 1) s" >/dev/null
psql_ -c "VACUUM ANALYZE object_history" -c "CHECKPOINT" >/dev/null # not measured: the load's own aftermath
stored=$(psql_ -tAc "SELECT count(*) FROM object_history")

install_operator_rbac
say "starting mbox-apiserver on $DB"
# room for the followers of part 4 (one user); the limits of short requests stay the defaults
[ "$(ulimit -n)" -ge $((FOLLOWERS + FLOOD + 1024)) ] || ulimit -n $((FOLLOWERS + FLOOD + 1024))
start_apiserver "$URL" --max-long-running=$((FOLLOWERS + 10)) --max-long-running-per-user=$((FOLLOWERS + 10))
sleep 3
rss_idle=$(vm_kb "$APIPID" VmRSS)

path="/apis/runtime.mbox.dev/v1alpha1/namespaces/bench-7/objecthistories?fieldSelector=object.name%3Dsandbox-7"
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
got=$(kubectl get --raw "$path" | jq '.items | length')
[ "$got" = "$per" ] || { echo "bench-apiserver: the object's history has $got states, expected $per" >&2; exit 1; }
say "query: $QUERIES times through kube-apiserver, with pgbench, with kubectl"
for ((i = 0; i < QUERIES + 10; i++)); do
        [ "$i" -eq 0 ] || echo next
        printf 'url = "%s%s"\ncacert = "%s"\ncert = "%s"\nkey = "%s"\noutput = "/dev/null"\nwrite-out = "%%{time_total}\\n"\nsilent\n' \
                "$server" "$path" "$PKI/ca.crt" "$PKI/admin.crt" "$PKI/admin.key"
done | curl -K - | tail -n "$QUERIES" | awk '{print $1 * 1000}' >"$tmp/http"
# the same, straight to mbox-apiserver with the front proxy's certificate: its own share
for ((i = 0; i < QUERIES + 10; i++)); do
        [ "$i" -eq 0 ] || echo next
        printf 'url = "https://127.0.0.1:%s%s"\ncacert = "%s"\ncert = "%s"\nkey = "%s"\noutput = "/dev/null"\nwrite-out = "%%{time_total}\\n"\nsilent\n' \
                "$APIPORT" "$path" "$PKI/ca.crt" "$PKI/front-proxy-client.crt" "$PKI/front-proxy-client.key"
        printf 'header = "X-Remote-User: admin"\nheader = "X-Remote-Group: system:masters"\n'
done | curl -K - | tail -n "$QUERIES" | awk '{print $1 * 1000}' >"$tmp/direct"
direct_p50=$(pctl 0.50 <"$tmp/direct")
direct_p99=$(pctl 0.99 <"$tmp/direct")
api_p50=$(pctl 0.50 <"$tmp/http")
api_p99=$(pctl 0.99 <"$tmp/http")
# the statement the apiserver runs for that list
cat >"$tmp/q.sql" <<'SQL'
SELECT id, api_version, kind, namespace, name, uid, resource_version, event, phase, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), object::text FROM object_history WHERE true AND name = 'sandbox-7' AND namespace = 'bench-7' ORDER BY id LIMIT 5001;
SQL
(cd "$tmp" && "$PG_BIN/pgbench" -n -h 127.0.0.1 -p "$PG_PORT" -U postgres -f q.sql -t "$QUERIES" -l --log-prefix=pgb "$DB" >/dev/null 2>&1)
cat "$tmp"/pgb.* | awk '{print $3 / 1000}' >"$tmp/sql"
sql_p50=$(pctl 0.50 <"$tmp/sql")
sql_p99=$(pctl 0.99 <"$tmp/sql")
for ((i = 0; i < 20; i++)); do
        s=$(date +%s%N)
        kubectl get --raw "$path" >/dev/null
        echo $((($(date +%s%N) - s) / 1000)) | awk '{print $1 / 1000}'
done >"$tmp/kubectl"
kubectl_p50=$(pctl 0.50 <"$tmp/kubectl")

# 3. end to end: templates in a scratch namespace, changed BURST times over 4 connections
ns=$(new_namespace bench-hist)
for i in 0 1 2 3 4 5 6 7; do template "$ns" "t$i"; done
count_ns() { psql_ -tAc "SELECT count(*) FROM object_history WHERE namespace = '$ns'"; }
templates_stored() { [ "$(count_ns)" -ge 8 ]; }
wait_for "the templates stored" 30 templates_stored
base=$(count_ns)
stream() { # stream N OFFSET: N merge patches over one connection
        local i
        for ((i = 0; i < $1; i++)); do
                [ "$i" -eq 0 ] || echo next
                printf 'url = "%s/apis/mbox.dev/v1alpha1/namespaces/%s/environmenttemplates/t%d"\nrequest = "PATCH"\n' \
                        "$server" "$ns" $(((i + $2) % 8))
                printf 'header = "Content-Type: application/merge-patch+json"\ndata = "{\\"metadata\\":{\\"annotations\\":{\\"n\\":\\"%d\\"}}}"\n' "$i"
                printf 'cacert = "%s"\ncert = "%s"\nkey = "%s"\noutput = "/dev/null"\nsilent\n' "$PKI/ca.crt" "$PKI/admin.crt" "$PKI/admin.key"
        done | curl -K -
}
(while :; do vm_kb "$APIPID" VmRSS; sleep 0.1; done) >"$tmp/rss" 2>/dev/null &
sampler=$!
say "end to end: $BURST changes"
t0=$(date +%s%N)
streams=()
for j in 0 1 2 3; do
        stream $((BURST / 4)) "$j" &
        streams+=($!)
done
wait "${streams[@]}"
t1=$(date +%s%N)
want=$((base + BURST / 4 * 4))
while [ "$(count_ns)" -lt "$want" ]; do
        [ $(($(date +%s%N) - t1)) -lt 120000000000 ] || { echo "bench-apiserver: the mirror did not store every change" >&2; exit 1; }
        sleep 0.05
done
t2=$(date +%s%N)
kill "$sampler" 2>/dev/null
sampler=
rss_peak=$(sort -n "$tmp/rss" | tail -n 1)
writes_rate=$(awk -v n="$((BURST / 4 * 4))" -v ns="$((t1 - t0))" 'BEGIN {printf "%.0f", n / (ns / 1e9)}')
e2e_rate=$(awk -v n="$((BURST / 4 * 4))" -v ns="$((t2 - t0))" 'BEGIN {printf "%.0f", n / (ns / 1e9)}')
lag_ms=$(awk -v ns="$((t2 - t1))" 'BEGIN {printf "%.0f", ns / 1e6}')

# 4. limits
say "limits: $FOLLOWERS followers of one log, then a flood of $FLOOD clients"
uid=$(cat /proc/sys/kernel/random/uuid)
psql_ -c "INSERT INTO task_outputs (task_uid, namespace, task_name, created_rv) VALUES ('$uid', 'bench-limits', 'slow', nextval('task_output_versions'));
        INSERT INTO task_output_chunks (task_uid, stream, seq, data) VALUES ('$uid', 1, 0, convert_to('first line' || chr(10), 'UTF8'))" >/dev/null
load() { python3 "$here/load.py" "$1" 127.0.0.1 "$APIPORT" "$PKI/front-proxy-client.crt" "$PKI/front-proxy-client.key" "$2" "$3" "$4"; }
rss_before=$(vm_kb "$APIPID" VmRSS)
load follow "/apis/runtime.mbox.dev/v1alpha1/namespaces/bench-limits/taskoutputs/slow/log?follow=true" "$FOLLOWERS" 10 >"$tmp/follow" &
follow_pid=$!
wait_for "the followers" 180 grep -q '^following' "$tmp/follow"
following=$(sed -n 's/^following \([0-9]*\).*/\1/p' "$tmp/follow")
follow_resets=$(sed -n 's/^following .* resets \([0-9]*\)/\1/p' "$tmp/follow")
rss_follow=0 db_peak=0 tcp_peak=0
while kill -0 "$follow_pid" 2>/dev/null && ! grep -q '^done' "$tmp/follow"; do
        v=$(vm_kb "$APIPID" VmRSS); [ "$v" -gt "$rss_follow" ] && rss_follow=$v
        v=$(psql_ -tAc "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()")
        [ "$v" -gt "$db_peak" ] && db_peak=$v
        v=$(ss -Htn state established "( sport = :$APIPORT )" | wc -l); [ "$v" -gt "$tcp_peak" ] && tcp_peak=$v
        sleep 0.5
done
wait "$follow_pid" || true
load flood "/apis/runtime.mbox.dev/v1alpha1/namespaces/bench-limits/taskoutputs" "$FLOOD" 10 >"$tmp/flood"
eval "$(tr ' ' '\n' <"$tmp/flood" | grep -E '^[a-z0-9_]+=[0-9.]+$')"
share_429=$(awk -v a="$flood_429" -v t="$flood_total" 'BEGIN {printf "%.0f%%", t ? 100 * a / t : 0}')
calm_ok=$(awk -v a="$calm_200" -v t="$calm_total" 'BEGIN {printf "%.0f%%", t ? 100 * a / t : 0}')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
echo
printf '%-44s %-22s %-26s %-8s %s\n' "figure" "mbox-apiserver" "reference" "ratio" "target"
printf '%-44s %-22s %-26s %-8s %s\n' "history ingest, $(fmt "$ROWS") states (rows/s)" "$(fmt "$mirror_rate")" \
        "plain COPY $(fmt "$copy_rate")" "$(ratio "$mirror_rate" "$copy_rate")" ">= 0.5x of COPY"
printf '%-44s %-22s %-26s %-8s %s\n' "  the same states replayed (rows/s)" "$(fmt "$replay_rate")" "-" "-" "each stored once"
printf '%-44s %-22s %-26s %-8s %s\n' "one object's history, $(fmt "$stored") rows" "p50 $api_p50 / p99 $api_p99 ms" \
        "psql (pgbench) $sql_p50 / $sql_p99 ms" "-" "p99 <= 20 ms"
printf '%-44s %-22s %-26s %-8s %s\n' "  straight to mbox-apiserver (front proxy)" "p50 $direct_p50 / p99 $direct_p99 ms" "-" "-" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "  kubectl get --raw, a process per query" "p50 $kubectl_p50 ms" "-" "-" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "end to end, $((BURST / 4 * 4)) changes (changes/s)" "$(fmt "$e2e_rate")" \
        "kube-apiserver writes $(fmt "$writes_rate")" "$(ratio "$e2e_rate" "$writes_rate")" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "  last change stored after the last write" "$lag_ms ms" "-" "-" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "mbox-apiserver RSS, idle / under ingest" "$(mib "$rss_idle") / $(mib "$rss_peak")" \
        "-" "-" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "$following of $FOLLOWERS log followers: RSS" "$(mib "$rss_follow")" "before $(mib "$rss_before")" "-" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "  their connections / database connections" "$tcp_peak / $db_peak" "pool limit 32" "-" "O(1) database"
printf '%-44s %-22s %-26s %-8s %s\n' "flood, $FLOOD clients of one user (req/s)" "$flood_rate, $share_429 429" "limit 16 per user" "-" "-"
printf '%-44s %-22s %-26s %-8s %s\n' "  another user meanwhile: answered 200" "$calm_ok of $calm_total" "p50 $calm_p50 / p99 $calm_p99 ms" "-" "all served"
printf '%-44s %-22s %-26s %-8s %s\n' "  connections opened again (closed unsent)" "follow $follow_resets, flood $resets" "-" "-" "-"
