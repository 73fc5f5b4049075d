"""RetryFilter: skip hosts where this request's build already failed."""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


class RetryFilter(BaseHostFilter):
    name = "RetryFilter"

    def host_passes(self, host, spec) -> bool:
        return host.host not in spec.tried_hosts

    def mask(self, cols, spec):
        return ~cols.hosts_mask(spec.tried_hosts) if spec.tried_hosts else True

    def reason(self, spec) -> str:
        return f"already tried {', '.join(sorted(spec.tried_hosts))}"
