#!/usr/bin/env bash
# Gives every pod KWOK runs its own working directory on the host, so that `kubectl exec` in two sandboxes
# never shares files, and a log file for `kubectl logs`. KWOK's namespaced Exec and Logs objects are named
# after the pod they serve; the directory is keyed by namespace and pod name, so a pod recreated under the
# same name (a resumed sandbox) finds its files again. New pods are batched into one apply.
# Usage: hack/kwok-pods.sh KUBECONFIG PODS_DIR      (started by hack/cluster.sh)
set -uo pipefail
kubeconfig=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
kubectl() { "$K8S_BIN/kubectl" --kubeconfig="$kubeconfig" "$@"; }

declare -A seen

doc() { # ns pod
        local d=$dir/$1/$2
        mkdir -p "$d"
        # kubelet's CRI log format, which KWOK parses: time, stream, P(artial)/F(ull), message
        [ -f "$d/.kwok-pod.log" ] || printf '%s stdout F pod %s/%s started on a KWOK node; commands run in %s\n' \
                "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$1" "$2" "$d" >"$d/.kwok-pod.log"
        cat <<YAML
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Exec
metadata: {name: $2, namespace: $1}
spec:
  execs:
  - local:
      workDir: $d
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Logs
metadata: {name: $2, namespace: $1}
spec:
  logs:
  - logsFile: $d/.kwok-pod.log
    follow: true
YAML
}

while true; do
        kubectl get pods -A --watch --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,DEL:.metadata.deletionTimestamp 2>/dev/null |
                while read -r ns name del; do
                        batch=""
                        while :; do
                                if [ "$del" = "<none>" ] && [ -z "${seen[$ns/$name]:-}" ]; then
                                        seen[$ns/$name]=1
                                        batch+=$(doc "$ns" "$name")$'\n'
                                elif [ "$del" != "<none>" ]; then
                                        unset "seen[$ns/$name]"
                                fi
                                read -r -t 0.05 ns name del || break
                        done
                        [ -n "$batch" ] && printf '%s' "$batch" | kubectl apply --server-side --force-conflicts -f - >/dev/null
                done
        sleep 1 # the watch ended (apiserver restart or timeout): start a new one
done
