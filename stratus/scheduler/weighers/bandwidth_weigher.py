"""BandwidthWeigher: prefer hosts with more unallocated network bandwidth
(spread); a negative ``bandwidth_weight_multiplier`` (default 1.0) stacks
instead.

The raw weight is the host's free bandwidth in kbit/s (advertised
``bandwidth_mbps`` x 1000 minus what claims hold).  A host advertising no
bandwidth weighs 0, like a full one; among hosts none of which advertises
any, the weigher has no effect (all equal)."""
from __future__ import annotations

import numpy as np

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class BandwidthWeigher(BaseWeigher):
    name = "BandwidthWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "bandwidth_weight_multiplier", 1.0)

    def weigh(self, host, spec) -> float:
        return max(0, host.free_bandwidth_kbps) if host.bandwidth_mbps else 0

    def values(self, cols, idx, spec):
        free = np.maximum(0, cols.free_bandwidth_kbps[idx])
        return np.where(cols.bandwidth_mbps[idx] != 0, free, 0)
