"""CoreFilter: enough vCPUs under the host's cpu_allocation_ratio and reservation.

As upstream, an instance may never have more vCPUs than the host has
(unreserved) physical CPUs, whatever the ratio.
"""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class CoreFilter(BaseHostFilter):
    name = "CoreFilter"

    def host_passes(self, host, spec) -> bool:
        if spec.vcpus > host.vcpus - host.reserved_host_cpus:
            return False
        return host.vcpus_used + spec.vcpus <= host.vcpus_limit

    def mask(self, cols, spec):
        return ((spec.vcpus <= cols.vcpus - cols.reserved_host_cpus)
                & (cols.vcpus_used + spec.vcpus <= cols.vcpus_limit))

    def reason(self, spec) -> str:
        return f"needs {spec.vcpus} vCPU(s)"
