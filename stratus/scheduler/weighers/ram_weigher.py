"""RAMWeigher: prefer hosts with more free RAM (spread); a negative
``ram_weight_multiplier`` stacks instead."""
from __future__ import annotations

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class RAMWeigher(BaseWeigher):
    name = "RAMWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "ram_weight_multiplier", 1.0)

    def weigh(self, host, spec) -> float:
        return host.free_ram_mb

    def values(self, cols, idx, spec):
        return cols.free_ram_mb[idx]
