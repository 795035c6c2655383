# The walkthrough's busybox sandbox on the stack's real node (hack/node.sh), as a user sees it: kubectl,
# ExecutionTasks and a terminal exec. There the sandbox is a real container, so what mbox promises about
# isolation can be checked inside it: a non-root uid, no effective capabilities, no service-account token,
# a real PTY, and a timed-out or canceled task leaves no process behind. The walkthrough's Node.js sandbox
# runs there too, on the node's image of Debian's nodejs.

# setup_real [TEMPLATE-FILE TEMPLATE]: operator (with the database), the demo project and a template from
# examples/ (by default the busybox one), the placement policy of the local overlay, and a Running sandbox
# "box" from that template; sets NS, POD, NODE.
setup_real() {
        NODE=$(kubectl get nodes -l mbox.dev/node=real -o jsonpath='{.items[0].metadata.name}')
        [ -n "$NODE" ] || fail "the stack has no real node (hack/node.sh runs only as root): $(tail -n 3 "$MBOX_STATE_DIR/logs/kubelet.log" 2>&1)"
        setup_operator --database-url="postgresql://postgres@127.0.0.1:$PG_PORT/mbox"
        NS=mbox-demo
        demo_room
        printf 'project demo\n' >>"$_cleanup_file"
        kubectl apply -f "$root/examples/00-project.yaml" >/dev/null
        wait_for "project demo Ready" 60 kubectl wait --for=condition=Ready projects.mbox.dev/demo --timeout=1s
        kubectl apply -f "$root/manifests/overlays/local/real-node-placement.yaml" >/dev/null
        printf 'object mutatingadmissionpolicy/mbox-local-real-node\nobject mutatingadmissionpolicybinding/mbox-local-real-node\n' \
                >>"$_cleanup_file"
        # kube-apiserver applies a new admission policy once its informer has it: the template's warm pod
        # must not come before (it would land on KWOK)
        wait_for "the placement policy in force" 30 placement_in_force mbox-demo busybox-terminal
        local file=${1:-02-template-busybox.yaml} template=${2:-busybox-terminal}
        kubectl apply -f "$root/examples/$file" >/dev/null
        # on a stack that just started, mbox.dev kinds can be Established a moment before they are served
        new_box() { TEMPLATE=$template sandbox "$NS" box 2>/dev/null; }
        wait_for "sandbox box created" 30 new_box
        wait_timed "sandbox box Running on the real node" 120 phase_is "$NS" box Running
        POD=$(kubectl -n "$NS" get sandboxes.mbox.dev box -o jsonpath='{.status.podName}')
        kubectl -n "$NS" wait --for=condition=Ready "pod/$POD" --timeout=60s >/dev/null || fail "pod $POD not Ready"
}

# task NAME COMMAND-JSON [EXTRA-SPEC-YAML]: an ExecutionTask in the sandbox box
task() {
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: ExecutionTask
metadata: {name: $1, namespace: $NS}
spec:
  sandboxRef: {name: box}
  command: $2
${3:-}
YAML
}
tget() { kubectl -n "$NS" get executiontasks.mbox.dev "$1" -o jsonpath="{$2}"; }
tphase_is() { [ "$(tget "$1" .status.phase)" = "$2" ]; }
finished() { case $(tget "$1" .status.phase) in Succeeded | Failed | Canceled | TimedOut) return 0 ;; esac; return 1; }
# run_task NAME COMMAND-JSON: a task that must succeed; prints its stdout
run_task() {
        task "$1" "$2"
        wait_for "task $1 finished" 60 finished "$1"
        assert_eq Succeeded "$(tget "$1" .status.phase)" "task $1 ($2): $(tget "$1" .status.stderrTail)"
        tget "$1" .status.stdoutTail
}
# sleeps_in_pod: the sleep processes in the sandbox's container, seen from inside it
sleeps_in_pod() { kubectl -n "$NS" exec "$POD" -- ps -o args | grep -c '^sleep 60[0-9]' || true; }
no_sleeps() { [ "$(sleeps_in_pod)" -eq 0 ]; }

test_busybox_sandbox_is_a_real_container() {
        setup_real
        assert_eq "$NODE" "$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.spec.nodeName}')" "the sandbox's node"
        assert_eq registry.mbox.localhost/mbox/busybox-debian:bookworm "$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.spec.containers[0].image}')" \
                "the image of the node's registry, built from Debian's busybox-static"
        # pulled from that registry (by digest), not imported
        assert_contains "$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.status.containerStatuses[0].imageID}')" \
                "registry.mbox.localhost/mbox/busybox-debian@sha256:" "the image the node pulled"
        # a pod IP on the node's bridge, answering from this machine
        local ip
        ip=$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.status.podIP}')
        assert_contains "$(ip -4 route show dev "mbox${NODE##*-}")" "${ip%.*}.0/24" "the pod IP $ip is on the node's bridge"

        local out
        out=$(run_task id '["id"]')
        assert_contains "$out" "uid=1000" "id in a task"
        case $out in *"uid=0("*) fail "a task runs as root: $out" ;; esac
        out=$(run_task caps '["grep", "^CapEff", "/proc/self/status"]')
        assert_eq "$(printf 'CapEff:\t0000000000000000')" "$out" "effective capabilities of a task"
        out=$(run_task token '["sh", "-c", "ls /var/run/secrets/kubernetes.io/serviceaccount 2>&1 || true"]')
        assert_contains "$out" "No such file or directory" "the service-account token directory"
        # the container's own process tree: its first process is the template's command, not a host process
        out=$(run_task pid1 '["cat", "/proc/1/cmdline"]')
        assert_contains "$out" "tail" "PID 1 of the container"
}

test_terminal_exec_has_a_pty() {
        setup_real
        local out
        # kubectl exec -it under a terminal of its own (script), as a user at a terminal runs it
        # (the terminal echoes what script's end of input sends, such as ^@, around the answer)
        out=$(script -qec "kubectl -n $NS exec -it $POD -- tty" /dev/null </dev/null | tr -cd '[:print:]')
        [[ $out =~ /dev/pts/[0-9]+ ]] || fail "tty in an exec with a TTY printed '$out', expected /dev/pts/N"
        case $out in *"not a tty"*) fail "tty in an exec with a TTY printed '$out'" ;; esac
        out=$(kubectl -n "$NS" exec "$POD" -- tty 2>/dev/null || true)
        assert_eq "not a tty" "$out" "tty in an exec without a TTY"
}

test_timed_out_and_canceled_tasks_leave_no_process() {
        setup_real
        task slow '["sh", "-c", "sleep 601 & sleep 602"]' '  timeoutSeconds: 3'
        task stopme '["sh", "-c", "sleep 603 & sleep 604"]'
        wait_for "stopme Running" 30 tphase_is stopme Running
        has_sleeps() { [ "$(sleeps_in_pod)" -gt 0 ]; }
        wait_for "the tasks' sleeps in the container" 30 has_sleeps
        wait_timed "slow TimedOut (timeoutSeconds 3)" 60 tphase_is slow TimedOut
        kubectl -n "$NS" patch mtask stopme --type=merge -p '{"spec":{"cancel":true}}' >/dev/null
        wait_timed "stopme Canceled" 60 tphase_is stopme Canceled
        wait_timed "no sleep left in the container" 30 no_sleeps
}

# the workspace is a volume the sandbox user writes, and it outlives the pod: a stop and a start give the
# sandbox a new pod on the node with the same workspace
test_the_workspace_outlives_a_stop() {
        setup_real
        local out pod
        out=$(run_task write '["sh", "-c", "echo kept-$((6 * 7)) > kept && pwd && id -u"]')
        assert_contains "$out" "1000" "the task's user"
        pod=$POD
        kubectl -n "$NS" patch sandboxes.mbox.dev box --type=merge -p '{"spec":{"state":"Stopped"}}' >/dev/null
        wait_timed "sandbox box Stopped" 90 phase_is "$NS" box Stopped
        kubectl -n "$NS" patch sandboxes.mbox.dev box --type=merge -p '{"spec":{"state":"Running"}}' >/dev/null
        wait_timed "sandbox box Running again" 120 phase_is "$NS" box Running
        POD=$(kubectl -n "$NS" get sandboxes.mbox.dev box -o jsonpath='{.status.podName}')
        [ "$POD" != "$pod" ] || log "the same pod name after the start: $POD"
        assert_eq "$NODE" "$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.spec.nodeName}')" "the new pod's node"
        assert_eq kept-42 "$(run_task read '["cat", "kept"]')" "the file written before the stop"
}

# the walkthrough's Node.js template (demo-sandbox's, the project's default) on the real node: its image is
# the node's, made from Debian bookworm's nodejs package, and node runs there as the sandbox user
test_nodejs_sandbox_is_a_real_container() {
        setup_real 01-template-nodejs.yaml nodejs-workspace
        # the NODE column of kubectl get pod -o wide
        assert_eq "$NODE" "$(kubectl -n "$NS" get pod "$POD" -o wide --no-headers | awk '{print $(NF - 2)}')" "the sandbox's node"
        assert_eq "$NODE_NODEJS_IMAGE" "$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.spec.containers[0].image}')" \
                "the image the node has, built from Debian's nodejs (the template names node:22-bookworm-slim)"
        local deb out
        deb=$(run_task deb '["dpkg-query", "-W", "-f=${Version}", "nodejs"]')
        [[ $deb =~ ^18\.[0-9]+\.[0-9]+\+dfsg ]] || fail "Debian bookworm's nodejs package in the image: '$deb'"
        # the image says which nodejs it holds (org.opencontainers.image.version)
        out=$("$CRICTL_BIN/crictl" --image-endpoint "unix://$MBOX_STATE_DIR/node/run/containerd.sock" inspecti -o json \
                "$NODE_NODEJS_IMAGE" 2>/dev/null | jq -r '.info.imageSpec.config.Labels["org.opencontainers.image.version"]')
        assert_eq "$deb" "$out" "the image's org.opencontainers.image.version"
        out=$(run_task node '["node", "-e", "console.log(process.version, process.getuid())"]')
        assert_eq "v${deb%%+*} 1000" "$out" "node's version and uid in a task"
        # HOME of the sandbox user is its workspace, the working directory of the template
        out=$(run_task where '["sh", "-c", "pwd; echo $HOME; id -un"]')
        assert_eq "$(printf '/workspace\n/workspace\nsandbox')" "$out" "the task's directory, HOME and user name"
}
