# client-go's WebSocket exec client (tools/remotecommand.NewWebSocketExecutor, the one kubectl exec uses),
# unchanged, against exec subresources: kube-apiserver's own pods/exec of a sandbox's pod, and
# mbox-apiserver's sandboxes/exec, which must speak the same protocol. The client is the program in
# tests/integration/go/remotecommand, built by hack/build-binaries.sh into the cache.


# running_sandbox: a project with one Running sandbox s1 whose pod answers exec; sets NS and POD.
running_sandbox() {
        NS=mbox-$(new_project)
        template "$NS" box
        sandbox "$NS" s1
        wait_for "s1 Running" 60 phase_is "$NS" s1 Running
        POD=$(kubectl -n "$NS" get msb s1 -o jsonpath='{.status.podName}')
        [ -n "$POD" ] || fail "no status.podName on Running sandbox s1"
        # the local stack's KWOK answers a pod's exec once hack/kwok-pods.sh has given it its Exec object
        wait_for "exec config for $POD" 30 kubectl -n "$NS" get exec.kwok.x-k8s.io "$POD"
}

# exec_works PATH [FLAG...]: through the exec endpoint PATH, the remote stdout, stderr and exit code reach
# the program's own, and its stdin reaches the command and ends it.
exec_works() {
        local path=$1 out rc err
        shift
        err=$(mktemp)
        printf 'file %s\n' "$err" >>"$_cleanup_file"
        rc=0
        out=$(remotecommand --path "$path" "$@" -- sh -c 'echo out; echo err >&2; exit 3' 2>"$err") || rc=$?
        assert_eq out "$out" "stdout of the command"
        assert_eq err "$(cat "$err")" "stderr of the command"
        assert_eq 3 "$rc" "exit code of 'exit 3'"
        # cat ends only when the end of stdin reaches it (the v5 protocol's close of the stdin channel)
        rc=0
        out=$(printf hello | remotecommand --path "$path" "$@" --stdin -- cat 2>"$err") || rc=$?
        assert_eq 0 "$rc" "exit code of cat (stderr: $(cat "$err"))"
        assert_eq hello "$out" "stdin sent through cat"
}

test_client_go_exec_against_pods_exec() {
        local out rc=0
        setup_operator
        running_sandbox
        exec_works "/api/v1/namespaces/$NS/pods/$POD/exec" --container sandbox
        # a failure of the exec itself, not of the command: 125, with the server's reason
        out=$(remotecommand --path "/api/v1/namespaces/$NS/pods/$POD/exec" --container nope -- true 2>&1) || rc=$?
        assert_eq 125 "$rc" "exit code of an exec in a container the pod does not have"
        assert_contains "$out" "nope" "the error of an exec in a container the pod does not have"
}

test_client_go_exec_against_mbox() {
        start_apiserver
        assert_eq '["create","get"]' "$(kubectl get --raw /apis/runtime.mbox.dev/v1alpha1 |
                jq -c '.resources[] | select(.name == "sandboxes/exec") | .verbs | sort')" "discovery lists sandboxes/exec"
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        running_sandbox
        exec_works "/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/s1/exec"
        # each session is a record: who, what, how it ended
        local rec
        rec=$(kubectl -n "$NS" get sessions -o json | jq -c '[.items[] | select(.spec.command == ["sh","-c","echo out; echo err >&2; exit 3"])][0]
                | [.spec.kind, .spec.sandbox, .status.phase, .status.exitCode, .status.reason, .status.bytesOut]')
        assert_eq '["exec","s1","Ended",3,"Exited",8]' "$rec" "the session's record"
}
