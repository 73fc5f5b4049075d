"""CPUWeigher: prefer hosts with more free vCPUs (spread); a negative
``cpu_weight_multiplier`` stacks instead.

Free vCPUs are the allocatable ones (``(vcpus - reserved) * cpu_allocation_ratio``)
minus those used, as upstream's ``vcpus_total * cpu_allocation_ratio -
vcpus_used`` (Stratus also takes the host's reserved CPUs off).
"""
from __future__ import annotations

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class CPUWeigher(BaseWeigher):
    name = "CPUWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "cpu_weight_multiplier", 1.0)

    def weigh(self, host, spec) -> float:
        return host.vcpus_limit - host.vcpus_used

    def values(self, cols, idx, spec):
        return cols.vcpus_limit[idx] - cols.vcpus_used[idx]
