"""The object store's entry points for writers and readers outside the HTTP
API (stratus/transfer/ commits files received over its UDP protocol here).

Contract: :func:`staging_dir`, :func:`authorize_write`, :func:`authorize_read`,
:func:`commit_file`, :func:`open_object`; ``ObjectInfo`` is
:class:`stratus.objectstore.store.ObjectInfo`.  Errors are
:mod:`stratus.objectstore.errors` exceptions with ``.status`` and ``.message``.
"""
from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

from stratus.objectstore import acl, errors, segments, store
from stratus.objectstore.backend import LocalDiskBackend
from stratus.objectstore.store import ObjectInfo

__all__ = ["ObjectInfo", "staging_dir", "authorize_write", "authorize_read", "commit_file",
           "open_object", "backend_for"]

_backends: dict[str, LocalDiskBackend] = {}
# Headers stored with an object besides X-Object-Meta-* (as Swift's allowed_headers).
ALLOWED_HEADERS = ("content-disposition", "content-encoding", "content-language",
                   "cache-control", "expires", "x-robots-tag", "x-object-manifest")


def backend_for(conf) -> LocalDiskBackend:
    """The process's backend for this configuration (one per store path)."""
    root = conf.object_store.store_path or os.path.join(conf.state_path, "objects")
    b = _backends.get(root)
    if b is None:
        b = _backends[root] = LocalDiskBackend(root)
    return b


def staging_dir(conf) -> str:
    """A directory on the object store's filesystem for files to commit."""
    return backend_for(conf).staging_dir()


def _decide(db, conf, auth, account, container, method, obj):
    caller = acl.Caller.of(auth)
    with db.session() as s:
        c = store.get_container(s, account, container)
        d = acl.decide(caller, store.project_of(account), method, container, obj,
                       c.read_acl if c else "", c.write_acl if c else "",
                       conf.object_store.operator_roles, conf.object_store.reseller_admin_roles)
    if not d.allowed:
        raise acl.deny(caller)
    if c is None:
        raise errors.NotFound(f"Container {container} not found.")
    return c


def authorize_write(db, conf, auth, account: str, container: str) -> None:
    """Raise Forbidden/Unauthorized unless ``auth`` may write objects into the
    container, NotFound if the container does not exist."""
    _decide(db, conf, auth, account, container, "PUT", "-")


def authorize_read(db, conf, auth, account: str, container: str, name: str) -> ObjectInfo:
    """The object's info if ``auth`` may read it; Forbidden / NotFound."""
    c = _decide(db, conf, auth, account, container, "GET", name)
    with db.session() as s:
        row = store.live_object(s, c.id, name)
        if row is None:
            raise errors.NotFound(f"Object {name} not found.")
        return _with_manifest_size(s, account, store.info_of(row, account, container))


def _with_manifest_size(s, account: str, info: ObjectInfo) -> ObjectInfo:
    if info.metadata.get("x-object-manifest"):
        rows = segments.dlo_rows(s, account, info.metadata["x-object-manifest"])
        info.size = sum(r.size for r in rows)
        info.etag = segments.dlo_etag(rows)
    return info


def normalize_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for k, v in (metadata or {}).items():
        k = k.lower()
        if not (k.startswith("x-object-meta-") or k in ALLOWED_HEADERS):
            k = "x-object-meta-" + k
        out[k] = str(v)
    return out


def file_md5(path: str) -> tuple[str, int]:
    h, size = hashlib.md5(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def commit_file(db, conf, account: str, container: str, name: str, path: str, *,
                etag: str | None = None, content_type: str = "application/octet-stream",
                metadata: dict[str, str] | None = None, timestamp: float | None = None
                ) -> ObjectInfo:
    """Atomically move the complete, fsynced file at ``path`` (in staging_dir)
    into the store as the object, last-writer-wins by ``timestamp`` (default
    now); updates container usage.  Unprocessable (422) if ``etag`` (md5 hex)
    does not match the file; the file is removed on any failure."""
    backend = backend_for(conf)
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(backend.staging_dir()):
        raise errors.BadRequest(f"{path} is not in the staging directory.")
    try:
        digest, size = file_md5(path)
        if etag and etag.strip('"').lower() != digest:
            raise errors.Unprocessable("The ETag given does not match the MD5 of the data.")
        if size > conf.object_store.max_file_size:
            raise errors.EntityTooLarge(f"Object of {size} bytes exceeds max_file_size.")
        info, _ = store.write_object(db, backend, account, container, name, path, size=size,
                                     etag=digest, content_type=content_type,
                                     metadata=normalize_metadata(metadata),
                                     timestamp=timestamp or store.now())
        return info
    finally:
        if os.path.exists(path):
            os.unlink(path)


def open_object(db, conf, account: str, container: str, name: str
                ) -> tuple[BinaryIO, ObjectInfo]:
    """A readable file of the object's bytes (manifests: their segments)."""
    backend = backend_for(conf)
    with db.session() as s:
        c = store.get_container(s, account, container)
        row = store.live_object(s, c.id, name) if c is not None else None
        if row is None:
            raise errors.NotFound(f"Object {name} not found.")
        info = _with_manifest_size(s, account, store.info_of(row, account, container))
        pieces = segments.resolve(s, account, info)
    if not info.manifest and not info.metadata.get("x-object-manifest"):
        return backend.open(info.blob), info  # the blob: survives a concurrent replace
    return segments.PieceReader(backend, pieces), info
