# The access log of previews through kube-apiserver, as a user reads it: kubectl get (Table, -o yaml, field
# selectors), watch and explain of previewaccesses.runtime.mbox.dev. The hits are noted with
# api_preview_access_note(), the call the preview gateway and sandboxes/NAME/proxy make for every request,
# in build/itests/test-preview-access (a Check program that is also a small writer: an mbox-apiserver that
# serves nothing, whose last flush writes what was noted), into the stack's Postgres that mbox-apiserver
# reads.

access_tool() { MBOX_PG_PORT=$PG_PORT "$root/build/itests/test-preview-access" "$@"; }

UID1=0b5c7a1e-0000-4000-8000-000000000001

# feed: notes the hits on stdin (NS SANDBOX SANDBOX-UID PORT USER GRANT VIA STATUS IN OUT DURATION-US) and
# flushes them; fails unless every hit was kept
feed() {
        local out
        out=$(access_tool feed) || fail "cannot note preview hits"
        case $out in *" noted, 0 dropped") ;; *) fail "hits dropped: $out" ;; esac
}

# room_in_minute: waits until the minute has 10 s left at least, so that what a test feeds next falls in
# one minute, one window per key
room_in_minute() {
        local s
        s=$(date -u +%-S)
        [ "$s" -lt 50 ] || sleep $((61 - s))
}

# repeat N LINE: LINE, N times
repeat() { for ((i = 0; i < $1; i++)); do printf '%s\n' "$2"; done; }

test_preview_accesses_through_kubectl() {
        start_apiserver "" --preview-access-flush-interval=2s
        local ns out alice minute
        ns=$(new_namespace previews)
        assert_contains "$(kubectl api-resources --api-group=runtime.mbox.dev)" "previewaccesses" "kubectl api-resources"
        room_in_minute
        minute=$(date -u +%Y%m%d%H%M)
        {
                repeat 3 "$ns web $UID1 http alice - Gateway 200 10 1000 1500"
                printf '%s\n' "$ns web $UID1 http alice - Gateway 404 0 50 300" "$ns web $UID1 http alice - Gateway 502 0 20 90000"
                repeat 2 "$ns web $UID1 http - g-123 Gateway 200 0 500 100"
                printf '%s\n' "$ns web $UID1 http - - Gateway 304 0 0 100" \
                        "$ns web $UID1 api bob - Proxy 101 4096 8192 5000000" \
                        "$ns db $UID1 http bob - Proxy 200 1 2 3"
        } | feed

        out=$(kubectl -n "$ns" get previewaccesses | tr -s ' ')
        assert_eq "NAME SANDBOX PORT USER VIA REQUESTS 2XX 4XX 5XX BYTES-OUT WINDOW AGE" "$(head -n 1 <<<"$out")" "Table columns"
        assert_eq 5 "$(($(wc -l <<<"$out") - 1))" "one row per key and minute"
        assert_contains "$(grep " alice " <<<"$out")" "web http alice Gateway 5 3 1 1 3070 " "alice's row"
        assert_contains "$(grep " grant:g-123 " <<<"$out")" "web http grant:g-123 Gateway 2 2 0 0 1000 " "a grant's row"
        assert_contains "$(grep " anonymous " <<<"$out")" "web http anonymous Gateway 1 0 0 0 0 " "an anonymous row"
        assert_contains "$(grep " api " <<<"$out")" "web api bob Proxy 1 0 0 0 8192 " "a WebSocket's row"
        alice=$(kubectl -n "$ns" get previewaccesses --field-selector spec.user=alice -o jsonpath='{.items[*].metadata.name}')
        case $alice in "web.http.$minute."????????) ;; *) fail "a record's name is <sandbox>.<port>.<minute>.<hash>: got '$alice'" ;; esac
        assert_contains "$(grep "^$alice " <<<"$out")" "Z " "the window's start"

        out=$(kubectl -n "$ns" get previewaccess "$alice" -o yaml)
        for want in "kind: PreviewAccess" "apiVersion: runtime.mbox.dev/v1alpha1" "sandbox: web" "sandboxUID: $UID1" \
                "port: http" "user: alice" "via: Gateway" "requests: 5" "2xx: 3" "4xx: 1" "5xx: 1" "1xx: 0" \
                "bytesIn: 30" "bytesOut: 3070" "maxDurationMicroseconds: 90000" "firstRequestAt: " "lastRequestAt: " \
                "resourceVersion: " "creationTimestamp: " "uid: "; do
                assert_contains "$out" "$want" "kubectl get previewaccess -o yaml"
        done
        assert_eq "null" "$(kubectl -n "$ns" get previewaccess "$alice" -o json | jq -r .spec.grant)" "no grant"
        out=$(kubectl -n "$ns" get previewaccesses --field-selector spec.user= -o json)
        assert_eq "g-123 none" "$(jq -r '[.items[] | .spec.grant // "none"] | sort | join(" ")' <<<"$out")" \
                "field selector spec.user= (no Kubernetes user)"
        assert_eq "60" "$(jq -r '.items[0].spec.window | ((.end | fromdate) - (.start | fromdate))' <<<"$out")" \
                "a window is a minute"

        assert_eq "1" "$(kubectl -n "$ns" get previewaccesses --field-selector spec.port=api -o name | wc -l)" "field selector spec.port"
        assert_eq "2" "$(kubectl -n "$ns" get previewaccesses --field-selector spec.via=Proxy -o name | wc -l)" "field selector spec.via"
        assert_eq "db" "$(kubectl -n "$ns" get previewaccesses --field-selector spec.sandbox=db -o jsonpath='{.items[*].spec.sandbox}')" \
                "field selector spec.sandbox"
        assert_eq "" "$(kubectl -n "$ns" get previewaccesses --field-selector spec.sandbox=web,spec.via=Proxy,spec.port=http -o name 2>&1)" \
                "selectors together"
        refused "an unknown field" "field label not supported: spec.pod" kubectl -n "$ns" get previewaccesses --field-selector spec.pod=x
        refused "a record that is not there" "NotFound" kubectl -n "$ns" get previewaccess web.http.nosuch
        refused "a write" "MethodNotAllowed" kubectl -n "$ns" delete previewaccess "$alice"
        assert_eq "5" "$(kubectl -n "$ns" get previewaccesses --chunk-size=1 -o name | wc -l)" "pages"

        # kubectl explain teaches the kind (OpenAPI v3, which the aggregator fetches on its own time)
        explained() { kubectl explain previewaccesses.status | grep -q 'The requests of the minute, added up'; }
        wait_for "kubectl explain previewaccesses.status" 30 explained
        assert_contains "$(kubectl explain previewaccesses.status.responses)" "Client errors" "kubectl explain previewaccesses.status.responses"
        assert_contains "$(kubectl explain previewaccesses.spec.via)" "Gateway (a browser" "kubectl explain previewaccesses.spec.via"
        assert_contains "$("$root/build/mbox-apiserver" --help)" "--preview-access-flush-interval" "the flag in --help"
}

test_preview_accesses_watch() {
        start_apiserver
        local ns watched rv name
        ns=$(new_namespace previews)
        watched=$(mktemp)
        printf 'file %s\n' "$watched" >>"$_cleanup_file"
        room_in_minute
        bg_start kubectl -n "$ns" get previewaccesses -w --output-watch-events >"$watched" 2>&1
        # kubectl prints the (empty) list, then watches from its resourceVersion
        sleep 2
        repeat 2 "$ns web $UID1 http carol - Gateway 200 0 700 10" | feed
        added() { grep -qE "ADDED +web\.http\.[0-9]{12}\.[0-9a-f]{8} +web +http +carol +Gateway +2 +2 +0 +0 +1400 " "$watched"; }
        wait_for "ADDED in the watch" 20 added
        # the next flush adds to the minute's row
        repeat 3 "$ns web $UID1 http carol - Gateway 500 0 1 10" | feed
        modified() { grep -qE "MODIFIED +web\.http\.[0-9]{12}\.[0-9a-f]{8} +web +http +carol +Gateway +5 +2 +0 +3 +1403 " "$watched"; }
        wait_for "MODIFIED in the watch" 20 modified
        # a watch from the list's resourceVersion gets the next change, with the counts there are then
        rv=$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/previewaccesses" | jq -r .metadata.resourceVersion)
        printf '%s\n' "$ns web $UID1 http carol - Gateway 404 0 0 10" | feed
        assert_eq "MODIFIED 6 1" \
                "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/previewaccesses?watch=true&resourceVersion=$rv&timeoutSeconds=2" |
                        jq -rs 'map(.type, .object.status.requests, .object.status.responses["4xx"]) | map(tostring) | join(" ")')" \
                "a watch from a resourceVersion"
}

test_preview_accesses_retention() {
        start_apiserver
        local ns
        ns=$(new_namespace previews)
        printf '%s\n' "$ns web $UID1 http erin - Proxy 200 0 0 10" | feed
        assert_eq 0 "$(access_tool prune "$ns" 60000)" "nothing past a minute's retention"
        sleep 1.1
        assert_eq 1 "$(access_tool prune "$ns" 1000)" "windows pruned past a second's retention"
        assert_eq "" "$(kubectl -n "$ns" get previewaccesses -o name 2>&1)" "the pruned window is gone"
}

# A window belongs to the project that owns its namespace when it is first stored (the trigger every
# record table has), so a new project on an old namespace name sees none of the accesses before it.
test_preview_accesses_belong_to_the_project() {
        start_apiserver
        local ns project
        ns=$(new_namespace previews)
        printf '%s\n' "$ns old $UID1 http alice - Gateway 200 0 0 10" | feed
        project=$(cat /proc/sys/kernel/random/uuid)
        psql_ -qc "INSERT INTO namespace_projects (namespace, project_uid, project_name) VALUES ('$ns', '$project', 'p')" ||
                fail "cannot record the namespace's project"
        printf '%s\n' "$ns new $UID1 http alice - Gateway 200 0 0 10" | feed
        assert_eq "new" "$(kubectl -n "$ns" get previewaccesses -o jsonpath='{.items[*].spec.sandbox}')" \
                "the project's windows only"
        assert_eq "new" "$(kubectl get previewaccesses -A --field-selector "project.uid=$project" -o jsonpath='{.items[*].spec.sandbox}')" \
                "an administrator's list by project.uid"
        psql_ -qc "DELETE FROM namespace_projects WHERE namespace = '$ns'"
}

# Every project role reads the access log of its namespace (manifests/base/rbac-user-roles.yaml); someone
# without one is refused, with SubjectAccessReview's reason.
test_preview_accesses_rbac() {
        start_apiserver
        local ns user role
        ns=$(new_namespace previews)
        printf '%s\n' "$ns web $UID1 http alice - Gateway 200 0 0 10" | feed
        for role in viewer:carol developer:erin admin:fred; do
                user=${role#*:}
                kubectl -n "$ns" create rolebinding "${role%%:*}-$user" --clusterrole="mbox-${role%%:*}" --user="$user" >/dev/null
                reads() { kubectl -n "$ns" get previewaccesses --as="$user" -o name | grep -q 'web\.http\.'; }
                wait_for "$user (mbox-${role%%:*}) lists the access log" 20 reads
                assert_eq "alice" "$(kubectl -n "$ns" get previewaccesses --as="$user" --field-selector spec.via=Gateway \
                        -o jsonpath='{.items[*].spec.user}')" "$user reads a record"
        done
        refused "someone without a role" "forbidden" kubectl -n "$ns" get previewaccesses --as=dave
        assert_contains "$REFUSAL" 'cannot list resource "previewaccesses"' "the refusal names the resource"
}
