"""AggregateNumInstancesFilter: NumInstancesFilter whose limit an aggregate
may override with its ``max_instances_per_host`` metadata.

As upstream (``aggregate_values_from_key`` + ``validate_num_values(min)``):
when the host's aggregates give several values the smallest wins; when one
of them is not an integer, or there is none, ``[filter_scheduler]
max_instances_per_host`` applies.
"""
from __future__ import annotations

import numpy as np

from stratus.scheduler import host_attrs
from stratus.scheduler.filters.num_instances_filter import NumInstancesFilter, configured_max

KEY = "max_instances_per_host"


class AggregateNumInstancesFilter(NumInstancesFilter):
    name = "AggregateNumInstancesFilter"

    def max_instances(self, host) -> int:
        return host_attrs.min_int(host_attrs.aggregate_raw_values(host, KEY),
                                  configured_max(self.conf))

    def mask(self, cols, spec):
        return cols.num_instances < cols.by_aggregates(
            lambda h: max(-2**62, min(2**62, self.max_instances(h))), np.int64)

    def reason(self, spec) -> str:
        return (f"already runs its aggregate's {KEY} (default "
                f"{configured_max(self.conf)}) or more instances")
