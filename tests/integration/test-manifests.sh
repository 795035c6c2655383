# manifests/ is what a cluster admin installs: the kustomize base renders on its own and through every overlay
# with plain `kubectl kustomize`; no Role or ClusterRole holds a wildcard; the programs run with restricted
# security contexts; every overlay passes a server-side dry-run against the real API server; the local and
# production overlays apply for real; the user roles aggregate into admin/edit/view; and the operator's and apiserver's
# ServiceAccounts can do what the programs need and no more. Objects the test creates are deleted at the end
# (the CRDs excepted: other tests and checkouts share them, and deleting them would delete every mbox object).

manifests=$root/manifests
renders=(base overlays/local overlays/production)
sa_operator=system:serviceaccount:mbox-system:mbox-operator
sa_apiserver=system:serviceaccount:mbox-system:mbox-apiserver

# render NAME: kubectl kustomize of manifests/NAME; "production+postgres" is the production overlay with the
# optional Postgres component switched on (as its kustomization.yaml suggests), built from a temporary
# kustomization that refers to the real directories.
render() {
        local dir rel out
        if [ "$1" = production+postgres ]; then
                dir=$(mktemp -d)
                rel=$(realpath --relative-to="$dir" "$manifests")
                printf 'resources: [%s/overlays/production]\ncomponents: [%s/components/postgres]\n' "$rel" "$rel" \
                        >"$dir/kustomization.yaml"
                out=$(kubectl kustomize "$dir" 2>&1) || { rm -rf "$dir"; fail "kubectl kustomize production+postgres: $out"; }
                rm -rf "$dir"
        else
                out=$(kubectl kustomize "$manifests/$1" 2>&1) || fail "kubectl kustomize manifests/$1: $out"
        fi
        printf '%s\n' "$out"
}

# as_json NAME: the rendered objects as one JSON List (parsed by kubectl, so what the API would see).
as_json() {
        local out
        out=$(render "$1" | kubectl create --dry-run=client -o json -f - 2>&1) || fail "$1 does not parse: $out"
        # kubectl prints one JSON document per object: gather them into a List
        jq -s 'if length == 1 and .[0].kind == "List" then .[0] else {apiVersion: "v1", kind: "List", items: .} end' <<<"$out"
}

# ensure_system_namespace: a server-side dry-run of namespaced objects needs their namespace to exist.
_made_ns=0
ensure_system_namespace() {
        if [ "$(kubectl get namespace mbox-system -o jsonpath='{.status.phase}' 2>/dev/null)" = Terminating ]; then
                wait_for "namespace mbox-system to finish terminating" 120 bash -c '! kubectl get namespace mbox-system'
        fi
        if ! kubectl get namespace mbox-system >/dev/null 2>&1; then
                kubectl create namespace mbox-system >/dev/null || fail "cannot create namespace mbox-system"
                _made_ns=1
        fi
}

# local_setup [RENDER]: applies the local overlay (or RENDER) for real, remembering which objects existed
# before; local_cleanup
# (on exit) deletes the others, CRDs excepted, and always deletes the APIService if this test created it:
# nothing serves it yet, and an unavailable APIService makes every client's discovery print errors.
_rendered=
_existing=
local_setup() {
        local out
        ensure_system_namespace
        _rendered=$(mktemp)
        _existing=$(mktemp)
        trap local_cleanup EXIT
        as_json "${1:-overlays/local}" >"$_rendered"
        kubectl get -f "$_rendered" --ignore-not-found -o json |
                jq -r 'if .kind == "List" then .items[] else . end | "\(.kind)/\(.metadata.namespace // "")/\(.metadata.name)"' \
                        >"$_existing"
        # mbox-system made only for the dry-runs is "created by the test" too
        if [ $_made_ns = 1 ]; then sed -i '\|^Namespace//mbox-system$|d' "$_existing"; fi
        # --force-conflicts: the CRDs may have been applied before by another manager (test-crds.sh)
        out=$(kubectl apply --server-side --force-conflicts --field-manager=mbox-test-manifests -f "$_rendered" 2>&1) ||
                fail "${1:-overlays/local} not applied: $out"
}

local_cleanup() {
        local created
        if [ -s "$_rendered" ]; then
                created=$(jq -c --rawfile have "$_existing" '
                        ($have | split("\n")) as $h
                        | .items |= map(select(.kind != "CustomResourceDefinition"
                                and ((("\(.kind)/\(.metadata.namespace // "")/\(.metadata.name)") as $k | $h | any(. == $k)) | not)))' \
                        "$_rendered")
                if [ "$(jq '.items | length' <<<"$created")" -gt 0 ]; then
                        kubectl delete --ignore-not-found --wait=false -f - <<<"$created" >/dev/null 2>&1
                fi
        fi
        # whatever happened above: a namespace or APIService this test made does not outlive it
        if [ $_made_ns = 1 ]; then kubectl delete namespace mbox-system --wait=false >/dev/null 2>&1; fi
        if [ -n "$_existing" ] && ! grep -qx 'APIService//v1alpha1.runtime.mbox.dev' "$_existing" 2>/dev/null; then
                kubectl delete apiservice v1alpha1.runtime.mbox.dev --ignore-not-found >/dev/null 2>&1
        fi
        rm -f "$_rendered" "$_existing"
        _cleanup
}

test_base_renders_the_crds_in_place() {
        # crds/Kustomization lets the base use crds/ itself: one copy of each CRD in the repository
        assert_eq "$(ls "$root"/crds/*.yaml | wc -l)" "$(render base | grep -c '^kind: CustomResourceDefinition$')" \
                "CRDs in the base"
        # and kubectl apply -f crds/ still sees only the CRDs
        kubectl apply --server-side --force-conflicts --dry-run=server -f "$root/crds/" >/dev/null ||
                fail "kubectl apply -f crds/ fails"
}

test_every_kustomization_renders() {
        local r kinds j
        for r in "${renders[@]}" production+postgres; do
                kinds=$(as_json "$r" | jq -r '[.items[].kind] | unique | join(",")')
                log "$r: $kinds"
                for k in CustomResourceDefinition Namespace ServiceAccount ClusterRole ClusterRoleBinding Role RoleBinding \
                        Deployment Service APIService; do
                        assert_contains ",$kinds," ",$k," "$r renders a $k"
                done
        done
        # images come from kustomize `images:` with a tag
        j=$(as_json base)
        assert_eq "ghcr.io/mbox-dev/mbox-apiserver:v0.1.0 ghcr.io/mbox-dev/mbox-operator:v0.1.0" \
                "$(jq -r '[.items[] | select(.kind == "Deployment") | .spec.template.spec.containers[].image] | sort | join(" ")' <<<"$j")" \
                "images in the base"
        assert_eq "mbox-admin mbox-developer mbox-viewer" \
                "$(jq -r '[.items[] | select(.kind == "ClusterRole" and (.metadata.name | startswith("mbox-")) and .metadata.name != "mbox-operator" and .metadata.name != "mbox-apiserver" and .metadata.name != "mbox-runtime") | .metadata.name] | sort | join(" ")' <<<"$j")" \
                "user roles"
        assert_eq "2 2" "$(jq -r '[.items[] | select(.kind == "Deployment") | .spec.replicas] | join(" ")' <<<"$j")" "base replicas"
        # local: programs scaled to 0, the APIService reaches localhost:8443 through an ExternalName Service
        j=$(as_json overlays/local)
        assert_eq "0 0" "$(jq -r '[.items[] | select(.kind == "Deployment") | .spec.replicas] | join(" ")' <<<"$j")" "local replicas"
        assert_eq "ExternalName localhost 8443" \
                "$(jq -r '.items[] | select(.kind == "Service" and .metadata.name == "mbox-apiserver") | "\(.spec.type) \(.spec.externalName) \(.spec.ports[0].port)"' <<<"$j")" \
                "local apiserver Service"
        assert_eq "mbox-system/mbox-apiserver:8443 runtime.mbox.dev v1alpha1" \
                "$(jq -r '.items[] | select(.kind == "APIService") | "\(.spec.service.namespace)/\(.spec.service.name):\(.spec.service.port) \(.spec.group) \(.spec.version) \(.metadata.name)"' <<<"$j" | cut -d' ' -f1-3)" \
                "local APIService"
        if jq -e '.items[] | select(.kind == "StatefulSet")' <<<"$j" >/dev/null; then fail "local overlay includes Postgres"; fi
        # production: 2 replicas, PDBs, the apiserver NetworkPolicy reaching project namespaces
        j=$(as_json overlays/production)
        assert_eq "2 2" "$(jq -r '[.items[] | select(.kind == "Deployment") | .spec.replicas] | join(" ")' <<<"$j")" "production replicas"
        assert_eq "mbox-apiserver mbox-operator" \
                "$(jq -r '[.items[] | select(.kind == "PodDisruptionBudget") | .metadata.name] | sort | join(" ")' <<<"$j")" "PDBs"
        assert_eq "mbox.dev/project" \
                "$(jq -r '.items[] | select(.kind == "NetworkPolicy" and .metadata.name == "mbox-apiserver") | .spec.egress[0].to[0].namespaceSelector.matchExpressions[0].key' <<<"$j")" \
                "apiserver NetworkPolicy egress to project namespaces"
        # the Postgres component: its generated Secret is what the apiserver reads
        j=$(as_json production+postgres)
        assert_eq "$(jq -r '.items[] | select(.kind == "Secret") | .metadata.name' <<<"$j")" \
                "$(jq -r '.items[] | select(.kind == "Deployment" and .metadata.name == "mbox-apiserver") | .spec.template.spec.containers[0].env[] | select(.name == "MBOX_DATABASE_URL") | .valueFrom.secretKeyRef.name' <<<"$j")" \
                "apiserver database Secret = generated Secret"
}

test_no_wildcards_in_any_role() {
        local r bad n
        for r in "${renders[@]}" production+postgres; do
                bad=$(as_json "$r" | jq -c '.items[] | select(.kind == "ClusterRole" or .kind == "Role")
                        | .metadata.name as $n | .rules[]?
                        | select([.apiGroups[]?, .resources[]?, .verbs[]?, .resourceNames[]?, .nonResourceURLs[]?] | any(contains("*")))
                        | {role: $n, rule: .}')
                [ -z "$bad" ] || fail "$r has wildcard rules: $bad"
                # and no role aggregates others (an aggregationRule would pull in rules this test cannot see)
                n=$(as_json "$r" | jq '[.items[] | select(.aggregationRule != null)] | length')
                assert_eq 0 "$n" "$r roles with aggregationRule"
        done
}

test_programs_run_with_restricted_security_contexts() {
        local out
        out=$(as_json production+postgres | jq -r '.items[] | select(.kind == "Deployment" or .kind == "StatefulSet")
                | .metadata.name as $w | .spec.template.spec as $p | $p.containers[]
                | . as $c | .securityContext as $s
                | [ (if ($p.securityContext.runAsNonRoot // $s.runAsNonRoot) != true then "runAsNonRoot" else empty end),
                    (if $s.readOnlyRootFilesystem != true then "readOnlyRootFilesystem" else empty end),
                    (if $s.allowPrivilegeEscalation != false then "allowPrivilegeEscalation" else empty end),
                    (if ($s.capabilities.drop // []) != ["ALL"] then "drop ALL" else empty end),
                    (if ($s.seccompProfile.type // $p.securityContext.seccompProfile.type) != "RuntimeDefault" then "seccomp" else empty end),
                    (if ($c.resources.requests.cpu == null or $c.resources.limits.memory == null) then "resources" else empty end),
                    (if ($c.livenessProbe == null or $c.readinessProbe == null) then "probes" else empty end) ]
                | select(length > 0) | "\($w)/\($c.name): \(join(", "))"')
        [ -z "$out" ] || fail "not restricted: $out"
        # the programs' probes are the documented health endpoints
        assert_eq "/healthz /readyz /healthz /readyz" \
                "$(as_json base | jq -r '[.items[] | select(.kind == "Deployment") | .spec.template.spec.containers[0] | .livenessProbe.httpGet.path, .readinessProbe.httpGet.path] | join(" ")')" \
                "probe paths"
}

test_every_overlay_passes_a_server_side_dry_run() {
        local r out
        ensure_system_namespace
        [ $_made_ns = 0 ] || trap 'kubectl delete namespace mbox-system --wait=false >/dev/null 2>&1; _cleanup' EXIT
        for r in "${renders[@]}" production+postgres; do
                out=$(render "$r" | kubectl apply --server-side --force-conflicts --dry-run=server \
                        --field-manager=mbox-test-manifests -f - 2>&1) || fail "server dry-run of $r: $out"
                if grep -qi warning <<<"$out"; then fail "server dry-run of $r warns: $out"; fi
        done
}

test_local_overlay_applies_and_roles_aggregate() {
        local ns out
        local_setup
        # everything is there; the programs are scaled to 0 and run as local processes
        kubectl -n mbox-system get serviceaccount mbox-operator mbox-apiserver >/dev/null || fail "ServiceAccounts missing"
        assert_eq "0 0" "$(kubectl -n mbox-system get deploy mbox-operator mbox-apiserver -o jsonpath='{.items[*].spec.replicas}')" \
                "local Deployments"
        assert_eq "ExternalName localhost" \
                "$(kubectl -n mbox-system get service mbox-apiserver -o jsonpath='{.spec.type} {.spec.externalName}')" "Service"
        assert_eq "mbox-apiserver 8443" \
                "$(kubectl get apiservice v1alpha1.runtime.mbox.dev -o jsonpath='{.spec.service.name} {.spec.service.port}')" "APIService"
        # nothing listens yet: remove the APIService now so discovery stays clean for the rest of the test
        if ! grep -qx 'APIService//v1alpha1.runtime.mbox.dev' "$_existing"; then
                kubectl delete apiservice v1alpha1.runtime.mbox.dev >/dev/null || fail "APIService not deleted"
        fi

        # dana holds edit, erin holds view in a namespace: the mbox roles are aggregated into them
        ns=$(new_namespace manifests-rbac)
        kubectl -n "$ns" create rolebinding dana-edit --clusterrole=edit --user=dana >/dev/null
        kubectl -n "$ns" create rolebinding erin-view --clusterrole=view --user=erin >/dev/null
        kubectl -n "$ns" create rolebinding fred-admin --clusterrole=admin --user=fred >/dev/null
        wait_for "edit to aggregate mbox-developer" 60 bash -c \
                "[ \"\$(kubectl auth can-i create sandboxes.mbox.dev -n $ns --as=dana)\" = yes ]"
        wait_for "view to aggregate mbox-viewer" 60 bash -c \
                "[ \"\$(kubectl auth can-i get sandboxes.mbox.dev -n $ns --as=erin)\" = yes ]"
        wait_for "admin to aggregate mbox-admin" 60 bash -c \
                "[ \"\$(kubectl auth can-i create environmenttemplates.mbox.dev -n $ns --as=fred)\" = yes ]"
        can() { kubectl auth can-i "$@" 2>/dev/null || true; }
        assert_eq yes "$(can create sandboxes.mbox.dev -n "$ns" --as=dana)" "dana (edit) create sandboxes"
        assert_eq yes "$(can create executiontasks.mbox.dev -n "$ns" --as=dana)" "dana (edit) create tasks"
        assert_eq no "$(can create environmenttemplates.mbox.dev -n "$ns" --as=dana)" "dana (edit) create templates"
        assert_eq no "$(can create sandboxes.mbox.dev -n "$ns" --as=erin)" "erin (view) create sandboxes"
        assert_eq yes "$(can get sandboxes.mbox.dev -n "$ns" --as=erin)" "erin (view) get sandboxes"
        assert_eq yes "$(can list executiontasks.mbox.dev -n "$ns" --as=erin)" "erin (view) list tasks"
        assert_eq no "$(can get sandboxes.mbox.dev -n default --as=erin)" "erin outside her namespace"
        # runtime.mbox.dev is checked by SubjectAccessReview (no discovery needed, the APIService is gone)
        sar() { # user verb resource [subresource]
                kubectl create -o jsonpath='{.status.allowed}' -f - <<JSON
{"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
 "spec": {"user": "$1", "resourceAttributes": {"namespace": "$ns", "group": "runtime.mbox.dev", "verb": "$2", "resource": "$3", "subresource": "${4:-}"}}}
JSON
        }
        assert_eq true "$(sar dana create sandboxes terminal)" "dana opens a terminal"
        assert_eq true "$(sar dana get sessions)" "dana reads session records"
        assert_eq false "$(sar dana create sessions)" "session records are mbox-apiserver's to write"
        assert_eq true "$(sar dana create artifacts)" "dana registers an artifact"
        assert_eq true "$(sar erin get objecthistories)" "erin reads history"
        assert_eq true "$(sar erin create previewgrants)" "erin mints a preview grant"
        assert_eq true "$(sar erin get sandboxes proxy)" "erin opens a preview through the API"
        assert_eq false "$(sar dana private sandboxes proxy)" "dana opens Private ports of others' sandboxes"
        assert_eq true "$(sar fred private sandboxes proxy)" "fred (admin) opens Private ports"
        assert_eq false "$(sar erin create sandboxes terminal)" "erin opens a terminal"
        assert_eq true "$(sar erin get sandboxes log)" "erin reads a sandbox's log"
        assert_eq true "$(sar fred deletecollection artifacts)" "fred (admin) removes artifacts"
}

# KWOK runs no containers, so this shows what a real apply decides beyond a dry-run: the pods the
# controllers make are admitted under Pod Security "restricted", scheduled, and counted by the PDBs.
test_production_overlay_applies_and_rolls_out() {
        local d had_pvc=0
        kubectl -n mbox-system get pvc data-mbox-postgres-0 >/dev/null 2>&1 && had_pvc=1
        local_setup production+postgres
        # the StatefulSet's volume outlives it by design; one this test made goes with the test
        [ $had_pvc = 1 ] || printf 'object persistentvolumeclaim/data-mbox-postgres-0 -n mbox-system\n' >>"$_cleanup_file"
        for d in deploy/mbox-operator deploy/mbox-apiserver statefulset/mbox-postgres; do
                kubectl -n mbox-system rollout status "$d" --timeout=120s >/dev/null 2>&1 ||
                        fail "$d did not roll out: $(kubectl -n mbox-system describe "$d" | tail -n 15)"
        done
        # two ready pods each: Pod Security "restricted" admitted what the ReplicaSets made
        assert_eq "2 2" "$(kubectl -n mbox-system get deploy mbox-operator mbox-apiserver -o jsonpath='{.items[*].status.readyReplicas}')" \
                "ready replicas of the programs"
        pdb_ok() { [ "$(kubectl -n mbox-system get pdb "$1" -o jsonpath='{.status.currentHealthy}/{.status.disruptionsAllowed}')" = 2/1 ]; }
        wait_for "the operator's PDB to allow one disruption" 60 pdb_ok mbox-operator
        wait_for "the apiserver's PDB to allow one disruption" 60 pdb_ok mbox-apiserver
        kubectl -n mbox-system get networkpolicy mbox-apiserver >/dev/null || fail "the apiserver NetworkPolicy is missing"
}

# runtime_binding NS: the RoleBinding mbox-runtime the operator makes in each project namespace, made here
# as the operator's ServiceAccount (so its right to bind that role is tested too); NS becomes a project
# namespace first, as the admission policy mbox-runtime-binding requires
runtime_binding() {
        local out
        kubectl label namespace "$1" mbox.dev/project=manifests-test >/dev/null
        out=$(kubectl -n "$1" create rolebinding mbox-runtime --clusterrole=mbox-runtime \
                --serviceaccount=mbox-system:mbox-operator --serviceaccount=mbox-system:mbox-apiserver \
                --as=$sa_operator 2>&1) || fail "the operator cannot bind mbox-runtime in $1: $out"
}

test_program_service_accounts_have_what_they_need_and_no_more() {
        local ns out
        local_setup
        if ! grep -qx 'APIService//v1alpha1.runtime.mbox.dev' "$_existing"; then
                kubectl delete apiservice v1alpha1.runtime.mbox.dev >/dev/null || fail "APIService not deleted"
        fi
        ns=$(new_namespace manifests-sa)
        can() { kubectl auth can-i "$@" 2>/dev/null || true; }
        # a project namespace, as the operator makes it: mbox's runtime access, bound by the operator itself
        runtime_binding "$ns"
        # operator
        for a in "watch sandboxes.mbox.dev" "patch sandboxes.mbox.dev" "update sandboxes.mbox.dev --subresource=status" \
                "update projects.mbox.dev --subresource=finalizers" "create namespaces" "delete namespaces" \
                "create serviceaccounts -n $ns" "create resourcequotas -n $ns" "create limitranges -n $ns" \
                "create networkpolicies.networking.k8s.io -n $ns" "create rolebindings -n $ns" \
                "create sandboxclaims.extensions.agents.x-k8s.io -n $ns" "create sandboxtemplates.extensions.agents.x-k8s.io -n $ns" \
                "create sandboxwarmpools.extensions.agents.x-k8s.io -n $ns" "patch sandboxes.agents.x-k8s.io -n $ns" \
                "list pods -n $ns" "list persistentvolumeclaims -n $ns" "create pods --subresource=exec -n $ns" \
                "create events.events.k8s.io -n $ns" "create leases.coordination.k8s.io -n mbox-system" \
                "update leases.coordination.k8s.io/mbox-operator -n mbox-system" "bind clusterroles/mbox-developer" \
                "bind clusterroles/mbox-runtime"; do
                # shellcheck disable=SC2086
                assert_eq yes "$(can $a --as=$sa_operator)" "operator: $a"
        done
        for a in "create projects.mbox.dev" "get secrets -n $ns" "create pods -n $ns" "delete sandboxes.agents.x-k8s.io -n $ns" \
                "update leases.coordination.k8s.io/other -n mbox-system" "create leases.coordination.k8s.io -n $ns" \
                "bind clusterroles/admin" "create clusterrolebindings" "escalate clusterroles/mbox-admin" \
                "create pods --subresource=exec -n kube-system" "create pods --subresource=exec -n default"; do
                # shellcheck disable=SC2086
                assert_eq no "$(can $a --as=$sa_operator)" "operator: $a"
        done
        # the operator binds project members to the mbox roles, and only to those (RBAC's escalation check)
        for r in mbox-admin mbox-developer mbox-viewer; do
                out=$(kubectl -n "$ns" create rolebinding "m-$r" --clusterrole="$r" --user=dana --as=$sa_operator --dry-run=server 2>&1) ||
                        fail "operator cannot bind $r: $out"
        done
        if out=$(kubectl -n "$ns" create rolebinding m-admin --clusterrole=admin --user=dana --as=$sa_operator --dry-run=server 2>&1); then
                fail "operator could bind admin: $out"
        fi
        assert_contains "$out" "forbidden" "binding admin is refused"
        # by RBAC's escalation check (the operator may create RoleBindings, as above, but not grant admin)
        assert_contains "$out" "is attempting to grant RBAC permissions not currently held" "binding admin is an escalation"
        # apiserver
        for a in "watch sandboxes.mbox.dev" "watch sandboxclaims.extensions.agents.x-k8s.io" "watch sandboxes.agents.x-k8s.io" \
                "get pods -n $ns" "create pods --subresource=exec -n $ns" "get pods --subresource=exec -n $ns" \
                "create pods --subresource=portforward -n $ns" "create tokenreviews.authentication.k8s.io" \
                "create subjectaccessreviews.authorization.k8s.io" \
                "get configmaps/extension-apiserver-authentication -n kube-system" \
                "create leases.coordination.k8s.io -n mbox-system" "update leases.coordination.k8s.io/mbox-apiserver -n mbox-system"; do
                # shellcheck disable=SC2086
                assert_eq yes "$(can $a --as=$sa_apiserver)" "apiserver: $a"
        done
        for a in "create sandboxes.mbox.dev -n $ns" "update sandboxes.mbox.dev --subresource=status -n $ns" \
                "create sandboxclaims.extensions.agents.x-k8s.io -n $ns" "get secrets -n $ns" "get configmaps -n kube-system" \
                "delete pods -n $ns" "create pods --subresource=exec -n kube-system" \
                "create pods --subresource=portforward -n default" "update leases.coordination.k8s.io/mbox-operator -n mbox-system" \
                "create leases.coordination.k8s.io -n $ns"; do
                # shellcheck disable=SC2086
                assert_eq no "$(can $a --as=$sa_apiserver)" "apiserver: $a"
        done
}

test_operator_identity_execs_into_a_pod() {
        local ns out
        local_setup
        if ! grep -qx 'APIService//v1alpha1.runtime.mbox.dev' "$_existing"; then
                kubectl delete apiservice v1alpha1.runtime.mbox.dev >/dev/null || fail "APIService not deleted"
        fi
        ns=$(new_namespace manifests-exec)
        kubectl -n "$ns" apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  containers:
  - {name: main, image: busybox:1.36, command: ["sh", "-c", "tail -f /dev/null"]}
YAML
        kubectl -n "$ns" wait --for=condition=Ready pod/box --timeout=60s >/dev/null || fail "pod not Ready"
        wait_for "exec config for box" 30 kubectl -n "$ns" get exec.kwok.x-k8s.io box
        # outside a project namespace neither program may exec
        if out=$(kubectl -n "$ns" exec box --as=$sa_operator -- true 2>&1); then fail "the operator could exec in $ns"; fi
        assert_contains "$out" 'cannot create resource "pods/exec"' "the operator's exec outside a project namespace"
        # a project namespace: the operator binds mbox-runtime there
        runtime_binding "$ns"
        # the real WebSocket exec path, as the operator's and the apiserver's ServiceAccounts. The programs speak
        # WebSocket only (v5.channel.k8s.io): the upgrade is a GET that needs get *and* create on pods/exec;
        # kubectl would quietly fall back to SPDY (a POST, create only), so its log must show no fallback.
        out=$(kubectl -n "$ns" exec box --as=$sa_operator -v=6 -- sh -c 'echo ran as operator' 2>/tmp/mf-exec-$$.log) ||
                fail "operator exec: $out $(cat /tmp/mf-exec-$$.log)"
        assert_eq "ran as operator" "$out" "operator exec output"
        if grep -q 'RemoteCommand fallback' /tmp/mf-exec-$$.log; then fail "operator exec fell back to SPDY: $(cat /tmp/mf-exec-$$.log)"; fi
        out=$(kubectl -n "$ns" exec box --as=$sa_apiserver -v=6 -- sh -c 'echo ran as apiserver' 2>/tmp/mf-exec-$$.log) ||
                fail "apiserver exec: $out $(cat /tmp/mf-exec-$$.log)"
        assert_eq "ran as apiserver" "$out" "apiserver exec output"
        if grep -q 'RemoteCommand fallback' /tmp/mf-exec-$$.log; then fail "apiserver exec fell back to SPDY: $(cat /tmp/mf-exec-$$.log)"; fi
        rm -f /tmp/mf-exec-$$.log
        # a user with view only cannot
        kubectl -n "$ns" create rolebinding erin-view --clusterrole=view --user=erin >/dev/null
        if out=$(kubectl -n "$ns" exec box --as=erin -- true 2>&1); then fail "erin could exec"; fi
        assert_contains "$out" "is forbidden" "erin's exec is refused"
        assert_contains "$out" 'User "erin" cannot' "erin's exec is refused by RBAC"
        assert_contains "$out" 'resource "pods/exec"' "erin's exec is refused on pods/exec"
}

test_deployments_use_flags_the_programs_have() {
        local name flag args checked=0
        for name in mbox-operator mbox-apiserver; do
                args=$(as_json production+postgres | jq -r --arg n "$name" '.items[] | select(.kind == "Deployment"
                        and .metadata.name == $n) | .spec.template.spec.containers[0].args[]')
                [ -n "$args" ] || fail "$name: no args in its Deployment"
                for flag in $(sed -nE 's/^(--[a-z-]+).*/\1/p' <<<"$args"); do
                        "$root/build/$name" --help | grep -qE -- "^ +(-[a-z], )?$flag[=[ ]" ||
                                fail "$name: the Deployment passes $flag, which '$name --help' does not list"
                        checked=$((checked + 1))
                done
                # the database comes from the environment, as both programs document
                "$root/build/$name" --help | grep -q MBOX_DATABASE_URL || fail "$name: MBOX_DATABASE_URL not documented"
        done
        [ "$checked" -ge 6 ] || fail "only $checked flags found in the Deployments"
}
