"""Flavor domain logic shared by the flavor API and server create: the default
flavors a new cloud gets, and flavor lookup that respects private flavors."""
from __future__ import annotations

from sqlalchemy import or_, select

from stratus.db.models import compute as m

# (flavorid, name, vcpus, memory_mb, root_gb), as DevStack's ids but sized so
# that several small guests fit on a modest machine (the guest image needs
# >= 128 MiB).
DEFAULT_FLAVORS = [
    ("1", "m1.tiny", 1, 256, 1),
    ("2", "m1.small", 1, 512, 2),
    ("3", "m1.medium", 2, 1024, 5),
    ("4", "m1.large", 2, 2048, 10),
    ("5", "m1.xlarge", 4, 4096, 20),
]


def ensure_default_flavors(session) -> list[str]:
    """On first start (no flavor at all yet) create the default flavors; a
    cloud that has flavors is left alone, so an operator's deletions and edits
    survive restarts.  Returns the names created."""
    if session.scalar(select(m.Flavor.id).limit(1)) is not None:
        return []
    for flavorid, name, vcpus, ram, disk in DEFAULT_FLAVORS:
        session.add(m.Flavor(flavorid=flavorid, name=name, vcpus=vcpus, memory_mb=ram,
                             root_gb=disk, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
                             is_public=True, disabled=False))
    session.flush()
    return [f[1] for f in DEFAULT_FLAVORS]


def is_admin(ctx) -> bool:
    return bool(ctx is not None and getattr(ctx, "is_admin", False))


def accessible(stmt, ctx):
    """Restrict a Flavor select to what the caller may see: public flavors, and
    private ones granted to the caller's project (admins see all)."""
    if is_admin(ctx):
        return stmt
    granted = select(m.FlavorProject.flavor_id).where(
        m.FlavorProject.project_id == (getattr(ctx, "project_id", None) or ""))
    return stmt.where(or_(m.Flavor.is_public.is_(True), m.Flavor.id.in_(granted)))


def get_flavor(session, flavor_ref, ctx) -> m.Flavor | None:
    """The flavor with API id ``flavor_ref`` if the caller may use it, else None.
    A flavorRef may also be a URL ending in the id, as nova accepts."""
    if flavor_ref is None:
        return None
    ref = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    stmt = accessible(select(m.Flavor).where(m.Flavor.flavorid == ref), ctx)
    return session.scalar(stmt)


def extra_specs(session, flavor: m.Flavor) -> dict[str, str]:
    return {r.key: r.value for r in session.scalars(
        select(m.FlavorExtraSpec).where(m.FlavorExtraSpec.flavor_id == flavor.id))}


def snapshot(session, flavor: m.Flavor) -> dict:
    """The flavor as embedded in an instance (nova's instance.flavor)."""
    return {"id": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "ram": flavor.memory_mb, "disk": flavor.root_gb,
            "ephemeral": flavor.ephemeral_gb, "swap": flavor.swap,
            "extra_specs": extra_specs(session, flavor)}
