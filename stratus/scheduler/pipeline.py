"""Filters then weighers: the pure core of a scheduling decision.

``Pipeline.run(hosts, spec)`` applies the filters in configured order,
recording each filter's survivors (for ``explain`` and for the "No valid
host" fault, which names the filter that removed the last hosts), then
weighs the survivors as nova does (per weigher: normalise to 0..1, multiply,
sum) and sorts them best first.  ``candidates(result)`` gives the order in
which the service tries to claim: one host picked at random among the
``host_subset_size`` best, then the others by weight (alternates, for lost
claim races).  Nothing here reads the database or the clock.

Fast path: given a ``columns.HostList`` (hosts with their numpy columns,
what the host state cache returns), ``run`` applies every filter that has a
``mask`` as one vector operation over all hosts, then the others per host
on the survivors only, weighs with the weighers' ``values`` and ranks with
one ``lexsort``; the ranking is materialised lazily (``RankedHosts``).  Its
result is the slow path's (same survivors, weights and order; a property
test checks it) except that ``steps`` are not recorded: when nothing
survives the slow path is run again so the fault names the filter, and
``explain`` always runs the slow path.
"""
from __future__ import annotations

import random
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from stratus.scheduler import filters as filters_mod
from stratus.scheduler import weighers as weighers_mod
from stratus.scheduler.filters.base import BaseHostFilter
from stratus.scheduler.host_state import HostState
from stratus.scheduler.request import RequestSpec
from stratus.scheduler.weighers.base import BaseWeigher, normalize_array

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


class RankedHosts(SequenceABC):
    """(host, weight) pairs best first, over rows ``order`` of ``hosts``;
    built on demand (a decision usually looks at the first few only)."""

    def __init__(self, hosts: Sequence[HostState], order: np.ndarray, weights: np.ndarray):
        self._hosts, self._order, self._weights = hosts, order, weights

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [(self._hosts[j], float(self._weights[j]))
                    for j in self._order[i].tolist()]
        j = int(self._order[i])
        return (self._hosts[j], float(self._weights[j]))

    def host_list(self) -> list[HostState]:
        hosts = self._hosts
        return [hosts[j] for j in self._order.tolist()]


class Candidates(SequenceABC):
    """``ranked``'s hosts with the ``first``-th moved to the front, built on
    demand (the service looks at the first few)."""

    def __init__(self, ranked: RankedHosts, first: int):
        self._ranked, self._first = ranked, first

    def __len__(self) -> int:
        return len(self._ranked)

    def _host(self, pos: int) -> HostState:
        f = self._first
        j = f if pos == 0 else pos - 1 if pos <= f else pos
        return self._ranked[j][0]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._host(p) for p in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._host(i)


@dataclass(frozen=True)
class Result:
    total: int
    steps: tuple[FilterStep, ...]
    weighed: Sequence[tuple[HostState, float]]     # best first (tuple or RankedHosts)

    @property
    def hosts(self) -> list[HostState]:
        if isinstance(self.weighed, RankedHosts):
            return self.weighed.host_list()
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
        cols = getattr(hosts, "columns", None)
        if cols is not None and cols.n == len(hosts):
            result = self.run_fast(hosts, cols, spec)
            if result.weighed:
                return result
        return self.run_slow(hosts, spec)

    def run_fast(self, hosts: Sequence[HostState], cols: Any, spec: RequestSpec) -> Result:
        """The vectorised decision over ``hosts`` and their columns ``cols``."""
        keep = np.ones(cols.n, np.bool_)
        if spec.force_host:
            keep &= cols.hosts_mask((spec.force_host,))
        slow = []
        for f in self.filters:
            m = f.mask(cols, spec)
            if m is NotImplemented:
                slow.append(f)
            elif m is not True:
                keep &= m
        idx = np.flatnonzero(keep)
        for f in slow:
            if not len(idx):
                break
            sub = [hosts[i] for i in idx.tolist()]
            kept = {id(h) for h in f.filter_all(sub, spec)}
            idx = np.asarray([i for i, h in zip(idx.tolist(), sub) if id(h) in kept],
                             dtype=np.int64)
        totals = np.zeros(len(idx))
        for w in self.weighers:
            m = w.multiplier()
            if m == 0 or not len(idx):
                continue
            raw = w.values(cols, idx, spec)
            if raw is NotImplemented:
                raw = np.asarray([w.weigh(hosts[i], spec) for i in idx.tolist()],
                                 dtype=np.float64)
            totals = totals + m * normalize_array(raw, w.minval, w.maxval)
        weights = np.zeros(cols.n)
        weights[idx] = totals
        order = idx[np.lexsort((cols.name_rank[idx], -totals))]
        return Result(len(hosts), (), RankedHosts(hosts, order, weights))

    def run_slow(self, hosts: Sequence[HostState], spec: RequestSpec) -> Result:
        """Host by host, recording every filter's survivors (explain, faults)."""
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
        if isinstance(result.weighed, RankedHosts):
            ranked = result.weighed
            k = min(self.host_subset_size, len(ranked))
            i = self.rng.randrange(k) if k > 1 else 0
            return Candidates(ranked, i)
        hosts = result.hosts
        if not hosts:
            return []
        k = min(self.host_subset_size, len(hosts))
        i = self.rng.randrange(k) if k > 1 else 0
        return [hosts[i]] + hosts[:i] + hosts[i + 1:]


def explain(conf: Any, hosts: Sequence[HostState], spec: RequestSpec) -> dict[str, Any]:
    """The configured pipeline's decision for ``spec`` over ``hosts``, as a dict
    (per-filter survivors and removed hosts, final weights, reason)."""
    return Pipeline.from_conf(conf).run_slow(hosts, spec).as_dict()
