"""IoOpsFilter: hosts with fewer than ``[filter_scheduler] max_io_ops_per_host``
(default 8) I/O-heavy operations in flight, as upstream.

A host's count (``io_ops``) is its instances that are building or in an
I/O-heavy task state (resize, rebuild, snapshot, backup, unshelve, rescue;
see ``state_loader.IO_TASK_STATES``), as nova's ``num_io_ops``.
"""
from __future__ import annotations

import numpy as np

from stratus.scheduler.filters.base import BaseHostFilter

DEFAULT_MAX_IO_OPS = 8


def configured_max(conf) -> int:
    try:
        return int(conf.filter_scheduler.max_io_ops_per_host)
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_MAX_IO_OPS


class IoOpsFilter(BaseHostFilter):
    name = "IoOpsFilter"

    def max_io_ops(self, host) -> int:
        return configured_max(self.conf)

    def host_passes(self, host, spec) -> bool:
        return host.io_ops < self.max_io_ops(host)

    def mask(self, cols, spec):
        # Also AggregateIoOpsFilter's: max_io_ops reads the aggregates at most.
        return cols.io_ops < cols.by_aggregates(
            lambda h: max(-2**62, min(2**62, self.max_io_ops(h))), np.int64)

    def reason(self, spec) -> str:
        return f"already has max_io_ops_per_host ({configured_max(self.conf)}) or more " \
               f"I/O-heavy operations in flight"
