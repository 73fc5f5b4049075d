"""IoOpsWeigher: weighs hosts by their I/O-heavy operations in flight
(``io_ops``: instances building, resizing, snapshotting...).  As upstream the
multiplier ``io_ops_weight_multiplier`` defaults to -1.0 (prefer quiet
hosts; positive prefers busy ones) and the normalisation range starts at 0
(``minval = 0``), so hosts at 2 and 4 operations weigh 0.5 and 1.0."""
from __future__ import annotations

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class IoOpsWeigher(BaseWeigher):
    name = "IoOpsWeigher"
    minval = 0.0

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "io_ops_weight_multiplier", -1.0)

    def weigh(self, host, spec) -> float:
        return host.io_ops

    def values(self, cols, idx, spec):
        return cols.io_ops[idx]
