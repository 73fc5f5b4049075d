"""Server-side copies: ``COPY`` with ``Destination`` and ``PUT`` with
``X-Copy-From`` (201 with ``X-Copied-From*``).  The caller needs read access to
the source and write access to the destination.  A plain object is copied by
hard-linking its blob into staging (no bytes move); a large object is copied
as its assembled content, or with ``?multipart-manifest=get`` as the manifest."""
from __future__ import annotations

import os
from urllib.parse import quote, unquote

from stratus.api.object_store import common as c, upload
from stratus.api.object_store.common import blocking
from stratus.api.object_store.objects import (_close, _load, _obj_meta, object_headers,
                                              put_headers)
from stratus.objectstore import constraints, errors, segments, store


def copy_path(value: str, header: str) -> tuple[str, str]:
    container, _, name = unquote(value).lstrip("/").partition("/")
    if not container or not name:
        raise errors.PreconditionFailed(f"{header} header must be of the form "
                                        f"<container name>/<object name>")
    return container, name


async def copy_method(req):
    dest = req.headers.get("destination")
    if not dest:
        raise errors.PreconditionFailed("You must specify a Destination header.")
    dst_c, dst_o = copy_path(dest, "Destination")
    return await copy(req, req.account, req.container, req.obj,
                      req.headers.get("destination-account") or req.account, dst_c, dst_o)


def _stage_source(req, account, container, name):
    """Authorize and stage a copy of the source; (path, md5, size, info)."""
    saved = (req.account, req.container, req.obj)
    req.account, req.container, req.obj = account, container, name
    try:
        info, pieces, opened, etag = _load(req, "GET")
    finally:
        req.account, req.container, req.obj = saved
    if pieces is None:  # ?multipart-manifest=get: copy the manifest itself
        return None, etag, info.size, info
    if not info.manifest and not info.metadata.get("x-object-manifest") and info.size:
        _close(opened)
        return req.backend.link(info.blob), info.etag, info.size, info
    path, md5, size = upload.stage_pieces(req.backend, segments.PieceReader(
        req.backend, pieces, opened=opened))
    return path, md5, size, info


def _commit_copy(req, staged, md5, size, src, dst_account, dst_c, dst_o):
    saved = (req.account, req.container, req.obj)
    req.account, req.container, req.obj = dst_account, dst_c, dst_o
    try:
        constraints.check_name("Object", dst_o, req.oconf.max_object_name_length)
        with req.db.session() as s:
            req.authorize_container(s, "PUT", obj=dst_o)
        fresh = (req.headers.get("x-fresh-metadata") or "").lower() in ("true", "1", "yes")
        base = {} if fresh else {k: v for k, v in src.metadata.items()
                                 if k != "x-object-manifest" or staged is None}
        meta = _obj_meta(req, base)
        delete_at = constraints.delete_at(req.headers, req.timestamp)
        ctype = req.headers.get("content-type") if req.method == "COPY" else None
        ctype = ctype or (src.content_type if "content-type" not in req.headers
                          or req.method == "COPY" else req.headers["content-type"])
        if staged is None:  # manifest copy: same segments
            staged, _ = _manifest_blob(req, src)
            info, _ = store.write_object(req.db, req.backend, dst_account, dst_c, dst_o, staged,
                                         size=src.size, etag=src.etag, content_type=ctype,
                                         metadata=meta, timestamp=req.timestamp,
                                         delete_at=delete_at, manifest="slo",
                                         segments=src.segments)
        else:
            info, _ = store.write_object(req.db, req.backend, dst_account, dst_c, dst_o, staged,
                                         size=size, etag=md5, content_type=ctype, metadata=meta,
                                         timestamp=req.timestamp, delete_at=delete_at)
    except BaseException:
        if staged and os.path.exists(staged):
            os.unlink(staged)
        raise
    finally:
        req.account, req.container, req.obj = saved
    return info


def _manifest_blob(req, src):
    f = req.backend.open(src.blob)
    try:
        return upload.stage_pieces(req.backend, f)[0], None
    finally:
        f.close()


async def copy(req, src_account, src_c, src_o, dst_account, dst_c, dst_o):
    if req.method == "PUT" and int(req.headers.get("content-length") or 0) != 0:
        raise errors.BadRequest("Copy requests require a zero byte body")
    staged, md5, size, src = await blocking(_stage_source, req, src_account, src_c, src_o)
    info = await blocking(_commit_copy, req, staged, md5, size, src, dst_account, dst_c, dst_o)
    h = object_headers(req, info, info.etag)
    h.update(put_headers(req, info))
    h.pop("Accept-Ranges", None)
    h.update({"X-Copied-From": quote(f"{src_c}/{src_o}"),
              "X-Copied-From-Last-Modified": c.http_date(src.timestamp),
              "X-Copied-From-Account": quote(src_account)})
    return c.reply(req, 201, b"", h)
