#!/usr/bin/env bash
# Runs the command of a KWOK pod's container in the pod's directory, as a container runtime would run it in
# the container, and writes its output where a kubelet writes a container's log: one line per line of
# output, in the CRI log format (time, stream, F for a full line, the line) that KWOK's Logs serve to
# `kubectl logs` and pods/log. Started by hack/kwok-pods.sh, once per pod; ended by it (TERM) when the pod is
# deleted, which ends the command with every process it started.
# Usage: hack/kwok/pod-command.sh POD_DIR COMMAND [ARG...]
set -u
export TZ=UTC
cd "$1" || exit 1
shift

cri() { # STREAM: each line of stdin as a line of the log
        local line t
        while IFS= read -r line || [ -n "$line" ]; do
                t=$EPOCHREALTIME # seconds.microseconds
                printf '%(%Y-%m-%dT%H:%M:%S)T.%s000Z %s F %s\n' "${t%.*}" "${t#*.}" "$1" "$line"
        done
}

child=
trap '[ -n "$child" ] && kill -- "-$child" 2>/dev/null; rm -f .kwok-pod.pid; exit 0' TERM HUP INT
echo $$ >.kwok-pod.pid
# setsid: the command and whatever it starts are one process group, ended together; as a background job
# of a non-interactive shell setsid is no group leader, so it does not fork and $! is that group
setsid "$@" </dev/null > >(cri stdout >>.kwok-pod.log) 2> >(cri stderr >>.kwok-pod.log) &
child=$!
wait "$child"
rm -f .kwok-pod.pid
