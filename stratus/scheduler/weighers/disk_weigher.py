"""DiskWeigher: prefer hosts with more free disk (spread); a negative
``disk_weight_multiplier`` stacks instead.  Free disk is physical disk not
used or reserved, in MiB, as upstream's ``free_disk_mb``."""
from __future__ import annotations

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class DiskWeigher(BaseWeigher):
    name = "DiskWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "disk_weight_multiplier", 1.0)

    def weigh(self, host, spec) -> float:
        return host.free_disk_gb * 1024

    def values(self, cols, idx, spec):
        return cols.free_disk_gb[idx] * 1024
