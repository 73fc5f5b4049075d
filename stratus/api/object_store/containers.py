"""Container requests: PUT (create 201 / update 202), POST (metadata and
ACLs, 204), DELETE (204; 409 while objects remain), HEAD/GET (usage,
metadata, object listing).  Only the account owner sees or sets ACLs."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from stratus.api.object_store import common as c, render
from stratus.api.object_store.accounts import POLICY
from stratus.objectstore import acl, constraints, errors, listing, store

ACL_HEADERS = ("x-container-read", "x-container-write")


def _apply(req, row) -> None:
    """Metadata and ACL headers of the request onto the container row."""
    set_, remove = constraints.meta_updates(req.headers, "container")
    meta = {k: v for k, v in (row.meta or {}).items() if k not in remove}
    meta.update(set_)
    constraints.check_meta(meta, "container", req.oconf)
    row.meta = meta
    for header, attr in (("x-container-read", "read_acl"), ("x-container-write", "write_acl")):
        if header in req.headers:
            setattr(row, attr, acl.clean(header, req.headers[header]))
        if f"x-remove-{header[2:]}" in req.headers:
            setattr(row, attr, "")


def put(req):
    req.authorize()
    constraints.check_name("Container", req.container, req.oconf.max_container_name_length)
    policy = req.headers.get("x-storage-policy")
    if policy is not None and policy.lower() != POLICY.lower():
        raise errors.BadRequest(f"Invalid X-Storage-Policy {policy!r}")
    try:
        with req.db.session() as s:
            store.ensure_account(s, req.account, req.timestamp)
            row = store.get_container(s, req.account, req.container)
            status = 202
            if row is None:
                row = store.SwiftContainer(account=req.account, name=req.container,
                                           created=req.timestamp, meta={}, read_acl="",
                                           write_acl="", object_count=0, bytes_used=0)
                s.add(row)
                status = 201
            _apply(req, row)
    except IntegrityError:  # created concurrently: that is an update now
        return put(req)
    return c.reply(req, status)


def post(req):
    req.authorize()
    with req.db.session() as s:
        row = store.get_container(s, req.account, req.container)
        if row is None:
            raise errors.NotFound()
        _apply(req, row)
    return c.reply(req, 204)


def delete(req):
    req.authorize()
    blobs = []
    with req.db.session() as s:
        row = store.lock_container(s, req.account, req.container)
        if row.object_count > 0:
            # expired objects are already gone for clients: they do not block
            gone = store.expired_objects(s, row.id, req.timestamp)
            if row.object_count > len(gone):
                raise errors.Conflict("There was a conflict when trying to complete your "
                                      "request.")
            blobs = [o.blob for o in gone]
            for o in gone:
                s.delete(o)
            s.flush()
        s.delete(row)
    for key in blobs:
        req.backend.delete(key)
    return c.reply(req, 204)


def _headers(req, row) -> dict:
    h = {"X-Container-Object-Count": str(row.object_count),
         "X-Container-Bytes-Used": str(row.bytes_used),
         "X-Timestamp": c.x_timestamp(row.created), "X-Storage-Policy": POLICY,
         "Accept-Ranges": "bytes", "Last-Modified": c.http_date(row.created)}
    for k, v in (row.meta or {}).items():
        h[k.title()] = v
    if req.owner:
        if row.read_acl:
            h["X-Container-Read"] = row.read_acl
        if row.write_acl:
            h["X-Container-Write"] = row.write_acl
    return h


def head_or_get(req):
    try:
        params = listing.parse_params(req.query, req.oconf.container_listing_limit)
    except ValueError as exc:
        raise errors.PreconditionFailed(str(exc)) from None
    fmt = render.wanted_format(req.query, req.headers)
    path = req.query.get("path")
    if path is not None:  # Swift's legacy ?path=: the names directly under it
        params.update(prefix=(path.rstrip("/") + "/") if path else "", delimiter="/")
    with req.db.session() as s:
        row = req.authorize_container(s)
        headers = _headers(req, row)
        if req.method == "HEAD":
            return c.reply(req, 204, b"", headers, render.TYPES[fmt])

        def fetch(lower, upper, prefix, limit, reverse):
            return [(o.name, o) for o in store.fetch_objects(s, row.id, lower, upper, prefix,
                                                             limit, reverse)]
        entries = []
        for kind, name, o in listing.collect(fetch, **params):
            if kind == "subdir":
                entries.append({"subdir": name})
            else:
                entries.append(_entry(o))
    if not entries and fmt == "plain":
        return c.reply(req, 204, b"", headers, render.TYPES[fmt])
    return c.reply(req, 200, render.body(fmt, "container", req.container, entries), headers,
                   render.TYPES[fmt])


def _entry(o) -> dict:
    etag = o.etag
    return {"hash": etag, "last_modified": c.iso(o.timestamp), "bytes": o.size,
            "name": o.name, "content_type": o.content_type}
