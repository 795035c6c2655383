# Shared helpers for the integration tests, sourced by each tests/integration/test-*.sh.
# A test file defines functions named test_*; tests/integration/run.sh runs each in its own subshell
# against the local cluster (hack/cluster.sh), with a fresh namespace from new_namespace when it needs one.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/hack/versions.sh"
export MBOX_STATE_DIR=${MBOX_STATE_DIR:-/var/tmp/mbox-$(id -un)}
export KUBECONFIG=$MBOX_STATE_DIR/kubeconfig
export PATH=$K8S_BIN:$PATH
PKI=$MBOX_STATE_DIR/pki
PG_PORT=${MBOX_PG_PORT:-15432}
APISERVER_PORT=${MBOX_APISERVER_PORT:-6443}

_namespaces=()
_pids=()

log() { printf '    %s\n' "$*" >&2; }

fail() {
        printf '    FAIL: %s\n' "$*" >&2
        exit 1
}

# new_namespace PREFIX: creates a namespace with a unique name, prints it, deletes it when the test ends.
new_namespace() {
        local ns
        ns="$1-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        kubectl create namespace "$ns" >/dev/null || fail "cannot create namespace '$ns'"
        # pods are refused until the ServiceAccount controller has made the default account
        wait_for "serviceaccount in $ns" 30 kubectl -n "$ns" get serviceaccount default
        printf '%s\n' "$ns" >>"$_cleanup_file"
        printf '%s' "$ns"
}

# bg_start CMD...: starts a helper process for the test; it is killed (by PID) when the test ends.
bg_start() {
        "$@" &
        printf 'pid %s\n' "$!" >>"$_cleanup_file"
}

# wait_for DESC SECONDS CMD...: polls CMD every 0.25 s until it succeeds.
wait_for() {
        local what=$1 secs=$2 i
        shift 2
        for ((i = 0; i < secs * 4; i++)); do
                if "$@" >/dev/null 2>&1; then return 0; fi
                sleep 0.25
        done
        fail "timed out after ${secs}s waiting for $what"
}

assert_eq() { # expected actual what
        [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_contains() { # haystack needle what
        case $1 in *"$2"*) ;; *) fail "$3: expected to contain '$2', got '$1'" ;; esac
}

_cleanup() {
        local kind v
        while read -r kind v; do
                case $kind in
                pid) kill "$v" 2>/dev/null ;;
                *) kubectl delete namespace "$kind" --wait=false >/dev/null 2>&1 ;;
                esac
        done <"$_cleanup_file"
        rm -f "$_cleanup_file"
}
