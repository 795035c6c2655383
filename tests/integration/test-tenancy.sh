# Tenancy: a project is a boundary. Each test drives mbox as a user or an administrator would (kubectl
# apply, kubectl --as) and asserts what they would see; each one failed before its fix.

# project_condition NAME TYPE FIELD: a field (status, reason, message) of one condition of a Project
project_condition() {
        kubectl get projects.mbox.dev "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"
}
project_reason_is() { [ "$(project_condition "$1" Ready reason)" = "$2" ]; }

# apply_project NAME NAMESPACE [VIEWER]: a Project on NAMESPACE (with the user VIEWER as its Viewer),
# removed when the test ends
apply_project() {
        printf 'project %s\n' "$1" >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $1}
spec:
  namespace: $2
  members: [${3:+{kind: User, name: $3, role: Viewer\}}]
YAML
}

# conflict_project NAME NAMESPACE: applies a Project for NAMESPACE and waits until it is refused
conflict_project() {
        apply_project "$1" "$2"
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

# sar_of USER: the spec of every SubjectAccessReview sent for USER, one JSON object a line, from the local
# kube-apiserver's audit log
sar_of() {
        jq -c --arg u "$1" 'select(.objectRef.resource == "subjectaccessreviews" and .stage == "ResponseComplete"
                and .requestObject.spec.user == $u) | .requestObject.spec' "$MBOX_STATE_DIR/logs/audit.log"
}
sar_count_is() { [ "$(sar_of "$1" | wc -l)" -eq "$2" ]; }

test_authorization_sees_the_whole_identity() {
        local ns tag out spec
        start_apiserver
        ns=$(new_namespace authz)
        tag=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
        # an administrator acts as alice with a uid, a group and extras: the aggregation layer forwards them to
        # mbox-apiserver as X-Remote-Uid, X-Remote-Group and X-Remote-Extra-* headers
        as_alice() {
                curl -sS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                        -H "Impersonate-User: alice-$tag" -H "Impersonate-Uid: uid-$tag" -H "Impersonate-Group: team-a" \
                        -H "Impersonate-Extra-Scopes: $1" -H "Impersonate-Extra-Scopes: read" \
                        -H "Impersonate-Extra-acme.io%2Ftenant: t1" \
                        "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs"
        }
        # alice views the namespace (kube-apiserver authorizes the request before it forwards it)
        kubectl -n "$ns" create rolebinding alice --clusterrole=mbox-viewer --user="alice-$tag" >/dev/null
        out=$(as_alice write)
        assert_eq TaskOutputList "$(jq -r .kind <<<"$out")" "alice's list of task outputs ($out)"
        wait_for "mbox-apiserver's SubjectAccessReview for alice in the audit log" 30 sar_count_is "alice-$tag" 1
        spec=$(sar_of "alice-$tag")
        log "the review: $spec"
        assert_eq "uid-$tag" "$(jq -r .uid <<<"$spec")" "the uid in the review"
        assert_eq '["write","read"]' "$(jq -c .extra.scopes <<<"$spec")" "the extra scopes, in order"
        assert_eq '["t1"]' "$(jq -c '.extra["acme.io/tenant"]' <<<"$spec")" "an extra with an escaped key"
        assert_contains "$(jq -c .groups <<<"$spec")" '"team-a"' "the groups in the review"

        # the decision cache keys on the whole identity: the same user and request with other extras is
        # reviewed again
        out=$(as_alice admin)
        assert_eq TaskOutputList "$(jq -r .kind <<<"$out")" "alice's list with other extras ($out)"
        wait_for "a second review for alice's other extras" 30 sar_count_is "alice-$tag" 2
        assert_eq '["admin","read"]' "$(sar_of "alice-$tag" | tail -n 1 | jq -c .extra.scopes)" "the second review's extras"
}

# can SA VERB RESOURCE SUBRESOURCE NS: what `kubectl auth can-i` answers for mbox-system/SA ("yes" or "no")
can() {
        kubectl auth can-i "$2" "$3" --subresource="$4" -n "$5" --as="system:serviceaccount:mbox-system:$1" 2>/dev/null
}

test_mbox_reaches_pods_only_in_project_namespaces() {
        local sa name ns rules
        setup_operator
        name=$(new_project)
        ns=mbox-$name
        wait_for "the RoleBinding mbox-runtime in $ns" 30 kubectl -n "$ns" get rolebinding mbox-runtime
        for sa in mbox-operator mbox-apiserver; do
                for where in kube-system mbox-system default; do
                        assert_eq no "$(can $sa create pods exec $where)" "$sa: exec in $where"
                        assert_eq no "$(can $sa get pods exec $where)" "$sa: exec (the WebSocket GET) in $where"
                        assert_eq no "$(can $sa create pods portforward $where)" "$sa: port-forward in $where"
                        assert_eq no "$(can $sa get pods log $where)" "$sa: logs in $where"
                done
                assert_eq yes "$(can $sa create pods exec "$ns")" "$sa: exec in project namespace $ns"
                assert_eq yes "$(can $sa get pods exec "$ns")" "$sa: the exec upgrade in $ns"
                assert_eq yes "$(can $sa create pods portforward "$ns")" "$sa: port-forward in $ns"
                assert_eq yes "$(can $sa get pods log "$ns")" "$sa: logs in $ns"
        done
        assert_eq no "$(kubectl auth can-i get secrets -A --as=system:serviceaccount:mbox-system:mbox-apiserver 2>/dev/null)" \
                "mbox-apiserver reading Secrets"
        # every ClusterRole mbox ships: no wildcard, no escalate, impersonate or bind beyond its own roles
        rules=$(kubectl get clusterroles -l app.kubernetes.io/name -o json |
                jq -c '.items[] | select(.metadata.name | startswith("mbox-")) | {name: .metadata.name, rule: .rules[]}')
        [ -n "$rules" ] || fail "no mbox ClusterRoles found"
        ! grep -q '"\*"' <<<"$rules" || fail "a wildcard in mbox's ClusterRoles: $(grep '"\*"' <<<"$rules")"
        ! grep -qE '"(escalate|impersonate)"' <<<"$rules" || fail "escalate or impersonate granted: $(grep -E 'escalate|impersonate' <<<"$rules")"
        # the operator may bind mbox-runtime, but the admission policy keeps it to project namespaces and to
        # mbox's own accounts, even for an operator that tried to bind it elsewhere
        refused "binding mbox-runtime in kube-system" "may be bound only in a project namespace" \
                kubectl -n kube-system create rolebinding mbox-runtime-x --clusterrole=mbox-runtime \
                --serviceaccount=mbox-system:mbox-operator --as=system:serviceaccount:mbox-system:mbox-operator
        refused "binding mbox-runtime to someone else" "only to the ServiceAccounts" \
                kubectl -n "$ns" create rolebinding mbox-runtime-x --clusterrole=mbox-runtime --user=mallory \
                --as=system:serviceaccount:mbox-system:mbox-operator
        assert_eq '["mbox-admin","mbox-developer","mbox-viewer","mbox-runtime"]' \
                "$(jq -sc '[.[] | select(.rule.verbs | index("bind")) | .rule.resourceNames[]]' <<<"$rules")" \
                "the only ClusterRoles mbox may bind"

        # the binding goes with the project
        kubectl delete projects.mbox.dev "$name" --timeout=60s >/dev/null || fail "project $name was not deleted"
        assert_eq no "$(can mbox-operator create pods exec "$ns")" "exec in the deleted project's namespace"
}

template_condition() { # NS NAME TYPE FIELD
        kubectl -n "$1" get envtpl "$2" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].$4}"
}
template_accepted_is() { [ "$(template_condition "$1" "$2" Accepted status)" = "$3" ]; }
np_names() { kubectl -n "$1" get networkpolicies -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}'; }

test_a_template_cannot_widen_the_projects_network_policy() {
        local name ns nps sel internet
        setup_operator
        # no internet and no DNS; one destination, on port 443
        name=$(new_project "  policy:
    network:
      allowDNS: false
      egress: [{cidr: 203.0.113.0/24, ports: [{port: 443}]}]")
        ns=mbox-$name
        template "$ns" open "  network: {egress: Allowed}"
        template "$ns" shut "  network: {egress: Denied}"
        template "$ns" box
        wait_for "template open not Accepted" 30 template_accepted_is "$ns" open False
        assert_eq NetworkEgressNotAllowed "$(template_condition "$ns" open Accepted reason)" "why open is not Accepted"
        assert_contains "$(template_condition "$ns" open Accepted message)" "allowInternet" "what to change"
        wait_for "template box Accepted" 30 template_accepted_is "$ns" box True
        TEMPLATE=open sandbox "$ns" s-open
        TEMPLATE=shut sandbox "$ns" s-shut
        wait_for "s-open refused" 30 reason_is "$ns" s-open NetworkEgressNotAllowed
        wait_for "s-shut Running" 60 phase_is "$ns" s-shut Running
        assert_eq "" "$(kubectl -n "$ns" get sandboxclaims.extensions.agents.x-k8s.io -l mbox.dev/sandbox=s-open -o name)" \
                "a claim for the refused sandbox"

        # the rendered policy is the project's: nothing reaches the internet or DNS, the project's CIDR only
        # from Restricted and Allowed pods, and agent-sandbox makes no policy of its own
        nps=$(kubectl -n "$ns" get networkpolicies -o json)
        ! grep -q '0.0.0.0/0' <<<"$nps" || fail "a rule to 0.0.0.0/0 exists: $(np_names "$ns")"
        ! grep -q '"port": 53' <<<"$nps" || fail "DNS is allowed although the project sets allowDNS: false"
        assert_eq "mbox-allow-apiserver mbox-default-deny mbox-project-egress " "$(np_names "$ns")" "the namespace's policies"
        sel=$(jq -c '.items[] | select(.metadata.name == "mbox-project-egress") | .spec.podSelector' <<<"$nps")
        assert_eq '{"matchExpressions":[{"key":"mbox.dev/egress","operator":"In","values":["Restricted","Allowed"]}]}' \
                "$sel" "who gets the project's CIDRs"
        assert_eq Denied "$(kubectl -n "$ns" get pods -l mbox.dev/template=shut -o jsonpath='{.items[0].metadata.labels.mbox\.dev/egress}')" \
                "the egress class of s-shut's pod"

        # the project allows the internet: Allowed pods get every public address, never the private,
        # link-local (cloud metadata) or loopback ranges; s-open starts
        kubectl patch projects.mbox.dev "$name" --type=merge -p '{"spec":{"policy":{"network":{"allowInternet":true}}}}' >/dev/null
        wait_for "the internet policy" 30 kubectl -n "$ns" get networkpolicy mbox-allow-internet
        internet=$(kubectl -n "$ns" get networkpolicy mbox-allow-internet -o json)
        assert_eq '["Allowed"]' "$(jq -c '.spec.podSelector.matchExpressions[0].values' <<<"$internet")" "who gets the internet"
        for r in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 127.0.0.0/8 100.64.0.0/10 fc00::/7 fe80::/10; do
                assert_contains "$(jq -c '[.spec.egress[0].to[].ipBlock.except[]]' <<<"$internet")" "\"$r\"" "blocked range $r"
        done
        wait_for "template open Accepted" 30 template_accepted_is "$ns" open True
        wait_for "s-open Running" 60 phase_is "$ns" s-open Running
}

# member_project NAME NAMESPACE USER: a project on NAMESPACE whose Viewer is USER; waits until it is Ready
member_project() {
        apply_project "$1" "$2" "$3"
        wait_for "project $1 Ready" 60 kubectl wait --for=condition=Ready "projects.mbox.dev/$1" --timeout=1s
}

test_a_reused_namespace_inherits_no_records() {
        local tag ns a b auid out
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        tag=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
        ns=reuse-$tag a=t-a-$tag b=t-b-$tag
        member_project "$a" "$ns" "ann-$tag"
        auid=$(kubectl get projects.mbox.dev "$a" -o jsonpath='{.metadata.uid}')
        template "$ns" box
        sandbox "$ns" box
        wait_for "box Running" 60 phase_is "$ns" box Running
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: secret-work, namespace: $ns}
spec:
  sandboxRef: {name: box}
  command: ["echo", "project a's output"]
YAML
        # project a's viewer sees its task's output and history (the record exists from the task's start;
        # its bytes once the task has finished)
        done_() { [ "$(kubectl -n "$ns" get executiontasks.mbox.dev secret-work -o jsonpath='{.status.phase}')" = Succeeded ]; }
        wait_for "task secret-work Succeeded" 60 done_
        wait_for "ann sees the task output" 60 kubectl --as="ann-$tag" -n "$ns" get taskoutputs secret-work
        assert_contains "$(kubectl --as="ann-$tag" -n "$ns" get --raw \
                "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/secret-work/log")" "project a's output" \
                "ann reads the log"

        # project a goes with its namespace; project b takes the same namespace name
        kubectl delete projects.mbox.dev "$a" --timeout=120s >/dev/null || fail "project $a was not deleted"
        wait_for "namespace $ns to go" 120 gone "" namespace "$ns"
        member_project "$b" "$ns" "bob-$tag"
        # b's own history shows up first: the mirror has seen b take the namespace
        has_b() { kubectl --as="bob-$tag" -n "$ns" get objecthistories --field-selector "object.name=$b" -o name | grep -q .; }
        wait_for "bob sees project b's history" 60 has_b

        assert_eq "" "$(kubectl --as="bob-$tag" -n "$ns" get taskoutputs -o name)" "task outputs bob lists"
        out=$(kubectl --as="bob-$tag" -n "$ns" get taskoutputs secret-work 2>&1) && fail "bob read a's task output: $out"
        assert_contains "$out" "NotFound" "bob's get of a's task output"
        out=$(kubectl --as="bob-$tag" -n "$ns" get --raw \
                "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/secret-work/log" 2>&1) &&
                fail "bob read a's task log: $out"
        assert_contains "$out" "NotFound" "bob's read of a's task log"
        assert_eq "" "$(kubectl --as="bob-$tag" -n "$ns" get objecthistories --field-selector object.name=secret-work -o name)" \
                "a's task in the history bob sees"
        assert_eq "" "$(kubectl --as="bob-$tag" -n "$ns" get objecthistories --field-selector "object.name!=$b" -o name)" \
                "anything but project b in the history bob sees"

        # an administrator still finds project a's records by its uid
        assert_contains "$(kubectl get taskoutputs -A --field-selector "project.uid=$auid" -o name)" "secret-work" \
                "a's task output for an administrator"
        [ -n "$(kubectl get objecthistories -A --field-selector "project.uid=$auid,object.name=secret-work" -o name)" ] ||
                fail "a's task history is not found by its project's uid"
}

test_deleting_a_refused_project_leaves_the_owners_sandboxes() {
        local owner intruder ns
        setup_operator
        owner=$(new_project)
        ns=mbox-$owner
        template "$ns" box
        sandbox "$ns" keep
        wait_for "keep Running" 60 phase_is "$ns" keep Running
        intruder="t-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        conflict_project "$intruder" "$ns"
        assert_contains "$(project_condition "$intruder" Ready message)" "belongs to project $owner" "why it is refused"
        assert_eq "" "$(kubectl get projects.mbox.dev "$intruder" -o jsonpath='{.metadata.finalizers}')" \
                "a refused project's finalizers"
        delete_project "$intruder"
        assert_eq "" "$(kubectl -n "$ns" get sandboxes.mbox.dev keep -o jsonpath='{.metadata.deletionTimestamp}')" \
                "the owner's sandbox after the refused project's deletion"
        assert_eq Running "$(phase "$ns" keep)" "the owner's sandbox"
        ns_alive "$ns" || fail "deleting the refused project touched namespace $ns"
}

# A Project is cluster-scoped and its members may not read it (a RoleBinding in its namespace does not reach
# it, and mbox-operator creates no ClusterRoleBindings): mbox -p then works in the project's default
# namespace.
test_mbox_p_as_a_member_who_may_not_read_the_project() {
        setup_operator
        local p sans kc tok
        sans=$(new_namespace ci)
        kubectl -n "$sans" create serviceaccount ci >/dev/null
        p=$(new_project "  members:
    - {kind: ServiceAccount, name: ci, namespace: $sans, role: Developer}")
        tok=$(kubectl -n "$sans" create token ci) || fail "no token for ci"
        kc=$(mktemp)
        printf 'file %s\n' "$kc" >>"$_cleanup_file"
        cp "$KUBECONFIG" "$kc"
        KUBECONFIG=$kc kubectl config set-credentials ci --token="$tok" >/dev/null
        KUBECONFIG=$kc kubectl config set-context --current --user=ci >/dev/null
        wait_for "ci may list sandboxes" 30 bash -c "[ \"\$(kubectl --kubeconfig $kc auth can-i list sandboxes.mbox.dev -n mbox-$p)\" = yes ]"
        refused "ci reads its Project" "forbidden" kubectl --kubeconfig "$kc" get projects.mbox.dev "$p"
        assert_contains "$("$root/build/mbox" sandbox list --kubeconfig "$kc" -p "$p" 2>&1)" "No sandboxes found" \
                "mbox -p as a member who may not read the Project"
}
