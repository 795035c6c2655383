# The mbox command's tasks, artifacts and copies (docs/cli.md), run as a user runs them against the stack:
# what mbox prints on stdout and stderr and its exit status. KWOK runs a sandbox's commands on this machine
# in the pod's own directory, so files can be put there and read back here.

MBOX=$root/build/mbox

# cli_sandbox: the operator (with the database), mbox-apiserver, a project and its Running sandbox box;
# sets NS and WD (the directory box's commands run in).
cli_sandbox() {
        local pod
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        start_apiserver
        NS=mbox-$(new_project)
        template "$NS" box
        sandbox "$NS" box
        wait_for "sandbox box Running" 60 phase_is "$NS" box Running
        pod=$(kubectl -n "$NS" get sandboxes.mbox.dev box -o jsonpath='{.status.podName}')
        # KWOK gives a new pod its own directory a moment after it starts (hack/kwok-pods.sh)
        own_dir() { [ "$(kubectl -n "$NS" exec "$pod" -- pwd)" = "$MBOX_STATE_DIR/pods/$NS/$pod" ]; }
        wait_for "pod $pod's own directory" 30 own_dir
        WD=$MBOX_STATE_DIR/pods/$NS/$pod
        T=$(mktemp -d)
        printf 'dir %s\n' "$T" >>"$_cleanup_file"
}

# mb COMMAND ARG...: runs mbox COMMAND -n NS ARG... with its stdout in $T/out, its stderr in $T/err and its
# status in RC (a COMMAND of tasks and artifacts is two words)
mb() {
        local n=1
        case $1 in task | artifact) n=2 ;; esac
        RC=0
        "$MBOX" "${@:1:n}" -n "$NS" "${@:n+1}" >"$T/out" 2>"$T/err" || RC=$?
}

# refused_with RC TEXT WHAT: the last mb ended with RC and one line on stderr that holds TEXT
refused_with() {
        assert_eq "$1" "$RC" "$3: exit status"
        assert_contains "$(cat "$T/err")" "$2" "$3: the reason"
        assert_eq 1 "$(wc -l <"$T/err")" "$3: one line (stderr: $(cat "$T/err"))"
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }
tphase() { kubectl -n "$NS" get executiontasks.mbox.dev "$1" -o jsonpath='{.status.phase}'; }
tphase_is() { [ "$(tphase "$1")" = "$2" ]; }

test_task_run() {
        cli_sandbox
        # the streams apart, and the command's exit code
        mb task run box -- sh -c 'echo out; echo err >&2; exit 3'
        assert_eq 3 "$RC" "the command's exit code, passed on"
        assert_eq out "$(cat "$T/out")" "stdout"
        assert_eq err "$(cat "$T/err")" "stderr"
        assert_eq 1 "$(kubectl -n "$NS" get executiontasks.mbox.dev -o name | grep -c '^executiontask.mbox.dev/box-')" \
                "a task named after the sandbox"
        # a name, variables and a working directory
        mb task run box --name hello --env GREETING=hi --env EMPTY= --workdir /tmp -- sh -c 'echo "$GREETING:$EMPTY"; pwd'
        assert_eq 0 "$RC" "a command that succeeds (stderr: $(cat "$T/err"))"
        assert_eq "$(printf 'hi:\n/tmp')" "$(cat "$T/out")" "env and working directory"
        assert_eq Succeeded "$(tphase hello)" "the task, by its name"
        # the output comes while the command runs, not at its end
        "$MBOX" task run -n "$NS" box --name slow -- sh -c 'echo first; sleep 4; echo second' >"$T/slow" 2>&1 &
        local pid=$!
        printf 'pid %s\n' "$pid" >>"$_cleanup_file"
        first() { grep -q first "$T/slow"; }
        wait_for "the first line while the task runs" 20 first
        tphase_is slow Running || fail "the task ended before its first line was shown: $(tphase slow)"
        wait "$pid" || fail "mbox task run of slow ended with $?"
        assert_eq "$(printf 'first\nsecond')" "$(cat "$T/slow")" "all of the output"
        # a task that times out, or never starts, ends with 1 and why
        mb task run box --timeout 1s -- sleep 30
        refused_with 1 "TimedOut" "a task that times out"
        mb task run nosuch -- true
        refused_with 1 'Failed: there is no Sandbox nosuch' "a sandbox that is not there"
        # bad usage
        mb task run box --bogus -- true
        assert_eq 2 "$RC" "an unknown flag"
        mb task run box
        refused_with 2 "give one SANDBOX, then -- and the command" "no command"
        mb task run box --env NOEQUALS -- true
        refused_with 2 "'NOEQUALS' is not NAME=VALUE" "a variable without a value"
        mb task run box --timeout soon -- true
        assert_eq 2 "$RC" "a timeout that is not a duration"
}

test_task_detach_wait_logs_cancel() {
        cli_sandbox
        local t long
        # --detach prints the name; wait then passes on the exit code, logs prints both streams
        mb task run box --detach -- sh -c 'echo a; echo b >&2; exit 4'
        assert_eq 0 "$RC" "--detach"
        t=$(cat "$T/out")
        kubectl -n "$NS" get executiontasks.mbox.dev "$t" >/dev/null || fail "--detach printed '$t', not a task"
        mb task wait "$t"
        assert_eq 4 "$RC" "task wait: the command's exit code"
        mb task logs "$t"
        assert_eq 0 "$RC" "task logs"
        assert_eq a "$(cat "$T/out")" "task logs: stdout"
        assert_eq b "$(cat "$T/err")" "task logs: stderr"
        # logs -f follows a running task to its end
        mb task run box --detach --name counting -- sh -c 'echo one; sleep 2; echo two'
        wait_for "counting to run" 20 tphase_is counting Running
        mb task logs counting -f
        assert_eq "$(printf 'one\ntwo')" "$(cat "$T/out")" "task logs -f: the whole output"
        # a wait that gives up, then a cancel
        mb task run box --detach --name long -- sleep 300
        long=$(cat "$T/out")
        wait_for "long to run" 20 tphase_is long Running
        mb task wait long --timeout 2s
        refused_with 1 'task "long" did not end within --timeout' "a wait that gives up"
        mb task cancel long
        assert_eq 0 "$RC" "task cancel"
        assert_eq "task long canceled" "$(cat "$T/out")" "what cancel says"
        mb task wait long
        refused_with 1 'task "long" Canceled' "the wait of a canceled task"
        assert_eq Canceled "$(tphase long)" "the task's phase"
        mb task cancel long
        assert_eq "task long had already ended: Canceled" "$(cat "$T/out")" "a second cancel"
        # what is not there
        mb task wait nosuch
        refused_with 1 "task \"nosuch\" not found in namespace $NS" "task wait of a missing task"
        mb task cancel nosuch
        refused_with 1 "task \"nosuch\" not found in namespace $NS" "task cancel of a missing task"
        mb task logs nosuch
        refused_with 1 "no stored output of task \"nosuch\" in namespace $NS" "task logs of a missing task"
        # bad usage
        mb task wait
        refused_with 2 "give one TASK" "task wait without a task"
        mb task logs a b
        refused_with 2 "give one TASK" "task logs of two"
        mb task cancel --bogus x
        assert_eq 2 "$RC" "task cancel with an unknown flag"
        mb task wait x --timeout=never
        assert_eq 2 "$RC" "task wait with a bad timeout"
}

test_artifact_get_and_push() {
        cli_sandbox
        local f=$WD/report.bin name
        # a task writes a file of 3 MiB; pushed with --task, the server fills in its provenance
        mb task run box --name writer -- sh -c "head -c 3145728 /dev/urandom >$f"
        assert_eq 0 "$RC" "the task that writes the file (stderr: $(cat "$T/err"))"
        mb artifact push --task writer "$f" --name report --kind report --title "The report" \
                --content-type application/octet-stream -l suite=unit
        assert_eq 0 "$RC" "artifact push --task (stderr: $(cat "$T/err"))"
        assert_eq report "$(cat "$T/out")" "push prints the name"
        assert_eq "writer box report unit workspace://$f" "$(kubectl -n "$NS" get artifacts report \
                -o jsonpath='{.spec.task.name} {.spec.sandbox} {.spec.kind} {.metadata.labels.suite} {.spec.uri}')" \
                "the artifact's provenance and fields"
        # its bytes, to a file and to stdout
        mb artifact get report -o "$T/got"
        assert_eq 0 "$RC" "artifact get -o (stderr: $(cat "$T/err"))"
        assert_eq "$(sha "$f")" "$(sha "$T/got")" "artifact get -o: the same bytes"
        mb artifact get report
        assert_eq "$(sha "$f")" "$(sha "$T/out")" "artifact get to stdout: the same bytes"
        # from a sandbox's path, named after the sandbox
        printf 'notes\n' >"$WD/notes.txt"
        mb artifact push "box:$WD/notes.txt"
        assert_eq 0 "$RC" "artifact push SANDBOX:PATH (stderr: $(cat "$T/err"))"
        name=$(cat "$T/out")
        case $name in box-?????) ;; *) fail "a generated name: '$name'" ;; esac
        mb artifact get "$name"
        assert_eq notes "$(cat "$T/out")" "the pushed file's bytes"
        # a file that changed since it was recorded is broken off, and -o leaves nothing behind
        kubectl create -f - >/dev/null <<YAML
apiVersion: runtime.mbox.dev/v1alpha1
kind: Artifact
metadata: {name: pinned, namespace: $NS}
spec:
  uri: "workspace://$WD/notes.txt"
  sandbox: box
  digest: "sha256:$(printf 'notes\n' | sha256sum | cut -d' ' -f1)"
YAML
        printf 'changed\n' >"$WD/notes.txt"
        mb artifact get pinned -o "$T/pinned"
        assert_eq 1 "$RC" "a changed file: exit status"
        [ ! -e "$T/pinned" ] || fail "a cut download was left as $T/pinned"
        [ -z "$(find "$T" -name '.pinned.*')" ] || fail "a temporary file was left behind"
        # what is not there, and bad usage
        mb artifact get nosuch -o "$T/nosuch"
        refused_with 1 'artifacts.runtime.mbox.dev "nosuch" not found' "a missing artifact"
        [ ! -e "$T/nosuch" ] || fail "a missing artifact left a file"
        mb artifact push --task nosuch /tmp/x
        refused_with 1 'ExecutionTask "nosuch"' "a push from a missing task"
        mb artifact push box:relative/path
        refused_with 2 "must be absolute" "a relative path"
        mb artifact push /tmp/x
        refused_with 2 "give SANDBOX:PATH, or --task TASK and PATH" "neither a sandbox nor a task"
        mb artifact get
        refused_with 2 "give one NAME" "no name"
}

test_cp_both_ways() {
        cli_sandbox
        # up: a binary file of 900 KiB, with its mode
        head -c 921600 /dev/urandom >"$T/up.bin"
        chmod 0750 "$T/up.bin"
        mb cp "$T/up.bin" "box:$WD/in.bin"
        assert_eq 0 "$RC" "cp up (stderr: $(cat "$T/err"))"
        assert_eq "$(sha "$T/up.bin")" "$(sha "$WD/in.bin")" "cp up: the same bytes"
        assert_eq 750 "$(stat -c %a "$WD/in.bin")" "cp up: the mode"
        # into a directory, by the file's own name, with or without a trailing slash
        mkdir "$WD/dir1" "$WD/dir2"
        mb cp "$T/up.bin" "box:$WD/dir1/"
        assert_eq "$(sha "$T/up.bin")" "$(sha "$WD/dir1/up.bin")" "cp up into PATH/"
        mb cp "$T/up.bin" "box:$WD/dir2"
        assert_eq "$(sha "$T/up.bin")" "$(sha "$WD/dir2/up.bin")" "cp up into a directory"
        # down: 5 MiB, to a file, into a directory, to stdout
        head -c 5242880 /dev/urandom >"$WD/down.bin"
        mb cp "box:$WD/down.bin" "$T/d.bin"
        assert_eq 0 "$RC" "cp down (stderr: $(cat "$T/err"))"
        assert_eq "$(sha "$WD/down.bin")" "$(sha "$T/d.bin")" "cp down: the same bytes"
        mkdir "$T/into"
        mb cp "box:$WD/down.bin" "$T/into"
        assert_eq "$(sha "$WD/down.bin")" "$(sha "$T/into/down.bin")" "cp down into a directory"
        mb cp "box:$WD/down.bin" -
        assert_eq "$(sha "$WD/down.bin")" "$(sha "$T/out")" "cp down to stdout"
        [ ! -s "$T/err" ] || fail "a progress line when stderr is not a terminal: $(cat "$T/err")"
        # with stderr on a terminal, a progress line for a large file
        if command -v script >/dev/null; then
                script -qec "$MBOX cp -n $NS box:$WD/down.bin $T/tty.bin" /dev/null >"$T/tty" </dev/null ||
                        fail "cp on a terminal: $(cat "$T/tty")"
                assert_contains "$(cat "$T/tty")" "$T/tty.bin: 5.0 MiB," "the progress line"
                assert_eq "$(sha "$WD/down.bin")" "$(sha "$T/tty.bin")" "cp on a terminal: the same bytes"
        fi
        # too big to upload: said before anything is sent
        head -c 2097152 /dev/urandom >"$T/big.bin"
        mb cp "$T/big.bin" "box:$WD/big.bin"
        refused_with 1 "is 2.0 MiB: mbox-apiserver takes at most 1 MiB per upload" "an upload over 1 MiB"
        [ ! -e "$WD/big.bin" ] || fail "a refused upload left a file"
        # a directory is not downloaded as a file
        mb cp "box:$WD/dir1" "$T/dir1"
        refused_with 1 "$WD/dir1 is a directory in sandbox box" "a directory"
        [ ! -e "$T/dir1" ] || fail "a directory's listing was written to a file"
        # what is not there
        mb cp "box:$WD/nope" "$T/nope"
        refused_with 1 "not found in sandbox box" "a missing file"
        [ ! -e "$T/nope" ] || fail "a missing file left a local one"
        mb cp "$T/up.bin" "nosuch:/tmp/x"
        refused_with 1 'sandbox "nosuch" not found' "a missing sandbox"
        mb cp "$T/absent" "box:$WD/x"
        refused_with 1 "cannot read '$T/absent'" "a missing local file"
        # bad usage
        mb cp "$T/a" "$T/b"
        refused_with 2 "give LOCAL SANDBOX:PATH or SANDBOX:PATH LOCAL" "two local paths"
        mb cp "box:relative" "$T/x"
        refused_with 2 "must be absolute" "a relative path in the sandbox"
        mb cp --bogus "$T/a" "box:/x"
        assert_eq 2 "$RC" "an unknown flag"
}

# as_member FILE SA ROLE: a kubeconfig for a ServiceAccount SA of NS bound to the project role ROLE
as_member() {
        local tok
        kubectl -n "$NS" create serviceaccount "$2" >/dev/null
        kubectl -n "$NS" create rolebinding "$2" --clusterrole="$3" --serviceaccount="$NS:$2" >/dev/null
        tok=$(kubectl -n "$NS" create token "$2") || fail "no token for $2"
        cp "$KUBECONFIG" "$1"
        KUBECONFIG=$1 kubectl config set-credentials "$2" --token="$tok" >/dev/null
        KUBECONFIG=$1 kubectl config set-context --current --user="$2" >/dev/null
}

test_as_project_members() {
        cli_sandbox
        as_member "$T/dev" dev mbox-developer
        as_member "$T/viewer" viewer mbox-viewer
        wait_for "the developer's role to apply" 20 "$MBOX" cp --kubeconfig "$T/dev" -n "$NS" "box:/etc/hostname" -
        # a developer runs tasks, registers and reads artifacts, copies both ways
        mb task run --kubeconfig "$T/dev" box --name by-dev -- sh -c "echo hi; echo there >&2; printf x >$WD/x"
        assert_eq "0 hi there" "$RC $(cat "$T/out") $(cat "$T/err")" "a developer's task run"
        mb artifact push --kubeconfig "$T/dev" --task by-dev "$WD/x" --name x
        assert_eq "0 x" "$RC $(cat "$T/out")" "a developer's artifact push"
        mb artifact get --kubeconfig "$T/dev" x
        assert_eq "0 x" "$RC $(cat "$T/out")" "a developer's artifact get"
        printf 'note\n' >"$T/note"
        mb cp --kubeconfig "$T/dev" "$T/note" "box:$WD/note"
        assert_eq 0 "$RC" "a developer's upload (stderr: $(cat "$T/err"))"
        # a viewer reads what is there, and is refused the rest with the reason
        mb task logs --kubeconfig "$T/viewer" by-dev
        assert_eq "0 hi there" "$RC $(cat "$T/out") $(cat "$T/err")" "a viewer's task logs"
        mb artifact get --kubeconfig "$T/viewer" x
        assert_eq "0 x" "$RC $(cat "$T/out")" "a viewer's artifact get"
        mb cp --kubeconfig "$T/viewer" "box:$WD/x" "$T/viewed"
        assert_eq "0 x" "$RC $(cat "$T/viewed")" "a viewer's download"
        mb task run --kubeconfig "$T/viewer" box -- true
        refused_with 1 'cannot create resource "executiontasks"' "a viewer's task run"
        mb task cancel --kubeconfig "$T/viewer" by-dev
        refused_with 1 'cannot patch resource "executiontasks"' "a viewer's task cancel"
        mb cp --kubeconfig "$T/viewer" "$T/note" "box:$WD/viewer-note"
        refused_with 1 'cannot update resource "sandboxes/files"' "a viewer's upload"
}
