"""Builders of host snapshots and request specs for the scheduler unit tests."""
from __future__ import annotations

import datetime as dt
from types import MappingProxyType, SimpleNamespace

from stratus.scheduler import host_state
from stratus.scheduler.request import GroupInfo, RequestSpec

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)


def node(**kw):
    """A compute_node lookalike with a 4-CPU, 8 GB, 100 GB host, up and empty."""
    base = dict(id=1, host="h1", hypervisor_type="QEMU", vcpus=4, memory_mb=8192, local_gb=100,
                vcpus_used=0, memory_mb_used=0, local_gb_used=0, running_vms=0,
                cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
                reserved_host_cpus=0, reserved_host_memory_mb=0, reserved_host_disk_mb=0,
                disabled=False, disabled_reason=None, forced_down=False,
                last_seen_up=NOW - dt.timedelta(seconds=5), stats={})
    base.update(kw)
    return SimpleNamespace(**base)


def host(aggregates=(), num_instances=None, **kw) -> host_state.HostState:
    return host_state.make(node(**kw), now=NOW, service_down_time=60, default_az="nova",
                           aggregates=aggregates, num_instances=num_instances)


def spec(**kw) -> RequestSpec:
    base = dict(instance_uuid="i-1", project_id="p", vcpus=1, memory_mb=512, disk_gb=1)
    base.update(kw)
    return RequestSpec(**base)


def group(policy: str, hosts=None, rules=None, uuid="g-1") -> GroupInfo:
    return GroupInfo(uuid=uuid, policy=policy, rules=MappingProxyType(rules or {}),
                     hosts=MappingProxyType(hosts or {}))
