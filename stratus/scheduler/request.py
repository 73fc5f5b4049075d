"""What one instance asks of the scheduler: a :class:`RequestSpec`.

Built from the instance row (flavor columns, ``requested_az``) and its
``request_spec`` JSON, whose keys are::

    {"scheduler_hints": {"group": uuid, "same_host": [uuid], "different_host": [uuid], ...},
     "group": {"uuid": ..., "policy": ..., "rules": {...}},    # optional, wins over the hint
     "same_host": [uuid], "different_host": [uuid],          # optional copies of the hints
     "force_hosts": ["host"],                                 # from "az:host" (admin)
     "availability_zone": "az" | "az:host" | "az:host:node",   # optional, else requested_az
     "retry": {"num_attempts": n, "hosts": ["host-a", ...]}}   # written by the scheduler

Facts that must be read from the database at scheduling time (where the
group's members and the same_host/different_host instances live) are
resolved by ``state_loader.resolve`` into the ``group`` and ``*_hosts``
fields, so filters and weighers stay pure functions of (host, spec).
The spec is immutable; use :func:`dataclasses.replace` to derive one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class GroupInfo:
    """The server group of the request, with where its other members are."""
    uuid: str
    policy: str                                  # affinity | anti-affinity | soft-*
    rules: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # host -> number of *other* live members placed there
    hosts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def max_server_per_host(self) -> int:
        try:
            return max(1, int(self.rules.get("max_server_per_host", 1)))
        except (TypeError, ValueError):
            return 1


@dataclass(frozen=True)
class RequestSpec:
    instance_uuid: str
    project_id: str
    vcpus: int
    memory_mb: int
    disk_gb: int                                 # root + ephemeral + swap (rounded up to GiB)
    availability_zone: str | None = None
    force_host: str | None = None
    hints: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    group_uuid: str | None = None
    num_attempts: int = 0
    tried_hosts: frozenset[str] = frozenset()
    # Resolved from the database (state_loader.resolve):
    group: GroupInfo | None = None
    same_host_hosts: frozenset[str] | None = None
    different_host_hosts: frozenset[str] = frozenset()
    extra_specs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def hint_list(spec: RequestSpec, name: str) -> list[str]:
    """A scheduler hint that may be given once or as a list."""
    return _as_list(spec.hints.get(name))


def split_az(value: str | None) -> tuple[str | None, str | None]:
    """``"az:host[:node]"`` -> (az or None, host or None), as nova parses it."""
    if not value:
        return None, None
    az, _, rest = value.partition(":")
    host = rest.partition(":")[0] or None
    return az or None, host


def disk_gb_of(root_gb: int, ephemeral_gb: int, swap_mb: int) -> int:
    return int(root_gb or 0) + int(ephemeral_gb or 0) + math.ceil(int(swap_mb or 0) / 1024)


def from_instance(instance: Any) -> RequestSpec:
    """Build the spec of an ``Instance`` row (or anything with its attributes)."""
    raw = dict(instance.request_spec or {})
    hints = dict(raw.get("scheduler_hints") or {})
    for key in ("same_host", "different_host"):   # the API may lift these out of the hints
        if raw.get(key) and not hints.get(key):
            hints[key] = raw[key]
    flavor = dict(instance.flavor or {})
    az, force_host = split_az(raw.get("availability_zone") or instance.requested_az)
    forced = _as_list(raw.get("force_hosts"))
    force_host = forced[0] if forced else force_host
    group = raw.get("group")
    group = group.get("uuid") if isinstance(group, dict) else hints.get("group")
    if isinstance(group, list):
        group = group[0] if group else None
    retry = raw.get("retry") or {}
    return RequestSpec(
        instance_uuid=instance.uuid,
        project_id=instance.project_id,
        vcpus=int(instance.vcpus),
        memory_mb=int(instance.memory_mb),
        disk_gb=disk_gb_of(instance.root_gb, instance.ephemeral_gb, flavor.get("swap") or 0),
        availability_zone=az,
        force_host=force_host,
        hints=MappingProxyType(hints),
        group_uuid=group or None,
        num_attempts=int(retry.get("num_attempts", 0)),
        tried_hosts=frozenset(retry.get("hosts") or ()),
        extra_specs=MappingProxyType(dict(flavor.get("extra_specs") or {})),
    )


def with_retry(request_spec: Mapping[str, Any] | None, failed_host: str | None) -> dict:
    """The instance's ``request_spec`` JSON after one more attempt (on ``failed_host``)."""
    raw = dict(request_spec or {})
    retry = dict(raw.get("retry") or {})
    hosts = list(retry.get("hosts") or [])
    if failed_host and failed_host not in hosts:
        hosts.append(failed_host)
    retry["hosts"] = hosts
    retry["num_attempts"] = int(retry.get("num_attempts", 0)) + 1
    raw["retry"] = retry
    return raw
