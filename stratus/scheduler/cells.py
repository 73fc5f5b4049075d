"""Two-level placement: pick a cell, then a host inside it.

Every host carries a ``cell`` (its agent's ``[compute] cell``, default
``cell1``).  :func:`decide` groups the candidate hosts by cell, ranks the
cells, runs the driver's pipeline in the best cell and falls back to the
next one when none of that cell's hosts passes the filters.  The rule:

1. ``[scheduler] cells`` set: exactly those cells, in that order (pinning;
   cells not listed are never used, a listed cell without hosts is skipped).
2. otherwise every cell, ranked by the number of hosts that pass the cheap
   checks (up and enabled, in the requested zone, room for the vCPUs, RAM and
   disk under the allocation ratios), then by the free RAM of those hosts,
   then by name;
3. ``[scheduler] cell_placement = false``: no cell stage, one pool of hosts.

With a single cell the decision is the pipeline's over all hosts, exactly
as without cells (same filters, same fault text).  When no cell has a
fitting host the "No valid host was found" fault covers every cell tried.
Pure: no database, no clock.  The ranking is vectorised over the host state
cache's numpy columns when the host list carries them.
"""
from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from stratus.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from stratus.scheduler.filters.compute_filter import ComputeFilter
from stratus.scheduler.filters.core_filter import CoreFilter
from stratus.scheduler.filters.disk_filter import DiskFilter
from stratus.scheduler.filters.ram_filter import RamFilter
from stratus.scheduler.host_state import HostState
from stratus.scheduler.pipeline import FAULT_MESSAGE_MAX, NO_VALID_HOST, Pipeline, Result
from stratus.scheduler.request import RequestSpec

_CELL = operator.attrgetter("cell")
CHEAP_CHECKS = (ComputeFilter(), AvailabilityZoneFilter(), CoreFilter(), RamFilter(),
                DiskFilter())


def fits(host: HostState, spec: RequestSpec) -> bool:
    """The cheap checks that rank cells (never a substitute for the filters)."""
    return all(f.host_passes(host, spec) for f in CHEAP_CHECKS)


@dataclass(frozen=True)
class CellRank:
    name: str
    hosts: Sequence[HostState]
    fitting_hosts: int | None = None      # None: not measured (single cell)
    free_ram_mb: int | None = None        # free RAM of the fitting hosts


def _opt(conf: Any, name: str, default: Any) -> Any:
    try:
        return getattr(conf.scheduler, name)
    except AttributeError:
        return default


def rank(hosts: Sequence[HostState], spec: RequestSpec, pinned: Sequence[str] = (),
         measure: bool = True) -> list[CellRank]:
    """The cells to try, in order (see the module docstring)."""
    cell_of = list(map(_CELL, hosts))
    found = list(dict.fromkeys(cell_of))
    labels = np.array(cell_of, dtype=str) if cell_of else np.empty(0, dtype=str)
    names = list(dict.fromkeys(pinned)) if pinned else found
    measure = measure or (not pinned and len(found) > 1)
    fit, free = _fit_and_free(hosts, spec) if measure else (None, None)
    ranks = []
    for name in names:
        idx = np.flatnonzero(labels == name)
        members = _take(hosts, idx.tolist())
        if fit is None:
            ranks.append(CellRank(name, members))
            continue
        ok = fit[idx]
        ranks.append(CellRank(name, members, int(ok.sum()),
                              int(np.clip(free[idx][ok], 0, None).sum())))
    if not pinned and len(ranks) > 1:
        ranks.sort(key=lambda r: (-(r.fitting_hosts or 0), -(r.free_ram_mb or 0), r.name))
    return ranks


def _take(hosts: Sequence[HostState], rows: list[int]) -> tuple[HostState, ...]:
    if not rows:
        return ()
    got = operator.itemgetter(*rows)(hosts)
    return got if len(rows) > 1 else (got,)


def _fit_and_free(hosts: Sequence[HostState], spec: RequestSpec) -> tuple[Any, Any]:
    """(:func:`fits` of every host, its free RAM) as numpy arrays: one vector
    operation per check when the hosts carry numpy columns (the host state
    cache's lists) and every check has a ``mask`` (filters/base.py), else
    host by host."""
    cols = getattr(hosts, "columns", None)
    if cols is not None and getattr(cols, "n", -1) == len(hosts):
        flags = np.ones(len(hosts), dtype=bool)
        for f in CHEAP_CHECKS:
            m = f.mask(cols, spec) if hasattr(f, "mask") else NotImplemented
            if m is NotImplemented:
                break
            if m is not True:
                flags &= m
        else:
            return flags, np.asarray(cols.free_ram_mb, dtype=np.int64)
    return (np.fromiter((fits(h, spec) for h in hosts), bool, len(hosts)),
            np.fromiter((h.free_ram_mb for h in hosts), np.int64, len(hosts)))


@dataclass(frozen=True)
class Decision:
    """The cells considered, the pipeline result of each cell tried (in
    order) and the chosen cell.  Quacks like a pipeline ``Result`` for the
    service: ``weighed``, ``hosts``, ``fault_message()``, ``details()``."""
    total: int
    ranks: tuple[CellRank, ...]
    tried: tuple[tuple[str | None, Result], ...]
    cell_stage: bool = True

    @property
    def placed(self) -> bool:
        """Whether the last cell tried has weighed hosts (then it is chosen)."""
        return bool(self.tried) and bool(self.tried[-1][1].weighed)

    @property
    def chosen(self) -> str | None:
        return self.tried[-1][0] if self.placed else None

    @property
    def decisive(self) -> Result | None:
        """The chosen cell's result, else the best-ranked cell's."""
        if self.placed:
            return self.tried[-1][1]
        return self.tried[0][1] if self.tried else None

    @property
    def weighed(self):
        return self.tried[-1][1].weighed if self.placed else ()

    @property
    def hosts(self) -> list[HostState]:
        return self.tried[-1][1].hosts if self.placed else []

    def no_valid_host_reason(self) -> str:
        if not self.tried:
            pinned = ", ".join(r.name for r in self.ranks)
            return (f"No compute host in the pinned cell(s) {pinned}." if pinned
                    else "There are no compute hosts.")
        if len(self.tried) == 1:
            return self.tried[0][1].no_valid_host_reason()
        return f"No cell has a fitting host ({len(self.tried)} cells tried): " + "; ".join(
            f"{name}: {r.no_valid_host_reason()}" for name, r in self.tried)

    def fault_message(self) -> str:
        return (NO_VALID_HOST + self.no_valid_host_reason())[:FAULT_MESSAGE_MAX]

    def details(self) -> str:
        if not self.tried:
            return f"{self.total} host(s) considered; " + self.no_valid_host_reason()
        if len(self.tried) == 1 and not (self.cell_stage and len(self.ranks) > 1):
            return self.tried[0][1].details()
        lines = ["cells in order: " + ", ".join(_rank_text(r) for r in self.ranks)]
        for name, result in self.tried:
            lines.append(f"[{name}] " + result.details().replace("\n", f"\n[{name}] "))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The explain document's decision part (docs/scheduler.md)."""
        results = dict(self.tried)
        cells = []
        for position, r in enumerate(self.ranks, 1):
            result = results.get(r.name)
            if result is None:
                outcome, reason, filters = "not tried", None, []
                if not r.hosts:
                    outcome, reason = "no hosts", "the cell has no compute host"
            else:
                filters = result.as_dict()["filters"]
                if self.placed and r.name == self.chosen:
                    outcome, reason = "chosen", None
                else:
                    outcome, reason = "no valid host", result.no_valid_host_reason()
            cells.append({"name": r.name, "rank": position, "hosts": len(r.hosts),
                          "fitting_hosts": r.fitting_hosts, "free_ram_mb": r.free_ram_mb,
                          "outcome": outcome, "reason": reason, "filters": filters})
        decisive = self.decisive
        body = decisive.as_dict() if decisive is not None else {"filters": [], "weights": []}
        return {"hosts_considered": self.total,
                "cell": self.chosen if self.cell_stage else None,
                "cells": cells if self.cell_stage else [],
                "filters": body["filters"],
                "weights": body["weights"] if self.placed else [],
                "reason": None if self.placed else self.no_valid_host_reason()}


def _rank_text(r: CellRank) -> str:
    if r.fitting_hosts is None:
        return f"{r.name} ({len(r.hosts)} hosts)"
    return f"{r.name} ({r.fitting_hosts}/{len(r.hosts)} hosts fit, {r.free_ram_mb} MB free)"


def decide(pipe: Pipeline, hosts: Sequence[HostState], spec: RequestSpec, conf: Any = None,
           explain: bool = False) -> Decision:
    """Run ``pipe`` cell by cell until one cell has weighed hosts.

    ``explain`` measures every cell even when there is only one (the
    ranking figures are shown, never needed to decide) and runs the
    pipeline's recording path (``run_slow`` when it has one: its fast path
    does not keep per-filter steps)."""
    run = getattr(pipe, "run_slow", pipe.run) if explain else pipe.run
    if not _opt(conf, "cell_placement", True):
        return Decision(len(hosts), (), ((None, run(hosts, spec)),), cell_stage=False)
    pinned = list(_opt(conf, "cells", []) or [])
    if not pinned and not explain and hosts:
        present = set(map(_CELL, hosts))            # C speed: ~0.5 ms per 10,000 hosts
        if len(present) == 1:                       # the usual case, kept cheap
            first = hosts[0].cell
            return Decision(len(hosts), (CellRank(first, hosts),),
                            ((first, run(hosts, spec)),))
    ranks = rank(hosts, spec, pinned, measure=explain)
    if len(ranks) <= 1 and not pinned:         # one cell: exactly the pipeline over all
        name = ranks[0].name if ranks else None
        return Decision(len(hosts), tuple(ranks), ((name, run(hosts, spec)),),
                        cell_stage=bool(ranks))
    tried: list[tuple[str, Result]] = []
    for r in ranks:
        if not r.hosts:
            continue
        result = run(r.hosts, dataclasses.replace(spec, cell=r.name))
        tried.append((r.name, result))
        if result.weighed:
            break
    return Decision(len(hosts), tuple(ranks), tuple(tried))
