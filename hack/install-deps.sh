#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the local stack need. Idempotent: it does
# nothing when all of them are present, so make targets can call it freely.
set -euo pipefail

pkgs=(
        build-essential pkg-config git curl ca-certificates openssl jq iproute2 procps util-linux python3 python3-yaml
        libcurl4-openssl-dev libjson-c-dev libyaml-dev libssl-dev libpq-dev check libsubunit-dev libwslay-dev libmicrohttpd-dev libgnutls28-dev libzstd-dev
        postgresql postgresql-client
        clang llvm libclang-rt-14-dev clang-format clang-tidy cppcheck valgrind bear
)

missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
