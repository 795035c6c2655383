#!/usr/bin/env bash
# `make bench-previews`: one HTTP/1.1 server, reached three ways in one run by the same client, printed as
# one table (method and recorded figures: docs/previews-bench.md):
#   direct        the server itself on loopback: the floor;
#   port-forward  `kubectl port-forward` of the sandbox pod's port;
#   gateway       mbox-apiserver's preview gateway (docs/previews.md), Host = the preview URL's host, with
#                 --preview-transport=port-forward by default (the KWOK pods have no network).
# Each is driven with keep-alive by one connection (latency) and by BENCH_CONNS connections (requests/s),
# then with a new connection per request; BENCH_SECONDS each. The pod's port is served the way KWOK serves
# one: its .kwok-port-8080 runs once per forwarded connection and joins it to the server (the client's
# `pipe` mode). The operator and mbox-apiserver run as their ServiceAccounts; one Project, deleted at the end.
# Knobs: BENCH_CONNS (8), BENCH_SECONDS (5), BENCH_TRANSPORT (port-forward: the gateway's
# --preview-transport; pod-ip or auto once the pods run on real nodes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

CONNS=${BENCH_CONNS:-8}
SECONDS_EACH=${BENCH_SECONDS:-5}
TRANSPORT=${BENCH_TRANSPORT:-port-forward}

# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-previews build/mbox-operator build/mbox-apiserver

# the client (and the server, and the pod's pipe), built into the cache keyed by a hash of its sources, as
# bench/sessions/run.sh does: editing them makes the next run build a new one
src=$here/go
drv=$MBOX_CACHE_DIR/bench-previews-$( (cd "$src" && cat go.mod main.go) | sha256sum | cut -c1-16)/bench-previews
if [ ! -x "$drv" ]; then
        echo "bench-previews: building the client" >&2
        mkdir -p "${drv%/*}.tmp"
        (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "${drv%/*}.tmp/bench-previews" .)
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
say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
        local rc=$?
        set +e
        [ -n "${APILOG:-}" ] && cp "$APILOG" "$out/bench-previews-$suffix.log" 2>/dev/null
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

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# cpu_ticks PID: the user and system CPU time of a process so far, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# per_request T0 T1 N: the CPU ticks between T0 and T1 per request of N, in µs
per_request() { awk -v d="$(($2 - $1))" -v n="$3" -v t="$TICK_US" 'BEGIN {printf "%.0f", d * t / n}'; }

# the server first: the pod's port joins it
"$drv" serve 127.0.0.1:0 >"$tmp/serve.out" 2>&1 &
printf 'pid %s\n' "$!" >>"$_cleanup_file"
wait_for "the server to listen" 10 grep -q '^addr=' "$tmp/serve.out"
SERVER=$(sed -n 's/^addr=//p' "$tmp/serve.out")

install_operator_rbac
PP=$(free_port)
say "starting mbox-operator"
PORT=$(start_operator "$tmp/operator.log" --resync=10m --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox" \
        --preview-domain="preview.localhost:$PP")
say "starting mbox-apiserver with the preview gateway on 127.0.0.1:$PP"
start_apiserver "postgresql://postgres@127.0.0.1:$PG_PORT/mbox" --preview-listen="127.0.0.1:$PP" \
        --preview-domain="preview.localhost:$PP" --preview-transport="$TRANSPORT"
KAPID=$(cat "$MBOX_STATE_DIR/pids/kube-apiserver.pid")
KWOKPID=$(cat "$MBOX_STATE_DIR/pids/kwok.pid" 2>/dev/null || true)
printf 'project %s\n' "$P" >>"$_cleanup_file"
kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $P}
spec: {displayName: bench-previews, policy: {allowPublicPreviews: true}}
YAML
kubectl wait --for=condition=Ready "projects.mbox.dev/$P" --timeout=60s >/dev/null
template "$NS" box "  ports: [{name: web, port: 8080}]"
sandbox "$NS" s0 "  ports: [{name: web, port: 8080, visibility: Public}]"
say "waiting for the sandbox"
kubectl -n "$NS" wait --for=condition=Ready sandboxes.mbox.dev/s0 --timeout=300s >/dev/null
wait_for "sandbox s0 Running" 60 phase_is "$NS" s0 Running
POD=$(kubectl -n "$NS" get sandboxes.mbox.dev s0 -o jsonpath='{.status.podName}')
URL=$(kubectl -n "$NS" get sandboxes.mbox.dev s0 -o json | jq -r '.status.previewURLs[] | select(.name == "web") | .url')
HOST=${URL#http://}
HOST=${HOST%/}

# the pod's port 8080: one pipe to the server per forwarded connection
kubectl -n "$NS" exec "$POD" -c sandbox -- sh -c \
        "printf '#!/bin/sh\nexec %s pipe %s\n' '$drv' '$SERVER' >.kwok-port-8080 && chmod +x .kwok-port-8080"
kubectl -n "$NS" port-forward --address=127.0.0.1 "pod/$POD" :8080 >"$tmp/pf.out" 2>&1 &
PFPID=$!
printf 'pid %s\n' "$PFPID" >>"$_cleanup_file"
wait_for "kubectl port-forward to listen" 20 grep -q 'Forwarding from 127.0.0.1:' "$tmp/pf.out"
PF=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$tmp/pf.out" | head -n 1)

for t in "http://$SERVER/" "http://127.0.0.1:$PF/" "$URL"; do
        wait_for "$t to answer" 30 curl -fsS --max-time 5 "$t"
done

# run NAME TARGET ARGS...: the client against TARGET (direct, pf, gw); sets NAME_<key> for each key=value it
# prints, and NAME_api/_kapi/_kwok/_kubectl, the CPU (µs per request) of each process on the way
run() {
        local name=$1 target=$2 url host= a0 k0 w0=0 c0 a1 k1 w1=0 c1 n
        shift 2
        case $target in
        direct) url=http://$SERVER/ ;;
        pf) url=http://127.0.0.1:$PF/ ;;
        gw) url=http://127.0.0.1:$PP/ host=$HOST ;;
        esac
        a0=$(cpu_ticks "$APIPID") k0=$(cpu_ticks "$KAPID") c0=$(cpu_ticks "$PFPID")
        [ -z "$KWOKPID" ] || w0=$(cpu_ticks "$KWOKPID")
        "$drv" load -d "${SECONDS_EACH}s" ${host:+-host "$host"} "$@" "$url" >"$tmp/load.out" ||
                { echo "bench-previews: the client failed on $target: $*" >&2; exit 1; }
        a1=$(cpu_ticks "$APIPID") k1=$(cpu_ticks "$KAPID") c1=$(cpu_ticks "$PFPID")
        [ -z "$KWOKPID" ] || w1=$(cpu_ticks "$KWOKPID")
        eval "$(sed -nE "s/^([a-z0-9_]+)=([0-9.]+)$/${name}_\1=\2/p" "$tmp/load.out")"
        n=$(sed -n 's/^requests=//p' "$tmp/load.out")
        printf -v "${name}_api" '%s' "$(per_request "$a0" "$a1" "$n")"
        printf -v "${name}_kapi" '%s' "$(per_request "$k0" "$k1" "$n")"
        printf -v "${name}_kwok" '%s' "$(per_request "$w0" "$w1" "$n")"
        printf -v "${name}_kubectl" '%s' "$(per_request "$c0" "$c1" "$n")"
        say "  $target $*: $(tr '\n' ' ' <"$tmp/load.out")"
}

say "keep-alive, 1 connection, ${SECONDS_EACH}s each: direct, kubectl port-forward, gateway"
run d1 direct -c 1
run p1 pf -c 1
run g1 gw -c 1
say "keep-alive, $CONNS connections"
run dc direct -c "$CONNS"
run pc pf -c "$CONNS"
run gc gw -c "$CONNS"
say "a new connection per request, 1 at a time"
run dn direct -c 1 -new-conn
run pn pf -c 1 -new-conn
run gn gw -c 1 -new-conn

add() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.3f", a - b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
row() { # row LABEL NAME FLOOR-NAME
        local r=$2 f=$3 rps p50 p99 fp50 fp99 api kapi kwok kubectl errs
        rps=${r}_rps p50=${r}_p50_ms p99=${r}_p99_ms fp50=${f}_p50_ms fp99=${f}_p99_ms errs=${r}_errors
        api=${r}_api kapi=${r}_kapi kwok=${r}_kwok kubectl=${r}_kubectl
        printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s / %s |\n' "$1" "${!rps}" "${!p50}" "${!p99}" \
                "$(add "${!p50}" "${!fp50}")" "$(add "${!p99}" "${!fp99}")" "${!errs}" \
                "${!api}" "${!kapi}" "${!kwok}" "${!kubectl}"
}
met() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {ok = op == ">=" ? a >= b : a <= b; print ok ? "met" : "not met"}'; }

printf '\nbench-previews: one sandbox, gateway transport %s, %ss per line, %s\n\n' \
        "$TRANSPORT" "$SECONDS_EACH" "$(date -u +%FT%TZ)"
printf '| target | requests/s | p50 (ms) | p99 (ms) | added p50 (ms) | added p99 (ms) | errors | CPU µs per request: mbox-apiserver / kube-apiserver / kwok / kubectl |\n'
printf '|---|---|---|---|---|---|---|---|\n'
row "direct (floor), keep-alive, 1 conn" d1 d1
row "kubectl port-forward, keep-alive, 1 conn" p1 d1
row "gateway, keep-alive, 1 conn" g1 d1
row "direct (floor), keep-alive, $CONNS conns" dc dc
row "kubectl port-forward, keep-alive, $CONNS conns" pc dc
row "gateway, keep-alive, $CONNS conns" gc dc
row "direct (floor), new conn per request" dn dn
row "kubectl port-forward, new conn per request" pn dn
row "gateway, new conn per request" gn dn
printf '\n| target | figure | goal | |\n|---|---|---|---|\n'
r=$(ratio "$gc_rps" "$pc_rps")
printf '| gateway requests/s ÷ port-forward'"'"'s, keep-alive, %s conns | %s | ≥ 2 | %s |\n' "$CONNS" "$r" "$(met "$r" ">=" 2)"
r=$(add "$g1_p50_ms" "$d1_p50_ms")
printf '| gateway added p50 over the floor (ms), keep-alive, 1 conn | %s | ≤ 1 on real-node pods | %s here (KWOK) |\n' \
        "$r" "$(met "$r" "<=" 1)"
