# Shared helpers for the integration tests, sourced by each tests/integration/test-*.sh.
# A test file defines functions named test_*; tests/integration/run.sh runs each in its own subshell
# against the test stack it selected (MBOX_STATE_DIR, hack/stack.sh), with a fresh namespace from
# new_namespace when it needs one.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/hack/versions.sh"
. "$root/hack/stack.sh"
export PATH=$K8S_BIN:$PATH
# use_stack: kubectl, PKI and the ports point at the selected stack (again after selecting another one)
use_stack() {
        export KUBECONFIG=$MBOX_STATE_DIR/kubeconfig
        PKI=$MBOX_STATE_DIR/pki PG_PORT=$MBOX_PG_PORT APISERVER_PORT=$MBOX_APISERVER_PORT
}
use_stack

_namespaces=()
_pids=()

log() { printf '    %s\n' "$*" >&2; }

fail() {
        printf '    FAIL: %s\n' "$*" >&2
        exit 1
}

# new_namespace PREFIX: creates a namespace with a unique name, prints it, deletes it when the test ends.
new_namespace() {
        local ns
        ns="$1-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        kubectl create namespace "$ns" >/dev/null || fail "cannot create namespace '$ns'"
        # pods are refused until the ServiceAccount controller has made the default account
        wait_for "serviceaccount in $ns" 30 kubectl -n "$ns" get serviceaccount default
        printf '%s\n' "$ns" >>"$_cleanup_file"
        printf '%s' "$ns"
}

# bg_start CMD...: starts a helper process for the test; it is killed (by PID) when the test ends.
bg_start() {
        "$@" &
        printf 'pid %s\n' "$!" >>"$_cleanup_file"
}

# wait_for DESC SECONDS CMD...: polls CMD every 0.25 s until it succeeds.
wait_for() {
        local what=$1 secs=$2 i
        shift 2
        for ((i = 0; i < secs * 4; i++)); do
                if "$@" >/dev/null 2>&1; then return 0; fi
                sleep 0.25
        done
        fail "timed out after ${secs}s waiting for $what"
}

assert_eq() { # expected actual what
        [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_contains() { # haystack needle what
        case $1 in *"$2"*) ;; *) fail "$3: expected to contain '$2', got '$1'" ;; esac
}

_cleanup() {
        local kind v
        # the test body ran under set -e; cleanup must go through every entry whatever fails
        set +e
        # the list is read on fd 3: commands in the loop (kubectl) must not eat it from stdin
        # the processes first, wherever they were listed: an operator drains its workers, and must be gone
        # before its objects are forgotten (one started after a project was listed would put its
        # finalizers back)
        while read -r kind v <&3; do
                [ "$kind" = pid ] || continue
                kill "$v" 2>/dev/null
                for _ in $(seq 1 120); do kill -0 "$v" 2>/dev/null || break; sleep 0.25; done
        done 3<"$_cleanup_file"
        # then an APIService whose server just stopped: while it is registered and unavailable, discovery
        # fails and the namespace controller backs off (minutes) from every namespace being deleted
        while read -r kind v <&3; do
                case $kind$v in objectapiservice/*) kubectl delete $v --ignore-not-found --wait=false >/dev/null 2>&1 ;; esac
        done 3<"$_cleanup_file"
        while read -r kind v <&3; do
                case $kind in
                pid) ;;
                file) rm -f "$v" ;;
                dir) rm -rf "$v" ;;
                db) psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "DROP DATABASE IF EXISTS $v WITH (FORCE)" >/dev/null 2>&1 ;;
                project) forget_project "$v" ;;
                object) kubectl delete $v --ignore-not-found --wait=false >/dev/null 2>&1 ;; # "KIND/NAME [-n NS]"
                *) kubectl delete namespace "$kind" --wait=false >/dev/null 2>&1 ;;
                esac
        done 3<"$_cleanup_file"
        rm -f "$_cleanup_file"
}

# serving_cert DIR CN SAN: DIR/tls.crt and DIR/tls.key for CN with subjectAltName SAN, signed by the cluster
# CA (what the aggregation layer trusts through an APIService's caBundle); removed when the test ends.
serving_cert() {
        local dir=$1
        printf 'file %s/tls.key\nfile %s/tls.crt\nfile %s/tls.csr\nfile %s/ext\n' "$dir" "$dir" "$dir" "$dir" >>"$_cleanup_file"
        openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/tls.key" -subj "/CN=$2" -out "$dir/tls.csr" 2>/dev/null
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$dir/ext"
        openssl x509 -req -in "$dir/tls.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 \
                -extfile "$dir/ext" -out "$dir/tls.crt" 2>/dev/null || fail "cannot sign a serving certificate for $2"
}

# ---- mbox-operator ----
# install_operator_rbac: the CRDs, the mbox-system namespace, and the operator's ServiceAccount and RBAC
# from manifests/base (idempotent), so the operator under test runs with exactly the rights it ships with.
install_operator_rbac() {
        bash "$(dirname "${BASH_SOURCE[0]}")/../../hack/mbox.sh" install
}

# operator_kubeconfig FILE: a kubeconfig for the mbox-operator ServiceAccount.
operator_kubeconfig() {
        bash "$(dirname "${BASH_SOURCE[0]}")/../../hack/mbox.sh" kubeconfig "$1" || fail "cannot write a kubeconfig for mbox-operator"
}

# start_operator LOG [ARGS...]: runs build/mbox-operator as its ServiceAccount, logging to LOG, and waits
# until it is ready; prints its health port.
start_operator() {
        local log=$1 kc port
        shift
        kc=$(mktemp)
        printf 'file %s\n' "$kc" >>"$_cleanup_file"
        operator_kubeconfig "$kc"
        bg_start "$root/build/mbox-operator" --kubeconfig="$kc" --health-address=127.0.0.1:0 "$@" >"$log" 2>&1
        wait_for "the operator to log its health port" 20 grep -q 'port=' "$log"
        port=$(sed -nE 's/.*msg="serving .* port=([0-9]+).*/\1/p' "$log" | head -n 1)
        wait_for "the operator to be ready" 60 curl -fs "http://127.0.0.1:$port/readyz"
        printf '%s' "$port"
}

# metric PORT NAME: the sum of every series of a metric family on the operator's /metrics.
metric() {
        curl -fs "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"({|$)" {s += $NF} END {printf "%d", s}'
}

# forget_project NAME: removes a test project whatever state it is in, without an operator: finalizers of
# its sandboxes and of the project are dropped, then the project and its namespace are deleted.
forget_project() {
        local ns
        ns=$(kubectl get projects.mbox.dev "$1" -o jsonpath='{.status.namespace}' 2>/dev/null)
        [ -n "$ns" ] || ns=mbox-$1
        for sb in $(kubectl -n "$ns" get sandboxes.mbox.dev -o name 2>/dev/null); do
                kubectl -n "$ns" patch "$sb" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
        done
        kubectl patch projects.mbox.dev "$1" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
        kubectl delete projects.mbox.dev "$1" --wait=false >/dev/null 2>&1
        kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
}

# ---- mbox objects, for the operator and task tests ----

# real_node_pod NS NAME COMMAND [LABELS]: a pod on the stack's real node (its busybox image, restricted,
# no service-account token) running sh -c COMMAND; LABELS is a YAML flow mapping's entries ("k: v, ...")
real_node_pod() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $1, labels: {app: $2${4:+, $4}}}
spec:
  automountServiceAccountToken: false
  nodeSelector: {mbox.dev/node: real}
  tolerations: [{key: mbox.dev/node, operator: Equal, value: real, effect: NoSchedule}]
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: main
      image: $(. "$root/hack/versions.sh" && echo "$NODE_BUSYBOX_IMAGE")
      command: ["sh", "-c", "$3"]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
}

# placement_in_force NS TEMPLATE: a sandbox pod of TEMPLATE in NS (a server-side dry run) gets the real
# node's selector: kube-apiserver applies a new admission policy only once its informer has it, and a pod
# created before would land on KWOK
placement_in_force() {
        kubectl -n "$1" create --dry-run=server -o jsonpath='{.spec.nodeSelector.mbox\.dev/node}' -f - 2>/dev/null <<YAML |
apiVersion: v1
kind: Pod
metadata: {generateName: placement-check-, labels: {mbox.dev/template: $2}}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: sandbox
      image: busybox:1.36
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
                grep -x real >/dev/null
}

# demo_room: the examples name project demo and namespace mbox-demo; a demo left by `make demo` or by an
# earlier test makes room first. A namespace with pods on the real node ends only after their grace period
# and its volumes' release: that is waited for too.
demo_room() {
        if kubectl get projects.mbox.dev demo >/dev/null 2>&1; then
                log "replacing the existing project demo"
                kubectl delete projects.mbox.dev demo --timeout=90s >/dev/null || forget_project demo
        fi
        wait_for "namespace mbox-demo to go" 300 gone "" namespace mbox-demo
}

# new_project [SPEC-YAML]: a project named t-<random> with namespace mbox-<name>; prints the name.
new_project() {
        local name
        name="t-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        printf 'project %s\n' "$name" >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $name}
spec:
  displayName: Test $name
${1:-}
YAML
        wait_for "project $name Ready" 30 kubectl wait --for=condition=Ready "projects.mbox.dev/$name" --timeout=1s
        printf '%s' "$name"
}

# template NS NAME [EXTRA-SPEC-YAML]: a small template (BusyBox, workspace 1Gi, cold start).
template() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: $2, namespace: $1}
spec:
  image: busybox:1.36
  command: ["sh", "-c", "tail -f /dev/null"]
  resourcePreset: Small
${3:-}
YAML
}

# sandbox NS NAME [EXTRA-SPEC-YAML]
sandbox() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: $2, namespace: $1}
spec:
  templateRef: {name: ${TEMPLATE:-box}}
${3:-}
YAML
}

phase() { kubectl -n "$1" get sandboxes.mbox.dev "$2" -o jsonpath='{.status.phase}'; }
reason() { kubectl -n "$1" get sandboxes.mbox.dev "$2" -o jsonpath='{.status.reason}'; }
phase_is() { [ "$(phase "$1" "$2")" = "$3" ]; }
reason_is() { [ "$(reason "$1" "$2")" = "$3" ]; }
gone() { ! kubectl -n "$1" get "$2" "$3" >/dev/null 2>&1; }
# event_is NS OBJECT FIELD VALUE: an Event about OBJECT has FIELD (reason, type) VALUE; for wait_for, as the
# operator writes its Events in the background, after the status that follows them
event_is() {
        kubectl -n "$1" get events --field-selector involvedObject.name="$2" -o jsonpath="{.items[*].$3}" |
                tr ' ' '\n' | grep -qx "$4"
}
count() { kubectl -n "$1" get "$2" -o name ${3:+-l "$3"} 2>/dev/null | wc -l; }
# count_is NS KIND OP N: for wait_for, which must re-run the count each time (a "$(count)" argument would
# be expanded once, before waiting)
count_is() { [ "$(count "$1" "$2")" "$3" "$4" ]; }
running_is() {
        [ "$(kubectl -n "$1" get sandboxes.mbox.dev -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$')" -eq "$2" ]
}

# start_apiserver: a serving certificate from the cluster CA, mbox-apiserver on loopback (the front
# proxy's CA and names read from kube-system/extension-apiserver-authentication, as in a cluster), and the
# APIService that routes runtime.mbox.dev to it; sets APIPORT, APIPID and APILOG.
# start_apiserver [DATABASE-URL [FLAG...]]: the local database by default; flags go to mbox-apiserver.
start_apiserver() {
        run_apiserver "$@"
        printf 'object apiservice/v1alpha1.runtime.mbox.dev\nobject service/mbox-apiserver -n mbox-system\n' >>"$_cleanup_file"
        bash "$root/hack/mbox.sh" register "$APIPORT" || fail "APIService not Available: $(tail -5 "$APILOG")"
}

# run_apiserver [DATABASE-URL [FLAG...]]: start_apiserver without the APIService (another replica); sets
# APIPORT, APIPID and APILOG.
run_apiserver() {
        local dir kc log db=${1:-postgresql://postgres@127.0.0.1:$PG_PORT/mbox}
        shift $(($# > 0 ? 1 : 0))
        install_operator_rbac # mbox-system and its accounts, when this test is the first to need them
        dir=$(mktemp -d)
        serving_cert "$dir" mbox-apiserver.mbox-system.svc DNS:mbox-apiserver.mbox-system.svc,DNS:localhost,IP:127.0.0.1
        kc=$(mktemp) log=$(mktemp)
        APILOG=$log
        printf 'file %s\nfile %s\n' "$kc" "$log" >>"$_cleanup_file"
        bash "$root/hack/mbox.sh" kubeconfig "$kc" mbox-apiserver || fail "no kubeconfig for mbox-apiserver"
        # the preview signing key (a stack made before hack/pki.sh made one gets it now)
        [ -f "$PKI/preview-signing.key" ] || bash "$root/hack/pki.sh" "$PKI" >/dev/null
        bg_start "$root/build/mbox-apiserver" --bind-address=127.0.0.1 --secure-port=0 --tls-cert-file="$dir/tls.crt" \
                --tls-private-key-file="$dir/tls.key" --kubeconfig="$kc" --preview-signing-key-file="$PKI/preview-signing.key" \
                --database-url="$db" "$@" >"$log" 2>&1
        APIPID=$!
        wait_for "mbox-apiserver to listen" 20 grep -q 'port=' "$log"
        APIPORT=$(sed -nE 's/.*msg="serving runtime.mbox.dev" .*port=([0-9]+).*/\1/p' "$log" | head -n 1)
}

# psql_ ARGS...: psql on the stack's database mbox, as postgres
psql_() { "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d mbox "$@"; }

# compact_etcd: kube-apiserver stopped (kill -9), etcd compacted past every revision it served (a key outside
# /registry is written first, so the compaction passes whatever anyone has seen, bookmarks included), then
# kube-apiserver started again: a watch from any resourceVersion from before gets 410 Gone, from etcd as
# from the cache of a kube-apiserver that never saw those events.
compact_etcd() {
        local p rev i etcd="http://127.0.0.1:${MBOX_ETCD_PORT:-2379}"
        p=$(cat "$MBOX_STATE_DIR/pids/kube-apiserver.pid")
        kill -9 "$p"
        _exited() { ! kill -0 "$p"; }
        wait_for "kube-apiserver to exit" 30 _exited
        rev=$(curl -fsS -X POST "$etcd/v3/kv/put" -d "{\"key\":\"$(printf mbox-test/compaction | base64 -w0)\",\"value\":\"eA==\"}" |
                jq -r .header.revision) || fail "cannot write to etcd"
        curl -fsS -X POST "$etcd/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null ||
                fail "cannot compact etcd"
        for i in 1 2 3 4 5; do bash "$root/hack/cluster.sh" up >/dev/null 2>&1 && break; sleep 2; done
        kubectl get --raw /readyz >/dev/null || fail "kube-apiserver did not come back"
}

setup_operator() {
        install_operator_rbac
        OPLOG=$(mktemp)
        printf 'file %s\n' "$OPLOG" >>"$_cleanup_file"
        PORT=$(start_operator "$OPLOG" --resync=2s "$@")
}

# ---- assertions on refusals and on controllers having looked ----
# A refusal is checked for its reason, not only for a non-zero exit: a command that fails for another
# reason (a typo, a server that is down, a missing permission elsewhere) must not pass for the refusal under
# test. And "nothing changed" is only asserted once the controller is known to have looked since the change.

# refused WHAT NEEDLE CMD...: CMD must fail, and what it printed (stdout and stderr) must contain NEEDLE,
# the reason (a Status reason, an HTTP code, a field path, the rule's words); the output is left in REFUSAL
# for further checks.
refused() {
        local what=$1 needle=$2 rc=0
        shift 2
        REFUSAL=$("$@" 2>&1) || rc=$?
        [ "$rc" -ne 0 ] || fail "$what: accepted, expected a refusal saying '$needle': $REFUSAL"
        assert_contains "$REFUSAL" "$needle" "$what: the reason of the refusal"
}

# metric_of PORT NAME LABEL: the sum of the series of a metric family on the operator's /metrics that carry
# LABEL (e.g. 'controller="sandbox"').
metric_of() {
        curl -fs "http://127.0.0.1:$1/metrics" |
                awk -v n="$2" -v l="$3" '$1 ~ "^"n"({|$)" && index($1, l) {s += $NF} END {printf "%d", s}'
}

# metric_above PORT NAME LABEL N: for wait_for: the sum of those series is above N.
metric_above() { [ "$(metric_of "$1" "$2" "$3")" -gt "$4" ]; }

# wait_reconciles PORT CONTROLLER N SECONDS: waits until CONTROLLER (project, template, sandbox, task) has
# finished N more reconciles than when called; with a resync every 2 s, N at least twice the objects it
# watches means every one of them was looked at since.
wait_reconciles() {
        local from
        from=$(metric_of "$1" mbox_operator_reconcile_total "controller=\"$2\"")
        wait_for "$3 more reconciles by the $2 controller" "$4" metric_above "$1" mbox_operator_reconcile_total \
                "controller=\"$2\"" $((from + $3 - 1))
}

# observed NS RESOURCE NAME: for wait_for: the controller has written the status of the object's current
# spec (status.observedGeneration is metadata.generation); NS empty for a cluster-scoped object.
observed() {
        local v
        v=$(kubectl ${1:+-n "$1"} get "$2" "$3" -o jsonpath='{.metadata.generation}={.status.observedGeneration}') ||
                return 1
        [ "${v%%=*}" = "${v#*=}" ]
}

# wait_timed WHAT SECONDS CMD...: wait_for that logs how long the wait took. For checks that something
# happens soon enough: the figure tells a loaded machine from a regression, and the bound stays generous.
wait_timed() {
        local t0 ms
        t0=$(date +%s%N)
        wait_for "$@"
        ms=$((($(date +%s%N) - t0) / 1000000))
        log "$1: after $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s (limit $2s)"
}

# remotecommand ARGS...: client-go's WebSocket exec client (tests/integration/go/remotecommand), built
# first when its sources changed since the last build
remotecommand() {
        local out
        if [ ! -x "$REMOTECOMMAND_BIN/remotecommand" ]; then
                out=$(bash "$root/hack/build-binaries.sh" remotecommand 2>&1) ||
                        fail "cannot build tests/integration/go/remotecommand: $(tail -n 5 <<<"$out")"
        fi
        "$REMOTECOMMAND_BIN/remotecommand" --kubeconfig "$KUBECONFIG" "$@"
}
