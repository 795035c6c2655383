#!/usr/bin/env bash
# The local control plane: etcd, kube-apiserver (with the aggregation layer), kube-controller-manager,
# kube-scheduler, KWOK (a fake node with simulated exec, logs and port-forward, and a volume provisioner),
# the agent-sandbox controller with its extensions, and PostgreSQL — all plain processes on loopback; and,
# when run as root, a real node (hack/node.sh: containerd and a kubelet) for pods that ask for it.
#
# Usage: hack/cluster.sh up|down|status|env
#
# Everything lives in $MBOX_STATE_DIR (default /var/tmp/mbox-$USER): pki/, logs/, pids/, ports.env, etcd
# data, the per-pod working directories and kubeconfig (the admin kubeconfig for users and tests). Ports are
# chosen when the stack starts from nothing and kept in ports.env (hack/stack.sh); a port taken by a process
# this script did not start is refused. `up` twice is safe: running components are left alone. `down` stops
# only processes whose PIDs this script recorded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/stack.sh"

STATE=$MBOX_STATE_DIR
use_ports() {
        ETCD_PORT=$MBOX_ETCD_PORT ETCD_PEER_PORT=$MBOX_ETCD_PEER_PORT APISERVER_PORT=$MBOX_APISERVER_PORT
        KCM_PORT=$MBOX_KCM_PORT SCHEDULER_PORT=$MBOX_SCHEDULER_PORT KWOK_PORT=$MBOX_KWOK_PORT
        AGENT_SANDBOX_METRICS_PORT=$MBOX_AGENT_SANDBOX_METRICS_PORT
        AGENT_SANDBOX_HEALTH_PORT=$MBOX_AGENT_SANDBOX_HEALTH_PORT PG_PORT=$MBOX_PG_PORT
}
use_ports
NODES=${MBOX_KWOK_NODES:-2}
WAIT=${MBOX_WAIT_SECONDS:-120}

PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
KUBECONFIG_ADMIN=$STATE/kubeconfig
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
STAGES=$KWOK_BIN/kustomize/stage
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok agent-sandbox kwok-pods postgres)

say() { printf 'cluster: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
kctl() { "$K8S_BIN/kubectl" --kubeconfig="$KUBECONFIG_ADMIN" "$@"; }

pid_of() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid"; }
alive() { # name
        local p
        p=$(pid_of "$1") || return 1
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

need_port() { # port what variable
        port_free "$1" || die "port $1 for $2 is already in use by a process this script did not start; set $3 to a free port or stop that process"
}

# Every port is checked before anything starts, so a conflict leaves nothing half-started.
check_ports() {
        alive etcd || { need_port "$ETCD_PORT" etcd MBOX_ETCD_PORT; need_port "$ETCD_PEER_PORT" etcd MBOX_ETCD_PEER_PORT; }
        alive kube-apiserver || need_port "$APISERVER_PORT" kube-apiserver MBOX_APISERVER_PORT
        alive kube-controller-manager || need_port "$KCM_PORT" kube-controller-manager MBOX_KCM_PORT
        alive kube-scheduler || need_port "$SCHEDULER_PORT" kube-scheduler MBOX_SCHEDULER_PORT
        alive kwok || need_port "$KWOK_PORT" kwok MBOX_KWOK_PORT
        alive agent-sandbox || {
                need_port "$AGENT_SANDBOX_METRICS_PORT" agent-sandbox MBOX_AGENT_SANDBOX_METRICS_PORT
                need_port "$AGENT_SANDBOX_HEALTH_PORT" agent-sandbox MBOX_AGENT_SANDBOX_HEALTH_PORT
        }
        alive postgres || need_port "$PG_PORT" postgres MBOX_PG_PORT
}

waitfor() { # what command...
        local what=$1 i
        shift
        for ((i = 0; i < WAIT * 4; i++)); do
                if "$@" >/dev/null 2>&1; then return 0; fi
                # a component that exited will never become ready: say so at once, with its last words
                if [ -f "$PIDS/$what.pid" ] && ! alive "$what"; then
                        tail -n 5 "$LOGS/$what.log" >&2
                        die "$what exited; see $LOGS/$what.log"
                fi
                sleep 0.25
        done
        die "$what not ready after ${WAIT}s; see $LOGS/"
}

start() { # name command...
        local name=$1
        shift
        mkdir -p "$LOGS" "$PIDS"
        # setsid: the component outlives this script and its terminal; the PID file is how down finds it
        setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
        echo $! >"$PIDS/$name.pid"
}

kubeconfig() { # file user cert
        cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mbox-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$3.crt
    client-key: $PKI/$3.key
contexts:
- name: mbox-local
  context: {cluster: mbox-local, user: $2}
current-context: mbox-local
KC
}

check_binaries() {
        local b
        for b in "$K8S_BIN/kube-apiserver" "$K8S_BIN/kubectl" "$ETCD_BIN/etcd" "$KWOK_BIN/kwok" \
                "$AGENT_SANDBOX_BIN/agent-sandbox-controller"; do
                [ -x "$b" ] || { say "building missing binaries (first run only)"; bash "$here/build-binaries.sh"; return; }
        done
}

up_etcd() {
        alive etcd && return
        start etcd "$ETCD_BIN/etcd" --name=node0 --data-dir="$STATE/etcd" \
                --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
                --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
                --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
                --initial-cluster="node0=http://127.0.0.1:$ETCD_PEER_PORT" \
                --auto-compaction-retention=1 --quota-backend-bytes=8589934592 --unsafe-no-fsync
}

# The audit log records what tests need to see of other components' requests: the SubjectAccessReviews
# that aggregated API servers send (with their bodies), and the URIs of pods/exec calls.
audit_policy() {
        cat >"$STATE/audit-policy.yaml" <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Request
  verbs: [create]
  resources: [{group: authorization.k8s.io, resources: [subjectaccessreviews]}]
- level: Metadata
  resources: [{group: "", resources: [pods/exec]}]
- level: None
YAML
}

up_apiserver() {
        alive kube-apiserver && return
        audit_policy
        start kube-apiserver "$K8S_BIN/kube-apiserver" \
                --audit-policy-file="$STATE/audit-policy.yaml" --audit-log-path="$LOGS/audit.log" \
                --audit-log-maxsize=100 --audit-log-maxbackup=1 \
                --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
                --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" --advertise-address=127.0.0.1 \
                --endpoint-reconciler-type=none --service-cluster-ip-range=10.96.0.0/16 \
                --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
                --client-ca-file="$PKI/ca.crt" \
                --service-account-issuer=https://kubernetes.default.svc.cluster.local \
                --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
                --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
                --kubelet-preferred-address-types=InternalIP,Hostname \
                --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
                --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
                --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
                --requestheader-allowed-names=front-proxy-client \
                --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
                --requestheader-uid-headers=X-Remote-Uid \
                --requestheader-extra-headers-prefix=X-Remote-Extra- \
                --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
                --proxy-client-key-file="$PKI/front-proxy-client.key"
}

up_controllers() {
        if ! alive kube-controller-manager; then
                start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
                        --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
                        --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
                        --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
                        --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
                        --use-service-account-credentials=true \
                        --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
                        --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
                        --service-cluster-ip-range=10.96.0.0/16
        fi
        if ! alive kube-scheduler; then
                start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$STATE/kube-scheduler.kubeconfig" \
                        --authentication-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
                        --authorization-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
                        --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --leader-elect=false
        fi
}

up_kwok() {
        kctl apply --server-side -f "$KWOK_BIN/kustomize/crd/bases/" >/dev/null
        kctl wait --for=condition=Established --timeout="${WAIT}s" -f "$KWOK_BIN/kustomize/crd/bases/" >/dev/null
        # a default ClusterExec, used only until kwok-pods has given a new pod its own directory
        mkdir -p "$STATE/pods/_default"
        kctl apply --server-side -f - >/dev/null <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {name: mbox-default}
spec:
  execs:
  - local:
      workDir: $STATE/pods/_default
YAML
        if ! alive kwok; then
                HOME=$STATE start kwok "$KWOK_BIN/kwok" --kubeconfig="$STATE/kwok.kubeconfig" \
                        --config="$STAGES/node/fast/node-initialize.yaml" \
                        --config="$STAGES/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
                        --config="$STAGES/pod/fast/pod-ready.yaml" --config="$STAGES/pod/fast/pod-complete.yaml" \
                        --config="$STAGES/pod/fast/pod-delete.yaml" \
                        --config="$STAGES/volume/fast/pvc-provision.yaml" --config="$STAGES/volume/fast/pv-bind.yaml" \
                        --config="$STAGES/volume/fast/pvc-delete.yaml" --config="$STAGES/volume/fast/pv-delete.yaml" \
                        --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --node-name=localhost --node-port="$KWOK_PORT" \
                        --server-address="127.0.0.1:$KWOK_PORT" \
                        --tls-cert-file="$PKI/kwok-serving.crt" --tls-private-key-file="$PKI/kwok-serving.key" \
                        --node-lease-duration-seconds=40 \
                        --enable-crds=Exec,ClusterExec,Logs,ClusterLogs,Attach,ClusterAttach,PortForward,ClusterPortForward
        fi
        kctl apply --server-side -f "$STAGES/volume/fast/storage-class.yaml" >/dev/null
        local i
        for ((i = 0; i < NODES; i++)); do
                kctl apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {node.alpha.kubernetes.io/ttl: "0", kwok.x-k8s.io/node: fake}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "1000"}
  capacity: {cpu: "64", memory: 256Gi, pods: "1000"}
YAML
        done
}

up_agent_sandbox() {
        local crds=$AGENT_SANDBOX_BIN/crds
        kctl apply --server-side -f "$crds/" >/dev/null
        # the controller builds its REST mappings once at start: the CRDs must be served before it runs
        kctl wait --for=condition=Established --timeout="${WAIT}s" -f "$crds/" >/dev/null
        alive agent-sandbox && return
        start agent-sandbox "$AGENT_SANDBOX_BIN/agent-sandbox-controller" --kubeconfig="$STATE/agent-sandbox.kubeconfig" \
                --extensions=true --leader-elect=false \
                --metrics-bind-address="127.0.0.1:$AGENT_SANDBOX_METRICS_PORT" \
                --health-probe-bind-address="127.0.0.1:$AGENT_SANDBOX_HEALTH_PORT"
}

up_kwok_pods() {
        alive kwok-pods && return
        start kwok-pods bash "$here/kwok-pods.sh" "$KUBECONFIG_ADMIN" "$STATE/pods"
}

pg_as() { # run a postgres binary as the postgres user when we are root (postgres refuses to run as root)
        if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

up_postgres() {
        local data=$STATE/postgres sock=$STATE/postgres-run
        [ -n "$PG_BIN" ] || die "PostgreSQL server binaries are missing; run hack/install-deps.sh"
        alive postgres && return
        mkdir -p "$data" "$sock"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$data" "$sock" && chmod 755 "$STATE"
        if [ ! -f "$data/PG_VERSION" ]; then
                pg_as "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOGS/postgres-initdb.log" 2>&1 ||
                        die "initdb failed; see $LOGS/postgres-initdb.log"
        fi
        touch "$LOGS/postgres.log" && { [ "$(id -u)" -ne 0 ] || chown postgres: "$LOGS/postgres.log"; }
        pg_as "$PG_BIN/pg_ctl" -D "$data" -l "$LOGS/postgres.log" -w -t "$WAIT" \
                -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $sock -c fsync=off -c max_connections=200" start >/dev/null
        head -n 1 "$data/postmaster.pid" >"$PIDS/postgres.pid"
        local i
        for ((i = 0; i < WAIT * 4; i++)); do
                "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
                sleep 0.25
        done
        "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='mbox'" |
                grep -q 1 || "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres mbox
}

cmd_up() {
        local t0=$SECONDS
        check_binaries
        mkdir -p "$STATE" "$LOGS" "$PIDS"
        local n
        for n in "${COMPONENTS[@]}" containerd kubelet; do alive "$n" && break; n=; done
        # nothing runs: the ports are chosen anew (the ones in ports.env may have been taken since)
        [ -n "$n" ] || { stack_fix_ports; use_ports; }
        check_ports
        bash "$here/pki.sh" "$PKI"
        kubeconfig "$KUBECONFIG_ADMIN" mbox-admin admin
        kubeconfig "$STATE/kube-controller-manager.kubeconfig" kube-controller-manager kube-controller-manager
        kubeconfig "$STATE/kube-scheduler.kubeconfig" kube-scheduler kube-scheduler
        kubeconfig "$STATE/kwok.kubeconfig" kwok kwok
        kubeconfig "$STATE/agent-sandbox.kubeconfig" agent-sandbox agent-sandbox

        up_postgres &
        local pg=$!
        up_etcd
        waitfor etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
        up_apiserver
        waitfor kube-apiserver curl -fsS --cacert "$PKI/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz"
        up_controllers
        up_kwok
        up_agent_sandbox
        up_kwok_pods
        waitfor kube-controller-manager curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
        waitfor kube-scheduler curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz"
        waitfor "the default ServiceAccount" kctl -n default get serviceaccount default
        waitfor "kwok nodes" kctl wait --for=condition=Ready node -l type=kwok --timeout=1s
        waitfor agent-sandbox curl -fsS "http://127.0.0.1:$AGENT_SANDBOX_HEALTH_PORT/readyz"
        wait "$pg" || die "postgres did not start; see $LOGS/postgres.log"
        bash "$here/node.sh" up
        say "ready in $((SECONDS - t0))s"
        cmd_env
}

cmd_down() {
        local n p i
        bash "$here/node.sh" down "$@"
        for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
                n=${COMPONENTS[$i]}
                alive "$n" || { rm -f "$PIDS/$n.pid"; continue; }
                p=$(pid_of "$n")
                if [ "$n" = postgres ]; then
                        pg_as "$PG_BIN/pg_ctl" -D "$STATE/postgres" -m fast -w stop >/dev/null 2>&1 || kill "$p"
                else
                        # the process group of a component started with setsid is its own; its children go too
                        kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true
                fi
                for ((j = 0; j < 40; j++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
                kill -0 "$p" 2>/dev/null && kill -9 -- "-$p" 2>/dev/null
                rm -f "$PIDS/$n.pid"
                say "stopped $n (pid $p)"
        done
        if [ "${1:-}" = --purge ]; then
                rm -rf "$STATE"
                say "removed $STATE"
        fi
}

cmd_status() {
        local n ok=0
        for n in "${COMPONENTS[@]}"; do
                if alive "$n"; then
                        printf '%-26s running (pid %s)\n' "$n" "$(pid_of "$n")"
                else
                        printf '%-26s stopped\n' "$n"
                        ok=1
                fi
        done
        bash "$here/node.sh" status
        if alive kube-apiserver; then
                kctl get nodes -L mbox.dev/node 2>/dev/null || true
        fi
        return $ok
}

cmd_env() {
        cat <<MSG
The local cluster is up.
  export KUBECONFIG=$KUBECONFIG_ADMIN
  export PATH=$K8S_BIN:\$PATH              # kubectl $K8S_VERSION, matching the cluster
  kubectl get nodes
  Postgres: postgresql://postgres@127.0.0.1:$PG_PORT/mbox
  Logs: $LOGS/<component>.log     Stop: make cluster-down
MSG
}

case ${1:-} in
up) cmd_up ;;
down) shift; cmd_down "$@" ;;
status) cmd_status ;;
env) cmd_env ;;
*) echo "usage: $0 up|down [--purge]|status|env" >&2; exit 2 ;;
esac
