"""The chance driver and two-level (cell) placement through service.schedule on
a real database: claims, faults and the explain document."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from scheduler_db import add_instance, add_node, make_db_url
from stratus.common.config import Config
from stratus.db.base import Database
from stratus.db.models.compute import Allocation, ComputeNode, Instance, InstanceFault
from stratus.scheduler import placement, request, service


@pytest.fixture
def db(tmp_path):
    with make_db_url("sqlite", tmp_path) as url:
        database = Database(url, pool_size=5)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture(autouse=True)
def no_hooks(monkeypatch):
    monkeypatch.setattr(placement, "optional_hook", lambda module, attr: None)


def conf(**sched):
    return Config(overrides={"scheduler": sched, "compute": {"service_down_time": 60}})


def setup(db, fn):
    with db.session() as s:
        return fn(s)


def hosts_of(db, uuids):
    with db.session() as s:
        rows = {i.uuid: i.host for i in s.scalars(select(Instance).where(
            Instance.uuid.in_(uuids)))}
    return [rows[u] for u in uuids]


def fault(db, uuid):
    with db.session() as s:
        return s.scalar(select(InstanceFault.message).where(InstanceFault.instance_uuid == uuid))


def check_usage(db):
    with db.session() as s:
        for node in s.scalars(select(ComputeNode)):
            allocs = list(s.scalars(select(Allocation).where(
                Allocation.compute_node_id == node.id)))
            assert node.memory_mb_used == sum(a.memory_mb for a in allocs) <= node.memory_mb
            assert node.vcpus_used == sum(a.vcpus for a in allocs) <= node.vcpus


def test_chance_spreads_at_random_within_capacity(db):
    setup(db, lambda s: [add_node(s, h, memory_mb=8192, vcpus=16) for h in ("a", "b", "c")])
    # 30 x 1 GB onto 3 x 8 GB: the RAM check keeps chance off a full host.
    uuids = setup(db, lambda s: [add_instance(s, memory_mb=1024, root_gb=1).uuid
                                 for _ in range(30)])
    service.schedule(db, conf(driver="chance"), uuids)
    placed = Counter(hosts_of(db, uuids))
    assert placed[None] == 6 and sum(n for h, n in placed.items() if h) == 24
    assert set(placed) - {None} == {"a", "b", "c"}      # random: every host got some
    check_usage(db)
    late = setup(db, lambda s: add_instance(s, memory_mb=1024, root_gb=1).uuid)
    service.schedule(db, conf(driver="chance"), [late])
    assert hosts_of(db, [late]) == [None]
    assert fault(db, late) == ("No valid host was found. RamFilter removed the last 3 host(s) "
                               "(needs 1024 MB RAM)")


def test_cells_fill_the_best_cell_then_fall_back_and_fault_covers_all(db):
    setup(db, lambda s: (add_node(s, "small", memory_mb=2048, cell="cell1"),
                         add_node(s, "big-1", memory_mb=4096, cell="cell2"),
                         add_node(s, "big-2", memory_mb=4096, cell="cell2")))
    uuids = setup(db, lambda s: [add_instance(s, memory_mb=2048, root_gb=1).uuid
                                 for _ in range(6)])
    service.schedule(db, conf(), uuids)
    got = hosts_of(db, uuids)
    # cell2 ranks first while it has more fitting hosts; at one fitting host each
    # with as much free RAM, the name decides (cell1); then cell2 again; then nothing.
    assert got == ["big-1", "big-2", "big-1", "small", "big-2", None]
    msg = fault(db, uuids[5])
    assert msg.startswith("No valid host was found. No cell has a fitting host (2 cells "
                          "tried): ")
    assert "cell1: RamFilter removed the last 1 host(s)" in msg
    assert "cell2: RamFilter removed the last 2 host(s)" in msg
    check_usage(db)


def test_pinned_cells_and_explain_on_the_database(db):
    setup(db, lambda s: (add_node(s, "small", memory_mb=2048, cell="cell1"),
                         add_node(s, "big", memory_mb=8192, cell="cell2")))
    pinned = conf(cells=["cell1"])
    uuids = setup(db, lambda s: [add_instance(s, memory_mb=1024, root_gb=1).uuid
                                 for _ in range(3)])
    service.schedule(db, pinned, uuids)
    assert hosts_of(db, uuids) == ["small", "small", None]
    spec = request.RequestSpec(instance_uuid="x", project_id="p", vcpus=1, memory_mb=1024,
                               disk_gb=1)
    doc = service.explain(db, conf(driver="chance"), spec)
    assert doc["driver"] == "chance" and doc["cell"] == "cell2"
    assert [(c["name"], c["fitting_hosts"], c["outcome"]) for c in doc["cells"]] == [
        ("cell2", 1, "chosen"), ("cell1", 0, "not tried")]
    assert doc["weights"] == [{"host": "big", "weight": 0.0}]
    doc = service.explain(db, pinned, spec)
    assert doc["cell"] is None and doc["reason"].startswith("RamFilter removed the last 1")
