#!/usr/bin/env bash
# Makes the local cluster's PKI with the openssl CLI: a cluster CA, a separate front-proxy CA for the
# aggregation layer, the service-account signing key, serving and client certificates for each
# component, and the key mbox-apiserver signs preview grants with. Existing files are kept, so a second
# run changes nothing.
# With a node name and IP it also makes the real node's kubelet certificates (hack/node.sh): its client
# certificate (system:node:NAME in system:nodes, for the Node authorizer) and its serving certificate, and
# the node's NetworkPolicy agent's client certificate.
# Usage: hack/pki.sh DIR [NODE_NAME NODE_IP]
set -euo pipefail
dir=$1
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

mkca() { # name cn
        [ -f "$1.crt" ] && return 0
        openssl genrsa -out "$1.key" 2048 2>/dev/null
        openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
        printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectKeyIdentifier=hash\n' >"$1.ext"
        openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 3650 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}

mkcert() { # name ca subject eku [san]
        [ -f "$1.crt" ] && return 0
        openssl genrsa -out "$1.key" 2048 2>/dev/null
        openssl req -new -key "$1.key" -subj "$3" -out "$1.csr"
        {
                echo 'basicConstraints=critical,CA:FALSE'
                echo 'keyUsage=critical,digitalSignature,keyEncipherment'
                echo "extendedKeyUsage=$4"
                if [ -n "${5:-}" ]; then echo "subjectAltName=$5"; fi
        } >"$1.ext"
        openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 365 -sha256 \
                -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}

mkca ca mbox-local-ca
mkca front-proxy-ca mbox-local-front-proxy-ca
mkcert apiserver ca "/CN=kube-apiserver" serverAuth \
        "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1"
mkcert admin ca "/O=system:masters/CN=mbox-admin" clientAuth
mkcert kube-controller-manager ca "/CN=system:kube-controller-manager" clientAuth
mkcert kube-scheduler ca "/CN=system:kube-scheduler" clientAuth
mkcert kwok ca "/O=system:masters/CN=kwok-controller" clientAuth
# The agent-sandbox controller runs with cluster-admin rights locally; its upstream RBAC is not shipped
# in the Go module.
mkcert agent-sandbox ca "/O=system:masters/CN=agent-sandbox-controller" clientAuth
mkcert apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
mkcert front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
mkcert kwok-serving ca "/CN=localhost" serverAuth "DNS:localhost,IP:127.0.0.1"
[ -f sa.key ] || {
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
}
# mbox-apiserver's --preview-signing-key-file: 32 random bytes, the same for every replica, so that a
# preview grant outlives a restart and opens on any replica
[ -f preview-signing.key ] || (umask 077 && openssl rand -out preview-signing.key 32)
if [ -n "${2:-}" ]; then
        id=${2##*-}
        mkcert "kubelet-$id" ca "/O=system:nodes/CN=system:node:$2" clientAuth
        mkcert "kubelet-serving-$id" ca "/CN=$2" serverAuth "DNS:$2,IP:$3,IP:127.0.0.1"
        mkcert netpol ca "/CN=kube-network-policies" clientAuth
fi
rm -f ./*.csr
