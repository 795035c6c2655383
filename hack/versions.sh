# Pinned versions of everything hack/ builds from Go modules. Sourced by the other hack/ scripts.
# Changing a version here makes the next build land in a new cache directory; old ones are left alone.
K8S_VERSION=1.36.3
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
# bumped whenever hack/ changes how KWOK is built (hack/kwok/), so a stale cached binary is never reused
KWOK_BUILD=mbox2
AGENT_SANDBOX_VERSION=1.0.3
# the real node (hack/node.sh): kubelet is built from K8S_VERSION, the runtime and its tools from these
CONTAINERD_VERSION=2.4.2
RUNC_VERSION=1.5.3
CNI_PLUGINS_VERSION=1.10.0
CRI_TOOLS_VERSION=1.37.0
# NetworkPolicy on the real node; built with hack/netpol/*.go, whose hash keys the cache too
NETPOL_VERSION=0.8.0
# the node's image registry (crane registry serve) and the tool that pushes to it
GGCR_VERSION=0.22.1
# bumped whenever hack/build-binaries.sh changes how it is built
NETPOL_BUILD=mbox1

# Built binaries live outside the repository, keyed by version, and are reused when present.
MBOX_CACHE_DIR=${MBOX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mbox}
K8S_BIN=$MBOX_CACHE_DIR/k8s-v$K8S_VERSION
ETCD_BIN=$MBOX_CACHE_DIR/etcd-v$ETCD_VERSION
KWOK_BIN=$MBOX_CACHE_DIR/kwok-v$KWOK_VERSION-$KWOK_BUILD
AGENT_SANDBOX_BIN=$MBOX_CACHE_DIR/agent-sandbox-v$AGENT_SANDBOX_VERSION
KUBELET_BIN=$MBOX_CACHE_DIR/kubelet-v$K8S_VERSION
CONTAINERD_BIN=$MBOX_CACHE_DIR/containerd-v$CONTAINERD_VERSION
RUNC_BIN=$MBOX_CACHE_DIR/runc-v$RUNC_VERSION
CNI_BIN=$MBOX_CACHE_DIR/cni-plugins-v$CNI_PLUGINS_VERSION
CRICTL_BIN=$MBOX_CACHE_DIR/cri-tools-v$CRI_TOOLS_VERSION
CRANE_BIN=$MBOX_CACHE_DIR/crane-v$GGCR_VERSION
NETPOL_BIN=$MBOX_CACHE_DIR/kube-network-policies-v$NETPOL_VERSION-$NETPOL_BUILD-$(cat "$(dirname "${BASH_SOURCE[0]}")"/netpol/*.go 2>/dev/null | sha256sum | cut -c1-12)
# The real node's images, built from Debian packages and Kubernetes' pause.c, never pulled (hack/node.sh
# imports them into its containerd). The busybox tag names the Debian release it comes from; the exact
# package version is in the image's config (org.opencontainers.image.version).
NODE_PAUSE_IMAGE=localhost/mbox/pause:k8s-$K8S_VERSION
# The images other than pause are served to the node by a registry on loopback (hack/node.sh): its name
# below is the same on every stack (a .localhost name, never resolved: containerd's hosts.toml for it points
# at the stack's registry port).
NODE_REGISTRY=registry.mbox.localhost
NODE_BUSYBOX_IMAGE=$NODE_REGISTRY/mbox/busybox-debian:bookworm
NODE_IMAGES_DIR=$MBOX_CACHE_DIR/node-images-k8s-$K8S_VERSION-$( (cat "$(dirname "${BASH_SOURCE[0]}")/node/oci-image.py" &&
        dpkg-query -W -f='${Version}' busybox-static) 2>/dev/null | sha256sum | cut -c1-16)
# The Node.js image (hack/node/nodejs-image.sh) is Debian bookworm's nodejs, made with mmdebstrap from the
# mirror; its directory is keyed by the scripts that make it, so a changed build never reuses an old image.
# A warm cluster-up reuses it as long as it is there: remove the directory to take a newer Debian update.
NODE_NODEJS_IMAGE=$NODE_REGISTRY/mbox/nodejs-debian:bookworm
NODE_NODEJS_IMAGE_DIR=$MBOX_CACHE_DIR/node-image-nodejs-bookworm-$(cat "$(dirname "${BASH_SOURCE[0]}")"/node/{oci-image.py,nodejs-image.sh} 2>/dev/null |
        sha256sum | cut -c1-16)
# The integration tests' client-go exec program is keyed by a hash of its sources, not a version: editing
# them (a client-go bump included) makes the next build land in a new directory.
REMOTECOMMAND_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/go/remotecommand
REMOTECOMMAND_BIN=$MBOX_CACHE_DIR/remotecommand-$( (cd "$REMOTECOMMAND_SRC" && cat go.mod go.sum main.go || true) 2>/dev/null |
        sha256sum | cut -c1-16)

# The Go that builds them: the machine's own when it is GO_VERSION's minor line or newer, else the go
# command fetches GO_VERSION through the module proxy (hack/install-deps.sh installs a go that can).
GO_VERSION=1.26.8
if [ "$(printf '%s\n' "${GO_VERSION%.*}" "$(go env GOVERSION 2>/dev/null | sed 's/^go//')" | sort -V | head -n 1)" = "${GO_VERSION%.*}" ]; then
        export GOTOOLCHAIN=local
else
        export GOTOOLCHAIN=go$GO_VERSION
fi
