"""NumInstancesFilter: hosts with fewer than ``[filter_scheduler]
max_instances_per_host`` instances (default 50), as upstream."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter

DEFAULT_MAX_INSTANCES = 50


def configured_max(conf) -> int:
    try:
        return int(conf.filter_scheduler.max_instances_per_host)
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_MAX_INSTANCES


class NumInstancesFilter(BaseHostFilter):
    name = "NumInstancesFilter"

    def max_instances(self, host) -> int:
        return configured_max(self.conf)

    def host_passes(self, host, spec) -> bool:
        return host.num_instances < self.max_instances(host)

    def mask(self, cols, spec):
        return cols.num_instances < configured_max(self.conf)

    def reason(self, spec) -> str:
        return f"already runs {configured_max(self.conf)} or more instances"
