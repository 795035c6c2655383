# The mbox.dev CRDs are the product contract. They install and become Established on the real API server
# (which also accepts their CEL cost estimates); every example applies with a server-side dry-run and for
# real; the API server rejects each object of testdata/invalid/ with a message that names the field and the
# rule, and accepts the updates the rules allow; defaults, the status subresource and the printer columns
# work; `kubectl explain` teaches the fields; `kubectl get mbox -A` lists the four kinds; docs/api.md is
# exactly what hack/gen-api-docs.sh generates from the CRDs.

crds=(projects.mbox.dev environmenttemplates.mbox.dev sandboxes.mbox.dev executiontasks.mbox.dev)
testdata=$root/tests/integration/testdata
examples_ns=mbox-demo

install_crds() {
        local out
        # --force-conflicts: the CRDs of this tree win over whatever another manager (an older checkout, the
        # manifests) applied before
        out=$(kubectl apply --server-side --force-conflicts -f "$root/crds/" 2>&1) || fail "CRDs not applied: $out"
        local c
        for c in "${crds[@]}"; do
                kubectl wait --for=condition=Established "crd/$c" --timeout=60s >/dev/null || fail "crd/$c not Established"
        done
}

# header FILE KEY: the values of the "# KEY: value" lines of a testdata file, one per line.
header() {
        sed -n "s/^# $2: //p" "$1"
}

# ssa ARGS...: server-side apply with the test's field manager (so a second apply of the same object is an
# update of the fields the first one set, including removals).
ssa() {
        kubectl apply --server-side --field-manager=mbox-test "$@"
}

ns_phase() {
        kubectl get namespace "$1" -o jsonpath='{.status.phase}' 2>/dev/null
}

# examples_setup: the examples live in namespace mbox-demo, which the operator creates from the Project;
# without the operator the test creates it, labelled as the operator would. Whatever the test creates (the
# namespace, example objects) it deletes at the end; objects that existed before are left alone.
_created=()
examples_setup() {
        local f
        if [ "$(ns_phase "$examples_ns")" = Terminating ]; then
                wait_for "namespace $examples_ns to finish terminating" 300 bash -c "! kubectl get namespace $examples_ns"
        fi
        if ! kubectl get namespace "$examples_ns" >/dev/null 2>&1; then
                kubectl create namespace "$examples_ns" >/dev/null || fail "cannot create namespace $examples_ns"
                kubectl label namespace "$examples_ns" mbox.dev/project=demo >/dev/null
                _created+=("namespace/$examples_ns")
        fi
        for f in "$root"/examples/[0-9]*.yaml; do
                kubectl get -f "$f" >/dev/null 2>&1 || _created+=("$f")
        done
        trap examples_cleanup EXIT
}

examples_cleanup() {
        local x
        for x in "${_created[@]}"; do
                case $x in
                namespace/*) kubectl delete "$x" --wait=false >/dev/null 2>&1 ;;
                *) kubectl delete -f "$x" --ignore-not-found --wait=false >/dev/null 2>&1 ;;
                esac
        done
        _cleanup
}

test_crds_are_established_with_names_scope_and_category() {
        local out
        install_crds
        assert_eq Cluster "$(kubectl get crd projects.mbox.dev -o jsonpath='{.spec.scope}')" "Project scope"
        for c in environmenttemplates sandboxes executiontasks; do
                assert_eq Namespaced "$(kubectl get crd $c.mbox.dev -o jsonpath='{.spec.scope}')" "$c scope"
        done
        out=$(kubectl api-resources --api-group=mbox.dev --no-headers)
        # NAME SHORTNAMES APIVERSION NAMESPACED KIND
        echo "$out" | grep -Eq '^projects +mproj +mbox.dev/v1alpha1 +false +Project$' || fail "projects: $out"
        echo "$out" | grep -Eq '^environmenttemplates +envtpl,mtpl +mbox.dev/v1alpha1 +true +EnvironmentTemplate$' ||
                fail "environmenttemplates: $out"
        echo "$out" | grep -Eq '^sandboxes +msb +mbox.dev/v1alpha1 +true +Sandbox$' || fail "sandboxes: $out"
        echo "$out" | grep -Eq '^executiontasks +mtask +mbox.dev/v1alpha1 +true +ExecutionTask$' || fail "executiontasks: $out"
        for c in "${crds[@]}"; do
                assert_eq mbox "$(kubectl get crd "$c" -o jsonpath='{.spec.names.categories[*]}')" "category of $c"
                assert_eq status "$(kubectl get crd "$c" -o jsonpath='{.spec.versions[0].subresources}' |
                        sed 's/[^a-z]//g')" "subresources of $c"
        done
        # each short name means one resource only: none shadows a core, agent-sandbox or other installed name
        out=$(kubectl api-resources --no-headers | awk 'NF == 5 {print $2}' | tr ',' '\n')
        for c in mproj envtpl mtpl msb mtask; do
                assert_eq 1 "$(grep -cx "$c" <<<"$out")" "resources with short name $c"
        done
}

test_examples_apply_with_dry_run_and_for_real() {
        local f out
        install_crds
        examples_setup
        for f in "$root"/examples/[0-9]*.yaml; do
                out=$(kubectl apply --dry-run=server -f "$f" 2>&1) || fail "dry-run of $(basename "$f"): $out"
        done
        for f in "$root"/examples/[0-9]*.yaml; do
                out=$(kubectl apply -f "$f" 2>&1) || fail "apply of $(basename "$f"): $out"
        done
        kubectl get -f "$root/examples/" >/dev/null || fail "examples not readable back"
        # what the walkthrough promises, as the API server stored it (defaults included)
        assert_eq "Demo Project https://github.com/example/demo mbox-demo nodejs-workspace" \
                "$(kubectl get projects.mbox.dev demo -o jsonpath='{.spec.displayName} {.spec.repositoryURL} {.spec.namespace} {.spec.defaultTemplate.name}')" \
                "project demo"
        assert_eq "node:22-bookworm-slim /workspace 250m 512Mi 2Gi web 3000 TCP Node.js Web app preview Small" \
                "$(kubectl -n $examples_ns get envtpl nodejs-workspace -o jsonpath='{.spec.image} {.spec.workingDir} {.spec.resources.requests.cpu} {.spec.resources.requests.memory} {.spec.storage.size} {.spec.ports[0].name} {.spec.ports[0].port} {.spec.ports[0].protocol} {.spec.runtimeType} {.spec.useCase} {.spec.resourcePreset}')" \
                "node template"
        assert_eq '["sh","-c","mkdir -p /workspace && cd /workspace && echo mbox node sandbox ready && tail -f /dev/null"]' \
                "$(kubectl -n $examples_ns get envtpl nodejs-workspace -o json | jq -c .spec.command)" "node startup command"
        assert_eq "/workspace Denied 1" \
                "$(kubectl -n $examples_ns get mtpl busybox-terminal -o jsonpath='{.spec.workingDir} {.spec.network.egress} {.spec.warmPool.replicas}')" \
                "busybox template (workingDir defaulted)"
        assert_eq "Running mbox-sandbox " \
                "$(kubectl -n $examples_ns get msb demo-sandbox -o jsonpath='{.spec.state} {.spec.serviceAccountName} {.spec.templateRef}')" \
                "sandbox defaults (no templateRef: the project default)"
        assert_eq '["sh","-lc","pwd && ls -la"] 60 false' \
                "$(kubectl -n $examples_ns get mtask list-workspace -o json | jq -r '"\(.spec.command | tojson) \(.spec.timeoutSeconds) \(.spec.cancel)"')" \
                "task"
}

test_invalid_objects_are_rejected_naming_field_and_rule() {
        local ns f n=0 base field out e created_project rc
        install_crds
        ns=$(new_namespace crd-invalid)
        for f in "$testdata"/invalid/*.yaml; do
                n=$((n + 1))
                field=$(header "$f" field)
                base=$(header "$f" update-of)
                [ -n "$field" ] || fail "$(basename "$f") has no '# field:' line"
                [ -n "$(header "$f" expect)" ] || fail "$(basename "$f") has no '# expect:' line"
                created_project= rc=0
                if [ -n "$base" ]; then
                        # an update: the base object for real, then the invalid change as a dry run
                        base=$(dirname "$f")/$base
                        out=$(ssa -n "$ns" -f "$base" 2>&1) || fail "base $base of $(basename "$f") rejected: $out"
                        if grep -q '^kind: Project' "$base"; then created_project=$base; fi
                        out=$(ssa -n "$ns" --dry-run=server -f "$f" 2>&1) || rc=$?
                else
                        out=$(kubectl create -n "$ns" --dry-run=server -f "$f" 2>&1) || rc=$?
                fi
                if [ -n "$created_project" ]; then
                        kubectl delete -f "$created_project" --wait=false >/dev/null 2>&1 || true
                fi
                [ $rc -ne 0 ] || fail "$(basename "$f") was accepted: $out"
                # refused by validation (a 422 Invalid Status), not for another reason such as a conflict
                assert_contains "$out" "is invalid" "$(basename "$f") is refused as Invalid"
                assert_contains "$out" "$field" "$(basename "$f") names the field"
                while IFS= read -r e; do
                        assert_contains "$out" "$e" "$(basename "$f") names the rule"
                done < <(header "$f" expect)
        done
        [ $n -ge 30 ] || fail "only $n invalid objects in the table, want at least 30"
        log "$n invalid objects rejected"
}

test_valid_objects_are_accepted() {
        local ns f out n=0
        install_crds
        ns=$(new_namespace crd-valid)
        for f in "$testdata"/valid/*.yaml; do
                n=$((n + 1))
                out=$(kubectl create -n "$ns" --dry-run=server -f "$f" 2>&1) || fail "$(basename "$f") rejected: $out"
        done
        [ $n -ge 8 ] || fail "only $n valid objects in the table"
}

test_updates_the_rules_allow_are_accepted() {
        local ns out
        install_crds
        ns=$(new_namespace crd-update)
        ssa -n "$ns" -f "$testdata/base/sandbox.yaml" >/dev/null || fail "base sandbox rejected"
        ssa -n "$ns" -f "$testdata/base/task.yaml" >/dev/null || fail "base task rejected"
        # the same templateRef again, a new state, a new port and env: all fine
        out=$(ssa -n "$ns" -f - 2>&1 <<'YAML'
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: base-sandbox}
spec:
  templateRef: {name: nodejs-workspace}
  slug: base
  state: Stopped
  ports:
    - {name: web, port: 3000, visibility: Project}
    - {name: api, port: 8080}
  env:
    - {name: NODE_ENV, value: development}
YAML
        ) || fail "allowed sandbox update rejected: $out"
        assert_eq "Stopped Project Private" \
                "$(kubectl -n "$ns" get msb base-sandbox -o jsonpath='{.spec.state} {.spec.ports[0].visibility} {.spec.ports[1].visibility}')" \
                "sandbox after update"
        # cancel false -> true and a new ttl are the task's only mutable fields
        out=$(kubectl -n "$ns" patch mtask base-task --type=merge -p '{"spec":{"cancel":true,"ttlSecondsAfterFinished":30}}' 2>&1) ||
                fail "cancel false -> true rejected: $out"
        out=$(kubectl -n "$ns" patch mtask base-task --type=merge -p '{"spec":{"cancel":true}}' 2>&1) ||
                fail "cancel true -> true rejected: $out"
        refused "removing cancel (defaulted back to false)" "cancel cannot be set back to false" \
                kubectl -n "$ns" patch mtask base-task --type=json -p '[{"op":"remove","path":"/spec/cancel"}]'
        assert_contains "$REFUSAL" "spec.cancel" "removing cancel names the field"
        # a project may spell out its default namespace and slug later: they do not change
        local project=crdtest-${ns##*-}
        trap "kubectl delete projects.mbox.dev $project --wait=false >/dev/null 2>&1; _cleanup" EXIT
        kubectl create -f - >/dev/null <<YAML || fail "empty project rejected"
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $project}
YAML
        out=$(kubectl patch mproj "$project" --type=merge -p "{\"spec\":{\"namespace\":\"mbox-$project\",\"slug\":\"$project\",\"displayName\":\"Renamed\"}}" 2>&1) ||
                fail "spelling out the project defaults rejected: $out"
}

test_defaults_fill_an_empty_sandbox() {
        local ns
        install_crds
        ns=$(new_namespace crd-defaults)
        kubectl -n "$ns" create -f - >/dev/null <<'YAML' || fail "empty sandbox rejected"
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: empty}
YAML
        assert_eq "Running mbox-sandbox" \
                "$(kubectl -n "$ns" get sandboxes.mbox.dev empty -o jsonpath='{.spec.state} {.spec.serviceAccountName}')" "defaults"
        kubectl -n "$ns" create -f - >/dev/null <<'YAML' || fail "minimal template rejected"
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: minimal}
spec:
  image: busybox:1.36
  ports: [{name: web, port: 80}]
YAML
        assert_eq "/workspace Restricted 0 TCP" \
                "$(kubectl -n "$ns" get envtpl minimal -o jsonpath='{.spec.workingDir} {.spec.network.egress} {.spec.warmPool.replicas} {.spec.ports[0].protocol}')" \
                "template defaults"
        kubectl -n "$ns" create -f - >/dev/null <<'YAML' || fail "minimal task rejected"
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: minimal}
spec:
  sandboxRef: {name: empty}
  command: [date]
YAML
        assert_eq "600 false" "$(kubectl -n "$ns" get mtask minimal -o jsonpath='{.spec.timeoutSeconds} {.spec.cancel}')" "task defaults"
}

test_status_subresource_and_printer_columns() {
        local ns project out now
        install_crds
        ns=$(new_namespace crd-status)
        project=crdtest-${ns##*-}
        now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        kubectl create -f - >/dev/null <<YAML || fail "project rejected"
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $project}
spec: {namespace: $ns, displayName: Status test}
YAML
        trap "kubectl delete projects.mbox.dev $project --wait=false >/dev/null 2>&1; _cleanup" EXIT
        kubectl -n "$ns" create -f - >/dev/null <<'YAML' || fail "objects rejected"
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: shell}
spec: {image: busybox:1.36, runtimeType: BusyBox, warmPool: {replicas: 2}}
---
apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: box}
spec: {templateRef: {name: shell}}
---
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: job}
spec: {sandboxRef: {name: box}, command: [date]}
YAML
        # the operator's writes, through /status; a status written through the main resource is ignored
        out=$(kubectl -n "$ns" patch msb box --type=merge -p '{"status":{"phase":"Failed"}}' 2>&1) ||
                fail "a status patch through the main resource failed instead of being ignored: $out"
        assert_contains "$out" "patched (no change)" "status through the main resource is dropped by the API server"
        assert_eq "" "$(kubectl -n "$ns" get msb box -o jsonpath='{.status.phase}')" "status through the main resource"
        kubectl patch mproj "$project" --subresource=status --type=merge -p "{\"status\":{\"observedGeneration\":1,\"namespace\":\"$ns\",\"sandboxes\":1,\"runningSandboxes\":1,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Reconciled\",\"message\":\"\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null ||
                fail "project status rejected"
        kubectl -n "$ns" patch envtpl shell --subresource=status --type=merge -p "{\"status\":{\"validation\":{\"status\":\"Passed\",\"time\":\"$now\"}}}" >/dev/null ||
                fail "template status rejected"
        kubectl -n "$ns" patch msb box --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",\"project\":\"$project\",\"template\":{\"name\":\"shell\",\"namespace\":\"$ns\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"DependenciesReady\",\"message\":\"\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null ||
                fail "sandbox status rejected"
        kubectl -n "$ns" patch mtask job --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Succeeded\",\"exitCode\":0,\"duration\":\"1.532s\",\"startTime\":\"$now\",\"completionTime\":\"$now\"}}" >/dev/null ||
                fail "task status rejected"

        out=$(kubectl get mbox -A 2>&1) || fail "kubectl get mbox -A: $out"
        log "kubectl get mbox -A:"
        printf '%s\n' "$out" | sed 's/^/      /' >&2
        # Project is cluster-scoped: -A gives it an empty NAMESPACE column before its own Namespace column
        printf '%s\n' "$out" | grep -Eq '^NAMESPACE +NAME +NAMESPACE +SANDBOXES +RUNNING +READY +AGE$' || fail "project columns"
        printf '%s\n' "$out" | grep -Eq "^ +project.mbox.dev/$project +$ns +1 +1 +True " || fail "project row"
        printf '%s\n' "$out" | grep -Eq '^NAMESPACE +NAME +RUNTIME +VALIDATION +WARM POOL +AGE$' || fail "template columns"
        printf '%s\n' "$out" | grep -Eq "^$ns +environmenttemplate.mbox.dev/shell +BusyBox +Passed +2 " || fail "template row"
        printf '%s\n' "$out" | grep -Eq '^NAMESPACE +NAME +PROJECT +TEMPLATE +PHASE +READY +AGE$' || fail "sandbox columns"
        printf '%s\n' "$out" | grep -Eq "^$ns +sandbox.mbox.dev/box +$project +shell +Running +True " || fail "sandbox row"
        printf '%s\n' "$out" | grep -Eq '^NAMESPACE +NAME +SANDBOX +PHASE +EXIT CODE +DURATION +AGE$' || fail "task columns"
        printf '%s\n' "$out" | grep -Eq "^$ns +executiontask.mbox.dev/job +box +Succeeded +0 +1.532s " || fail "task row"

        # status has rules too: condition statuses are True/False/Unknown, and a finished task keeps its phase
        refused "condition status Maybe" 'status.conditions[0].status: Unsupported value: "Maybe"' \
                kubectl -n "$ns" patch msb box --subresource=status --type=merge -p "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Maybe\",\"reason\":\"X\",\"message\":\"\",\"lastTransitionTime\":\"$now\"}]}}"
        assert_contains "$REFUSAL" "is invalid" "bad condition status refused as Invalid"
        refused "a finished task going back to Running" "a finished task keeps its phase" \
                kubectl -n "$ns" patch mtask job --subresource=status --type=merge -p '{"status":{"phase":"Running"}}'
        assert_contains "$REFUSAL" "status.phase" "finished task phase"
}

# explain ARGS...: kubectl explain, with runs of white space squeezed to one space
explain() {
        kubectl explain "$@" 2>&1 | tr -s ' \t\n' '   '
}

test_explain_prints_field_docs() {
        local out
        install_crds
        # the OpenAPI document is published a moment after the CRD is established
        wait_for "OpenAPI for sandboxes.mbox.dev" 60 kubectl explain sandboxes.mbox.dev.spec
        # qualified by group: agent-sandbox also serves a resource named sandboxes
        out=$(explain sandboxes.mbox.dev.spec)
        assert_contains "$out" "GROUP: mbox.dev KIND: Sandbox VERSION: v1alpha1" "explain names group, kind, version"
        assert_contains "$out" "templateRef <Object> The EnvironmentTemplate to launch." "explain describes templateRef"
        assert_contains "$out" "state <string> enum: Running, Stopped Running or Stopped." "explain shows the enum"
        assert_eq "$out" "$(explain sandboxes.spec --api-version=mbox.dev/v1alpha1)" "explain with --api-version"
        out=$(explain sandboxes.mbox.dev.spec.ports.visibility)
        assert_contains "$out" "Who may open the preview" "explain of a nested field"
        out=$(explain sandboxes.mbox.dev)
        assert_contains "$out" "name this kind as sandboxes.mbox.dev or by its short name msb" "explain tells how to name the kind"
        out=$(explain executiontasks.mbox.dev.spec.cancel)
        assert_contains "$out" "It cannot be set back to false." "explain of cancel"
        out=$(explain projects.mbox.dev.spec.quota)
        assert_contains "$out" "maxRunning <integer> Most Sandboxes that may run at the same time" "explain of quota"
        out=$(explain environmenttemplates.mbox.dev.spec.workingDir)
        assert_contains "$out" "absolute path. Defaults to /workspace." "explain of a default"
}

test_api_docs_are_up_to_date() {
        local tmp
        tmp=$(mktemp)
        bash "$root/hack/gen-api-docs.sh" "$tmp" || { rm -f "$tmp"; fail "hack/gen-api-docs.sh failed"; }
        if ! diff -u "$root/docs/api.md" "$tmp" >&2; then
                rm -f "$tmp"
                fail "docs/api.md is out of date: run hack/gen-api-docs.sh"
        fi
        rm -f "$tmp"
}
