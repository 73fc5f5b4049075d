"""schedule()/reschedule()/explain() and the sweep, end to end on a real database."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select

from scheduler_db import add_aggregate, add_group, add_instance, add_node, make_db_url, now
from stratus.common.config import Config
from stratus.controllers import scheduling
from stratus.db.base import Database
from stratus.db.models.compute import (Allocation, ComputeNode, Instance, InstanceFault,
                                       ServerGroupMember)
from stratus.scheduler import placement, request, service


@pytest.fixture(params=["sqlite"])
def db(request, tmp_path):
    with make_db_url(request.param, tmp_path) as url:
        database = Database(url, pool_size=10)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, tmp_path):
    with make_db_url(request.param, tmp_path) as url:
        database = Database(url, pool_size=10)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture(autouse=True)
def hooks(monkeypatch):
    """Record the calls to the network and compute packages' hooks."""
    calls = []

    def fake(module, attr):
        return lambda session, *args: calls.append((f"{module}.{attr}", *args))

    monkeypatch.setattr(placement, "optional_hook", fake)
    return calls


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs, "compute": {"service_down_time": 60}})


def setup(db, fn):
    with db.session() as s:
        return fn(s)


def inst_row(db, uuid):
    with db.session() as s:
        return s.scalar(select(Instance).where(Instance.uuid == uuid))


def faults(db, uuid):
    with db.session() as s:
        return list(s.scalars(select(InstanceFault).where(InstanceFault.instance_uuid == uuid)))


def allocations(db):
    with db.session() as s:
        return {a.instance_uuid: a.compute_node_id for a in s.scalars(select(Allocation))}


def assert_usage_matches_allocations(db):
    with db.session() as s:
        for node in s.scalars(select(ComputeNode)):
            sums = s.execute(select(func.count(), func.coalesce(func.sum(Allocation.vcpus), 0),
                                    func.coalesce(func.sum(Allocation.memory_mb), 0),
                                    func.coalesce(func.sum(Allocation.local_gb), 0))
                             .where(Allocation.compute_node_id == node.id)).one()
            assert tuple(sums) == (node.running_vms, node.vcpus_used, node.memory_mb_used,
                                   node.local_gb_used)
            assert node.memory_mb_used <= (node.memory_mb - node.reserved_host_memory_mb) * \
                node.ram_allocation_ratio


def test_instances_land_spread_by_ram_with_claims_ports_and_revisions(db, hooks):
    setup(db, lambda s: (add_node(s, "a"), add_node(s, "b")))
    uuids = setup(db, lambda s: [add_instance(s, memory_mb=1024).uuid for _ in range(4)])
    service.schedule(db, conf(), uuids)
    rows = [inst_row(db, u) for u in uuids]
    assert all(r.task_state == "spawning" and r.vm_state == "building" for r in rows)
    assert all(r.node == r.host and r.availability_zone == "nova" for r in rows)
    assert sorted(r.host for r in rows) == ["a", "a", "b", "b"]     # RAMWeigher spreads
    assert set(allocations(db)) == set(uuids)
    assert_usage_matches_allocations(db)
    for r in rows:
        assert ("stratus.network.ports.bind_ports", r.uuid, r.host) in hooks
    with db.session() as s:       # the claim bumps the host's revision, once per placement
        revs = {n.host: n.revision for n in s.scalars(select(ComputeNode))}
    assert revs == {"a": 2, "b": 2}


def test_no_valid_host_errors_with_the_filter_in_the_fault(db):
    setup(db, lambda s: (add_node(s, "a"), add_node(s, "b")))
    uuid = setup(db, lambda s: add_instance(s, memory_mb=16384).uuid)
    service.schedule(db, conf(), [uuid])
    row = inst_row(db, uuid)
    assert (row.vm_state, row.task_state, row.host) == ("error", None, None)
    [fault] = faults(db, uuid)
    assert fault.code == 500
    assert fault.message == ("No valid host was found. RamFilter removed the last 2 host(s) "
                             "(needs 16384 MB RAM)")
    assert "RamFilter: 2 -> 0" in fault.details
    assert allocations(db) == {}


def test_down_disabled_and_forced_down_hosts_are_skipped(db):
    old = now() - dt.timedelta(seconds=600)
    setup(db, lambda s: (add_node(s, "down", last_seen_up=old),
                         add_node(s, "off", disabled=True),
                         add_node(s, "forced", forced_down=True),
                         add_node(s, "ok", memory_mb=2048)))
    uuids = setup(db, lambda s: [add_instance(s).uuid for _ in range(3)])
    service.schedule(db, conf(), uuids)
    rows = [inst_row(db, u) for u in uuids]
    assert [r.host for r in rows] == ["ok", "ok", None]
    assert faults(db, uuids[2])[0].message == (
        "No valid host was found. RamFilter removed the last 1 host(s) (needs 1024 MB RAM)")


def test_availability_zone_request_lands_in_the_aggregate(db):
    setup(db, lambda s: (add_node(s, "a"), add_node(s, "b", memory_mb=4096),
                         add_aggregate(s, "rack2", ["b"], {"availability_zone": "az2"})))
    uuid = setup(db, lambda s: add_instance(s, az="az2").uuid)
    plain = setup(db, lambda s: add_instance(s).uuid)
    nowhere = setup(db, lambda s: add_instance(s, az="az9").uuid)
    service.schedule(db, conf(), [uuid, plain, nowhere])
    assert (inst_row(db, uuid).host, inst_row(db, uuid).availability_zone) == ("b", "az2")
    assert (inst_row(db, plain).host, inst_row(db, plain).availability_zone) == ("a", "nova")
    assert "AvailabilityZoneFilter removed the last 2 host(s)" in faults(db, nowhere)[0].message


def add_members(s, g, n, as_api):
    """Group members as a bare hint, or as the compute API writes them (the group
    in request_spec and the membership rows added at create time)."""
    out = []
    for _ in range(n):
        inst = add_instance(s, hints={"group": g.uuid})
        if as_api:
            inst.request_spec = {"scheduler_hints": {"group": g.uuid},
                                 "group": {"uuid": g.uuid, "policy": g.policy, "rules": {}}}
            s.add(ServerGroupMember(group_id=g.id, instance_uuid=inst.uuid))
        out.append(inst.uuid)
    return out


@pytest.mark.parametrize("as_api", [False, True])
def test_anti_affinity_group_of_two_on_one_host_errors_the_second(db, as_api):
    setup(db, lambda s: add_node(s, "only"))
    grp = setup(db, lambda s: add_group(s, "anti-affinity"))
    g = grp.uuid
    uuids = setup(db, lambda s: add_members(s, grp, 2, as_api))
    service.schedule(db, conf(), uuids)
    assert inst_row(db, uuids[0]).host == "only"
    second = inst_row(db, uuids[1])
    assert (second.vm_state, second.host) == ("error", None)
    assert faults(db, uuids[1])[0].message == (
        "No valid host was found. ServerGroupAntiAffinityFilter removed the last 1 host(s) "
        "(hosts already hold members of server group " + g + " (anti-affinity))")
    with db.session() as s:   # the placed member is (or stays) recorded in the group
        members = set(s.scalars(select(ServerGroupMember.instance_uuid)))
    assert members == (set(uuids) if as_api else {uuids[0]})


def test_affinity_group_follows_its_first_member(db):
    setup(db, lambda s: [add_node(s, n) for n in ("a", "b", "c")])
    g = setup(db, lambda s: add_group(s, "affinity").uuid)
    uuids = setup(db, lambda s: [add_instance(s, hints={"group": g}).uuid for _ in range(3)])
    service.schedule(db, conf(), uuids)
    assert len({inst_row(db, u).host for u in uuids}) == 1


def test_deleted_and_already_scheduled_instances_are_left_alone(db):
    setup(db, lambda s: add_node(s, "a"))
    gone = setup(db, lambda s: add_instance(s, deleted=1).uuid)
    busy = setup(db, lambda s: add_instance(s, task_state="spawning").uuid)
    service.schedule(db, conf(), [gone, busy, "no-such-uuid"])
    assert inst_row(db, gone).host is None and inst_row(db, busy).host is None
    assert allocations(db) == {}


def test_reschedule_tries_other_hosts_then_honours_max_attempts(db, hooks):
    setup(db, lambda s: [add_node(s, n) for n in ("a", "b", "c")])
    uuid = setup(db, lambda s: add_instance(s).uuid)
    c = conf(max_attempts=2)
    service.schedule(db, c, [uuid])
    first = inst_row(db, uuid).host
    service.reschedule(db, c, uuid, first, "qemu died")
    row = inst_row(db, uuid)
    assert row.host not in (None, first) and row.task_state == "spawning"
    assert row.request_spec["retry"] == {"hosts": [first], "num_attempts": 1}
    assert ("stratus.compute.revision.bump", first) in hooks      # old host drops it
    assert len(allocations(db)) == 1
    second = row.host
    service.reschedule(db, c, uuid, second, "disk full")
    row = inst_row(db, uuid)
    assert (row.vm_state, row.task_state, row.host) == ("error", None, None)
    [fault] = faults(db, uuid)
    assert fault.message.startswith("Exceeded maximum number of retries. Exceeded max "
                                    "scheduling attempts 2 for instance ")
    assert fault.message.endswith("Last exception: disk full")
    assert allocations(db) == {}
    assert_usage_matches_allocations(db)
    service.reschedule(db, c, uuid, second, "again")        # an ERROR instance is left alone
    assert len(faults(db, uuid)) == 1


def test_reschedule_leaves_an_instance_being_deleted_alone(db):
    setup(db, lambda s: [add_node(s, n) for n in ("a", "b")])
    uuid = setup(db, lambda s: add_instance(s).uuid)
    service.schedule(db, conf(), [uuid])
    host = inst_row(db, uuid).host
    with db.session() as s:
        s.scalar(select(Instance).where(Instance.uuid == uuid)).task_state = "deleting"
    service.reschedule(db, conf(), uuid, host, "boom")
    row = inst_row(db, uuid)
    assert (row.task_state, row.host) == ("deleting", host)
    assert list(allocations(db)) == [uuid]


def test_reschedule_with_every_host_tried_names_the_retry_filter(db):
    setup(db, lambda s: add_node(s, "a"))
    uuid = setup(db, lambda s: add_instance(s).uuid)
    service.schedule(db, conf(), [uuid])
    service.reschedule(db, conf(), uuid, "a", "boom")
    assert faults(db, uuid)[0].message == (
        "No valid host was found. RetryFilter removed the last 1 host(s) (already tried a)")
    assert allocations(db) == {}


def test_explain_reports_survivors_and_weights_without_claiming(db):
    setup(db, lambda s: (add_node(s, "a", memory_mb=4096), add_node(s, "b")))
    spec = request.RequestSpec(instance_uuid="x", project_id="p", vcpus=1, memory_mb=6000,
                               disk_gb=1)
    out = service.explain(db, conf(), spec)
    ram = next(f for f in out["filters"] if f["name"] == "RamFilter")
    assert ram["removed"] == ["a"] and ram["survivors"] == ["b"]
    assert [w["host"] for w in out["weights"]] == ["b"]
    assert allocations(db) == {}


def test_concurrent_schedulers_hold_capacity_and_anti_affinity(any_db):
    db = any_db
    setup(db, lambda s: [add_node(s, f"h{k}", memory_mb=4096) for k in range(4)])
    grp = setup(db, lambda s: add_group(s, "anti-affinity"))
    members = setup(db, lambda s: add_members(s, grp, 6, as_api=True))
    others = setup(db, lambda s: [add_instance(s).uuid for _ in range(14)])
    work = members + others
    barrier = threading.Barrier(4)

    def worker(k):
        barrier.wait()
        service.schedule(db, conf(host_subset_size=2), work[k::4])

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        list(ex.map(worker, range(4)))
    # Also a second scheduler racing on the very same instances must not double-claim.
    service.schedule(db, conf(), work)
    placed_members = [inst_row(db, u).host for u in members]
    hosts = [h for h in placed_members if h]
    assert len(hosts) == len(set(hosts)) == 4            # one member per host, never two
    rows = [inst_row(db, u) for u in work]
    assert sum(r.host is not None for r in rows) == 16   # 4 hosts x 4 GB / 1 GB
    for r in rows:
        if r.host is None:
            assert r.vm_state == "error"
            assert faults(db, r.uuid)[0].message.startswith("No valid host was found. ")
        else:
            assert r.task_state == "spawning"
    assert len(allocations(db)) == 16
    assert_usage_matches_allocations(db)


def test_sweep_schedules_only_instances_stuck_in_scheduling(db):
    setup(db, lambda s: add_node(s, "a"))
    stale = setup(db, lambda s: add_instance(s, created_at=now() - dt.timedelta(minutes=5)).uuid)
    fresh = setup(db, lambda s: add_instance(s).uuid)
    assert scheduling.sweep(db, conf(), older_than=30) == 1
    assert inst_row(db, stale).host == "a"
    assert inst_row(db, fresh).host is None
    assert scheduling.sweep(db, conf(), older_than=30) == 0


def test_scheduling_controller_sweeps_until_stopped(db):
    setup(db, lambda s: add_node(s, "a"))
    uuid = setup(db, lambda s: add_instance(s).uuid)
    ctl = scheduling.SchedulingController(db, conf(), interval=0.05, older_than=0)
    ctl.start()
    try:
        deadline = time.monotonic() + 20
        while inst_row(db, uuid).host is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        ctl.stop()
    assert inst_row(db, uuid).host == "a"
    later = setup(db, lambda s: add_instance(s).uuid)
    time.sleep(0.3)                       # a stopped controller does not sweep any more
    assert inst_row(db, later).host is None


def test_real_hooks_bump_the_host_revision(db, monkeypatch):
    monkeypatch.undo()                   # use the packages' own bind_ports / bump
    if placement.optional_hook("stratus.compute.revision", "bump") is None or \
            placement.optional_hook("stratus.network.ports", "bind_ports") is None:
        pytest.skip("stratus.compute.revision.bump or stratus.network.ports.bind_ports "
                    "not available yet")
    node_id = setup(db, lambda s: add_node(s, "a").id)
    uuid = setup(db, lambda s: add_instance(s).uuid)
    service.schedule(db, conf(), [uuid])
    assert inst_row(db, uuid).host == "a"
    with db.session() as s:
        assert s.get(ComputeNode, node_id).revision == 1
