"""Atomic claims: concurrent claimers never over-commit a host; release once."""
from __future__ import annotations

import concurrent.futures
import threading
from types import SimpleNamespace
import uuid as uuidlib

import pytest
from sqlalchemy import func, select

from scheduler_db import add_node, make_db_url
from stratus.db.base import Database
from stratus.db.models.compute import Allocation, ComputeNode
from stratus.scheduler import claims


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory):
    """One database per module and kind; every test makes its own hosts."""
    with make_db_url(request.param, tmp_path_factory.mktemp("claims")) as url:
        database = Database(url, pool_size=10)
        try:
            yield database
        finally:
            database.dispose()


def inst(vcpus=1, memory_mb=1024, root_gb=10, ephemeral_gb=0, swap=0):
    return SimpleNamespace(uuid=str(uuidlib.uuid4()), vcpus=vcpus, memory_mb=memory_mb,
                           root_gb=root_gb, ephemeral_gb=ephemeral_gb, flavor={"swap": swap})


def node_row(db, node_id):
    with db.session() as s:
        n = s.get(ComputeNode, node_id)
        return (n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.running_vms)


def alloc_sums(db, node_id):
    with db.session() as s:
        row = s.execute(select(func.count(), func.coalesce(func.sum(Allocation.vcpus), 0),
                               func.coalesce(func.sum(Allocation.memory_mb), 0),
                               func.coalesce(func.sum(Allocation.local_gb), 0))
                        .where(Allocation.compute_node_id == node_id)).one()
        return tuple(row)


def new_node(db, host=None, **kw):
    with db.session() as s:
        return add_node(s, host or f"h-{uuidlib.uuid4().hex[:8]}", **kw).id


@pytest.mark.parametrize("kw,instance,fits", [
    ({}, inst(4, 8192, 100), True),
    ({}, inst(5, 1024, 1), False),
    ({}, inst(1, 8193, 1), False),
    ({}, inst(1, 1024, 101), False),
    ({"reserved_host_memory_mb": 512}, inst(1, 7680, 1), True),
    ({"reserved_host_memory_mb": 512}, inst(1, 7681, 1), False),
    ({"reserved_host_disk_mb": 512}, inst(1, 1, 99), True),          # 99.5 GB usable
    ({"reserved_host_disk_mb": 512}, inst(1, 1, 100), False),
    ({"reserved_host_cpus": 1}, inst(4, 1, 1), False),
    ({"cpu_allocation_ratio": 16.0}, inst(64, 1, 1), True),
    ({"ram_allocation_ratio": 1.5, "reserved_host_memory_mb": 512}, inst(1, 11520, 1), True),
    ({"ram_allocation_ratio": 1.5, "reserved_host_memory_mb": 512}, inst(1, 11521, 1), False),
    ({"disk_allocation_ratio": 2.0}, inst(1, 1, 199, ephemeral_gb=1), True),
    ({}, inst(1, 1, 99, swap=1025), False),                          # swap rounds up to 2 GB
    ({"memory_mb_used": 8000}, inst(1, 193, 1), False),
    ({"memory_mb_used": 8000}, inst(1, 192, 1), True),
])
def test_claim_checks_capacity_with_ratios_and_reservations(db, kw, instance, fits):
    node = new_node(db, **kw)
    before = node_row(db, node)
    with db.session() as s:
        assert claims.claim(s, node, instance) is fits
    after = node_row(db, node)
    if fits:
        v, m, d = claims.resources(instance)
        assert after == (before[0] + v, before[1] + m, before[2] + d, before[3] + 1)
        assert alloc_sums(db, node)[0] == 1
    else:
        assert after == before and alloc_sums(db, node)[0] == 0


def test_claim_of_a_missing_node_is_refused(db):
    with db.session() as s:
        assert claims.claim(s, 424242, inst()) is False


def test_claim_is_idempotent_on_the_same_node_and_refused_elsewhere(db):
    a, b = new_node(db), new_node(db)
    i = inst()
    with db.session() as s:
        assert claims.claim(s, a, i)
    with db.session() as s:
        assert claims.claim(s, a, i)
        with pytest.raises(claims.ClaimError):
            claims.claim(s, b, i)
    assert node_row(db, a) == (1, 1024, 10, 1)
    assert node_row(db, b) == (0, 0, 0, 0)


def test_release_subtracts_exactly_once(db):
    node = new_node(db)
    i, j = inst(2, 2048, 20), inst(1, 512, 5)
    with db.session() as s:
        assert claims.claim(s, node, i) and claims.claim(s, node, j)
    with db.session() as s:
        assert claims.release(s, i.uuid) is True
    with db.session() as s:
        assert claims.release(s, i.uuid) is False
    with db.session() as s:
        assert claims.release(s, "never-claimed") is False
    assert node_row(db, node) == (1, 512, 5, 1)
    assert alloc_sums(db, node) == (1, 1, 512, 5)


def test_release_in_a_rolled_back_transaction_changes_nothing(db):
    node = new_node(db)
    i = inst()
    with db.session() as s:
        claims.claim(s, node, i)
    with pytest.raises(RuntimeError):
        with db.session() as s:
            claims.release(s, i.uuid)
            raise RuntimeError("boom")
    assert node_row(db, node) == (1, 1024, 10, 1)
    with db.session() as s:
        assert claims.release(s, i.uuid)
    assert node_row(db, node) == (0, 0, 0, 0)


def race(db, node_ids, instances, workers):
    """Each worker claims instances (first node that takes it); returns placements."""
    barrier = threading.Barrier(workers)
    chunks = [instances[k::workers] for k in range(workers)]

    def work(chunk):
        barrier.wait()
        placed = []
        for i in chunk:
            for node in node_ids:
                with db.session() as s:
                    if claims.claim(s, node, i):
                        placed.append((i.uuid, node))
                        break
        return placed

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return [p for chunk in ex.map(work, chunks) for p in chunk]


def test_eight_threads_racing_for_one_host_never_overcommit(db):
    # 4 vCPUs, 8 GB, 100 GB: room for exactly 4 instances of 1 vCPU/2 GB/10 GB.
    node = new_node(db)
    placed = race(db, [node], [inst(1, 2048, 10) for _ in range(8 * 3)], 8)
    assert len(placed) == 4
    assert node_row(db, node) == (4, 8192, 40, 4)
    assert alloc_sums(db, node) == (4, 4, 8192, 40)


def test_concurrent_release_frees_once(db):
    node = new_node(db)
    i = inst()
    with db.session() as s:
        claims.claim(s, node, i)
    barrier = threading.Barrier(6)

    def rel(_):
        barrier.wait()
        with db.session() as s:
            return claims.release(s, i.uuid)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(rel, range(6)))
    assert results.count(True) == 1
    assert node_row(db, node) == (0, 0, 0, 0)


def test_many_instances_on_a_few_hosts_sum_to_the_allocations(db, request):
    workers = 4 if "postgresql" in request.node.name else 8
    nodes = [new_node(db, f"many{k}", vcpus=8, cpu_allocation_ratio=16.0, memory_mb=16384,
                      local_gb=200, reserved_host_memory_mb=1024) for k in range(3)]
    # (16384-1024)/1024 = 15 per host by RAM: 45 of the 60 fit.
    placed = race(db, nodes, [inst(1, 1024, 1) for _ in range(60)], workers)
    assert len(placed) == 45
    assert len({u for u, _ in placed}) == 45
    for node in nodes:
        v, m, d, vms = node_row(db, node)
        assert m <= 15360 and v <= 128
        assert alloc_sums(db, node) == (vms, v, m, d)
