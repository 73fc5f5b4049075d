"""SimpleCIDRAffinityFilter: put the instance on a host in the same IP
subnet as a given address, as upstream.

Hints: ``build_near_host_ip`` (an IPv4/IPv6 address) and ``cidr`` (a
prefix length written ``/24``, the default).  Without ``build_near_host_ip``
every host passes; with it, a host passes when its ``host_ip`` (the address
its agent registered with) lies in ``build_near_host_ip + cidr``.  A host
that reported no address, or a hint that is not an address/prefix (the API
refuses those at create), passes nowhere.
"""
from __future__ import annotations

import ipaddress

import numpy as np

from stratus.scheduler.filters.base import BaseHostFilter
from stratus.scheduler.request import hint_list

DEFAULT_CIDR = "/24"


def _hint(spec, name: str, default: str | None = None) -> str | None:
    values = hint_list(spec, name)           # nova's get_scheduler_hint: first of a list
    return values[0] if values else default


def network(spec) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The affinity network, None without a ``build_near_host_ip`` hint.
    Raises ValueError for a bad address or prefix."""
    near = _hint(spec, "build_near_host_ip")
    if not near:
        return None
    cidr = _hint(spec, "cidr", DEFAULT_CIDR) or DEFAULT_CIDR
    return ipaddress.ip_network(f"{near}{cidr}", strict=False)


class SimpleCIDRAffinityFilter(BaseHostFilter):
    name = "SimpleCIDRAffinityFilter"

    @staticmethod
    def _passes(net, host) -> bool:
        if not host.host_ip:
            return False
        try:
            return ipaddress.ip_address(host.host_ip) in net
        except ValueError:
            return False

    def host_passes(self, host, spec) -> bool:
        try:
            net = network(spec)
        except ValueError:
            return False
        return net is None or self._passes(net, host)

    def filter_all(self, hosts, spec):
        try:
            net = network(spec)                # parsed once per request
        except ValueError:
            return []
        if net is None:
            return list(hosts)
        return [h for h in hosts if self._passes(net, h)]

    def mask(self, cols, spec):
        try:
            net = network(spec)
        except ValueError:
            return np.zeros(cols.n, np.bool_)
        return True if net is None else NotImplemented

    def reason(self, spec) -> str:
        try:
            net = network(spec)
        except ValueError as exc:
            return f"invalid build_near_host_ip/cidr hint: {exc}"
        return f"host_ip not in {net}"
