# Session records through kube-apiserver, as a user reads them: kubectl get (Table, -o yaml, field
# selectors), watch and explain of sessions.runtime.mbox.dev. The records are written by the store functions
# the exec and terminal sessions call (build/itests/test-sessions-store, a Check program that is also a
# small writer), into the stack's Postgres that mbox-apiserver reads.

sessions_tool() { MBOX_PG_PORT=$PG_PORT "$root/build/itests/test-sessions-store" "$@"; }

# begin NS SANDBOX KIND USER TTY COMMAND-JSON: opens a session record; sets NAME and SUID
begin() {
        local out
        out=$(sessions_tool begin "$@") || fail "cannot record a session"
        read -r NAME SUID <<<"$out"
}

test_sessions_through_kubectl() {
        start_apiserver
        local ns out a b
        ns=$(new_namespace sessions)
        assert_contains "$(kubectl api-resources --api-group=runtime.mbox.dev)" "sessions" "kubectl api-resources"
        begin "$ns" box exec alice false '["sh", "-c", "echo hi"]'
        a=$NAME
        local a_uid=$SUID
        begin "$ns" box terminal bob true '["bash"]'
        b=$NAME
        case $a in box-?????) ;; *) fail "a session's name is <sandbox>-<5 characters>: got '$a'" ;; esac
        sessions_tool end "$a_uid" 12 345 3 Exited

        out=$(kubectl -n "$ns" get sessions | tr -s ' ')
        assert_eq "NAME SANDBOX KIND USER COMMAND PHASE EXIT CODE AGE" "$(head -n 1 <<<"$out")" "Table columns"
        assert_contains "$(grep "^$a " <<<"$out")" "$a box exec alice sh -c echo hi Ended 3 " "the ended session's row"
        assert_contains "$(grep "^$b " <<<"$out")" "$b box terminal bob bash Active " "the open session's row"

        out=$(kubectl -n "$ns" get session "$a" | tr -s ' ')
        assert_eq "NAME SANDBOX KIND USER COMMAND PHASE EXIT CODE AGE" "$(head -n 1 <<<"$out")" "one session's Table columns"
        assert_contains "$(sed -n 2p <<<"$out")" "$a box exec alice sh -c echo hi Ended 3 " "one session's row"
        out=$(kubectl -n "$ns" get session "$a" -o yaml)
        for want in "kind: Session" "apiVersion: runtime.mbox.dev/v1alpha1" "uid: $a_uid" "sandbox: box" "pod: box" \
                "- sh" "- echo hi" "tty: false" "name: alice" "uid: uid-of-someone" "- devs" "phase: Ended" \
                "bytesIn: 12" "bytesOut: 345" "exitCode: 3" "reason: Exited" "endedAt: " "startedAt: " \
                "resourceVersion: " "creationTimestamp: "; do
                assert_contains "$out" "$want" "kubectl get session -o yaml"
        done
        out=$(kubectl -n "$ns" get session "$b" -o json)
        assert_eq "Active|true|none|none|none" \
                "$(jq -r '[.status.phase, .spec.tty, .status.endedAt // "none", .status.exitCode // "none", .status.reason // "none"] | map(tostring) | join("|")' <<<"$out")" \
                "an open session has no end"

        assert_eq "$b" "$(kubectl -n "$ns" get sessions --field-selector status.phase=Active -o jsonpath='{.items[*].metadata.name}')" \
                "field selector status.phase"
        assert_eq "$a" "$(kubectl -n "$ns" get sessions --field-selector spec.kind=exec,spec.sandbox=box -o jsonpath='{.items[*].metadata.name}')" \
                "field selectors spec.kind, spec.sandbox"
        assert_eq "" "$(kubectl -n "$ns" get sessions --field-selector spec.sandbox=other -o name)" "another sandbox's sessions"
        refused "an unknown field" "field label not supported: spec.pod" kubectl -n "$ns" get sessions --field-selector spec.pod=x
        refused "a session that is not there" "NotFound" kubectl -n "$ns" get session box-nosuch
        refused "a write" "MethodNotAllowed" kubectl -n "$ns" delete session "$a"
        # a page at a time: the continue token of sessions
        assert_eq "$a $b" "$(kubectl -n "$ns" get sessions --chunk-size=1 -o jsonpath='{.items[*].metadata.name}')" "pages"

        # kubectl explain teaches the kind (OpenAPI v3, which the aggregator fetches on its own time)
        explained() { kubectl explain sessions.status | grep -q 'Active while the session is open'; }
        wait_for "kubectl explain sessions.status" 30 explained
        assert_contains "$(kubectl explain sessions.spec.user)" "The user's groups" "kubectl explain sessions.spec.user"
}

test_sessions_watch() {
        start_apiserver
        local ns watched
        ns=$(new_namespace sessions)
        watched=$(mktemp)
        printf 'file %s\n' "$watched" >>"$_cleanup_file"
        bg_start kubectl -n "$ns" get sessions -w --output-watch-events >"$watched" 2>&1
        # kubectl prints the (empty) list, then watches from its resourceVersion
        sleep 2
        begin "$ns" dev exec carol false '["ls"]'
        added() { grep -q "ADDED *$NAME *dev *exec *carol *ls *Active" "$watched"; }
        wait_for "ADDED $NAME in the watch" 20 added
        sessions_tool end "$SUID" 0 10 0 Exited
        modified() { grep -q "MODIFIED *$NAME *dev *exec *carol *ls *Ended *0" "$watched"; }
        wait_for "MODIFIED $NAME in the watch" 20 modified
        # a watch from the list's resourceVersion replays both changes, each as it was
        local rv
        rv=$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/sessions" | jq -r .metadata.resourceVersion)
        begin "$ns" dev terminal carol true '["sh"]'
        sessions_tool end "$SUID" 1 1 -1 ClientClosed
        assert_eq "ADDED Active MODIFIED Ended ClientClosed" \
                "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/sessions?watch=true&resourceVersion=$rv&timeoutSeconds=2" |
                        jq -rs 'map(.type, .object.status.phase, .object.status.reason // empty) | join(" ")')" \
                "a watch from a resourceVersion"
}

test_sessions_retention() {
        start_apiserver
        local ns ended open
        ns=$(new_namespace sessions)
        begin "$ns" box exec alice false '["true"]'
        ended=$NAME
        sessions_tool end "$SUID" 0 0 0 Exited
        begin "$ns" box terminal alice true '["sh"]'
        open=$NAME
        sleep 0.1
        assert_eq 1 "$(sessions_tool prune "$ns" 50)" "sessions pruned"
        assert_eq "$open" "$(kubectl -n "$ns" get sessions -o jsonpath='{.items[*].metadata.name}')" \
                "the open session stays, the ended one is gone"
        refused "a pruned session" "NotFound" kubectl -n "$ns" get session "$ended"
}

# A session belongs to the project that owns its namespace when it opens (the trigger every record table
# has), so a new project on an old namespace name sees none of the sessions before it. The namespace's
# owner is written here as the history mirror writes it when a Project's namespace is ready (a row of
# namespace_projects; the namespace is the test's own, deleted with it).
test_sessions_belong_to_the_project() {
        start_apiserver
        local ns before after project
        ns=$(new_namespace sessions)
        begin "$ns" box exec alice false '["true"]'
        before=$NAME
        project=$(cat /proc/sys/kernel/random/uuid)
        psql_ -qc "INSERT INTO namespace_projects (namespace, project_uid, project_name) VALUES ('$ns', '$project', 'p')" ||
                fail "cannot record the namespace's project"
        begin "$ns" box exec alice false '["true"]'
        after=$NAME
        assert_eq "$project" "$(psql_ -Atc "SELECT project_uid FROM sessions WHERE uid = '$SUID'")" \
                "the project stamped on the new session"
        assert_eq "$after" "$(kubectl -n "$ns" get sessions -o jsonpath='{.items[*].metadata.name}')" \
                "the project's sessions only"
        refused "a session of the namespace before its project" "NotFound" kubectl -n "$ns" get session "$before"
        assert_eq "$after" "$(kubectl get sessions -A --field-selector "project.uid=$project" -o jsonpath='{.items[*].metadata.name}')" \
                "an administrator's list by project.uid"
        psql_ -qc "DELETE FROM namespace_projects WHERE namespace = '$ns'"
}
