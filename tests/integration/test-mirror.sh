# Two mbox-apiserver replicas on one database, as the production manifests run them (issue #22): both serve,
# only the holder of the Lease mbox-system/mbox-apiserver mirrors the history, and when the replica that
# mirrors has to relist (410 Gone) no state that was written is lost and none is invented, above all no
# DELETED for an object that is there. The replicas are processes on loopback beside the test stack, as the
# apiserver's ServiceAccount (run_apiserver: lib.sh); the history is compared, row by row, with the changes
# kubectl made.

TIMEOUT_test_two_replicas_store_each_change_once=600

# short Lease timings, so that a killed leader is replaced within seconds; debug, for the standby's word
LEASE=(--leader-elect --lease-duration=6s --renew-deadline=4s --retry-period=1s --log-level=debug)

holder() { kubectl -n mbox-system get lease mbox-apiserver -o jsonpath='{.spec.holderIdentity}'; }
holder_is() { [ "$(holder)" = "$1" ]; }
# leads LOG: what the replica last said of the Lease is that it leads (and mirrors)
leads() {
        [ "$(grep -oE 'history: (leading, mirroring|no longer leading)' "$1" | tail -n 1)" = "history: leading, mirroring" ]
}
# stands_by LOG HOLDER: the replica has seen the Lease held by HOLDER and does not lead
stands_by() { grep -q "the Lease is held by another.* holder=$2 " "$1" && ! leads "$1"; }

# The changes, as kubectl reports them, go to $want as "NAME EVENT RESOURCEVERSION", in the order made.
create() {
        local rv
        rv=$(kubectl create -o jsonpath='{.metadata.resourceVersion}' -f - <<YAML
apiVersion: mbox.dev/v1alpha1
kind: EnvironmentTemplate
metadata: {name: $1, namespace: $ns}
spec: {image: "busybox:1.36"}
YAML
        ) || fail "cannot create $1"
        echo "$1 ADDED $rv" >>"$want"
}
change() {
        local rv
        rv=$(kubectl -n "$ns" annotate environmenttemplate "$1" "n=$2" --overwrite -o jsonpath='{.metadata.resourceVersion}') ||
                fail "cannot annotate $1"
        echo "$1 MODIFIED $rv" >>"$want"
}
# remove NAME [RV]: the deletion's resourceVersion, as the DELETE answers it, unless RV says otherwise
remove() {
        local rv
        rv=$(kubectl delete --raw "/apis/mbox.dev/v1alpha1/namespaces/$ns/environmenttemplates/$1" | jq -r .metadata.resourceVersion) ||
                fail "cannot delete $1"
        echo "$1 DELETED ${2:-$rv}" >>"$want"
}
# burst FROM N: templates c<FROM>.. created straight through kube-apiserver, as fast as one connection goes
burst() {
        local server i
        server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
        for ((i = $1; i < $1 + $2; i++)); do
                [ "$i" -eq "$1" ] || echo next
                printf 'url = "%s/apis/mbox.dev/v1alpha1/namespaces/%s/environmenttemplates"\n' "$server" "$ns"
                printf 'request = "POST"\nheader = "Content-Type: application/json"\n'
                printf 'data = "{\\"apiVersion\\":\\"mbox.dev/v1alpha1\\",\\"kind\\":\\"EnvironmentTemplate\\",'
                printf '\\"metadata\\":{\\"name\\":\\"c%d\\"},\\"spec\\":{\\"image\\":\\"busybox:1.36\\"}}"\n' "$i"
                printf 'cacert = "%s"\ncert = "%s"\nkey = "%s"\nwrite-out = "\\n"\nsilent\n' \
                        "$PKI/ca.crt" "$PKI/admin.crt" "$PKI/admin.key"
        done | curl -K - | jq -r '"\(.metadata.name) ADDED \(.metadata.resourceVersion)"' >>"$want"
}
# stored: the history of $ns in the database, as "NAME EVENT RESOURCEVERSION", each object's states in the
# order stored
stored() {
        psql_ -tAc "SELECT name || ' ' || event || ' ' || resource_version FROM object_history
                WHERE namespace = '$ns' ORDER BY name, id"
}
stored_at_least() { [ "$(stored | grep -c .)" -ge "$1" ]; }
# relists: how many lists of environmenttemplates the replicas have logged
relists() { cat "$@" | grep -c 'history: listed" resource=environmenttemplates' || true; }

test_two_replicas_store_each_change_once() {
        install_operator_rbac
        kubectl -n mbox-system delete lease mbox-apiserver --ignore-not-found >/dev/null
        printf 'object lease/mbox-apiserver -n mbox-system\n' >>"$_cleanup_file"
        local a_pid a_log b_pid b_log b_port want n before i body a_lists b_lists done=0
        ns=$(new_namespace mirror)
        want=$(mktemp)
        printf 'file %s\n' "$want" >>"$_cleanup_file"

        # replica-a (behind the APIService) takes the Lease; replica-b sees it held and stands by
        start_apiserver "" "${LEASE[@]}" --leader-election-identity=replica-a
        a_pid=$APIPID a_log=$APILOG
        wait_for "replica-a to lead" 30 leads "$a_log"
        run_apiserver "" "${LEASE[@]}" --leader-election-identity=replica-b
        b_pid=$APIPID b_log=$APILOG b_port=$APIPORT
        wait_for "replica-b to see the Lease held by replica-a" 30 stands_by "$b_log" replica-a
        assert_eq replica-a "$(holder)" "the Lease's holder"
        leads "$a_log" || fail "replica-a no longer leads: $(tail -n 5 "$a_log")"

        # changes while replica-a mirrors
        for i in 0 1 2 3 4 5; do create "t$i"; done
        change t0 one
        change t1 one
        wait_for "the first 8 changes stored" 30 stored_at_least 8
        # the standby serves reads all the while (straight to it, as an admin through the front proxy)
        body=$(curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/front-proxy-client.crt" --key "$PKI/front-proxy-client.key" \
                -H 'X-Remote-User: admin' -H 'X-Remote-Group: system:masters' \
                "https://127.0.0.1:$b_port/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/objecthistories") ||
                fail "replica-b does not serve the history"
        assert_eq 8 "$(jq '.items | length' <<<"$body")" "states replica-b serves"

        # replica-a is killed; while no one mirrors, one change to each of three objects (a change made twice
        # before a relist is one state: the list sees the last), then etcd is compacted past everything: the
        # watch replica-b starts from the stored resume point gets 410 Gone, and it relists
        kill -9 "$a_pid"
        wait "$a_pid" 2>/dev/null || true
        change t2 two
        remove t5 any # found by the relist, which knows no resourceVersion of the deletion
        create t6
        before=$(relists "$b_log")
        compact_etcd
        wait_for "replica-b to lead" 60 leads "$b_log"
        relisted() { [ "$(relists "$b_log")" -gt "$before" ]; }
        wait_for "replica-b's relist" 60 relisted
        grep -q 'resume point expired, relisting" resource=environmenttemplates' "$b_log" ||
                fail "replica-b listed without a 410: $(grep 'history:' "$b_log" | tail -n 5)"
        wait_for "replica-b to hold the Lease" 30 holder_is replica-b
        wait_for "the 3 changes made meanwhile stored" 30 stored_at_least 11

        # replica-a again, standing by. Then etcd is compacted once more and creates go on until every replica
        # that mirrors has relisted. Were the standby writing too, it would store creates made after a
        # relist's list, and the relist would take them for deletions: 1000 templates make each list long.
        start_apiserver "" "${LEASE[@]}" --leader-election-identity=replica-a
        a_pid=$APIPID a_log=$APILOG
        wait_for "replica-a to see the Lease held by replica-b" 30 stands_by "$a_log" replica-b
        burst 0 1000
        n=1000
        a_lists=$(relists "$a_log") b_lists=$(relists "$b_log")
        compact_etcd
        # each replica that leads has listed since the compaction, and one leads
        relisted() {
                leads "$a_log" || leads "$b_log" || return 1
                ! leads "$a_log" || [ "$(relists "$a_log")" -gt "$a_lists" ] || return 1
                ! leads "$b_log" || [ "$(relists "$b_log")" -gt "$b_lists" ]
        }
        for ((i = 0; i < 200 && !done; i++)); do
                relisted && done=1
                burst "$n" 25 # and once more after: through the relist's store and past it
                n=$((n + 25))
        done
        relisted || fail "no relist after the compaction: $(grep -h 'history:' "$a_log" "$b_log" | tail -n 5)"
        log "$n creates; relists since the compaction: replica-a $(($(relists "$a_log") - a_lists)), replica-b $(($(relists "$b_log") - b_lists))"
        grep -q '^null' "$want" && fail "a create was refused: $(grep -c '^null' "$want") of $n"

        # exactly one replica leads, the one the Lease names
        wait_for "the Lease held by replica-a or replica-b" 30 eval '[ -n "$(holder)" ]'
        if holder_is replica-a; then
                leads "$a_log" && ! leads "$b_log" || fail "replica-a holds the Lease; a leads: $(leads "$a_log" && echo yes), b: $(leads "$b_log" && echo yes)"
        else
                assert_eq replica-b "$(holder)" "the Lease's holder"
                leads "$b_log" && ! leads "$a_log" || fail "replica-b holds the Lease; b leads: $(leads "$b_log" && echo yes), a: $(leads "$a_log" && echo yes)"
        fi

        # every change written is in the history once, in the order made, and nothing else is
        wait_for "all $((11 + n)) changes stored" 60 stored_at_least $((11 + n))
        assert_eq "$(LC_ALL=C sort -s -k1,1 "$want")" "$(stored | sed -E 's/^(t5 DELETED) .*/\1 any/' | LC_ALL=C sort -s -k1,1)" \
                "the history against the changes made"
        assert_eq $((11 + n)) "$(kubectl -n "$ns" get objecthistories -o name | wc -l)" "states served through kubectl"
        assert_eq 1 "$(stored | grep -c ' DELETED ')" "DELETED rows"
        ! grep -q 'history: gap' "$a_log" "$b_log" || fail "a gap was logged: $(grep -h 'history: gap' "$a_log" "$b_log" | head -n 3)"
}
