"""Static large objects: ``?multipart-manifest=put`` validates the manifest
against the segments as they are now (Swift's wording for each problem),
``?multipart-manifest=get`` returns it (``&format=raw``: as uploaded) and
``?multipart-manifest=delete`` removes the segments and the manifest.  The
ETag of an SLO is the MD5 of its segments' ETags concatenated."""
from __future__ import annotations

import hashlib
import json
import os
from urllib.parse import quote

from stratus.api.object_store import common as c, render
from stratus.api.object_store.common import blocking
from stratus.objectstore import constraints, errors, ingest, segments, store

MAX_MANIFEST = 2 * 1024 * 1024
KEYS = {"path", "etag", "size_bytes", "range"}


def parse_manifest(body: bytes, max_segments: int) -> list[dict]:
    """The segment list (pure); BadRequest worded as Swift's slo middleware."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise errors.BadRequest("Manifest must be valid JSON.\n") from None
    if not isinstance(parsed, list):
        raise errors.BadRequest("Manifest must be a list.\n")
    if not parsed:
        raise errors.BadRequest("Manifest must have at least one segment.\n")
    if len(parsed) > max_segments:
        raise errors.BadRequest(f"Number of segments must be <= {max_segments}\n")
    out = []
    for i, seg in enumerate(parsed):
        if not isinstance(seg, dict):
            raise errors.BadRequest(f"Index {i}: not a JSON object\n")
        extra = set(seg) - KEYS
        if extra:
            raise errors.BadRequest(f"Index {i}: extraneous keys "
                                    + ", ".join(f'"{k}"' for k in sorted(extra)) + "\n")
        path = seg.get("path")
        if not isinstance(path, str) or len(path.lstrip("/").split("/", 1)) != 2 \
                or not all(path.lstrip("/").split("/", 1)):
            raise errors.BadRequest(f"Index {i}: path does not refer to an object. Path must "
                                    f"be of the form /container/object.\n")
        size = seg.get("size_bytes")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or size < 0):
            if not (isinstance(size, str) and size.isdigit()):
                raise errors.BadRequest(f"Index {i}: invalid size_bytes\n")
            size = int(size)
        etag = seg.get("etag")
        if etag is not None and not isinstance(etag, str):
            raise errors.BadRequest(f"Index {i}: invalid etag\n")
        rng = None
        if seg.get("range") is not None:
            first, dash, last = str(seg["range"]).partition("-")
            if not dash or not first.isdigit() or not last.isdigit() or int(last) < int(first):
                raise errors.BadRequest(f"Index {i}: invalid range\n")
            rng = [int(first), int(last)]
        out.append({"path": "/" + path.lstrip("/"), "etag": etag, "size_bytes": size,
                    "range": rng})
    return out


def slo_etag(segs: list[dict]) -> str:
    h = hashlib.md5()
    for s in segs:
        part = s["etag"]
        if s.get("range"):
            part += f":{s['range'][0]}-{s['range'][1]};"
        h.update(part.encode())
    return h.hexdigest()


def _validate(req, segs: list[dict]) -> list[dict]:
    """Check each segment exists (and may be read), etag and size match."""
    problems, done = [], []
    with req.db.session() as s:
        for seg in segs:
            cont, name = segments.split_path(seg["path"])
            row = store.get_container(s, req.account, cont)
            saved, req.container = req.container, cont
            try:
                req.authorize_container(s, "GET", cont, name, need=False)
            except errors.APIError as exc:
                problems.append((seg["path"], f"{exc.status} {exc.title}"))
                continue
            finally:
                req.container = saved
            o = store.live_object(s, row.id, name) if row is not None else None
            if o is None:
                problems.append((seg["path"], "404 Not Found"))
                continue
            size = o.size
            if seg["range"]:
                first, last = seg["range"]
                if first >= size:
                    problems.append((seg["path"], "Unsatisfiable Range"))
                    continue
                seg["range"] = [first, min(last, size - 1)]
            seg_size = (seg["range"][1] - seg["range"][0] + 1) if seg["range"] else size
            if seg["etag"] is not None and seg["etag"].strip('"').lower() != o.etag:
                problems.append((seg["path"], "Etag Mismatch"))
            elif seg["size_bytes"] is not None and seg["size_bytes"] != size:
                problems.append((seg["path"], "Size Mismatch"))
            elif seg_size < 1:
                problems.append((seg["path"], "Too small; each segment must be at least 1 "
                                              "byte."))
            else:
                done.append({"path": seg["path"], "etag": o.etag, "size_bytes": seg_size,
                             "range": seg["range"], "content_type": o.content_type,
                             "last_modified": c.iso(o.timestamp), "object_size": size})
    if problems:
        raise errors.BadRequest("Errors:\n" + "\n".join(f"{quote(p)}, {r}" for p, r in problems))
    return done


def _stored(segs: list[dict]) -> bytes:
    return json.dumps([dict({"name": s["path"], "bytes": s["size_bytes"], "hash": s["etag"],
                             "content_type": s["content_type"],
                             "last_modified": s["last_modified"]},
                            **({"range": f"{s['range'][0]}-{s['range'][1]}"} if s["range"]
                               else {})) for s in segs]).encode()


def _prepare(req, body: bytes):
    constraints.check_name("Object", req.obj, req.oconf.max_object_name_length)
    with req.db.session() as s:
        req.authorize_container(s, "PUT", obj=req.obj)
    segs = _validate(req, parse_manifest(body, req.oconf.max_manifest_segments))
    meta = {k: v for k, v in constraints.meta_updates(
        req.headers, "object", ingest.ALLOWED_HEADERS)[0].items() if k != "x-object-manifest"}
    constraints.check_meta(meta, "object", req.oconf)
    meta["x-static-large-object"] = "True"
    etag = slo_etag(segs)
    given = req.headers.get("etag")
    if given and given.strip('"').lower() != etag:
        raise errors.Unprocessable("Unprocessable Entity")
    f, path = req.backend.temp_file()
    with f:
        f.write(_stored(segs))
        f.flush()
        os.fsync(f.fileno())
    return segs, meta, etag, path, constraints.delete_at(req.headers, req.timestamp)


async def put(req):
    length = req.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_MANIFEST:
        raise errors.EntityTooLarge("Manifest File > 2097152 bytes")
    body = bytearray()
    async for chunk in req.raw.stream():
        body += chunk
        if len(body) > MAX_MANIFEST:
            raise errors.EntityTooLarge("Manifest File > 2097152 bytes")
    segs, meta, etag, path, delete_at = await blocking(_prepare, req, bytes(body))
    from stratus.api.object_store.objects import _content_type, put_headers
    info, _ = await blocking(store.write_object, req.db, req.backend, req.account, req.container,
                             req.obj, path, size=sum(s["size_bytes"] for s in segs), etag=etag,
                             content_type=_content_type(req), metadata=meta,
                             timestamp=req.timestamp, delete_at=delete_at, manifest="slo",
                             segments=segs)
    return c.reply(req, 201, b"", put_headers(req, info))


def manifest_response(req, info):
    if req.query.get("format") == "raw":
        body = json.dumps([dict({"path": s["path"], "etag": s["etag"],
                                 "size_bytes": s["size_bytes"]},
                                **({"range": f"{s['range'][0]}-{s['range'][1]}"}
                                   if s.get("range") else {})) for s in info.segments or []])
        body = body.encode()
    else:
        with req.backend.open(info.blob) as f:
            body = f.read()
    from stratus.api.object_store.objects import object_headers
    h = object_headers(req, info, hashlib.md5(body).hexdigest())
    h["ETag"] = hashlib.md5(body).hexdigest()
    h["Content-Type"] = "application/json; charset=utf-8"
    h["Content-Length"] = str(len(body))
    return c.reply(req, 200, body if req.method != "HEAD" else b"", h, h["Content-Type"])


def delete(req):
    """Delete the segments, then the manifest (Swift's bulk-delete report)."""
    with req.db.session() as s:
        row = req.authorize_container(s, "DELETE", obj=req.obj)
        o = store.live_object(s, row.id, req.obj)
        if o is None:
            raise errors.NotFound()
        info = store.info_of(o, req.account, req.container)
    if info.manifest != "slo":
        raise errors.BadRequest("Not an SLO manifest")
    deleted, missing, problems = 0, 0, []
    for seg in info.segments or []:
        cont, name = segments.split_path(seg["path"])
        saved = req.container
        try:
            with req.db.session() as s:
                req.container = cont
                req.authorize_container(s, "DELETE", cont, name)
            gone = store.delete_object(req.db, req.backend, req.account, cont, name,
                                       req.timestamp)
            deleted, missing = (deleted + 1, missing) if gone else (deleted, missing + 1)
        except errors.NotFound:
            missing += 1
        except errors.APIError as exc:
            problems.append([seg["path"], f"{exc.status} {exc.title}"])
        finally:
            req.container = saved
    if store.delete_object(req.db, req.backend, req.account, req.container, req.obj,
                           req.timestamp):
        deleted += 1
    status = "400 Bad Request" if problems else "200 OK"
    report = {"Number Deleted": deleted, "Number Not Found": missing, "Response Body": "",
              "Response Status": status, "Errors": problems}
    fmt = render.wanted_format(req.query, req.headers) if "format" not in req.query or \
        req.query.get("format") in ("json", "xml", "plain") else "plain"
    if fmt == "json":
        return c.reply(req, 200, json.dumps(report), {}, render.TYPES["json"])
    text = "".join(f"{k}: {v if k != 'Errors' else ''}\n" for k, v in report.items())
    text += "".join(f"{p}, {e}\n" for p, e in problems)
    return c.reply(req, 200, text, {}, render.TYPES["plain"])
