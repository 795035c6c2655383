# The mbox command's resource verbs (docs/cli.md), driven as a user runs them: what they print, their
# exit codes and one-line errors, kubectl's output formats, the kubectl plugin and shell completion.

MBOX=$root/build/mbox

# cli_project: the operator and mbox-apiserver, a project with a template box; sets P and NS.
cli_project() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver ""
        P=$(new_project)
        NS=mbox-$P
        template "$NS" box
}

# run_mbox ARGS...: runs mbox, setting OUT (stdout), ERR (stderr) and RC
run_mbox() {
        local o e
        o=$(mktemp) e=$(mktemp)
        printf 'file %s\nfile %s\n' "$o" "$e" >>"$_cleanup_file"
        RC=0
        "$MBOX" "$@" >"$o" 2>"$e" || RC=$?
        OUT=$(cat "$o") ERR=$(cat "$e")
}

# token_kubeconfig FILE SA: a kubeconfig for ServiceAccount SA of NS
token_kubeconfig() {
        local tok
        tok=$(kubectl -n "$NS" create token "$2") || fail "no token for $2"
        cp "$KUBECONFIG" "$1"
        printf 'file %s\n' "$1" >>"$_cleanup_file"
        KUBECONFIG=$1 kubectl config set-credentials "$2" --token="$tok" >/dev/null
        KUBECONFIG=$1 kubectl config set-context --current --user="$2" >/dev/null
}

test_sandbox_lifecycle() {
        cli_project
        run_mbox sandbox create -p "$P" web --template box --env GREETING=hi --port web:8080:project --wait
        assert_eq 0 "$RC" "create --wait exits 0 ($ERR)"
        assert_contains "$OUT" 'sandbox "web" created' "create says so"
        assert_contains "$OUT" 'sandbox "web" Running' "create --wait prints the phases it sees"
        assert_eq '[{"name":"GREETING","value":"hi"}] [{"name":"web","port":8080,"visibility":"Project"}] "box"' \
                "$(kubectl -n "$NS" get msb web -o json | jq -c '.spec.env, .spec.ports, .spec.templateRef.name' | tr '\n' ' ' | sed 's/ $//')" \
                "the spec from the flags"
        # table and wide: the server's columns, as kubectl get prints them
        run_mbox sandbox list -p "$P"
        assert_eq "NAME PROJECT TEMPLATE PHASE READY AGE" "$(head -n 1 <<<"$OUT" | tr -s ' ')" "the table's header"
        assert_contains "$(sed -n 2p <<<"$OUT" | tr -s ' ')" "web $P box Running True" "the sandbox's row"
        assert_eq "$(kubectl -n "$NS" get msb -o wide | head -n 1 | tr -s ' ')" \
                "$("$MBOX" sandbox list -p "$P" -o wide | head -n 1 | tr -s ' ')" "-o wide has kubectl's columns"
        # json, yaml, name
        assert_eq web "$("$MBOX" sandbox list -p "$P" -o json | jq -r '.items[0].metadata.name')" "-o json: a List"
        assert_eq List "$("$MBOX" sandbox list -p "$P" -o json | jq -r .kind)" "-o json: kind List"
        assert_eq Running "$("$MBOX" sandbox list -p "$P" web -o json | jq -r .status.phase)" "-o json of one"
        assert_eq "Sandbox 8080 None <class 'str'>" "$("$MBOX" sandbox list -p "$P" web -o yaml |
                python3 -c 'import sys, yaml; o = yaml.safe_load(sys.stdin); m = o["metadata"]; print(o["kind"], o["spec"]["ports"][0]["port"], m.get("managedFields"), type(m["creationTimestamp"]))')" \
                "-o yaml parses back, without managedFields, times as strings"
        assert_eq sandbox.mbox.dev/web "$("$MBOX" sandbox list -p "$P" -o name)" "-o name"
        # describe: fields, conditions, events
        run_mbox sandbox describe -p "$P" web
        assert_contains "$OUT" "Namespace:   $NS" "describe: the namespace"
        assert_contains "$OUT" "Phase:" "describe: the status"
        assert_contains "$OUT" "Conditions:" "describe: the conditions"
        assert_contains "$OUT" "ClaimCreated" "describe: the events"
        # stop and start patch spec.state and wait for the phase
        run_mbox sandbox stop -p "$P" web --wait
        assert_eq 0 "$RC" "stop --wait ($ERR)"
        assert_contains "$OUT" 'sandbox "web" Stopped' "stop --wait ends Stopped"
        assert_eq Stopped "$(phase "$NS" web)" "kubectl sees it Stopped"
        run_mbox sandbox start -p "$P" web --wait
        assert_eq 0 "$RC" "start --wait ($ERR)"
        assert_contains "$OUT" 'sandbox "web" Running' "start --wait ends Running"
        assert_eq sandbox.mbox.dev/web "$("$MBOX" sandbox stop -p "$P" web -o name)" "stop -o name"
        wait_for "web Stopped" 60 phase_is "$NS" web Stopped
        run_mbox sandbox delete -p "$P" web --wait
        assert_eq 'sandbox "web" deleted' "$OUT" "delete --wait"
        gone "$NS" msb web || fail "the sandbox is still there"
        # what is not there: exit 1 and one line
        run_mbox sandbox describe -p "$P" web
        assert_eq "1 mbox: sandbox \"web\" not found in project $P" "$RC $ERR" "describe of a missing sandbox"
        run_mbox sandbox list -p "$P" -n x
        assert_eq "No sandboxes found in project $P." "$ERR" "an empty list says so"
}

test_errors_and_usage() {
        cli_project
        sandbox "$NS" box
        # bad usage: exit 2 and what is wrong
        run_mbox sandbox list -p "$P" -o foo
        assert_eq "2 mbox sandbox list: --output: expected table, wide, json, yaml or name, got 'foo'" "$RC $ERR" "a bad -o"
        run_mbox sandbox create -p "$P" x --port web
        assert_eq 2 "$RC" "a bad --port"
        assert_contains "$ERR" "--port: 'web' is not NAME:PORT[:VISIBILITY]" "a bad --port says why"
        run_mbox sandbox create -p "$P" x --env NOEQUALS
        assert_eq 2 "$RC" "a bad --env"
        assert_contains "$ERR" "'NOEQUALS' is not NAME=VALUE" "a bad --env says why"
        run_mbox sandbox stop -p "$P"
        assert_eq "2 mbox sandbox stop: give one NAME (see --help)" "$RC $ERR" "no NAME"
        run_mbox sandbox list --colour
        assert_eq 2 "$RC" "an unknown flag"
        run_mbox history -p "$P" pod/x
        assert_eq 2 "$RC" "history of a kind without one"
        assert_contains "$ERR" "'pod' is not a kind with a history" "history says which kinds"
        run_mbox frobnicate
        assert_eq "2 mbox: unknown command 'frobnicate' (see mbox --help)" "$RC $ERR" "an unknown command"
        run_mbox --help
        assert_contains "$OUT" "Exit status: 0 ok, 1 an error (one line on stderr), 2 bad usage" "--help documents the exit codes"
        for verb in "project list" "project create" "project delete" "project describe" "template list" \
                "template describe" "template validate" "sandbox list" "sandbox create" "sandbox delete" \
                "sandbox stop" "sandbox start" "sandbox describe" "session list" "task list" "artifact list" \
                history completion; do
                # shellcheck disable=SC2086 # a noun and its verb
                run_mbox $verb --help
                assert_eq 0 "$RC" "$verb --help"
                assert_contains "$OUT" "Example" "$verb --help has examples"
        done
        # errors: one line from the Status, never JSON
        run_mbox sandbox create -p "$P" box --template box
        assert_eq "1 mbox: sandbox \"box\" already exists in project $P" "$RC $ERR" "a taken name"
        run_mbox sandbox create -p "$P" Bad_Name --template box
        assert_eq 1 "$RC" "an invalid name"
        assert_contains "$ERR" 'mbox: sandbox "Bad_Name" is invalid: ' "an invalid name says which field"
        assert_eq 1 "$(wc -l <<<"$ERR")" "one line"
        run_mbox sandbox list -p nosuch
        assert_eq '1 mbox: project "nosuch" not found' "$RC $ERR" "a missing project"
        run_mbox project describe nosuch
        assert_eq '1 mbox: project "nosuch" not found' "$RC $ERR" "a missing project, described"
        run_mbox template validate -n "$NS" nosuch
        assert_eq "1 mbox: template \"nosuch\" not found in namespace $NS" "$RC $ERR" "a missing template"
        # forbidden: who may not do what, where
        local viewer
        kubectl -n "$NS" create serviceaccount viewer >/dev/null
        kubectl -n "$NS" create rolebinding viewer --clusterrole=mbox-viewer --serviceaccount="$NS:viewer" >/dev/null
        viewer=$(mktemp)
        token_kubeconfig "$viewer" viewer
        wait_for "the viewer's role to apply" 20 "$MBOX" sandbox list --kubeconfig "$viewer" -n "$NS"
        run_mbox sandbox delete --kubeconfig "$viewer" -n "$NS" box
        assert_eq "1 mbox: forbidden: user \"system:serviceaccount:$NS:viewer\" cannot delete sandboxes in namespace $NS" \
                "$RC $ERR" "a viewer may not delete"
        run_mbox sandbox stop --kubeconfig "$viewer" -n "$NS" box
        assert_eq "1 mbox: forbidden: user \"system:serviceaccount:$NS:viewer\" cannot stop sandboxes in namespace $NS" \
                "$RC $ERR" "a viewer may not stop"
        # --verbose: the HTTP exchange
        run_mbox sandbox describe -p "$P" nosuch --verbose
        assert_contains "$ERR" "GET https://" "--verbose shows the requests"
        assert_contains "$ERR" "/apis/mbox.dev/v1alpha1/namespaces/$NS/sandboxes/nosuch 404 in " "--verbose: URL and status"
}

test_projects_and_templates() {
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        local p
        p="t-cli-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        printf 'project %s\n' "$p" >>"$_cleanup_file"
        run_mbox project create "$p" --display-name "CLI test" --wait
        assert_eq "0 project \"$p\" created, Ready" "$RC $OUT" "project create --wait ($ERR)"
        assert_eq "CLI test" "$(kubectl get mproj "$p" -o jsonpath='{.spec.displayName}')" "the display name"
        run_mbox project list
        assert_contains "$OUT" "NAMESPACE" "project list: the server's columns"
        assert_contains "$(grep "^$p " <<<"$OUT" | tr -s ' ')" "$p mbox-$p" "project list: its row"
        assert_contains "$("$MBOX" project list -o wide | head -n 1)" "DISPLAY NAME" "project list -o wide"
        assert_eq "projects.mbox.dev/$p" "$("$MBOX" project list "$p" -o name | sed 's/^project\./projects./')" "project -o name"
        run_mbox project describe "$p"
        assert_contains "$OUT" "Display Name:  CLI test" "project describe: the spec"
        assert_contains "$OUT" "NamespaceReady" "project describe: the conditions"
        # templates: list, describe, validate (a template without a check passes with its first sandbox)
        NS=mbox-$p
        template "$NS" box
        run_mbox template validate -p "$p" box
        assert_eq 0 "$RC" "validate before a run ($ERR)"
        assert_contains "$OUT" ": NotTested" "not tested before its first sandbox"
        sandbox "$NS" box
        run_mbox template validate -p "$p" box --wait --timeout 60s
        assert_eq 0 "$RC" "validate --wait ($ERR)"
        assert_contains "$OUT" ": Passed at " "Passed once a sandbox ran"
        assert_contains "$OUT" "Message: " "the run's message"
        template "$NS" bad '  check: {command: ["sh", "-c", "echo checking; exit 3"], timeoutSeconds: 60}'
        run_mbox template validate -p "$p" bad --wait --timeout 90s
        assert_eq 1 "$RC" "a failed validation exits 1 ($OUT $ERR)"
        assert_contains "$OUT" ": Failed at " "Failed"
        assert_contains "$OUT" "checking" "the check's output"
        run_mbox template list -p "$p"
        assert_contains "$(grep '^box ' <<<"$OUT" | tr -s ' ')" "Passed" "template list: the validation column"
        run_mbox template describe -p "$p" box
        assert_contains "$OUT" "Validation:" "template describe: the validation"
        kubectl -n "$NS" delete msb box --wait=false >/dev/null
        run_mbox project delete "$p" --wait --timeout 120s
        assert_eq "0 project \"$p\" deleted" "$RC $OUT" "project delete --wait ($ERR)"
}

test_sessions_tasks_artifacts_history() {
        cli_project
        sandbox "$NS" box
        wait_for "sandbox box Running" 60 phase_is "$NS" box Running
        "$MBOX" exec -p "$P" box -- true
        run_mbox session list -p "$P"
        assert_contains "$(sed -n 2p <<<"$OUT")" "box" "session list: the exec"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: hello, namespace: $NS}
spec:
  sandboxRef: {name: box}
  command: ["echo", "hello"]
YAML
        run_mbox task list -p "$P"
        assert_contains "$OUT" "hello" "task list"
        assert_eq executiontask.mbox.dev/hello "$("$MBOX" task list -p "$P" -o name)" "task list -o name"
        kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {name: report, namespace: $NS}
spec: {kind: report, uri: "https://example.com/r.json", sandbox: box}
YAML
        run_mbox artifact list -p "$P"
        assert_contains "$(sed -n 2p <<<"$OUT")" "report" "artifact list"
        assert_eq report "$("$MBOX" artifact list -p "$P" -o json | jq -r '.items[0].metadata.name')" "artifact list -o json"
        assert_contains "$("$MBOX" artifact list -p "$P" report -o wide | sed -n 2p)" "report" "one artifact's row"
        assert_eq "report https://example.com/r.json" "$("$MBOX" artifact list -p "$P" report -o yaml | yq -r '.metadata.name + " " + .spec.uri')" \
                "one artifact, -o yaml"
        # history: the sandbox's states, and -w for the next ones
        wait_for "the history of box" 20 sh -c "'$MBOX' history -p '$P' sandbox/box | grep -q Running"
        run_mbox history -p "$P" sandbox/box
        assert_eq "NAME KIND OBJECT TYPE PHASE CHANGED" "$(head -n 1 <<<"$OUT" | tr -s ' ')" "history's columns"
        assert_contains "$(sed -n 2p <<<"$OUT" | tr -s ' ')" "Sandbox box ADDED" "the first state"
        [ "$(grep -vc ' Sandbox ' <<<"$OUT")" -eq 1 ] || fail "history of sandbox/box lists other kinds: $OUT"
        local w
        w=$(mktemp)
        printf 'file %s\n' "$w" >>"$_cleanup_file"
        bg_start "$MBOX" history -p "$P" sandbox/box -w >"$w" 2>&1
        wait_for "history -w to list" 20 grep -q ADDED "$w"
        # and list -w: the objects as they change, here as a stream of YAML documents
        local y
        y=$(mktemp)
        printf 'file %s\n' "$y" >>"$_cleanup_file"
        bg_start "$MBOX" sandbox list -p "$P" -w -o yaml >"$y" 2>&1
        wait_for "list -w to list" 20 grep -q "^kind: Sandbox" "$y"
        "$MBOX" sandbox stop -p "$P" box >/dev/null
        wait_for "history -w to show the stop" 60 grep -q Stopped "$w"
        stopped_doc() { python3 -c 'import sys, yaml; sys.exit(0 if "Stopped" in [d["status"].get("phase") for d in yaml.safe_load_all(open(sys.argv[1]))] else 1)' "$y"; }
        wait_for "list -w -o yaml to show the stop, as YAML documents" 60 stopped_doc
}

test_kubectl_plugin_and_completion() {
        cli_project
        sandbox "$NS" box
        local d
        d=$(mktemp -d)
        printf 'dir %s\n' "$d" >>"$_cleanup_file"
        make -s -C "$root" install DESTDIR="$d" PREFIX=/usr >/dev/null || fail "make install"
        for f in usr/bin/mbox usr/bin/kubectl-mbox usr/bin/kubectl_complete-mbox usr/share/man/man1/mbox.1 \
                usr/share/bash-completion/completions/mbox usr/share/zsh/site-functions/_mbox; do
                [ -e "$d/$f" ] || fail "make install did not install $f"
        done
        assert_contains "$(man -l "$d/usr/share/man/man1/mbox.1" 2>/dev/null)" "mbox sandbox create" "the man page has every command"
        # kubectl finds the plugin on PATH
        assert_contains "$(PATH=$d/usr/bin:$PATH kubectl plugin list 2>/dev/null)" "$d/usr/bin/kubectl-mbox" "kubectl plugin list"
        assert_eq sandbox.mbox.dev/box "$(PATH=$d/usr/bin:$PATH kubectl mbox sandbox list -p "$P" -o name)" "kubectl mbox"
        # completion: commands, verbs, formats, names from the cluster
        complete_bash() { # WORD...: what bash completes for the last word
                PATH=$d/usr/bin:$PATH bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mbox; echo "${COMPREPLY[*]}"' \
                        _ "$d/usr/share/bash-completion/completions/mbox" "$@"
        }
        assert_eq "sandbox session" "$(complete_bash mbox s)" "nouns"
        assert_eq "stop start" "$(complete_bash mbox sandbox st)" "verbs"
        assert_eq "wide" "$(complete_bash mbox sandbox list -o w)" "formats"
        assert_eq box "$(complete_bash mbox sandbox stop -p "$P" "")" "sandbox names in the project"
        assert_contains "$(complete_bash mbox sandbox list -p "")" "$P" "project names"
        assert_eq sandbox/box "$(complete_bash mbox history -p "$P" sandbox/)" "history's KIND/NAME"
        assert_contains "$("$MBOX" completion zsh)" "compdef _mbox mbox kubectl-mbox" "the zsh script"
        # kubectl's own completion of the plugin goes through kubectl_complete-mbox
        assert_eq "box :4" "$(PATH=$d/usr/bin:$PATH kubectl __complete mbox exec -p "$P" "" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" \
                "kubectl mbox <TAB>"
        run_mbox completion fish
        assert_eq 2 "$RC" "an unknown shell"
}
