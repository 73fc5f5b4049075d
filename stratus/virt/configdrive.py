"""Config drives: an ISO9660 image labelled ``config-2`` laid out as nova does.

``config_drive_tree`` is the pure part (the files, as {path: bytes}); the
writer stages them in a temporary directory and runs ``genisoimage``.
Layout, for each of the versions ``2012-08-10`` and ``latest``::

    openstack/<version>/meta_data.json
    openstack/<version>/user_data          (only when there is user data)
    openstack/<version>/network_data.json  (only when given)
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from typing import Any

LABEL = "config-2"
VERSIONS = ("2012-08-10", "latest")


class ConfigDriveError(RuntimeError):
    pass


def key_fingerprint(public_key: str) -> str:
    """MD5 fingerprint of an OpenSSH public key, as nova shows it (aa:bb:...)."""
    parts = public_key.split()
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (IndexError, ValueError):
        return ""
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def meta_data(*, uuid: str, name: str, hostname: str, public_keys: dict[str, str],
              meta: dict | None = None, availability_zone: str | None = None,
              project_id: str | None = None, launch_index: int = 0,
              random_seed: bytes | None = None) -> dict[str, Any]:
    """The meta_data.json document (fields and shapes as nova's)."""
    doc: dict[str, Any] = {
        "uuid": uuid,
        "name": name,
        "hostname": hostname,
        "launch_index": launch_index,
        "availability_zone": availability_zone,
        "project_id": project_id,
        "meta": {str(k): str(v) for k, v in (meta or {}).items()},
        "devices": [],
    }
    if public_keys:
        doc["public_keys"] = dict(public_keys)
        doc["keys"] = [{"name": k, "type": "ssh", "data": v}
                       for k, v in public_keys.items()]
    if random_seed is not None:
        doc["random_seed"] = base64.b64encode(random_seed).decode()
    return doc


def config_drive_tree(*, uuid: str, name: str, hostname: str,
                      public_keys: dict[str, str] | None = None,
                      user_data: bytes | str | None = None, meta: dict | None = None,
                      network_data: dict | None = None,
                      availability_zone: str | None = None, project_id: str | None = None,
                      launch_index: int = 0,
                      random_seed: bytes | None = None) -> dict[str, bytes]:
    """Every file of the drive: {relative path: contents}."""
    doc = meta_data(uuid=uuid, name=name, hostname=hostname, public_keys=public_keys or {},
                    meta=meta, availability_zone=availability_zone, project_id=project_id,
                    launch_index=launch_index, random_seed=random_seed)
    files = {"meta_data.json": json.dumps(doc, sort_keys=True).encode()}
    if user_data is not None:
        files["user_data"] = user_data.encode() if isinstance(user_data, str) else bytes(user_data)
    if network_data is not None:
        files["network_data.json"] = json.dumps(network_data, sort_keys=True).encode()
    return {f"openstack/{v}/{n}": data for v in VERSIONS for n, data in files.items()}


def write_iso(path: str, tree: dict[str, bytes]) -> str:
    """Write ``tree`` as an ISO9660 (Rock Ridge + Joliet) image labelled
    config-2 at ``path``, atomically."""
    if shutil.which("genisoimage") is None:
        raise ConfigDriveError("genisoimage not found: install the genisoimage package")
    with tempfile.TemporaryDirectory(prefix="configdrive-") as stage:
        for rel, data in tree.items():
            if rel.startswith("/") or ".." in rel.split("/"):
                raise ConfigDriveError(f"bad config drive path {rel!r}")
            full = os.path.join(stage, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        tmp = path + ".tmp"
        res = subprocess.run(["genisoimage", "-o", tmp, "-V", LABEL, "-J", "-r", "-quiet",
                              "-input-charset", "utf-8", stage],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise ConfigDriveError(f"genisoimage failed: {res.stderr.strip()[-500:]}")
        os.replace(tmp, path)
    return path


def decode_user_data(data: str | None) -> bytes | None:
    """User data as the API stores it (base64, as nova) → the raw bytes the
    drive holds; any byte survives (binary user data, gzip, MIME multipart).
    Text that is not base64 (a row written some other way) is kept as is."""
    if data is None:
        return None
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return data.encode()


def make_config_drive(path: str, *, uuid: str, name: str, hostname: str,
                      public_keys: dict[str, str] | None = None,
                      user_data: bytes | str | None = None, meta: dict | None = None,
                      network_data: dict | None = None,
                      availability_zone: str | None = None,
                      project_id: str | None = None, launch_index: int = 0,
                      user_data_b64: str | None = None) -> str:
    """Write the config drive of one instance to ``path``; returns ``path``.

    ``user_data_b64`` is the user data still base64-encoded, as the launch
    spec (JSON) carries it; it is decoded to bytes here (``user_data``, raw,
    is the alternative)."""
    if user_data_b64 is not None:
        if user_data is not None:
            raise ConfigDriveError("give user_data or user_data_b64, not both")
        user_data = decode_user_data(user_data_b64)
    tree = config_drive_tree(uuid=uuid, name=name, hostname=hostname,
                             public_keys=public_keys, user_data=user_data, meta=meta,
                             network_data=network_data,
                             availability_zone=availability_zone, project_id=project_id,
                             launch_index=launch_index, random_seed=os.urandom(512))
    return write_iso(path, tree)
