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
* ``name_rank``: each row's rank in host-name order (the weighing tie-break);
* ``partition(name, keyfn)``: the rows grouped by ``keyfn(host)`` (codes and
  one representative host per group), so a predicate that depends only on
  that key is evaluated once per group — how filters over arbitrary host
  attributes (capabilities, JsonFilter variables) take the fast path.

``set(i, host)`` replaces one row in place (the host cache's incremental
refresh, which also moves the row between partitions); ``copy()`` is a
cheap snapshot (arrays copied, immutable indexes shared) so a decision never
sees a half-updated view.  Indexes and partitions a snapshot builds are
handed back to the view it was copied from, so the next snapshot has them
ready: per decision only the rows that changed cost Python work.  Pure; no I/O.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Hashable, Iterable, Sequence

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
MAX_PARTITIONS = 64      # partitions kept up to date per view (the rest are rebuilt)


def hashable(value: Any) -> Hashable:
    """``value`` as a dict key (dicts and lists by their JSON text)."""
    try:
        hash(value)
        return value
    except TypeError:
        return ("\0json", json.dumps(value, sort_keys=True, default=str))


class Partition:
    """Rows grouped by a key function: ``codes[i]`` is row i's group, ``reps[g]``
    a host of group g.  Groups are only ever appended (a snapshot's codes stay
    valid while its origin moves rows to new groups)."""
    __slots__ = ("keyfn", "codes", "reps", "index")

    def __init__(self, keyfn: Callable[[Any], Hashable], hosts: Sequence[HostState]):
        self.keyfn = keyfn
        self.reps: list[HostState] = []
        self.index: dict[Hashable, int] = {}
        self.codes = np.fromiter((self.code(h) for h in hosts), np.int64, len(hosts))

    def code(self, host: HostState) -> int:
        key = hashable(self.keyfn(host))
        g = self.index.get(key)
        if g is None:
            g = self.index[key] = len(self.reps)
            self.reps.append(host)
        return g

    def copy(self) -> "Partition":
        out = Partition.__new__(Partition)
        out.keyfn, out.reps, out.index = self.keyfn, self.reps, self.index
        out.codes = self.codes.copy()
        return out

    def evaluate(self, predicate: Callable[[HostState], bool]) -> np.ndarray:
        """``predicate`` of every row, evaluated once per group present."""
        present = np.unique(self.codes)
        table = np.zeros(len(self.reps), np.bool_)
        for g in present.tolist():
            table[g] = bool(predicate(self.reps[g]))
        return table[self.codes]


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
            self._hosts = list(_copy_of._hosts)
            self._partitions = {k: p.copy() for k, p in _copy_of._partitions.items()}
            self._origin = _copy_of
            return
        self.n = len(hosts)
        self._hosts = list(hosts)
        self._partitions: dict[Hashable, Partition] = {}
        self._origin: Columns | None = None
        self._wanted: dict[Hashable, Callable[[Any], Hashable]] = {}
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
        """A snapshot; first builds here what earlier snapshots asked for, so
        it is built once, not per decision."""
        if self._origin is None:
            self._build_wanted()
        return Columns((), _copy_of=self)

    def _build_wanted(self) -> None:
        if self._wanted:
            wanted, self._wanted = self._wanted, {}
            for name, keyfn in wanted.items():
                if name == "name_index":
                    _ = self.name_index
                elif name == "name_rank":
                    _ = self.name_rank
                elif name == "groups":
                    _ = self.groups
                elif name not in self._partitions and len(self._partitions) < MAX_PARTITIONS:
                    self._partitions[name] = Partition(keyfn, self._hosts)

    def _want(self, name: Hashable, keyfn: Any = None) -> None:
        """Ask the view this snapshot was copied from to keep ``name`` built."""
        if self._origin is not None:
            self._origin._wanted[name] = keyfn

    def set(self, i: int, host: HostState) -> None:
        """Replace row ``i`` by ``host`` (same position in the host list)."""
        self._hosts[i] = host
        for p in self._partitions.values():
            p.codes[i] = p.code(host)
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
            self._want("name_index")
            self._name_index = {name: i for i, name in enumerate(self.names)}
        return self._name_index

    @property
    def name_rank(self) -> np.ndarray:
        if self._name_rank is None:
            self._want("name_rank")
            order = sorted(range(self.n), key=self.names.__getitem__)
            rank = np.empty(self.n, np.int64)
            rank[np.asarray(order, dtype=np.int64)] = np.arange(self.n)
            self._name_rank = rank
        return self._name_rank

    @property
    def groups(self) -> list[tuple[HostState, np.ndarray]]:
        """(a representative host, its rows) per distinct aggregate key."""
        if self._groups is None:
            self._want("groups")
            rows: dict[tuple, list[int]] = {}
            for i, key in enumerate(self._agg_keys):
                rows.setdefault(key, []).append(i)
            self._groups = [(self._agg_hosts[r[0]], np.asarray(r, dtype=np.int64))
                            for r in rows.values()]
        return self._groups

    def partition(self, name: Hashable, keyfn: Callable[[HostState], Any]) -> Partition:
        """The rows grouped by ``keyfn`` (``name`` identifies the function: the
        same name must always mean the same function of a host)."""
        p = self._partitions.get(name)
        if p is None:
            p = self._partitions[name] = Partition(keyfn, self._hosts)
            self._want(name, keyfn)
        return p

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
