# Pods on KWOK nodes answer kubectl exec, logs and port-forward through the real kubelet path
# (client → kube-apiserver → KWOK's kubelet endpoint), each pod in its own host directory.

run_pod() { # ns name
        kubectl -n "$1" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $2}
spec:
  containers:
  - {name: main, image: busybox:1.36, command: ["sh", "-c", "tail -f /dev/null"]}
YAML
        kubectl -n "$1" wait --for=condition=Ready "pod/$2" --timeout=60s >/dev/null || fail "pod $2 not Ready"
        # kwok-pods gives the pod its own Exec object; wait until it is there
        wait_for "exec config for $2" 30 kubectl -n "$1" get exec.kwok.x-k8s.io "$2"
}

test_exec_returns_stdout_and_exit_codes() {
        local ns out rc
        ns=$(new_namespace kwok-exec)
        run_pod "$ns" p1
        out=$(kubectl -n "$ns" exec p1 -- sh -c 'echo hello from $(basename $(pwd)); echo to-stderr >&2') ||
                fail "exec failed"
        assert_eq "hello from p1" "$out" "exec stdout"
        set +e
        kubectl -n "$ns" exec p1 -- sh -c 'exit 3' >/dev/null 2>&1
        rc=$?
        set -e
        assert_eq 3 "$rc" "exit code of 'exit 3'"
        printf 'piped input\n' | kubectl -n "$ns" exec -i p1 -- sh -c 'cat > in.txt'
        assert_eq "piped input" "$(kubectl -n "$ns" exec p1 -- cat in.txt)" "stdin reached the command"
}

test_two_pods_do_not_share_files() {
        local ns
        ns=$(new_namespace kwok-iso)
        run_pod "$ns" a
        run_pod "$ns" b
        kubectl -n "$ns" exec a -- sh -c 'echo mine > only-a.txt'
        # asked the same way in both pods, so that an exec failing for another reason cannot pass for "absent"
        seen() { kubectl -n "$ns" exec "$1" -- sh -c 'if test -f only-a.txt; then echo present; else echo absent; fi'; }
        assert_eq present "$(seen a)" "pod a's own file, in pod a"
        assert_eq absent "$(seen b)" "pod a's file, in pod b"
}

test_logs() {
        local ns out
        ns=$(new_namespace kwok-logs)
        run_pod "$ns" p1
        wait_for "logs config for p1" 30 kubectl -n "$ns" get logs.kwok.x-k8s.io p1
        out=$(kubectl -n "$ns" logs p1 2>&1) || fail "kubectl logs failed: $out"
        assert_contains "$out" "pod $ns/p1 started on a KWOK node" "kubectl logs"
}

test_port_forward() {
        local ns port lport out
        ns=$(new_namespace kwok-pf)
        run_pod "$ns" web
        # a real HTTP server on loopback stands behind the pod's port 8080
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        mkdir -p "$MBOX_STATE_DIR/pf-$ns" && echo "served through port-forward" >"$MBOX_STATE_DIR/pf-$ns/index.html"
        bg_start python3 -m http.server "$port" --bind 127.0.0.1 --directory "$MBOX_STATE_DIR/pf-$ns"
        kubectl -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata: {name: web}
spec:
  forwards:
  - ports: [8080]
    target: {address: 127.0.0.1, port: $port}
YAML
        lport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        bg_start kubectl -n "$ns" port-forward pod/web "$lport:8080" --address 127.0.0.1
        wait_for "http server" 20 curl -fsS "http://127.0.0.1:$port/"
        wait_for "port-forward" 30 curl -fsS "http://127.0.0.1:$lport/index.html"
        out=$(curl -fsS "http://127.0.0.1:$lport/index.html")
        assert_eq "served through port-forward" "$out" "body through port-forward"
        rm -rf "$MBOX_STATE_DIR/pf-$ns"
}
