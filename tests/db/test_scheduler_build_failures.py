"""failed_builds on a real database: a reschedule away from a host counts a
failure there, a successful build resets it, BuildFailureWeigher then keeps
new instances off the failing host; ECU/bandwidth/image properties reach the
scheduler through the instance row (request.from_instance, load_hosts)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler_db import add_aggregate, add_instance, add_node, make_db_url
from stratus.common.config import Config
from stratus.db.base import Database
from stratus.db.models.compute import ComputeNode, Instance, InstanceFault
from stratus.scheduler import build_failures, placement, request, service, state_loader


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


def conf(**fs):
    return Config(overrides={"filter_scheduler": fs, "compute": {"service_down_time": 60}})


def failed(db) -> dict[str, int]:
    with db.session() as s:
        return {n.host: n.failed_builds for n in s.scalars(select(ComputeNode))}


def host_of(db, uuid):
    with db.session() as s:
        return s.scalar(select(Instance.host).where(Instance.uuid == uuid))


def test_reschedule_counts_success_resets_and_the_weigher_avoids(db):
    with db.session() as s:
        add_node(s, "a", memory_mb=16384)          # RAMWeigher's favourite
        add_node(s, "b")
        uuid = add_instance(s).uuid
    c = conf(weight_classes=["RAMWeigher", "BuildFailureWeigher"], max_attempts=5)
    service.schedule(db, c, [uuid])
    assert host_of(db, uuid) == "a"
    service.reschedule(db, c, uuid, "a", "qemu died")
    assert failed(db) == {"a": 1, "b": 0}
    assert host_of(db, uuid) == "b"
    # A new instance avoids "a" although it has the most free RAM.
    with db.session() as s:
        other = add_instance(s).uuid
    service.schedule(db, c, [other])
    assert host_of(db, other) == "b"
    with db.session() as s:
        build_failures.record_success(s, "a")
        build_failures.record_success(s, None)       # no host: nothing
        build_failures.record_failure(s, "unknown")  # unknown host: nothing
    assert failed(db) == {"a": 0, "b": 0}


def test_reschedule_without_failed_host_counts_nothing(db):
    with db.session() as s:
        add_node(s, "a")
        uuid = add_instance(s).uuid
    service.schedule(db, conf(), [uuid])
    service.reschedule(db, conf(), uuid, None, "lost")
    assert failed(db) == {"a": 0}


def test_ecu_and_bandwidth_filters_on_loaded_hosts(db):
    specs = {"stratus:bandwidth_mbps": "400", "stratus:ecus_per_vcpu": "2"}
    with db.session() as s:
        add_node(s, "small", bandwidth_mbps=300, ecu=16)
        add_node(s, "agg", ecu=16)                       # bandwidth from its aggregate
        add_node(s, "noecu", bandwidth_mbps=1000)
        add_aggregate(s, "fast", ["agg"], {"bandwidth_mbps": "1000"})
        uuids = [add_instance(s, vcpus=2).uuid for _ in range(3)]
        for inst in s.scalars(select(Instance).where(Instance.uuid.in_(uuids))):
            inst.flavor = {"name": "bw", "swap": 0, "extra_specs": specs}
    c = conf(enabled_filters=["ComputeFilter", "EcuFilter", "BandwidthFilter"])
    service.schedule(db, c, uuids)
    hosts = [host_of(db, u) for u in uuids]
    assert hosts[:2] == ["agg", "agg"] and hosts[2] is None
    with db.session() as s:
        node = s.scalar(select(ComputeNode).where(ComputeNode.host == "agg"))
        assert (node.ecu_used, node.bandwidth_kbps_used) == (8, 800_000)
        fault = s.scalar(select(InstanceFault).where(InstanceFault.instance_uuid == uuids[2]))
        assert fault.message.startswith("No valid host was found. BandwidthFilter removed "
                                        "the last 2 host(s) (needs 400 Mbit/s")


def test_image_props_reach_the_request_spec_and_filter(db):
    with db.session() as s:
        add_node(s, "x86", stats={"supported_instances": [["x86_64", "qemu", "hvm"]]},
                 hypervisor_version=7002000, host_ip="10.0.0.5")
        add_node(s, "arm", stats={"supported_instances": [["aarch64", "qemu", "hvm"]]})
        uuid = add_instance(s).uuid
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        inst.request_spec = {"scheduler_hints": {},
                             "image_props": {"hw_architecture": "aarch64",
                                             "img_hv_requested_version": ">=1.0"}}
    with db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid))
        spec = request.from_instance(inst)
        assert dict(spec.image_props) == {"hw_architecture": "aarch64",
                                          "img_hv_requested_version": ">=1.0"}
        loaded = {h.host: h for h in state_loader.load_hosts(s, conf())}
        assert loaded["x86"].hypervisor_version == 7002000
        assert loaded["x86"].host_ip == "10.0.0.5"
    service.schedule(db, conf(enabled_filters=["ImagePropertiesFilter"]), [uuid])
    assert host_of(db, uuid) == "arm"
