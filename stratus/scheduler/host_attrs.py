"""Host variables and aggregate metadata helpers shared by filters.

``variable(host, name)`` exposes a host snapshot under nova's HostState
attribute names (what JsonFilter's ``$free_ram_mb`` and
ComputeCapabilitiesFilter's ``capabilities:hypervisor_type`` refer to), then
Stratus' own field names; anything else is looked up in the agent-reported
``stats``.  ``aggregate_values`` splits aggregate metadata values on commas
as nova's ``aggregate_metadata_get_by_host`` does.  Pure; no I/O.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Callable, Iterable

from stratus.scheduler.host_state import HostState

# nova HostState names -> value over our snapshot.
NOVA_VARIABLES: dict[str, Callable[[HostState], Any]] = {
    "host": lambda h: h.host,
    "nodename": lambda h: h.host,
    "hypervisor_hostname": lambda h: h.host,
    "hypervisor_type": lambda h: h.hypervisor_type,
    "free_ram_mb": lambda h: h.free_ram_mb,
    "free_disk_mb": lambda h: h.free_disk_gb * 1024,
    "total_usable_ram_mb": lambda h: h.memory_mb,
    "total_usable_disk_gb": lambda h: h.local_gb,
    "disk_mb_used": lambda h: h.local_gb_used * 1024,
    "vcpus_total": lambda h: h.vcpus,
    "vcpus_used": lambda h: h.vcpus_used,
    "num_instances": lambda h: h.num_instances,
    "cpu_allocation_ratio": lambda h: h.cpu_allocation_ratio,
    "ram_allocation_ratio": lambda h: h.ram_allocation_ratio,
    "disk_allocation_ratio": lambda h: h.disk_allocation_ratio,
    "availability_zone": lambda h: h.availability_zone,
    "stats": lambda h: h.stats,
}
# Stratus' own snapshot fields (and derived limits), for completeness.
OWN_FIELDS = frozenset({
    "node_id", "vcpus", "memory_mb", "local_gb", "memory_mb_used", "local_gb_used",
    "reserved_host_cpus", "reserved_host_memory_mb", "reserved_host_disk_mb",
    "vcpus_limit", "memory_mb_limit", "local_gb_limit", "free_disk_gb", "free_vcpus",
    "up", "disabled",
})


def is_variable(name: str) -> bool:
    return name in NOVA_VARIABLES or name in OWN_FIELDS


def variable(host: HostState, name: str, *, stats_fallback: bool = True) -> Any:
    """The host's value for ``name`` or None."""
    getter = NOVA_VARIABLES.get(name)
    if getter is not None:
        return getter(host)
    if name in OWN_FIELDS:
        return getattr(host, name)
    if stats_fallback:
        return host.stats.get(name)
    return None


def lookup_path(host: HostState, path: Iterable[str]) -> Any:
    """Follow ``path`` from the host: first element a variable (or stats key),
    then keys into dicts; JSON strings on the way (``cpu_info``) are decoded.
    None when any step is missing."""
    obj: Any = None
    for i, key in enumerate(path):
        if i == 0:
            obj = variable(host, key)
        else:
            if isinstance(obj, str):
                try:
                    obj = json.loads(obj)
                except ValueError:
                    return None
            if not isinstance(obj, Mapping):
                return None
            obj = obj.get(key)
        if obj is None:
            return None
    return obj


def aggregate_values(host: HostState, key: str) -> set[str]:
    """All values of aggregate metadata ``key`` on the host, comma-split and stripped."""
    out: set[str] = set()
    for value in host.aggregate_metadata.get(key, ()):
        out.update(v.strip() for v in str(value).split(","))
    return out


def aggregate_raw_values(host: HostState, key: str) -> frozenset[str]:
    """The values of ``key`` as stored, one per distinct aggregate value
    (nova's ``aggregate_values_from_key``)."""
    return frozenset(host.aggregate_metadata.get(key, ()))


def min_int(values: Iterable[Any], default: int) -> int:
    """nova's ``validate_num_values(values, default, int, min)``: the smallest
    value as an int, ``default`` when there is none or one is not an int."""
    values = list(values)
    if not values:
        return default
    try:
        return min(int(v) for v in values)
    except (TypeError, ValueError):
        return default
