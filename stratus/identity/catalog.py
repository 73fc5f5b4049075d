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
