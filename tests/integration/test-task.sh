# ExecutionTasks end to end, as a user runs them: kubectl apply of a task, then what kubectl get shows in
# its status, what the sandbox's pod holds, and the full output in Postgres. KWOK runs each exec for real
# in the pod's directory on this machine, so processes and files can be checked here.

# setup_tasks [PROJECT-SPEC-YAML [OPERATOR-FLAG...]]: operator (with the database), a project, a template
# and a Running sandbox "box"; sets NS, POD and DIR (the pod's working directory).
setup_tasks() {
        local p spec=${1:-}
        shift $(($# > 0 ? 1 : 0))
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox" "$@"
        p=$(new_project "$spec")
        box_in "mbox-$p"
}

# box_in NS: a template and a Running sandbox "box" in the project namespace NS; sets NS, POD and DIR.
box_in() {
        NS=$1
        template "$NS" box
        sandbox "$NS" box
        wait_for "sandbox box Running" 60 phase_is "$NS" box Running
        POD=$(kubectl -n "$NS" get sandboxes.mbox.dev box -o jsonpath='{.status.podName}')
        # KWOK gives a new pod its own directory a moment after it starts (hack/kwok-pods.sh); until then
        # commands run in a shared default one
        own_dir() { [ "$(kubectl -n "$NS" exec "$POD" -- pwd)" = "$MBOX_STATE_DIR/pods/$NS/$POD" ]; }
        wait_for "pod $POD's own directory" 30 own_dir
        DIR=$MBOX_STATE_DIR/pods/$NS/$POD
}

# task NAME COMMAND-JSON [EXTRA-SPEC-YAML]
task() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: $1, namespace: $NS}
spec:
  sandboxRef: {name: ${SANDBOX:-box}}
  command: $2
${3:-}
YAML
}

tget() { kubectl -n "$NS" get executiontasks.mbox.dev "$1" -o jsonpath="{$2}"; }
tphase_is() { [ "$(tget "$1" .status.phase)" = "$2" ]; }
finished() { case $(tget "$1" .status.phase) in Succeeded | Failed | Canceled | TimedOut) return 0 ;; esac; return 1; }
# processes_of UID: host processes that carry the task's marker (KWOK runs commands on this machine)
processes_of() { grep -l "MBOX_TASK_UID=$1" /proc/[0-9]*/environ 2>/dev/null | wc -l; }
no_processes() { [ "$(processes_of "$1")" -eq 0 ]; }
# stored_sha UID STREAM: sha256 of a task's stored output stream (1 stdout, 2 stderr)
stored_sha() {
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d mbox -Atc \
                "select encode(sha256(coalesce(string_agg(data, ''::bytea order by seq), ''::bytea)), 'hex') from task_output_chunks where task_uid = '$1' and stream = $2"
}

test_task_runs_and_reports() {
        setup_tasks
        task list '["sh", "-lc", "pwd && ls -la"]'
        wait_for "list finished" 30 finished list
        assert_eq Succeeded "$(tget list .status.phase)" "phase of pwd && ls -la"
        assert_eq 0 "$(tget list .status.exitCode)" "exit code"
        assert_contains "$(tget list .status.stdoutTail)" "$DIR" "pwd in the sandbox's working directory"
        assert_contains "$(tget list .status.stdoutTail)" ".kwok-pod.log" "ls -la of the pod directory"
        assert_eq "$POD" "$(tget list .status.podName)" "podName"
        [ -n "$(tget list .status.duration)" ] || fail "no duration"
        assert_contains "$(kubectl -n "$NS" get mtask list)" "Succeeded" "kubectl get mtask"
        assert_eq True "$(tget list '.status.conditions[?(@.type=="OutputStored")].status')" "output stored"
        local uid
        uid=$(tget list .metadata.uid)
        assert_eq "$(tget list .status.stdoutTail | sha256sum | cut -d' ' -f1)" "$(stored_sha "$uid" 1)" "stored output"

        task three '["sh", "-c", "echo before; exit 3"]'
        task streams '["sh", "-c", "echo to-out; echo to-err >&2"]'
        task input '["cat"]' '  stdin: "hello from stdin\n"'
        task envdir '["sh", "-c", "echo $GREETING; pwd"]' '  env: [{name: GREETING, value: hi}]
  workingDir: /tmp'
        for t in three streams input envdir; do wait_for "$t finished" 30 finished $t; done
        assert_eq Failed "$(tget three .status.phase)" "phase of exit 3"
        assert_eq 3 "$(tget three .status.exitCode)" "exit code of exit 3"
        assert_eq NonZeroExitCode "$(tget three .status.reason)" "reason of exit 3"
        assert_eq "to-out" "$(tget streams .status.stdoutTail)" "stdout"
        assert_eq "to-err" "$(tget streams .status.stderrTail)" "stderr kept apart"
        assert_eq 7 "$(tget streams .status.stderrBytes)" "stderr bytes"
        assert_eq "hello from stdin" "$(tget input .status.stdoutTail)" "stdin reaches the command"
        assert_eq "hi
/tmp" "$(tget envdir .status.stdoutTail)" "env and workingDir"
        wait_for "the event of a failed task" 30 event_is "$NS" three reason NonZeroExitCode
}

test_task_artifacts_and_ttl() {
        setup_tasks
        task report '["sh", "-c", "mkdir -p reports && printf \"{}\\n\" > reports/r.json"]' "  artifacts:
  - {name: report, path: $DIR/reports/r.json}
  - {name: extra, path: $DIR/reports/none.txt, optional: true}"
        task lost '["true"]' "  artifacts: [{name: gone, path: $DIR/no/such/file}]"
        task brief '["true"]' '  ttlSecondsAfterFinished: 2'
        wait_for "report finished" 30 finished report
        assert_eq Succeeded "$(tget report .status.phase)" "phase with its artifact present"
        assert_eq 3 "$(tget report '.status.artifacts[?(@.name=="report")].sizeBytes')" "artifact size"
        assert_eq "sha256:$(printf '{}\n' | sha256sum | cut -d' ' -f1)" \
                "$(tget report '.status.artifacts[?(@.name=="report")].digest')" "artifact digest"
        assert_eq application/json "$(tget report '.status.artifacts[?(@.name=="report")].contentType')" "content type"
        assert_eq "workspace://$DIR/reports/r.json" "$(tget report '.status.artifacts[?(@.name=="report")].uri')" "uri"
        # the artifact record, with its provenance, kept in the database beyond the task
        assert_eq "box|$POD|3|report-report" "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d mbox -Atc \
                "select sandbox, pod, size_bytes, name from artifacts where task_uid = '$(tget report .metadata.uid)'")" \
                "artifact record"
        wait_for "lost finished" 30 finished lost
        assert_eq Failed "$(tget lost .status.phase)" "phase with a required artifact missing"
        assert_eq ArtifactMissing "$(tget lost .status.reason)" "reason"
        assert_contains "$(tget lost .status.message)" "no/such/file" "message names the path"
        wait_timed "brief deleted after its TTL of 2s" 60 gone "$NS" executiontasks.mbox.dev brief
}

test_task_full_output_is_kept() {
        setup_tasks
        task big '["sh", "-c", "head -c 20971520 /dev/urandom | tee big.out"]'
        wait_for "big finished" 120 finished big
        assert_eq Succeeded "$(tget big .status.phase)" "phase"
        assert_eq 20971520 "$(tget big .status.stdoutBytes)" "stdoutBytes"
        local tail_len want uid
        tail_len=$(tget big .status.stdoutTail | wc -c)
        [ "$tail_len" -le 4200 ] || fail "stdoutTail is $tail_len bytes, over its bound"
        uid=$(tget big .metadata.uid)
        want=$(sha256sum "$DIR/big.out" | cut -d' ' -f1)
        assert_eq "$want" "$(stored_sha "$uid" 1)" "stored output byte-identical to what the command wrote"
        assert_eq "t|20971520" "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d mbox -Atc \
                "select complete, stdout_bytes from task_outputs where task_uid = '$uid'")" "task_outputs row"
        rm -f "$DIR/big.out"
}

TIMEOUT_test_task_output_past_its_limit_is_counted_and_dropped=1200

# The issue's proof: a task writing 2 GiB stores at most its limit (here the project's 1 MiB, below the
# operator's 64 MiB), and says so in its status and in the TaskOutput record; the operator's memory stays
# far below what went through it.
test_task_output_past_its_limit_is_counted_and_dropped() {
        setup_tasks "  quota: {maxTaskOutput: 1Mi}"
        start_apiserver
        local size=2147483648 cap=1048576 line=abcdefghijklmnopqrstuvwxyz0123456789 t0 secs uid rec
        local out=/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/taskoutputs/flood
        t0=$(date +%s%N)
        task flood "[\"sh\", \"-c\", \"yes $line | head -c $size; echo finished >&2\"]" '  timeoutSeconds: 1200'
        wait_for "flood finished" 1100 finished flood
        secs=$((($(date +%s%N) - t0) / 1000000000))
        log "2 GiB of output went through in ${secs}s ($((size / 1048576 / (secs > 0 ? secs : 1))) MiB/s)"
        assert_eq Succeeded "$(tget flood .status.phase)" "phase ($(tget flood .status.message))"
        assert_eq $size "$(tget flood .status.stdoutBytes)" "stdoutBytes: what the command wrote"
        assert_eq true "$(tget flood .status.outputTruncated)" "status.outputTruncated"
        assert_eq $((size + 9 - cap)) "$(tget flood .status.outputDroppedBytes)" "status.outputDroppedBytes"
        assert_eq Truncated "$(tget flood '.status.conditions[?(@.type=="OutputStored")].reason')" "OutputStored reason"
        assert_contains "$(tget flood '.status.conditions[?(@.type=="OutputStored")].message')" \
                "spec.quota.maxTaskOutput" "the condition names the limit that applied"
        # the tail still shows how the output ended
        assert_contains "$(tget flood .status.stderrTail)" "finished" "stderrTail past the limit"
        # the record, through the aggregated API
        rec=$(kubectl get --raw "$out")
        assert_eq "true $cap $((size + 9 - cap)) false" \
                "$(jq -r '"\(.status.truncated) \(.status.limitBytes) \(.status.droppedBytes) \(.status.complete)"' <<<"$rec")" \
                "TaskOutput truncated, limitBytes, droppedBytes, complete"
        assert_contains "$(jq -r .status.error <<<"$rec")" "limit of $cap bytes" "TaskOutput error"
        # what is stored is the beginning of the output, exactly the limit
        assert_eq "$(yes $line | head -c $cap | sha256sum)" "$(kubectl get --raw "$out/log" | sha256sum)" "the stored stdout"
        assert_eq "" "$(kubectl get --raw "$out/log?stream=stderr")" "the stored stderr (it came after the limit)"
        uid=$(tget flood .metadata.uid)
        [ "$(psql_ -Atc "select coalesce(sum(length(data)), 0) from task_output_chunks where task_uid = '$uid'")" -le $cap ] ||
                fail "more than $cap bytes stored"
        assert_eq $((size + 9 - cap)) "$(metric "$PORT" mbox_operator_task_output_dropped_bytes_total)" "dropped bytes metric"
        local pid hwm=
        for pid in $(awk '$1 == "pid" {print $2}' "$_cleanup_file"); do
                grep -q mbox-operator "/proc/$pid/cmdline" 2>/dev/null && hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
        done
        [ -n "$hwm" ] || fail "mbox-operator's process not found"
        log "mbox-operator's peak RSS: $((hwm / 1024)) MiB"
        [ "$hwm" -lt $((256 * 1024)) ] || fail "mbox-operator's peak RSS is $((hwm / 1024)) MiB: output was held in memory"
}

# A finished task's records (its output, its artifacts) outlive the task, deleted by its TTL, for as long as
# the retention of its project says: its own taskOutputRetention, else the operator's flag.
test_task_records_expire_after_their_retention() {
        setup_tasks "" --task-output-retention=1h
        start_apiserver
        local a b a_uid
        b=$NS
        # b keeps its records for the operator's hour; a sets 3 s of its own
        task keep '["sh", "-c", "echo kept > kept.txt; echo kept"]' "  ttlSecondsAfterFinished: 0
  artifacts: [{name: out, path: $DIR/kept.txt}]"
        wait_for "b's task deleted by its TTL" 60 gone "$b" executiontasks.mbox.dev keep
        a=mbox-$(new_project "  policy: {lifecycle: {taskOutputRetention: 3s}}")
        box_in "$a"
        task brief '["sh", "-c", "echo brief > brief.txt; echo brief"]' "  ttlSecondsAfterFinished: 0
  artifacts: [{name: out, path: $DIR/brief.txt}]"
        has_output() { kubectl -n "$a" get taskoutput brief >/dev/null 2>&1; }
        wait_for "a's output stored" 60 has_output
        a_uid=$(kubectl -n "$a" get taskoutput brief -o jsonpath='{.status.taskUID}')
        output_gone() { ! has_output; }
        artifacts_gone() { [ -z "$(kubectl -n "$a" get artifacts -o name)" ]; }
        wait_timed "a's output pruned after its 3s" 120 output_gone
        wait_for "a's artifact pruned" 60 artifacts_gone
        gone "$a" executiontasks.mbox.dev brief || fail "a's task was not deleted by its TTL"
        assert_contains "$(kubectl -n "$a" get taskoutput brief 2>&1)" "NotFound" "a's output record"
        assert_eq 0 "$(psql_ -Atc "select count(*) from task_output_chunks where task_uid = '$a_uid'")" "a's stored chunks"
        # b's finished before a's: the passes that pruned a's looked at b's too, and kept them
        assert_eq kept "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$b/taskoutputs/keep/log")" \
                "b's output after its task was deleted"
        assert_eq keep-out "$(kubectl -n "$b" get artifacts -o jsonpath='{.items[*].metadata.name}')" "b's artifact"
        metric_above "$PORT" mbox_operator_task_records_pruned_total 'record="output"' 0 || fail "no pruned output counted"
        metric_above "$PORT" mbox_operator_task_records_pruned_total 'record="artifact"' 0 || fail "no pruned artifact counted"
        grep -q 'task records: pruned past their retention' "$OPLOG" || fail "the pruning is not logged"
}

test_task_timeout_cancel_delete_kill_the_process() {
        setup_tasks
        task slow '["sleep", "600"]' '  timeoutSeconds: 2'
        task stopme '["sh", "-c", "sleep 600; echo never"]'
        task dropme '["sh", "-c", "sleep 600"]'
        wait_for "stopme Running" 30 tphase_is stopme Running
        wait_for "dropme Running" 30 tphase_is dropme Running
        local slow_uid stop_uid drop_uid
        slow_uid=$(tget slow .metadata.uid) stop_uid=$(tget stopme .metadata.uid) drop_uid=$(tget dropme .metadata.uid)
        has_processes() { [ "$(processes_of "$1")" -gt 0 ]; }
        wait_for "processes of stopme on the host" 30 has_processes "$stop_uid"
        # generous limits: the point is that each ends and takes its processes along, on a loaded machine too
        wait_timed "slow TimedOut (timeoutSeconds 2)" 60 tphase_is slow TimedOut
        assert_eq TimedOut "$(tget slow .status.reason)" "reason of a timed-out task"
        assert_contains "$(tget slow .status.message)" "killed" "message of a timed-out task"
        wait_timed "slow's processes gone" 30 no_processes "$slow_uid"

        kubectl -n "$NS" patch mtask stopme --type=merge -p '{"spec":{"cancel":true}}' >/dev/null
        wait_timed "stopme Canceled" 60 tphase_is stopme Canceled
        wait_timed "stopme's processes gone" 30 no_processes "$stop_uid"
        refused "cancel set back to false" "cancel cannot be set back to false" \
                kubectl -n "$NS" patch mtask stopme --type=merge -p '{"spec":{"cancel":false}}'
        assert_contains "$REFUSAL" "spec.cancel" "cancel is one-way: the field"

        kubectl -n "$NS" delete mtask dropme >/dev/null
        wait_timed "dropme's processes gone after its deletion" 60 no_processes "$drop_uid"
}

test_task_concurrency_limit() {
        setup_tasks "  quota: {maxRunningTasksPerSandbox: 8}"
        local i
        # each task counts the tasks running beside it (files running.*) and records its name once
        for i in $(seq 1 200); do
                printf -- '---\napiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: c%d, namespace: %s}\nspec:\n  sandboxRef: {name: box}\n  command: ["sh", "-c", "touch running.$$; ls running.* | wc -l >> seen.log; sleep 0.3; echo c%d >> done.log; rm running.$$"]\n' "$i" "$NS" "$i"
        done | kubectl apply -f - >/dev/null
        local max_running=0 n
        all_done() { [ "$(kubectl -n "$NS" get mtask -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Succeeded$')" -eq 200 ]; }
        for i in $(seq 1 600); do
                n=$(kubectl -n "$NS" get mtask -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$' || true)
                [ "$n" -gt "$max_running" ] && max_running=$n
                all_done && break
                sleep 0.3
        done
        all_done || fail "not every task Succeeded: $(kubectl -n "$NS" get mtask --no-headers | awk '{print $3}' | sort | uniq -c | tr '\n' ' ')"
        log "at most $max_running tasks Running at once in status; at most $(sort -n "$DIR/seen.log" | tail -n 1) seen by the commands"
        [ "$max_running" -le 8 ] || fail "$max_running tasks Running at once (limit 8)"
        [ "$(sort -n "$DIR/seen.log" | tail -n 1)" -le 8 ] || fail "a command saw more than 8 running"
        assert_eq 200 "$(wc -l <"$DIR/done.log")" "commands that ran"
        assert_eq 200 "$(sort -u "$DIR/done.log" | wc -l)" "distinct commands that ran (none twice)"
        rm -f "$DIR/seen.log" "$DIR/done.log"
}

test_task_bad_references() {
        setup_tasks
        local q
        q=$(new_project)
        template "mbox-$q" box
        sandbox "mbox-$q" theirs
        SANDBOX=missing task nosuch '["true"]'
        SANDBOX=theirs task other '["true"]'
        sandbox "$NS" stopped "  state: Stopped"
        wait_for "sandbox stopped is Stopped" 60 phase_is "$NS" stopped Stopped
        SANDBOX=stopped task onstopped '["true"]'
        wait_for "onstopped finished" 20 finished onstopped
        assert_eq Failed "$(tget onstopped .status.phase)" "task on a stopped sandbox"
        assert_eq SandboxStopped "$(tget onstopped .status.reason)" "reason"
        assert_contains "$(tget onstopped .status.message)" "start it" "message says what to do"
        wait_for "nosuch finished" 30 finished nosuch
        assert_eq SandboxNotFound "$(tget nosuch .status.reason)" "task on a missing sandbox"
        wait_for "other finished" 30 finished other
        assert_eq SandboxNotFound "$(tget other .status.reason)" "task on another project's sandbox"
        assert_contains "$(tget other .status.message)" "own namespace" "message"
        # invalid tasks never get in
        refused "an empty command" "spec.command" task empty '[]'
        assert_contains "$REFUSAL" "is invalid" "an empty command is refused as Invalid"
        assert_contains "$REFUSAL" "at least 1 items" "the rule an empty command breaks"
        refused "timeoutSeconds 0" "spec.timeoutSeconds" task neg '["true"]' '  timeoutSeconds: 0'
        assert_contains "$REFUSAL" "is invalid" "timeoutSeconds 0 is refused as Invalid"
        assert_contains "$REFUSAL" "greater than or equal to 1" "the rule timeoutSeconds 0 breaks"
        gone "$NS" executiontasks.mbox.dev empty || fail "a refused task was stored"
}

test_task_operator_kill_ends_tasks_honestly() {
        setup_tasks
        local i pid
        for i in $(seq 1 20); do
                printf -- '---\napiVersion: mbox.dev/v1alpha1\nkind: ExecutionTask\nmetadata: {name: k%d, namespace: %s}\nspec:\n  sandboxRef: {name: box}\n  command: ["sh", "-c", "echo k%d >> started.log; sleep 600"]\n' "$i" "$NS" "$i"
        done | kubectl apply -f - >/dev/null
        running20() { [ "$(kubectl -n "$NS" get mtask -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$')" -eq 20 ]; }
        wait_for "20 tasks Running" 60 running20
        started20() { [ "$(wc -l <"$DIR/started.log" 2>/dev/null)" -eq 20 ]; }
        wait_for "20 commands started" 20 started20
        pid=$(awk '$1 == "pid" {print $2}' "$_cleanup_file" | tail -n 1)
        kill -9 "$pid"
        # the kill landed mid-work: with the operator gone nothing changes their status, so each task must
        # still be Running, its command still alive on the host
        local running_at_kill
        running_at_kill=$(kubectl -n "$NS" get mtask -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$' || true)
        [ "$running_at_kill" -eq 20 ] || fail "the kill did not land while the 20 tasks ran: $running_at_kill Running"
        for i in $(seq 1 20); do
                [ "$(processes_of "$(tget k$i .metadata.uid)")" -gt 0 ] || fail "k$i's command was not running at the kill"
        done
        log "killed the operator with 20 tasks Running"
        printf 'file %s.2\n' "$OPLOG" >>"$_cleanup_file"
        PORT=$(start_operator "$OPLOG.2" --resync=2s --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox")
        all_failed() { [ "$(kubectl -n "$NS" get mtask -o jsonpath='{range .items[*]}{.status.reason}{"\n"}{end}' | grep -c '^OperatorRestarted$')" -eq 20 ]; }
        wait_for "20 tasks Failed with reason OperatorRestarted" 90 all_failed
        for i in $(seq 1 20); do
                assert_eq Failed "$(tget k$i .status.phase)" "phase of k$i"
                wait_for "k$i's processes gone" 30 no_processes "$(tget k$i .metadata.uid)"
        done
        # none run twice: once the new operator has looked at every task again (two resyncs' worth of task
        # reconciles after they all failed), no command of theirs runs and none started again
        wait_reconciles "$PORT" task $((2 * $(kubectl get mtask -A --no-headers 2>/dev/null | wc -l))) 60
        assert_eq 0 "$(metric "$PORT" mbox_operator_tasks_running)" "task commands the new operator runs"
        assert_eq 20 "$(wc -l <"$DIR/started.log")" "commands started (none run twice)"
        rm -f "$DIR/started.log"
}

test_template_validation() {
        setup_operator
        local p ns
        p=$(new_project)
        ns=mbox-$p
        vget() { kubectl -n "$ns" get envtpl "$1" -o jsonpath="{.status.validation.$2}"; }
        validation_is() { [ "$(vget "$1" status)" = "$2" ]; }
        template "$ns" good '  check: {command: ["sh", "-c", "echo the check ran"], timeoutSeconds: 60}'
        template "$ns" bad '  check: {command: ["no-such-binary", "--version"], timeoutSeconds: 60}'
        template "$ns" plain
        wait_for "good Passed" 90 validation_is good Passed
        assert_contains "$(vget good output)" "the check ran" "output of the check"
        assert_eq "$(kubectl -n "$ns" get envtpl good -o jsonpath='{.status.version}')" "$(vget good version)" "validated version"
        [ -n "$(vget good time)" ] || fail "no validation time"
        wait_for "bad Failed" 90 validation_is bad Failed
        assert_contains "$(vget bad output)" "no-such-binary" "output of the failed check"
        assert_contains "$(vget bad message)" "NonZeroExitCode" "message of the failed check"
        assert_contains "$(kubectl -n "$ns" get envtpl)" "Failed" "kubectl get envtpl shows the validation"
        # the validation sandboxes and tasks go once their result is recorded
        wait_for "validation sandboxes removed" 60 count_is "$ns" sandboxes.mbox.dev -eq 0
        assert_eq 0 "$(count "$ns" executiontasks.mbox.dev)" "validation tasks left"
        # without a check, the first ready sandbox of the version passes it
        assert_eq NotTested "$(vget plain status)" "plain before any sandbox"
        TEMPLATE=plain sandbox "$ns" user
        wait_for "plain Passed by its first sandbox" 60 validation_is plain Passed
        assert_contains "$(vget plain message)" "user" "message names the sandbox"
        # a new version is validated again
        local v1
        v1=$(vget good version)
        template "$ns" good '  env: [{name: RUN, value: second}]
  check: {command: ["sh", "-c", "echo second run"], timeoutSeconds: 60}'
        second() { [ "$(vget good status)" = Passed ] && [ "$(vget good version)" != "$v1" ]; }
        wait_for "good Passed again for its new version" 90 second
        # a run of its own: the message names the new version's validation sandbox
        assert_contains "$(vget good message)" "v-good-$(vget good version)" "the new version's validation run"
}

# uniq_sleep: a number of seconds no other process on this machine sleeps for
uniq_sleep() { printf '%d' $((700000 + RANDOM * 3)); }
sleeping() { pgrep -f "sleep $1" >/dev/null; }

test_task_processes_cannot_escape_the_kill() {
        setup_tasks
        local a b c
        a=$(uniq_sleep) b=$((a + 1)) c=$((a + 2))
        # one child sheds the marker, one leaves the session, and the command waits past its timeout
        task escape "[\"sh\", \"-c\", \"env -u MBOX_TASK_UID sleep $a & setsid sleep $b & env -i sleep $c & wait\"]" \
                '  timeoutSeconds: 5'
        wait_for "the escaping processes running" 30 sleeping "$b"
        sleeping "$a" && sleeping "$c" || fail "the task's children did not start: $(pgrep -af "sleep $a|sleep $c")"
        wait_timed "escape TimedOut" 60 tphase_is escape TimedOut
        assert_contains "$(tget escape .status.message)" "killed" "the timed-out task says its processes were killed"
        local left i
        for i in $(seq 1 120); do
                left=$(pgrep -af "sleep ($a|$b|$c)" || true)
                [ -n "$left" ] || break
                sleep 0.25
        done
        [ -z "$left" ] || fail "processes outlived the task: $left"
}

test_task_env_and_stdin_stay_out_of_the_exec_url() {
        setup_tasks
        local secret big out
        secret="s3cret-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        big=$(head -c 24000 /dev/zero | tr '\0' 'x')
        # 72 KiB of env (a URL that long is refused by some servers), quotes, and the stdin
        task envtask '["sh", "-c", "echo \"$SECRET ${#B1} ${#B2} ${#B3} [$B4]\"; cat"]' "  env:
  - {name: SECRET, value: \"$secret\"}
  - {name: B1, value: \"$big\"}
  - {name: B2, value: \"$big\"}
  - {name: B3, value: \"$big\"}
  - {name: B4, value: \"quote ' and \\\" and \$(not expanded)\"}
  stdin: \"stdin-$secret\""
        wait_for "envtask finished" 60 finished envtask
        assert_eq Succeeded "$(tget envtask .status.phase)" "the task ($(tget envtask .status.message))"
        out=$(tget envtask .status.stdoutTail)
        assert_contains "$out" "$secret 24000 24000 24000 [quote ' and \" and \$(not expanded)]" "the env the command saw"
        assert_contains "$out" "stdin-$secret" "the stdin the command read"
        # the audit log of the local kube-apiserver records every pods/exec URI
        wait_for "the task's exec in the audit log" 30 grep -q "pods/$POD/exec" "$MBOX_STATE_DIR/logs/audit.log"
        ! grep "pods/$POD/exec" "$MBOX_STATE_DIR/logs/audit.log" | grep -q "$secret" ||
                fail "the env value or stdin travelled in an exec URL"
}

test_an_idle_sandbox_keeps_its_spec_and_a_task_starts_it() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        local p manifest out
        p=$(new_project)
        NS=mbox-$p
        template "$NS" box
        manifest="apiVersion: mbox.dev/v1alpha1
kind: Sandbox
metadata: {name: nap, namespace: $NS}
spec:
  templateRef: {name: box}
  lifetime: {idleTimeout: 3s}"
        kubectl apply -f - >/dev/null <<<"$manifest"
        wait_for "nap Running" 60 phase_is "$NS" nap Running
        wait_timed "nap stopped by its idle timeout" 60 reason_is "$NS" nap IdleTimeout
        wait_for "nap Stopped" 60 phase_is "$NS" nap Stopped
        assert_eq Running "$(kubectl -n "$NS" get sandboxes.mbox.dev nap -o jsonpath='{.spec.state}')" "spec.state after the idle stop"
        assert_eq Suspended "$(kubectl -n "$NS" get sandboxes.agents.x-k8s.io -o jsonpath='{.items[0].spec.operatingMode}')" \
                "the runtime's operating mode"
        # a GitOps tool applying the same manifest finds nothing to change
        out=$(kubectl apply -f - <<<"$manifest")
        assert_contains "$out" "sandbox.mbox.dev/nap unchanged" "re-applying the manifest after the idle stop"
        # a task is activity: it starts the sandbox again and runs
        SANDBOX=nap task wake '["echo", "awake"]'
        wait_for "the task to finish" 90 finished wake
        assert_eq Succeeded "$(tget wake .status.phase)" "the task on the idle sandbox ($(tget wake .status.message))"
        assert_eq "awake" "$(tget wake .status.stdoutTail | tr -d '\n')" "its output"
}
