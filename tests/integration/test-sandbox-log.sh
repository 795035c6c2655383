# The log of a sandbox through mbox-apiserver (sandboxes/NAME/log), as a user reads it with
# `kubectl get --raw`: the output of the template's command in the sandbox's pod (on a KWOK node the
# command runs on the host and its output is the pod's log: hack/kwok-pods.sh), pods/log's query
# parameters, follow, refusals, and who may read it.

API=/apis/runtime.mbox.dev/v1alpha1

# talker_sandbox: a project whose sandbox "talker" runs a command that prints to stderr, then two lines,
# then waits for a file "go" in its working directory to print one more; its namespace in NS, the URL of
# its log in LOG
talker_sandbox() {
        NS=mbox-$(new_project)
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: talker, namespace: $NS}
spec:
  image: busybox:1.36
  command: ["sh", "-c", "echo to stderr >&2; sleep 0.5; echo first line; echo second line; while [ ! -f go ]; do sleep 0.2; done; echo later line; exec tail -f /dev/null"]
  resourcePreset: Small
YAML
        TEMPLATE=talker sandbox "$NS" talker
        wait_for "sandbox talker Running" 60 phase_is "$NS" talker Running
        LOG=$API/namespaces/$NS/sandboxes/talker/log
        wait_for "the command's output in the log" 30 log_has "$LOG" "second line"
}

# log_has URL LINE [KUBECTL-ARG...]: the log at URL has the line LINE
log_has() { kubectl get --raw "$1" "${@:3}" | grep -qx "$2"; }

test_sandbox_log() {
        setup_operator
        start_apiserver
        talker_sandbox
        local out
        out=$(kubectl get --raw "$LOG")
        assert_contains "$out" "started on a KWOK node" "the log"
        assert_contains "$out" "to stderr" "stderr in the log"
        assert_contains "$out" $'first line\nsecond line' "stdout in the log, in order"
        assert_eq "second line" "$(kubectl get --raw "$LOG?tailLines=1")" "tailLines=1"
        # the same through the mbox command
        assert_eq "second line" "$("$root/build/mbox" logs -n "$NS" talker --tail=1)" "mbox logs --tail=1"
        assert_contains "$("$root/build/mbox" logs -p "${NS#mbox-}" talker --since=1h)" $'first line\nsecond line' "mbox logs --since"
        assert_contains "$("$root/build/mbox" logs -n "$NS" nosuch 2>&1)" 'sandbox "nosuch" not found' "mbox logs of no sandbox"
        assert_eq "first" "$(kubectl get --raw "$LOG?tailLines=2&limitBytes=5")" "limitBytes"
        [[ $(kubectl get --raw "$LOG?timestamps=true&tailLines=1") =~ ^20[0-9-]+T[0-9:.]+Z\ second\ line$ ]] ||
                fail "timestamps=true: $(kubectl get --raw "$LOG?timestamps=true&tailLines=1")"
        assert_eq "" "$(kubectl get --raw "$LOG?sinceTime=2999-01-01T00:00:00Z")" "sinceTime in the future"
        assert_contains "$(kubectl get --raw "$LOG?sinceSeconds=3600")" "second line" "sinceSeconds"

        # follow: what the command prints later arrives on the open response
        local followed
        followed=$(mktemp)
        printf 'file %s\n' "$followed" >>"$_cleanup_file"
        bg_start timeout 60 kubectl get --raw "$LOG?follow=true" >"$followed" 2>&1
        local reader=$!
        wait_for "the follow to show what is there" 20 grep -qx "second line" "$followed"
        ! grep -q "later line" "$followed" || fail "later line before the command printed it"
        kubectl -n "$NS" exec "$(kubectl -n "$NS" get sandboxes.mbox.dev talker -o jsonpath='{.status.podName}')" -- touch go
        wait_for "the follow to show the line printed later" 20 grep -qx "later line" "$followed"
        kill -0 "$reader" 2>/dev/null || fail "the follow ended: $(cat "$followed")"

        # bad parameters are named
        refused "tailLines=-1" "tailLines must be a number of lines, 0 or more, not '-1'" kubectl get --raw "$LOG?tailLines=-1"
        assert_contains "$REFUSAL" "BadRequest" "tailLines=-1: a 400"
        refused "follow=maybe" "follow must be true or false" kubectl get --raw "$LOG?follow=maybe"
        refused "sinceTime=yesterday" "sinceTime must be an RFC 3339 time" kubectl get --raw "$LOG?sinceTime=yesterday"
        refused "both since" "give at most one of them" kubectl get --raw "$LOG?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z"
        refused "no such sandbox" 'sandbox "nobody" not found' kubectl get --raw "$API/namespaces/$NS/sandboxes/nobody/log"
}

test_sandbox_log_access() {
        setup_operator
        start_apiserver
        talker_sandbox
        # a project viewer reads the log; someone without a role in the project is refused
        kubectl -n "$NS" create rolebinding view-carol --clusterrole=mbox-viewer --user=carol >/dev/null
        wait_for "carol can read the log" 20 log_has "$LOG" "second line" --as=carol
        assert_eq "second line" "$(kubectl get --raw "$LOG?tailLines=1" --as=carol)" "the log, as a viewer"
        refused "dave, with no role" 'cannot get resource "sandboxes/log"' kubectl get --raw "$LOG" --as=dave
        assert_contains "$REFUSAL" "Forbidden" "dave: a 403"
}

test_sandbox_log_of_stopped_and_restarted() {
        setup_operator
        start_apiserver
        talker_sandbox
        kubectl -n "$NS" patch sandboxes.mbox.dev talker --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "talker Stopped" 60 phase_is "$NS" talker Stopped
        refused "a stopped sandbox" "sandbox talker is Stopped: it must be running" kubectl get --raw "$LOG"
        assert_contains "$REFUSAL" "Conflict" "a stopped sandbox: a 409"
        # started again, it runs in a new pod: the log is that pod's, from its start
        kubectl -n "$NS" patch sandboxes.mbox.dev talker --type=merge -p '{"spec":{"state":"Running"}}' >/dev/null
        wait_for "talker Running again" 60 phase_is "$NS" talker Running
        wait_for "the new pod's log" 30 log_has "$LOG" "second line"
        assert_eq 1 "$(kubectl get --raw "$LOG" | grep -c "started on a KWOK node")" "one pod's start in the log"
        assert_eq 1 "$(kubectl get --raw "$LOG" | grep -cx "first line")" "one run's output in the log"
}

test_sandbox_log_refused_by_the_node() {
        setup_operator
        start_apiserver
        talker_sandbox
        # the node no longer serves the pod's log: kube-apiserver's refusal is passed on with its message
        kubectl -n "$NS" delete logs.kwok.x-k8s.io "$(kubectl -n "$NS" get sandboxes.mbox.dev talker -o jsonpath='{.status.podName}')" >/dev/null
        wait_for "the node to refuse the log" 20 bash -c "! kubectl get --raw '$LOG' >/dev/null 2>&1"
        refused "no log on the node" 'no logs found for container "sandbox"' kubectl get --raw "$LOG"
        assert_contains "$REFUSAL" "BadRequest" "the node's refusal: a 400"
}
