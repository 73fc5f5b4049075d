"""BandwidthFilter: the host has enough unallocated network bandwidth.

A host advertises ``bandwidth_mbps`` (agent option ``[compute]
bandwidth_mbps``; when that is 0, the smallest ``bandwidth_mbps`` metadata
value of its aggregates).  A flavor asks with ``stratus:bandwidth_mbps``
(Mbit/s) or the libvirt QoS specs ``quota:vif_inbound_average`` /
``quota:vif_outbound_average`` (KB/s); the larger, in kbit/s, is the demand.
A request asking for none passes everywhere; one asking for some needs
``bandwidth_mbps * 1000 - bandwidth_kbps_used >= asked``, so a host
advertising no bandwidth is filtered out: a transfer-heavy instance lands
only where its network QoS can be honoured.
"""
from __future__ import annotations

from stratus.scheduler.filters.base import BaseHostFilter


def mbps(kbps: int) -> str:
    return f"{kbps / 1000:g}"


class BandwidthFilter(BaseHostFilter):
    name = "BandwidthFilter"

    def host_passes(self, host, spec) -> bool:
        return spec.bandwidth_kbps <= 0 or host.free_bandwidth_kbps >= spec.bandwidth_kbps

    def mask(self, cols, spec):
        if spec.bandwidth_kbps <= 0:
            return True
        return cols.free_bandwidth_kbps >= spec.bandwidth_kbps

    def reason(self, spec) -> str:
        return f"needs {mbps(spec.bandwidth_kbps)} Mbit/s of unallocated network bandwidth"
