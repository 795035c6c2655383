#!/usr/bin/env bash
# Proves that `make test` leaves the user's stack alone (CI runs it around `make test`):
#   start   make up and make demo (until its task Succeeded), then records what runs: the PIDs of every component, mbox-operator
#           and mbox-apiserver, and the demo sandbox's uid
#   check   the same processes still run, the APIService v1alpha1.runtime.mbox.dev is Available and
#           answers through kube-apiserver, the demo sandbox is the same object and still Running, and
#           its task's output is still served
# Usage: tests/user-stack.sh start|check
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/hack/versions.sh"
. "$root/hack/stack.sh"
export KUBECONFIG=$MBOX_STATE_DIR/kubeconfig PATH=$K8S_BIN:$PATH
record=$MBOX_STATE_DIR/user-stack.before

fail() { echo "user-stack: FAIL: $*" >&2; exit 1; }

snapshot() {
        local f
        for f in "$MBOX_STATE_DIR"/pids/*.pid; do printf '%s %s\n' "$(basename "$f" .pid)" "$(cat "$f")"; done
        printf 'demo-sandbox %s\n' "$(kubectl -n mbox-demo get sandboxes.mbox.dev demo-sandbox -o jsonpath='{.metadata.uid}')"
}

case ${1:-} in
start)
        make -C "$root" --no-print-directory up
        make -C "$root" --no-print-directory demo
        kubectl -n mbox-demo wait --for=jsonpath='{.status.phase}'=Succeeded executiontasks.mbox.dev/list-workspace \
                --timeout=120s >/dev/null || fail "the demo task did not succeed"
        snapshot >"$record"
        echo "user-stack: recorded $(wc -l <"$record") processes and objects"
        ;;
check)
        [ -f "$record" ] || fail "no record: run '$0 start' first"
        now=$(snapshot)
        [ "$now" = "$(cat "$record")" ] || fail "the stack changed under the tests: $(diff <(cat "$record") <(printf '%s\n' "$now") | tr '\n' ' ')"
        while read -r name pid; do
                [ "$name" = demo-sandbox ] || kill -0 "$pid" 2>/dev/null || fail "$name (pid $pid) is gone"
        done <"$record"
        available=$(kubectl get apiservice v1alpha1.runtime.mbox.dev -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')
        [ "$available" = True ] || fail "APIService v1alpha1.runtime.mbox.dev is not Available: $(kubectl get apiservice v1alpha1.runtime.mbox.dev -o jsonpath='{.status.conditions}')"
        port=$(kubectl get apiservice v1alpha1.runtime.mbox.dev -o jsonpath='{.spec.service.port}')
        [ "$port" = "$MBOX_APISERVER_LOCAL_PORT" ] || fail "the APIService points at port $port, the user's mbox-apiserver listens on $MBOX_APISERVER_LOCAL_PORT"
        kubectl get --raw /apis/runtime.mbox.dev/v1alpha1 >/dev/null || fail "runtime.mbox.dev does not answer"
        phase=$(kubectl -n mbox-demo get sandboxes.mbox.dev demo-sandbox -o jsonpath='{.status.phase}')
        [ "$phase" = Running ] || fail "demo-sandbox is $phase, not Running"
        n=$(kubectl -n mbox-demo get taskoutputs -o name | wc -l)
        [ "$n" -gt 0 ] || fail "no task output served in mbox-demo"
        echo "user-stack: untouched: $(wc -l <"$record") processes and objects the same, APIService Available, demo-sandbox Running, $n task outputs served"
        ;;
*)
        echo "usage: $0 start|check" >&2
        exit 2
        ;;
esac
