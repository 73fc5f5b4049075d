"""Availability zones and service liveness, as nova derives them: a host's
zone is the ``availability_zone`` metadata of the aggregates it is in, else
``[compute] default_availability_zone``; a compute service is up when its
last heartbeat is younger than ``service_down_time`` and it is not forced
down."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from stratus.db.models import compute as m
from stratus.db.models.identity import utcnow

AZ_KEY = "availability_zone"
INTERNAL_ZONE = "internal"


def is_up(node: m.ComputeNode, service_down_time: int, now: dt.datetime | None = None) -> bool:
    if node.forced_down or node.last_seen_up is None:
        return False
    now = now or utcnow()
    return (now - node.last_seen_up).total_seconds() <= service_down_time


def aggregate_zones(session) -> dict[int, str]:
    """aggregate id -> its availability zone (only aggregates that have one)."""
    return {md.aggregate_id: md.value for md in session.scalars(
        select(m.AggregateMetadata).where(m.AggregateMetadata.key == AZ_KEY))}


def host_zones(session) -> dict[str, set[str]]:
    """host -> the zones of the aggregates it belongs to (hosts in no zoned
    aggregate are absent)."""
    zones = aggregate_zones(session)
    out: dict[str, set[str]] = {}
    for ah in session.scalars(select(m.AggregateHost)):
        if ah.aggregate_id in zones:
            out.setdefault(ah.host, set()).add(zones[ah.aggregate_id])
    return out


def zone_of(session, conf, host: str) -> str:
    """The zone a host is in (a host is in at most one; several are joined
    with ',' as nova does when the invariant was broken)."""
    zones = host_zones(session).get(host)
    return ",".join(sorted(zones)) if zones else conf.compute.default_availability_zone


def zone_conflict(current: set[str], new_zone: str | None) -> str | None:
    """The zone a host already is in that differs from ``new_zone`` (so
    putting the host in an aggregate of ``new_zone`` would place it in two
    zones), else None.  Pure."""
    if not new_zone:
        return None
    other = sorted(z for z in current if z != new_zone)
    return other[0] if other else None
