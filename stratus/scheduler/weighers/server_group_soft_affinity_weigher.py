"""ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher.

For a ``soft-affinity`` group a host weighs the number of the group's other
members it holds; for ``soft-anti-affinity`` minus that number.  Requests
without such a group weigh 0 everywhere (no effect after normalisation).
"""
from __future__ import annotations

import numpy as np

from stratus.scheduler.weighers.base import BaseWeigher, conf_value


def _members_array(cols, idx, spec, policy: str, sign: int):
    out = np.zeros(cols.n, np.int64)
    group = spec.group
    if group is not None and group.policy == policy:
        index = cols.name_index
        for host, n in group.hosts.items():
            if host in index:
                out[index[host]] = sign * n
    return out[idx]


def _members_on(host, spec, policy: str) -> int:
    group = spec.group
    if group is None or group.policy != policy:
        return 0
    return group.hosts.get(host.host, 0)


class ServerGroupSoftAffinityWeigher(BaseWeigher):
    name = "ServerGroupSoftAffinityWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler", "soft_affinity_weight_multiplier", 1.0)

    def weigh(self, host, spec) -> float:
        return _members_on(host, spec, "soft-affinity")

    def values(self, cols, idx, spec):
        return _members_array(cols, idx, spec, "soft-affinity", 1)


class ServerGroupSoftAntiAffinityWeigher(BaseWeigher):
    name = "ServerGroupSoftAntiAffinityWeigher"

    def multiplier(self) -> float:
        return conf_value(self.conf, "filter_scheduler",
                          "soft_anti_affinity_weight_multiplier", 1.0)

    def weigh(self, host, spec) -> float:
        return -_members_on(host, spec, "soft-anti-affinity")

    def values(self, cols, idx, spec):
        return _members_array(cols, idx, spec, "soft-anti-affinity", -1)
