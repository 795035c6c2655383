# The aggregation layer is wired: an APIService that points at a server on loopback becomes Available,
# and requests through kube-apiserver reach it with the caller's identity in the front-proxy headers.

test_apiservice_available_and_identity_forwarded() {
        local ns port dir out
        ns=$(new_namespace agg)
        dir=$(mktemp -d)
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        # serving certificate for the name the aggregator dials: <service>.<namespace>.svc
        serving_cert "$dir" "whoami.$ns.svc" "DNS:whoami.$ns.svc,DNS:localhost,IP:127.0.0.1"
        bg_start python3 "$(dirname "${BASH_SOURCE[0]}")/whoami-server.py" "$port" "$dir/tls.crt" "$dir/tls.key" \
                "$PKI/front-proxy-ca.crt" front-proxy-client
        kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: whoami, namespace: $ns}
spec: {type: ExternalName, externalName: localhost}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.test.mbox.dev}
spec:
  group: test.mbox.dev
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {name: whoami, namespace: $ns, port: $port}
  caBundle: $(base64 -w0 "$PKI/ca.crt")
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: test-whoami-reader}
rules: [{apiGroups: [test.mbox.dev], resources: [whoamis], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: test-whoami-alice}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: test-whoami-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
YAML
        kubectl wait --for=condition=Available apiservice/v1alpha1.test.mbox.dev --timeout=60s >/dev/null ||
                fail "APIService not Available: $(kubectl get apiservice v1alpha1.test.mbox.dev -o jsonpath='{.status.conditions}')"
        out=$(kubectl get --raw /apis/test.mbox.dev/v1alpha1/whoamis/me --as=alice --as-group=devs)
        assert_eq alice "$(jq -r .user <<<"$out")" "X-Remote-User seen by the aggregated server"
        assert_contains "$(jq -c .groups <<<"$out")" '"devs"' "X-Remote-Group"
        assert_eq front-proxy-client "$(jq -r .proxyCN <<<"$out")" "front-proxy client certificate"
        # RBAC in front of the aggregated API works unchanged: bob has no binding
        if out=$(kubectl get --raw /apis/test.mbox.dev/v1alpha1/whoamis/me --as=bob 2>&1); then
                fail "bob was allowed: $out"
        fi
        assert_contains "$out" "Forbidden" "bob is refused"
        assert_contains "$out" 'User "bob" cannot get resource "whoamis"' "bob is refused by RBAC"
        # without the front-proxy certificate the server refuses the connection in the TLS handshake (curl's
        # exit 35, 55 or 56 by version: not 7, a server that is not there); the same request with it is answered
        local rc=0
        out=$(curl -sS --cacert "$PKI/ca.crt" "https://127.0.0.1:$port/apis/test.mbox.dev/v1alpha1" 2>&1) || rc=$?
        [ $rc -ne 0 ] || fail "the server accepted a request without a client certificate: $out"
        case $rc in 35 | 55 | 56) ;; *) fail "a request without a client certificate failed outside TLS (curl exit $rc): $out" ;; esac
        assert_eq test.mbox.dev/v1alpha1 "$(curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/front-proxy-client.crt" \
                --key "$PKI/front-proxy-client.key" "https://127.0.0.1:$port/apis/test.mbox.dev/v1alpha1" | jq -r .groupVersion)" \
                "the same request with the front-proxy certificate"
        kubectl delete apiservice/v1alpha1.test.mbox.dev clusterrole/test-whoami-reader clusterrolebinding/test-whoami-alice >/dev/null
        rm -rf "$dir"
}
