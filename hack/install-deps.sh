#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the local stack need, and a Go that can build
# the pinned modules: on a bare Debian 12 (root or sudo, the package registries reachable) it is all that
# is needed. Idempotent: it does nothing when everything is present, so make targets can call it freely.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

pkgs=(
        build-essential pkg-config git curl ca-certificates openssl jq iproute2 procps util-linux python3 python3-yaml tmux
        libcurl4-openssl-dev libjson-c-dev libyaml-dev libssl-dev libpq-dev check libsubunit-dev libwslay-dev libmicrohttpd-dev libgnutls28-dev libzstd-dev
        postgresql postgresql-client
        clang llvm libclang-rt-14-dev clang-format clang-tidy cppcheck valgrind bear
        asciinema
        chromium
        # the real node (hack/node.sh): runc's seccomp, the busybox and Node.js images, the CNI bridge's NAT
        # rules, the outside network's routing and kube-apiserver relay
        libseccomp-dev busybox-static mmdebstrap iptables nftables socat
)
# Node.js and npm run the browser tests (tests/browser/): Debian's nodejs and npm unless a node is on PATH
# already (a node of another origin brings its own npm, which Debian's npm package would conflict with)
command -v node >/dev/null || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "install-deps: installing ${missing[*]}" >&2
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the modules need go >= 1.21 to fetch the pinned toolchain (hack/versions.sh GO_VERSION) through the
# module proxy; bookworm has 1.19, bookworm-backports a newer one.
go_minor=$(go env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')
if [ "${go_minor:-0}" -lt 21 ]; then
        echo "install-deps: no go >= 1.21 on PATH; installing golang-1.23-go from bookworm-backports" >&2
        # backports from the Debian mirror apt already uses
        mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
        [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
        [ -n "$mirror" ] || {
                echo "install-deps: cannot tell which Debian mirror apt uses: add bookworm-backports to apt's sources" >&2
                exit 1
        }
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$mirror" \
                /usr/share/keyrings/debian-archive-keyring.gpg | $sudo tee /etc/apt/sources.list.d/mbox-backports.sources >/dev/null
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-1.23-go >/dev/null
        $sudo ln -sf /usr/lib/go-1.23/bin/go /usr/local/bin/go
fi
. "$here/versions.sh"
[ "$GOTOOLCHAIN" = local ] || echo "install-deps: go $(go env GOVERSION) fetches go$GO_VERSION through the module proxy" >&2

# the browser tests' modules (tests/browser/package-lock.json), again only when the lockfile changed
browser=$here/../tests/browser
if ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.mbox-lock.json"; then
        echo "install-deps: npm ci in tests/browser" >&2
        (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error) >&2
        cp "$browser/package-lock.json" "$browser/node_modules/.mbox-lock.json"
fi

# the TypeScript SDK's modules (sdk/typescript/package-lock.json), likewise only when the lockfile changed
sdk=$here/../sdk/typescript
if ! cmp -s "$sdk/package-lock.json" "$sdk/node_modules/.mbox-lock.json"; then
        echo "install-deps: npm ci in sdk/typescript" >&2
        (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error) >&2
        cp "$sdk/package-lock.json" "$sdk/node_modules/.mbox-lock.json"
fi
