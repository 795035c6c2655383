#!/usr/bin/env python3
"""Packs a root filesystem directory into a single-layer OCI image archive (an OCI layout in a tar, the
format `ctr images import` reads), named NAME. The layer is reproducible: entries sorted, owned by root,
timestamps zeroed, so the same files give the same image digest. --keep-owners keeps each file's numeric
owner and group instead (a root filesystem made as root, such as Debian's, where /etc/shadow belongs to the
group shadow).

Usage: hack/node/oci-image.py ROOTFS NAME OUT.tar [--version VERSION] [--cmd WORD ...] [--keep-owners]
"""
import argparse
import hashlib
import io
import json
import os
import tarfile
import tempfile


def layer(rootfs, keep_owners, out):
    """Writes the layer tar of rootfs to the file out."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                info = tar.gettarinfo(path, os.path.relpath(path, rootfs))
                if keep_owners:
                    # numeric ids only: the names would be looked up in this machine's /etc/passwd
                    info.uname = info.gname = ""
                else:
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                info.mtime = 0
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)


def blob(tar, f):
    """Adds the contents of the file f (a file object, at its start) as a blob; returns its descriptor."""
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    size = f.tell()
    f.seek(0)
    info = tarfile.TarInfo("blobs/sha256/" + h.hexdigest())
    info.size = size
    tar.addfile(info, f)
    return {"digest": "sha256:" + h.hexdigest(), "size": size}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rootfs")
    ap.add_argument("name")
    ap.add_argument("out")
    ap.add_argument("--version", default="")
    ap.add_argument("--cmd", nargs="+", default=[])
    ap.add_argument("--keep-owners", action="store_true")
    a = ap.parse_args()
    name, out, cmd = a.name, a.out, a.cmd
    # the layer goes through a file beside the output: a Debian root filesystem is hundreds of megabytes
    data = tempfile.TemporaryFile(dir=os.path.dirname(os.path.abspath(out)))
    layer(a.rootfs, a.keep_owners, data)
    data.seek(0)
    with tarfile.open(out + ".tmp", "w") as tar:
        l = blob(tar, data)
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd,
                       "Labels": {"org.opencontainers.image.version": a.version} if a.version else {}},
            # the layer is not compressed: its digest is its diff ID
            "rootfs": {"type": "layers", "diff_ids": [l["digest"]]},
        }
        c = blob(tar, io.BytesIO(json.dumps(config, sort_keys=True).encode()))
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(c, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(l, mediaType="application/vnd.oci.image.layer.v1.tar")],
        }
        m = blob(tar, io.BytesIO(json.dumps(manifest, sort_keys=True).encode()))
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
