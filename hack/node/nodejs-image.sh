#!/usr/bin/env bash
# The real node's Node.js image, registry.mbox.localhost/mbox/nodejs-debian:bookworm: Debian bookworm's own nodejs (18.x)
# and ca-certificates on bookworm's Essential packages (a shell, coreutils, grep, sed, tar, dpkg's record of
# what is installed; no apt), made with mmdebstrap from Debian's mirror, with a sandbox user (uid 1000, home
# /workspace, the uid mbox runs sandboxes as). Manual pages, documentation other than the copyright files
# and translations are left out. hack/node/oci-image.py packs the root filesystem into an OCI archive in
# NODE_NODEJS_IMAGE_DIR (hack/versions.sh) with the exact nodejs version as the image's
# org.opencontainers.image.version; hack/node.sh imports it into the node's containerd.
#
# Nothing is done when the archive is cached. Needs root (mmdebstrap's root mode: chroot, device nodes,
# files owned by other users) and mmdebstrap (hack/install-deps.sh).
#
# Usage: hack/node/nodejs-image.sh      (MBOX_DEBIAN_MIRROR, MBOX_DEBIAN_SECURITY_MIRROR: other mirrors)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../versions.sh"

log() { printf 'build: %s\n' "$*" >&2; }
out=$NODE_NODEJS_IMAGE_DIR
cached() { [ -f "$out/nodejs.tar" ]; }
cached && { log "nodejs image cached"; exit 0; }
[ "$(id -u)" -eq 0 ] || { log "the nodejs image is built as root (mmdebstrap's root mode)"; exit 1; }
command -v mmdebstrap >/dev/null || { log "mmdebstrap is not installed; run hack/install-deps.sh"; exit 1; }

# one build at a time on a machine, with hack/build-binaries.sh's lock: the second finds the first's image
mkdir -p "$MBOX_CACHE_DIR"
exec 9>"$MBOX_CACHE_DIR/.build.lock"
if ! flock -n 9; then
        log "another build is running; waiting for it"
        flock 9
fi
cached && { log "nodejs image cached"; exit 0; }

log "nodejs image: building from Debian bookworm with mmdebstrap"
t0=$SECONDS
mirror=${MBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${MBOX_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
work=$MBOX_CACHE_DIR/src/nodejs-image
root=$work/rootfs
rm -rf "$work" "$out.tmp"
mkdir -p "$root" "$out.tmp"
# a failed build leaves no half-made image (mmdebstrap's log stays in $work)
trap 'rm -rf "$out.tmp"' EXIT
# merged-usr: bookworm's usr-is-merged instead of the usrmerge package and the Perl it needs
mmdebstrap --quiet --variant=essential --include=nodejs,ca-certificates \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        bookworm "$root/" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
        "deb $security bookworm-security main" </dev/null >"$work/mmdebstrap.log" 2>&1 || {
        tail -n 20 "$work/mmdebstrap.log" >&2
        log "mmdebstrap failed; its whole output is in $work/mmdebstrap.log"
        exit 1
}

# the sandbox user; its home is the workspace, where the templates' commands start
printf 'sandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n' >>"$root/etc/passwd"
printf 'sandbox:x:1000:\n' >>"$root/etc/group"
printf 'sandbox:*:0:0:99999:7:::\n' >>"$root/etc/shadow"
printf 'sandbox:*::\n' >>"$root/etc/gshadow"
# the runtime mounts /dev; the build's logs say nothing about the image
rm -rf "${root:?}"/dev/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old

version=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' nodejs)
dpkg-query --admindir="$root/var/lib/dpkg" -W >"$out.tmp/packages.txt"
python3 "$here/oci-image.py" "$root" "$NODE_NODEJS_IMAGE" "$out.tmp/nodejs.tar" --version "$version" --cmd node \
        --keep-owners
rm -rf "$work"
echo $((SECONDS - t0)) >"$out.tmp/.build-seconds"
rm -rf "$out" && mv "$out.tmp" "$out"
log "nodejs image: $NODE_NODEJS_IMAGE, nodejs $version, $(du -m "$out/nodejs.tar" | cut -f1) MB, $((SECONDS - t0)) s"
