"""BuildFailureWeigher: hosts where builds recently failed sink, as upstream.

A host's ``failed_builds`` counts builds that failed on it since its last
successful one (``build_failures``: a reschedule away from the host adds
one, an instance going ACTIVE there resets it to 0).  The raw weight is that
count and the multiplier is minus ``build_failure_weight_multiplier``
(default 1000000.0, as nova: large enough to outweigh every other weigher,
so a host that keeps failing is only chosen when nothing else fits; 0
disables it)."""
from __future__ import annotations

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


class BuildFailureWeigher(BaseWeigher):
    name = "BuildFailureWeigher"

    def multiplier(self) -> float:
        return -1.0 * conf_value(self.conf, "filter_scheduler",
                                 "build_failure_weight_multiplier", 1000000.0)

    def weigh(self, host, spec) -> float:
        return host.failed_builds

    def values(self, cols, idx, spec):
        return cols.failed_builds[idx]
