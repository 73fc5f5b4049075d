"""The service catalog as tokens and /v3/auth/catalog present it: every
enabled service with its enabled endpoints, in every region registered."""
from __future__ import annotations

import threading

from sqlalchemy import select

from stratus.db.models import identity as m

_cache: dict[int, list[dict]] = {}
_lock = threading.Lock()


def cached(db, rev: int) -> list[dict]:
    """The catalog at identity revision ``rev``, rebuilt only when the revision
    has moved (any change to services, endpoints or regions bumps it).
    Shared: callers serialize it and must not change it."""
    hit = _cache.get(rev)
    if hit is None:
        with db.session() as s:
            hit = build(s)
        with _lock:
            _cache.clear()
            _cache[rev] = hit
    return hit


_SUBST = ("project_id", "tenant_id")


def for_scope(entries: list[dict], project_id: str | None) -> list[dict]:
    """The catalog as one token sees it: ``%(project_id)s`` / ``$(project_id)s``
    (and ``tenant_id``) in endpoint URLs replaced by the token's project, as
    Keystone's format_url does; endpoints needing a project are left out of a
    catalog without one.  Returns ``entries`` itself when nothing needs it."""
    if not any(("(project_id)s" in e["url"] or "(tenant_id)s" in e["url"])
               for svc in entries for e in svc["endpoints"]):
        return entries
    out = []
    for svc in entries:
        eps = []
        for e in svc["endpoints"]:
            url = e["url"]
            if "(project_id)s" in url or "(tenant_id)s" in url:
                if not project_id:
                    continue
                for key in _SUBST:
                    url = url.replace(f"%({key})s", project_id).replace(f"$({key})s", project_id)
            eps.append(dict(e, url=url))
        out.append(dict(svc, endpoints=eps))
    return out


def build(session) -> list[dict]:
    services = {s.id: s for s in session.scalars(select(m.Service).where(m.Service.enabled))}
    out: dict[str, dict] = {}
    for ep in session.scalars(select(m.Endpoint).where(m.Endpoint.enabled)
                              .order_by(m.Endpoint.id)):
        svc = services.get(ep.service_id)
        if svc is None:
            continue
        entry = out.setdefault(svc.id, {"endpoints": [], "id": svc.id, "type": svc.type,
                                        "name": (svc.extra or {}).get("name", "")})
        entry["endpoints"].append({"id": ep.id, "interface": ep.interface,
                                   "region": ep.region_id, "region_id": ep.region_id,
                                   "url": ep.url})
    for svc in services.values():  # services without endpoints still appear, as in Keystone
        out.setdefault(svc.id, {"endpoints": [], "id": svc.id, "type": svc.type,
                                "name": (svc.extra or {}).get("name", "")})
    return list(out.values())
