# hack/cluster.sh itself: a second `up` is harmless, and a port taken by someone else is refused with a
# message naming the variable to change, before anything starts.

test_up_twice_is_safe() {
        local before after
        before=$(cat "$MBOX_STATE_DIR"/pids/*.pid | sort | tr '\n' ' ')
        bash "$root/hack/cluster.sh" up >/dev/null 2>&1 || fail "second cluster-up failed"
        after=$(cat "$MBOX_STATE_DIR"/pids/*.pid | sort | tr '\n' ' ')
        assert_eq "$before" "$after" "component PIDs after a second up"
        kubectl get --raw /readyz >/dev/null || fail "cluster not ready after a second up"
}

test_taken_port_is_refused() {
        local state port out rc=0
        state=$(mktemp -d)
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        bg_start python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(60)"
        wait_for "listener on $port" 10 bash -c "ss -Hltn 'sport = :$port' | grep -q ."
        out=$(MBOX_STATE_DIR=$state MBOX_ETCD_PORT=$port bash "$root/hack/cluster.sh" up 2>&1) || rc=$?
        [ $rc -ne 0 ] || fail "cluster-up accepted a taken port"
        assert_contains "$out" "port $port for etcd is already in use" "refusal names the port"
        assert_contains "$out" "MBOX_ETCD_PORT" "refusal names the variable"
        [ -z "$(ls "$state/pids" 2>/dev/null)" ] || fail "components were started despite the refusal: $(ls "$state/pids")"
        rm -rf "$state"
}

test_binaries_report_their_real_versions() {
        local v
        v=$(kubectl version -o json)
        assert_eq "v$K8S_VERSION" "$(jq -r .clientVersion.gitVersion <<<"$v")" "kubectl client version"
        assert_eq "v$K8S_VERSION" "$(jq -r .serverVersion.gitVersion <<<"$v")" "kube-apiserver version"
        assert_contains "$("$ETCD_BIN/etcd" --version)" "etcd Version: $ETCD_VERSION" "etcd version"
        assert_contains "$("$KWOK_BIN/kwok" --version)" "v$KWOK_VERSION" "kwok version"
}
