"""Account requests: HEAD/GET (usage, metadata, container listing) and POST
(metadata).  An account exists implicitly for its project; its row is created
on the first write."""
from __future__ import annotations

from stratus.api.object_store import common as c, render
from stratus.objectstore import constraints, errors, listing, store

POLICY = "Policy-0"


def _headers(req, s) -> dict:
    row = s.get(store.SwiftAccount, req.account)
    n, objs, size = store.account_usage(s, req.account)
    h = {"X-Account-Container-Count": str(n), "X-Account-Object-Count": str(objs),
         "X-Account-Bytes-Used": str(size),
         "X-Timestamp": c.x_timestamp(row.created if row else req.timestamp),
         "Accept-Ranges": "bytes"}
    if n:
        p = f"X-Account-Storage-Policy-{POLICY}-"
        h.update({p + "Container-Count": str(n), p + "Object-Count": str(objs),
                  p + "Bytes-Used": str(size)})
    for k, v in ((row.meta if row else None) or {}).items():
        h[k.title()] = v
    return h


def head_or_get(req):
    req.authorize()
    try:
        params = listing.parse_params(req.query, req.oconf.container_listing_limit)
    except ValueError as exc:
        raise errors.PreconditionFailed(str(exc)) from None
    fmt = render.wanted_format(req.query, req.headers)
    with req.db.session() as s:
        headers = _headers(req, s)
        if req.method == "HEAD":
            return c.reply(req, 204, b"", headers, render.TYPES[fmt])

        def fetch(lower, upper, prefix, limit, reverse):
            return [(r.name, r) for r in store.fetch_containers(s, req.account, lower, upper,
                                                                prefix, limit, reverse)]
        entries = []
        for kind, name, row in listing.collect(fetch, **params):
            if kind == "subdir":
                entries.append({"subdir": name})
            else:
                entries.append({"name": name, "count": row.object_count,
                                "bytes": row.bytes_used, "last_modified": c.iso(row.created)})
    if not entries and fmt == "plain":
        return c.reply(req, 204, b"", headers, render.TYPES[fmt])
    return c.reply(req, 200, render.body(fmt, "account", req.account, entries), headers,
                   render.TYPES[fmt])


def post(req):
    req.authorize()
    set_, remove = constraints.meta_updates(req.headers, "account")
    with req.db.session() as s:
        row = store.ensure_account(s, req.account, req.timestamp)
        meta = {k: v for k, v in (row.meta or {}).items() if k not in remove}
        meta.update(set_)
        constraints.check_meta(meta, "account", req.oconf)
        row.meta = meta
    return c.reply(req, 204)


def not_allowed(req):
    req.authorize()
    raise errors.MethodNotAllowed(f"{req.method} is not allowed on an account.")
