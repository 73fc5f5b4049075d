"""ComputeFilter: the host's compute service is enabled and up."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class ComputeFilter(BaseHostFilter):
    name = "ComputeFilter"

    def host_passes(self, host, spec) -> bool:
        # ``up`` already folds in forced_down and the heartbeat age.
        return host.up and not host.disabled and not host.forced_down

    def mask(self, cols, spec):
        return cols.up & ~cols.disabled & ~cols.forced_down

    def reason(self, spec) -> str:
        return "compute service disabled or down"
