#!/usr/bin/env bash
# Gives every pod KWOK runs its own working directory on the host, so that `kubectl exec` in two sandboxes
# never shares files, and a log file for `kubectl logs`. KWOK's namespaced Exec and Logs objects are named
# after the pod they serve; the directory is keyed by namespace and pod name, so a pod recreated under the
# same name (a resumed sandbox) finds its files again. New pods are batched into one apply.
#
# Logs: KWOK runs no container, so a pod's log would only ever be what something writes into its log file.
# To give the log the output a container would have, the command (and args) of the pod's first container
# runs on the host in the pod's directory (hack/kwok/pod-command.sh), the way `kubectl exec` runs there,
# and its stdout and stderr become the log, in the CRI format a kubelet writes. It runs once per pod (by
# UID: a pod recreated under the same name gets a new log and a new run, an existing pod is not run again
# when this script restarts) and is ended, with what it started, when the pod is deleted or the cluster
# stops. What it cannot be: the image's own filesystem and entrypoint (a container without a command runs
# nothing), its environment, a restart after it exits (the pod stays Running, as KWOK says). The Logs
# object names that container: the others have no log.
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

# One line per pod and change: namespace, name, UID, deletion time or <none>, its node or <none>, declared
# ports (comma-separated)
# or <none>, the first container's name, and its command and args as shell words in base64 (- without a
# command). The command is not on the line as it is: its words may hold any character.
pod_line='.spec.containers[0] as $c | [.metadata.namespace, .metadata.name, .metadata.uid,
        (.metadata.deletionTimestamp // "<none>"), (.spec.nodeName // "<none>"),
        ([.spec.containers[].ports[]?.containerPort | tostring] | join(",") | if . == "" then "<none>" else . end),
        $c.name, (if ($c.command // []) != [] then $c.command + ($c.args // []) | @sh | @base64 else "-" end)] | join(" ")'

# The server of a forwarded port: $0 is the pod's directory, $1 the port. stderr ends up in KWOK's error.
serve='cd "$0" || exit 1; [ -x "./.kwok-port-$1" ] || { echo "pod port $1 has no server: no executable .kwok-port-$1 in the pod directory" >&2; exit 1; }; exec "./.kwok-port-$1"'

stop() { # ns pod: ends the command of the pod's container if it still runs
        local f=$dir/$1/$2/.kwok-pod.pid pid
        pid=$(cat "$f" 2>/dev/null) && kill "$pid" 2>/dev/null
        rm -f "$f"
}

run() { # ns pod uid command: a pod seen for the first time gets a new log, and its container's command runs
        local d=$dir/$1/$2 words
        mkdir -p "$d"
        [ "$(cat "$d/.kwok-pod.uid" 2>/dev/null)" = "$3" ] && return
        stop "$1" "$2" # the pod of the same name before it
        printf '%s\n' "$3" >"$d/.kwok-pod.uid"
        # kubelet's CRI log format, which KWOK parses: time, stream, P(artial)/F(ull), message
        printf '%s stdout F pod %s/%s started on a KWOK node; commands run in %s\n' \
                "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$1" "$2" "$d" >"$d/.kwok-pod.log"
        [ "$4" = - ] && return
        words=$(printf '%s' "$4" | base64 -d) || return
        eval "set -- $words" # @sh quoted every word
        bash "$here/kwok/pod-command.sh" "$d" "$@" </dev/null >/dev/null &
}

doc() { # ns pod ports container
        local d=$dir/$1/$2 p
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
  - containers: [$4]
    logsFile: $d/.kwok-pod.log
    follow: true
YAML
        [ -z "$3" ] || [ "$3" = "<none>" ] && return
        printf -- '---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata: {name: %s, namespace: %s}\nspec:\n  forwards:\n' "$2" "$1"
        for p in $(printf '%s' "$3" | tr ',' '\n' | sort -un); do
                printf "  - ports: [%s]\n    command: [sh, -c, '%s', '%s', '%s']\n" "$p" "$serve" "$d" "$p"
        done
}

while true; do
        kubectl get pods -A --watch -o json 2>/dev/null | jq --unbuffered -r "$pod_line" |
                while read -r ns name uid del node ports container command; do
                        batch=""
                        while :; do
                                # only pods scheduled to a KWOK node: a pod of the real node (hack/node.sh)
                                # is a real container, and one not yet scheduled may become one
                                if [ "$del" = "<none>" ] && [[ $node != kwok-node-* ]]; then
                                        :
                                elif [ "$del" = "<none>" ] && [ -z "${seen[$ns/$name]:-}" ]; then
                                        seen[$ns/$name]=1
                                        run "$ns" "$name" "$uid" "$command"
                                        batch+=$(doc "$ns" "$name" "$ports" "$container")$'\n'
                                elif [ "$del" != "<none>" ]; then
                                        unset "seen[$ns/$name]"
                                        stop "$ns" "$name"
                                fi
                                read -r -t 0.05 ns name uid del node ports container command || break
                        done
                        [ -n "$batch" ] && printf '%s' "$batch" | kubectl apply --server-side --force-conflicts -f - >/dev/null
                done
        sleep 1 # the watch ended (apiserver restart or timeout): start a new one
done
