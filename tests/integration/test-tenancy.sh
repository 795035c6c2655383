# Tenancy: a project is a boundary. Each test drives mbox as a user or an administrator would (kubectl
# apply, kubectl --as) and asserts what they would see; each one failed before its fix.

# project_condition NAME TYPE FIELD: a field (status, reason, message) of one condition of a Project
project_condition() {
        kubectl get projects.mbox.dev "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"
}
project_reason_is() { [ "$(project_condition "$1" Ready reason)" = "$2" ]; }

# conflict_project NAME NAMESPACE: applies a Project for NAMESPACE and waits until it is refused
conflict_project() {
        printf 'project %s\n' "$1" >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $1}
spec: {namespace: $2}
YAML
        wait_for "project $1 refused" 30 project_reason_is "$1" NamespaceConflict
        assert_eq False "$(project_condition "$1" NamespaceReady status)" "NamespaceReady of $1"
        assert_eq NamespaceConflict "$(project_condition "$1" NamespaceReady reason)" "NamespaceReady reason of $1"
}

# delete_project NAME: deletes it with the operator running and waits until it is gone
delete_project() {
        kubectl delete projects.mbox.dev "$1" --timeout=60s >/dev/null || fail "project $1 was not deleted"
}

ns_alive() { [ "$(kubectl get namespace "$1" -o jsonpath='{.status.phase}')" = Active ]; }

test_reserved_namespaces_are_never_taken() {
        setup_operator
        local name ns
        for ns in kube-system mbox-system; do
                name="t-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
                conflict_project "$name" "$ns"
                assert_contains "$(project_condition "$name" Ready message)" "reserved" "why $ns is refused"
                [ -z "$(kubectl get namespace "$ns" -o jsonpath='{.metadata.labels.mbox\.dev/project}')" ] ||
                        fail "namespace $ns was labelled for project $name"
                [ -z "$(kubectl get namespace "$ns" -o jsonpath='{.metadata.ownerReferences}')" ] ||
                        fail "namespace $ns got an owner reference"
                delete_project "$name"
                ns_alive "$ns" || fail "deleting project $name touched namespace $ns"
        done
}

test_an_unlabelled_namespace_is_refused_then_adopted_when_labelled() {
        setup_operator
        local name ns
        name="t-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        ns=$(new_namespace adopt)
        conflict_project "$name" "$ns"
        assert_contains "$(project_condition "$name" Ready message)" "is not labelled mbox.dev/project=$name" \
                "why an unlabelled namespace is refused"
        [ -z "$(kubectl get namespace "$ns" -o jsonpath='{.metadata.ownerReferences}')" ] ||
                fail "the refused project put an owner reference on $ns"

        # an administrator consents: the label lets the project adopt the namespace, without owning it
        kubectl label namespace "$ns" "mbox.dev/project=$name" >/dev/null
        wait_for "project $name Ready on the labelled namespace" 30 \
                kubectl wait --for=condition=Ready "projects.mbox.dev/$name" --timeout=1s
        assert_eq True "$(project_condition "$name" NamespaceReady status)" "NamespaceReady once adopted"
        assert_eq restricted "$(kubectl get ns "$ns" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" \
                "Pod Security of the adopted namespace"
        [ -z "$(kubectl get namespace "$ns" -o jsonpath='{.metadata.ownerReferences}')" ] ||
                fail "the adopted namespace got an owner reference (the garbage collector would delete it)"

        # deleting the project leaves the namespace it did not create
        delete_project "$name"
        ns_alive "$ns" || fail "deleting project $name deleted the adopted namespace $ns"
}

test_a_created_namespace_goes_with_its_project() {
        setup_operator
        local name ns
        name=$(new_project)
        ns=mbox-$name
        assert_eq "$name" "$(kubectl get namespace "$ns" -o jsonpath='{.metadata.ownerReferences[0].name}')" \
                "owner of the created namespace"
        delete_project "$name"
        wait_for "namespace $ns to go" 120 gone "" namespace "$ns"
}
