#!/usr/bin/env bash
# `make bench-kube`: the C client (pkg/kube) against client-go doing the same work on the same cluster, in
# one run, printed as one table:
#   - one unpaged list of BENCH_OBJECTS ConfigMaps (about 1.5 KiB of JSON each, each with its own random
#     letters as data: nothing for a compressor to gain from a pattern), decoded, every object kept to
#     the end: wall time and peak RSS (median of BENCH_LIST_RUNS runs, each a fresh process). The C side
#     streams the list (kube_list_each) and keeps each item as its compact JSON text packed
#     (kube/objpack.h), as the informer caches objects; client-go keeps the typed ConfigMapList its List
#     call returns;
#   - an informer's cache: RSS after sync minus RSS before the informer starts (both after freed memory
#     is given back: malloc_trim in C, GC + FreeOSMemory in Go), per object, as a multiple of the
#     object's compact JSON size;
#   - watch throughput: both watchers on one namespace at once while one writer process creates and
#     updates ConfigMaps as fast as it can for BENCH_WRITE_SECONDS (that rate bounds both); then each
#     watcher alone watches the list's namespace from resourceVersion 0, which the server answers from
#     its watch cache with one ADDED event per object as fast as the client reads: the client's own
#     ceiling (median of BENCH_LIST_RUNS runs).
# Runs on its own bench stack (bench/lib.sh); works in namespaces of its own, deleted at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"

objects=${BENCH_OBJECTS:-10000}
payload=${BENCH_PAYLOAD:-1024}
list_runs=${BENCH_LIST_RUNS:-5}
write_seconds=${BENCH_WRITE_SECONDS:-20}
write_threads=${BENCH_WRITE_THREADS:-4}

# shellcheck source=../lib.sh
. "$here/../lib.sh"
bench_needs bench-kube build/libmbox.a
out=$root/build/bench
mkdir -p "$out"
cbin=$out/bench-kube
gobin=$out/bench-kube-go
pkgs="json-c yaml-0.1 libcurl openssl libpq libzstd"
# shellcheck disable=SC2046,SC2086
cc -std=gnu17 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wno-missing-field-initializers \
        -Wno-format-truncation -Werror -I"$root/pkg" $(pkg-config --cflags $pkgs) \
        -o "$cbin" "$here/bench-kube.c" "$root/build/libmbox.a" $(pkg-config --libs $pkgs) -lwslay -lpthread -lm
(cd "$here/go" && GOFLAGS=-mod=mod go build -o "$gobin" .)

suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
ns=bench-kube-$suffix
wns=bench-kube-w-$suffix
tmp=$(mktemp -d)
pids=()
cleanup() {
        local p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        kubectl delete namespace "$ns" "$wns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
        rm -rf "$tmp"
        bench_release
}
trap cleanup EXIT
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$wns" >/dev/null

say() { printf 'bench-kube: %s\n' "$*" >&2; }
field() { jq -r ".$2" <<<"$1"; } # field JSON NAME

say "creating $objects ConfigMaps in $ns"
"$cbin" load "$ns" "$objects" "$payload" 4 >/dev/null
# every list below sees the same objects, the namespace's own kube-root-ca.crt among them; this first
# one also warms the server's cache
total=$("$cbin" list "$ns" | jq .items)

say "list + decode, $list_runs runs each"
for i in $(seq "$list_runs"); do
        "$cbin" list "$ns" >>"$tmp/list-c"
        "$gobin" list "$ns" >>"$tmp/list-go"
done
median() { jq -s "map(.$2) | sort | .[(length - 1) / 2 | floor]" "$1"; } # median FILE FIELD
list_c_s=$(median "$tmp/list-c" seconds)
list_go_s=$(median "$tmp/list-go" seconds)
list_c_rss=$(median "$tmp/list-c" maxrss_kb)
list_go_rss=$(median "$tmp/list-go" maxrss_kb)
list_c_kept=$(median "$tmp/list-c" kept_json_bytes)
list_c_packed=$(median "$tmp/list-c" kept_bytes)

say "informer caches"
inf_c=$("$cbin" informer "$ns")
inf_go=$("$gobin" informer "$ns")
per_object() { # JSON -> "cache bytes per object" "mean JSON bytes per object"
        jq -r '[((.rss_after_kb - .rss_before_kb) * 1024 / .objects), (.json_bytes / .objects)] | @tsv' <<<"$1"
}
read -r c_per c_json < <(per_object "$inf_c")
read -r go_per go_json < <(per_object "$inf_go")

say "watch: both watchers on $wns while one writer writes for $write_seconds s"
"$cbin" watch "$wns" "" 5 $((write_seconds + 60)) "$tmp/ready-c" 0 >"$tmp/watch-c" &
pids+=($!)
"$gobin" watch "$wns" "" 5 $((write_seconds + 60)) "$tmp/ready-go" 0 >"$tmp/watch-go" &
pids+=($!)
for _ in $(seq 100); do
        [ -e "$tmp/ready-c" ] && [ -e "$tmp/ready-go" ] && break
        sleep 0.1
done
[ -e "$tmp/ready-c" ] && [ -e "$tmp/ready-go" ] || { say "the watchers did not start"; exit 1; }
write=$("$cbin" write "$wns" "$write_seconds" "$write_threads")
wait "${pids[@]}"
pids=()
watch_c=$(cat "$tmp/watch-c")
watch_go=$(cat "$tmp/watch-go")
writes=$(field "$write" writes)

say "watch from resourceVersion 0: $total initial events, each watcher alone, $list_runs runs each"
for i in $(seq "$list_runs"); do
        "$cbin" watch "$ns" 0 5 120 "$tmp/ready-rc" "$total" >>"$tmp/replay-c"
        "$gobin" watch "$ns" 0 5 120 "$tmp/ready-rgo" "$total" >>"$tmp/replay-go"
done
replay_c=$(median "$tmp/replay-c" events_per_second)
replay_go=$(median "$tmp/replay-go" events_per_second)
replay_c_cpu=$(jq -s 'map(.cpu_seconds * 1e6 / .events) | sort | .[(length - 1) / 2 | floor]' "$tmp/replay-c")
replay_go_cpu=$(jq -s 'map(.cpu_seconds * 1e6 / .events) | sort | .[(length - 1) / 2 | floor]' "$tmp/replay-go")

# ---- the table ----
row() { printf '| %-56s | %-14s | %-14s | %-7s | %-30s |\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "" || a == "null") print "-"; else printf "%.2f", a / b }'; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "" || v == "null") print "n/a"; else printf f, v }'; }
mib() { awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }

echo
echo "bench-kube: $total ConfigMaps of $(fmt "$c_json" '%.0f') bytes of JSON each; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
row "figure" "C (mbox)" "client-go" "ratio" "target"
row "---" "---" "---" "---" "---"
row "list + decode $total objects, all kept: wall time" "$(fmt "$list_c_s" '%.3f s')" "$(fmt "$list_go_s" '%.3f s')" \
        "$(ratio "$list_c_s" "$list_go_s")" "C faster (ratio < 1)"
row "list + decode $total objects, all kept: peak RSS" "$(mib "$list_c_rss")" "$(mib "$list_go_rss")" \
        "$(ratio "$list_c_rss" "$list_go_rss")" "C under 1/3 (ratio < 0.33)"
row "informer cache: bytes per object" "$(fmt "$c_per" '%.0f B')" "$(fmt "$go_per" '%.0f B')" \
        "$(ratio "$c_per" "$go_per")" ""
row "informer cache: multiple of the object's JSON size" "$(ratio "$c_per" "$c_json")x" \
        "$(ratio "$go_per" "$go_json")x" "$(ratio "$(ratio "$c_per" "$c_json")" "$(ratio "$go_per" "$go_json")")" \
        "C <= 2x (decoded Go ~5x)"
row "informer sync (paged list vs watch-list)" "$(fmt "$(field "$inf_c" sync_seconds)" '%.3f s')" \
        "$(fmt "$(field "$inf_go" sync_seconds)" '%.3f s')" \
        "$(ratio "$(field "$inf_c" sync_seconds)" "$(field "$inf_go" sync_seconds)")" ""
row "writer: creates + updates, $write_threads threads" "$(fmt "$(field "$write" writes_per_second)" '%.0f /s')" "" "" \
        "($writes writes in $(fmt "$(field "$write" seconds)" '%.0f s'))"
row "live watch, both at once: events received" "$(field "$watch_c" events)" "$(field "$watch_go" events)" \
        "$(ratio "$(field "$watch_c" events)" "$(field "$watch_go" events)")" "all $writes"
row "live watch, both at once: events/s" "$(fmt "$(field "$watch_c" events_per_second)" '%.0f')" \
        "$(fmt "$(field "$watch_go" events_per_second)" '%.0f')" \
        "$(ratio "$(field "$watch_c" events_per_second)" "$(field "$watch_go" events_per_second)")" \
        "C >= client-go (ratio >= 1)"
cpu_per_event() { jq -r 'if (.events // 0) > 0 then .cpu_seconds * 1e6 / .events else "" end' <<<"$1"; }
row "live watch: client CPU per event" "$(fmt "$(cpu_per_event "$watch_c")" '%.0f us')" \
        "$(fmt "$(cpu_per_event "$watch_go")" '%.0f us')" \
        "$(ratio "$(cpu_per_event "$watch_c")" "$(cpu_per_event "$watch_go")")" ""
row "watch from rv 0 ($total ADDED events), alone: events/s" "$(fmt "$replay_c" '%.0f')" \
        "$(fmt "$replay_go" '%.0f')" "$(ratio "$replay_c" "$replay_go")" "C >= client-go (ratio >= 1)"
row "watch from rv 0: client CPU per event" "$(fmt "$replay_c_cpu" '%.0f us')" "$(fmt "$replay_go_cpu" '%.0f us')" \
        "$(ratio "$replay_c_cpu" "$replay_go_cpu")" ""
echo
echo "ratio = C / client-go. Peak RSS is the whole process (getrusage ru_maxrss). JSON on the wire for both;"
echo "client-go $(sed -n 's/^\tk8s.io\/client-go \(v[^ ]*\).*/\1/p' "$here/go/go.mod") with its default feature gates (its informer syncs with a watch-list)."
echo "list + decode: at the end C holds every object as its compact JSON text ($(mib "$((list_c_kept / 1024))") of it, streamed"
echo "one item at a time with kube_list_each) packed into $(mib "$((list_c_packed / 1024))"), client-go the typed ConfigMapList its"
echo "List call returned."
