"""A columnar view of a host list, for vectorised filters and weighers.

``Columns(hosts)`` holds one numpy array per numeric HostState field (the
values are the HostState's own attributes and properties, so a vector
expression over them is the very expression ``host_passes`` evaluates on
one host, with the same IEEE doubles).  Row ``i`` is ``hosts[i]``.

A filter opts into the fast path with ``mask(cols, spec)`` (see
filters/base.py) and a weigher with ``values(cols, idx, spec)``
(weighers/base.py); both may use the helpers here:

* ``hosts_mask(names)``: rows whose host name is in ``names`` (O(len(names)));
* ``by_aggregates(fn)``: ``fn(host)`` evaluated once per distinct
  (zone, aggregates, aggregate metadata) group, spread over the group's
  rows — exact for anything that depends on those fields only;
* ``name_rank``: each row's rank in host-name order (the weighing tie-break).

``set(i, host)`` replaces one row in place (the host cache's incremental
refresh); ``copy()`` is a cheap snapshot (arrays copied, immutable indexes
shared) so a decision never sees a half-updated view.  Pure; no I/O.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from stratus.scheduler.host_state import HostState

INT_FIELDS = ("vcpus", "reserved_host_cpus", "vcpus_used", "memory_mb", "memory_mb_used",
              "local_gb", "local_gb_used", "free_ram_mb", "free_vcpus", "num_instances",
              "io_ops", "ecu", "ecu_used", "free_ecu", "bandwidth_mbps",
              "bandwidth_kbps_used", "bandwidth_kbps_limit", "free_bandwidth_kbps",
              "failed_builds")
FLOAT_FIELDS = ("vcpus_limit", "memory_mb_limit", "local_gb_limit", "free_disk_gb",
                "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")
BOOL_FIELDS = ("up", "disabled", "forced_down")
FIELDS = INT_FIELDS + FLOAT_FIELDS + BOOL_FIELDS
_DTYPES = {**{f: np.int64 for f in INT_FIELDS}, **{f: np.float64 for f in FLOAT_FIELDS},
           **{f: np.bool_ for f in BOOL_FIELDS}}


def aggregate_key(host: HostState) -> tuple:
    """What aggregate-derived filters may read of a host."""
    return (host.availability_zone, host.aggregates,
            tuple(sorted((k, tuple(sorted(v))) for k, v in host.aggregate_metadata.items())))


class Columns:
    def __init__(self, hosts: Sequence[HostState], _copy_of: "Columns | None" = None):
        if _copy_of is not None:
            self.n = _copy_of.n
            self.arrays = {f: a.copy() for f, a in _copy_of.arrays.items()}
            self.names = list(_copy_of.names)
            self._name_index = _copy_of._name_index
            self._name_rank = _copy_of._name_rank
            self._groups = _copy_of._groups
            self._agg_keys = list(_copy_of._agg_keys)
            self._agg_hosts = list(_copy_of._agg_hosts)
            return
        self.n = len(hosts)
        self.arrays = {f: np.fromiter((getattr(h, f) for h in hosts), _DTYPES[f], self.n)
                       for f in FIELDS}
        self.names = [h.host for h in hosts]
        self._agg_keys = [aggregate_key(h) for h in hosts]
        self._agg_hosts = list(hosts)
        self._name_index: dict[str, int] | None = None
        self._name_rank: np.ndarray | None = None
        self._groups: list[tuple[int, np.ndarray]] | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def copy(self) -> "Columns":
        return Columns((), _copy_of=self)

    def set(self, i: int, host: HostState) -> None:
        """Replace row ``i`` by ``host`` (same position in the host list)."""
        for f in FIELDS:
            self.arrays[f][i] = getattr(host, f)
        if host.host != self.names[i]:
            self.names[i] = host.host
            self._name_index = None
            self._name_rank = None
        key = aggregate_key(host)
        if key != self._agg_keys[i]:
            self._agg_keys[i] = key
            self._agg_hosts[i] = host
            self._groups = None

    # -- indexes (built lazily, shared by snapshots until a change drops them) --
    @property
    def name_index(self) -> dict[str, int]:
        if self._name_index is None:
            self._name_index = {name: i for i, name in enumerate(self.names)}
        return self._name_index

    @property
    def name_rank(self) -> np.ndarray:
        if self._name_rank is None:
            order = sorted(range(self.n), key=self.names.__getitem__)
            rank = np.empty(self.n, np.int64)
            rank[np.asarray(order, dtype=np.int64)] = np.arange(self.n)
            self._name_rank = rank
        return self._name_rank

    @property
    def groups(self) -> list[tuple[HostState, np.ndarray]]:
        """(a representative host, its rows) per distinct aggregate key."""
        if self._groups is None:
            rows: dict[tuple, list[int]] = {}
            for i, key in enumerate(self._agg_keys):
                rows.setdefault(key, []).append(i)
            self._groups = [(self._agg_hosts[r[0]], np.asarray(r, dtype=np.int64))
                            for r in rows.values()]
        return self._groups

    # -- helpers for filters --
    def hosts_mask(self, names: Iterable[str]) -> np.ndarray:
        m = np.zeros(self.n, np.bool_)
        index = self.name_index
        for name in names:
            i = index.get(name)
            if i is not None:
                m[i] = True
        return m

    def by_aggregates(self, fn: Callable[[HostState], Any], dtype: Any = np.bool_
                      ) -> np.ndarray:
        """``fn`` of each row, evaluated once per aggregate group (exact when
        ``fn`` reads only the zone, aggregates and aggregate metadata)."""
        out = np.empty(self.n, dtype)
        for rep, rows in self.groups:
            out[rows] = fn(rep)
        return out


class HostList(list):
    """A list of HostStates that carries their :class:`Columns` (row i = item i);
    ``Pipeline.run`` takes the fast path when it gets one."""
    columns: Columns | None = None

    @classmethod
    def of(cls, hosts: Iterable[HostState], columns: Columns | None = None) -> "HostList":
        out = cls(hosts)
        out.columns = columns if columns is not None else Columns(out)
        return out
