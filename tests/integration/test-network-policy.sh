# NetworkPolicy on the stack's real node (hack/node.sh: kube-network-policies), as a sandbox sees it: the
# policies mbox-operator writes for a project really decide what a sandbox's connections reach.
#
# Every refusal is paired with a control: the same connection from a pod that no policy selects ("probe",
# in a namespace of its own) succeeds, so a refusal shows the policy, not a destination that is down. The
# destinations: kube-apiserver as pods are told it is (the kubernetes Service, 10.96.0.1:443), a server at
# the cloud metadata address (169.254.169.254:80) and servers at two addresses of the node's "outside"
# network (its network namespace, routed from the pods like anything off the node), a pod of another
# project, and a pod labelled as the cluster DNS (TCP 53).

pod_ip() { kubectl -n "$1" get pod "$2" -o jsonpath='{.status.podIP}'; }

# np_sandbox PROJECT-SPEC-YAML TEMPLATE-SPEC-YAML: a project, its template np-box (on the real node, the
# template's command unless given: an idle shell) and a Running sandbox of it; sets SB_NS and SB_POD
np_sandbox() {
        local p
        p=$(new_project "$1")
        SB_NS=mbox-$p
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: np-box, namespace: $SB_NS}
spec:
  image: $NODE_BUSYBOX_IMAGE
  resourcePreset: Small
$2
YAML
        TEMPLATE=np-box sandbox "$SB_NS" box
        wait_timed "sandbox $SB_NS/box Running" 120 phase_is "$SB_NS" box Running
        SB_POD=$(kubectl -n "$SB_NS" get sandboxes.mbox.dev box -o jsonpath='{.status.podName}')
        kubectl -n "$SB_NS" wait --for=condition=Ready "pod/$SB_POD" --timeout=60s >/dev/null || fail "pod $SB_POD not Ready"
        assert_eq "$NODE" "$(kubectl -n "$SB_NS" get pod "$SB_POD" -o jsonpath='{.spec.nodeName}')" "the sandbox's node"
        # the agent judges a pod's packets once it knows the pod's address (docs/local-cluster.md)
        wait_for "the policy of $SB_POD in force" 30 policed "$(pod_ip "$SB_NS" "$SB_POD")"
}
policed() { nft list set inet "mbox-netpol-${NODE##*-}" podips-v4 2>/dev/null | grep -qw "$1"; }

# reach NS POD HOST PORT: TCP from inside the pod; prints "ran", then "connected" or nc's complaint
reach() {
        kubectl -n "$1" exec "$2" -- sh -c "echo ran; nc -w 3 $3 $4 </dev/null 2>&1 && echo connected" 2>&1 |
                tr '\n' ' ' || true
}
reaches() { # what NS POD HOST PORT
        local out
        out=$(reach "$2" "$3" "$4" "$5")
        assert_contains "$out" connected "$1 ($4:$5 from $3)"
}
blocked() { # what NS POD HOST PORT
        local out
        out=$(reach "$2" "$3" "$4" "$5")
        # a refusal counts only once the command ran in the pod (an exec that failed proves nothing)
        assert_contains "$out" ran "$1: the probe ran in $3"
        case $out in *connected*) fail "$1: $3 reached $4:$5 ($out)" ;; esac
        log "$1: $4:$5 unreachable from $3 ($out)"
}

# outside_server ADDRESS PORT: a TCP server in the node's outside network that greets with "hello"
outside_server() {
        ip -n "$OUT_NS" addr show dev out0 | grep -q "inet $1/" || ip -n "$OUT_NS" addr add "$1/32" dev out0
        bg_start ip netns exec "$OUT_NS" socat "TCP-LISTEN:$2,bind=$1,fork,reuseaddr" SYSTEM:'echo hello' >/dev/null 2>&1
}

setup_np() {
        NODE=$(kubectl get nodes -l mbox.dev/node=real -o jsonpath='{.items[0].metadata.name}')
        [ -n "$NODE" ] || fail "the stack has no real node (hack/node.sh runs only as root): $(tail -n 3 "$MBOX_STATE_DIR/logs/kubelet.log" 2>&1)"
        . "$root/hack/versions.sh"
        local id=${NODE##*-}
        OUT_NS=mbox-out-$id
        OUT_NET=$(ip -4 -o addr show dev "mboxo$id" | awk '{print $4}' | cut -d. -f1-3)
        [ -n "$OUT_NET" ] || fail "the node's outside network (mboxo$id) is missing: hack/node.sh up makes it"
        setup_operator
        PROBE_NS=$(new_namespace np-probe)
        # the test's templates (np-*) go to the real node, as the local overlay does for the walkthrough's
        kubectl apply -f - >/dev/null <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: mbox-test-np-placement}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  matchConditions:
    - name: np-template
      expression: >-
        has(object.metadata.labels) && object.metadata.labels.exists(k, k == 'mbox.dev/template' &&
        object.metadata.labels[k].startsWith('np-'))
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
    - patchType: JSONPatch
      jsonPatch:
        expression: >-
          (has(object.spec.nodeSelector) ? [] : [JSONPatch{op: "add", path: "/spec/nodeSelector", value: {}}]) +
          [JSONPatch{op: "add", path: "/spec/nodeSelector/" + jsonpatch.escapeKey("mbox.dev/node"), value: "real"}] +
          (has(object.spec.tolerations) ? [] : [JSONPatch{op: "add", path: "/spec/tolerations", value: []}]) +
          [JSONPatch{op: "add", path: "/spec/tolerations/-",
            value: Object.spec.tolerations{key: "mbox.dev/node", operator: "Equal", value: "real", effect: "NoSchedule"}}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: mbox-test-np-placement}
spec: {policyName: mbox-test-np-placement}
YAML
        printf 'object mutatingadmissionpolicy/mbox-test-np-placement\nobject mutatingadmissionpolicybinding/mbox-test-np-placement\n' \
                >>"$_cleanup_file"
        wait_for "the test's placement policy in force" 30 placement_in_force "$PROBE_NS" np-check
        # the destinations: a pod of no project, a pod labelled as the cluster DNS, servers outside
        # (pods of PROBE_NS, which no NetworkPolicy selects)
        real_node_pod "$PROBE_NS" probe "tail -f /dev/null"
        real_node_pod "$PROBE_NS" target "while :; do echo hello | nc -l -p 8080; done"
        real_node_pod "$PROBE_NS" dns "while :; do echo hello | nc -l -p 53; done" "k8s-app: kube-dns"
        kubectl -n "$PROBE_NS" wait --for=condition=Ready pod/probe pod/target pod/dns --timeout=90s >/dev/null ||
                fail "the probe pods are not Ready: $(kubectl -n "$PROBE_NS" get pods -o wide 2>&1)"
        TARGET=$(pod_ip "$PROBE_NS" target)
        DNS=$(pod_ip "$PROBE_NS" dns)
        outside_server 169.254.169.254 80
        outside_server "$OUT_NET.3" 8080
        outside_server "$OUT_NET.4" 8080
}

test_egress_denied_reaches_nothing_but_dns() {
        setup_np
        # the controls: with no policy, every destination answers
        reaches "kube-apiserver through the kubernetes Service" "$PROBE_NS" probe 10.96.0.1 443
        reaches "the metadata server" "$PROBE_NS" probe 169.254.169.254 80
        reaches "a server outside the node" "$PROBE_NS" probe "$OUT_NET.3" 8080
        reaches "a pod of no project" "$PROBE_NS" probe "$TARGET" 8080
        reaches "the cluster DNS" "$PROBE_NS" probe "$DNS" 53

        np_sandbox "" "  command: [\"sh\", \"-c\", \"tail -f /dev/null\"]
  network: {egress: Denied}"
        local ns=$SB_NS pod=$SB_POD
        blocked "egress Denied: kube-apiserver" "$ns" "$pod" 10.96.0.1 443
        blocked "egress Denied: the metadata address" "$ns" "$pod" 169.254.169.254 80
        blocked "egress Denied: a server outside the node" "$ns" "$pod" "$OUT_NET.3" 8080
        blocked "egress Denied: a pod of another namespace" "$ns" "$pod" "$TARGET" 8080
        reaches "egress Denied, allowDNS (the default): the cluster DNS" "$ns" "$pod" "$DNS" 53

        # another project's sandbox: its ingress is closed too, even to a pod that no policy limits
        np_sandbox "" "  network: {egress: Denied}
  command: [\"sh\", \"-c\", \"while :; do echo hello | nc -l -p 8080; done\"]"
        local other
        other=$(pod_ip "$SB_NS" "$SB_POD")
        reaches "a project's sandbox reaches its own server" "$SB_NS" "$SB_POD" 127.0.0.1 8080
        blocked "another project's sandbox" "$ns" "$pod" "$other" 8080
        blocked "a sandbox, from a pod of no project" "$PROBE_NS" probe "$other" 8080
}

test_dns_follows_allow_dns() {
        setup_np
        np_sandbox "  policy: {network: {allowDNS: false}}" "  command: [\"sh\", \"-c\", \"tail -f /dev/null\"]
  network: {egress: Denied}"
        blocked "allowDNS false: the cluster DNS" "$SB_NS" "$SB_POD" "$DNS" 53
        reaches "the cluster DNS, from a pod of no project" "$PROBE_NS" probe "$DNS" 53
}

test_restricted_reaches_only_the_listed_cidr() {
        setup_np
        np_sandbox "  policy: {network: {egress: [{cidr: $OUT_NET.3/32}]}}" "  command: [\"sh\", \"-c\", \"tail -f /dev/null\"]
  network: {egress: Restricted}"
        reaches "egress Restricted: the listed $OUT_NET.3/32" "$SB_NS" "$SB_POD" "$OUT_NET.3" 8080
        blocked "egress Restricted: $OUT_NET.4, not listed" "$SB_NS" "$SB_POD" "$OUT_NET.4" 8080
        reaches "$OUT_NET.4 from a pod of no project" "$PROBE_NS" probe "$OUT_NET.4" 8080
        blocked "egress Restricted: the metadata address" "$SB_NS" "$SB_POD" 169.254.169.254 80
        blocked "egress Restricted: kube-apiserver" "$SB_NS" "$SB_POD" 10.96.0.1 443
}
