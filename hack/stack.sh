# The layout of one local stack: its state directory and its ports. Sourced by every script that starts or
# uses a stack (hack/cluster.sh, hack/mbox.sh, tests/, bench/); sourcing it exports MBOX_STATE_DIR and
# sets every MBOX_*_PORT below (stack_export exports them, for programs that read them).
#
# A stack is named by its state directory alone. Its ports are fixed when it starts with nothing running
# and written to $MBOX_STATE_DIR/ports.env; every later command reads them there, whatever its own
# environment says, so `make cluster-status` or a test finds the stack where it really is. At that start a
# port comes from its variable when set, else a free port when MBOX_FREE_PORTS=1, else its default.
#
# `make up` runs the user's stack in /var/tmp/mbox-$USER on the default ports. `make test` and the
# benchmarks run private stacks (stack_private) in a directory of their own, keyed by the checkout, on
# free ports: they never touch the user's stack, nor the stack of another checkout.

STACK_PORTS=(
        MBOX_ETCD_PORT=2379 MBOX_ETCD_PEER_PORT=2380 MBOX_APISERVER_PORT=6443 MBOX_KCM_PORT=10257
        MBOX_SCHEDULER_PORT=10259 MBOX_KWOK_PORT=10247 MBOX_AGENT_SANDBOX_METRICS_PORT=18080
        MBOX_AGENT_SANDBOX_HEALTH_PORT=18081 MBOX_PG_PORT=15432 MBOX_OPERATOR_PORT=18091
        MBOX_APISERVER_LOCAL_PORT=18443 MBOX_PREVIEW_PORT=18480 MBOX_CONSOLE_PORT=18490
        MBOX_KUBELET_PORT=10250 MBOX_KUBELET_HEALTHZ_PORT=10248
)

# stack_load: MBOX_STATE_DIR (default the user's stack) and every port, from ports.env when the stack has
# one, else from the environment or the defaults. The ports the environment set are kept, as NAME=PORT
# words, in STACK_EXPLICIT for stack_fix_ports.
stack_load() {
        local kv name
        export MBOX_STATE_DIR=${MBOX_STATE_DIR:-/var/tmp/mbox-$(id -un)}
        STACK_EXPLICIT=" "
        for kv in "${STACK_PORTS[@]}"; do
                name=${kv%%=*}
                # only the environment's: a value an earlier stack_load set here is not the user's
                printenv "$name" >/dev/null && STACK_EXPLICIT+="$name=$(printenv "$name") "
        done
        # shellcheck disable=SC1091
        [ -f "$MBOX_STATE_DIR/ports.env" ] && . "$MBOX_STATE_DIR/ports.env"
        local taken=" " port
        [ -f "$MBOX_STATE_DIR/ports.env" ] && taken+="$(cut -d= -f2 "$MBOX_STATE_DIR/ports.env" | tr '\n' ' ')"
        for kv in "${STACK_PORTS[@]}"; do
                name=${kv%%=*}
                [ -z "${!name:-}" ] || continue
                # a port a newer hack/ added to a private stack made before it: a free one, kept from now on
                if [ "${MBOX_FREE_PORTS:-0}" = 1 ] && [ -f "$MBOX_STATE_DIR/ports.env" ]; then
                        port=$(stack_free_port "$taken")
                        taken+="$port "
                        printf '%s=%s\n' "$name" "$port" >>"$MBOX_STATE_DIR/ports.env"
                        printf -v "$name" '%s' "$port"
                else
                        printf -v "$name" '%s' "${kv#*=}"
                fi
        done
}

# stack_export: exports every port, for child programs that read them (the C integration tests). A script
# that starts a stack never exports them first: its children would take them for ports the user set.
stack_export() {
        local kv
        for kv in "${STACK_PORTS[@]}"; do export "${kv%%=*}"; done
}

# stack_fix_ports: chooses every port anew (variable, free port or default, as above) and writes
# ports.env. Called by hack/cluster.sh up when nothing of the stack is running.
stack_fix_ports() {
        local kv name port taken=" "
        mkdir -p "$MBOX_STATE_DIR"
        : >"$MBOX_STATE_DIR/ports.env.new"
        for kv in "${STACK_PORTS[@]}"; do
                name=${kv%%=*}
                if [[ $STACK_EXPLICIT == *" $name="* ]]; then
                        port=${STACK_EXPLICIT#*" $name="}
                        port=${port%% *}
                elif [ "${MBOX_FREE_PORTS:-0}" = 1 ]; then
                        port=$(stack_free_port "$taken")
                else
                        port=${kv#*=}
                fi
                taken+="$port "
                printf -v "$name" '%s' "$port"
                printf '%s=%s\n' "$name" "$port" >>"$MBOX_STATE_DIR/ports.env.new"
        done
        mv "$MBOX_STATE_DIR/ports.env.new" "$MBOX_STATE_DIR/ports.env"
}

# stack_free_port TAKEN: a TCP port on loopback that nothing listens on and that is not in TAKEN (a
# space-separated list), below the kernel's ephemeral range so that no outgoing connection takes it later.
stack_free_port() {
        local p
        while :; do
                p=$((20000 + RANDOM % 12000))
                [[ $1 == *" $p "* ]] && continue
                ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
                printf '%s' "$p"
                return
        done
}

# stack_private NAME ROOT: selects the private stack NAME of the checkout at ROOT (tests, benchmarks):
# /var/tmp/mbox-NAME-$USER-<hash of ROOT> on free ports, whatever ports the environment names. A set
# MBOX_TEST_STATE_DIR (tests) or MBOX_BENCH_STATE_DIR (benchmarks) names another directory.
stack_private() {
        local kv override
        case $1 in
        test) override=${MBOX_TEST_STATE_DIR:-} ;;
        bench) override=${MBOX_BENCH_STATE_DIR:-} ;;
        esac
        MBOX_STATE_DIR=${override:-/var/tmp/mbox-$1-$(id -un)-$(printf '%s' "$2" | sha256sum | cut -c1-8)}
        for kv in "${STACK_PORTS[@]}"; do unset "${kv%%=*}"; done
        export MBOX_FREE_PORTS=1
        stack_load
}

# stack_ensure ROOT: brings the selected stack up (`up` twice is safe: it starts what is missing and adds
# the MBOX_KWOK_NODES nodes); STACK_STARTED=1 when it was not running before, and the caller's
# stack_release stops it again.
stack_ensure() {
        STACK_STARTED=1
        ! bash "$1/hack/cluster.sh" status >/dev/null 2>&1 || STACK_STARTED=0
        bash "$1/hack/cluster.sh" up >&2 || return 1
        stack_load
}

# stack_release ROOT: stops and removes the stack that stack_ensure started, unless MBOX_KEEP_CLUSTER=1.
stack_release() {
        [ "${STACK_STARTED:-0}" = 1 ] && [ "${MBOX_KEEP_CLUSTER:-0}" != 1 ] || return 0
        bash "$1/hack/cluster.sh" down --purge >/dev/null
}

stack_load
