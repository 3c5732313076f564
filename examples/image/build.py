#!/usr/bin/env python3
"""Builds the example container image: an OCI image layout in examples/image/layout, tag `demo`.

Usage: python3 examples/image/build.py [OUT_DIR]

Only the standard library: each layer is a real tar (gzip-compressed), the config and manifest
are the OCI image-spec documents, every blob is stored under its sha256 digest. The image is what
a hurried team ships: a Debian-like base with its package database and setuid tools, an app
layer that brings a `.env` file, a world-writable upload directory, the apt lists, a stray setuid
binary and an SSH key, and a last layer that deletes the key (still in the lower layer's blob,
but no longer in the image's file system). The config runs as root, exposes SSH, keeps an AWS
key in the environment and was built with `curl | sh`. Output is deterministic.

`palisade scan --image oci:examples/image/layout:demo` reports it.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
MTIME = 1704067200  # 2024-01-01T00:00:00Z

DPKG_STATUS = """\
Package: base-files
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: openssh-server
Status: install ok installed
Architecture: amd64
Source: openssh
Version: 1:9.2p1-2+deb12u2
Description: secure shell (SSH) server, for secure access from remote machines

Package: curl
Status: install ok installed
Architecture: amd64
Version: 7.88.1-10+deb12u5
Description: command line tool for transferring data with URL syntax
"""

# Not a real key: the PEM armour is what marks the file as a private key.
SSH_KEY = """\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
RXhhbXBsZSBrZXkgZm9yIHRoZSBQYWxpc2FkZSBleGFtcGxlIGltYWdlOyBub3QgcmVhbA
-----END OPENSSH PRIVATE KEY-----
"""


def layer(entries):
    """A gzip-compressed tar of (path, kind, mode, content) entries; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, mode, content in entries:
            info = tarfile.TarInfo(path)
            info.mtime = MTIME
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            data = None
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = content
            else:
                data = content.encode()
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "layout")
    if os.path.exists(out):
        shutil.rmtree(out)
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs)

    def store(data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    base = layer([
        ("etc", "dir", 0o755, None),
        ("etc/os-release", "file", 0o644, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'),
        ("etc/passwd", "file", 0o644, "root:x:0:0:root:/root:/bin/bash\n"),
        ("tmp", "dir", 0o1777, None),
        ("usr", "dir", 0o755, None),
        ("usr/bin", "dir", 0o755, None),
        ("usr/bin/passwd", "file", 0o4755, "#!/bin/sh\n"),
        ("usr/bin/su", "file", 0o4755, "#!/bin/sh\n"),
        ("var", "dir", 0o755, None),
        ("var/lib", "dir", 0o755, None),
        ("var/lib/dpkg", "dir", 0o755, None),
        ("var/lib/dpkg/status", "file", 0o644, DPKG_STATUS),
    ])
    app = layer([
        ("app", "dir", 0o755, None),
        ("app/server.py", "file", 0o644, "print('serving')\n"),
        ("app/.env", "file", 0o600, "DATABASE_URL=postgres://app:s3cret@db:5432/app\n"),
        ("app/uploads", "dir", 0o777, None),
        ("root", "dir", 0o700, None),
        ("root/.ssh", "dir", 0o700, None),
        ("root/.ssh/id_ed25519", "file", 0o600, SSH_KEY),
        ("usr/local", "dir", 0o755, None),
        ("usr/local/bin", "dir", 0o755, None),
        ("usr/local/bin/backup-helper", "file", 0o4755, "#!/bin/sh\n"),
        ("var/lib/apt", "dir", 0o755, None),
        ("var/lib/apt/lists", "dir", 0o755, None),
        ("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
         "file", 0o644, "x" * 4096),
    ])
    cleanup = layer([
        ("root/.ssh/.wh.id_ed25519", "file", 0o600, ""),
    ])
    layers = [
        store(blob, "application/vnd.oci.image.layer.v1.tar+gzip") for blob, _ in (base, app, cleanup)
    ]
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": [
                "PATH=/usr/local/bin:/usr/bin:/bin",
                "AWS_ACCESS_KEY_ID=AKIAQ3EGRDSYB6NWFHWQ",
            ],
            "ExposedPorts": {"8080/tcp": {}, "22/tcp": {}},
            "Cmd": ["python3", "/app/server.py"],
            "WorkingDir": "/app",
            "Labels": {"org.opencontainers.image.title": "demo"},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in (base, app, cleanup)]},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:base in / "},
            {"created": "2024-01-01T00:00:00Z",
             "created_by": "RUN /bin/sh -c curl -fsSL https://get.example.com/install.sh | sh # buildkit",
             "comment": "buildkit.dockerfile.v0"},
            {"created": "2024-01-01T00:00:00Z",
             "created_by": "RUN /bin/sh -c rm /root/.ssh/id_ed25519 # buildkit",
             "comment": "buildkit.dockerfile.v0"},
            {"created": "2024-01-01T00:00:00Z", "created_by": "EXPOSE map[22/tcp:{} 8080/tcp:{}]",
             "comment": "buildkit.dockerfile.v0", "empty_layer": True},
        ],
    }
    config_descriptor = store(
        json.dumps(config, indent=2).encode(), "application/vnd.oci.image.config.v1+json"
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_descriptor,
        "layers": layers,
        "annotations": {"org.opencontainers.image.base.name": "docker.io/library/debian:12"},
    }
    manifest_descriptor = store(
        json.dumps(manifest, indent=2).encode(), "application/vnd.oci.image.manifest.v1+json"
    )
    manifest_descriptor["annotations"] = {"org.opencontainers.image.ref.name": "demo"}
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest_descriptor]}, f, indent=2)
    print(f"wrote {out} (tag demo)")


if __name__ == "__main__":
    main()
