"""Filters then weighers: the pure core of a scheduling decision.

``Pipeline.run(hosts, spec)`` applies the filters in configured order,
recording each filter's survivors (for ``explain`` and for the "No valid
host" fault, which names the filter that removed the last hosts), then
weighs the survivors as nova does (per weigher: normalise to 0..1, multiply,
sum) and sorts them best first.  ``candidates(result)`` gives the order in
which the service tries to claim: one host picked at random among the
``host_subset_size`` best, then the others by weight (alternates, for lost
claim races).  Nothing here reads the database or the clock.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from stratus.scheduler import filters as filters_mod
from stratus.scheduler import weighers as weighers_mod
from stratus.scheduler.filters.base import BaseHostFilter
from stratus.scheduler.host_state import HostState
from stratus.scheduler.request import RequestSpec
from stratus.scheduler.weighers.base import BaseWeigher

NO_VALID_HOST = "No valid host was found. "
FAULT_MESSAGE_MAX = 255


@dataclass(frozen=True)
class FilterStep:
    """One filter's effect.  Holds the host lists themselves (never copied: a
    filter returns a new list), and names them only when asked."""
    name: str
    hosts_in: Sequence[HostState]
    hosts_out: Sequence[HostState]
    reason: str                      # what the removed hosts lacked

    @property
    def before(self) -> tuple[str, ...]:
        return tuple(h.host for h in self.hosts_in)

    @property
    def survivors(self) -> tuple[str, ...]:
        return tuple(h.host for h in self.hosts_out)

    @property
    def removed(self) -> tuple[str, ...]:
        kept = {id(h) for h in self.hosts_out}
        return tuple(h.host for h in self.hosts_in if id(h) not in kept)


@dataclass(frozen=True)
class Result:
    total: int
    steps: tuple[FilterStep, ...]
    weighed: tuple[tuple[HostState, float], ...]   # best first

    @property
    def hosts(self) -> list[HostState]:
        return [h for h, _ in self.weighed]

    def no_valid_host_reason(self) -> str:
        """Why nothing passed: the filter that removed the last hosts."""
        if self.total == 0:
            return "There are no compute hosts."
        for step in self.steps:
            if not step.hosts_out:
                return (f"{step.name} removed the last {len(step.hosts_in)} host(s) "
                        f"({step.reason})")
        return "All hosts passed the filters but none could be claimed."

    def fault_message(self) -> str:
        return (NO_VALID_HOST + self.no_valid_host_reason())[:FAULT_MESSAGE_MAX]

    def details(self) -> str:
        """Per-filter breakdown (for ``instance_fault.details``)."""
        lines = [f"{self.total} host(s) considered"]
        for s in self.steps:
            line = f"{s.name}: {len(s.hosts_in)} -> {len(s.hosts_out)}"
            removed = s.removed
            if removed:
                shown = ", ".join(removed[:20]) + (" ..." if len(removed) > 20 else "")
                line += f" (removed {shown}: {s.reason})"
            lines.append(line)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        filters = []
        for s in self.steps:
            removed = list(s.removed)
            filters.append({"name": s.name, "hosts_in": len(s.hosts_in),
                            "survivors": list(s.survivors), "removed": removed,
                            "reason": s.reason if removed else None})
        return {
            "hosts_considered": self.total,
            "filters": filters,
            "weights": [{"host": h.host, "weight": w} for h, w in self.weighed],
            "reason": None if self.weighed else self.no_valid_host_reason(),
        }


class Pipeline:
    def __init__(self, filters: Sequence[BaseHostFilter], weighers: Sequence[BaseWeigher],
                 host_subset_size: int = 1, rng: random.Random | None = None):
        self.filters = list(filters)
        self.weighers = list(weighers)
        self.host_subset_size = max(1, int(host_subset_size))
        self.rng = rng or random.Random()

    @classmethod
    def from_conf(cls, conf: Any, rng: random.Random | None = None) -> "Pipeline":
        """Filters from ``enabled_filters``; RetryFilter is always applied first
        (a host where this build failed is never retried, as upstream's
        alternates guarantee) unless configured explicitly elsewhere."""
        fs = conf.filter_scheduler
        names = list(fs.enabled_filters)
        if not any(n.rsplit(".", 1)[-1] == "RetryFilter" for n in names):
            names.insert(0, "RetryFilter")
        return cls(filters_mod.load(names, conf), weighers_mod.load(fs.weight_classes, conf),
                   fs.host_subset_size, rng)

    def run(self, hosts: Sequence[HostState], spec: RequestSpec) -> Result:
        current = list(hosts)
        steps: list[FilterStep] = []
        if spec.force_host:
            before, current = current, [h for h in current if h.host == spec.force_host]
            steps.append(FilterStep("ForcedHost", before, current,
                                    f"not the requested host {spec.force_host!r}"))
        for f in self.filters:
            before, current = current, f.filter_all(current, spec)
            steps.append(FilterStep(f.name, before, current, f.reason(spec)))
            if not current:
                break
        return Result(len(hosts), tuple(steps), tuple(self.weigh(current, spec)))

    def weigh(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[tuple[HostState, float]]:
        totals = [0.0] * len(hosts)
        for w in self.weighers:
            m = w.multiplier()
            if m == 0 or not hosts:
                continue
            for i, value in enumerate(w.weigh_all(hosts, spec)):
                totals[i] += m * value
        ranked = sorted(zip(hosts, totals), key=lambda hw: (-hw[1], hw[0].host))
        return ranked

    def candidates(self, result: Result) -> list[HostState]:
        """Hosts in the order to try: a random one of the best ``host_subset_size``,
        then the rest best first."""
        hosts = result.hosts
        if not hosts:
            return []
        k = min(self.host_subset_size, len(hosts))
        first = hosts[self.rng.randrange(k)] if k > 1 else hosts[0]
        return [first] + [h for h in hosts if h is not first]


def explain(conf: Any, hosts: Sequence[HostState], spec: RequestSpec) -> dict[str, Any]:
    """The configured pipeline's decision for ``spec`` over ``hosts``, as a dict
    (per-filter survivors and removed hosts, final weights, reason)."""
    return Pipeline.from_conf(conf).run(hosts, spec).as_dict()
