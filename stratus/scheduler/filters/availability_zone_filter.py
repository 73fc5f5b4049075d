"""AvailabilityZoneFilter: the host is in the requested availability zone.

A host's zones come from the ``availability_zone`` metadata of its
aggregates, else ``[compute] default_availability_zone``.  No requested zone
lets every host pass.
"""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter
from stratus.scheduler.host_state import availability_zones


class AvailabilityZoneFilter(BaseHostFilter):
    name = "AvailabilityZoneFilter"

    def host_passes(self, host, spec) -> bool:
        if not spec.availability_zone:
            return True
        return spec.availability_zone in availability_zones(host)

    def mask(self, cols, spec):
        if not spec.availability_zone:
            return True
        return cols.by_aggregates(lambda h: self.host_passes(h, spec))

    def reason(self, spec) -> str:
        return f"not in availability zone {spec.availability_zone!r}"
