"""SameHostFilter: the ``same_host`` hint puts the instance with the given ones."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class SameHostFilter(BaseHostFilter):
    name = "SameHostFilter"

    def host_passes(self, host, spec) -> bool:
        if spec.same_host_hosts is None:      # no hint given
            return True
        return host.host in spec.same_host_hosts

    def mask(self, cols, spec):
        return True if spec.same_host_hosts is None else cols.hosts_mask(spec.same_host_hosts)

    def reason(self, spec) -> str:
        return "not the host of the same_host instances"
