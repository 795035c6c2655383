#!/usr/bin/env bash
# Builds the local control plane's binaries from Go modules into a cache outside the repository:
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (k8s.io/kubernetes), etcd, KWOK and
# the agent-sandbox controller; and remotecommand, the integration tests' client-go exec program. Each
# component is skipped when its versioned directory is complete.
# The real node's binaries come the same way: kubelet, containerd, runc, the CNI plugins, crictl, crane
# (its image registry) and the NetworkPolicy agent.
# Usage: hack/build-binaries.sh [k8s|etcd|kwok|agent-sandbox|remotecommand|kubelet|containerd|runc|
#                                cni-plugins|crictl|crane|netpol|node-images ...]   (default: all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

export CGO_ENABLED=0 GOFLAGS=-modcacherw
export GOPROXY=${GOPROXY:-https://proxy.golang.org}
work=$MBOX_CACHE_DIR/src
mkdir -p "$work"

log() { printf 'build: %s\n' "$*" >&2; }

# One build at a time on a machine: checkouts share the cache (make up beside make test, two clones), and
# two builds of a component would remove each other's work directories. The second waits, then finds the
# binaries the first built.
exec 9>"$MBOX_CACHE_DIR/.build.lock"
if ! flock -n 9; then
        log "another build of these binaries is running; waiting for it"
        flock 9
fi

# ldflags that stamp the real version into k8s.io binaries (the same -X targets as upstream's version.sh)
stamp() { # version major minor
        local v=$1 ld="-s -w" d p
        d=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
                ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=$2 -X $p.gitMinor=$3 -X $p.gitTreeState=clean"
                ld="$ld -X $p.gitCommit=none -X $p.buildDate=$d"
        done
        printf '%s' "$ld"
}

complete() { # dir binaries...
        local d=$1 b
        shift
        for b in "$@"; do [ -x "$d/$b" ] || return 1; done
}

# A wrapper module in dir that can build k8s.io/kubernetes commands at K8S_VERSION.
k8s_module() { # dir module-name
        local m gomod
        rm -rf "$1" && mkdir -p "$1" && cd "$1"
        printf 'module %s\n\ngo 1.26.0\n' "$2" >go.mod
        # k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them with replace lines that
        # Go ignores in dependencies, so each one is replaced here by its published v0.X.Y twin.
        gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
        for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
                go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"
        done
}

build_k8s() {
        local out=$K8S_BIN bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
        complete "$out" "${bins[@]}" && { log "kubernetes v$K8S_VERSION cached"; return; }
        log "kubernetes v$K8S_VERSION: building ${bins[*]} (cold: tens of minutes on 2 cores)"
        local d=$work/k8s-v$K8S_VERSION minor=${K8S_VERSION#1.}
        minor=${minor%%.*}
        k8s_module "$d" mbox.local/k8sbins
        cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
        go get "k8s.io/kubernetes@v$K8S_VERSION"
        go mod tidy
        mkdir -p "$out.tmp"
        go build -p 2 -trimpath -ldflags "$(stamp "v$K8S_VERSION" 1 "$minor")" -o "$out.tmp/" \
                k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
                k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
        rm -rf "$out" && mv "$out.tmp" "$out"
}

build_etcd() {
        complete "$ETCD_BIN" etcd && { log "etcd v$ETCD_VERSION cached"; return; }
        log "etcd v$ETCD_VERSION: building"
        local d=$work/etcd-v$ETCD_VERSION
        rm -rf "$d" && mkdir -p "$d" && cd "$d"
        # etcd's server module carries replace lines of its own, so it is wrapped in a module of ours that
        # only calls its main; kept apart from Kubernetes so their dependency pins never mix.
        printf 'module mbox.local/etcdbin\n\ngo 1.26.0\n' >go.mod
        cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
        go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
        go mod tidy
        mkdir -p "$ETCD_BIN.tmp"
        go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN.tmp/etcd" .
        rm -rf "$ETCD_BIN" && mv "$ETCD_BIN.tmp" "$ETCD_BIN"
}

build_kwok() {
        complete "$KWOK_BIN" kwok && [ -d "$KWOK_BIN/kustomize" ] && { log "kwok v$KWOK_VERSION cached"; return; }
        log "kwok v$KWOK_VERSION: building"
        local d=$work/kwok-v$KWOK_VERSION src
        src=$(go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
        rm -rf "$d" && cp -r "$src" "$d" && chmod -R u+w "$d" && cd "$d"
        # Two fixes to KWOK's exec, so it behaves like a kubelet; the build fails loudly if the lines they
        # touch ever change upstream. Exit codes: see hack/kwok/exit_code.go; the two returns of a failed
        # wait are routed through it.
        cp "$here/kwok/exit_code.go" pkg/utils/exec/mbox_exit_code.go
        sed -i 's/return nil, fmt.Errorf("cmd wait: \(.*\))$/return nil, withExitCode(fmt.Errorf("cmd wait: \1))/' \
                pkg/utils/exec/exec.go
        # stdin: KWOK copies the client's stdin into the command but never closes the pipe, so a command
        # that reads to the end of its input (`cat`, `sh -s`) never finishes; close it when the copy ends.
        sed -i 's/_, _ = io.Copy(inPipe, opt.In)$/_, _ = io.Copy(inPipe, opt.In); _ = inPipe.Close()/' \
                pkg/utils/exec/exec.go
        [ "$(grep -c 'withExitCode(fmt.Errorf("cmd wait' pkg/utils/exec/exec.go)" = 2 ] &&
                grep -q 'inPipe.Close()' pkg/utils/exec/exec.go ||
                { log "kwok: pkg/utils/exec/exec.go changed upstream; update hack/build-binaries.sh"; exit 1; }
        mkdir -p "$KWOK_BIN.tmp/kustomize"
        go build -trimpath -ldflags "-s -w" \
                -o "$KWOK_BIN.tmp/kwok" ./cmd/kwok
        # kwok reads its stage definitions and CRDs at run time; keep the module's copies beside the binary.
        cp -r "$src/kustomize/stage" "$src/kustomize/crd" "$KWOK_BIN.tmp/kustomize/"
        chmod -R u+w "$KWOK_BIN.tmp"
        rm -rf "$KWOK_BIN" && mv "$KWOK_BIN.tmp" "$KWOK_BIN"
}

build_agent_sandbox() {
        complete "$AGENT_SANDBOX_BIN" agent-sandbox-controller && [ -d "$AGENT_SANDBOX_BIN/crds" ] &&
                { log "agent-sandbox v$AGENT_SANDBOX_VERSION cached"; return; }
        log "agent-sandbox v$AGENT_SANDBOX_VERSION: building"
        # `go install pkg@version` asks the proxy for the module's version list, which it does not serve for
        # this module; a wrapper module that requires the exact version needs no list.
        local d=$work/agent-sandbox-v$AGENT_SANDBOX_VERSION src
        rm -rf "$d" && mkdir -p "$d" && cd "$d"
        printf 'module mbox.local/agentsandboxbin\n\ngo 1.26.0\n' >go.mod
        cat >tools.go <<'GO'
//go:build tools

package tools

import _ "sigs.k8s.io/agent-sandbox/cmd/agent-sandbox-controller"
GO
        go mod edit -require="sigs.k8s.io/agent-sandbox@v$AGENT_SANDBOX_VERSION"
        go mod tidy
        mkdir -p "$AGENT_SANDBOX_BIN.tmp"
        go build -trimpath -ldflags "-s -w" -o "$AGENT_SANDBOX_BIN.tmp/agent-sandbox-controller" \
                sigs.k8s.io/agent-sandbox/cmd/agent-sandbox-controller
        src=$(go list -m -json "sigs.k8s.io/agent-sandbox" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
        cp -r "$src/k8s/crds" "$AGENT_SANDBOX_BIN.tmp/crds"
        chmod -R u+w "$AGENT_SANDBOX_BIN.tmp"
        rm -rf "$AGENT_SANDBOX_BIN" && mv "$AGENT_SANDBOX_BIN.tmp" "$AGENT_SANDBOX_BIN"
}

# kubelet, the real node's agent (hack/node.sh), from the same Kubernetes release. Its own component, so the
# control plane's cached set is never rebuilt for it; the Go build cache shares most packages between them.
build_kubelet() {
        complete "$KUBELET_BIN" kubelet && { log "kubelet v$K8S_VERSION cached"; return; }
        log "kubelet v$K8S_VERSION: building"
        local d=$work/kubelet-v$K8S_VERSION minor=${K8S_VERSION#1.}
        minor=${minor%%.*}
        k8s_module "$d" mbox.local/kubeletbin
        printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kubelet"\n' >tools.go
        go get "k8s.io/kubernetes@v$K8S_VERSION"
        go mod tidy
        mkdir -p "$KUBELET_BIN.tmp"
        go build -p 2 -trimpath -ldflags "$(stamp "v$K8S_VERSION" 1 "$minor")" -o "$KUBELET_BIN.tmp/" \
                k8s.io/kubernetes/cmd/kubelet
        rm -rf "$KUBELET_BIN" && mv "$KUBELET_BIN.tmp" "$KUBELET_BIN"
}

# Builds packages of one module at an exact version through a wrapper module (the proxy does not list the
# versions of every module, and an exact require needs no list) into out.
wrapped_build() { # out module version tags ldflags packages...
        local out=$1 mod=$2 ver=$3 tags=$4 ldflags=$5 d=$work/${1##*/} p
        shift 5
        rm -rf "$d" && mkdir -p "$d" && cd "$d"
        printf 'module mbox.local/wrapped\n\ngo 1.26.0\n' >go.mod
        { printf '//go:build tools\n\npackage tools\n\nimport (\n'
          for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
          printf ')\n'; } >tools.go
        go mod edit -require="$mod@$ver"
        go mod tidy
        mkdir -p "$out.tmp"
        go build -p 2 -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out.tmp/" "$@"
        rm -rf "$out" && mv "$out.tmp" "$out"
}

# containerd 2.x, its runc shim and ctr. The snapshotters that need C libraries (btrfs, devmapper, zfs) are
# left out: the node uses overlayfs.
build_containerd() {
        complete "$CONTAINERD_BIN" containerd containerd-shim-runc-v2 ctr &&
                { log "containerd v$CONTAINERD_VERSION cached"; return; }
        log "containerd v$CONTAINERD_VERSION: building"
        local m=github.com/containerd/containerd/v2
        wrapped_build "$CONTAINERD_BIN" $m "v$CONTAINERD_VERSION" \
                no_btrfs,no_devmapper,no_zfs,no_aufs \
                "-s -w -X $m/version.Version=v$CONTAINERD_VERSION" \
                $m/cmd/containerd $m/cmd/containerd-shim-runc-v2 $m/cmd/ctr
}

# runc needs cgo: its nsexec is C that runs before the Go runtime, and seccomp filters come from
# libseccomp (Debian's libseccomp-dev, hack/install-deps.sh). Linked against Debian's libseccomp.
build_runc() {
        complete "$RUNC_BIN" runc && { log "runc v$RUNC_VERSION cached"; return; }
        log "runc v$RUNC_VERSION: building"
        CGO_ENABLED=1 wrapped_build "$RUNC_BIN" github.com/opencontainers/runc "v$RUNC_VERSION" \
                seccomp,urfave_cli_no_docs \
                "-s -w -X main.version=$RUNC_VERSION" \
                github.com/opencontainers/runc
}

# The CNI plugins the node's network config uses (hack/node.sh).
build_cni_plugins() {
        complete "$CNI_BIN" bridge host-local loopback portmap && { log "cni plugins v$CNI_PLUGINS_VERSION cached"; return; }
        log "cni plugins v$CNI_PLUGINS_VERSION: building"
        local m=github.com/containernetworking/plugins
        wrapped_build "$CNI_BIN" $m "v$CNI_PLUGINS_VERSION" "" "-s -w" \
                $m/plugins/main/bridge $m/plugins/ipam/host-local $m/plugins/main/loopback $m/plugins/meta/portmap
}

# crictl, to look at the node's pods and containers (docs/local-cluster.md).
build_crictl() {
        complete "$CRICTL_BIN" crictl && { log "crictl v$CRI_TOOLS_VERSION cached"; return; }
        log "crictl v$CRI_TOOLS_VERSION: building"
        wrapped_build "$CRICTL_BIN" sigs.k8s.io/cri-tools "v$CRI_TOOLS_VERSION" \
                "" \
                "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" \
                sigs.k8s.io/cri-tools/cmd/crictl
}

# crane: the node's image registry (`crane registry serve`) and what pushes the node's images to it.
build_crane() {
        complete "$CRANE_BIN" crane && { log "crane v$GGCR_VERSION cached"; return; }
        log "crane v$GGCR_VERSION: building"
        wrapped_build "$CRANE_BIN" github.com/google/go-containerregistry "v$GGCR_VERSION" "" "-s -w" \
                github.com/google/go-containerregistry/cmd/crane
}

# The node's NetworkPolicy agent: sigs.k8s.io/kube-network-policies' controller behind hack/netpol/main.go
# (a kubeconfig, and the stack's own nftables table and queue), with two changes (below).
build_netpol() {
        complete "$NETPOL_BIN" kube-network-policies && { log "kube-network-policies v$NETPOL_VERSION cached"; return; }
        log "kube-network-policies v$NETPOL_VERSION: building"
        local d=$work/netpol src p
        src=$(go mod download -json "sigs.k8s.io/kube-network-policies@v$NETPOL_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
        rm -rf "$d" && mkdir -p "$d" && cp -r "$src" "$d/module" && chmod -R u+w "$d" && cd "$d"
        # nftables' queue expression is missing from kernels built without CONFIG_NFT_QUEUE (this host's):
        # its two uses go through the x_tables NFQUEUE target instead (hack/netpol/xt_queue.go); the build
        # fails loudly if the lines they touch ever change upstream.
        p=module/pkg/networkpolicy
        cp "$here/netpol/xt_queue.go" "$p/mbox_xt_queue.go"
        perl -0pi -e 's/queue := &expr\.Queue\{Num: uint16\(c\.config\.QueueID\)\}\n\tif c\.config\.FailOpen \{\n\t\tqueue\.Flag = expr\.QueueFlagBypass\n\t\}/queue := xtNFQueue(c.config.QueueID, c.config.FailOpen)/g' \
                "$p/controller.go"
        # Without NRI (its socket is the machine's, not the stack's) a packet to an address that is no pod's
        # crashed the agent: the lookup asked an NRI plugin that does not exist.
        perl -0pi -e 's/(func \(p \*nriPlugin\) GetPodFromIP\(ip string\) string \{\n)/$1\tif p == nil {\n\t\treturn ""\n\t}\n/' \
                "$p/nri.go"
        [ "$(grep -c 'xtNFQueue(c.config.QueueID' "$p/controller.go")" = 2 ] && ! grep -q 'expr.Queue{' "$p/controller.go" &&
                grep -q 'if p == nil' "$p/nri.go" ||
                { log "kube-network-policies: controller.go or nri.go changed upstream; update hack/build-binaries.sh"; exit 1; }
        printf 'module mbox.local/netpol\n\ngo 1.26.0\n' >go.mod
        cp "$here/netpol/main.go" .
        go mod edit -require="sigs.k8s.io/kube-network-policies@v$NETPOL_VERSION" \
                -replace="sigs.k8s.io/kube-network-policies=./module"
        go mod tidy
        mkdir -p "$NETPOL_BIN.tmp"
        go build -p 2 -trimpath -ldflags "-s -w" -o "$NETPOL_BIN.tmp/kube-network-policies" .
        rm -rf "$NETPOL_BIN" && mv "$NETPOL_BIN.tmp" "$NETPOL_BIN"
}

# The node's images as OCI archives (hack/node/oci-image.py): the pause container from Kubernetes' own
# pause.c, compiled static; busybox from Debian's busybox-static, with its applets linked and a sandbox user
# (uid 1000, the uid mbox runs sandboxes as) in /etc/passwd.
build_node_images() {
        complete "$NODE_IMAGES_DIR" pause.tar busybox.tar && { log "node images cached"; return; }
        log "node images: building"
        local d=$work/node-images src bb
        rm -rf "$d" && mkdir -p "$d/pause" "$d/busybox/bin" "$d/busybox/etc" "$d/busybox/tmp" "$NODE_IMAGES_DIR.tmp"
        src=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
        gcc -static -Os -s -o "$d/pause/pause" "$src/build/pause/linux/pause.c" \
                -DVERSION="k8s-$K8S_VERSION"
        python3 "$here/node/oci-image.py" "$d/pause" "$NODE_PAUSE_IMAGE" "$NODE_IMAGES_DIR.tmp/pause.tar" --cmd /pause
        bb=$(dpkg -L busybox-static | grep -m 1 '/busybox$') ||
                { log "busybox-static is not installed; run hack/install-deps.sh"; exit 1; }
        cp "$bb" "$d/busybox/bin/busybox"
        for a in $("$bb" --list); do [ "$a" = busybox ] || ln -s busybox "$d/busybox/bin/$a"; done
        printf 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/workspace:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
                >"$d/busybox/etc/passwd"
        printf 'root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n' >"$d/busybox/etc/group"
        chmod 1777 "$d/busybox/tmp"
        python3 "$here/node/oci-image.py" "$d/busybox" "$NODE_BUSYBOX_IMAGE" "$NODE_IMAGES_DIR.tmp/busybox.tar" \
                --version "$(dpkg-query -W -f='${Version}' busybox-static)" --cmd sh
        rm -rf "$NODE_IMAGES_DIR" && mv "$NODE_IMAGES_DIR.tmp" "$NODE_IMAGES_DIR"
}

# remotecommand: tests/integration/go/remotecommand, a module of this repository with a complete go.sum.
# It is built from a copy, read-only as to its module files, so a build never edits the checkout.
build_remotecommand() {
        complete "$REMOTECOMMAND_BIN" remotecommand && { log "remotecommand ${REMOTECOMMAND_BIN##*-} cached"; return; }
        log "remotecommand ${REMOTECOMMAND_BIN##*-}: building"
        # client-go at the release of the Kubernetes it is checked against
        [ "$(awk '$1 == "k8s.io/client-go" {print $2}' "$REMOTECOMMAND_SRC/go.mod")" = "v0.${K8S_VERSION#1.}" ] || {
                log "remotecommand: go.mod must require k8s.io/client-go v0.${K8S_VERSION#1.} (K8S_VERSION $K8S_VERSION)"
                exit 1
        }
        local d=$work/remotecommand
        rm -rf "$d" && mkdir -p "$d" && cp "$REMOTECOMMAND_SRC"/{go.mod,go.sum,main.go} "$d/" && cd "$d"
        mkdir -p "$REMOTECOMMAND_BIN.tmp"
        go build -mod=readonly -trimpath -ldflags "-s -w" -o "$REMOTECOMMAND_BIN.tmp/remotecommand" .
        rm -rf "$REMOTECOMMAND_BIN" && mv "$REMOTECOMMAND_BIN.tmp" "$REMOTECOMMAND_BIN"
}

what=("$@")
[ ${#what[@]} -gt 0 ] || what=(etcd kwok agent-sandbox k8s remotecommand kubelet containerd runc cni-plugins crictl crane netpol node-images)
for w in "${what[@]}"; do
        case $w in
        k8s) dir=$K8S_BIN ;;
        etcd) dir=$ETCD_BIN ;;
        kwok) dir=$KWOK_BIN ;;
        agent-sandbox) dir=$AGENT_SANDBOX_BIN ;;
        remotecommand) dir=$REMOTECOMMAND_BIN ;;
        kubelet) dir=$KUBELET_BIN ;;
        containerd) dir=$CONTAINERD_BIN ;;
        runc) dir=$RUNC_BIN ;;
        cni-plugins) dir=$CNI_BIN ;;
        crictl) dir=$CRICTL_BIN ;;
        crane) dir=$CRANE_BIN ;;
        netpol) dir=$NETPOL_BIN ;;
        node-images) dir=$NODE_IMAGES_DIR ;;
        *) log "unknown component '$w'"; exit 2 ;;
        esac
        cached=0
        [ -d "$dir" ] && cached=1
        t0=$SECONDS
        case $w in
        k8s) (build_k8s) ;;
        etcd) (build_etcd) ;;
        kwok) (build_kwok) ;;
        agent-sandbox) (build_agent_sandbox) ;;
        remotecommand) (build_remotecommand) ;;
        kubelet) (build_kubelet) ;;
        containerd) (build_containerd) ;;
        runc) (build_runc) ;;
        cni-plugins) (build_cni_plugins) ;;
        crictl) (build_crictl) ;;
        crane) (build_crane) ;;
        netpol) (build_netpol) ;;
        node-images) (build_node_images) ;;
        esac
        # the cold build time, kept beside the binaries for bench/cluster.sh
        [ $cached -eq 1 ] || echo $((SECONDS - t0)) >"$dir/.build-seconds"
done
log "done: binaries in $MBOX_CACHE_DIR"
