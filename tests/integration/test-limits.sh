# Bounded shared resources: one tenant's clients cannot exhaust what every project shares.

# new_database: an empty database of its own for a test (dropped when the test ends); prints its URL
new_database() {
        local db
        db="mbox_t_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db"
        printf 'db %s\n' "$db" >>"$_cleanup_file"
        printf 'postgresql://postgres@127.0.0.1:%s/%s' "$PG_PORT" "$db"
}

# lock_task_outputs DB: takes the table the task output lists read for 20 s (in the background), so that
# those lists wait, each holding its database connection; returns once the lock is held
lock_task_outputs() {
        local db=$1
        bg_start psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c \
                "BEGIN; LOCK TABLE task_outputs IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT;"
        locked() { [ "$(psql -Atq -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'task_outputs' AND l.mode = 'AccessExclusiveLock' AND l.granted")" -ge 1 ]; }
        wait_for "the table locked" 30 locked
}

test_log_followers_share_a_few_database_connections() {
        local url db ns uid i peak=0 n out first pids=()
        url=$(new_database)
        db=${url##*/}
        # one user's 150 followers: more than the default of 64 long-running requests per user
        start_apiserver "$url" --database-max-connections=6 --max-long-running-per-user=200 --max-long-running=200
        ns=$(new_namespace follow)
        # a task output still being written: its record and a first chunk, no end yet
        uid=$(cat /proc/sys/kernel/random/uuid)
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL || fail "cannot store the output"
INSERT INTO task_outputs (task_uid, namespace, task_name, created_rv) VALUES ('$uid', '$ns', 'slow', nextval('task_output_versions'));
INSERT INTO task_output_chunks (task_uid, stream, seq, data) VALUES ('$uid', 1, 0, convert_to('first line' || chr(10), 'UTF8'));
SQL
        # 150 clients follow its log through kube-apiserver, as `kubectl get --raw .../log?follow=true` does
        first=$(mktemp)
        printf 'file %s\n' "$first" >>"$_cleanup_file"
        for i in $(seq 1 150); do
                curl -sN --max-time 120 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                        "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs/slow/log?follow=true" \
                        >"$([ "$i" = 1 ] && echo "$first" || echo /dev/null)" 2>/dev/null &
                pids+=("$!")
                printf 'pid %s\n' "$!" >>"$_cleanup_file"
        done
        wait_for "the first follower's first line" 60 grep -q "first line" "$first"
        following() { [ "$(ss -Htn state established "( sport = :$APIPORT )" | wc -l)" -ge 150 ]; }
        wait_for "150 followers connected to mbox-apiserver" 60 following
        # the database connections of mbox-apiserver while they wait, and other requests meanwhile
        for i in $(seq 1 20); do
                n=$(psql -Atq -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'")
                [ "$n" -gt "$peak" ] && peak=$n
                sleep 0.25
        done
        out=$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs") ||
                fail "a list failed while 150 clients follow: $out"
        assert_contains "$out" '"TaskOutputList"' "a list while 150 clients follow"
        log "database connections of mbox-apiserver with 150 followers: at most $peak (limit 6)"
        [ "$peak" -le 6 ] || fail "$peak database connections for 150 followers, over the limit of 6"
        # the output ends: every follower gets the rest and ends
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO task_output_chunks (task_uid, stream, seq, data) VALUES ('$uid', 1, 1, convert_to('last line' || chr(10), 'UTF8'));
UPDATE task_outputs SET finished_at = now() WHERE task_uid = '$uid';
SQL
        wait_for "the first follower's last line" 60 grep -q "last line" "$first"
        # every follower's curl ends by itself (kube-apiserver keeps its connections to mbox-apiserver)
        ended() { local p; for p in "${pids[@]}"; do ! kill -0 "$p" 2>/dev/null || return 1; done; }
        wait_for "every follower done" 60 ended
}

test_a_request_that_finds_every_connection_busy_gets_503_with_retry_after() {
        local url db ns out
        url=$(new_database)
        db=${url##*/}
        start_apiserver "$url" --database-max-connections=2
        ns=$(new_namespace busy)
        # lock the table the lists read: each list then waits holding its connection, and two of them
        # hold every connection the apiserver may have
        lock_task_outputs "$db"
        for i in 1 2; do
                bg_start curl -s --max-time 30 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                        -o /dev/null "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs"
        done
        waiting() { [ "$(psql -Atq -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND wait_event_type = 'Lock'")" -ge 2 ]; }
        wait_for "two lists waiting on the lock, each holding a connection" 30 waiting
        new_hdr
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs")
        assert_contains "$(head -n 1 "$HDR")" " 503" "the third request's status"
        # HTTP/2 from kube-apiserver: header names in lower case
        assert_contains "$(tr -d '\r' <"$HDR" | tr '[:upper:]' '[:lower:]')" "retry-after: 1" "when to come back"
        assert_contains "$out" "all 2 database connections are in use" "why"
}

# new_hdr: a file for api_raw's response headers, in HDR
new_hdr() {
        HDR=$(mktemp)
        printf 'file %s\n' "$HDR" >>"$_cleanup_file"
}

# api_raw PATH [curl args...]: a request to kube-apiserver as the admin, the body on stdout, the status
# line and headers in $HDR (new_hdr first)
api_raw() {
        local path=$1
        shift
        curl -s --max-time 60 -D "$HDR" --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                "$@" "https://127.0.0.1:$APISERVER_PORT$path"
}

# direct PATH USER [GROUP]: a request straight to mbox-apiserver as kube-apiserver's front proxy sends it
direct() {
        curl -s --max-time 30 -k --cert "$PKI/front-proxy-client.crt" --key "$PKI/front-proxy-client.key" \
                -H "X-Remote-User: $2" ${3:+-H "X-Remote-Group: $3"} -w '\n%{http_code}\n' \
                "https://127.0.0.1:$APIPORT$1"
}

test_idle_tls_connections_do_not_take_the_slots_of_requests() {
        local out hold i last
        start_apiserver
        hold=$(mktemp)
        printf 'file %s\n' "$hold" >>"$_cleanup_file"
        # 600 clients connect, finish the TLS handshake and say nothing: more than all the server's slots
        # (480), and more than twice the 256 it keeps for connections before kube-apiserver's first request
        bg_start python3 "$root/tests/integration/hold-connections.py" 127.0.0.1 "$APIPORT" 600 >"$hold"
        wait_for "600 idle TLS connections" 120 grep -q '^opened' "$hold"
        log "idle connections: $(grep '^opened' "$hold")"
        # meanwhile, what users ask through kube-apiserver is still served
        for i in 1 2 3; do
                out=$(kubectl get --raw /apis/runtime.mbox.dev/v1alpha1) ||
                        fail "discovery failed while 600 idle connections are open: $out"
                assert_contains "$out" '"APIResourceList"' "discovery while idle connections are open"
                out=$(kubectl get --raw /apis/runtime.mbox.dev/v1alpha1/objecthistories?limit=1) ||
                        fail "a list failed while 600 idle connections are open: $out"
                assert_contains "$out" '"ObjectHistoryList"' "a list while idle connections are open"
        done
        # the idle ones were closed: the oldest for newer ones, the rest once silent too long (10 s)
        last() { tail -n 1 "$hold"; }
        all_closed() { [[ "$(last)" == "open 0 closed 600" ]]; }
        wait_for "every idle connection closed by the server" 40 all_closed
        out=$(direct /metrics admin system:masters)
        assert_contains "$out" 'mbox_apiserver_connections{state="untrusted"} 0' "no untrusted connection left"
        n=$(printf '%s\n' "$out" | sed -n 's/^mbox_apiserver_connections_evicted_total \([0-9]*\).*/\1/p')
        log "untrusted connections closed for newer ones: $n"
        [ "${n:-0}" -ge 344 ] || fail "expected at least 344 of 600 idle connections closed for newer ones, got '$n'"
}

test_one_user_beyond_their_share_gets_429_others_are_served() {
        local ns out i watches=()
        start_apiserver "" --max-long-running-per-user=2 --max-requests-inflight-per-user=4
        ns=$(new_namespace share)
        new_hdr
        # alice holds two watches, her share of long-running requests
        for i in 1 2; do
                bg_start curl -sN --max-time 120 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                        -H "Impersonate-User: alice" -H "Impersonate-Group: system:masters" -o /dev/null \
                        "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs?watch=true"
                watches+=("$!")
        done
        two_watches() { direct /metrics admin system:masters | grep -q '^mbox_apiserver_requests_in_flight{kind="long"} 2'; }
        wait_for "alice's two watches in flight" 30 two_watches
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs?watch=true&timeoutSeconds=5" \
                -H "Impersonate-User: alice" -H "Impersonate-Group: system:masters")
        assert_contains "$(head -n 1 "$HDR")" " 429" "alice's third watch"
        assert_contains "$(tr -d '\r' <"$HDR" | tr '[:upper:]' '[:lower:]')" "retry-after: 1" "when to come back"
        assert_contains "$out" 'too many long-running requests (watches, log follows) in flight for user \"alice\": 2' "why"
        # her short requests, and bob's watch, are still served
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs" \
                -H "Impersonate-User: alice" -H "Impersonate-Group: system:masters")
        assert_contains "$(head -n 1 "$HDR")" " 200" "alice's list"
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs?watch=true&timeoutSeconds=1" \
                -H "Impersonate-User: bob" -H "Impersonate-Group: system:masters")
        assert_contains "$(head -n 1 "$HDR")" " 200" "bob's watch"
        out=$(direct /metrics admin system:masters)
        assert_contains "$out" 'mbox_apiserver_requests_rejected_total{kind="long",limit="user"} 1' "the refusal counted"
        assert_contains "$out" 'mbox_apiserver_requests_total{verb="watch",resource="taskoutputs",code="429"} 1' "by code"
        # her watches end (the client goes away): her share is hers again
        kill "${watches[@]}"
        none_long() { direct /metrics admin system:masters | grep -q '^mbox_apiserver_requests_in_flight{kind="long"} 0'; }
        wait_for "alice's watches released" 30 none_long
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs?watch=true&timeoutSeconds=1" \
                -H "Impersonate-User: alice" -H "Impersonate-Group: system:masters")
        assert_contains "$(head -n 1 "$HDR")" " 200" "alice's watch once the others ended"
}

test_metrics_are_served_to_those_allowed_to_read_them() {
        local out
        start_apiserver
        kubectl get --raw /apis/runtime.mbox.dev/v1alpha1/objecthistories?limit=1 >/dev/null || fail "a list failed"
        out=$(direct /metrics admin system:masters)
        assert_contains "$out" $'\n200' "the scrape's status"
        assert_contains "$out" 'mbox_apiserver_requests_total{verb="list",resource="objecthistories",code="200"}' "requests"
        assert_contains "$out" 'mbox_apiserver_request_duration_seconds_bucket{verb="list",resource="objecthistories",le="+Inf"}' "latency"
        assert_contains "$out" 'mbox_apiserver_database_connections_max 32' "the pool's size"
        assert_contains "$out" 'mbox_apiserver_database_connections{state="idle"}' "the pool's use"
        assert_contains "$out" 'mbox_apiserver_mirror_leading 1' "the mirror writes (no election here)"
        assert_contains "$out" $'\nmbox_apiserver_mirror_lag_seconds ' "the mirror's lag"
        assert_contains "$out" 'process_resident_memory_bytes' "the process"
        # a user without the right to get /metrics is refused, and why
        out=$(direct /metrics mallory)
        assert_contains "$out" $'\n403' "mallory's scrape"
        assert_contains "$out" 'cannot get path \"/metrics\"' "why mallory is refused"
}

test_a_list_of_100k_history_rows_comes_in_pages_cut_by_size() {
        local url db page=0 items=0 bytes max=0 cont="" out first last prev=0
        url=$(new_database)
        db=${url##*/}
        start_apiserver "$url" --max-list-bytes=256Ki
        new_hdr
        # 100,000 states of synthetic objects, each about 1 KiB as JSON, written straight to the database
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || fail "cannot store the rows"
INSERT INTO object_history (api_version, kind, namespace, name, uid, resource_version, event, phase, changed_at, object)
SELECT 'bench.mbox.dev/v1', 'Thing', 'pages', 'thing-' || (i % 100), gen_random_uuid(), i::text, 'MODIFIED', '',
       now(), jsonb_build_object('metadata', jsonb_build_object('name', 'thing-' || (i % 100)), 'pad', repeat('x', 900))
FROM generate_series(1, 100000) i;
SQL
        while :; do
                # only these rows: the apiserver's own mirror may store states of objects that earlier tests
                # left being deleted, and they would count too
                out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/objecthistories?limit=5000&fieldSelector=object.apiVersion%3Dbench.mbox.dev%2Fv1${cont:+&continue=$cont}")
                assert_contains "$(head -n 1 "$HDR")" " 200" "page $page"
                bytes=${#out}
                [ "$bytes" -gt "$max" ] && max=$bytes
                n=$(printf '%s' "$out" | jq '.items | length')
                first=$(printf '%s' "$out" | jq -r '.items[0].metadata.resourceVersion // 0')
                last=$(printf '%s' "$out" | jq -r '.items[-1].metadata.resourceVersion // 0')
                [ "$n" -gt 0 ] || fail "page $page is empty"
                items=$((items + n))
                page=$((page + 1))
                cont=$(printf '%s' "$out" | jq -r '.metadata.continue // empty')
                [ -n "$cont" ] || break
        done
        log "100000 rows in $page pages, the largest $max bytes (limit 256 KiB and one item)"
        assert_eq 100000 "$items" "items over all pages"
        # one item is about 1.1 KiB: a page ends within one item of the limit
        [ "$max" -le $((256 * 1024 + 4096)) ] || fail "a page of $max bytes, over the limit of 256 KiB"
        [ "$page" -ge 300 ] || fail "only $page pages: they were not cut by size"
}

test_a_watch_sends_its_first_events_a_page_at_a_time() {
        local url db before after n events watcher
        url=$(new_database)
        db=${url##*/}
        start_apiserver "$url" --max-list-bytes=256Ki
        # 20,000 task outputs of 8 KiB each as JSON: 160 MiB of first events for a watch from "now"
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || fail "cannot store the rows"
INSERT INTO task_outputs (task_uid, namespace, task_name, created_rv, error)
SELECT gen_random_uuid(), 'firstbatch', 'task-' || i, nextval('task_output_versions'), repeat('e', 8000)
FROM generate_series(1, 20000) i;
SQL
        before=$(awk '/^VmHWM/ {print $2}' "/proc/$APIPID/status")
        events=$(mktemp)
        printf 'file %s\n' "$events" >>"$_cleanup_file"
        bg_start curl -sN --max-time 200 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" -o "$events" \
                "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/firstbatch/taskoutputs?watch=true&timeoutSeconds=180"
        watcher=$!
        all_there() { [ "$(wc -l <"$events")" -ge 20000 ]; }
        wait_for "the first 20000 events" 150 all_there
        kill "$watcher" 2>/dev/null || true
        n=$(grep -c '"type":"ADDED"' "$events")
        after=$(awk '/^VmHWM/ {print $2}' "/proc/$APIPID/status")
        log "20000 ADDED events of 8 KiB; peak memory of mbox-apiserver from $before KiB to $after KiB"
        assert_eq 20000 "$n" "ADDED events for the task outputs there were"
        [ $((after - before)) -lt 65536 ] || fail "the peak memory grew by $(((after - before) / 1024)) MiB for one watch's first events"
}

test_a_statement_past_the_request_timeout_answers_504() {
        local url db ns out
        url=$(new_database)
        db=${url##*/}
        start_apiserver "$url" --request-timeout=1s
        ns=$(new_namespace slow)
        new_hdr
        # the table a list reads is locked: the list's statement waits, past the request timeout
        lock_task_outputs "$db"
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs")
        assert_contains "$(head -n 1 "$HDR")" " 504" "a list past the request timeout"
        assert_contains "$out" '"reason":"Timeout"' "its reason"
        assert_contains "$out" "statement timeout" "why"
        # the connection it used serves the next request once the table is free
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c \
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE 'BEGIN; LOCK%'" >/dev/null
        out=$(api_raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs")
        assert_contains "$(head -n 1 "$HDR")" " 200" "the next list"
}
