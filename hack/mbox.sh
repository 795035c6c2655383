#!/usr/bin/env bash
# The main job on the local control plane (make up / make down / make demo):
#   up        hack/cluster.sh up, then the mbox CRDs and the operator's namespace, ServiceAccount and RBAC
#             from manifests/base, then mbox-operator as a local process that authenticates as its
#             ServiceAccount (so it has exactly the rights its manifests give it); prints what to do next
#   down      stops mbox-operator (by its PID), then the local control plane
#   demo      applies examples/ in order and waits until the demo sandbox is Running
#   install   only the CRDs, namespace, ServiceAccounts and RBAC (idempotent; tests use it)
#   kubeconfig FILE [SA]  writes a kubeconfig for ServiceAccount mbox-system/SA (default mbox-operator; a
#                     token valid 24 h)
# The operator logs to $MBOX_STATE_DIR/logs/mbox-operator.log and serves /healthz, /readyz and /metrics on
# 127.0.0.1:$MBOX_OPERATOR_PORT (default 18091). mbox-apiserver and the console join `up` when they exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"
STATE=${MBOX_STATE_DIR:-/var/tmp/mbox-$(id -un)}
OPERATOR_PORT=${MBOX_OPERATOR_PORT:-18091}
PIDFILE=$STATE/pids/mbox-operator.pid
LOG=$STATE/logs/mbox-operator.log
export KUBECONFIG=$STATE/kubeconfig
export PATH=$K8S_BIN:$PATH

cmd_install() {
        kubectl apply --server-side -f "$root/crds/" >/dev/null
        kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
        kubectl apply -f "$root/manifests/base/namespace.yaml" -f "$root/manifests/base/serviceaccounts.yaml" \
                -f "$root/manifests/base/rbac-operator.yaml" -f "$root/manifests/base/rbac-apiserver.yaml" \
                -f "$root/manifests/base/rbac-user-roles.yaml" >/dev/null
}

cmd_kubeconfig() {
        local out=$1 sa=${2:-mbox-operator} token server ca
        token=$(kubectl -n mbox-system create token "$sa" --duration=24h)
        server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
        ca=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
        if [ -z "$ca" ]; then
                ca=$(base64 -w0 <"$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')")
        fi
        (
                umask 077
                cat >"$out" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: $sa, user: {token: "$token"}}]
contexts: [{name: $sa, context: {cluster: local, user: $sa}}]
current-context: $sa
KC
        )
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

cmd_up() {
        bash "$here/cluster.sh" up
        [ -x "$root/build/mbox-operator" ] || { echo "build/mbox-operator is missing: run make first" >&2; exit 1; }
        echo "Installing the mbox CRDs, namespace and RBAC"
        cmd_install
        if running; then
                echo "mbox-operator is already running (pid $(cat "$PIDFILE"))"
        else
                if curl -s -o /dev/null "http://127.0.0.1:$OPERATOR_PORT/" 2>/dev/null; then
                        echo "port $OPERATOR_PORT is taken by another process: set MBOX_OPERATOR_PORT" >&2
                        exit 1
                fi
                mkdir -p "$STATE/pids" "$STATE/logs"
                cmd_kubeconfig "$STATE/mbox-operator.kubeconfig"
                echo "Starting mbox-operator (log: $LOG)"
                setsid "$root/build/mbox-operator" --kubeconfig="$STATE/mbox-operator.kubeconfig" \
                        --health-address="127.0.0.1:$OPERATOR_PORT" --leader-elect \
                        --database-url="postgresql://postgres@127.0.0.1:${MBOX_PG_PORT:-15432}/mbox" \
                        >>"$LOG" 2>&1 </dev/null &
                echo $! >"$PIDFILE"
                local i
                for ((i = 0; i < 120; i++)); do
                        curl -fs "http://127.0.0.1:$OPERATOR_PORT/readyz" >/dev/null 2>&1 && break
                        running || { tail -n 20 "$LOG" >&2; echo "mbox-operator exited" >&2; exit 1; }
                        sleep 0.5
                done
                running && curl -fs "http://127.0.0.1:$OPERATOR_PORT/readyz" >/dev/null ||
                        { tail -n 20 "$LOG" >&2; echo "mbox-operator is not ready" >&2; exit 1; }
        fi
        cat <<MSG

mbox is up: the local control plane and mbox-operator (metrics: http://127.0.0.1:$OPERATOR_PORT/metrics).
  export KUBECONFIG=$KUBECONFIG
  export PATH=$K8S_BIN:\$PATH
  make demo                                  # the walkthrough: a project, templates, a running sandbox
  kubectl get mbox -A                        # every mbox object
Not yet part of up: mbox-apiserver and the console. Stop everything with: make down
MSG
}

cmd_down() {
        if running; then
                local pid
                pid=$(cat "$PIDFILE")
                kill "$pid"
                for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
                echo "stopped mbox-operator"
        fi
        rm -f "$PIDFILE"
        bash "$here/cluster.sh" down "$@"
}

cmd_demo() {
        running || { echo "mbox-operator is not running: make up first" >&2; exit 1; }
        kubectl apply -f "$root/examples/00-project.yaml"
        kubectl wait --for=condition=Ready projects.mbox.dev/demo --timeout=60s
        kubectl apply -f "$root/examples/"
        echo "Waiting for mbox-demo/demo-sandbox to be Running"
        local i phase=
        for ((i = 0; i < 240; i++)); do
                phase=$(kubectl -n mbox-demo get sandboxes.mbox.dev demo-sandbox -o jsonpath='{.status.phase}')
                [ "$phase" = Running ] && break
                ((i % 8 == 0)) && echo "  phase: ${phase:-none yet} ($(kubectl -n mbox-demo get sandboxes.mbox.dev demo-sandbox -o jsonpath='{.status.message}'))"
                sleep 0.5
        done
        [ "$phase" = Running ] || { echo "demo-sandbox is not Running: kubectl -n mbox-demo describe sandboxes.mbox.dev demo-sandbox" >&2; exit 1; }
        kubectl -n mbox-demo get sandboxes.mbox.dev,environmenttemplates.mbox.dev
        echo "Stop it:  kubectl -n mbox-demo patch msb demo-sandbox --type=merge -p '{\"spec\":{\"state\":\"Stopped\"}}'"
}

case ${1:-} in
up) cmd_up ;;
down) shift; cmd_down "$@" ;;
demo) cmd_demo ;;
install) cmd_install ;;
kubeconfig) cmd_kubeconfig "$2" "${3:-}" ;;
*) echo "usage: $0 up|down|demo|install|kubeconfig FILE [SERVICEACCOUNT]" >&2; exit 2 ;;
esac
