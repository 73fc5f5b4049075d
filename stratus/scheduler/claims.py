"""Atomic resource claims on compute hosts.

``claim`` is ONE conditional UPDATE of ``compute_node`` whose WHERE clause
re-checks capacity, ``(total - reserved) * allocation_ratio``, against the
row as it is at that instant; the database serialises concurrent UPDATEs of
a row (row lock on PostgreSQL, the write lock on SQLite), so however many
schedulers race, a host is never over-committed: the loser's UPDATE matches
no row and it tries another host.  Each successful claim writes an
``allocation`` row so that ``release`` can give back exactly what was taken,
exactly once.  Both run inside the caller's transaction (``db.session()``).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import DateTime, Integer, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from stratus.db.models.compute import Allocation, ComputeNode
from stratus.db.models.identity import utcnow
from stratus.scheduler import request
from stratus.scheduler.request import disk_gb_of


CLAIMED_VERSIONS = "stratus.claimed_versions"   # session.info key: node id -> sched_version


class ClaimError(Exception):
    """The instance already holds a claim on another host."""


def resources(instance: Any) -> tuple[int, int, int]:
    """(vcpus, memory_mb, disk_gb) an Instance row needs."""
    swap = (instance.flavor or {}).get("swap") or 0
    return (int(instance.vcpus), int(instance.memory_mb),
            disk_gb_of(instance.root_gb, instance.ephemeral_gb, swap))


def demands(instance: Any) -> tuple[int, int]:
    """(ecu, bandwidth_kbps) an Instance row's flavor asks for (0: none)."""
    specs = (instance.flavor or {}).get("extra_specs") or {}
    return (request._demand(request.ecu_of, specs, int(instance.vcpus)),
            request._demand(request.bandwidth_kbps_of, specs))


def changed(cn) -> dict:
    """The change-marker columns a write of usage sets (host_cache re-reads the row)."""
    return dict(sched_version=cn.sched_version + 1, sched_changed_at=utcnow())


class Amounts(NamedTuple):
    """What one instance claims: vCPUs, RAM MB, disk GB, ECUs, bandwidth kbit/s."""
    vcpus: int
    memory_mb: int
    disk_gb: int
    ecu: int = 0
    bandwidth_kbps: int = 0


def amounts_of(instance: Any) -> Amounts:
    return Amounts(*resources(instance), *demands(instance))


_ALLOC = Allocation.__table__.c
_HELD_ON = select(_ALLOC.compute_node_id).where(_ALLOC.instance_uuid == bindparam("uuid"))
_RECORD = insert(Allocation.__table__)
_CLAIM_SQL: dict[tuple[bool, str, bool], Any] = {}


def _claim_statement(ecu: bool, bandwidth: str, bump_revision: bool) -> Any:
    """The conditional UPDATE of one claim shape, built once (bind parameters
    ``node_id, v, m, d, e, b, limit, b_now``)."""
    key = (ecu, bandwidth, bump_revision)
    stmt = _CLAIM_SQL.get(key)
    if stmt is not None:
        return stmt
    cn = ComputeNode.__table__.c
    v, m, d = bindparam("v", type_=Integer), bindparam("m", type_=Integer), \
        bindparam("d", type_=Integer)
    checks = [cn.id == bindparam("node_id", type_=Integer),
              cn.vcpus_used + v
              <= (cn.vcpus - cn.reserved_host_cpus) * cn.cpu_allocation_ratio,
              cn.memory_mb_used + m
              <= (cn.memory_mb - cn.reserved_host_memory_mb) * cn.ram_allocation_ratio,
              cn.local_gb_used + d
              <= (cn.local_gb - cn.reserved_host_disk_mb / 1024.0) * cn.disk_allocation_ratio]
    values = dict(vcpus_used=cn.vcpus_used + v, memory_mb_used=cn.memory_mb_used + m,
                  local_gb_used=cn.local_gb_used + d, running_vms=cn.running_vms + 1,
                  sched_version=cn.sched_version + 1,
                  sched_changed_at=bindparam("b_now", type_=DateTime))
    if bump_revision:
        values["revision"] = cn.revision + 1
    # A host that advertises no ECUs / bandwidth is not limited by them (the
    # EcuFilter / BandwidthFilter, when enabled, keep such requests off it).
    if ecu:
        e = bindparam("e", type_=Integer)
        checks.append(or_(cn.ecu == 0, cn.ecu_used + e <= cn.ecu))
        values["ecu_used"] = cn.ecu_used + e
    if bandwidth != "none":
        b = bindparam("b", type_=Integer)
        if bandwidth == "row":
            checks.append(or_(cn.bandwidth_mbps == 0,
                              cn.bandwidth_kbps_used + b <= cn.bandwidth_mbps * 1000))
        elif bandwidth == "limit":
            checks.append(cn.bandwidth_kbps_used + b <= bindparam("limit", type_=Integer))
        values["bandwidth_kbps_used"] = cn.bandwidth_kbps_used + b
    stmt = _CLAIM_SQL[key] = (
        update(ComputeNode.__table__).where(*checks).values(**values)
        .returning(cn.sched_version).execution_options(synchronize_session=False))
    return stmt


def claim(session: Session, node_id: int, instance: Any,
          bandwidth_limit_kbps: int | None = None, bump_revision: bool = False) -> bool:
    """Take ``instance``'s resources on compute node ``node_id`` if they fit
    (see :func:`claim_amounts`)."""
    return claim_amounts(session, node_id, instance.uuid, amounts_of(instance),
                         bandwidth_limit_kbps, bump_revision)


def claim_amounts(session: Session, node_id: int, instance_uuid: str, amounts: Amounts,
                  bandwidth_limit_kbps: int | None = None,
                  bump_revision: bool = False) -> bool:
    """Take ``amounts`` for ``instance_uuid`` on compute node ``node_id`` if they fit.

    vCPU, RAM and disk are checked against the row's own capacity and
    ratios; ECUs against the row's ``ecu``; bandwidth against
    ``bandwidth_limit_kbps`` (the host's advertised bandwidth, which may come
    from aggregate metadata, so the caller passes it) or the row's own
    ``bandwidth_mbps``; a host advertising none of either is not limited by
    it.  Returns False (and changes nothing) when the host
    lacks capacity or does not exist.  Claiming again on the same node is a
    no-op returning True; on another node it raises :class:`ClaimError`
    (release first).  ``bump_revision`` also bumps the host's revision in
    the same UPDATE (what placement needs: one statement instead of three).
    The statements are built once per shape (a claim runs per decision).
    """
    held = session.execute(_HELD_ON, {"uuid": instance_uuid}).scalar()
    if held is not None:
        if held == node_id:
            return True
        raise ClaimError(f"instance {instance_uuid} already claims node {held}")
    v, m, d, e, b = amounts
    if not b:
        mode = "none"
    elif bandwidth_limit_kbps is None:
        mode = "row"
    else:
        mode = "limit" if bandwidth_limit_kbps > 0 else "unlimited"
    params = dict(node_id=node_id, v=v, m=m, d=d, b_now=utcnow())
    if e:
        params["e"] = e
    if b:
        params["b"] = b
    if mode == "limit":
        params["limit"] = int(bandwidth_limit_kbps)
    version = session.execute(_claim_statement(bool(e), mode, bump_revision), params).scalar()
    if version is None:
        return False
    # the row's change marker after this claim: host_cache applies the claim to
    # its view only if it had the version just before (else it re-reads the row)
    session.info.setdefault(CLAIMED_VERSIONS, {})[node_id] = version
    session.execute(_RECORD, dict(instance_uuid=instance_uuid, compute_node_id=node_id,
                                  vcpus=v, memory_mb=m, local_gb=d, ecu=e, bandwidth_kbps=b))
    return True


def release(session: Session, instance_uuid: str) -> bool:
    """Give back the claim of ``instance_uuid``; True if there was one.

    Idempotent, also under concurrency: only the caller whose DELETE of the
    allocation row matched subtracts the usage.
    """
    alloc = session.get(Allocation, instance_uuid)
    if alloc is None:
        return False
    node_id, v, m, d = alloc.compute_node_id, alloc.vcpus, alloc.memory_mb, alloc.local_gb
    e, b = alloc.ecu or 0, alloc.bandwidth_kbps or 0
    gone = session.execute(
        delete(Allocation.__table__).where(Allocation.__table__.c.instance_uuid == instance_uuid)
        .execution_options(synchronize_session=False))
    session.expunge(alloc)
    if gone.rowcount != 1:
        return False
    cn = ComputeNode.__table__.c
    session.execute(
        update(ComputeNode.__table__).where(cn.id == node_id)
        .values(vcpus_used=cn.vcpus_used - v, memory_mb_used=cn.memory_mb_used - m,
                local_gb_used=cn.local_gb_used - d,
                ecu_used=cn.ecu_used - e, bandwidth_kbps_used=cn.bandwidth_kbps_used - b,
                running_vms=cn.running_vms - 1, **changed(cn))
        .execution_options(synchronize_session=False))
    return True
