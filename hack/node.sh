#!/usr/bin/env bash
# The local cluster's real node: containerd (with runc and the CNI bridge) and a kubelet joined to the
# stack's kube-apiserver, beside the KWOK nodes. Pods scheduled here are real containers: their own
# namespaces, a pod IP on the stack's bridge, reachable from the host.
#
# The node is labelled mbox.dev/node=real and tainted mbox.dev/node=real:NoSchedule, so only pods that
# tolerate the taint and select the label land here (the local overlay does that for the walkthrough's
# sandboxes, Node.js and busybox); everything else stays on KWOK.
#
# Everything the node makes is the stack's own, so two stacks on one machine never share anything: the
# state under $MBOX_STATE_DIR/node, containerd's socket, root and state there, the kubelet's ports (ports.env),
# and, named by a short hash of the state directory: the node name, the bridge, the pod CIDR (a free /24 of
# 10.234.0.0/16, kept in node.env) and the cgroup root. `down` removes the pods through the runtime (CNI
# DEL, unmounts), stops the kubelet and containerd by PID, then removes what is left: shims, mounts,
# network namespaces, the bridge and the cgroups.
#
# NetworkPolicy is enforced by sigs.k8s.io/kube-network-policies (hack/netpol/main.go): the first packet of
# each connection to or from a pod that a policy selects goes to an NFQUEUE and is judged by the agent;
# it owns an nftables table and a queue number of the stack's own.
#
# Beside the node, a network namespace stands for the world beyond it (the "outside"): routed from the pods
# through the host, so NetworkPolicy applies to it as to any destination off the node (traffic a pod sends
# to the host's own addresses is not routed, and no NetworkPolicy implementation of this kind judges it).
# There, kube-apiserver is reachable as pods are told it is (the kubernetes Service, 10.96.0.1:443, by a
# relay into the loopback-bound kube-apiserver), and tests start servers: at 169.254.169.254 (pods only:
# a routing rule for the bridge, the host's own route to that address is left alone) and at the other
# addresses of $NODE_OUT_NET.0/24.
#
# This host has cgroup v1 (hybrid): the kubelet runs with failCgroupV1: false and the cgroupfs driver.
# Needs root (namespaces, mounts, cgroups, the bridge); without it `up` says so and starts nothing.
# (No `cmd | grep -q` in pipelines: under pipefail, a grep that ends first can fail them by SIGPIPE.)
#
# Usage: hack/node.sh up|down|status     (run by hack/cluster.sh; MBOX_REAL_NODE=0 leaves the node out)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/stack.sh"

STATE=$MBOX_STATE_DIR
N=$STATE/node
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
SOCK=$N/run/containerd.sock
WAIT=${MBOX_WAIT_SECONDS:-120}
ID=$(printf '%s' "$STATE" | sha256sum | cut -c1-6)
NODE_NAME=mbox-real-$ID
BRIDGE=mbox$ID
CGROUP_ROOT=/mbox-$ID
OUT_NS=mbox-out-$ID
OUT_VETH=mboxo$ID
NFT_TABLE=mbox-node-$ID    # the outside's routing: the kubernetes Service address
NETPOL_TABLE=mbox-netpol-$ID # kube-network-policies' own
NETPOL_QUEUE=$((1000 + 16#${ID:0:4} % 60000))
RT_TABLE=$((20000 + 16#${ID:0:4} % 10000)) # the pods' route to 169.254.169.254
METADATA_IP=169.254.169.254
NODE_COMPONENTS=(containerd registry kubelet volumes netpol api-relay api-relay-outside)

say() { printf 'node: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
kctl() { "$K8S_BIN/kubectl" --kubeconfig="$STATE/kubeconfig" "$@"; }
crictl() { "$CRICTL_BIN/crictl" --runtime-endpoint "unix://$SOCK" --image-endpoint "unix://$SOCK" "$@"; }
ctr() { "$CONTAINERD_BIN/ctr" --address "$SOCK" --namespace k8s.io "$@"; }

pid_of() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid"; }
alive() {
        local p
        p=$(pid_of "$1") || return 1
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

start() { # name command...
        local name=$1
        shift
        mkdir -p "$LOGS" "$PIDS"
        setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
        echo $! >"$PIDS/$name.pid"
}

waitfor() { # what component command...
        local what=$1 comp=$2 i
        shift 2
        for ((i = 0; i < WAIT * 4; i++)); do
                "$@" >/dev/null 2>&1 && return 0
                if ! alive "$comp"; then
                        tail -n 5 "$LOGS/$comp.log" >&2
                        die "$comp exited; see $LOGS/$comp.log"
                fi
                sleep 0.25
        done
        die "$what not ready after ${WAIT}s; see $LOGS/$comp.log"
}

# The pod CIDR: chosen once per stack, a /24 of 10.234.0.0/16 that no route of this machine overlaps.
pod_cidr() {
        local i n
        # shellcheck disable=SC1091
        [ -f "$N/node.env" ] && . "$N/node.env" && [ -n "${NODE_POD_NET:-}" ] && return
        n=$((16#${ID:0:2}))
        for ((i = 0; i < 256; i++)); do
                NODE_POD_NET=10.234.$(((n + i) % 256))
                ip -4 route show | grep "^$NODE_POD_NET\." >/dev/null || break
        done
        mkdir -p "$N"
        printf 'NODE_POD_NET=%s\n' "$NODE_POD_NET" >"$N/node.env"
}

# The outside network: 10.235.X.0/24 for the pods' 10.234.X.0/24; the host is .1, the outside .2
# (kube-apiserver's relay); tests add addresses of their own to $OUT_NS.
out_net() { NODE_OUT_NET=10.235.${NODE_POD_NET##*.}; }

up_outside() {
        out_net
        [ -e "/run/netns/$OUT_NS" ] || ip netns add "$OUT_NS"
        if ! ip link show "$OUT_VETH" >/dev/null 2>&1; then
                ip link add "$OUT_VETH" type veth peer name out0 netns "$OUT_NS"
                ip addr add "$NODE_OUT_NET.1/24" dev "$OUT_VETH"
                ip link set "$OUT_VETH" up
                ip -n "$OUT_NS" addr add "$NODE_OUT_NET.2/24" dev out0
                ip -n "$OUT_NS" addr add "$METADATA_IP/32" dev out0
                ip -n "$OUT_NS" link set lo up
                ip -n "$OUT_NS" link set out0 up
                ip -n "$OUT_NS" route add default via "$NODE_OUT_NET.1"
        fi
        ip route replace "$METADATA_IP/32" via "$NODE_OUT_NET.2" dev "$OUT_VETH" table "$RT_TABLE"
        ip rule del pref "$RT_TABLE" 2>/dev/null || true
        ip rule add iif "$BRIDGE" to "$METADATA_IP/32" lookup "$RT_TABLE" pref "$RT_TABLE"
        nft -f - <<NFT
table inet $NFT_TABLE
delete table inet $NFT_TABLE
table inet $NFT_TABLE {
        chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                iifname "$BRIDGE" ip daddr 10.96.0.1 tcp dport 443 dnat ip to $NODE_OUT_NET.2:6443
        }
}
NFT
        # kube-apiserver listens on loopback only: a relay in the outside hands each connection through a
        # socket file to one on the host
        alive api-relay || start api-relay socat "UNIX-LISTEN:$N/apiserver.sock,fork,unlink-early,mode=600" \
                "TCP:127.0.0.1:$MBOX_APISERVER_PORT"
        alive api-relay-outside || start api-relay-outside ip netns exec "$OUT_NS" socat \
                "TCP-LISTEN:6443,bind=$NODE_OUT_NET.2,fork,reuseaddr" "UNIX-CONNECT:$N/apiserver.sock"
}

down_outside() {
        ip rule del lookup "$RT_TABLE" 2>/dev/null || true
        ip route flush table "$RT_TABLE" 2>/dev/null || true
        nft delete table inet "$NFT_TABLE" 2>/dev/null || true
        # processes tests started in the outside die with it
        local p
        for p in $(ip netns pids "$OUT_NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip link del "$OUT_VETH" 2>/dev/null || true
        ip netns del "$OUT_NS" 2>/dev/null || true
}

# kube-network-policies reads pods, namespaces and NetworkPolicies as kube-network-policies (its own
# certificate, hack/pki.sh), with upstream's ClusterRole.
up_netpol() {
        kctl apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-network-policies}
rules:
- {apiGroups: [""], resources: [pods, namespaces], verbs: [list, watch]}
- {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-network-policies}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-network-policies}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kube-network-policies}
YAML
        node_kubeconfig "$N/netpol.kubeconfig" kube-network-policies netpol
        alive netpol || start netpol "$NETPOL_BIN/kube-network-policies" --kubeconfig="$N/netpol.kubeconfig" \
                --node-name="$NODE_NAME" --nftables-table="$NETPOL_TABLE" --nfqueue-id="$NETPOL_QUEUE"
        waitfor "kube-network-policies" netpol nft list table inet "$NETPOL_TABLE"
        # pods of one bridge talk at layer 2: policy sees their packets only if the host passes bridged
        # traffic through netfilter, a setting of the whole machine that this script leaves as it finds it
        [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] ||
                say "warning: net.bridge.bridge-nf-call-iptables is not 1 (br_netfilter): NetworkPolicy is not enforced between pods of this node; enable it (modprobe br_netfilter; sysctl net.bridge.bridge-nf-call-iptables=1) and run cluster-up again"
}

# The bridge exists before the kubelet starts: its gateway address is the node's IP (a kubelet refuses a
# loopback node IP), where the kubelet listens and kube-apiserver reaches it.
up_bridge() {
        ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
        ip addr replace "$NODE_POD_NET.1/24" dev "$BRIDGE"
        ip link set "$BRIDGE" up
}

cgroup_dirs() { # every hierarchy's copy of the node's cgroup root (v1 ones, and the hybrid's unified one)
        local h
        for h in /sys/fs/cgroup/*/; do
                [ -f "$h/cgroup.procs" ] && printf '%s\n' "${h%/}$CGROUP_ROOT"
        done
}

up_cgroups() {
        local d
        for d in $(cgroup_dirs); do
                [ -d "$d" ] && continue
                mkdir "$d"
                # a cpuset cgroup takes no task until it has CPUs and memory nodes
                if [ -f "$d/cpuset.cpus" ]; then
                        cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
                        cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
                fi
        done
}

write_cni() {
        mkdir -p "$N/cni"
        cat >"$N/cni/10-mbox.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "mbox-$ID",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$N/cni-ipam",
        "ranges": [[{"subnet": "$NODE_POD_NET.0/24", "gateway": "$NODE_POD_NET.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

write_containerd_config() {
        mkdir -p "$N/run" "$N/containerd"
        cat >"$N/containerd.toml" <<TOML
version = 3
root = "$N/containerd/root"
state = "$N/containerd/state"
# NRI would listen on a machine-wide socket
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$N/containerd/opt"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$N/certs.d"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$NODE_PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  enable_cdi = false
  # this host's root has no CAP_SYS_RESOURCE, so no process may lower its oom_score_adj below
  # containerd's (0): without this every pod fails ("failed to update /proc/self/oom_score_adj: Permission
  # denied"); pods then share the host's OOM ranking instead of the kubelet's per-QoS scores
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$RUNC_BIN/runc"
        Root = "$N/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$CNI_BIN"]
    conf_dir = "$N/cni"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
TOML
}

# node_kubeconfig FILE USER CERT: a kubeconfig for one of the node's programs, with its client certificate
# (PKI/CERT.crt and .key)
node_kubeconfig() {
        cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mbox-local
  cluster: {server: "https://127.0.0.1:$MBOX_APISERVER_PORT", certificate-authority: $PKI/ca.crt}
users:
- name: $2
  user: {client-certificate: $PKI/$3.crt, client-key: $PKI/$3.key}
contexts:
- name: mbox-local
  context: {cluster: mbox-local, user: $2}
current-context: mbox-local
KC
}

write_kubelet_config() {
        mkdir -p "$N/kubelet" "$N/pod-logs"
        node_kubeconfig "$N/kubelet.kubeconfig" "$NODE_NAME" "kubelet-$ID"
        cat >"$N/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# this host's cgroups are v1 (hybrid): kubelet 1.35+ refuses to start on v1 unless told
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
containerRuntimeEndpoint: unix://$SOCK
address: $NODE_POD_NET.1
port: $MBOX_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $MBOX_KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving-$ID.crt
tlsPrivateKeyFile: $PKI/kubelet-serving-$ID.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
registerWithTaints:
- {key: mbox.dev/node, value: real, effect: NoSchedule}
podLogsDir: $N/pod-logs
failSwapOn: false
# a developer's machine: evict only when it is really short, never collect the imported images
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
maxPods: 50
YAML
}

# The registry: `crane registry serve` on loopback, blobs under node/registry (its manifests live in memory,
# so a new registry gets the images pushed again; the blobs are there already). containerd reaches it under the
# name $NODE_REGISTRY, the same on every stack, through a hosts.toml that points at this stack's port.
up_registry() {
        mkdir -p "$N/registry" "$N/certs.d/$NODE_REGISTRY"
        cat >"$N/certs.d/$NODE_REGISTRY/hosts.toml" <<TOML
server = "http://127.0.0.1:$MBOX_REGISTRY_PORT"
[host."http://127.0.0.1:$MBOX_REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
TOML
        if ! alive registry; then
                ! ss -Hltn "sport = :$MBOX_REGISTRY_PORT" 2>/dev/null | grep . >/dev/null ||
                        die "port $MBOX_REGISTRY_PORT for the image registry is already in use by a process this script did not start; set MBOX_REGISTRY_PORT to a free port or stop that process"
                start registry "$CRANE_BIN/crane" registry serve --address "127.0.0.1:$MBOX_REGISTRY_PORT" --disk "$N/registry"
                waitfor "the image registry" registry curl -fsS "http://127.0.0.1:$MBOX_REGISTRY_PORT/v2/"
        fi
        # each image the registry does not serve as built (a new registry, a rebuilt image)
        local a ref d
        for a in "$NODE_IMAGES_DIR/busybox.tar=$NODE_BUSYBOX_IMAGE" "$NODE_NODEJS_IMAGE_DIR/nodejs.tar=$NODE_NODEJS_IMAGE"; do
                ref=127.0.0.1:$MBOX_REGISTRY_PORT/${a#*="$NODE_REGISTRY"/}
                a=${a%%=*}
                [ "$("$CRANE_BIN/crane" digest --insecure "$ref" 2>/dev/null)" = "$(tar -xOf "$a" index.json | jq -r '.manifests[0].digest')" ] &&
                        continue
                d=$(mktemp -d)
                tar -xf "$a" -C "$d"
                "$CRANE_BIN/crane" push --insecure "$d" "$ref" >/dev/null 2>"$LOGS/registry-push.log" ||
                        { rm -rf "$d"; die "pushing $ref to the registry failed: $(cat "$LOGS/registry-push.log")"; }
                rm -rf "$d"
        done
}

# The pod sandbox image is pinned and never pulled: imported, unless containerd has that manifest already.
import_images() {
        local a=$NODE_IMAGES_DIR/pause.tar want
        want=$(tar -xOf "$a" index.json | jq -r '.manifests[0] | .digest + " " + .annotations["io.containerd.image.name"]')
        ctr images ls "name==${want#* }" 2>/dev/null | awk 'NR > 1 {print $3}' | grep -x "${want%% *}" >/dev/null ||
                ctr images import "$a" >/dev/null
}

# The Node.js image (Debian bookworm's nodejs, hack/node/nodejs-image.sh), built when its cache directory
# has none: about 20 s, from Debian's mirror.
nodejs_image() {
        [ -f "$NODE_NODEJS_IMAGE_DIR/nodejs.tar" ] || bash "$here/node/nodejs-image.sh"
}

# volumes: KWOK's provisioner makes each PersistentVolume a host directory
# (/tmp/kwok-local-path-provisioner/pvc-UID) that kubelet would create as root, mode 0755, on its first
# mount, where a sandbox's non-root user cannot write its workspace (fsGroup does not apply to host
# directories). This keeper makes each directory as its PersistentVolume appears (the storage class binds at
# once, long before a pod mounts the volume), mode 1777 as /tmp: any user of the pod can write it, and of
# this machine too; it is a local cluster's stand-in for a provisioner that honours fsGroup.
volume_keeper() {
        local p
        while :; do
                kctl get pv --watch -o jsonpath='{.spec.hostPath.path}{"\n"}' 2>/dev/null |
                        while read -r p; do
                                case $p in
                                /tmp/kwok-local-path-provisioner/pvc-*) mkdir -p "$p" && chmod 1777 "$p" ;;
                                esac
                        done
                sleep 1
        done
}

cmd_up() {
        [ "${MBOX_REAL_NODE:-1}" != 0 ] || return 0
        [ "$(id -u)" -eq 0 ] || { say "not root: no real node (it needs namespaces, mounts, cgroups and a bridge); pods run on KWOK only"; return 0; }
        local b p
        for b in "$KUBELET_BIN/kubelet" "$CONTAINERD_BIN/containerd" "$RUNC_BIN/runc" "$CNI_BIN/bridge" \
                "$CRICTL_BIN/crictl" "$CRANE_BIN/crane" "$NETPOL_BIN/kube-network-policies" "$NODE_IMAGES_DIR/busybox.tar"; do
                [ -e "$b" ] || { bash "$here/build-binaries.sh" kubelet containerd runc cni-plugins crictl crane netpol node-images; break; }
        done
        nodejs_image
        if ! alive kubelet; then
                for p in MBOX_KUBELET_PORT MBOX_KUBELET_HEALTHZ_PORT; do
                        ! ss -Hltn "sport = :${!p}" 2>/dev/null | grep . >/dev/null ||
                                die "port ${!p} for kubelet is already in use by a process this script did not start; set $p to a free port or stop that process"
                done
        fi
        pod_cidr
        bash "$here/pki.sh" "$PKI" "$NODE_NAME" "$NODE_POD_NET.1"
        up_bridge
        up_cgroups
        write_cni
        if ! alive containerd; then
                write_containerd_config
                PATH=$CONTAINERD_BIN:$PATH start containerd "$CONTAINERD_BIN/containerd" --config "$N/containerd.toml"
        fi
        waitfor containerd containerd crictl info
        import_images
        up_registry
        if ! alive kubelet; then
                write_kubelet_config
                start kubelet "$KUBELET_BIN/kubelet" --config="$N/kubelet.yaml" --kubeconfig="$N/kubelet.kubeconfig" \
                        --root-dir="$N/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_POD_NET.1" \
                        --node-labels=mbox.dev/node=real
        fi
        up_netpol
        up_outside
        alive volumes || start volumes bash -c "$(declare -f kctl volume_keeper); K8S_BIN='$K8S_BIN' STATE='$STATE' volume_keeper"
        waitfor "the node $NODE_NAME" kubelet kctl wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
}

stop_pid() { # name
        local p j
        alive "$1" || { rm -f "$PIDS/$1.pid"; return 0; }
        p=$(pid_of "$1")
        kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true
        for ((j = 0; j < 40; j++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$p" 2>/dev/null && kill -9 -- "-$p" 2>/dev/null
        rm -f "$PIDS/$1.pid"
        say "stopped $1 (pid $p)"
}

cmd_down() {
        [ -d "$N" ] || return 0
        stop_pid volumes
        stop_pid kubelet
        # the runtime removes its pods properly: CNI DEL (addresses, iptables rules), unmounts, shims
        if alive containerd; then
                crictl rmp --force --all >/dev/null 2>&1 || true
        fi
        stop_pid containerd
        stop_pid registry
        stop_pid netpol
        nft delete table inet "$NETPOL_TABLE" 2>/dev/null || true
        stop_pid api-relay-outside
        stop_pid api-relay
        down_outside
        local p m d
        # shims of this containerd that outlived it (they are not its children)
        for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK( |$)" || true); do kill -9 "$p" 2>/dev/null || true; done
        # mounts under the node's state (overlay rootfs, netns, volumes), deepest first
        for m in $(awk -v n="$N/" 'index($2, n) == 1 {print $2}' /proc/self/mounts | sort -r); do
                umount -l "$m" 2>/dev/null || true
        done
        ip link del "$BRIDGE" 2>/dev/null || true
        # cgroups, deepest first, once their processes are gone
        for d in $(cgroup_dirs); do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
        if [ "${1:-}" = --purge ]; then
                rm -rf "$N" 2>/dev/null || true
        fi
}

cmd_status() {
        local n
        for n in "${NODE_COMPONENTS[@]}"; do
                if alive "$n"; then
                        printf '%-26s running (pid %s)\n' "$n" "$(pid_of "$n")"
                elif [ -f "$PIDS/$n.pid" ] || [ -d "$N" ]; then
                        printf '%-26s stopped\n' "$n"
                fi
        done
        [ -f "$N/node.env" ] || return 0
        pod_cidr
        printf '%-26s %s, bridge %s, pods %s.0/24, kubelet port %s, containerd %s\n' "real node" "$NODE_NAME" \
                "$BRIDGE" "$NODE_POD_NET" "$MBOX_KUBELET_PORT" "$SOCK"
        printf '%-26s %s -> http://127.0.0.1:%s (%s)\n' "image registry" "$NODE_REGISTRY" "$MBOX_REGISTRY_PORT" \
                "$(curl -fsS "http://127.0.0.1:$MBOX_REGISTRY_PORT/v2/_catalog" 2>/dev/null | tr -d '\n')"
        out_net
        printf '%-26s nftables table inet %s, queue %s\n' "network policy" "$NETPOL_TABLE" "$NETPOL_QUEUE"
        printf '%-26s netns %s, %s.0/24 (kube-apiserver at %s.2:6443, as 10.96.0.1:443 from pods), %s\n' \
                "outside" "$OUT_NS" "$NODE_OUT_NET" "$NODE_OUT_NET" "$METADATA_IP"
}

case ${1:-} in
up) cmd_up ;;
down) shift; cmd_down "$@" ;;
status) cmd_status ;;
*) echo "usage: $0 up|down [--purge]|status" >&2; exit 2 ;;
esac
