"""Immutable snapshots of compute hosts, as filters and weighers see them.

A :class:`HostState` is built by :func:`make` from one ``compute_node`` row
(capacity, allocation ratios, reservations and usage as stored by the agent
and by atomic claims), the host's aggregates (availability zone and
metadata) and its instance count.  Filters and weighers never touch the
database; ``state_loader`` does the reading.

Capacity rules (the same expressions the claim checks in SQL, claims.py)::

    vcpus_used     + v <= (vcpus     - reserved_host_cpus)          * cpu_allocation_ratio
    memory_mb_used + m <= (memory_mb - reserved_host_memory_mb)     * ram_allocation_ratio
    local_gb_used  + d <= (local_gb  - reserved_host_disk_mb / 1024) * disk_allocation_ratio
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class HostState:
    node_id: int
    host: str
    availability_zone: str
    up: bool
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_host_cpus: int = 0
    reserved_host_memory_mb: int = 0
    reserved_host_disk_mb: int = 0
    num_instances: int = 0
    hypervisor_type: str = "QEMU"
    ecu: int = 0                      # advertised compute units (0: none)
    ecu_used: int = 0
    bandwidth_mbps: int = 0           # advertised (host config, else aggregate metadata)
    bandwidth_kbps_used: int = 0
    failed_builds: int = 0            # consecutive failed builds (BuildFailureWeigher)
    io_ops: int = 0                   # instances building/snapshotting/... (IoOpsFilter)
    cell: str = "cell1"
    host_ip: str | None = None        # the agent's address (SimpleCIDRAffinityFilter)
    hypervisor_version: int = 0       # nova's integer form, 7002022 = 7.2.22
    aggregates: tuple[str, ...] = ()
    # Union of the metadata of the host's aggregates: key -> set of values.
    aggregate_metadata: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({}))
    stats: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    # Limits and free amounts (derived, so never stale against the fields).
    @property
    def vcpus_limit(self) -> float:
        return (self.vcpus - self.reserved_host_cpus) * self.cpu_allocation_ratio

    @property
    def memory_mb_limit(self) -> float:
        return (self.memory_mb - self.reserved_host_memory_mb) * self.ram_allocation_ratio

    @property
    def local_gb_limit(self) -> float:
        return (self.local_gb - self.reserved_host_disk_mb / 1024) * self.disk_allocation_ratio

    @property
    def free_ram_mb(self) -> int:
        """Physical RAM not used or reserved (what nova's RAMWeigher ranks by)."""
        return self.memory_mb - self.reserved_host_memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.local_gb - self.reserved_host_disk_mb / 1024 - self.local_gb_used

    @property
    def free_vcpus(self) -> int:
        return self.vcpus - self.reserved_host_cpus - self.vcpus_used

    @property
    def free_ecu(self) -> int:
        return self.ecu - self.ecu_used

    @property
    def bandwidth_kbps_limit(self) -> int:
        return self.bandwidth_mbps * 1000

    @property
    def free_bandwidth_kbps(self) -> int:
        return self.bandwidth_kbps_limit - self.bandwidth_kbps_used


def is_up(forced_down: bool, last_seen_up: dt.datetime | None, now: dt.datetime,
          service_down_time: int) -> bool:
    """A service is up unless forced down or silent for more than service_down_time."""
    if forced_down or last_seen_up is None:
        return False
    if last_seen_up.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return (now - last_seen_up).total_seconds() <= service_down_time


def make(node: Any, *, now: dt.datetime, service_down_time: int, default_az: str,
         aggregates: Iterable[tuple[str, Mapping[str, str]]] = (),
         num_instances: int | None = None, io_ops: int = 0) -> HostState:
    """A snapshot of ``node`` (a ComputeNode row or lookalike).

    ``aggregates`` are (name, metadata) pairs of the aggregates holding the
    host; its AZ is their ``availability_zone`` values (sorted, joined by
    ","; as nova shows a host in several AZ aggregates) or ``default_az``.
    """
    names: list[str] = []
    meta: dict[str, set[str]] = {}
    for name, md in aggregates:
        names.append(name)
        for k, v in md.items():
            meta.setdefault(k, set()).add(v)
    azs = sorted(meta.get("availability_zone", ()))
    bandwidth = getattr(node, "bandwidth_mbps", 0) or _aggregate_int(meta, "bandwidth_mbps")
    return HostState(
        node_id=node.id, host=node.host,
        availability_zone=",".join(azs) if azs else default_az,
        up=is_up(node.forced_down, node.last_seen_up, now, service_down_time),
        disabled=bool(node.disabled), disabled_reason=node.disabled_reason,
        forced_down=bool(node.forced_down),
        vcpus=node.vcpus or 0, memory_mb=node.memory_mb or 0, local_gb=node.local_gb or 0,
        vcpus_used=node.vcpus_used or 0, memory_mb_used=node.memory_mb_used or 0,
        local_gb_used=node.local_gb_used or 0,
        cpu_allocation_ratio=node.cpu_allocation_ratio,
        ram_allocation_ratio=node.ram_allocation_ratio,
        disk_allocation_ratio=node.disk_allocation_ratio,
        reserved_host_cpus=node.reserved_host_cpus or 0,
        reserved_host_memory_mb=node.reserved_host_memory_mb or 0,
        reserved_host_disk_mb=node.reserved_host_disk_mb or 0,
        num_instances=node.running_vms if num_instances is None else num_instances,
        hypervisor_type=node.hypervisor_type or "QEMU",
        ecu=getattr(node, "ecu", 0) or 0, ecu_used=getattr(node, "ecu_used", 0) or 0,
        bandwidth_mbps=bandwidth,
        bandwidth_kbps_used=getattr(node, "bandwidth_kbps_used", 0) or 0,
        failed_builds=getattr(node, "failed_builds", 0) or 0,
        io_ops=io_ops, cell=getattr(node, "cell", None) or "cell1",
        host_ip=getattr(node, "host_ip", None) or None,
        hypervisor_version=getattr(node, "hypervisor_version", 0) or 0,
        aggregates=tuple(sorted(names)),
        aggregate_metadata=MappingProxyType({k: frozenset(v) for k, v in meta.items()}),
        stats=MappingProxyType(dict(node.stats or {})),
    )


def _aggregate_int(meta: Mapping[str, set[str]], key: str) -> int:
    """The smallest valid integer among the host's aggregates' ``key`` values
    (a host in two aggregates that disagree gets the safer figure), else 0."""
    values = []
    for v in meta.get(key, ()):
        try:
            values.append(int(v))
        except (TypeError, ValueError):
            continue
    return max(0, min(values)) if values else 0


def availability_zones(host: HostState) -> frozenset[str]:
    return frozenset(host.availability_zone.split(","))
