#!/usr/bin/env python3
"""Packs a root filesystem directory into a single-layer OCI image archive (an OCI layout in a tar, the
format `ctr images import` reads), named NAME. The layer is reproducible: entries sorted, owned by root,
timestamps zeroed, so the same files give the same image digest.

Usage: hack/node/oci-image.py ROOTFS NAME OUT.tar [--version VERSION] [--cmd WORD ...]
"""
import argparse
import hashlib
import io
import json
import os
import tarfile


def layer(rootfs):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                info = tar.gettarinfo(path, os.path.relpath(path, rootfs))
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def blob(tar, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest[7:])
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return {"digest": digest, "size": len(data)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rootfs")
    ap.add_argument("name")
    ap.add_argument("out")
    ap.add_argument("--version", default="")
    ap.add_argument("--cmd", nargs="+", default=[])
    a = ap.parse_args()
    name, out, cmd = a.name, a.out, a.cmd
    data = layer(a.rootfs)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd,
                   "Labels": {"org.opencontainers.image.version": a.version} if a.version else {}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(data).hexdigest()]},
    }
    with tarfile.open(out + ".tmp", "w") as tar:
        l = blob(tar, data)
        c = blob(tar, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(c, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(l, mediaType="application/vnd.oci.image.layer.v1.tar")],
        }
        m = blob(tar, json.dumps(manifest, sort_keys=True).encode())
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [dict(m, mediaType="application/vnd.oci.image.manifest.v1+json",
                               platform={"architecture": "amd64", "os": "linux"},
                               annotations={"io.containerd.image.name": name,
                                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]})],
        }
        for fname, obj in (("oci-layout", {"imageLayoutVersion": "1.0.0"}), ("index.json", index)):
            raw = json.dumps(obj, sort_keys=True).encode()
            info = tarfile.TarInfo(fname)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
