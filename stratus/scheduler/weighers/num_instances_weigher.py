"""NumInstancesWeigher: weighs hosts by their number of instances.  As
upstream the multiplier ``num_instances_weight_multiplier`` defaults to 0.0
(no effect); positive packs instances onto busy hosts, negative spreads them
onto the emptiest."""
from __future__ import annotations

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class NumInstancesWeigher(BaseWeigher):
    name = "NumInstancesWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "num_instances_weight_multiplier", 0.0)

    def weigh(self, host, spec) -> float:
        return host.num_instances

    def values(self, cols, idx, spec):
        return cols.num_instances[idx]
