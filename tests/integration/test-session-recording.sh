# Recordings of terminal sessions (docs/sessions.md, "Recordings"): a template's spec.sessions.record, the
# terminal opened with the mbox command in tmux as a user does, the recording read back as an Artifact and
# its content, replayed with asciinema.

MBOX=$root/build/mbox

# recording_sandboxes NAME:RECORD...: the operator and mbox-apiserver, a project, and for each pair a
# template and a Running sandbox NAME whose template records RECORD (none: no spec.sessions); sets NS.
API_FLAGS=()

recording_sandboxes() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver "" "${API_FLAGS[@]}"
        NS=mbox-$(new_project)
        local pair name record
        for pair in "$@"; do
                name=${pair%%:*} record=${pair#*:}
                if [ "$record" = none ]; then
                        template "$NS" "$name"
                else
                        template "$NS" "$name" "  sessions: {record: $record}"
                fi
                TEMPLATE=$name sandbox "$NS" "$name"
        done
        for pair in "$@"; do
                wait_for "sandbox ${pair%%:*} Running" 60 phase_is "$NS" "${pair%%:*}" Running
        done
}

# terminal SANDBOX: `mbox terminal` in tmux (80x24): types echo $((6*7)), resizes to 100x40, exits; then
# waits for the session's record to end and prints its name.
terminal() {
        local sock=mbox-rec-$$-$1
        tmux_() { tmux -L "$sock" "$@"; }
        tmux_ new-session -d -s t -x 80 -y 24 "$MBOX terminal -n $NS $1; echo mbox-exit=\$?; sleep 60" ||
                fail "tmux did not start"
        printf 'pid %s\n' "$(tmux_ display -p '#{pid}')" >>"$_cleanup_file"
        screen() { tmux_ capture-pane -p -t t; }
        shows() { screen | grep -qE -- "$1"; }
        # keys typed before the shell reads are lost to it: its prompt first
        wait_for "the shell's prompt" 20 shows '[#$] ?$'
        tmux_ send-keys -t t 'echo $((6*7))' Enter
        (wait_for "the shell to answer 42" 20 shows '^42') ||
                fail "the screen: $(screen); mbox-apiserver: $(tail -n 5 "$APILOG")"
        tmux_ resize-window -t t -x 100 -y 40
        # the resize reaches the shell a moment after tmux's: asked until it tells
        resized() { tmux_ send-keys -t t 'stty size' Enter; sleep 0.5; shows '^40 100'; }
        wait_for "the new size after a resize" 20 resized
        tmux_ send-keys -t t 'exit 0' Enter
        (wait_for "mbox terminal to end with the shell" 20 shows 'mbox-exit=0') || fail "the screen: $(screen)"
        tmux_ kill-server
        session_of() { kubectl -n "$NS" get sessions -o json | jq -r --arg sb "$1" \
                '.items[] | select(.spec.sandbox == $sb and .status.phase == "Ended") | .metadata.name'; }
        ended() { [ -n "$(session_of "$1")" ]; }
        wait_for "the session's record to end" 20 ended "$1"
        session_of "$1"
}

content() { kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/artifacts/$1/content"; }

# check_cast FILE: FILE is asciicast v2: a header, then [seconds, type, data] lines with increasing times
check_cast() {
        head -n 1 "$1" | jq -e '.version == 2 and (.width | type) == "number" and (.height | type) == "number"
                and (.timestamp | type) == "number" and .env.SHELL == "sh"' >/dev/null ||
                fail "the header is not asciicast v2: $(head -n 1 "$1")"
        tail -n +2 "$1" | jq -se 'length > 0 and all(.[]; type == "array" and length == 3
                and (.[0] | type) == "number" and (.[1] | IN("o", "i", "r", "m")) and (.[2] | type) == "string")
                and ([.[][0]] | . == sort)' >/dev/null || fail "the events are not asciicast v2 events: $(cat "$1")"
}

test_terminal_recording_with_input() {
        recording_sandboxes box:OutputAndInput
        local name cast
        name=$(terminal box)
        [ -n "$name" ] || fail "no session record"
        # the recording is an artifact named like the session, linked to it by a label
        wait_for "the recording's artifact" 20 kubectl -n "$NS" get artifact "$name"
        assert_contains "$(kubectl -n "$NS" get artifacts)" "$name" "kubectl get artifacts"
        assert_eq "[\"recording\",\"session://$name\",\"application/x-asciicast\",\"box\",\"$name\",\"Recorded\"]" \
                "$(kubectl -n "$NS" get artifact "$name" -o json | jq -c '[.spec.kind, .spec.uri, .spec.contentType,
                        .spec.sandbox, .metadata.labels["runtime.mbox.dev/session"], .status.source]')" "the artifact"
        assert_eq "$name" "$(kubectl -n "$NS" get artifacts -l "runtime.mbox.dev/session=$name" -o name | sed 's|.*/||')" \
                "found by the session's label"
        assert_eq "$name" "$(kubectl -n "$NS" get session "$name" -o jsonpath='{.status.recording}')" \
                "the session's record names its recording"
        cast=$(mktemp --suffix=.cast)
        printf 'file %s\n' "$cast" >>"$_cleanup_file"
        content "$name" >"$cast" || fail "no content"
        check_cast "$cast"
        assert_eq '[80,24]' "$(head -n 1 "$cast" | jq -c '[.width, .height]')" "the size the terminal started with"
        assert_contains "$(tail -n +2 "$cast" | jq -sr '[.[] | select(.[1] == "o") | .[2]] | join("")')" "42" \
                "the output, joined"
        assert_contains "$(tail -n +2 "$cast" | jq -sr '[.[] | select(.[1] == "i") | .[2]] | join("")')" \
                'echo $((6*7))' "the input, joined"
        assert_contains "$(tail -n +2 "$cast" | jq -c 'select(.[1] == "r") | .[2]')" '"100x40"' "the resize"
        # the size and digest recorded are those of the content
        assert_eq "$(kubectl -n "$NS" get artifact "$name" -o json | jq -c '[.spec.sizeBytes, .spec.digest]')" \
                "[$(stat -c %s "$cast"),\"sha256:$(sha256sum "$cast" | cut -d' ' -f1)\"]" "size and digest"
        # asciinema replays it (on a terminal of its own: it wants one)
        assert_contains "$(script -qec "asciinema cat $cast" /dev/null)" "42" "asciinema cat"
        # nobody registers a session:// artifact through the API
        assert_contains "$(kubectl -n "$NS" create -f - 2>&1 <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {name: forged}
spec: {uri: "session://$name"}
YAML
)" "a session:// URI names the recording of a terminal session" "a forged recording"
}

test_output_only_and_no_recording() {
        recording_sandboxes quiet:Output plain:none
        local name cast
        name=$(terminal quiet)
        wait_for "the recording's artifact" 20 kubectl -n "$NS" get artifact "$name"
        cast=$(mktemp --suffix=.cast)
        printf 'file %s\n' "$cast" >>"$_cleanup_file"
        content "$name" >"$cast" || fail "no content"
        check_cast "$cast"
        assert_contains "$(tail -n +2 "$cast" | jq -sr '[.[] | select(.[1] == "o") | .[2]] | join("")')" "42" "output"
        assert_eq 0 "$(tail -n +2 "$cast" | jq -s '[.[] | select(.[1] == "i")] | length')" "no input recorded"
        # a viewer reads the recording
        local viewer tok
        kubectl -n "$NS" create serviceaccount viewer >/dev/null
        kubectl -n "$NS" create rolebinding viewer --clusterrole=mbox-viewer --serviceaccount="$NS:viewer" >/dev/null
        viewer=$(mktemp)
        printf 'file %s\n' "$viewer" >>"$_cleanup_file"
        tok=$(kubectl -n "$NS" create token viewer) || fail "no token"
        cp "$KUBECONFIG" "$viewer"
        KUBECONFIG=$viewer kubectl config set-credentials viewer --token="$tok" >/dev/null
        KUBECONFIG=$viewer kubectl config set-context --current --user=viewer >/dev/null
        viewer_reads() { KUBECONFIG=$viewer content "$name" | cmp -s - "$cast"; }
        wait_for "a viewer to read the recording" 20 viewer_reads
        # a template without spec.sessions records nothing
        local plain
        plain=$(terminal plain)
        [ -n "$plain" ] || fail "no session record"
        assert_eq "" "$(kubectl -n "$NS" get session "$plain" -o jsonpath='{.status.recording}')" "no recording named"
        sleep 2
        assert_eq "$name" "$(kubectl -n "$NS" get artifacts -o name | sed 's|.*/||')" "only the recorded session's artifact"
}


test_a_recording_stops_at_its_limit() {
        # a small limit, so that a few MB pass it (the default is 64 MiB)
        API_FLAGS=(--max-recording-size=1Mi)
        recording_sandboxes big:Output
        local name cast out fifo
        # 3 MB of output, more than the recording keeps, through client-go's client: the terminal reads its
        # commands from this stdin (kept open: its end would end the terminal) and writes to a file
        out=$(mktemp) fifo=$(mktemp -u)
        mkfifo "$fifo"
        printf 'file %s\nfile %s\n' "$out" "$fifo" >>"$_cleanup_file"
        remotecommand --path "/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/big/terminal" \
                --stdin --tty -- sh <"$fifo" >"$out" &
        printf 'pid %s\n' "$!" >>"$_cleanup_file"
        exec 3>"$fifo" # open until the test ends
        printf 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 3000000; echo; echo done-$((6*7)); exit 0\n' >&3
        session_of() { kubectl -n "$NS" get sessions -o json | jq -r '.items[] | select(.status.phase == "Ended") | .metadata.name'; }
        ended() { [ -n "$(session_of)" ]; }
        wait_for "the session to end" 120 ended
        # all of it went through: the recording's limit is no limit of the session
        [ "$(kubectl -n "$NS" get sessions -o jsonpath='{.items[0].status.bytesOut}')" -ge 3000000 ] ||
                fail "the session did not carry the output: $(kubectl -n "$NS" get sessions -o yaml)"
        name=$(session_of)
        wait_for "the recording's artifact" 20 kubectl -n "$NS" get artifact "$name"
        assert_contains "$(kubectl -n "$NS" get artifact "$name" -o jsonpath='{.metadata.annotations}')" \
                "it reached its limit of 1048576 bytes" "the artifact says the recording is short"
        cast=$(mktemp --suffix=.cast)
        printf 'file %s\n' "$cast" >>"$_cleanup_file"
        content "$name" >"$cast" || fail "no content"
        [ "$(stat -c %s "$cast")" -le 1048576 ] || fail "the recording is larger than its limit: $(stat -c %s "$cast")"
        # it stops before the event that would pass the limit: within one event (a message of up to 64 KiB)
        [ "$(stat -c %s "$cast")" -gt 900000 ] || fail "the recording stopped early: $(stat -c %s "$cast")"
        assert_eq '"recording truncated: it reached its limit of 1048576 bytes"' "$(tail -n 1 "$cast" | jq -c '.[2]')" \
                "the last event is the marker"
        check_cast "$cast"
}
