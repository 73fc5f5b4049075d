"""AggregateIoOpsFilter: IoOpsFilter whose limit an aggregate may override
with its ``max_io_ops_per_host`` metadata.

As upstream (``aggregate_values_from_key`` + ``validate_num_values(min)``):
several values -> the smallest wins; a non-integer value, or none, ->
``[filter_scheduler] max_io_ops_per_host``.
"""
from __future__ import annotations

from stratus.scheduler import host_attrs
from stratus.scheduler.filters.io_ops_filter import IoOpsFilter, configured_max

KEY = "max_io_ops_per_host"


class AggregateIoOpsFilter(IoOpsFilter):
    name = "AggregateIoOpsFilter"

    def max_io_ops(self, host) -> int:
        return host_attrs.min_int(host_attrs.aggregate_raw_values(host, KEY),
                                  configured_max(self.conf))

    def reason(self, spec) -> str:
        return (f"already has its aggregate's {KEY} (default {configured_max(self.conf)}) "
                f"or more I/O-heavy operations in flight")
