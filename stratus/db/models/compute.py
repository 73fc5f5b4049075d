"""Compute tables: flavors, key pairs, instances (servers) and what hangs off
them, compute hosts with their resource usage, aggregates, server groups and
quota overrides.

Desired state lives on the instance row: ``vm_state`` says what the user wants
the server to be (active, stopped, paused, suspended, deleted), ``task_state``
a transition in progress (``rebooting``, ``rebooting_hard``, ``rebuilding``,
``image_snapshot``, ``deleting``, ``powering-off``, ...).  The host agent
converges the real VM to it and reports ``power_state`` back.  Every write the
agent must notice bumps the host's ``revision`` (see compute/revision.py).

Resource claims are atomic: ``compute_node.used_*`` are changed only by a
conditional UPDATE that also checks capacity (scheduler/claims.py), and each
claim is recorded in ``allocation`` so it can be released exactly once.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint)
from sqlalchemy import event, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from stratus.db.base import Base
from stratus.db.models.identity import utcnow


class Flavor(Base):
    __tablename__ = "flavor"
    # Internal integer key keeps list order and markers stable; flavorid is the API id.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_spec"
    flavor_id: Mapped[int] = mapped_column(Integer, ForeignKey("flavor.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    """Projects allowed to use a private flavor."""
    __tablename__ = "flavor_project"
    flavor_id: Mapped[int] = mapped_column(Integer, ForeignKey("flavor.id", ondelete="CASCADE"),
                                           primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class KeyPair(Base):
    __tablename__ = "key_pair"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_key_pair_user_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ComputeNode(Base):
    """A hypervisor host: its nova-compute service record and its resources.

    ``vcpus``/``memory_mb``/``local_gb`` are what the agent reports; the usable
    capacity is ``(total - reserved) * allocation_ratio`` with the ratios and
    reservations stored here (from the agent's configuration) so that the
    scheduler's atomic claim can check them in SQL.
    """
    __tablename__ = "compute_node"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_type: Mapped[str] = mapped_column(String(32), default="QEMU")
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=0)
    host_ip: Mapped[str | None] = mapped_column(String(64))
    # VXLAN tunnel endpoint ([vxlan] local_ip of the host's agent; none: no tunnels).
    tunnel_ip: Mapped[str | None] = mapped_column(String(64))
    cpu_info: Mapped[dict] = mapped_column(JSON, default=dict)
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    local_gb: Mapped[int] = mapped_column(Integer, default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=16.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.5)
    disk_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    reserved_host_memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    reserved_host_disk_mb: Mapped[int] = mapped_column(Integer, default=0)
    reserved_host_cpus: Mapped[int] = mapped_column(Integer, default=0)
    # Claimed by instances on this host (changed only by atomic claims).
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    # Compute units (ECU) and network bandwidth the host advertises (0: none)
    # and what instances claimed of them (EcuFilter, BandwidthFilter).
    ecu: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ecu_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bandwidth_mbps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bandwidth_kbps_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Builds that failed here since the last success (BuildFailureWeigher).
    failed_builds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The cell the host belongs to (two-level placement: a cell, then a host).
    cell: Mapped[str] = mapped_column(String(64), default="cell1", server_default="cell1")
    # Free-form capabilities / stats reported by the agent (for later filters).
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    # Service record (os-services).
    service_id: Mapped[int] = mapped_column(Integer, unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Bumped whenever something the host's agent must act on changes.
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    # Change marker of what the scheduler reads (scheduler/host_cache.py):
    # every write of such a column bumps sched_version and sets
    # sched_changed_at (claims in SQL, ORM writes by the listener below);
    # heartbeats that only move last_seen_up do not.
    sched_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sched_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=utcnow,
                                                                 index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Instance(Base):
    __tablename__ = "instance"
    __table_args__ = (Index("ix_instance_project_deleted", "project_id", "deleted"),
                      Index("ix_instance_host_deleted", "host", "deleted"),
                      Index("ix_instance_created", "created_at", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    image_ref: Mapped[str] = mapped_column(String(64), default="")
    # Snapshot of the flavor at create time (id, name, vcpus, ram, disk, ephemeral,
    # swap, extra_specs), as nova embeds it.
    flavor: Mapped[dict] = mapped_column(JSON)
    flavor_id: Mapped[str] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    vm_state: Mapped[str] = mapped_column(String(32), default="building")
    task_state: Mapped[str | None] = mapped_column(String(32), default="scheduling")
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    requested_az: Mapped[str | None] = mapped_column(String(255))
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    access_ip_v4: Mapped[str | None] = mapped_column(String(64))
    access_ip_v6: Mapped[str | None] = mapped_column(String(64))
    reservation_id: Mapped[str] = mapped_column(String(255), default="")
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    # Network requests as given at create ([{"uuid"|"port"|"fixed_ip": ...}] or "auto"/"none").
    requested_networks: Mapped[list | str | None] = mapped_column(JSON)
    # Scheduling: request spec (hints, group, requested AZ, retry history).
    request_spec: Mapped[dict] = mapped_column(JSON, default=dict)
    # Bumped by every user action the agent must perform (reboot, rebuild, ...).
    action_seq: Mapped[int] = mapped_column(Integer, default=0)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Soft delete as nova does: 0 live, else the row id (keeps unique keys usable).
    deleted: Mapped[int] = mapped_column(Integer, default=0)


class InstanceMetadata(Base):
    __tablename__ = "instance_metadata"
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("instance.uuid", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class InstanceFault(Base):
    __tablename__ = "instance_fault"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("instance.uuid", ondelete="CASCADE"), index=True)
    code: Mapped[int] = mapped_column(Integer, default=500)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class InstanceAction(Base):
    """os-instance-actions: one row per user action on a server."""
    __tablename__ = "instance_action"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("instance.uuid", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class InstanceActionEvent(Base):
    __tablename__ = "instance_action_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("instance_action.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Allocation(Base):
    """A resource claim of an instance on a host (released exactly once)."""
    __tablename__ = "allocation"
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    compute_node_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("compute_node.id", ondelete="CASCADE"), index=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    ecu: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bandwidth_kbps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Aggregate(Base):
    __tablename__ = "aggregate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AggregateHost(Base):
    __tablename__ = "aggregate_host"
    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("aggregate.id", ondelete="CASCADE"), primary_key=True)
    # the scheduler's host cache reads one host's aggregates at a time
    host: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class AggregateMetadata(Base):
    """Includes ``availability_zone``, which makes the aggregate an AZ."""
    __tablename__ = "aggregate_metadata"
    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("aggregate.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ServerGroup(Base):
    __tablename__ = "server_group"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))  # affinity, anti-affinity, soft-*
    rules: Mapped[dict] = mapped_column(JSON, default=dict)  # max_server_per_host
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ServerGroupMember(Base):
    __tablename__ = "server_group_member"
    group_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("server_group.id", ondelete="CASCADE"), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)


class QuotaLimit(Base):
    """Per-project (and optionally per-user) quota overrides; defaults come from
    the ``[quota]`` config or the ``default`` quota class (project_id
    ``__default__``).  Usage is never stored: it is counted from the resources."""
    __tablename__ = "quota_limit"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


# --- Scheduler change marker (scheduler/host_cache.py re-reads marked rows) ---
# Columns whose change does not concern the scheduler's view of a host.
_SCHED_IGNORED = frozenset({"last_seen_up", "updated_at", "revision", "sched_version",
                            "sched_changed_at", "tunnel_ip"})


@event.listens_for(ComputeNode, "before_update")
def _mark_sched_change(mapper, connection, target) -> None:
    """An ORM write of a column the scheduler reads bumps the change marker."""
    state = sa_inspect(target)
    for attr in state.mapper.column_attrs:
        if attr.key not in _SCHED_IGNORED and state.attrs[attr.key].history.has_changes():
            target.sched_version = (target.sched_version or 0) + 1
            target.sched_changed_at = utcnow()
            return


@event.listens_for(Session, "before_flush")
def _mark_aggregate_hosts(session, flush_context, instances) -> None:
    """An ORM change of an aggregate, its metadata or its hosts marks the
    compute nodes of the hosts concerned as changed."""
    hosts: set[str] = set()
    agg_ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, AggregateHost):
            hosts.add(obj.host)
        elif isinstance(obj, (AggregateMetadata, Aggregate)):
            agg_id = obj.aggregate_id if isinstance(obj, AggregateMetadata) else obj.id
            if agg_id is not None:
                agg_ids.add(agg_id)
    if not hosts and not agg_ids:
        return
    with session.no_autoflush:
        if agg_ids:
            hosts.update(session.execute(select(AggregateHost.host).where(
                AggregateHost.aggregate_id.in_(agg_ids))).scalars())
        if hosts:
            cn = ComputeNode.__table__.c
            session.execute(update(ComputeNode.__table__).where(cn.host.in_(hosts)).values(
                sched_version=cn.sched_version + 1, sched_changed_at=utcnow()))
