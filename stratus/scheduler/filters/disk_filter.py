"""DiskFilter: enough local disk under disk_allocation_ratio and reservation."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class DiskFilter(BaseHostFilter):
    name = "DiskFilter"

    def host_passes(self, host, spec) -> bool:
        return host.local_gb_used + spec.disk_gb <= host.local_gb_limit

    def mask(self, cols, spec):
        return cols.local_gb_used + spec.disk_gb <= cols.local_gb_limit

    def reason(self, spec) -> str:
        return f"needs {spec.disk_gb} GB disk"
