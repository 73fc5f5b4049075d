"""Compute domain logic on a real (SQLite) database: host revision bumps,
instance action records and events, deleting a server that is on no host
(ports, claim and metadata freed), building rows, and console log tails."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stratus.api.compute.server_actions import read_tail
from stratus.common.config import Config
from stratus.compute import actions, revision
from stratus.compute import servers as domain
from stratus.compute import states as st
from stratus.db.base import Base, Database
from stratus.db.models import compute as cm
from stratus.db.models import network as nm
from stratus.network import networks, ports, subnets


@pytest.fixture
def s(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/c.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        yield session
    db.dispose()


class Ctx:
    request_id = "req-1"
    user_id = "u1"
    project_id = "p1"
    is_admin = False


def spec(**kw) -> domain.BuildSpec:
    base = dict(project_id="p1", user_id="u1",
                flavor={"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1,
                        "ephemeral": 0, "swap": 0, "extra_specs": {}},
                image_ref="img", requested_az=None, key_name=None, key_data=None,
                user_data=None, config_drive=True, access_ip_v4=None, access_ip_v6=None,
                requested_networks=None, request_spec={"security_groups": ["default"]},
                reservation_id="r-1")
    base.update(kw)
    return domain.BuildSpec(**base)


def node(s, host="h1"):
    n = cm.ComputeNode(uuid="n-" + host, host=host, service_id=hash(host) % 100000)
    s.add(n)
    s.flush()
    return n


def test_revision_bump_is_per_host_and_ignores_unknown_hosts(s):
    node(s, "h1")
    node(s, "h2")
    assert revision.bump(s, "h1") == 1
    assert revision.bump(s, "h1") == 2
    assert revision.current(s, "h2") == 0
    assert revision.bump(s, None) is None
    assert revision.bump(s, "nowhere") is None


def test_new_instance_row_is_building_and_scheduling(s):
    i = domain.new_instance(spec(), "uuid-1", "vm", "vm", 0)
    s.add(i)
    s.flush()
    assert (i.vm_state, i.task_state, i.power_state) == (st.BUILDING, st.SCHEDULING, 0)
    assert (i.vcpus, i.memory_mb, i.root_gb, i.flavor_id) == (1, 512, 1, "1")
    assert i.deleted == 0 and i.action_seq == 0


def test_actions_record_events_and_finish(s):
    i = domain.new_instance(spec(), "uuid-1", "vm", "vm", 0)
    s.add(i)
    s.flush()
    actions.record(s, Ctx(), "uuid-1", "create")
    ev = actions.start_event(s, "uuid-1", "req-1", "compute__do_build_and_run_instance", "h1")
    assert ev is not None and ev.finish_time is None
    actions.finish_event(s, "uuid-1", "req-1", "compute__do_build_and_run_instance")
    a = actions.finish(s, "uuid-1", None, actions.ERROR, "boom")
    assert a.finish_time is not None and a.message == "boom"
    (e,) = actions.events_of(s, a.id)
    assert e.result == actions.SUCCESS and e.finish_time is not None
    # An event finished without having been started is created on the fly.
    ctx = Ctx()
    ctx.request_id = "req-2"
    actions.record(s, ctx, "uuid-1", "stop")
    actions.finish_event(s, "uuid-1", None, "compute_stop_instance", actions.SUCCESS)
    assert [x.action for x in actions.list_for(s, "uuid-1")] == ["stop", "create"]
    assert actions.finish(s, "uuid-x", None) is None


def test_delete_without_host_frees_ports_claim_and_metadata(s):
    conf = Config(overrides={"network": {"vni_ranges": "5:7"}})
    net = networks.create_network(s, conf, project_id="p1", name="private")
    subnets.create_subnet(s, net, project_id="p1", cidr="10.9.0.0/29")
    i = domain.new_instance(spec(), "uuid-1", "vm", "vm", 0)
    s.add(i)
    s.flush()
    s.add(cm.InstanceMetadata(instance_uuid="uuid-1", key="a", value="b"))
    ports.create_port(s, network_id=net.id, project_id="p1", device_id="uuid-1",
                      device_owner="compute:nova")
    assert domain.request_delete(s, i) is True
    s.flush()
    assert i.vm_state == st.DELETED and i.deleted == i.id and i.terminated_at is not None
    assert s.scalar(select(func.count()).select_from(nm.Port)
                    .where(nm.Port.device_id == "uuid-1")) == 0
    assert s.scalar(select(func.count()).select_from(cm.InstanceMetadata)) == 0


def test_delete_on_a_host_bumps_its_revision(s):
    node(s, "h1")
    i = domain.new_instance(spec(), "uuid-2", "vm", "vm", 0)
    s.add(i)
    s.flush()
    i.host, i.vm_state, i.task_state = "h1", st.ACTIVE, None
    assert domain.request_delete(s, i) is False
    assert i.task_state == st.DELETING and i.deleted == 0
    assert revision.current(s, "h1") == 1


def test_action_bumps_seq_and_revision(s):
    node(s, "h1")
    i = domain.new_instance(spec(), "uuid-3", "vm", "vm", 0)
    s.add(i)
    s.flush()
    i.host, i.vm_state, i.task_state = "h1", st.ACTIVE, None
    domain.apply(s, i, "reboot")
    assert (i.task_state, i.action_seq, revision.current(s, "h1")) == (st.REBOOTING, 1, 1)


def test_console_tail(tmp_path):
    log = tmp_path / "console.log"
    assert read_tail(str(log), 5) == ""
    log.write_bytes(b"one\ntwo\nthree\nready \xff\n")
    # nova's _tail_log: the final newline ends an empty last "line"
    assert read_tail(str(log), 2) == "ready \ufffd\n"
    assert read_tail(str(log), 3) == "three\nready \ufffd\n"
    assert read_tail(str(log), None).startswith("one\n")
    assert read_tail(str(log), -1).count("\n") == 4
    assert read_tail(str(log), 0) == ""
