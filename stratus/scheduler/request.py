"""What one instance asks of the scheduler: a :class:`RequestSpec`.

Built from the instance row (flavor columns, ``requested_az``) and its
``request_spec`` JSON, whose keys are::

    {"scheduler_hints": {"group": uuid, "same_host": [uuid], "different_host": [uuid], ...},
     "group": {"uuid": ..., "policy": ..., "rules": {...}},    # optional, wins over the hint
     "same_host": [uuid], "different_host": [uuid],          # optional copies of the hints
     "force_hosts": ["host"],                                 # from "az:host" (admin)
     "availability_zone": "az" | "az:host" | "az:host:node",   # optional, else requested_az
     "retry": {"num_attempts": n, "hosts": ["host-a", ...]},   # written by the scheduler
     "image_props": {"hw_architecture": "x86_64", ...}}       # image_props.from_image

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
    ecu: int = 0                                 # compute units asked (EcuFilter)
    bandwidth_kbps: int = 0                      # network bandwidth asked (BandwidthFilter)
    cell: str | None = None                      # chosen by two-level placement
    # The image's scheduling properties by nova's names (hw_architecture,
    # img_hv_type, hw_vm_mode, img_hv_requested_version): ImagePropertiesFilter.
    image_props: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


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


ECU_KEY = "stratus:ecu"                       # ECUs for the whole instance
ECU_PER_VCPU_KEY = "stratus:ecus_per_vcpu"    # ECUs per vCPU (times the flavor's vcpus)
BANDWIDTH_KEY = "stratus:bandwidth_mbps"      # Mbit/s, each direction
VIF_AVERAGE_KEYS = ("quota:vif_inbound_average", "quota:vif_outbound_average")  # KB/s


class BadDemand(ValueError):
    """An extra spec the scheduler reads has a value it cannot use."""


def _number(extra_specs: Mapping[str, str], key: str) -> float:
    raw = extra_specs.get(key)
    if raw is None or str(raw).strip() == "":
        return 0.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadDemand(f"Invalid value {raw!r} for flavor extra spec {key}: "
                        f"a non-negative number is required") from None
    if value < 0 or value != value or value == float("inf"):
        raise BadDemand(f"Invalid value {raw!r} for flavor extra spec {key}: "
                        f"a non-negative number is required")
    return value


def ecu_of(extra_specs: Mapping[str, str], vcpus: int) -> int:
    """ECUs a flavor asks for: ``stratus:ecu``, else ``stratus:ecus_per_vcpu`` x vcpus
    (rounded up); 0 when it asks for none.  Raises :class:`BadDemand`."""
    total = _number(extra_specs, ECU_KEY)
    if total:
        return math.ceil(total)
    return math.ceil(_number(extra_specs, ECU_PER_VCPU_KEY) * int(vcpus))


def bandwidth_kbps_of(extra_specs: Mapping[str, str]) -> int:
    """Bandwidth (kbit/s, per direction) a flavor asks for: the larger of
    ``stratus:bandwidth_mbps`` and the libvirt-style ``quota:vif_*_average``
    (KB/s, as nova's flavors give them); 0 when it asks for none.
    Raises :class:`BadDemand`."""
    mbps = _number(extra_specs, BANDWIDTH_KEY)
    vif = max(_number(extra_specs, k) for k in VIF_AVERAGE_KEYS)
    return math.ceil(max(mbps * 1000, vif * 8))


DEMAND_KEYS = (ECU_KEY, ECU_PER_VCPU_KEY, BANDWIDTH_KEY) + VIF_AVERAGE_KEYS


def check_demands(extra_specs: Mapping[str, Any]) -> None:
    """Raise :class:`BadDemand` naming the first extra spec among
    ``DEMAND_KEYS`` whose value is not a non-negative number."""
    for key in DEMAND_KEYS:
        _number(extra_specs, key)


def _demand(fn, *args) -> int:
    try:
        return fn(*args)
    except BadDemand:   # validated at create; an old row must not break scheduling
        return 0


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
        ecu=_demand(ecu_of, flavor.get("extra_specs") or {}, int(instance.vcpus)),
        bandwidth_kbps=_demand(bandwidth_kbps_of, flavor.get("extra_specs") or {}),
        image_props=MappingProxyType({str(k): str(v) for k, v in
                                      dict(raw.get("image_props") or {}).items()}),
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
