# Shared by bench/*/run.sh (sourced after tests/integration/lib.sh and root are set).
# bench_needs NAME FILE...: each FILE (relative to the repository) is built, else says which make target is
# missing and exits; then brings up this checkout's private bench stack (hack/stack.sh: its own state
# directory and free ports, never the stack of `make up`) with MBOX_KWOK_NODES nodes, and points kubectl,
# PKI and the Postgres port at it. The bench's cleanup ends with bench_release, which stops and removes
# that stack unless it was running before or MBOX_KEEP_CLUSTER=1.
bench_needs() {
        local name=$1 f
        shift
        for f in "$@"; do
                [ -e "$root/$f" ] || {
                        echo "$name: $f is missing (make all)" >&2
                        exit 1
                }
        done
        stack_private bench "$root"
        echo "$name: bench stack in $MBOX_STATE_DIR" >&2
        stack_ensure "$root" || {
                echo "$name: the bench stack did not come up; see $MBOX_STATE_DIR/logs/" >&2
                exit 1
        }
        # until the bench sets its own cleanup (which ends with bench_release), a failure still stops it
        trap bench_release EXIT
        use_stack
}

bench_release() { stack_release "$root"; }

# bench_project NAME: the Project NAME (its namespace mbox-NAME), removed by the bench's cleanup; waits until
# it is Ready.
bench_project() {
        printf 'project %s\n' "$1" >>"$_cleanup_file"
        kubectl apply -f - >/dev/null <<YAML
apiVersion: mbox.dev/v1alpha1
kind: Project
metadata: {name: $1}
spec: {displayName: ${2:-$1}}
YAML
        kubectl wait --for=condition=Ready "projects.mbox.dev/$1" --timeout=60s >/dev/null
}
