#!/usr/bin/env bash
# Figures for the local control plane (`make bench-cluster`), printed as one table:
#   - the cold build time of each binary set, as recorded by hack/build-binaries.sh when it built them;
#   - cluster-up to ready with a new state directory (PKI, initdb), and again with that state kept (the
#     real node included when run as root, hack/node.sh);
# measured on a cluster of its own (free ports, its own state directory), which is removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/hack/versions.sh"
bash "$root/hack/build-binaries.sh" >/dev/null 2>&1

. "$root/hack/stack.sh"
MBOX_BENCH_STATE_DIR=$(mktemp -d /var/tmp/mbox-bench-cluster.XXXXXX)
stack_private bench "$root" # in that directory, on free ports whatever the environment names
trap 'bash "$root/hack/cluster.sh" down --purge >/dev/null 2>&1' EXIT

up() { # prints seconds to ready
        local t0 t1
        t0=$(date +%s.%N)
        bash "$root/hack/cluster.sh" up >/dev/null 2>&1
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}'
}
fresh=$(up)
bash "$root/hack/cluster.sh" down >/dev/null 2>&1
kept=$(up)

build() { [ -f "$1/.build-seconds" ] && awk -v s="$(cat "$1/.build-seconds")" 'BEGIN {printf "%d min %d s", s / 60, s % 60}' || echo "not recorded (built before this was kept)"; }
printf '%-58s %s\n' "figure" "value"
printf '%-58s %s\n' "cold build: kubernetes v$K8S_VERSION (4 binaries)" "$(build "$K8S_BIN")"
printf '%-58s %s\n' "cold build: etcd v$ETCD_VERSION" "$(build "$ETCD_BIN")"
printf '%-58s %s\n' "cold build: kwok v$KWOK_VERSION" "$(build "$KWOK_BIN")"
printf '%-58s %s\n' "cold build: agent-sandbox v$AGENT_SANDBOX_VERSION" "$(build "$AGENT_SANDBOX_BIN")"
printf '%-58s %s\n' "cold build: kubelet v$K8S_VERSION (real node)" "$(build "$KUBELET_BIN")"
printf '%-58s %s\n' "cold build: containerd v$CONTAINERD_VERSION (real node)" "$(build "$CONTAINERD_BIN")"
printf '%-58s %s\n' "cold build: runc v$RUNC_VERSION (real node)" "$(build "$RUNC_BIN")"
printf '%-58s %s\n' "cold build: CNI plugins v$CNI_PLUGINS_VERSION (real node)" "$(build "$CNI_BIN")"
printf '%-58s %s\n' "cold build: crictl v$CRI_TOOLS_VERSION (real node)" "$(build "$CRICTL_BIN")"
printf '%-58s %s\n' "cold build: crane v$GGCR_VERSION (real node's registry)" "$(build "$CRANE_BIN")"
printf '%-58s %s\n' "cold build: kube-network-policies v$NETPOL_VERSION (real node)" "$(build "$NETPOL_BIN")"
printf '%-58s %s\n' "build: the real node's images" "$(build "$NODE_IMAGES_DIR")"
printf '%-58s %s\n' "build: the real node's Node.js image (mmdebstrap)" "$(build "$NODE_NODEJS_IMAGE_DIR")"
printf '%-58s %s s\n' "cluster-up to ready, new state (target < 30 s)" "$fresh"
printf '%-58s %s s\n' "cluster-up to ready, state kept (target < 30 s)" "$kept"
