"""The host state cache: incremental refreshes give what a full read gives."""
from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from types import MappingProxyType

import pytest
from sqlalchemy import select, update

from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models import compute as m
from stratus.scheduler import claims, host_cache, placement, state_loader
from stratus.scheduler.request import RequestSpec


@pytest.fixture
def conf():
    return Config()


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setattr(host_cache, "UP_CHECK", 0.0)     # check up/down on every refresh
    database = Database(f"sqlite:///{tmp_path}/c.sqlite", 2)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        for i in range(4):
            s.add(node(i))
    yield database
    database.dispose()


def node(i: int, **kw) -> m.ComputeNode:
    base = dict(uuid=str(uuidlib.uuid4()), host=f"h{i}", service_id=i + 1, vcpus=8,
                memory_mb=16384, local_gb=100, cpu_allocation_ratio=1.0,
                ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
                last_seen_up=host_cache.utcnow())
    base.update(kw)
    return m.ComputeNode(**base)


def snapshot(hosts):
    def norm(h):
        d = dict(vars(h))
        d["aggregate_metadata"] = dict(h.aggregate_metadata)
        d["stats"] = dict(h.stats)
        return d
    return sorted((norm(h) for h in hosts), key=lambda d: d["node_id"])


def cached(db, conf):
    with db.session() as s:
        return state_loader.load_hosts(s, conf)


def fresh(db, conf):
    with db.session() as s:
        return state_loader.load_all_hosts(s, conf)


def assert_same(db, conf):
    got = cached(db, conf)
    assert snapshot(got) == snapshot(fresh(db, conf))
    assert got.columns.n == len(got)
    return got


def by_name(hosts, name):
    return next(h for h in hosts if h.host == name)


def test_first_load_is_a_full_read(db, conf):
    hosts = assert_same(db, conf)
    assert len(hosts) == 4
    assert host_cache.existing(db.engine).stats["full"] == 1


def test_changed_row_is_picked_up_and_others_are_not_reread(db, conf):
    cached(db, conf)
    cache = host_cache.existing(db.engine)
    with db.session() as s:                 # an ORM write (the heartbeat, os-services)
        n = s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == "h1"))
        n.vcpus = 32
    hosts = assert_same(db, conf)
    assert by_name(hosts, "h1").vcpus == 32
    assert cache.stats["full"] == 1 and cache.stats["reread"] == 1


def test_foreign_claim_and_release_are_picked_up(db, conf):
    cached(db, conf)
    inst = type("I", (), dict(uuid="i-1", vcpus=2, memory_mb=1024, root_gb=10,
                              ephemeral_gb=0, flavor={}))()
    with db.session() as s:       # another scheduler's claim (not this cache's)
        nid = s.scalar(select(m.ComputeNode.id).where(m.ComputeNode.host == "h2"))
        assert claims.claim(s, nid, inst)
    assert by_name(assert_same(db, conf), "h2").vcpus_used == 2
    with db.session() as s:
        assert claims.release(s, "i-1")
    assert by_name(assert_same(db, conf), "h2").vcpus_used == 0


def test_heartbeat_alone_does_not_mark_the_row(db, conf):
    cached(db, conf)
    with db.session() as s:
        n = s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == "h0"))
        before = n.sched_version
        n.last_seen_up = host_cache.utcnow()
        n.vcpus = n.vcpus                   # same value: no change
    with db.session() as s:
        assert s.scalar(select(m.ComputeNode.sched_version)
                        .where(m.ComputeNode.host == "h0")) == before
    assert_same(db, conf)
    assert host_cache.existing(db.engine).stats["reread"] == 0


def test_new_and_deleted_hosts(db, conf):
    cached(db, conf)
    with db.session() as s:
        s.add(node(9))
    hosts = assert_same(db, conf)
    assert "h9" in {h.host for h in hosts}
    with db.session() as s:
        s.delete(s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == "h3")))
    hosts = assert_same(db, conf)
    assert "h3" not in {h.host for h in hosts} and len(hosts) == 4


def test_aggregate_changes_are_picked_up(db, conf):
    assert by_name(cached(db, conf), "h1").availability_zone == "nova"
    with db.session() as s:
        agg = m.Aggregate(uuid=str(uuidlib.uuid4()), name="z")
        s.add(agg)
        s.flush()
        s.add(m.AggregateMetadata(aggregate_id=agg.id, key="availability_zone", value="zone-1"))
        s.add(m.AggregateHost(aggregate_id=agg.id, host="h1"))
    hosts = assert_same(db, conf)
    assert by_name(hosts, "h1").availability_zone == "zone-1"
    with db.session() as s:                 # metadata edit: every member host is marked
        md = s.get(m.AggregateMetadata, (agg.id, "availability_zone"))
        md.value = "zone-2"
        s.add(m.AggregateMetadata(aggregate_id=agg.id, key="ssd", value="true"))
    hosts = assert_same(db, conf)
    assert by_name(hosts, "h1").availability_zone == "zone-2"
    assert by_name(hosts, "h1").aggregate_metadata["ssd"] == frozenset({"true"})
    with db.session() as s:
        s.delete(s.get(m.AggregateHost, (agg.id, "h1")))
    assert by_name(assert_same(db, conf), "h1").availability_zone == "nova"


def test_own_placement_is_applied_without_a_reread(db, conf):
    hosts = cached(db, conf)
    cache = host_cache.existing(db.engine)
    target = by_name(hosts, "h0")
    with db.session() as s:
        s.add(m.Instance(uuid="i-9", display_name="x", hostname="x", project_id="p",
                         user_id="u", flavor={}, flavor_id="1", vcpus=2, memory_mb=2048,
                         root_gb=10, request_spec={}))
    spec = RequestSpec(instance_uuid="i-9", project_id="p", vcpus=2, memory_mb=2048,
                       disk_gb=10, hints=MappingProxyType({}))
    assert placement.place(db, spec, target) is placement.Outcome.PLACED
    assert cache.stats["own_claims"] == 1
    applied = by_name(cache.hosts, "h0")
    assert (applied.vcpus_used, applied.memory_mb_used, applied.num_instances,
            applied.io_ops) == (2, 2048, 1, 1)
    hosts = assert_same(db, conf)               # the marker matches: nothing re-read
    assert cache.stats["reread"] == 0 and by_name(hosts, "h0").vcpus_used == 2


def _instance(db, uuid, memory_mb=2048):
    with db.session() as s:
        s.add(m.Instance(uuid=uuid, display_name="x", hostname="x", project_id="p",
                         user_id="u", flavor={}, flavor_id="1", vcpus=1, memory_mb=memory_mb,
                         root_gb=1, request_spec={}, task_state="scheduling"))
    return RequestSpec(instance_uuid=uuid, project_id="p", vcpus=1, memory_mb=memory_mb,
                       disk_gb=1, hints=MappingProxyType({}))


def test_a_late_note_of_an_own_placement_is_never_counted_twice(db, conf, monkeypatch):
    """place() commits; before its note_placed another thread refreshes (the
    row is read with the claim in it); then another process claims on the
    host too.  The view must end equal to the database, not over it."""
    hosts = cached(db, conf)
    cache = host_cache.existing(db.engine)
    target = by_name(hosts, "h0")
    spec = _instance(db, "late-1")
    monkeypatch.setattr(host_cache, "existing", lambda engine: None)   # note withheld
    assert placement.place(db, spec, target) is placement.Outcome.PLACED
    monkeypatch.setattr(host_cache, "existing", lambda engine: cache)
    with db.session() as s:
        version = s.get(m.ComputeNode, target.node_id).sched_version
    assert by_name(cached(db, conf), "h0").memory_mb_used == 2048     # refresh saw it
    cache.note_placed(target.node_id, spec, version)                   # the late note
    assert by_name(cache.hosts, "h0").memory_mb_used == 2048           # not 4096
    other = _instance(db, "late-2", 1024)                              # another process
    with db.session() as s:
        inst = s.scalar(select(m.Instance).where(m.Instance.uuid == "late-2"))
        assert claims.claim(s, target.node_id, inst)
    assert by_name(assert_same(db, conf), "h0").memory_mb_used == 3072
    assert other.memory_mb == 1024


def test_a_note_behind_a_foreign_write_marks_the_row_for_a_reread(db, conf):
    hosts = cached(db, conf)
    cache = host_cache.existing(db.engine)
    target = by_name(hosts, "h1")
    _instance(db, "fw-1", 1024)
    with db.session() as s:          # a foreign claim the view has not read yet
        inst = s.scalar(select(m.Instance).where(m.Instance.uuid == "fw-1"))
        assert claims.claim(s, target.node_id, inst)
    spec = _instance(db, "fw-2", 2048)
    with db.session() as s:
        inst = s.scalar(select(m.Instance).where(m.Instance.uuid == "fw-2"))
        assert claims.claim(s, target.node_id, inst)
        version = s.info[claims.CLAIMED_VERSIONS][target.node_id]
    cache.note_placed(target.node_id, spec, version)    # view is two versions behind
    assert target.node_id in cache.dirty
    assert by_name(assert_same(db, conf), "h1").memory_mb_used == 3072
    assert not cache.dirty


def test_stopped_heartbeat_goes_down_and_comes_back(db, conf):
    assert by_name(cached(db, conf), "h2").up
    old = host_cache.utcnow() - dt.timedelta(seconds=conf.compute.service_down_time + 5)
    with db.session() as s:      # a write that does not mark the row: only time passes
        s.execute(update(m.ComputeNode.__table__).where(m.ComputeNode.__table__.c.host == "h2")
                  .values(last_seen_up=old))
    hosts = assert_same(db, conf)
    assert not by_name(hosts, "h2").up
    assert not hosts.columns.up[[h.host for h in hosts].index("h2")]
    with db.session() as s:
        n = s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == "h2"))
        n.last_seen_up = host_cache.utcnow()
    assert by_name(assert_same(db, conf), "h2").up


def test_unmarked_write_is_caught_by_the_full_refresh(db, tmp_path):
    conf = Config(overrides={"filter_scheduler": {"host_state_full_refresh": 0.0}})
    cached(db, conf)
    with db.session() as s:
        s.execute(update(m.ComputeNode.__table__).where(m.ComputeNode.__table__.c.host == "h1")
                  .values(memory_mb=1))
    assert by_name(assert_same(db, conf), "h1").memory_mb == 1


def test_cache_off_reads_everything(db):
    conf = Config(overrides={"filter_scheduler": {"host_state_cache": False}})
    hosts = cached(db, conf)
    assert not hasattr(hosts, "columns") and host_cache.existing(db.engine) is None


def test_snapshot_is_not_changed_by_later_refreshes(db, conf):
    first = cached(db, conf)
    with db.session() as s:
        n = s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == "h1"))
        n.vcpus = 2
    cached(db, conf)
    assert by_name(first, "h1").vcpus == 8
    assert first.columns.vcpus[[h.host for h in first].index("h1")] == 8
