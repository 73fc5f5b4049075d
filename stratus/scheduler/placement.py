"""The writes of a scheduling decision, each in one transaction.

``place`` puts an instance on a chosen host, or changes nothing:

1. a conditional UPDATE moves the instance from ``scheduling`` to
   ``spawning`` on the host (so two schedulers handling the same instance,
   e.g. the API's background task and the sweep, never both claim); this
   first write also takes SQLite's write lock, so every read after it in
   the transaction is current;
2. for a server group, the group row is locked (``SELECT ... FOR UPDATE`` on
   PostgreSQL; SQLite is already serialised by step 1) and the members'
   hosts are re-read and the hard policy re-checked: two anti-affinity
   members scheduled at the same moment never share a host;
3. the atomic claim (claims.py);
4. group membership, port binding and the host revision bump.

Any refusal rolls the whole transaction back and says why, so the service
can try the next host or refresh its view.  ``fail`` records a fault.
"""
from __future__ import annotations

import dataclasses
import enum
import importlib
import logging
from types import MappingProxyType
from typing import Any, Callable

from sqlalchemy import bindparam, select, update

from stratus.db.base import Database
from stratus.db.models.compute import Instance, InstanceFault, ServerGroup, ServerGroupMember
from stratus.scheduler import claims, host_cache, state_loader
from stratus.scheduler.filters.server_group_affinity_filter import ServerGroupAffinityFilter
from stratus.scheduler.filters.server_group_anti_affinity_filter import (
    ServerGroupAntiAffinityFilter)
from stratus.scheduler.host_state import HostState
from stratus.scheduler.request import GroupInfo, RequestSpec

LOG = logging.getLogger(__name__)
_GROUP_FILTERS = (ServerGroupAffinityFilter(), ServerGroupAntiAffinityFilter())


class Outcome(enum.Enum):
    PLACED = "placed"
    GONE = "gone"                      # deleted, or no longer scheduling (someone else did it)
    LOST_RACE = "lost_race"            # the host filled up meanwhile
    GROUP_CONFLICT = "group_conflict"  # another member landed meanwhile


class _Abort(Exception):
    def __init__(self, outcome: Outcome):
        self.outcome = outcome


def optional_hook(module: str, attr: str) -> Callable[..., Any] | None:
    """A function of another package, or None while that package lacks it."""
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def bump_revision(session, host: str | None) -> None:
    bump = optional_hook("stratus.compute.revision", "bump")
    if bump is not None and host:
        bump(session, host)


def _check_group(session, spec: RequestSpec, host: HostState) -> None:
    row = state_loader.find_group(session, spec.group_uuid)
    if row is None:
        return
    session.execute(select(ServerGroup.id).where(ServerGroup.id == row.id).with_for_update())
    fresh = GroupInfo(uuid=row.uuid, policy=row.policy,
                      rules=MappingProxyType(dict(row.rules or {})),
                      hosts=MappingProxyType(
                          state_loader.group_hosts(session, row.id, spec.instance_uuid)))
    checked = dataclasses.replace(spec, group=fresh)
    if not all(f.host_passes(host, checked) for f in _GROUP_FILTERS):
        raise _Abort(Outcome.GROUP_CONFLICT)
    if session.get(ServerGroupMember, (row.id, spec.instance_uuid)) is None:
        session.add(ServerGroupMember(group_id=row.id, instance_uuid=spec.instance_uuid))


def _zone(spec: RequestSpec, host: HostState) -> str:
    """The requested zone when given (the host is in it), else the host's first."""
    zones = host.availability_zone.split(",")
    return spec.availability_zone if spec.availability_zone in zones else zones[0]


_I = Instance.__table__.c
_TAKE = (update(Instance.__table__)
         .where(_I.uuid == bindparam("b_uuid"), _I.deleted == 0, _I.task_state == "scheduling")
         .values(host=bindparam("b_host"), node=bindparam("b_host"),
                 availability_zone=bindparam("b_az"), task_state="spawning",
                 updated_at=bindparam("b_now")))


def place(db: Database, spec: RequestSpec, host: HostState) -> Outcome:
    amounts = claims.Amounts(spec.vcpus, spec.memory_mb, spec.disk_gb, spec.ecu,
                             spec.bandwidth_kbps)     # as claims.amounts_of(the row)
    try:
        with db.session() as s:
            moved = s.execute(_TAKE, dict(b_uuid=spec.instance_uuid, b_host=host.host,
                                          b_az=_zone(spec, host), b_now=state_loader.utcnow()))
            if moved.rowcount != 1:
                raise _Abort(Outcome.GONE)
            if spec.group_uuid:
                _check_group(s, spec, host)
            # the claim bumps the host's revision too: its agent sees the instance
            if not claims.claim_amounts(s, host.node_id, spec.instance_uuid, amounts,
                                        bump_revision=True,
                                        bandwidth_limit_kbps=host.bandwidth_kbps_limit):
                raise _Abort(Outcome.LOST_RACE)
            bind = optional_hook("stratus.network.ports", "bind_ports")
            if bind is not None:
                bind(s, spec.instance_uuid, host.host)
            version = s.info.get(claims.CLAIMED_VERSIONS, {}).get(host.node_id)
    except _Abort as abort:
        LOG.debug("placing %s on %s: %s", spec.instance_uuid, host.host, abort.outcome.value)
        return abort.outcome
    cache = host_cache.existing(db.engine)
    if cache is not None:
        cache.note_placed(host.node_id, spec, version)
    LOG.info("instance %s scheduled to host %s", spec.instance_uuid, host.host)
    return Outcome.PLACED


def fail(db: Database, uuid: str, message: str, details: str | None) -> bool:
    """ERROR the instance with a fault, if it is still waiting to be scheduled."""
    with db.session() as s:
        res = s.execute(
            update(Instance).where(Instance.uuid == uuid, Instance.deleted == 0,
                                   Instance.task_state == "scheduling")
            .values(vm_state="error", task_state=None)
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:
            return False
        s.add(InstanceFault(instance_uuid=uuid, code=500, message=message[:255],
                            details=details))
    LOG.warning("instance %s: %s", uuid, message)
    return True
