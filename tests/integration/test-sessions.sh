# Sessions in a sandbox through runtime.mbox.dev (docs/sessions.md): sandboxes/NAME/exec and terminal,
# driven as a user does, with the mbox command (and its terminal inside tmux).

MBOX=$root/build/mbox
API_FLAGS=()

# session_sandbox: the operator and mbox-apiserver, a project and its Running sandbox box; sets NS.
session_sandbox() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver "" "${API_FLAGS[@]}"
        NS=mbox-$(new_project "${PROJECT_SPEC:-}")
        template "$NS" box "${1:-}"
        sandbox "$NS" box
        wait_for "sandbox box Running" 60 phase_is "$NS" box Running
}

# token_kubeconfig FILE SA: a kubeconfig for ServiceAccount SA of NS, as a member hands one out.
token_kubeconfig() {
        local tok
        tok=$(kubectl -n "$NS" create token "$2") || fail "no token for $2"
        cp "$KUBECONFIG" "$1"
        printf 'file %s\n' "$1" >>"$_cleanup_file"
        KUBECONFIG=$1 kubectl config set-credentials "$2" --token="$tok" >/dev/null
        KUBECONFIG=$1 kubectl config set-context --current --user="$2" >/dev/null
}

test_exec_streams_and_exit_code() {
        session_sandbox
        local out err rc
        out=$(mktemp) err=$(mktemp)
        printf 'file %s\nfile %s\n' "$out" "$err" >>"$_cleanup_file"
        rc=0
        "$MBOX" exec -n "$NS" box -- sh -c 'echo out; echo err >&2; exit 3' >"$out" 2>"$err" || rc=$?
        assert_eq 3 "$rc" "the command's exit code, passed on"
        assert_eq out "$(cat "$out")" "stdout"
        assert_eq err "$(cat "$err")" "stderr"
        assert_eq hello "$(printf hello | "$MBOX" exec -i -n "$NS" box -- cat)" "stdin, to its end"
        # the project flag finds the namespace
        assert_eq ok "$("$MBOX" exec -p "${NS#mbox-}" box -- echo ok)" "by project"
        # --verbose shows the WebSocket's upgrade as it shows any request
        assert_contains "$("$MBOX" exec --verbose -n "$NS" box -- true 2>&1 >/dev/null)" \
                "GET https://127.0.0.1:$APISERVER_PORT/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/box/exec?" \
                "--verbose: the upgrade's URL"
        assert_contains "$("$MBOX" exec --verbose -n "$NS" box -- true 2>&1 >/dev/null)" " 101 in " "--verbose: the switch"
        # what cannot be run is refused with the reason
        assert_contains "$("$MBOX" exec -n "$NS" nosuch -- true 2>&1)" 'sandbox "nosuch" not found in namespace' "a sandbox that is not there"
        assert_contains "$("$MBOX" exec -n "$NS" box 2>&1)" "give one SANDBOX, then -- and the command" "no command"
        assert_contains "$(kubectl get --raw "/apis/runtime.mbox.dev/v1alpha1/namespaces/$NS/sandboxes/box/exec?command=true" 2>&1)" \
                "is a WebSocket" "a plain GET"
}

test_terminal_in_tmux() {
        session_sandbox
        local sock=mbox-test-$$ pane
        tmux_() { tmux -L "$sock" "$@"; }
        tmux_ new-session -d -s t -x 80 -y 24 "$MBOX terminal -n $NS box; echo mbox-exit=\$?; sleep 60" ||
                fail "tmux did not start"
        printf 'pid %s\n' "$(tmux_ display -p '#{pid}')" >>"$_cleanup_file"
        local T=t # the session the checks look at
        screen() { tmux_ capture-pane -p -t "$T"; }
        shows() { screen | grep -q -- "$1"; }
        # see WHAT PATTERN: waits up to 20 s for the pane to show a line matching PATTERN
        see() {
                local i
                for ((i = 0; i < 80; i++)); do
                        shows "$2" && return 0
                        sleep 0.25
                done
                fail "timed out waiting for $1; the screen: $(screen)"
        }
        # keys typed before mbox has the terminal would be flushed with the switch to raw mode
        see "the shell's prompt" '^[#$]'
        tmux_ send-keys -t t 'echo $((6*7))' Enter
        see "the shell to answer 42" '^42'
        tmux_ send-keys -t t 'stty size' Enter
        see "the terminal's size" '^24 80'
        tmux_ resize-window -t t -x 100 -y 40
        tmux_ send-keys -t t 'clear; stty size' Enter
        see "the new size after a resize" '^40 100'
        tmux_ send-keys -t t 'exit 0' Enter
        see "mbox terminal to end with the shell" 'mbox-exit=0'
        # the escape: Enter ~ . leaves a terminal whose shell still runs; ~ ~ types one ~ (a second session
        # of the same tmux server: a server killed and started again at once may not come up)
        tmux_ new-session -d -s t2 -x 80 -y 24 "$MBOX terminal -n $NS box; echo mbox-exit=\$?; sleep 60" ||
                fail "tmux did not start a second session"
        T=t2
        see "the shell's prompt" '^[#$]'
        tmux_ send-keys -t t2 '~~x' Enter
        see "~~ typed as one ~ (the command ~x)" ': ~x: not found'
        tmux_ send-keys -t t2 Enter '~.'
        see "the escape to leave" 'left the session'
        see "mbox to exit 0" 'mbox-exit=0'
        tmux_ kill-server
        # each session is a record: a terminal, on a TTY, that ended with the shell; and the one left with ~.
        ended() { [ "$(kubectl -n "$NS" get sessions -o json | jq '[.items[] | select(.status.phase == "Ended")] | length')" = 2 ]; }
        wait_for "the sessions' records to end" 20 ended
        assert_eq '["terminal",true,"Exited",0,["sh","-l"]] ["terminal",true,"ClientClosed",null,["sh","-l"]]' \
                "$(kubectl -n "$NS" get sessions -o json | jq -c '[.items[] | [.spec.kind, .spec.tty, .status.reason,
                        .status.exitCode, .spec.command]] | sort_by(.[2] != "Exited") | .[]' | tr '\n' ' ' | sed 's/ $//')" \
                "the records"
        assert_contains "$(kubectl -n "$NS" get sessions)" "terminal" "kubectl get sessions"
}

test_who_may_open_sessions() {
        session_sandbox
        local viewer dev stranger
        kubectl -n "$NS" create serviceaccount viewer >/dev/null
        kubectl -n "$NS" create serviceaccount dev >/dev/null
        kubectl -n "$NS" create serviceaccount stranger >/dev/null
        kubectl -n "$NS" create rolebinding viewer --clusterrole=mbox-viewer --serviceaccount="$NS:viewer" >/dev/null
        kubectl -n "$NS" create rolebinding dev --clusterrole=mbox-developer --serviceaccount="$NS:dev" >/dev/null
        viewer=$(mktemp) dev=$(mktemp) stranger=$(mktemp)
        token_kubeconfig "$viewer" viewer
        token_kubeconfig "$dev" dev
        token_kubeconfig "$stranger" stranger
        wait_for "the developer's role to apply" 20 "$MBOX" exec --kubeconfig "$dev" -n "$NS" box -- true
        assert_eq yes "$("$MBOX" exec --kubeconfig "$dev" -n "$NS" box -- echo yes)" "a developer execs"
        assert_contains "$("$MBOX" exec --kubeconfig "$viewer" -n "$NS" box -- true 2>&1)" \
                '403 Forbidden: sandboxes.runtime.mbox.dev "box" is forbidden: User "system:serviceaccount:'"$NS"':viewer" cannot get resource "sandboxes/exec"' "a viewer may not exec"
        assert_contains "$("$MBOX" terminal --kubeconfig "$viewer" -n "$NS" box 2>&1 </dev/null)" \
                'viewer" cannot get resource "sandboxes/terminal"' "a viewer may not open a terminal"
        assert_contains "$("$MBOX" exec --kubeconfig "$stranger" -n "$NS" box -- true 2>&1)" \
                'stranger" cannot get resource "sandboxes/exec"' "no role, no exec"
        # kube-apiserver lets a WebSocket GET through with get; mbox-apiserver wants create as well
        local peeker
        peeker=$(mktemp)
        kubectl -n "$NS" create serviceaccount peeker >/dev/null
        kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec-get, namespace: $NS}
rules: [{apiGroups: [runtime.mbox.dev], resources: [sandboxes/exec], verbs: [get]}]
YAML
        kubectl -n "$NS" create rolebinding peeker --role=exec-get --serviceaccount="$NS:peeker" >/dev/null
        token_kubeconfig "$peeker" peeker
        assert_contains "$("$MBOX" exec --kubeconfig "$peeker" -n "$NS" box -- true 2>&1)" \
                'peeker" cannot create resource "sandboxes/exec"' "get alone is not enough"
        # a stopped sandbox is not entered: 409 with the reason
        kubectl -n "$NS" patch msb box --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_for "sandbox box Stopped" 60 phase_is "$NS" box Stopped
        assert_contains "$("$MBOX" exec -n "$NS" box -- true 2>&1)" "sandbox box is Stopped: it must be running" \
                "a stopped sandbox"
}

test_session_limits() {
        # the project's limits (the flags of mbox-apiserver apply where it says nothing)
        PROJECT_SPEC=$'  quota: {maxSessionsPerSandbox: 1}\n  policy: {lifecycle: {sessionIdleTimeout: 3s}}'
        session_sandbox
        # one session holds the sandbox's only place: the next is refused with the reason (the holder
        # writes every second, so the 3 s idle timeout does not end it)
        "$MBOX" exec -n "$NS" box -- sh -c 'for i in 1 2 3 4 5; do echo .; sleep 1; done' >/dev/null &
        local holder=$!
        printf 'pid %s\n' "$holder" >>"$_cleanup_file"
        active() { [ "$(kubectl -n "$NS" get sessions --field-selector status.phase=Active -o name | wc -l)" = 1 ]; }
        wait_for "the first session to open" 10 active
        busy() { "$MBOX" exec -n "$NS" box -- true 2>&1 | grep -q "sandbox box has 1 sessions open, the most it may"; }
        wait_for "a second session to be refused" 10 busy
        wait "$holder" || fail "the first session did not end well"
        assert_eq ok "$("$MBOX" exec -n "$NS" box -- echo ok)" "the place is free again"
        # a session with no message either way for the idle timeout is ended, and its record says so
        "$MBOX" exec -n "$NS" box -- sleep 30 >/dev/null 2>&1 || true
        assert_eq IdleTimeout "$(kubectl -n "$NS" get sessions --field-selector spec.kind=exec -o json |
                jq -r '[.items[] | select(.spec.command == ["sleep","30"])][0].status.reason')" "the idle session's record"
}
