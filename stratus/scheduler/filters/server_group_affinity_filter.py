"""ServerGroupAffinityFilter: members of an ``affinity`` group share one host.

The first member (no other member placed yet) may go anywhere.
"""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class ServerGroupAffinityFilter(BaseHostFilter):
    name = "ServerGroupAffinityFilter"
    policy = "affinity"

    def host_passes(self, host, spec) -> bool:
        group = spec.group
        if group is None or group.policy != self.policy or not group.hosts:
            return True
        return host.host in group.hosts

    def mask(self, cols, spec):
        group = spec.group
        if group is None or group.policy != self.policy or not group.hosts:
            return True
        return cols.hosts_mask(group.hosts)

    def reason(self, spec) -> str:
        hosts = ", ".join(sorted(spec.group.hosts)) if spec.group else ""
        return f"server group {spec.group_uuid} (affinity) is on {hosts}"
