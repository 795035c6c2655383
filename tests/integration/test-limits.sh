# Bounded shared resources: one tenant's clients cannot exhaust what every project shares.

# new_database: an empty database of its own for a test (dropped when the test ends); prints its URL
new_database() {
        local db
        db="mbox_t_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db"
        printf 'db %s\n' "$db" >>"$_cleanup_file"
        printf 'postgresql://postgres@127.0.0.1:%s/%s' "$PG_PORT" "$db"
}

test_log_followers_share_a_few_database_connections() {
        local url db ns uid i peak=0 n out first pids=()
        url=$(new_database)
        db=${url##*/}
        start_apiserver "$url" --database-max-connections=6
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
        local url db ns out hdr
        url=$(new_database)
        db=${url##*/}
        start_apiserver "$url" --database-max-connections=2
        ns=$(new_namespace busy)
        # lock the table the lists read: each list then waits holding its connection, and two of them
        # hold every connection the apiserver may have
        bg_start psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c \
                "BEGIN; LOCK TABLE task_outputs IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT;"
        locked() { [ "$(psql -Atq -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'task_outputs' AND l.mode = 'AccessExclusiveLock' AND l.granted")" -ge 1 ]; }
        wait_for "the table locked" 30 locked
        for i in 1 2; do
                bg_start curl -s --max-time 30 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                        -o /dev/null "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs"
        done
        waiting() { [ "$(psql -Atq -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND wait_event_type = 'Lock'")" -ge 2 ]; }
        wait_for "two lists waiting on the lock, each holding a connection" 30 waiting
        hdr=$(mktemp)
        printf 'file %s\n' "$hdr" >>"$_cleanup_file"
        out=$(curl -s --max-time 30 -D "$hdr" --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
                "https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$ns/taskoutputs")
        assert_contains "$(head -n 1 "$hdr")" " 503" "the third request's status"
        # HTTP/2 from kube-apiserver: header names in lower case
        assert_contains "$(tr -d '\r' <"$hdr" | tr '[:upper:]' '[:lower:]')" "retry-after: 1" "when to come back"
        assert_contains "$out" "all 2 database connections are in use" "why"
}
