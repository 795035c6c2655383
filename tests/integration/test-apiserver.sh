# mbox-apiserver behind kube-apiserver, as a user reaches it: kubectl get of task output through the
# aggregation layer, with the apiserver running as its ServiceAccount (SubjectAccessReviews) and reading
# what mbox-operator stored in Postgres.

# start_apiserver: a serving certificate from the cluster CA, mbox-apiserver on loopback (the front
# proxy's CA and names read from kube-system/extension-apiserver-authentication, as in a cluster), and the
# APIService that routes runtime.mbox.dev to it; sets APIPORT.
start_apiserver() {
        local dir kc log pidfile=$MBOX_STATE_DIR/pids/mbox-apiserver.pid
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
                fail "the apiserver of 'make up' is running; stop it with 'make down' before the tests"
        fi
        dir=$(mktemp -d)
        serving_cert "$dir" mbox-apiserver.mbox-system.svc DNS:mbox-apiserver.mbox-system.svc,DNS:localhost,IP:127.0.0.1
        kc=$(mktemp) log=$(mktemp)
        APILOG=$log
        printf 'file %s\nfile %s\n' "$kc" "$log" >>"$_cleanup_file"
        bash "$root/hack/mbox.sh" kubeconfig "$kc" mbox-apiserver || fail "no kubeconfig for mbox-apiserver"
        bg_start "$root/build/mbox-apiserver" --bind-address=127.0.0.1 --secure-port=0 --tls-cert-file="$dir/tls.crt" \
                --tls-private-key-file="$dir/tls.key" --kubeconfig="$kc" \
                --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox" >"$log" 2>&1
        wait_for "mbox-apiserver to listen" 20 grep -q 'port=' "$log"
        APIPORT=$(sed -nE 's/.*msg="serving runtime.mbox.dev" .*port=([0-9]+).*/\1/p' "$log" | head -n 1)
        printf 'object apiservice/v1alpha1.runtime.mbox.dev\nobject service/mbox-apiserver -n mbox-system\n' >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: mbox-apiserver, namespace: mbox-system}
spec: {type: ExternalName, externalName: localhost}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.runtime.mbox.dev}
spec:
  group: runtime.mbox.dev
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {name: mbox-apiserver, namespace: mbox-system, port: $APIPORT}
  caBundle: $(base64 -w0 "$PKI/ca.crt")
YAML
        kubectl wait --for=condition=Available apiservice/v1alpha1.runtime.mbox.dev --timeout=60s >/dev/null ||
                fail "APIService not Available: $(kubectl get apiservice v1alpha1.runtime.mbox.dev -o jsonpath='{.status.conditions}') $(tail -5 "$log")"
}

test_task_output_through_kubectl() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        local p ns
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" box
        wait_for "sandbox box Running" 60 phase_is "$ns" box Running
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: hello, namespace: $ns}
spec:
  sandboxRef: {name: box}
  command: ["sh", "-c", "seq 1 100000; echo oops >&2"]
YAML
        done_() { [ "$(kubectl -n "$ns" get mtask hello -o jsonpath='{.status.phase}')" = Succeeded ]; }
        wait_for "hello Succeeded" 30 done_
        assert_contains "$(kubectl api-resources --api-group=runtime.mbox.dev)" "taskoutputs" "kubectl api-resources"
        local out
        out=$(kubectl -n "$ns" get taskoutputs)
        assert_contains "$out" "STDOUT" "Table columns in kubectl get"
        assert_contains "$out" "hello" "the task's output listed"
        assert_contains "$out" "588895" "stdout bytes in the table"
        assert_eq 588895 "$(kubectl -n "$ns" get taskoutput hello -o jsonpath='{.status.stdoutBytes}')" "kubectl get -o jsonpath"
        assert_eq true "$(kubectl -n "$ns" get taskoutput hello -o jsonpath='{.status.complete}')" "complete"
        # the full output, byte for byte, through kube-apiserver
        assert_eq "$(seq 1 100000 | sha256sum)" \
                "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello/log" | sha256sum)" "stdout"
        assert_eq oops "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello/log?stream=stderr")" "stderr"
        assert_eq "1" "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello/log?limitBytes=1")" "limitBytes"
        assert_contains "$(kubectl -n "$ns" get taskoutput nosuch 2>&1)" "NotFound" "a missing record"
        # artifacts a task produced, with their provenance
        local f=/tmp/mbox-art-$ns.json
        printf 'file %s\n' "$f" >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: report, namespace: $ns}
spec:
  sandboxRef: {name: box}
  command: ["sh", "-c", "echo '{}' > $f"]
  artifacts: [{name: result, path: $f}]
YAML
        reported() { [ "$(kubectl -n "$ns" get mtask report -o jsonpath='{.status.phase}')" = Succeeded ]; }
        wait_for "report Succeeded" 30 reported
        out=$(kubectl -n "$ns" get artifacts)
        assert_contains "$out" "report-result" "kubectl get artifacts"
        assert_contains "$out" "application/json" "content type column"
        assert_eq box "$(kubectl -n "$ns" get artifact report-result -o jsonpath='{.spec.sandbox}')" "provenance: sandbox"
        assert_eq report "$(kubectl -n "$ns" get artifact report-result -o jsonpath='{.spec.task.name}')" "provenance: task"
        assert_eq "sha256:$(printf '{}\n' | sha256sum | cut -d' ' -f1)" \
                "$(kubectl -n "$ns" get artifact report-result -o jsonpath='{.spec.digest}')" "digest"
        # a project viewer reads it; someone without a role is refused
        kubectl -n "$ns" create rolebinding view-carol --clusterrole=mbox-viewer --user=carol >/dev/null
        wait_for "carol can read" 20 kubectl -n "$ns" get taskoutput hello --as=carol
        assert_contains "$(kubectl -n "$ns" get taskoutput hello --as=dave 2>&1)" "forbidden" "dave is refused"
        # the apiserver itself refuses what does not come through the front proxy
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "https://127.0.0.1:$APIPORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs")
        assert_eq 401 "$code" "a request without the front-proxy certificate"
        # and asks kube-apiserver about each caller: the front proxy's certificate with a user who has no role
        code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" --cert "$PKI/front-proxy-client.crt" \
                --key "$PKI/front-proxy-client.key" -H 'X-Remote-User: dave' \
                "https://127.0.0.1:$APIPORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello")
        assert_eq 403 "$code" "a user without a role, straight to the apiserver"
        assert_eq ok "$(curl -fs --cacert "$PKI/ca.crt" "https://127.0.0.1:$APIPORT/healthz")" "healthz without authentication"
        # clients that reach the server directly authenticate with a bearer token (TokenReview)
        local url="https://127.0.0.1:$APIPORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello" tok
        kubectl -n "$ns" create serviceaccount reader >/dev/null
        kubectl -n "$ns" create serviceaccount stranger >/dev/null
        kubectl -n "$ns" create rolebinding view-reader --clusterrole=mbox-viewer --serviceaccount="$ns:reader" >/dev/null
        tok=$(kubectl -n "$ns" create token reader)
        assert_eq 588895 "$(curl -fs --cacert "$PKI/ca.crt" -H "Authorization: Bearer $tok" "$url" | jq -r .status.stdoutBytes)" \
                "a project viewer's token"
        tok=$(kubectl -n "$ns" create token stranger)
        assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" -H "Authorization: Bearer $tok" "$url")" \
                "a token without a role"
        assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" -H "Authorization: Bearer not-a-token" "$url")" \
                "an invalid token"
}

test_without_database_not_ready_and_503() {
        install_operator_rbac
        local dir kc log port code body
        dir=$(mktemp -d)
        serving_cert "$dir" localhost DNS:localhost,IP:127.0.0.1
        kc=$(mktemp) log=$(mktemp)
        printf 'file %s\nfile %s\n' "$kc" "$log" >>"$_cleanup_file"
        bash "$root/hack/mbox.sh" kubeconfig "$kc" mbox-apiserver || fail "no kubeconfig for mbox-apiserver"
        # a database that is not there: port 1 refuses connections
        bg_start "$root/build/mbox-apiserver" --bind-address=127.0.0.1 --secure-port=0 --tls-cert-file="$dir/tls.crt" \
                --tls-private-key-file="$dir/tls.key" --kubeconfig="$kc" \
                --database-url="postgresql://postgres@127.0.0.1:1/mbox?connect_timeout=2" >"$log" 2>&1
        wait_for "mbox-apiserver to listen" 20 grep -q 'port=' "$log"
        port=$(sed -nE 's/.*msg="serving runtime.mbox.dev" .*port=([0-9]+).*/\1/p' "$log" | head -n 1)
        assert_eq ok "$(curl -fs --cacert "$PKI/ca.crt" "https://127.0.0.1:$port/healthz")" "healthz: the process is alive"
        code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "https://127.0.0.1:$port/readyz")
        assert_eq 503 "$code" "readyz without a database"
        body=$(curl -s --cacert "$PKI/ca.crt" --cert "$PKI/front-proxy-client.crt" --key "$PKI/front-proxy-client.key" \
                -H 'X-Remote-User: admin' -H 'X-Remote-Group: system:masters' \
                "https://127.0.0.1:$port/apis/runtime.mbox.dev/v1alpha1/namespaces/default/taskoutputs")
        assert_eq 503 "$(jq -r .code <<<"$body")" "a record request without a database"
        assert_eq Status "$(jq -r .kind <<<"$body")" "answered as a metav1.Status"
        assert_contains "$(jq -r .message <<<"$body")" "not available" "the message says why"
}
