# mbox-operator end to end, driven as a user drives it: kubectl apply of mbox objects, then what
# kubectl get/describe shows. The operator runs as its own ServiceAccount with the RBAC of manifests/, the
# real agent-sandbox controller makes Sandboxes, and KWOK runs their pods.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

only_sandboxes_in() { [ -z "$(kubectl get sandboxes.mbox.dev -A --no-headers 2>/dev/null | awk -v ns="$1" '$1 != ns')" ]; }

test_walkthrough_examples() {
        setup_operator
        # the examples as they are, in their own namespace: a project, two templates, a sandbox
        local p ns=mbox-demo
        demo_room
        printf 'project demo\n' >>"$_cleanup_file"
        kubectl apply -f "$root/examples/00-project.yaml" >/dev/null
        kubectl wait --for=condition=Ready projects.mbox.dev/demo --timeout=60s >/dev/null ||
                fail "project demo not Ready: $(kubectl get projects.mbox.dev demo -o jsonpath='{.status.conditions}')"
        kubectl apply -f "$root/examples/01-template-nodejs.yaml" -f "$root/examples/02-template-busybox.yaml" \
                -f "$root/examples/03-sandbox.yaml" >/dev/null
        kubectl -n $ns wait --for=condition=Ready sandboxes.mbox.dev/demo-sandbox --timeout=60s >/dev/null ||
                fail "demo-sandbox not Ready: $(kubectl -n $ns get sandboxes.mbox.dev demo-sandbox -o jsonpath='{.status}')"
        assert_eq Running "$(phase $ns demo-sandbox)" "phase"
        assert_eq restricted "$(kubectl get ns $ns -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" \
                "Pod Security level of the project namespace"
        p=$(kubectl -n $ns get sandboxes.mbox.dev demo-sandbox -o jsonpath='{.status.podName}')
        [ -n "$p" ] || fail "no podName in status"
        assert_eq false "$(kubectl -n $ns get pod "$p" -o jsonpath='{.spec.automountServiceAccountToken}')" "token automount"
        assert_eq true "$(kubectl -n $ns get pod "$p" -o jsonpath='{.spec.securityContext.runAsNonRoot}')" "runAsNonRoot"
        assert_eq false "$(kubectl -n $ns get pod "$p" -o jsonpath='{.spec.containers[0].securityContext.allowPrivilegeEscalation}')" \
                "allowPrivilegeEscalation"
        assert_eq RuntimeDefault "$(kubectl -n $ns get pod "$p" -o jsonpath='{.spec.securityContext.seccompProfile.type}')" "seccomp"
        assert_eq /workspace "$(kubectl -n $ns get pod "$p" -o jsonpath='{.spec.containers[0].volumeMounts[?(@.name=="workspace")].mountPath}')" \
                "workspace mount"
        local pvc
        pvc=$(kubectl -n $ns get pod "$p" -o jsonpath='{.spec.volumes[?(@.name=="workspace")].persistentVolumeClaim.claimName}')
        assert_eq Bound "$(kubectl -n $ns get pvc "$pvc" -o jsonpath='{.status.phase}')" "workspace PVC"
        assert_eq false "$(kubectl -n $ns get sa mbox-sandbox -o jsonpath='{.automountServiceAccountToken}')" "sandbox SA"
        [ "$(count $ns networkpolicies)" -ge 3 ] || fail "network policies missing"
        assert_contains "$(kubectl get projects.mbox.dev demo)" "mbox-demo" "kubectl get project"
        wait_for "the ClaimCreated event" 30 event_is $ns demo-sandbox reason ClaimCreated
        assert_contains "$(kubectl -n $ns describe sandboxes.mbox.dev demo-sandbox)" "ClaimCreated" "events in describe"

        # validation: busybox-terminal's check runs in a sandbox of its own, removed afterwards;
        # nodejs-workspace has no check and is passed by demo-sandbox
        validated() { [ "$(kubectl -n $ns get envtpl "$1" -o jsonpath='{.status.validation.status}')" = Passed ]; }
        wait_for "busybox-terminal validation Passed" 90 validated busybox-terminal
        wait_for "nodejs-workspace validation Passed" 30 validated nodejs-workspace
        wait_for "the validation sandbox to go" 60 count_is $ns sandboxes.mbox.dev -eq 1
        # the counter covers every namespace: sandboxes that earlier tests left to their namespaces' deletion
        # are finalized by this operator, so they must be gone first
        wait_for "earlier tests' sandboxes to go" 120 only_sandboxes_in $ns

        # converged: further passes (a resync every 2 s) write nothing. The pause lets the last writes of the
        # validation's cleanup land; the window is then two passes of every controller over all it watches
        # (its reconcile counter must grow by twice its objects), so the operator looked and found nothing to do
        sleep 3
        local before after series
        before=$(metric "$PORT" mbox_operator_api_writes_total)
        series=$(curl -fs "http://127.0.0.1:$PORT/metrics" | grep '^mbox_operator_api_writes_total')
        wait_reconciles "$PORT" project $((2 * $(kubectl get projects.mbox.dev --no-headers | wc -l))) 30
        wait_reconciles "$PORT" template $((2 * $(kubectl get environmenttemplates.mbox.dev -A --no-headers | wc -l))) 30
        wait_reconciles "$PORT" sandbox $((2 * $(kubectl get sandboxes.mbox.dev -A --no-headers | wc -l))) 30
        after=$(metric "$PORT" mbox_operator_api_writes_total)
        [ "$before" = "$after" ] || log "writes by series, before and after: $series $(curl -fs "http://127.0.0.1:$PORT/metrics" | grep '^mbox_operator_api_writes_total')"
        assert_eq "$before" "$after" "API writes over two resyncs of converged objects"
        [ "$(metric "$PORT" mbox_operator_reconcile_total)" -gt 0 ] || fail "no reconciles counted"

        # deleting the project removes everything it owns
        kubectl delete projects.mbox.dev demo --timeout=90s >/dev/null || fail "project deletion did not finish"
        gone "" namespace $ns || fail "namespace $ns still exists"
}

test_stop_start_delete() {
        setup_operator
        local p ns
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box "  storage: {size: 1Gi}"
        sandbox "$ns" s1
        wait_for "s1 Running" 60 phase_is "$ns" s1 Running
        # the project counts its sandboxes, and /metrics has them by phase (updated every 2 s)
        counts() { [ "$(kubectl get mproj "$p" -o jsonpath='{.status.sandboxes}/{.status.runningSandboxes}')" = "$1" ]; }
        wait_for "project status: 1 sandbox, 1 running" 20 counts 1/1
        gauge() { curl -fs "http://127.0.0.1:$PORT/metrics" | grep -q "^mbox_operator_sandboxes{phase=\"Running\"} [1-9]"; }
        wait_for "mbox_operator_sandboxes{phase=\"Running\"} counts s1" 30 gauge
        local pvc pvc_uid
        pvc=$(kubectl -n "$ns" get pvc -o name | head -n 1)
        pvc_uid=$(kubectl -n "$ns" get "$pvc" -o jsonpath='{.metadata.uid}')

        kubectl -n "$ns" patch sandboxes.mbox.dev s1 --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "s1 Stopped" 30 phase_is "$ns" s1 Stopped
        wait_for "project status: 1 sandbox, none running" 20 counts 1/0
        assert_eq 0 "$(count "$ns" pods)" "pods of a stopped sandbox"
        assert_eq "$pvc_uid" "$(kubectl -n "$ns" get "$pvc" -o jsonpath='{.metadata.uid}')" "PVC kept while stopped"

        kubectl -n "$ns" patch sandboxes.mbox.dev s1 --type=merge -p '{"spec":{"state":"Running"}}' >/dev/null
        wait_for "s1 Running again" 30 phase_is "$ns" s1 Running
        assert_eq "$pvc_uid" "$(kubectl -n "$ns" get "$pvc" -o jsonpath='{.metadata.uid}')" "same PVC after start"
        assert_eq 1 "$(count "$ns" pods)" "pods after start"

        kubectl -n "$ns" delete sandboxes.mbox.dev s1 --timeout=60s >/dev/null || fail "delete did not finish"
        # nothing left behind: every kind a sandbox makes
        for kind in sandboxes.mbox.dev sandboxclaims.extensions.agents.x-k8s.io sandboxes.agents.x-k8s.io pods \
                persistentvolumeclaims services; do
                assert_eq 0 "$(count "$ns" $kind)" "$kind left after delete"
        done
}

test_template_change_keeps_running_sandbox() {
        setup_operator
        local p ns v1 v2 pod_uid
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" old
        wait_for "old Running" 60 phase_is "$ns" old Running
        v1=$(kubectl -n "$ns" get sandboxes.mbox.dev old -o jsonpath='{.status.templateVersion}')
        pod_uid=$(kubectl -n "$ns" get pod -o jsonpath='{.items[0].metadata.uid}')

        template "$ns" box "  env: [{name: GREETING, value: hello}]"
        wait_for "a second template version" 30 count_is "$ns" sandboxtemplates.extensions.agents.x-k8s.io -eq 2
        v2=$(kubectl -n "$ns" get environmenttemplates.mbox.dev box -o jsonpath='{.status.version}')
        [ "$v1" != "$v2" ] || fail "template version did not change"
        sandbox "$ns" new
        wait_for "new Running" 60 phase_is "$ns" new Running
        assert_eq "$v2" "$(kubectl -n "$ns" get sandboxes.mbox.dev new -o jsonpath='{.status.templateVersion}')" "new sandbox's version"
        assert_eq "$v1" "$(kubectl -n "$ns" get sandboxes.mbox.dev old -o jsonpath='{.status.templateVersion}')" "old sandbox's version"
        assert_eq Running "$(phase "$ns" old)" "old sandbox after the change"
        kubectl -n "$ns" get pods -o jsonpath='{.items[*].metadata.uid}' | grep -q "$pod_uid" ||
                fail "the running sandbox's pod was replaced"
        assert_contains "$(kubectl -n "$ns" get pod "$(kubectl -n "$ns" get sandboxes.mbox.dev new -o jsonpath='{.status.podName}')" -o jsonpath='{.spec.containers[0].env}')" \
                GREETING "new sandbox's pod env"

        # the old version goes once nothing uses it
        kubectl -n "$ns" delete sandboxes.mbox.dev old --timeout=60s >/dev/null || fail "delete of old did not finish"
        wait_for "the old version to be removed" 30 count_is "$ns" sandboxtemplates.extensions.agents.x-k8s.io -eq 1
}

test_quota_max_sandboxes() {
        setup_operator
        local p ns
        p=$(new_project "  quota: {maxSandboxes: 2}")
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" a
        sandbox "$ns" b
        sandbox "$ns" c
        wait_for "a Running" 60 phase_is "$ns" a Running
        wait_for "b Running" 60 phase_is "$ns" b Running
        wait_for "c waiting on quota" 30 reason_is "$ns" c QuotaExceeded
        assert_eq Pending "$(phase "$ns" c)" "phase of the third sandbox"
        assert_contains "$(kubectl -n "$ns" get sandboxes.mbox.dev c -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" \
                QuotaExceeded "Ready condition"
        wait_for "a QuotaExceeded event" 30 event_is "$ns" c reason QuotaExceeded
        assert_eq 2 "$(count "$ns" sandboxclaims.extensions.agents.x-k8s.io)" "claims under quota"
        kubectl -n "$ns" delete sandboxes.mbox.dev a --timeout=60s >/dev/null || fail "delete of a did not finish"
        wait_for "c Running after room appeared" 60 phase_is "$ns" c Running
}

test_quota_max_running() {
        # no resync within the test: room must be noticed when it appears
        setup_operator --resync=10m
        local p ns
        p=$(new_project "  quota: {maxRunning: 1}")
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" a
        wait_for "a Running" 60 phase_is "$ns" a Running
        sandbox "$ns" b
        wait_for "b waiting on quota" 30 reason_is "$ns" b QuotaExceeded
        # stopping a makes room: b starts without waiting for a resync
        kubectl -n "$ns" patch sandboxes.mbox.dev a --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "a Stopped" 60 phase_is "$ns" a Stopped
        wait_for "b Running once a stopped" 60 phase_is "$ns" b Running
        # starting a again would make two: it stays Stopped, saying why
        kubectl -n "$ns" patch sandboxes.mbox.dev a --type=merge -p '{"spec":{"state":"Running"}}' >/dev/null
        wait_for "a held back by quota" 30 reason_is "$ns" a QuotaExceeded
        assert_eq Stopped "$(phase "$ns" a)" "phase of a start over quota"
        # deleting b makes room again: a starts on its own workspace volume
        kubectl -n "$ns" delete sandboxes.mbox.dev b --timeout=60s >/dev/null || fail "delete of b did not finish"
        wait_for "a Running once b is gone" 60 phase_is "$ns" a Running
}

test_policy_runtime_class_and_credentials() {
        setup_operator
        local p ns rc
        p=$(new_project)
        ns=mbox-$p
        # a RuntimeClass of this test's own (the API server refuses pods naming one that does not exist)
        rc="mbox-test-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        printf 'object runtimeclass/%s\n' "$rc" >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: $rc}
handler: runsc
YAML
        template "$ns" isolated "  runtimeClassName: $rc"
        kubectl -n "$ns" create secret generic api-token --from-literal=token=s3cret >/dev/null
        template "$ns" secretive "  env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: api-token, key: token}}}]
  warmPool: {replicas: 1}"
        TEMPLATE=isolated sandbox "$ns" iso
        TEMPLATE=secretive sandbox "$ns" cred
        wait_for "iso refused its RuntimeClass" 30 reason_is "$ns" iso RuntimeClassNotAllowed
        assert_contains "$(kubectl -n "$ns" get sandboxes.mbox.dev iso -o jsonpath='{.status.message}')" \
                "spec.policy.allowedRuntimeClasses" "message says what to change"
        wait_for "cred refused its Secret" 30 reason_is "$ns" cred CredentialNotAllowed
        assert_contains "$(kubectl -n "$ns" get sandboxes.mbox.dev cred -o jsonpath='{.status.message}')" \
                "Secret api-token" "message names the Secret"
        wait_for "a CredentialNotAllowed event" 30 event_is "$ns" cred reason CredentialNotAllowed
        assert_eq 0 "$(count "$ns" sandboxclaims.extensions.agents.x-k8s.io)" "claims of refused sandboxes"
        # nor does the template's warm pool keep a pod with the Secret
        pool_replicas() {
                kubectl -n "$ns" get sandboxwarmpools.extensions.agents.x-k8s.io -l mbox.dev/template=secretive \
                        -o jsonpath='{.items[*].spec.replicas}'
        }
        wait_for "secretive's pool" 30 bash -c "[ -n \"\$(kubectl -n $ns get sandboxwarmpools.extensions.agents.x-k8s.io -l mbox.dev/template=secretive -o name)\" ]"
        assert_eq 0 "$(pool_replicas)" "warm pods of a template the policy refuses"
        # the credential allowed for another template only: still refused. Proof that cred was looked at with
        # the changed project: the project controller has seen the change (its observedGeneration), and then
        # a change of cred's own spec is reconciled (cred's observedGeneration) with that project in the cache
        kubectl patch projects.mbox.dev "$p" --type=merge \
                -p '{"spec":{"policy":{"credentials":[{"secretName":"api-token","templates":[{"name":"isolated"}]}]}}}' >/dev/null
        wait_for "the project's change observed" 30 observed "" projects.mbox.dev "$p"
        kubectl -n "$ns" patch sandboxes.mbox.dev cred --type=merge -p '{"spec":{"lifetime":{"maxLifetime":"24h"}}}' >/dev/null
        wait_for "cred reconciled after the project's change" 30 observed "$ns" sandboxes.mbox.dev cred
        assert_eq CredentialNotAllowed "$(reason "$ns" cred)" "a credential granted to another template"
        assert_eq 0 "$(count "$ns" sandboxclaims.extensions.agents.x-k8s.io)" "claims of still refused sandboxes"
        # the project allows both: the sandboxes go ahead
        kubectl patch projects.mbox.dev "$p" --type=merge -p "{\"spec\":{\"policy\":{\"allowedRuntimeClasses\":[\"$rc\"],
                \"credentials\":[{\"secretName\":\"api-token\",\"templates\":[{\"name\":\"secretive\"}]}]}}}" >/dev/null
        wait_for "iso Running once its RuntimeClass is allowed" 60 phase_is "$ns" iso Running
        assert_eq "$rc" "$(kubectl -n "$ns" get pod "$(kubectl -n "$ns" get sandboxes.mbox.dev iso -o jsonpath='{.status.podName}')" \
                -o jsonpath='{.spec.runtimeClassName}')" "the pod's RuntimeClass"
        wait_for "cred Running once its Secret is allowed" 60 phase_is "$ns" cred Running
        assert_eq api-token "$(kubectl -n "$ns" get pod "$(kubectl -n "$ns" get sandboxes.mbox.dev cred -o jsonpath='{.status.podName}')" \
                -o jsonpath='{.spec.containers[0].env[?(@.name=="TOKEN")].valueFrom.secretKeyRef.name}')" "the pod's env from the Secret"
        pool_is_warm() { [ "$(pool_replicas)" = 1 ]; }
        wait_for "secretive's pool to keep its warm pod" 30 pool_is_warm
}

test_own_service_account() {
        setup_operator
        local p ns pod
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box "  warmPool: {replicas: 1}"
        sandbox "$ns" plain
        sandbox "$ns" own "  serviceAccountName: builder"
        wait_for "own waits for its ServiceAccount" 30 reason_is "$ns" own ServiceAccountNotFound
        assert_contains "$(kubectl -n "$ns" get sandboxes.mbox.dev own -o jsonpath='{.status.message}')" \
                "ServiceAccount builder named by spec.serviceAccountName does not exist" "message says what to fix"
        wait_for "a ServiceAccountNotFound event" 30 event_is "$ns" own reason ServiceAccountNotFound
        assert_eq 0 "$(count "$ns" sandboxclaims.extensions.agents.x-k8s.io mbox.dev/sandbox=own)" "claim of a sandbox without its account"
        kubectl -n "$ns" create serviceaccount builder >/dev/null
        wait_for "own Running once its ServiceAccount exists" 60 phase_is "$ns" own Running
        pod=$(kubectl -n "$ns" get sandboxes.mbox.dev own -o jsonpath='{.status.podName}')
        assert_eq builder "$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.spec.serviceAccountName}')" "own's pod account"
        assert_eq false "$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.spec.automountServiceAccountToken}')" "own's pod token"
        wait_for "plain Running" 60 phase_is "$ns" plain Running
        pod=$(kubectl -n "$ns" get sandboxes.mbox.dev plain -o jsonpath='{.status.podName}')
        assert_eq mbox-sandbox "$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.spec.serviceAccountName}')" "plain's pod account"
        # the account's projection is its own and keeps no warm pods; the template's keeps its one
        local sel=mbox.dev/service-account=builder pools=sandboxwarmpools.extensions.agents.x-k8s.io
        assert_eq 0 "$(kubectl -n "$ns" get "$pools" -l "$sel" -o jsonpath='{.items[*].spec.replicas}')" "warm pods for builder"
        assert_eq 1 "$(kubectl -n "$ns" get "$pools" -l "!mbox.dev/service-account" -o jsonpath='{.items[*].spec.replicas}')" "warm pods of the template"
        [ "$(kubectl -n "$ns" get sandboxes.mbox.dev own -o jsonpath='{.status.templateVersion}')" != \
                "$(kubectl -n "$ns" get sandboxes.mbox.dev plain -o jsonpath='{.status.templateVersion}')" ] ||
                fail "own and plain have the same template version"
        # once no sandbox names the account, its projection goes; the template's stays
        kubectl -n "$ns" delete sandboxes.mbox.dev own --wait=false >/dev/null
        wait_for "own gone" 60 gone "$ns" sandboxes.mbox.dev own
        no_builder_template() { [ "$(count "$ns" sandboxtemplates.extensions.agents.x-k8s.io "$sel")" -eq 0 ]; }
        wait_for "builder's SandboxTemplate removed" 60 no_builder_template
        assert_eq 0 "$(count "$ns" "$pools" "$sel")" "builder's pool"
        assert_eq 1 "$(count "$ns" "$pools")" "the template's pool"
        phase_is "$ns" plain Running || fail "plain is $(phase "$ns" plain) after own went"
}

test_lifetimes() {
        setup_operator
        local p ns
        p=$(new_project "  policy: {lifecycle: {stoppedRetention: 6s}}")
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" idle "  lifetime: {idleTimeout: 3s}"
        sandbox "$ns" short "  lifetime: {maxLifetime: 8s}"
        wait_for "idle Running" 60 phase_is "$ns" idle Running
        wait_timed "idle stopped by its idle timeout of 3s" 60 reason_is "$ns" idle IdleTimeout
        wait_for "idle Stopped" 60 phase_is "$ns" idle Stopped
        # the desired state stays the user's (GitOps sees no drift); the runtime alone was stopped
        assert_eq Running "$(kubectl -n "$ns" get sandboxes.mbox.dev idle -o jsonpath='{.spec.state}')" "spec.state after idle"
        wait_timed "short Expired after its maxLifetime of 8s" 90 phase_is "$ns" short Expired
        assert_eq MaxLifetimeExceeded "$(reason "$ns" short)" "reason of an expired sandbox"
        # stopped retention deletes what stayed stopped
        wait_timed "idle deleted after the stopped retention of 6s" 90 gone "$ns" sandboxes.mbox.dev idle
        wait_timed "short deleted after the stopped retention of 6s" 90 gone "$ns" sandboxes.mbox.dev short
}

# the template's lifecycle applies for the whole life of a sandbox, not only until its claim is made
test_template_lifecycle() {
        setup_operator
        local p ns
        p=$(new_project)
        ns=mbox-$p
        template "$ns" idlebox "  lifecycle: {idleTimeout: 3s}"
        template "$ns" shortbox "  lifecycle: {maxLifetime: 15s}"
        TEMPLATE=idlebox sandbox "$ns" idle
        TEMPLATE=shortbox sandbox "$ns" short
        wait_for "idle Running" 60 phase_is "$ns" idle Running
        wait_for "short Running" 60 phase_is "$ns" short Running
        wait_timed "idle stopped by its template's idle timeout of 3s" 60 reason_is "$ns" idle IdleTimeout
        wait_for "idle Stopped" 60 phase_is "$ns" idle Stopped
        wait_timed "short Expired after its template's maxLifetime of 15s" 90 phase_is "$ns" short Expired
        assert_eq MaxLifetimeExceeded "$(reason "$ns" short)" "reason of a sandbox expired by its template"
        assert_eq 0 "$(count "$ns" pods)" "pods of the stopped and the expired sandbox"
}

test_bad_references() {
        setup_operator
        local p q ns
        p=$(new_project)
        q=$(new_project)
        ns=mbox-$p
        # a template that does not exist, then does
        TEMPLATE=later sandbox "$ns" s1
        wait_for "TemplateNotFound" 30 reason_is "$ns" s1 TemplateNotFound
        assert_contains "$(kubectl -n "$ns" describe sandboxes.mbox.dev s1)" "EnvironmentTemplate later not found" "describe"
        template "$ns" later
        wait_for "s1 Running once the template exists" 60 phase_is "$ns" s1 Running
        # a template of another project
        template "mbox-$q" theirs
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: s2, namespace: $ns}
spec:
  templateRef: {name: theirs, namespace: mbox-$q}
YAML
        wait_for "TemplateNotAllowed" 30 reason_is "$ns" s2 TemplateNotAllowed
        wait_for "a Warning event" 30 event_is "$ns" s2 type Warning
        # a namespace no project owns, until a project takes it (an administrator labels it for the project)
        local orphan="mbox-o-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        kubectl create namespace "$orphan" >/dev/null
        printf '%s\n' "$orphan" >>"$_cleanup_file"
        template "$orphan" box
        sandbox "$orphan" s3
        wait_for "ProjectNotFound" 30 reason_is "$orphan" s3 ProjectNotFound
        local r="p-${orphan#mbox-o-}"
        printf 'project %s\n' "$r" >>"$_cleanup_file"
        kubectl label namespace "$orphan" "mbox.dev/project=$r" >/dev/null
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $r}
spec: {namespace: $orphan}
YAML
        wait_for "s3 Running once a project owns the namespace" 60 phase_is "$orphan" s3 Running
}

test_kill_and_restart_converges() {
        setup_operator --sandbox-workers=4
        local p ns i pid
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box
        for i in $(seq 1 50); do
                printf -- '---\napiVersion: mbox.dev/v1alpha1\nkind: Sandbox\nmetadata: {name: s%d, namespace: %s}\nspec: {templateRef: {name: box}}\n' "$i" "$ns"
        done | kubectl apply -f - >/dev/null &
        # kill it while the sandboxes are still being created
        wait_for "the first claims" 60 count_is "$ns" sandboxclaims.extensions.agents.x-k8s.io -ge 5
        pid=$(awk '$1 == "pid" {print $2}' "$_cleanup_file" | tail -n 1)
        kill -9 "$pid"
        # the kill landed mid-work: with the operator gone no claim is made, so fewer than 50 now means the
        # restarted operator has the rest to do
        local claims_at_kill
        claims_at_kill=$(count "$ns" sandboxclaims.extensions.agents.x-k8s.io)
        log "killed the operator with $claims_at_kill of 50 claims made"
        [ "$claims_at_kill" -lt 50 ] || fail "the kill landed after all 50 claims were made: nothing left to converge after the restart"
        wait $! || fail "kubectl apply of the 50 sandboxes failed"
        printf 'file %s.2\n' "$OPLOG" >>"$_cleanup_file"
        PORT=$(start_operator "$OPLOG.2" --resync=2s)
        wait_for "50 sandboxes Running" 180 running_is "$ns" 50
        assert_eq 50 "$(count "$ns" sandboxclaims.extensions.agents.x-k8s.io)" "claims"
        assert_eq 50 "$(count "$ns" sandboxes.agents.x-k8s.io)" "agent-sandbox Sandboxes"
        assert_eq 50 "$(count "$ns" pods)" "pods"
        assert_eq 50 "$(count "$ns" persistentvolumeclaims)" "PVCs"
}

test_leader_election_only_leader_writes() {
        install_operator_rbac
        local p ns a b la lb holder port_a port_b
        la=$(mktemp) lb=$(mktemp)
        printf 'file %s\nfile %s\n' "$la" "$lb" >>"$_cleanup_file"
        port_a=$(start_operator "$la" --leader-elect --leader-election-identity=replica-a --resync=2s)
        wait_for "replica-a leads" 20 grep -q "became leader" "$la"
        port_b=$(start_operator "$lb" --leader-elect --leader-election-identity=replica-b --resync=2s)
        holder=$(kubectl -n mbox-system get lease mbox-operator -o jsonpath='{.spec.holderIdentity}')
        assert_eq replica-a "$holder" "Lease holder"
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" s1
        wait_for "s1 Running" 60 phase_is "$ns" s1 Running
        [ "$(metric "$port_a" mbox_operator_api_writes_total)" -gt 0 ] || fail "the leader wrote nothing"
        # the standby is up (ready, caches synced) and campaigning, and yet writes nothing
        grep -q "waiting for leadership" "$lb" || fail "the standby is not campaigning: $(tail -5 "$lb")"
        assert_eq 0 "$(metric "$port_b" mbox_operator_api_writes_total)" "writes by the standby"
        assert_eq 0 "$(metric "$port_b" mbox_operator_reconcile_total)" "reconciles by the standby"
        ! grep -q "became leader" "$lb" || fail "the standby claims to lead"
        # a clean stop of the leader hands over at once: the Lease is released (no holder, 1 s) rather than
        # left to expire, and replica-b takes it next; every state of the Lease is watched from before the stop
        local states wpid t0 ms
        states=$(mktemp)
        printf 'file %s\n' "$states" >>"$_cleanup_file"
        kubectl -n mbox-system get lease mbox-operator -w \
                -o jsonpath='{.spec.holderIdentity}/{.spec.leaseDurationSeconds}{"\n"}' >"$states" 2>/dev/null &
        wpid=$!
        printf 'pid %s\n' "$wpid" >>"$_cleanup_file"
        wait_for "the Lease watched" 20 grep -q '^replica-a/' "$states"
        t0=$(date +%s%N)
        kill "$(awk '$1 == "pid" {print $2}' "$_cleanup_file" | head -n 1)"
        wait_for "replica-b leads after a clean stop" 60 grep -q "became leader" "$lb"
        ms=$((($(date +%s%N) - t0) / 1000000))
        log "replica-b led $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s after replica-a was stopped (the Lease lasts 15s)"
        wait_for "replica-b in the Lease" 20 grep -q '^replica-b/' "$states"
        kill "$wpid"
        assert_eq "/1 replica-b/15" "$(awk '!/^replica-a\// && !seen[$0]++' "$states" | head -n 2 | paste -sd' ')" \
                "the Lease after replica-a's clean stop: released, then taken by replica-b ($(paste -sd' ' "$states"))"
}
