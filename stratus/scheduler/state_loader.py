"""Database reads for a scheduling decision (the only I/O before the claim).

``load_hosts`` snapshots every compute node with its aggregates and live
instance count (through the host state cache, host_cache.py, which re-reads
only what changed; ``load_all_hosts`` reads everything); ``resolve`` fills
in the request spec's database-dependent facts (where the server group's other members and the same_host /
different_host instances are).  ``group_hosts`` is also used inside the
claiming transaction to re-check a group's placement under its lock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus.db.models.compute import ComputeNode, Instance, ServerGroup, ServerGroupMember
from stratus.scheduler import host_cache, host_state
from stratus.scheduler.request import GroupInfo, RequestSpec, hint_list


# What nova counts as an I/O-heavy operation on a host (IoOpsFilter/Weigher):
# instances building, plus these task states.
IO_TASK_STATES = host_cache.IO_TASK_STATES
utcnow = host_cache.utcnow


def load_hosts(session: Session, conf: Any, now: dt.datetime | None = None
               ) -> list[host_state.HostState]:
    """Every compute host's state: from the host state cache (refreshed
    incrementally, see host_cache.py) unless ``[filter_scheduler]
    host_state_cache`` is off, else read whole (``load_all_hosts``)."""
    if getattr(conf.filter_scheduler, "host_state_cache", True):
        return host_cache.for_engine(session.get_bind(), conf).hosts_snapshot(session, now)
    return load_all_hosts(session, conf, now)


def load_all_hosts(session: Session, conf: Any, now: dt.datetime | None = None
                   ) -> list[host_state.HostState]:
    """Every compute host's state read now, row by row (no cache)."""
    now = now or utcnow()
    by_host = host_cache.read_aggregates(session)
    counts, io_ops = host_cache.read_counts(session)
    return [host_state.make(node, now=now,
                            service_down_time=conf.compute.service_down_time,
                            default_az=conf.compute.default_availability_zone,
                            aggregates=by_host.get(node.host, ()),
                            num_instances=counts.get(node.host, 0),
                            io_ops=io_ops.get(node.host, 0))
            # Plain rows, not ORM objects: cheaper at thousands of hosts.
            for node in session.execute(select(ComputeNode.__table__)
                                        .order_by(ComputeNode.__table__.c.id))]


def group_hosts(session: Session, group_id: int, exclude_uuid: str) -> dict[str, int]:
    """host -> number of live, placed members of the group other than ``exclude_uuid``."""
    rows = session.execute(
        select(Instance.host, func.count())
        .join(ServerGroupMember, ServerGroupMember.instance_uuid == Instance.uuid)
        .where(ServerGroupMember.group_id == group_id, Instance.deleted == 0,
               Instance.host.is_not(None), Instance.uuid != exclude_uuid)
        .group_by(Instance.host)).all()
    return {h: n for h, n in rows}


def find_group(session: Session, group_uuid: str | None) -> ServerGroup | None:
    if not group_uuid:
        return None
    return session.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid))


def _hosts_of(session: Session, uuids: list[str]) -> frozenset[str]:
    if not uuids:
        return frozenset()
    return frozenset(session.scalars(
        select(Instance.host).where(Instance.uuid.in_(uuids), Instance.deleted == 0,
                                    Instance.host.is_not(None))))


def resolve(session: Session, spec: RequestSpec) -> RequestSpec:
    """``spec`` with ``group``, ``same_host_hosts`` and ``different_host_hosts`` read now."""
    group = None
    row = find_group(session, spec.group_uuid)
    if row is not None:
        group = GroupInfo(uuid=row.uuid, policy=row.policy,
                          rules=MappingProxyType(dict(row.rules or {})),
                          hosts=MappingProxyType(group_hosts(session, row.id,
                                                             spec.instance_uuid)))
    same = hint_list(spec, "same_host")
    return dataclasses.replace(
        spec, group=group,
        same_host_hosts=_hosts_of(session, same) if same else None,
        different_host_hosts=_hosts_of(session, hint_list(spec, "different_host")))
