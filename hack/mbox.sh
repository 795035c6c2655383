#!/usr/bin/env bash
# The main job on the local control plane (make up / make down / make demo):
#   up        hack/cluster.sh up, then the mbox CRDs and the namespace, ServiceAccounts and RBAC from
#             manifests/base, then mbox-operator and mbox-apiserver as local processes that authenticate
#             as their ServiceAccounts (so they have exactly the rights their manifests give them), the
#             apiserver registered with the aggregation layer (a Service and the APIService
#             v1alpha1.runtime.mbox.dev); prints what to do next
#   down      stops mbox-apiserver and mbox-operator (by their PIDs), then the local control plane
#   demo      applies examples/ in order and waits until the demo sandbox is Running
#   install   only the CRDs, namespace, ServiceAccounts and RBAC (idempotent; tests use it)
#   kubeconfig FILE [SA]  writes a kubeconfig for ServiceAccount mbox-system/SA (default mbox-operator; a
#                     token valid 24 h)
#   register PORT  the Service and APIService that route runtime.mbox.dev to an mbox-apiserver on
#                  127.0.0.1:PORT; waits until Available (tests use it)
#   console-token  prints a new sign-in token (1 h) for the console's demo user, ServiceAccount
#                  mbox-demo/console-demo, a Developer member of Project demo
# The operator logs to $MBOX_STATE_DIR/logs/mbox-operator.log and serves /healthz, /readyz and /metrics on
# 127.0.0.1:$MBOX_OPERATOR_PORT (default 18091); mbox-apiserver logs to logs/mbox-apiserver.log and serves
# HTTPS on 127.0.0.1:$MBOX_APISERVER_LOCAL_PORT (default 18443), with a certificate from the cluster CA, and
# its preview gateway on http://127.0.0.1:$MBOX_PREVIEW_PORT (default 18480; hosts *.preview.localhost) and
# the web console on http://127.0.0.1:$MBOX_CONSOLE_PORT/ (default 18490; files from web/dist, built by
# make web; docs/console.md). Both take their Lease in mbox-system (--leader-elect), so a second replica
# started beside them stands by. `up` also applies Project demo (examples/00-project.yaml) with the
# console's demo user as a Developer member.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"
. "$here/stack.sh"
STATE=$MBOX_STATE_DIR
PIDFILE=$STATE/pids/mbox-operator.pid
LOG=$STATE/logs/mbox-operator.log
API_PIDFILE=$STATE/pids/mbox-apiserver.pid
API_LOG=$STATE/logs/mbox-apiserver.log
use_ports() {
        OPERATOR_PORT=$MBOX_OPERATOR_PORT API_PORT=$MBOX_APISERVER_LOCAL_PORT PREVIEW_PORT=$MBOX_PREVIEW_PORT
        CONSOLE_PORT=$MBOX_CONSOLE_PORT
        # the preview gateway of mbox-apiserver: *.localhost is loopback in browsers (docs/previews.md)
        PREVIEW_DOMAIN=preview.localhost:$PREVIEW_PORT
        DATABASE_URL="postgresql://postgres@127.0.0.1:$MBOX_PG_PORT/mbox"
}
use_ports
export KUBECONFIG=$STATE/kubeconfig
export PATH=$K8S_BIN:$PATH

cmd_install() {
        # the installer owns the CRDs: a newer schema wins over whichever field manager applied the last one
        kubectl apply --server-side --force-conflicts -f "$root/crds/" >/dev/null
        kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
        kubectl apply -f "$root/manifests/base/namespace.yaml" -f "$root/manifests/base/serviceaccounts.yaml" \
                -f "$root/manifests/base/rbac-operator.yaml" -f "$root/manifests/base/admission-runtime.yaml" \
                -f "$root/manifests/base/admission-creator.yaml" \
                -f "$root/manifests/base/rbac-apiserver.yaml" \
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
api_running() { [ -f "$API_PIDFILE" ] && kill -0 "$(cat "$API_PIDFILE")" 2>/dev/null; }

# mbox-apiserver on loopback, and the Service + APIService that route runtime.mbox.dev to it
start_apiserver() {
        local pki=$STATE/pki dir=$STATE/apiserver i
        if api_running; then
                echo "mbox-apiserver is already running (pid $(cat "$API_PIDFILE"))"
                return
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
                echo "port $API_PORT is taken by another process: set MBOX_APISERVER_LOCAL_PORT" >&2
                exit 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$CONSOLE_PORT") 2>/dev/null; then
                echo "port $CONSOLE_PORT is taken by another process: set MBOX_CONSOLE_PORT" >&2
                exit 1
        fi
        mkdir -p "$dir"
        if [ ! -f "$dir/tls.crt" ] || ! openssl x509 -checkend 86400 -noout -in "$dir/tls.crt" >/dev/null; then
                (
                        umask 077
                        openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/tls.key" \
                                -subj "/CN=mbox-apiserver.mbox-system.svc" -out "$dir/tls.csr" 2>/dev/null
                        printf 'subjectAltName=DNS:mbox-apiserver.mbox-system.svc,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
                        openssl x509 -req -in "$dir/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
                                -days 365 -extfile "$dir/ext" -out "$dir/tls.crt" 2>/dev/null
                )
        fi
        cmd_kubeconfig "$STATE/mbox-apiserver.kubeconfig" mbox-apiserver
        echo "Starting mbox-apiserver (log: $API_LOG)"
        setsid "$root/build/mbox-apiserver" --bind-address=127.0.0.1 --secure-port="$API_PORT" \
                --tls-cert-file="$dir/tls.crt" --tls-private-key-file="$dir/tls.key" \
                --kubeconfig="$STATE/mbox-apiserver.kubeconfig" --database-url="$DATABASE_URL" --leader-elect \
                --preview-signing-key-file="$pki/preview-signing.key" \
                --preview-listen="127.0.0.1:$PREVIEW_PORT" --preview-domain="$PREVIEW_DOMAIN" \
                --preview-transport=port-forward \
                --console-listen="127.0.0.1:$CONSOLE_PORT" --console-dir="$root/web/dist" \
                >>"$API_LOG" 2>&1 </dev/null &
        echo $! >"$API_PIDFILE"
        for ((i = 0; i < 40; i++)); do
                curl -fs --cacert "$pki/ca.crt" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && break
                api_running || { tail -n 20 "$API_LOG" >&2; echo "mbox-apiserver exited" >&2; exit 1; }
                sleep 0.25
        done
        cmd_register "$API_PORT" || { tail -n 20 "$API_LOG" >&2; exit 1; }
}

# register PORT: the Service and the APIService v1alpha1.runtime.mbox.dev that route runtime.mbox.dev to an
# mbox-apiserver on 127.0.0.1:PORT (serving a certificate from the cluster CA); waits until it is Available
cmd_register() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: mbox-apiserver, namespace: mbox-system, labels: {app.kubernetes.io/name: mbox-apiserver}}
spec: {type: ExternalName, externalName: localhost}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.runtime.mbox.dev, labels: {app.kubernetes.io/name: mbox-apiserver}}
spec:
  group: runtime.mbox.dev
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {name: mbox-apiserver, namespace: mbox-system, port: $1}
  caBundle: $(base64 -w0 "$STATE/pki/ca.crt")
YAML
        kubectl wait --for=condition=Available apiservice/v1alpha1.runtime.mbox.dev --timeout=60s >/dev/null || {
                echo "the APIService v1alpha1.runtime.mbox.dev is not Available:" \
                        "$(kubectl get apiservice v1alpha1.runtime.mbox.dev -o jsonpath='{.status.conditions}')" >&2
                return 1
        }
}

# The walkthrough's busybox sandboxes run on the real node when the stack has one (hack/node.sh); without
# one, the placement policy is removed, or their pods would wait for a node that never comes.
place_walkthrough() {
        local policy=$root/manifests/overlays/local/real-node-placement.yaml
        if [ -n "$(kubectl get nodes -l mbox.dev/node=real -o name)" ]; then
                echo "The walkthrough's busybox sandboxes run on the real node"
                kubectl apply -f "$policy" >/dev/null
        else
                echo "No real node (not root?): every sandbox runs on KWOK, as host processes (docs/local-cluster.md)"
                kubectl delete --ignore-not-found -f "$policy" >/dev/null
        fi
}

# The console's demo user: ServiceAccount mbox-demo/console-demo, a Developer member of Project demo (applied
# here as make demo applies it; the member is added to whatever members the project has).
console_demo() {
        local member='{"kind":"ServiceAccount","name":"console-demo","namespace":"mbox-demo","role":"Developer"}' i
        kubectl apply -f "$root/examples/00-project.yaml" >/dev/null
        kubectl wait --for=condition=Ready projects.mbox.dev/demo --timeout=60s >/dev/null
        kubectl -n mbox-demo create serviceaccount console-demo --dry-run=client -o yaml | kubectl apply -f - >/dev/null
        if ! kubectl get projects.mbox.dev demo -o jsonpath='{range .spec.members[*]}{.kind}/{.namespace}/{.name}{"\n"}{end}' |
                grep -qx ServiceAccount/mbox-demo/console-demo; then
                if [ -n "$(kubectl get projects.mbox.dev demo -o jsonpath='{.spec.members}')" ]; then
                        kubectl patch projects.mbox.dev demo --type=json -p "[{\"op\":\"add\",\"path\":\"/spec/members/-\",\"value\":$member}]" >/dev/null
                else
                        kubectl patch projects.mbox.dev demo --type=json -p "[{\"op\":\"add\",\"path\":\"/spec/members\",\"value\":[$member]}]" >/dev/null
                fi
        fi
        # the operator binds the role in mbox-demo
        for ((i = 0; i < 60; i++)); do
                kubectl auth can-i list sandboxes.mbox.dev -n mbox-demo --as=system:serviceaccount:mbox-demo:console-demo >/dev/null 2>&1 && return
                sleep 0.5
        done
        echo "console-demo is not yet a Developer in mbox-demo (kubectl get projects.mbox.dev demo -o yaml)" >&2
}

cmd_console_token() {
        kubectl create token console-demo -n mbox-demo --duration=1h
}

cmd_up() {
        bash "$here/cluster.sh" up
        # the ports the stack runs on, chosen by that up when it started from nothing
        stack_load
        use_ports
        [ -x "$root/build/mbox-operator" ] || { echo "build/mbox-operator is missing: run make first" >&2; exit 1; }
        echo "Installing the mbox CRDs, namespace and RBAC"
        cmd_install
        place_walkthrough
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
                        --preview-domain="$PREVIEW_DOMAIN" \
                        --database-url="$DATABASE_URL" \
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
        start_apiserver
        echo "Adding the console's demo user to Project demo"
        console_demo
        local web="web/dist is there"
        [ -f "$root/web/dist/index.html" ] || web="run make web first: it answers 503 until then"
        cat <<MSG

mbox is up: the local control plane, mbox-operator (metrics: http://127.0.0.1:$OPERATOR_PORT/metrics) and
mbox-apiserver (runtime.mbox.dev through kube-apiserver; previews at http://*.$PREVIEW_DOMAIN/).
  export KUBECONFIG=$KUBECONFIG
  export PATH=$K8S_BIN:\$PATH
  make demo                                  # the walkthrough: a project, templates, a running sandbox
  kubectl get mbox -A                        # every mbox object
  kubectl -n mbox-demo get taskoutputs       # the full output of the demo's tasks (runtime.mbox.dev)
  kubectl -n mbox-demo get objecthistories -w  # every state of the demo's objects, and what comes next
Stop everything with: make down

Console: http://127.0.0.1:$CONSOLE_PORT/   ($web)
Sign in as mbox-demo/console-demo (a Developer of Project demo) with this token, valid 1 h
(a new one: hack/mbox.sh console-token):
$(cmd_console_token)
MSG
}

cmd_down() {
        if api_running; then
                kill "$(cat "$API_PIDFILE")"
                kubectl delete apiservice v1alpha1.runtime.mbox.dev --ignore-not-found --wait=false >/dev/null 2>&1 || true
                echo "stopped mbox-apiserver"
        fi
        rm -f "$API_PIDFILE"
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
        echo "Enter it: build/mbox terminal -p demo demo-sandbox     (or: build/mbox exec -p demo demo-sandbox -- ls)"
        echo "Stop it:  kubectl -n mbox-demo patch msb demo-sandbox --type=merge -p '{\"spec\":{\"state\":\"Stopped\"}}'"
}

case ${1:-} in
up) cmd_up ;;
down) shift; cmd_down "$@" ;;
demo) cmd_demo ;;
install) cmd_install ;;
kubeconfig) cmd_kubeconfig "$2" "${3:-}" ;;
register) cmd_register "$2" ;;
console-token) cmd_console_token ;;
*) echo "usage: $0 up|down|demo|install|kubeconfig FILE [SERVICEACCOUNT]|register PORT|console-token" >&2; exit 2 ;;
esac
