"""Host filters, one per module, by upstream class name.

``load(names, conf)`` turns ``[filter_scheduler] enabled_filters`` into
filter objects in the configured order; an unknown name is a ConfigError
(a typo must not silently disable a constraint).
"""
from __future__ import annotations

from typing import Any, Iterable

from stratus.common.config import ConfigError
from stratus.scheduler.filters.aggregate_instance_extra_specs_filter import (
    AggregateInstanceExtraSpecsFilter)
from stratus.scheduler.filters.aggregate_io_ops_filter import AggregateIoOpsFilter
from stratus.scheduler.filters.aggregate_multitenancy_isolation import (
    AggregateMultiTenancyIsolation)
from stratus.scheduler.filters.aggregate_num_instances_filter import AggregateNumInstancesFilter
from stratus.scheduler.filters.all_hosts_filter import AllHostsFilter
from stratus.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from stratus.scheduler.filters.bandwidth_filter import BandwidthFilter
from stratus.scheduler.filters.base import BaseHostFilter
from stratus.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter
from stratus.scheduler.filters.compute_filter import ComputeFilter
from stratus.scheduler.filters.core_filter import CoreFilter
from stratus.scheduler.filters.different_host_filter import DifferentHostFilter
from stratus.scheduler.filters.disk_filter import DiskFilter
from stratus.scheduler.filters.ecu_filter import EcuFilter
from stratus.scheduler.filters.image_properties_filter import ImagePropertiesFilter
from stratus.scheduler.filters.io_ops_filter import IoOpsFilter
from stratus.scheduler.filters.json_filter import JsonFilter
from stratus.scheduler.filters.num_instances_filter import NumInstancesFilter
from stratus.scheduler.filters.ram_filter import RamFilter
from stratus.scheduler.filters.retry_filter import RetryFilter
from stratus.scheduler.filters.same_host_filter import SameHostFilter
from stratus.scheduler.filters.server_group_affinity_filter import ServerGroupAffinityFilter
from stratus.scheduler.filters.server_group_anti_affinity_filter import (
    ServerGroupAntiAffinityFilter)
from stratus.scheduler.filters.simple_cidr_affinity_filter import SimpleCIDRAffinityFilter

FILTERS: dict[str, type[BaseHostFilter]] = {cls.name: cls for cls in (
    AllHostsFilter, AvailabilityZoneFilter, ComputeFilter, CoreFilter, DifferentHostFilter,
    DiskFilter, RamFilter, RetryFilter, SameHostFilter, ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter, NumInstancesFilter, AggregateNumInstancesFilter,
    AggregateInstanceExtraSpecsFilter, ComputeCapabilitiesFilter, AggregateMultiTenancyIsolation,
    JsonFilter, ImagePropertiesFilter, IoOpsFilter, AggregateIoOpsFilter,
    SimpleCIDRAffinityFilter, EcuFilter, BandwidthFilter)}


def load(names: Iterable[str], conf: Any = None) -> list[BaseHostFilter]:
    out = []
    for name in names:
        # Accept the full upstream path, e.g. nova.scheduler.filters.ram_filter.RamFilter.
        short = name.rsplit(".", 1)[-1]
        cls = FILTERS.get(short)
        if cls is None:
            raise ConfigError(f"[filter_scheduler] enabled_filters: unknown filter {name!r} "
                              f"(known: {', '.join(sorted(FILTERS))})")
        out.append(cls(conf))
    return out


__all__ = ["BaseHostFilter", "FILTERS", "load"] + [cls.__name__ for cls in FILTERS.values()]
