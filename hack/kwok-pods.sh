#!/usr/bin/env bash
# Gives every pod KWOK runs its own working directory on the host, so that `kubectl exec` in two sandboxes
# never shares files, and a log file for `kubectl logs`. KWOK's namespaced Exec and Logs objects are named
# after the pod they serve; the directory is keyed by namespace and pod name, so a pod recreated under the
# same name (a resumed sandbox) finds its files again. New pods are batched into one apply.
#
# Port-forward: a KWOK pod has no network namespace, so its ports cannot be host ports (two pods would
# collide). Each port the pod declares (spec.containers[].ports[].containerPort) gets a PortForward entry
# whose command runs the executable .kwok-port-<port> from the pod's directory, once per forwarded
# connection, with the connection on its stdin and stdout (inetd style). A pod "serves" port 8080 by
# creating that file, e.g. `kubectl exec p -- sh -c 'printf "#!/bin/sh\nexec cat\n" >.kwok-port-8080;
# chmod +x .kwok-port-8080'` for an echo server. A port the pod does not declare is refused by KWOK
# ("forward not found for port N"); a declared port without the executable fails with a message naming it.
# Usage: hack/kwok-pods.sh KUBECONFIG PODS_DIR      (started by hack/cluster.sh)
set -uo pipefail
kubeconfig=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
kubectl() { "$K8S_BIN/kubectl" --kubeconfig="$kubeconfig" "$@"; }

declare -A seen

# The server of a forwarded port: $0 is the pod's directory, $1 the port. stderr ends up in KWOK's error.
serve='cd "$0" || exit 1; [ -x "./.kwok-port-$1" ] || { echo "pod port $1 has no server: no executable .kwok-port-$1 in the pod directory" >&2; exit 1; }; exec "./.kwok-port-$1"'

doc() { # ns pod ports
        local d=$dir/$1/$2 p
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
        [ -z "$3" ] || [ "$3" = "<none>" ] && return
        printf -- '---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata: {name: %s, namespace: %s}\nspec:\n  forwards:\n' "$2" "$1"
        for p in $(printf '%s' "$3" | tr ',' '\n' | sort -un); do
                printf "  - ports: [%s]\n    command: [sh, -c, '%s', '%s', '%s']\n" "$p" "$serve" "$d" "$p"
        done
}

while true; do
        kubectl get pods -A --watch --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,DEL:.metadata.deletionTimestamp,PORTS:'.spec.containers[*].ports[*].containerPort' 2>/dev/null |
                while read -r ns name del ports; do
                        batch=""
                        while :; do
                                if [ "$del" = "<none>" ] && [ -z "${seen[$ns/$name]:-}" ]; then
                                        seen[$ns/$name]=1
                                        batch+=$(doc "$ns" "$name" "$ports")$'\n'
                                elif [ "$del" != "<none>" ]; then
                                        unset "seen[$ns/$name]"
                                fi
                                read -r -t 0.05 ns name del ports || break
                        done
                        [ -n "$batch" ] && printf '%s' "$batch" | kubectl apply --server-side --force-conflicts -f - >/dev/null
                done
        sleep 1 # the watch ended (apiserver restart or timeout): start a new one
done
