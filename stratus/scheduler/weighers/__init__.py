"""Host weighers by upstream class name; ``load(names, conf)`` reads
``[filter_scheduler] weight_classes`` (``nova.scheduler.weights.all_weighers``
means every weigher)."""
from __future__ import annotations

from typing import Any, Iterable

from stratus.common.config import ConfigError
from stratus.scheduler.weighers.bandwidth_weigher import BandwidthWeigher
from stratus.scheduler.weighers.base import BaseWeigher, normalize
from stratus.scheduler.weighers.build_failure_weigher import BuildFailureWeigher
from stratus.scheduler.weighers.cpu_weigher import CPUWeigher
from stratus.scheduler.weighers.disk_weigher import DiskWeigher
from stratus.scheduler.weighers.io_ops_weigher import IoOpsWeigher
from stratus.scheduler.weighers.num_instances_weigher import NumInstancesWeigher
from stratus.scheduler.weighers.ram_weigher import RAMWeigher
from stratus.scheduler.weighers.server_group_soft_affinity_weigher import (
    ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher)

WEIGHERS: dict[str, type[BaseWeigher]] = {cls.name: cls for cls in (
    RAMWeigher, ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher,
    CPUWeigher, DiskWeigher, NumInstancesWeigher, IoOpsWeigher, BuildFailureWeigher,
    BandwidthWeigher)}


def load(names: Iterable[str], conf: Any = None) -> list[BaseWeigher]:
    out: list[BaseWeigher] = []
    for name in names:
        short = name.rsplit(".", 1)[-1]
        if short == "all_weighers":
            out.extend(cls(conf) for cls in WEIGHERS.values())
            continue
        cls = WEIGHERS.get(short)
        if cls is None:
            raise ConfigError(f"[filter_scheduler] weight_classes: unknown weigher {name!r} "
                              f"(known: {', '.join(sorted(WEIGHERS))})")
        out.append(cls(conf))
    return out


__all__ = ["BandwidthWeigher", "BaseWeigher", "BuildFailureWeigher", "IoOpsWeigher",
           "CPUWeigher", "DiskWeigher", "NumInstancesWeigher", "RAMWeigher",
           "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher", "WEIGHERS",
           "load", "normalize"]
