"""ServerGroupAntiAffinityFilter: members of an ``anti-affinity`` group avoid
each other's hosts, up to the group's ``max_server_per_host`` rule (default 1)."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    name = "ServerGroupAntiAffinityFilter"
    policy = "anti-affinity"

    def host_passes(self, host, spec) -> bool:
        group = spec.group
        if group is None or group.policy != self.policy:
            return True
        return group.hosts.get(host.host, 0) < group.max_server_per_host

    def mask(self, cols, spec):
        group = spec.group
        if group is None or group.policy != self.policy:
            return True
        full = [h for h, n in group.hosts.items() if not n < group.max_server_per_host]
        return ~cols.hosts_mask(full) if full else True

    def reason(self, spec) -> str:
        return f"hosts already hold members of server group {spec.group_uuid} (anti-affinity)"
