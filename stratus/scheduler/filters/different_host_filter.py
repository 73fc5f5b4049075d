"""DifferentHostFilter: the ``different_host`` hint keeps the instance away
from the hosts of the given instances."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class DifferentHostFilter(BaseHostFilter):
    name = "DifferentHostFilter"

    def host_passes(self, host, spec) -> bool:
        return host.host not in spec.different_host_hosts

    def mask(self, cols, spec):
        return ~cols.hosts_mask(spec.different_host_hosts) if spec.different_host_hosts else True

    def reason(self, spec) -> str:
        return "holds a different_host instance"
