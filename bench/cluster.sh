#!/usr/bin/env bash
# Figures for the local control plane (`make bench-cluster`), printed as one table:
#   - the cold build time of each binary set, as recorded by hack/build-binaries.sh when it built them;
#   - cluster-up to ready with a new state directory (PKI, initdb), and again with that state kept (the
#     real node included when run as root, hack/node.sh);
#   - with the real node, Sandbox create to Running there (the walkthrough's templates, warm and cold);
# measured on a cluster of its own (free ports, its own state directory), which is removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/hack/versions.sh"
bash "$root/hack/build-binaries.sh" >/dev/null 2>&1

. "$root/hack/stack.sh"
MBOX_BENCH_STATE_DIR=$(mktemp -d /var/tmp/mbox-bench-cluster.XXXXXX)
stack_private bench "$root" # in that directory, on free ports whatever the environment names
# (hack/mbox.sh down stops what mbox.sh up started, then the cluster)
trap 'bash "$root/hack/mbox.sh" down --purge >/dev/null 2>&1' EXIT

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

# Sandbox create to Running on the real node, with the walkthrough (make up, make demo): busybox-terminal
# claiming its warm pod, busybox-terminal again at once (its pool refilling: a warm pod if it is back,
# else a pod of its own), and nodejs-workspace (no warm pool). Prints "-" for each without a real node.
kctl() { "$K8S_BIN/kubectl" --kubeconfig="$MBOX_STATE_DIR/kubeconfig" "$@"; }
running() { # seconds from create to Running of sandbox $1 from template $2 in mbox-demo
        local t0 i
        t0=$(date +%s.%N)
        kctl -n mbox-demo apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: $1}
spec: {templateRef: {name: $2}}
YAML
        for ((i = 0; i < 1200; i++)); do
                [ "$(kctl -n mbox-demo get sandboxes.mbox.dev "$1" -o jsonpath='{.status.phase}')" = Running ] && break
                sleep 0.1
        done
        awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'
}
warm=- cold=- node=-
if [ -n "$(kctl get nodes -l mbox.dev/node=real -o name)" ]; then
        bash "$root/hack/mbox.sh" up >/dev/null 2>&1 && bash "$root/hack/mbox.sh" demo >/dev/null 2>&1
        # the template's warm pod, Running on the node
        for ((i = 0; i < 600; i++)); do
                kctl -n mbox-demo get pods -l mbox.dev/template=busybox-terminal \
                        -o jsonpath='{.items[*].status.phase}' | grep Running >/dev/null && break
                sleep 0.2
        done
        warm=$(running bench-warm busybox-terminal)
        cold=$(running bench-cold busybox-terminal)
        node=$(running bench-node nodejs-workspace)
fi

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
printf '%-58s %s s\n' "create to Running, real node, busybox, warm pod" "$warm"
printf '%-58s %s s\n' "create to Running, real node, busybox, next one (pool refilling)" "$cold"
printf '%-58s %s s\n' "create to Running, real node, Node.js (no warm pool)" "$node"
