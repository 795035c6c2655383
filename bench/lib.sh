# Shared by bench/*/run.sh (sourced after root is set).
# bench_needs NAME FILE...: the local cluster answers and each FILE (relative to the repository) is built;
# otherwise says which make target is missing and exits.
bench_needs() {
        local name=$1 f
        shift
        kubectl get --raw /readyz >/dev/null 2>&1 || {
                echo "$name: no cluster at KUBECONFIG='$KUBECONFIG' (make cluster-up)" >&2
                exit 1
        }
        for f in "$@"; do
                [ -e "$root/$f" ] || {
                        echo "$name: $f is missing (make all)" >&2
                        exit 1
                }
        done
}
