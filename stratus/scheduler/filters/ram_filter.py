"""RamFilter: enough RAM under the host's ram_allocation_ratio and reservation."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class RamFilter(BaseHostFilter):
    name = "RamFilter"

    def host_passes(self, host, spec) -> bool:
        return host.memory_mb_used + spec.memory_mb <= host.memory_mb_limit

    def mask(self, cols, spec):
        return cols.memory_mb_used + spec.memory_mb <= cols.memory_mb_limit

    def reason(self, spec) -> str:
        return f"needs {spec.memory_mb} MB RAM"
