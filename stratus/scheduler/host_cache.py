"""The scheduler's in-memory view of every compute host, kept fresh cheaply.

Reading 10,000 ``compute_node`` rows (and their aggregates and instance
counts) for every decision costs tens of milliseconds; this cache reads
them once, then per decision only what changed:

* **changed rows**: every write of a column the scheduler reads bumps
  ``compute_node.sched_version`` and sets ``sched_changed_at`` (the claims
  in SQL, ORM writes and aggregate changes through the listeners in
  db/models/compute.py; heartbeats that only move ``last_seen_up`` do not).
  A refresh asks for the (id, version) of rows changed since the previous
  refresh (minus ``MARGIN`` seconds, for transactions that commit late and
  for clock skew) and re-reads, with their aggregates and instance counts,
  only those whose version differs from the cached one;
* **new and deleted hosts**: new rows carry a fresh ``sched_changed_at``;
  with the up checks, a row count that differs from the cache's triggers a
  full re-read (until then a deleted host only costs a failed claim);
* **up/down** (``UP_CHECK`` seconds apart at most): one query lists the
  hosts that are disabled, forced down or silent for more than
  ``service_down_time``; hosts entering or leaving that set are updated;
* **instance and I/O operation counts**: re-read with every re-read row
  (claims and releases mark it); the I/O operation counts (task states move
  without touching compute_node) also every ``[filter_scheduler]
  host_state_counts_refresh`` seconds;
* a **full re-read** every ``host_state_full_refresh`` seconds, a safety net
  for writes that bypass the marker.

This process's own placements are applied at once (``note_placed``, as
nova's ``consume_from_request``), version included, so they cost no
re-read.  Staleness is safe: the claim is an atomic conditional UPDATE, so
a stale view only costs a lost race and the next candidate.

One cache per database engine (``for_engine``).  ``hosts(session, now)``
refreshes and returns a snapshot (a ``columns.HostList``: the HostStates
and their numpy columns, copied, so a concurrent refresh never changes
what a running decision sees).  Thread-safe.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import threading
import time
import weakref
from types import SimpleNamespace
from typing import Any, Iterable

from sqlalchemy import DateTime, bindparam, case, func, select
from sqlalchemy.orm import Session

from stratus.db.models.compute import (Aggregate, AggregateHost, AggregateMetadata, ComputeNode,
                                       Instance)
from stratus.scheduler import host_state
from stratus.scheduler.columns import Columns, HostList
from stratus.scheduler.host_state import HostState

CN = ComputeNode.__table__.c
MARGIN = 2.0          # seconds re-scanned behind the previous refresh
UP_CHECK = 1.0        # seconds between up/down checks
IO_TASK_STATES = ("resize_migrating", "rebuilding", "resize_prep", "image_snapshot",
                  "image_snapshot_pending", "image_pending_upload", "image_uploading",
                  "image_backup", "unshelving", "rescuing")
Agg = tuple[str, dict[str, str]]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _conf(conf: Any, name: str, default: float) -> float:
    try:
        return float(getattr(conf.filter_scheduler, name))
    except (AttributeError, TypeError, ValueError):
        return default


# -- reads (all per host set; None: every host) --

def _aggregates_statement(by_host: bool) -> Any:
    a, ah, md = Aggregate.__table__.c, AggregateHost.__table__.c, AggregateMetadata.__table__.c
    stmt = (select(ah.host, a.id, a.name, md.key, md.value)
            .join_from(AggregateHost.__table__, Aggregate.__table__, a.id == ah.aggregate_id)
            .outerjoin(AggregateMetadata.__table__, md.aggregate_id == a.id))
    return stmt.where(ah.host.in_(bindparam("hosts", expanding=True))) if by_host else stmt


def _counts_statement(by_host: bool) -> Any:
    i = Instance.__table__.c
    where = [i.deleted == 0, i.host.is_not(None)]
    if by_host:
        where.append(i.host.in_(bindparam("hosts", expanding=True)))
    busy = case(((i.vm_state == "building") | i.task_state.in_(IO_TASK_STATES), 1), else_=0)
    return select(i.host, func.count(), func.sum(busy)).where(*where).group_by(i.host)


def _rows_statement(by_id: bool) -> Any:
    stmt = select(ComputeNode.__table__).order_by(CN.id)
    return stmt.where(CN.id.in_(bindparam("ids", expanding=True))) if by_id else stmt


# Built once: a refresh runs per decision, and building a statement costs
# more than running it on a primary key.
_SQL = {"aggs": _aggregates_statement(False), "aggs_of": _aggregates_statement(True),
        "counts": _counts_statement(False), "counts_of": _counts_statement(True),
        "rows": _rows_statement(False), "rows_of": _rows_statement(True),
        "marks": select(CN.id, CN.sched_version).where(
            CN.sched_changed_at >= bindparam("cutoff", type_=DateTime))}


def read_aggregates(session: Session, hosts: Iterable[str] | None = None
                    ) -> dict[str, list[Agg]]:
    """host -> [(aggregate name, metadata)] for ``hosts`` (None: all)."""
    result = (session.execute(_SQL["aggs"]) if hosts is None else
              session.execute(_SQL["aggs_of"], {"hosts": list(hosts)}))
    aggs: dict[int, Agg] = {}
    members: dict[str, set[int]] = collections.defaultdict(set)
    for host, agg_id, name, key, value in result:
        agg = aggs.setdefault(agg_id, (name, {}))
        if key is not None:
            agg[1][key] = value
        members[host].add(agg_id)
    return {host: [aggs[i] for i in sorted(ids)] for host, ids in members.items()}


def read_counts(session: Session, hosts: Iterable[str] | None = None
                ) -> tuple[dict[str, int], dict[str, int]]:
    """(host -> live instances, host -> instances in I/O-heavy states)."""
    result = (session.execute(_SQL["counts"]) if hosts is None else
              session.execute(_SQL["counts_of"], {"hosts": list(hosts)}))
    counts, io_ops = {}, {}
    for host, n, io in result:
        counts[host] = n
        if io:
            io_ops[host] = int(io)
    return counts, io_ops


def read_rows(session: Session, ids: Iterable[int] | None = None) -> list[SimpleNamespace]:
    result = (session.execute(_SQL["rows"]) if ids is None else
              session.execute(_SQL["rows_of"], {"ids": list(ids)}))
    return [SimpleNamespace(**row._mapping) for row in result]


class HostCache:
    def __init__(self, conf: Any):
        self.conf = conf
        self.lock = threading.Lock()
        self.hosts: list[HostState] = []
        self.cols: Columns | None = None
        self.index: dict[int, int] = {}            # node id -> row
        self.rows: list[SimpleNamespace] = []      # the row each host was built from
        self.aggs: dict[str, list[Agg]] = {}
        self.counts: dict[str, int] = {}
        self.io_ops: dict[str, int] = {}
        self.unavailable: set[int] = set()         # node ids not up, or disabled/forced down
        self.dirty: set[int] = set()               # node ids to re-read next refresh
        self.watermark: dt.datetime | None = None  # start of the previous changed-rows read
        self.last_full = self.last_counts = self.last_up = -1e18
        self.stats = collections.Counter()         # what refreshes did (bench, tests)

    # -- public --
    def hosts_snapshot(self, session: Session, now: dt.datetime | None = None) -> HostList:
        with self.lock:
            self.refresh(session, now)
            out = HostList(self.hosts)
            out.columns = self.cols.copy()
            return out

    def refresh(self, session: Session, now: dt.datetime | None = None) -> None:
        """Bring the cache up to date (``now``: the time hosts are judged up at;
        the change marker window always uses the real clock)."""
        now = now or utcnow()
        mono = time.monotonic()
        if self.cols is None or mono - self.last_full >= _conf(
                self.conf, "host_state_full_refresh", 60.0):
            self.full(session, now, mono)
            return
        self._changed_rows(session, now)
        if mono - self.last_counts >= _conf(self.conf, "host_state_counts_refresh", 5.0):
            self._counts(session, now)
            self.last_counts = mono
        if mono - self.last_up >= UP_CHECK:
            if session.scalar(select(func.count()).select_from(ComputeNode.__table__)) \
                    != len(self.hosts):
                self.full(session, now, mono)      # a host was deleted
                return
            self._up_check(session, now)
            self.last_up = mono

    def note_placed(self, node_id: int, spec: Any, version: int | None = None) -> None:
        """This process placed ``spec`` on ``node_id`` (committed), leaving the
        row at ``sched_version`` ``version``: apply the claim as claims.claim
        did, so the row needs no re-read — but only if the view holds the
        version just before it.  Holding ``version`` already (a refresh read
        the row after the commit) means the claim is in the view; holding an
        older one means others wrote the row too: re-read it next refresh."""
        with self.lock:
            i = self.index.get(node_id)
            if i is None:
                return
            row = self.rows[i]
            if version is not None and (row.sched_version or 0) != version - 1:
                if (row.sched_version or 0) < version:
                    self.dirty.add(node_id)
                return
            row.vcpus_used = (row.vcpus_used or 0) + spec.vcpus
            row.memory_mb_used = (row.memory_mb_used or 0) + spec.memory_mb
            row.local_gb_used = (row.local_gb_used or 0) + spec.disk_gb
            row.running_vms = (row.running_vms or 0) + 1
            if spec.ecu:
                row.ecu_used = (row.ecu_used or 0) + spec.ecu
            if spec.bandwidth_kbps:
                row.bandwidth_kbps_used = (row.bandwidth_kbps_used or 0) + spec.bandwidth_kbps
            row.sched_version = (row.sched_version or 0) + 1
            name = row.host
            self.counts[name] = self.counts.get(name, 0) + 1
            self.io_ops[name] = self.io_ops.get(name, 0) + 1     # building
            self._set(i, self._build(row, self.hosts[i].up))
            self.stats["own_claims"] += 1

    # -- refresh steps --
    def full(self, session: Session, now: dt.datetime, mono: float) -> None:
        self.watermark = utcnow()
        self.dirty = set()
        rows = read_rows(session)
        self.aggs = read_aggregates(session)
        self.counts, self.io_ops = read_counts(session)
        self.rows = rows
        self.hosts = [self._build(r, None, now) for r in rows]
        self.index = {r.id: i for i, r in enumerate(rows)}
        self.unavailable = {h.node_id for h in self.hosts if not _available(h)}
        self.cols = Columns(self.hosts)
        self.last_full = self.last_counts = self.last_up = mono
        self.stats["full"] += 1

    def _changed_rows(self, session: Session, now: dt.datetime) -> None:
        cutoff = self.watermark - dt.timedelta(seconds=MARGIN)
        self.watermark = utcnow()
        marks = session.execute(_SQL["marks"], {"cutoff": cutoff}).all()
        stale = {i for i, v in marks
                 if i not in self.index or self.rows[self.index[i]].sched_version != v}
        stale = sorted(stale | self.dirty)
        self.dirty = set()
        self.stats["marked"] += len(marks)
        if stale:
            self.reread(session, stale, now)

    def reread(self, session: Session, ids: list[int], now: dt.datetime) -> None:
        rows = read_rows(session, ids)
        names = [r.host for r in rows]
        aggs = read_aggregates(session, names)
        counts, io_ops = read_counts(session, names)
        added = False
        for r in rows:
            self.aggs[r.host] = aggs.get(r.host, [])
            self.counts[r.host] = counts.get(r.host, 0)
            self.io_ops[r.host] = io_ops.get(r.host, 0)
            host = self._build(r, None, now)
            i = self.index.get(r.id)
            if i is None:
                self.index[r.id] = len(self.hosts)
                self.rows.append(r)
                self.hosts.append(host)
                added = True
            else:
                self.rows[i] = r
                self._set(i, host)
            self._track(host)
        if added:
            self.cols = Columns(self.hosts)
        self.stats["reread"] += len(rows)

    def _counts(self, session: Session, now: dt.datetime) -> None:
        """Re-read the I/O operation counts (task states move without touching
        compute_node); only busy hosts come back.  Instance counts change with
        claims and releases, which mark the row (re-read with its counts)."""
        i = Instance.__table__.c
        io_ops = dict(session.execute(
            select(i.host, func.count()).where(
                i.deleted == 0, i.host.is_not(None),
                (i.vm_state == "building") | i.task_state.in_(IO_TASK_STATES))
            .group_by(i.host)).all())
        for name in set(io_ops) | set(self.io_ops):
            row = self._by_name(name)
            if row is not None and self.hosts[row].io_ops != io_ops.get(name, 0):
                self._set(row, dataclasses.replace(self.hosts[row], io_ops=io_ops.get(name, 0)))
        self.io_ops = io_ops
        self.stats["counts"] += 1

    def _by_name(self, name: str) -> int | None:
        return self.cols.name_index.get(name)

    def _up_check(self, session: Session, now: dt.datetime) -> None:
        down_time = self.conf.compute.service_down_time
        cutoff = now - dt.timedelta(seconds=down_time)
        found = {row.id: row for row in session.execute(
            select(CN.id, CN.disabled, CN.disabled_reason, CN.forced_down, CN.last_seen_up)
            .where(CN.disabled.is_(True) | CN.forced_down.is_(True)
                   | CN.last_seen_up.is_(None) | (CN.last_seen_up < cutoff)))}
        back = [nid for nid in self.unavailable if nid not in found]
        if back:                    # up again (or enabled): read them whole
            self.reread(session, back, now)
        for nid, row in found.items():
            i = self.index.get(nid)
            if i is None:
                continue
            h = self.hosts[i]
            up = host_state.is_up(row.forced_down, row.last_seen_up, now, down_time)
            if (h.up, h.disabled, h.forced_down) != (up, bool(row.disabled),
                                                      bool(row.forced_down)):
                h = dataclasses.replace(h, up=up, disabled=bool(row.disabled),
                                        disabled_reason=row.disabled_reason,
                                        forced_down=bool(row.forced_down))
                self._set(i, h)
                self._track(h)
        self.stats["up_checks"] += 1

    # -- helpers --
    def _build(self, row: SimpleNamespace, up: bool | None,
               now: dt.datetime | None = None) -> HostState:
        """A HostState of ``row``; ``up`` given: keep it (the row's
        last_seen_up may be old, the up checks keep ``up`` current)."""
        h = host_state.make(row, now=now or utcnow(),
                            service_down_time=self.conf.compute.service_down_time,
                            default_az=self.conf.compute.default_availability_zone,
                            aggregates=self.aggs.get(row.host, ()),
                            num_instances=self.counts.get(row.host, 0),
                            io_ops=self.io_ops.get(row.host, 0))
        if up is not None and h.up != up:
            h = dataclasses.replace(h, up=up)
        return h

    def _set(self, i: int, host: HostState) -> None:
        self.hosts[i] = host
        self.cols.set(i, host)

    def _track(self, host: HostState) -> None:
        if _available(host):
            self.unavailable.discard(host.node_id)
        else:
            self.unavailable.add(host.node_id)


def _available(host: HostState) -> bool:
    return host.up and not host.disabled and not host.forced_down


_CACHES: "weakref.WeakKeyDictionary[Any, HostCache]" = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def for_engine(engine: Any, conf: Any) -> HostCache:
    """The cache of the database behind ``engine`` (created on first use)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None or cache.conf is not conf:
            cache = _CACHES[engine] = HostCache(conf)
        return cache


def existing(engine: Any) -> HostCache | None:
    return _CACHES.get(engine)
