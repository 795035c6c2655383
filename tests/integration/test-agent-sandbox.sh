# The substrate works on the local cluster: agent-sandbox's template, warm pool and claim produce a
# Sandbox whose Pod runs on a KWOK node; suspend and resume keep the workspace PVC; deleting the claim
# garbage-collects everything under it.

apply_substrate() { # ns
        kubectl -n "$1" apply -f - >/dev/null <<'YAML'
apiVersion: extensions.agents.x-k8s.io/v1beta1
kind: SandboxTemplate
metadata: {name: busybox}
spec:
  networkPolicyManagement: Unmanaged
  podTemplate:
    spec:
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "tail -f /dev/null"]
        volumeMounts: [{name: workspace, mountPath: /workspace}]
  volumeClaimTemplates:
  - metadata: {name: workspace}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: extensions.agents.x-k8s.io/v1beta1
kind: SandboxWarmPool
metadata: {name: busybox-pool}
spec:
  replicas: 2
  sandboxTemplateRef: {name: busybox}
---
apiVersion: extensions.agents.x-k8s.io/v1beta1
kind: SandboxClaim
metadata: {name: claim-1}
spec:
  warmPoolRef: {name: busybox-pool}
YAML
}

claim_sandbox() { # ns claim
        kubectl -n "$1" get sandboxclaim "$2" -o jsonpath='{.status.sandbox.name}'
}

pod_running_on_kwok() { # ns pod
        local phase node
        phase=$(kubectl -n "$1" get pod "$2" -o jsonpath='{.status.phase}') || return 1
        node=$(kubectl -n "$1" get pod "$2" -o jsonpath='{.spec.nodeName}')
        [ "$phase" = Running ] && [[ $node == kwok-node-* ]]
}

test_claim_becomes_ready_with_running_pod() {
        local ns sb
        ns=$(new_namespace as-claim)
        apply_substrate "$ns"
        kubectl -n "$ns" wait --for=condition=Ready sandboxclaim/claim-1 --timeout=90s >/dev/null ||
                fail "claim not Ready: $(kubectl -n "$ns" get sandboxclaim claim-1 -o jsonpath='{.status}')"
        sb=$(claim_sandbox "$ns" claim-1)
        [ -n "$sb" ] || fail "status.sandbox.name is empty"
        kubectl -n "$ns" get sandbox.agents.x-k8s.io "$sb" >/dev/null || fail "sandbox '$sb' does not exist"
        wait_for "pod $sb Running on a KWOK node" 60 pod_running_on_kwok "$ns" "$sb"
        # the warm pool refills to two ready sandboxes besides the adopted one
        wait_for "warm pool refilled" 90 bash -c "[ \"\$(kubectl -n $ns get sandboxwarmpool busybox-pool -o jsonpath='{.status.readyReplicas}')\" = 2 ]"
}

test_suspend_keeps_pvc_and_resume_brings_pod_back() {
        local ns sb pvc uid
        ns=$(new_namespace as-suspend)
        apply_substrate "$ns"
        kubectl -n "$ns" wait --for=condition=Ready sandboxclaim/claim-1 --timeout=90s >/dev/null || fail "claim not Ready"
        sb=$(claim_sandbox "$ns" claim-1)
        wait_for "pod running" 60 pod_running_on_kwok "$ns" "$sb"
        pvc=workspace-$sb
        wait_for "pvc $pvc bound" 60 bash -c "[ \"\$(kubectl -n $ns get pvc $pvc -o jsonpath='{.status.phase}')\" = Bound ]"
        uid=$(kubectl -n "$ns" get pvc "$pvc" -o jsonpath='{.metadata.uid}')

        kubectl -n "$ns" patch sandbox.agents.x-k8s.io "$sb" --type=merge -p '{"spec":{"operatingMode":"Suspended"}}' >/dev/null
        wait_for "pod deleted on suspend" 60 bash -c "! kubectl -n $ns get pod $sb"
        assert_eq "$uid" "$(kubectl -n "$ns" get pvc "$pvc" -o jsonpath='{.metadata.uid}')" "PVC kept across suspend"

        kubectl -n "$ns" patch sandbox.agents.x-k8s.io "$sb" --type=merge -p '{"spec":{"operatingMode":"Running"}}' >/dev/null
        wait_for "pod back on resume" 60 pod_running_on_kwok "$ns" "$sb"
        assert_eq "$uid" "$(kubectl -n "$ns" get pvc "$pvc" -o jsonpath='{.metadata.uid}')" "same PVC after resume"
        kubectl -n "$ns" get pod "$sb" -o jsonpath='{.spec.volumes[*].persistentVolumeClaim.claimName}' | grep -qx "$pvc" ||
                fail "resumed pod does not mount $pvc"
}

test_deleting_claim_removes_sandbox_and_pod() {
        local ns sb
        ns=$(new_namespace as-delete)
        apply_substrate "$ns"
        kubectl -n "$ns" wait --for=condition=Ready sandboxclaim/claim-1 --timeout=90s >/dev/null || fail "claim not Ready"
        sb=$(claim_sandbox "$ns" claim-1)
        wait_for "pod running" 60 pod_running_on_kwok "$ns" "$sb"
        kubectl -n "$ns" delete sandboxclaim claim-1 --wait=true --timeout=60s >/dev/null
        wait_for "sandbox $sb gone" 60 bash -c "! kubectl -n $ns get sandbox.agents.x-k8s.io $sb"
        wait_for "pod $sb gone" 60 bash -c "! kubectl -n $ns get pod $sb"
        wait_for "pvc of $sb gone" 60 bash -c "! kubectl -n $ns get pvc workspace-$sb"
}
