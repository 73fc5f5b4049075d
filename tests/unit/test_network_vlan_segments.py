"""VLAN segments as ML2's type_vlan validates and allocates them: ranges
parsing, 400 for bad provider requests, 409 for an id in use, lowest-free
allocation for tenant networks and 503 when the ranges are exhausted."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from stratus.common import errors
from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.network import networks
from stratus.network.vlan import lowest_free, parse_ranges


@pytest.fixture
def db(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/vlan.sqlite", 2)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


def make_conf(ranges="physnet1:100:102,physnet2,physnet3:200:200", tenant="vlan", mtu=1500):
    return Config(overrides={"network": {"network_vlan_ranges": ranges.split(","),
                                         "tenant_network_type": tenant,
                                         "global_physnet_mtu": mtu}})


def create(db, conf, **kw):
    with db.session() as s:
        net = networks.create_network(s, conf, project_id=kw.pop("project_id", "p"), **kw)
        return net.network_type, net.physical_network, net.segmentation_id, net.mtu


def test_ranges_parse_in_order_with_provider_only_physnets():
    assert parse_ranges(["physnet1:100:199", "physnet2", "physnet1:300:301"]) == {
        "physnet1": [(100, 199), (300, 301)], "physnet2": []}
    assert parse_ranges([]) == {}


@pytest.mark.parametrize("entry, words", [
    ("physnet1:100", "neither"), (":1:2", "neither"), ("p:a:b", "integers"),
    ("p:0:10", "1 <= first"), ("p:10:4095", "<= 4094"), ("p:20:10", "first <= last")])
def test_bad_ranges_name_the_entry(entry, words):
    with pytest.raises(ValueError, match=words):
        parse_ranges([entry])


def test_lowest_free_walks_ranges_in_configuration_order():
    ranges = {"a": [(5, 6)], "b": [], "c": [(1, 2)]}
    assert lowest_free(ranges, set()) == ("a", 5)
    assert lowest_free(ranges, {5, 6}) == ("c", 1)
    assert lowest_free(ranges, {5, 6, 1, 2}) is None
    assert lowest_free(ranges, set(), "c") == ("c", 1)
    assert lowest_free(ranges, set(), "b") is None


def test_provider_vlan_network_keeps_physnet_id_and_physnet_mtu(db):
    conf = make_conf(mtu=9000)
    assert create(db, conf, network_type="vlan", physical_network="physnet2",
                  segmentation_id=4094) == ("vlan", "physnet2", 4094, 9000)
    # a physnet with a range takes any id 1..4094 from an admin, not only its range
    assert create(db, conf, network_type="vlan", physical_network="physnet1",
                  segmentation_id=1)[2] == 1


def test_tenant_networks_get_the_lowest_free_vlan_then_503(db):
    conf = make_conf()
    got = [create(db, conf)[1:3] for _ in range(4)]
    assert got == [("physnet1", 100), ("physnet1", 101), ("physnet1", 102), ("physnet3", 200)]
    with pytest.raises(errors.ServiceUnavailable, match="No tenant network is available"):
        create(db, conf)


def test_provider_vlan_without_id_allocates_from_that_physnets_range(db):
    conf = make_conf()
    create(db, conf, network_type="vlan", physical_network="physnet1", segmentation_id=100)
    assert create(db, conf, network_type="vlan", physical_network="physnet1")[1:3] == \
        ("physnet1", 101)
    assert create(db, conf, network_type="vlan")[1:3] == ("physnet1", 102)
    assert create(db, conf, network_type="vlan", physical_network="physnet3")[1:3] == \
        ("physnet3", 200)
    with pytest.raises(errors.ServiceUnavailable, match="No tenant network"):
        create(db, conf, network_type="vlan", physical_network="physnet3")


@pytest.mark.parametrize("kw, words", [
    ({"physical_network": "nope", "segmentation_id": 5}, "physical_network 'nope' unknown"),
    ({"physical_network": "physnet2", "segmentation_id": 0}, r"out of range \(1 through 4094"),
    ({"physical_network": "physnet2", "segmentation_id": 4095}, "out of range"),
    ({"physical_network": "physnet2", "segmentation_id": True}, "out of range"),
    ({"segmentation_id": 10}, "requires physical_network"),
    ({"physical_network": "physnet2"}, "requires segmentation_id"),
])
def test_bad_provider_requests_are_400(db, kw, words):
    with pytest.raises(errors.BadRequest, match=words):
        create(db, make_conf(), network_type="vlan", **kw)
    with db.session() as s:
        assert s.query(networks.m.Network).count() == 0


def test_mtu_limit_is_the_physnet_mtu(db):
    conf = make_conf(mtu=1500)
    with pytest.raises(errors.BadRequest, match="outside 68 through 1500"):
        create(db, conf, network_type="vlan", physical_network="physnet2",
               segmentation_id=7, mtu=1501)
    assert create(db, conf, network_type="vlan", physical_network="physnet2",
                  segmentation_id=7, mtu=1400)[3] == 1400


def test_a_vlan_in_use_is_409_naming_the_physnet(db):
    conf = make_conf()
    create(db, conf, network_type="vlan", physical_network="physnet2", segmentation_id=42)
    with pytest.raises(errors.Conflict, match="VLAN 42 on physical network physnet2 is in use"):
        create(db, conf, network_type="vlan", physical_network="physnet2", segmentation_id=42)
    # the schema keeps segmentation ids unique per type: another physnet is a clear 409 too
    with pytest.raises(errors.Conflict, match="in use on physical network physnet2.*unique"):
        create(db, conf, network_type="vlan", physical_network="physnet1", segmentation_id=42)
    # ... and the allocator skips ids taken on any physnet
    create(db, conf, network_type="vlan", physical_network="physnet2", segmentation_id=100)
    assert create(db, conf)[1:3] == ("physnet1", 101)
    # VXLAN VNIs and VLAN ids are separate spaces
    assert create(db, conf, network_type="vxlan", segmentation_id=42)[2] == 42


def test_misconfigured_ranges_are_503_naming_the_option(db):
    with pytest.raises(errors.ServiceUnavailable, match="network_vlan_ranges"):
        create(db, make_conf(ranges="physnet1:9"), network_type="vlan")


def test_a_picked_vlan_taken_concurrently_is_replaced(db):
    conf = make_conf()
    with db.session() as s:
        fired = []

        def before_flush(sess, _ctx, _instances):
            if not fired:
                fired.append(True)
                with db.session() as other:
                    networks.create_network(other, conf, project_id="other",
                                            network_type="vlan", physical_network="physnet1",
                                            segmentation_id=100)
        event.listen(s, "before_flush", before_flush)
        net = networks.create_network(s, conf, project_id="p")
        assert fired and (net.physical_network, net.segmentation_id) == ("physnet1", 101)


def test_flat_and_vxlan_unchanged(db):
    conf = make_conf(tenant="vxlan")
    assert create(db, conf)[0] == "vxlan"
    assert create(db, conf, network_type="flat", physical_network="physnet9")[:3] == \
        ("flat", "physnet9", None)
    with pytest.raises(errors.BadRequest, match="supported: flat, vlan, vxlan"):
        create(db, conf, network_type="gre")


def test_each_host_knows_the_other_hosts_ports_of_its_vlan_networks(db):
    """DHCP on a VLAN network: every host's dnsmasq gets every port (the
    agent state's ``vlan_ports``), as l2pop gives VXLAN networks."""
    from stratus.dataplane.plan import Observed, plan
    from stratus.network import ports, subnets
    conf = make_conf()
    Port = networks.m.Port
    with db.session() as s:
        net = networks.create_network(s, conf, project_id="p", network_type="vlan",
                                      physical_network="physnet2", segmentation_id=300)
        vx = networks.create_network(s, make_conf(tenant="vxlan"), project_id="p")
        for n in (net, vx):
            subnets.create_subnet(s, n, project_id="p", cidr="10.9.0.0/24")
        for device, on, n in (("vm1", "h1", net), ("vm2", "h2", net), ("vm3", "h2", vx)):
            ports.create_port(s, network_id=n.id, project_id="p", device_id=device,
                              device_owner="compute:nova")
            ports.bind_ports(s, device, on)     # each host also gets a DHCP port
        st = ports.host_network_state(s, "h1")
        on_h2 = {p.mac_address: p for p in s.query(Port).filter(Port.network_id == net.id,
                                                               Port.host_id == "h2")}
        assert len(on_h2) == 2 and set(st["vlan_ports"]) == {net.id}     # not the VXLAN one
        remote = st["vlan_ports"][net.id]
        assert {r["mac"] for r in remote} == set(on_h2)
        for r in remote:
            want = ports.allocations(s, [on_h2[r["mac"]].id])[on_h2[r["mac"]].id]
            assert [f["ip_address"] for f in r["fixed_ips"]] == [a.ip_address for a in want]
        actions = plan(st, Observed(), lambda nid: "qdhcp-" + nid[:8])
        served = next(a for a in actions if a.op == "ensure_dhcp").args["ports"]
        assert set(on_h2) <= {p["mac_address"] for p in served}
        assert ports.host_network_state(s, "h2")["vlan_ports"][net.id][0]["mac"] in {
            p.mac_address for p in s.query(Port).filter(Port.network_id == net.id,
                                                        Port.host_id == "h1")}
