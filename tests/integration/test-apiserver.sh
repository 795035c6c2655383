# mbox-apiserver behind kube-apiserver, as a user reaches it: kubectl get of task output through the
# aggregation layer, with the apiserver running as its ServiceAccount (SubjectAccessReviews) and reading
# what mbox-operator stored and the history mirror recorded in Postgres (start_apiserver: lib.sh).

# box_project: a new project with a Running sandbox "box"; its namespace in BOX_NS
box_project() {
        BOX_NS=mbox-$(new_project)
        template "$BOX_NS" box
        sandbox "$BOX_NS" box
        wait_for "sandbox box Running" 60 phase_is "$BOX_NS" box Running
}

# run_task NS NAME COMMAND [SPEC-LINE]: an ExecutionTask running COMMAND (a YAML list) in NS's sandbox box
run_task() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: $2, namespace: $1}
spec:
  sandboxRef: {name: box}
  command: $3
${4:-}
YAML
}

task_phase_is() { [ "$(kubectl -n "$1" get mtask "$2" -o jsonpath='{.status.phase}')" = "$3" ]; }

test_task_output_through_kubectl() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        local ns
        box_project
        ns=$BOX_NS
        run_task "$ns" hello '["sh", "-c", "seq 1 100000; echo oops >&2"]'
        wait_for "hello Succeeded" 30 task_phase_is "$ns" hello Succeeded
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
        assert_eq hello "$(kubectl -n "$ns" get taskoutputs --field-selector status.complete=true -o jsonpath='{.items[*].metadata.name}')" \
                "field selector on status.complete"
        # 20 MiB of binary output through kube-apiserver, byte for byte
        local big=/tmp/mbox-big-$ns.out
        printf 'file %s\n' "$big" >>"$_cleanup_file"
        run_task "$ns" big "[\"sh\", \"-c\", \"head -c 20971520 /dev/urandom | tee $big\"]"
        wait_for "big Succeeded" 120 task_phase_is "$ns" big Succeeded
        # its output tail holds NUL bytes, which jsonb cannot: the history stores it anyway
        big_stored() {
                kubectl -n "$ns" get objecthistories --field-selector object.kind=ExecutionTask,object.name=big \
                        -o jsonpath='{.items[*].phase}' | grep -q Succeeded
        }
        wait_for "the history to hold big's last state" 20 big_stored
        assert_eq "$(sha256sum <"$big")" \
                "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/big/log" | sha256sum)" "20 MiB byte-identical"
        # kubectl get -w: a run starts (ADDED), its output ends (MODIFIED, complete)
        local watched wpid
        watched=$(mktemp)
        printf 'file %s\n' "$watched" >>"$_cleanup_file"
        kubectl -n "$ns" get taskoutputs -w --output-watch-events >"$watched" 2>&1 &
        wpid=$!
        printf 'pid %s\n' "$wpid" >>"$_cleanup_file"
        listed() { grep -q 'ADDED *big' "$watched"; }
        wait_for "the list in the watch" 20 listed
        assert_contains "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello/log?follow=maybe" 2>&1)" \
                "follow must be true or false" "a bad follow"
        # follow: the output while the command runs, and the end of the stream when it ends
        run_task "$ns" slow '["sh", "-c", "for i in 1 2 3 4 5 6; do echo line $i; sleep 1; done"]'
        wait_for "slow Running" 30 task_phase_is "$ns" slow Running
        local followed fpid
        followed=$(mktemp)
        printf 'file %s\n' "$followed" >>"$_cleanup_file"
        kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/slow/log?follow=true" >"$followed" &
        fpid=$!
        printf 'pid %s\n' "$fpid" >>"$_cleanup_file"
        two_lines() { grep -q 'line 2' "$followed"; }
        wait_for "the first lines while it runs" 20 two_lines
        task_phase_is "$ns" slow Running || fail "the task ended before its output was followed"
        wait "$fpid" || fail "the follow did not end cleanly"
        assert_eq "$(seq 1 6 | sed 's/^/line /')" "$(cat "$followed")" "the followed output, complete when the command ended"
        wait_for "slow Succeeded" 30 task_phase_is "$ns" slow Succeeded
        slow_seen() { grep -q 'MODIFIED *slow .*true' "$watched"; }
        wait_for "the watch to show slow's output complete" 20 slow_seen
        grep -q 'ADDED *slow ' "$watched" || fail "the watch did not show slow's output start: $(cat "$watched")"
        kill "$wpid"
        # artifacts a task produced, with their provenance
        local f=/tmp/mbox-art-$ns.json
        printf 'file %s\n' "$f" >>"$_cleanup_file"
        run_task "$ns" report "[\"sh\", \"-c\", \"echo '{}' > $f\"]" "  artifacts: [{name: result, path: $f}]"
        wait_for "report Succeeded" 30 task_phase_is "$ns" report Succeeded
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
        # the bytes of an artifact, read from the sandbox's workspace while it runs, and the whole log: a
        # viewer reads both (subresources)
        local art="/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/artifacts"
        assert_eq '{}' "$(kubectl get --raw "$art/report-result/content" --as=carol)" "an artifact's bytes, as a viewer"
        assert_eq oops "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/hello/log?stream=stderr" --as=carol)" \
                "a task's log, as a viewer"
        assert_contains "$(kubectl get --raw "$art/report-result/content" --as=dave 2>&1)" "forbidden" "dave cannot download"
        # 20 MiB, streamed, checked against the digest it was registered with
        kubectl create -f - >/dev/null <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {name: big-out, namespace: $ns}
spec:
  uri: "workspace://$big"
  task: {name: big}
  sizeBytes: 20971520
  digest: "sha256:$(sha256sum <"$big" | cut -d' ' -f1)"
YAML
        assert_eq "$(sha256sum <"$big")" "$(kubectl get --raw "$art/big-out/content" | sha256sum)" "20 MiB artifact byte-identical"
        # a file that changed since it was registered is broken off, not passed off as the registered one:
        # the download fails, and the apiserver says it broke it off for that reason
        printf 'changed' >>"$big"
        local rc=0
        out=$(kubectl get --raw "$art/big-out/content" 2>&1 >/dev/null) || rc=$?
        [ $rc -ne 0 ] || fail "a changed file was served as the registered one"
        broken_off() { grep -q "artifact download broken off: the file is not the one recorded.*big-out" "$APILOG"; }
        wait_for "the apiserver to log why it broke the download off (the client saw: $out)" 20 broken_off
        # a file that is gone: 404; an artifact elsewhere: 400
        rm -f "$f"
        assert_contains "$(kubectl get --raw "$art/report-result/content" 2>&1)" "no longer a file" "a file that is gone"
        kubectl create -f - >/dev/null <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {name: elsewhere, namespace: $ns}
spec: {uri: "https://ci.example.com/log.txt"}
YAML
        assert_contains "$(kubectl get --raw "$art/elsewhere/content" 2>&1)" "not in a workspace" "an artifact outside the workspace"
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

# history NS QUERY: the objecthistories of NS through kube-apiserver, one "TYPE PHASE" line per state
history() {
        kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$1/objecthistories?$2" |
                jq -r '.items[] | "\(.type) \(.phase)"'
}

# bad_requests NS QUERY...: each query of NS's objecthistories, straight to the apiserver as an admin
# through the front proxy, is answered with a 400 Status
bad_requests() {
        local base="https://127.0.0.1:$APIPORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$1/objecthistories" q body
        shift
        for q in "$@"; do
                body=$(curl -s --cacert "$PKI/ca.crt" --cert "$PKI/front-proxy-client.crt" --key "$PKI/front-proxy-client.key" \
                        -H 'X-Remote-User: admin' -H 'X-Remote-Group: system:masters' "$base?$q")
                assert_eq "Status 400 BadRequest" "$(jq -r '"\(.kind) \(.code) \(.reason)"' <<<"$body")" "$q"
                [ -n "$(jq -r '.message // ""' <<<"$body")" ] || fail "$q: a 400 without a message that says what is wrong"
        done
}

test_history_of_a_sandbox() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        local p ns p2 ns2 out sel
        p=$(new_project)
        ns=mbox-$p
        template "$ns" box
        sandbox "$ns" s1
        wait_for "s1 Running" 60 phase_is "$ns" s1 Running
        kubectl -n "$ns" patch sandboxes.mbox.dev s1 --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "s1 Stopped" 30 phase_is "$ns" s1 Stopped
        kubectl -n "$ns" patch sandboxes.mbox.dev s1 --type=merge -p '{"spec":{"state":"Running"}}' >/dev/null
        wait_for "s1 Running again" 30 phase_is "$ns" s1 Running
        kubectl -n "$ns" delete sandboxes.mbox.dev s1 --timeout=60s >/dev/null || fail "delete did not finish"

        # after the object is gone, its history holds every phase in order, ending with its deletion
        sel="fieldSelector=object.kind=Sandbox,object.name=s1,object.apiVersion=mbox.dev/v1alpha1"
        deleted() { history "$ns" "$sel" | tail -n 1 | grep -q '^DELETED'; }
        wait_for "the deletion in the history" 20 deleted
        out=$(history "$ns" "$sel")
        assert_eq "ADDED" "$(head -n 1 <<<"$out" | cut -d' ' -f1)" "the first state"
        # phases as they changed (repeats folded): Running, Stopped, Running, then the deletion's
        local phases
        phases=$(awk '$2 != "" && $2 != last {printf "%s ", $2; last = $2}' <<<"$out")
        [[ $phases =~ Running\ (Stopping\ )?Stopped\ (Starting\ )?Running ]] ||
                fail "phases in order: expected Running, Stopped, Running; got $phases"
        [ "$(grep -c . <<<"$out")" -eq "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/objecthistories?$sel" |
                jq '[.items[].object.resourceVersion] | unique | length')" ] || fail "a state is recorded twice"
        # kubectl get shows it as a table; the project's own states are in its namespace
        assert_contains "$(kubectl api-resources --api-group=runtime.mbox.dev)" "objecthistories" "kubectl api-resources"
        # kubectl explain teaches the kind (OpenAPI v3 through the aggregator)
        explained() { kubectl explain objecthistories.state | grep -q 'without metadata.managedFields'; }
        wait_for "kubectl explain objecthistories.state" 30 explained
        assert_contains "$(kubectl explain taskoutputs.status.complete)" "Whether every byte the command wrote is stored" \
                "kubectl explain taskoutputs"
        out=$(kubectl -n "$ns" get objecthistories --field-selector object.name=s1)
        assert_contains "$out" "PHASE" "Table columns"
        assert_contains "$out" "SandboxClaim.extensions.agents.x-k8s.io" "the claim underneath, named with its group"
        # the project's history is in its namespace from its first state on (before status names it)
        assert_eq ADDED "$(history "$ns" "fieldSelector=object.kind=Project" | head -n 1 | cut -d' ' -f1)" "the project's first state"
        # time range: nothing changed in the future
        assert_eq "" "$(history "$ns" "$sel&since=2999-01-01T00:00:00Z")" "since"
        assert_eq "$(history "$ns" "$sel")" "$(history "$ns" "$sel&until=2999-01-01T00:00:00Z")" "until"
        # labels of the state: the claim carries the operator's label
        assert_contains "$(history "$ns" "labelSelector=app.kubernetes.io/managed-by%3Dmbox-operator,mbox.dev/sandbox%20in%20(s1)")" \
                "ADDED" "label selector"
        # pages: limit and continue give every state exactly once, as of the first page (a state stored
        # after it is not in the later pages, as in Kubernetes, so a watch from the list's version gets it)
        local all paged token q first first_token rv base="/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/objecthistories"
        first=$(kubectl get --raw "$base?limit=3")
        rv=$(jq -r .metadata.resourceVersion <<<"$first")
        paged=$(jq -r '.items[].metadata.name' <<<"$first")$'\n'
        token=$(jq -r '.metadata.continue // ""' <<<"$first")
        [ -n "$token" ] || fail "a namespace with more than 3 states gives a continue token"
        first_token=$token
        kubectl -n "$ns" label environmenttemplates box paged=yes >/dev/null
        newer() { kubectl get --raw "$base" | jq -e --argjson rv "$rv" 'any(.items[]; (.metadata.resourceVersion | tonumber) > $rv)' >/dev/null; }
        wait_for "a state newer than the first page" 20 newer
        while [ -n "$token" ]; do
                q=$(kubectl get --raw "$base?limit=3&continue=$token")
                assert_eq "$rv" "$(jq -r .metadata.resourceVersion <<<"$q")" "a later page's resourceVersion is the first page's"
                paged+=$(jq -r '.items[].metadata.name' <<<"$q")$'\n'
                token=$(jq -r '.metadata.continue // ""' <<<"$q")
        done
        all=$(kubectl get --raw "$base" | jq -r --argjson rv "$rv" '.items[] | select((.metadata.resourceVersion | tonumber) <= $rv) | .metadata.name')
        assert_eq "$all" "$(grep . <<<"$paged")" "pages of 3"
        assert_eq "$(head -n 1 <<<"$all")" "$(kubectl -n "$ns" get objecthistory "$(head -n 1 <<<"$all")" -o jsonpath='{.metadata.name}')" "get by name"

        # a project viewer reads that project's history and is refused another's
        p2=$(new_project)
        ns2=mbox-$p2
        kubectl -n "$ns" create rolebinding view-erin --clusterrole=mbox-viewer --user=erin >/dev/null
        wait_for "erin can read" 20 kubectl -n "$ns" get objecthistories --as=erin
        assert_contains "$(kubectl -n "$ns2" get objecthistories --as=erin 2>&1)" "forbidden" "another project's history"
        out=$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns2/objecthistories" --as=erin 2>&1 || true)
        assert_contains "$out" "forbidden" "a 403 Status through the aggregator"

        # bad requests are 400 Status answers that say what is wrong
        bad_requests "$ns" "labelSelector=a%20in%20(b," "fieldSelector=spec.x%3Dy" "continue=garbage" "limit=-1" \
                "since=yesterday" "labelSelector=%3Dx" "continue=h1.5" "continue=h1.9.5" "watch=true&continue=$first_token"
        assert_contains "$(kubectl -n "$ns" get objecthistories --field-selector spec.x=y 2>&1)" "field label not supported: spec.x" "kubectl shows the reason"
}

# patch_burst NS N OUT: N merge patches spread over templates t0..t4 of NS straight to kube-apiserver (as
# fast as one connection goes); the resourceVersion of each new state is appended to OUT
patch_burst() {
        local server i
        server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
        for ((i = 0; i < $2; i++)); do
                [ "$i" -eq 0 ] || echo next
                printf 'url = "%s/apis/mbox.dev/v1alpha1/namespaces/%s/environmenttemplates/t%d"\n' "$server" "$1" $((i % 5))
                printf 'request = "PATCH"\nheader = "Content-Type: application/merge-patch+json"\n'
                printf 'data = "{\\"metadata\\":{\\"annotations\\":{\\"n\\":\\"%s-%d\\"}}}"\n' "$RANDOM" "$i"
                printf 'cacert = "%s"\ncert = "%s"\nkey = "%s"\nwrite-out = "\\n"\nsilent\n' \
                        "$PKI/ca.crt" "$PKI/admin.crt" "$PKI/admin.key"
        done | curl -K - | jq -r .metadata.resourceVersion >>"$3"
}

stored_rows() { # NS: rows of t0..t4 in the database
        psql_ -tAc "SELECT count(*) FROM object_history WHERE namespace = '$1' AND kind = 'EnvironmentTemplate'"
}
stored_states() { # NS: rows and distinct states of t0..t4 in the database
        psql_ -tAc "SELECT count(*), count(DISTINCT (uid, resource_version)) FROM object_history
                WHERE namespace = '$1' AND kind = 'EnvironmentTemplate'"
}

test_history_exactly_once_across_restarts() {
        install_operator_rbac
        start_apiserver
        local ns rvs pg_bin
        ns=$(new_namespace hist)
        rvs=$(mktemp)
        printf 'file %s\n' "$rvs" >>"$_cleanup_file"
        for i in 0 1 2 3 4; do template "$ns" "t$i"; done
        kubectl -n "$ns" get environmenttemplates -o jsonpath='{range .items[*]}{.metadata.resourceVersion}{"\n"}{end}' >"$rvs"
        # kill -9 of the apiserver while it stores a burst of 400 changes (once the burst's first states are
        # stored), 100 more while it is down, a restart after it
        local burst at_kill
        patch_burst "$ns" 400 "$rvs" &
        burst=$!
        burst_storing() { [ "$(stored_rows "$ns")" -gt 5 ]; }
        wait_for "the burst's first states stored" 30 burst_storing
        kill -9 "$APIPID"
        wait "$APIPID" 2>/dev/null || true
        # the kill landed mid-work: with the apiserver gone nothing more is stored, and some of the burst is not
        at_kill=$(stored_rows "$ns")
        wait "$burst" || fail "the burst of 400 changes failed"
        log "killed mbox-apiserver with $at_kill of 405 states stored"
        [ "$at_kill" -lt 405 ] || fail "the kill landed after the whole burst was stored: it cut no work short"
        patch_burst "$ns" 100 "$rvs"
        start_apiserver
        all_stored() { [ "$(stored_states "$ns")" = "505|505" ]; }
        wait_for "505 states stored" 60 all_stored
        # then a Postgres restart during another burst
        pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
        patch_burst "$ns" 100 "$rvs"
        runuser -u postgres -- "$pg_bin/pg_ctl" -D "$MBOX_STATE_DIR/postgres" -m fast -w stop >/dev/null
        rm -f "$MBOX_STATE_DIR/pids/postgres.pid" # its PID may be another process's by the time it starts again
        patch_burst "$ns" 200 "$rvs"
        bash "$root/hack/cluster.sh" up >/dev/null 2>&1 || fail "cannot start Postgres again"
        patch_burst "$ns" 200 "$rvs"
        all_stored() { [ "$(stored_states "$ns")" = "1005|1005" ]; }
        wait_for "1005 states stored" 90 all_stored
        # every state written is stored, exactly once, and nothing else
        assert_eq 1005 "$(sort -u "$rvs" | wc -l)" "resourceVersions written"
        assert_eq "$(sort "$rvs")" "$(psql_ -tAc "SELECT resource_version FROM object_history WHERE namespace = '$ns'
                AND kind = 'EnvironmentTemplate'" | sort)" "the stored states are the written ones"
        assert_eq 1005 "$(kubectl -n "$ns" get objecthistories -o name | wc -l)" "served through kubectl"
}

test_history_relists_when_its_resume_point_is_gone() {
        install_operator_rbac
        start_apiserver
        local ns i
        ns=$(new_namespace hist)
        for i in 0 1 2 3 4; do template "$ns" "t$i"; done
        states() { psql_ -tAc "SELECT string_agg(event, ' ' ORDER BY id) FROM object_history
                WHERE namespace = '$ns' AND name = '$1'"; }
        five() { [ "$(psql_ -tAc "SELECT count(*) FROM object_history WHERE namespace = '$ns'")" = 5 ]; }
        wait_for "the templates stored" 30 five
        # while mbox-apiserver is down: changes, a deletion, and etcd compacted past its resume point, with
        # kube-apiserver restarted so that no cache holds the events either
        kill -9 "$APIPID"
        wait "$APIPID" 2>/dev/null || true
        for i in 0 1 2 3; do kubectl -n "$ns" annotate environmenttemplate "t$i" changed=yes >/dev/null; done
        kubectl -n "$ns" delete environmenttemplate t4 >/dev/null
        compact_etcd
        start_apiserver
        relisted() { [ "$(states t4)" = "ADDED DELETED" ]; }
        wait_for "the deletion found by a relist" 60 relisted
        grep -q 'resume point expired, relisting' "$APILOG" || fail "no relist in the log: $(tail -5 "$APILOG")"
        for i in 0 1 2 3; do
                assert_eq "ADDED MODIFIED" "$(states "t$i")" "t$i's states"
                assert_eq "$(kubectl -n "$ns" get environmenttemplate "t$i" -o jsonpath='{.metadata.resourceVersion}')" \
                        "$(psql_ -tAc "SELECT resource_version FROM object_history WHERE namespace = '$ns' AND name = 't$i'
                                ORDER BY id DESC LIMIT 1")" "t$i's newest state"
        done
        # another restart from a valid resume point adds nothing: once a change made after the restart is
        # stored (the mirror is watching again, from its resume point), that change is the only new row
        kill -9 "$APIPID"
        wait "$APIPID" 2>/dev/null || true
        start_apiserver
        kubectl -n "$ns" annotate environmenttemplate t0 again=yes >/dev/null
        stored_again() { [ "$(states t0)" = "ADDED MODIFIED MODIFIED" ]; }
        wait_for "a change after the restart stored" 30 stored_again
        assert_eq 11 "$(psql_ -tAc "SELECT count(*) FROM object_history WHERE namespace = '$ns'")" \
                "rows after a plain restart and one change"
        ! grep -q 'resume point expired, relisting' "$APILOG" || fail "a valid resume point was taken for an expired one"
}

test_history_watch() {
        install_operator_rbac
        start_apiserver
        local ns out kpid threads
        ns=$(new_namespace hist)
        template "$ns" a
        stored_a() { kubectl -n "$ns" get objecthistories -o name | grep -q '^objecthistory.runtime.mbox.dev/a\.'; }
        wait_for "a stored" 20 stored_a
        # kubectl get -w: the list, then each state as it is stored
        out=$(mktemp)
        printf 'file %s\n' "$out" >>"$_cleanup_file"
        kubectl -n "$ns" get objecthistories -w >"$out" 2>&1 &
        kpid=$!
        printf 'pid %s\n' "$kpid" >>"$_cleanup_file"
        listed() { grep -q '^a\.' "$out"; }
        wait_for "the list" 20 listed
        template "$ns" b
        kubectl -n "$ns" annotate environmenttemplate a changed=yes >/dev/null
        streamed() { grep -q '^b\..*ADDED' "$out" && grep -q '^a\..*MODIFIED' "$out"; }
        wait_for "the new states streamed" 20 streamed
        assert_eq 1 "$(grep -c '^a\..*ADDED' "$out")" "the listed state is not streamed again"
        # the watch's thread ends with the client: one thread fewer than while it ran (a count taken before
        # the watch began is no baseline: kube-apiserver may have opened other connections since, each a
        # thread until it has been idle for a minute)
        threads=$(awk '$1 == "Threads:" {print $2}' "/proc/$APIPID/status")
        kill "$kpid"
        wait "$kpid" 2>/dev/null || true
        threads_back() { [ "$(awk '$1 == "Threads:" {print $2}' "/proc/$APIPID/status")" -lt "$threads" ]; }
        wait_for "the watch's thread to end" 30 threads_back
        # a streaming list: every state so far, then the bookmark that ends the initial events
        out=$(timeout 10 kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/objecthistories?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=3" |
                jq -r '"\(.type) \(.object.object.name // "") \(.object.metadata.annotations["k8s.io/initial-events-end"] // "")"')
        assert_eq "ADDED a |ADDED b |ADDED a |BOOKMARK  true" "$(paste -sd'|' <<<"$out")" "initial events, then the bookmark"
        # a watch that cannot be served says why
        bad_requests "$ns" "watch=true&resourceVersion=abc" "watch=true&timeoutSeconds=0" \
                "watch=true&resourceVersion=5&sendInitialEvents=true"
}

test_history_skips_a_state_the_database_refuses() {
        install_operator_rbac
        start_apiserver
        local ns con
        ns=$(new_namespace hist)
        # Postgres refuses the states of one object (a check the mirror knows nothing about); every other
        # state of the same batches must still be stored, and the mirror must go on storing afterwards
        con="mbox_test_refuse_${ns//-/_}"
        psql_ -qc "ALTER TABLE object_history ADD CONSTRAINT $con CHECK (namespace <> '$ns' OR name <> 'refused') NOT VALID"
        rows() { psql_ -tAc "SELECT count(*) FROM object_history WHERE namespace = '$ns' AND name = '$1'"; }
        has() { [ "$(rows "$1")" -ge 1 ]; }
        template "$ns" before
        template "$ns" refused
        template "$ns" after
        wait_for "before stored" 20 has before
        wait_for "after stored" 20 has after
        refusal_logged() {
                grep -qE "gap: the database refuses a state.* kind=EnvironmentTemplate namespace=$ns name=refused uid=[0-9a-f-]{36} resourceVersion=[0-9]+ " "$APILOG"
        }
        wait_for "the refused state logged as a gap, with its object" 20 refusal_logged
        template "$ns" later
        wait_for "a later state stored" 20 has later
        psql_ -qc "ALTER TABLE object_history DROP CONSTRAINT $con"
        assert_eq 0 "$(rows refused)" "rows of the refused object"
        grep -q 'cannot store, keeping the changes and retrying' "$APILOG" &&
                fail "a refused state was retried as if the database were down"
        return 0
}

test_history_retention() {
        install_operator_rbac
        start_apiserver "" --history-retention=30s
        local ns age
        ns=$(new_namespace hist)
        template "$ns" old
        template "$ns" new
        rows() { psql_ -tAc "SELECT count(*) FROM object_history WHERE namespace = '$ns' AND name = '$1'"; }
        has() { [ "$(rows "$1")" -ge 1 ]; }
        wait_for "old stored" 20 has old
        wait_for "new stored" 20 has new
        # old's states are made two minutes old: past the 30 s (and short of it, were the flag read in minutes);
        # new's are seconds old, far inside it (the pruner looks every 7.5 s), so no race with the clock
        psql_ -qc "UPDATE object_history SET recorded_at = now() - interval '2 minutes' WHERE namespace = '$ns' AND name = 'old'"
        pruned() { [ "$(rows old)" -eq 0 ]; }
        wait_timed "old pruned" 60 pruned
        age=$(psql_ -tAc "SELECT round(extract(epoch FROM now() - min(recorded_at))) FROM object_history
                WHERE namespace = '$ns' AND name = 'new'")
        log "new's states are ${age:-?}s old, kept"
        [ "$(rows new)" -ge 1 ] || fail "a state younger than the retention was pruned"
        grep -q 'pruned states past their retention' "$APILOG" || fail "the pruning is not logged"
}

# direct NS METHOD CONTENT-TYPE BODY-FILE: a request to NS's artifacts straight to the apiserver as an
# admin through the front proxy; prints "CODE REASON"
direct() {
        curl -s --cacert "$PKI/ca.crt" --cert "$PKI/front-proxy-client.crt" --key "$PKI/front-proxy-client.key" \
                -H 'X-Remote-User: admin' -H 'X-Remote-Group: system:masters' -X "$2" -H "Content-Type: $3" \
                --data-binary "@$4" "https://127.0.0.1:$APIPORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$1/artifacts" |
                jq -r '"\(.code) \(.reason)"'
}

test_artifacts_create_watch_delete() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        local ns out watched wpid me
        box_project
        ns=$BOX_NS
        run_task "$ns" build '["true"]'
        wait_for "build Succeeded" 30 task_phase_is "$ns" build Succeeded
        # kubectl get -w from the start: what is created and deleted streams in
        watched=$(mktemp)
        printf 'file %s\n' "$watched" >>"$_cleanup_file"
        kubectl -n "$ns" get artifacts -w --output-watch-events >"$watched" 2>&1 &
        wpid=$!
        printf 'pid %s\n' "$wpid" >>"$_cleanup_file"
        # register a report the task wrote, as a user does: kubectl create -f
        out=$(kubectl create -f - 2>&1 <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata:
  name: test-report
  namespace: $ns
  labels: {suite: unit}
spec:
  kind: report
  name: Test report
  uri: workspace:///workspace/reports/test.json
  contentType: application/json
  sizeBytes: 1234
  task: {name: build}
YAML
)
        assert_eq "artifact.runtime.mbox.dev/test-report created" "$out" "kubectl create"
        # the task vouches for the provenance: its uid, sandbox and pod are filled in
        out=$(kubectl -n "$ns" get artifact test-report -o json)
        assert_eq "$(kubectl -n "$ns" get mtask build -o jsonpath='{.metadata.uid}')" "$(jq -r .spec.task.uid <<<"$out")" "task uid"
        assert_eq box "$(jq -r .spec.sandbox <<<"$out")" "sandbox from the task"
        assert_eq "$(kubectl -n "$ns" get mtask build -o jsonpath='{.status.podName}')" "$(jq -r .spec.pod <<<"$out")" "pod from the task"
        assert_eq /workspace/reports/test.json "$(jq -r .spec.path <<<"$out")" "path of the workspace URI"
        me=$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')
        assert_eq "Registered $me" "$(jq -r '"\(.status.source) \(.status.registeredBy)"' <<<"$out")" "who registered it"
        out=$(kubectl -n "$ns" get artifacts)
        assert_contains "$out" "KIND" "Table columns"
        assert_contains "$out" "report" "kind column"
        # generateName, selectors
        out=$(kubectl create -o name -f - <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {generateName: log-, namespace: $ns}
spec: {kind: log, uri: "https://ci.example.com/build/1/log.txt", sandbox: box}
YAML
)
        [[ $out =~ ^artifact.runtime.mbox.dev/log-[a-z0-9]{5}$ ]] || fail "generateName: got '$out'"
        assert_eq test-report "$(kubectl -n "$ns" get artifacts -l suite=unit -o jsonpath='{.items[*].metadata.name}')" "label selector"
        assert_eq "${out#*/}" "$(kubectl -n "$ns" get artifacts --field-selector spec.kind=log -o jsonpath='{.items[*].metadata.name}')" "field selector"
        # what is wrong is refused with the reason, and nothing is stored
        local manifest
        manifest() { printf 'apiVersion: runtime.mbox.dev/v1alpha1\nkind: Artifact\nmetadata: {name: %s, namespace: %s}\nspec: %s\n' "$1" "$ns" "$2"; }
        assert_contains "$(manifest test-report '{uri: "workspace:///x"}' | kubectl create -f - 2>&1)" "AlreadyExists" "a taken name"
        assert_contains "$(manifest bad '{uri: "workspace:///x", colour: red}' | kubectl create -f - 2>&1)" 'unknown field "spec.colour"' "an unknown field"
        assert_contains "$(manifest bad '{uri: "workspace:///a/../etc/passwd"}' | kubectl create -f - 2>&1)" "spec.uri" "a path that climbs out"
        assert_contains "$(manifest bad '{uri: "workspace:///x", digest: "md5:abc"}' | kubectl create -f - 2>&1)" "spec.digest" "a bad digest"
        assert_contains "$(manifest bad '{kind: report}' | kubectl create -f - 2>&1)" "spec.uri: Required value" "no uri"
        assert_contains "$(manifest bad '{uri: "workspace:///x", task: {name: nosuch}}' | kubectl create -f - 2>&1)" \
                'spec.task.name: Not found: ExecutionTask "nosuch"' "a task that does not exist"
        assert_contains "$(manifest bad '{uri: "workspace:///x", task: {name: build}, sandbox: other}' | kubectl create -f - 2>&1)" \
                'spec.sandbox: Invalid value: "other": ExecutionTask "build" says "box"' "provenance that contradicts the task"
        gone "$ns" artifacts bad || fail "a refused artifact was stored"
        # unknown fields are dropped when the caller asks for it, with a warning or without
        assert_eq "artifact.runtime.mbox.dev/lax created" \
                "$(manifest lax '{uri: "workspace:///x", colour: red}' | kubectl create --validate=false -f - 2>&1)" "--validate=false"
        out=$(manifest warned '{uri: "workspace:///x", colour: red}' | kubectl create --validate=warn -f - 2>&1)
        assert_contains "$out" 'Warning: unknown field "spec.colour"' "--validate=warn warns"
        assert_contains "$out" "artifact.runtime.mbox.dev/warned created" "--validate=warn creates"
        kubectl -n "$ns" delete artifact warned >/dev/null
        # malformed requests straight to the server: 4xx Status answers
        local body
        body=$(mktemp)
        printf 'file %s\n' "$body" >>"$_cleanup_file"
        printf '{"metadata":{"name":"x"},"spec":{"uri":"workspace:///x"}}' >"$body"
        assert_eq "415 UnsupportedMediaType" "$(direct "$ns" POST text/plain "$body")" "a wrong content type"
        assert_eq "415 UnsupportedMediaType" "$(direct "$ns" POST application/yaml "$body")" "YAML"
        printf '{"metadata":' >"$body"
        assert_eq "400 BadRequest" "$(direct "$ns" POST application/json "$body")" "a body that is not JSON"
        printf '[1, 2]' >"$body"
        assert_eq "400 BadRequest" "$(direct "$ns" POST application/json "$body")" "a body that is not an object"
        head -c 2000000 /dev/zero | tr '\0' ' ' >"$body"
        assert_eq "413 RequestEntityTooLarge" "$(direct "$ns" POST application/json "$body")" "an oversized body"
        : >"$body"
        assert_eq "405 MethodNotAllowed" "$(direct "$ns" PUT application/json "$body")" "PUT"
        # a project viewer reads artifacts and cannot create them; a developer can
        kubectl -n "$ns" create rolebinding view-carol --clusterrole=mbox-viewer --user=carol >/dev/null
        kubectl -n "$ns" create rolebinding dev-erin --clusterrole=mbox-developer --user=erin >/dev/null
        wait_for "carol can read" 20 kubectl -n "$ns" get artifact test-report --as=carol
        assert_contains "$(manifest by-carol '{uri: "workspace:///x"}' | kubectl create --as=carol -f - 2>&1)" "forbidden" "a viewer cannot create"
        manifest by-erin '{uri: "workspace:///x"}' | kubectl create --as=erin -f - >/dev/null || fail "a developer cannot create"
        assert_eq erin "$(kubectl -n "$ns" get artifact by-erin -o jsonpath='{.status.registeredBy}')" "registered by the developer"
        # labels and annotations change (kubectl label, annotate: merge patches); nothing else does
        assert_eq "artifact.runtime.mbox.dev/test-report labeled" "$(kubectl -n "$ns" label artifact test-report stage=final 2>&1)" "kubectl label"
        assert_eq "artifact.runtime.mbox.dev/test-report annotated" "$(kubectl -n "$ns" annotate artifact test-report note=kept 2>&1)" "kubectl annotate"
        assert_eq "final kept unit" "$(kubectl -n "$ns" get artifact test-report -o jsonpath='{.metadata.labels.stage} {.metadata.annotations.note} {.metadata.labels.suite}')" "labels and annotations"
        assert_eq test-report "$(kubectl -n "$ns" get artifacts -l stage=final -o jsonpath='{.items[*].metadata.name}')" "selected by the new label"
        assert_contains "$(kubectl -n "$ns" patch artifact test-report --type=merge -p '{"spec":{"uri":"workspace:///y"}}' 2>&1)" \
                "spec: Forbidden" "the spec does not change"
        assert_contains "$(kubectl -n "$ns" patch artifact test-report --type=json -p '[{"op":"remove","path":"/metadata/labels"}]' 2>&1)" \
                "application/merge-patch+json" "a JSON patch says which patches work"
        assert_contains "$(kubectl -n "$ns" label artifact test-report 'bad key=x' 2>&1)" "invalid" "a bad label"
        assert_contains "$(kubectl -n "$ns" label artifact test-report stage=again --overwrite --resource-version=1 2>&1)" "modified" "a stale resourceVersion"
        # delete; the name is free again
        assert_eq "artifact.runtime.mbox.dev \"test-report\" deleted from $ns namespace" "$(kubectl -n "$ns" delete artifact test-report 2>&1)" "kubectl delete"
        assert_contains "$(kubectl -n "$ns" get artifact test-report 2>&1)" "NotFound" "gone after delete"
        assert_contains "$(kubectl -n "$ns" delete artifact test-report 2>&1)" "NotFound" "a second delete"
        manifest test-report '{uri: "workspace:///again"}' | kubectl create -f - >/dev/null || fail "the name is not free after delete"
        # the watch saw each creation and the deletion, in order
        streamed() { grep -q 'DELETED *test-report' "$watched" && [ "$(awk '$2 == "test-report" {t = $1} END {print t}' "$watched")" = ADDED ]; }
        wait_for "the watch to stream the changes" 20 streamed
        assert_eq "ADDED ADDED ADDED ADDED MODIFIED DELETED ADDED" \
                "$(awk '$2 ~ /^(test-report|lax|by-erin|log-)/ {printf "%s ", $1}' "$watched" | sed -E 's/(MODIFIED )+/MODIFIED /; s/ $//')" \
                "events in order, in: $(cat "$watched")"
        kill "$wpid"
        # a streaming list: the artifacts there are, then the bookmark that ends the initial events
        out=$(timeout 10 kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/artifacts?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2" |
                jq -r '"\(.type) \(.object.metadata.name // "")"' | sort | paste -sd' ')
        assert_eq "ADDED by-erin ADDED lax ADDED test-report BOOKMARK " "$(sed -E 's/ADDED log-[a-z0-9]{5} //' <<<"$out")" "initial events"
}

test_artifacts_watch_from_before_the_project() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        local name ns watched wpid
        name="t-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        ns=mbox-$name
        # a watch of a project's artifacts opened before the project is there, as a client that creates the
        # project and then waits for what comes out of it does: it follows the project that takes the namespace
        watched=$(mktemp)
        printf 'file %s\nproject %s\n' "$watched" "$name" >>"$_cleanup_file"
        # a streaming list (an informer's WatchList): its initial-events-end bookmark says that it is open
        kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/artifacts?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true" >"$watched" 2>&1 &
        wpid=$!
        printf 'pid %s\n' "$wpid" >>"$_cleanup_file"
        wait_for "the watch to open" 20 grep -q initial-events-end "$watched"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $name}
spec: {displayName: Test $name}
YAML
        wait_for "project $name Ready" 30 kubectl wait --for=condition=Ready "projects.mbox.dev/$name" --timeout=1s
        # the project's record is stored once the history has its NamespaceReady state; a new artifact
        # belongs to the project from then on
        recorded() { [ "$(psql_ -Atc "SELECT count(*) FROM namespace_projects WHERE namespace = '$ns'")" = 1 ]; }
        wait_for "the history to record the project" 20 recorded
        kubectl -n "$ns" create -f - >/dev/null <<YAML || fail "kubectl create"
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {name: report}
spec: {uri: "workspace:///report.json"}
YAML
        kubectl -n "$ns" delete artifact report >/dev/null || fail "kubectl delete"
        events() { jq -r 'select(.object.metadata.name == "report") | .type' "$watched" | paste -sd' '; }
        streamed() { [ "$(events)" = "ADDED DELETED" ]; }
        wait_for "the watch to stream the changes" 20 streamed
        kill "$wpid"
}
