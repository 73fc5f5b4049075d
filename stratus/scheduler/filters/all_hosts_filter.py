"""AllHostsFilter: every host passes (upstream's no-op filter)."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class AllHostsFilter(BaseHostFilter):
    name = "AllHostsFilter"

    def host_passes(self, host, spec) -> bool:
        return True

    def mask(self, cols, spec):
        return True
