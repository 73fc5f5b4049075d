"""Object requests: PUT (streamed, ETag checked: 422), GET/HEAD (conditional
requests, single and multiple byte ranges, large objects streamed from their
segments), POST (replace metadata, 202), DELETE (204).  Copies: copying.py."""
from __future__ import annotations

import mimetypes
import os
import uuid
from urllib.parse import unquote

from starlette.responses import StreamingResponse

from stratus.api.object_store import common as c, slo, upload
from stratus.api.object_store.common import blocking
from stratus.objectstore import constraints, errors, ingest, ranges, segments, store

READ_BLOCK = 1 << 20


def _obj_meta(req, base: dict | None = None) -> dict:
    set_, remove = constraints.meta_updates(req.headers, "object", ingest.ALLOWED_HEADERS)
    meta = {k: v for k, v in (base or {}).items() if k not in remove}
    meta.update(set_)
    constraints.check_meta(meta, "object", req.oconf)
    return meta


def _content_type(req, default: str | None = None) -> str:
    ctype = req.headers.get("content-type")
    detect = (req.headers.get("x-detect-content-type") or "").lower() in ("true", "1", "yes")
    if ctype and not detect:
        return ctype
    if default and not detect:
        return default
    return mimetypes.guess_type(req.obj)[0] or "application/octet-stream"


def _prepare_put(req):
    constraints.check_name("Object", req.obj, req.oconf.max_object_name_length)
    inm = req.headers.get("if-none-match")
    if inm is not None and inm.strip() != "*":
        raise errors.BadRequest("If-None-Match only supports *")
    with req.db.session() as s:
        row = req.authorize_container(s, "PUT", obj=req.obj)
        if inm is not None and store.live_object(s, row.id, req.obj) is not None:
            raise errors.PreconditionFailed("An object already exists with this name.")
    return _obj_meta(req), constraints.delete_at(req.headers, req.timestamp)


def put_headers(req, info) -> dict:
    etag = f'"{info.etag}"' if info.manifest else info.etag
    return {"ETag": etag, "Last-Modified": c.http_date(info.timestamp),
            "X-Timestamp": c.x_timestamp(info.timestamp), "Content-Length": "0"}


async def put(req):
    if "x-copy-from" in req.headers:
        from stratus.api.object_store.copying import copy, copy_path
        src_c, src_o = copy_path(req.headers["x-copy-from"], "X-Copy-From")
        return await copy(req, req.headers.get("x-copy-from-account") or req.account, src_c,
                          src_o, req.account, req.container, req.obj)
    if req.query.get("multipart-manifest") == "put":
        return await slo.put(req)
    length = upload.expected_length(req)
    meta, delete_at = await blocking(_prepare_put, req)
    path, md5, size = await upload.receive(req, length)
    given = req.headers.get("etag")
    if given and given.strip('"').lower() != md5:
        await blocking(os.unlink, path)
        raise errors.Unprocessable("Unprocessable Entity")
    info, _ = await blocking(store.write_object, req.db, req.backend, req.account,
                             req.container, req.obj, path, size=size, etag=md5,
                             content_type=_content_type(req), metadata=meta,
                             timestamp=req.timestamp, delete_at=delete_at)
    return c.reply(req, 201, b"", put_headers(req, info))


def _load(req, method="GET"):
    """(info, pieces, opened files, effective etag) of a readable object."""
    with req.db.session() as s:
        row = req.authorize_container(s, method, obj=req.obj)
        o = store.live_object(s, row.id, req.obj)
        if o is None:
            raise errors.NotFound()
        info = store.info_of(o, req.account, req.container)
        etag = info.etag
        manifest_get = req.query.get("multipart-manifest") == "get"
        if info.manifest == "slo" and manifest_get:
            return info, None, {}, etag
        if not manifest_get:
            _authorize_segments(req, s, info)
        if info.metadata.get("x-object-manifest") and not manifest_get:
            rows = segments.dlo_rows(s, req.account, info.metadata["x-object-manifest"])
            info.size, etag = sum(r.size for r in rows), segments.dlo_etag(rows)
            return info, segments.resolve(s, req.account, info), {}, etag
        if info.manifest == "slo":
            return info, segments.resolve(s, req.account, info), {}, etag
        opened = {info.blob: req.backend.open(info.blob)} if info.size else {}
        return info, [segments.Piece(info.blob, 0, info.size)] if info.size else [], opened, etag


def _authorize_segments(req, s, info) -> None:
    """A caller admitted by an ACL must also be allowed to read the segments'
    containers (as Swift reads segments with the caller's credentials)."""
    if req.owner:
        return
    names = set()
    if info.metadata.get("x-object-manifest"):
        names.add(unquote(info.metadata["x-object-manifest"]).partition("/")[0])
    for seg in info.segments or []:
        names.add(segments.split_path(seg["path"])[0])
    for name in names - {req.container}:
        req.authorize_container(s, "GET", name, obj="segment", need=False)
    req.owner = False


def _etags(value: str) -> set[str]:
    return {v.strip().strip('"') for v in value.split(",")}


def _check_conditions(req, info, etag: str) -> None:
    im, inm = req.headers.get("if-match"), req.headers.get("if-none-match")
    if im is not None and "*" not in _etags(im) and etag not in _etags(im):
        raise errors.PreconditionFailed("Precondition Failed")
    if inm is not None and ("*" in _etags(inm) or etag in _etags(inm)):
        raise _NotModified()
    ius = c.parse_http_date(req.headers.get("if-unmodified-since"))
    if ius is not None and int(info.timestamp) > ius:
        raise errors.PreconditionFailed("Precondition Failed")
    ims = c.parse_http_date(req.headers.get("if-modified-since"))
    if ims is not None and int(info.timestamp) <= ims:
        raise _NotModified()


class _NotModified(errors.APIError):
    status, title = 304, "Not Modified"


def object_headers(req, info, etag: str) -> dict:
    h = {"ETag": f'"{etag}"' if (info.manifest or info.metadata.get("x-object-manifest"))
         else etag,
         "Last-Modified": c.http_date(info.timestamp), "X-Timestamp": c.x_timestamp(info.timestamp),
         "Accept-Ranges": "bytes", "Content-Type": info.content_type}
    for k, v in info.metadata.items():
        h["-".join(p.capitalize() for p in k.split("-"))] = v
    if info.manifest == "slo":
        h["X-Static-Large-Object"] = "True"
    if info.delete_at:
        h["X-Delete-At"] = str(int(info.delete_at))
    return h


def _close(opened):
    for f in opened.values():
        f.close()


async def get(req):
    info, pieces, opened, etag = await blocking(_load, req, "GET")
    try:
        if pieces is None:  # the SLO manifest itself
            _close(opened)
            return await blocking(slo.manifest_response, req, info)
        headers = object_headers(req, info, etag)
        try:
            _check_conditions(req, info, etag)
        except _NotModified:
            _close(opened)
            return c.reply(req, 304, b"", {k: v for k, v in headers.items()
                                           if k in ("ETag", "Last-Modified", "X-Timestamp")},
                           info.content_type)
        try:
            wanted = ranges.parse(req.headers.get("range"), info.size)
        except ranges.Unsatisfiable:
            raise errors.RangeNotSatisfiable("Requested Range Not Satisfiable",
                                             headers={"Content-Range": f"bytes */{info.size}"}
                                             ) from None
    except BaseException:
        _close(opened)
        raise
    status, parts = 200, None
    if wanted and len(wanted) == 1:
        first, last = wanted[0]
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
        pieces = segments.slice_pieces(pieces, first, last)
        length = last - first + 1
    elif wanted:
        status = 206
        boundary = uuid.uuid4().hex
        parts = []
        for first, last in wanted:
            head = (f"--{boundary}\r\nContent-Type: {info.content_type}\r\n"
                    f"Content-Range: bytes {first}-{last}/{info.size}\r\n\r\n").encode()
            parts.append((head, segments.slice_pieces(pieces, first, last)))
        tail = f"--{boundary}--".encode()
        length = sum(len(h) + sum(p.length for p in ps) + 2 for h, ps in parts) + len(tail)
        headers["Content-Type"] = f"multipart/byteranges;boundary={boundary}"
    else:
        length = info.size
    headers["Content-Length"] = str(length)
    if req.method == "HEAD":
        _close(opened)
        return c.reply(req, status, b"", headers, headers["Content-Type"])

    async def body():
        try:
            if parts is None:
                async for block in _read(req.backend, pieces, opened):
                    yield block
                return
            for head, ps in parts:
                yield head
                async for block in _read(req.backend, ps, opened, close=False):
                    yield block
                yield b"\r\n"
            yield tail
        finally:
            _close(opened)

    return StreamingResponse(body(), status_code=status, headers=c.base_headers(req, headers))


async def _read(backend, pieces, opened, close=True):
    reader = segments.PieceReader(backend, pieces, opened=opened)
    try:
        while True:
            block = await blocking(reader.read, READ_BLOCK)
            if not block:
                return
            yield block
    finally:
        if close:
            reader.close()
        else:
            reader.opened = {}
            reader.close()


def post(req):
    changes = {}
    with req.db.session() as s:
        row = req.authorize_container(s, "POST", obj=req.obj)
        o = store.live_object(s, row.id, req.obj)
        if o is None:
            raise errors.NotFound()
        keep = {k: v for k, v in (o.meta or {}).items() if k == "x-static-large-object"}
    set_, _ = constraints.meta_updates(req.headers, "object", ingest.ALLOWED_HEADERS)
    meta = dict(keep, **{k: v for k, v in set_.items()})
    constraints.check_meta(meta, "object", req.oconf)
    changes["metadata"] = meta
    if req.headers.get("content-type"):
        changes["content_type"] = req.headers["content-type"]
    delete_at = constraints.delete_at(req.headers, req.timestamp)
    if delete_at is not None:
        changes["delete_at"] = delete_at
    elif "x-remove-delete-at" in req.headers:
        changes["delete_at"] = None
    store.update_object(req.db, req.account, req.container, req.obj, req.timestamp, **changes)
    return c.reply(req, 202, b"", {"Content-Length": "0"})


def delete(req):
    if req.query.get("multipart-manifest") == "delete":
        return slo.delete(req)
    with req.db.session() as s:
        req.authorize_container(s, "DELETE", obj=req.obj)
    gone = store.delete_object(req.db, req.backend, req.account, req.container, req.obj,
                               req.timestamp)
    if gone is None:
        raise errors.NotFound()
    return c.reply(req, 204)
