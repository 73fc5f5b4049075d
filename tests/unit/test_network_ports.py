"""The network contract functions on an in-memory database: ports, binding
with DHCP ports, addresses for compute, host state for the agent, the demo
network, and the errors compute relies on."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models import network as m
from stratus.network import exceptions as exc
from stratus.network import networks, ports, subnets


@pytest.fixture
def conf():
    return Config(overrides={"network": {"vni_ranges": "5:7"}})


@pytest.fixture
def db(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/net.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def s(db):
    with db.session() as session:
        yield session


def make_net(s, conf, cidr="10.1.0.0/29", project="p1", **kw):
    net = networks.create_network(s, conf, project_id=project, name="n-" + cidr)
    sub = subnets.create_subnet(s, net, project_id=project, cidr=cidr, **kw)
    return net, sub


def test_vni_allocation_and_exhaustion(s, conf):
    vnis = [networks.create_network(s, conf, project_id="p").segmentation_id for _ in range(3)]
    assert vnis == [5, 6, 7]
    with pytest.raises(exc.NoNetworkAvailable):
        networks.create_network(s, conf, project_id="p")


def test_mtu_and_flat(s, conf):
    vx = networks.create_network(s, conf, project_id="p")
    assert vx.mtu == 1450 and vx.network_type == "vxlan"
    flat = networks.create_network(s, conf, project_id="p", network_type="flat",
                                   physical_network="ext")
    assert flat.mtu == 1500 and flat.segmentation_id is None
    with pytest.raises(exc.errors.Conflict):
        networks.create_network(s, conf, project_id="p", network_type="flat",
                                physical_network="ext")
    with pytest.raises(exc.InvalidInput):
        networks.create_network(s, conf, project_id="p", mtu=9000)
    with pytest.raises(exc.InvalidInput):
        networks.create_network(s, conf, project_id="p", network_type="gre")


def test_create_port_allocates_sequentially_and_exhausts(s, conf):
    net, sub = make_net(s, conf)   # /29: hosts .1-.6, gateway .1 -> pool .2-.6
    got = [ports.create_port(s, network_id=net.id, project_id="p1", device_id="vm",
                             device_owner="compute:nova")["fixed_ips"][0]["ip_address"]
           for _ in range(5)]
    assert got == [f"10.1.0.{i}" for i in range(2, 7)]
    with pytest.raises(exc.IpAddressGenerationFailure):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="vm",
                          device_owner="compute:nova")


def test_specific_ip_errors(s, conf):
    net, sub = make_net(s, conf)
    p = ports.create_port(s, network_id=net.id, project_id="p1", device_id="d",
                          device_owner="", fixed_ips=[{"ip_address": "10.1.0.5"}])
    assert p["fixed_ips"] == [{"subnet_id": sub.id, "ip_address": "10.1.0.5"}]
    assert p["mac_address"].startswith("fa:16:3e:") and len(p["mac_address"]) == 17
    with pytest.raises(exc.IpAddressAlreadyAllocated):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="d",
                          device_owner="", fixed_ips=[{"ip_address": "10.1.0.5"}])
    with pytest.raises(exc.InvalidIpForSubnet):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="d",
                          device_owner="", fixed_ips=[{"ip_address": "10.9.0.5"}])
    with pytest.raises(exc.InvalidInput):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="d",
                          device_owner="", fixed_ips=[{"subnet_id": "nope"}])
    with pytest.raises(exc.MacAddressInUse):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="d",
                          device_owner="", mac=p["mac_address"])


def test_bind_creates_one_dhcp_port_per_host_and_delete_cleans_it(s, conf):
    net, sub = make_net(s, conf, cidr="10.2.0.0/24")
    for dev in ("vm1", "vm2"):
        ports.create_port(s, network_id=net.id, project_id="p1", device_id=dev,
                          device_owner="compute:nova")
        ports.bind_ports(s, dev, "h1")
    state = ports.host_network_state(s, "h1")
    assert [n["id"] for n in state["networks"]] == [net.id]
    assert state["networks"][0]["subnets"][0]["cidr"] == "10.2.0.0/24"
    owners = sorted(p["device_owner"] for p in state["ports"])
    assert owners == ["compute:nova", "compute:nova", "network:dhcp"]
    assert all(p["tap"] == "tap" + p["id"][:11] for p in state["ports"])
    ports.delete_ports_for_device(s, "vm1")
    assert len(ports.host_network_state(s, "h1")["ports"]) == 2
    ports.delete_ports_for_device(s, "vm2")
    empty = ports.host_network_state(s, "h1")
    assert empty["networks"] == [] and empty["ports"] == []
    assert s.scalar(select(func.count()).select_from(m.IPAllocation)) == 0


def test_addresses_for_many_devices(s, conf):
    net, _ = make_net(s, conf, cidr="10.3.0.0/24")
    a = ports.create_port(s, network_id=net.id, project_id="p1", device_id="a",
                          device_owner="compute:nova")
    out = ports.addresses_for(s, ["a", "b"])
    assert out == {"a": {net.name: [{"version": 4, "addr": a["fixed_ips"][0]["ip_address"],
                                     "OS-EXT-IPS:type": "fixed",
                                     "OS-EXT-IPS-MAC:mac_addr": a["mac_address"]}]}, "b": {}}


def test_in_use_checks(s, conf):
    net, sub = make_net(s, conf, cidr="10.4.0.0/24")
    ports.create_port(s, network_id=net.id, project_id="p1", device_id="a",
                      device_owner="compute:nova")
    ports.bind_ports(s, "a", "h1")
    with pytest.raises(exc.NetworkInUse):
        networks.delete_network(s, net)
    with pytest.raises(exc.SubnetInUse):
        subnets.delete_subnet(s, sub)
    ports.delete_ports_for_device(s, "a")
    networks.delete_network(s, net)
    assert s.get(m.Network, net.id) is None


def test_visibility(s, conf):
    own = networks.create_network(s, conf, project_id="p1")
    shared = networks.create_network(s, conf, project_id="p2", shared=True)
    other = networks.create_network(s, conf, project_id="p2")
    assert ports.network_visible(s, own.id, "p1") is own
    assert ports.network_visible(s, shared.id, "p1") is shared
    assert ports.network_visible(s, other.id, "p1") is None
    assert ports.network_visible(s, other.id, "p1", is_admin=True) is other


def test_ensure_private_network_idempotent(s, conf):
    ports.ensure_private_network(s, conf, "demo")
    ports.ensure_private_network(s, conf, "demo")
    nets = list(s.scalars(select(m.Network).where(m.Network.project_id == "demo")))
    assert [n.name for n in nets] == ["private"]
    sub = s.scalar(select(m.Subnet).where(m.Subnet.network_id == nets[0].id))
    assert (sub.name, sub.cidr, sub.gateway_ip) == ("private-subnet", "10.0.0.0/26", "10.0.0.1")


def test_new_subnet_gives_existing_dhcp_ports_an_address(s, conf):
    net, sub = make_net(s, conf, cidr="10.5.0.0/24")
    ports.create_port(s, network_id=net.id, project_id="p1", device_id="a",
                      device_owner="compute:nova")
    ports.bind_ports(s, "a", "h1")
    sub2 = subnets.create_subnet(s, net, project_id="p1", cidr="10.6.0.0/24")
    dhcp = [p for p in ports.host_network_state(s, "h1")["ports"]
            if p["device_owner"] == "network:dhcp"][0]
    assert {f["subnet_id"] for f in dhcp["fixed_ips"]} == {sub.id, sub2.id}
    with pytest.raises(exc.InvalidInput):
        subnets.create_subnet(s, net, project_id="p1", cidr="10.6.0.128/25")


def test_failed_create_leaves_nothing_behind(db, conf):
    with db.session() as s:
        net, _ = make_net(s, conf, cidr="10.7.0.0/30")   # one address: .2
        ports.create_port(s, network_id=net.id, project_id="p1", device_id="a",
                          device_owner="")
    for fixed in (None, [{"ip_address": "10.7.0.2"}]):
        with pytest.raises((exc.IpAddressGenerationFailure, exc.IpAddressAlreadyAllocated)):
            with db.session() as s:
                ports.create_port(s, network_id=net.id, project_id="p1", device_id="b",
                                  device_owner="", fixed_ips=fixed)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Port)) == 1


def test_update_fixed_ips_keeps_listed_and_releases_the_rest(s, conf):
    net, sub = make_net(s, conf, cidr="10.8.0.0/24")
    p = ports.create_port(s, network_id=net.id, project_id="p1", device_id="a",
                          device_owner="", fixed_ips=[{"ip_address": "10.8.0.10"},
                                                      {"ip_address": "10.8.0.11"}])
    row = s.get(m.Port, p["id"])
    ports.update_fixed_ips(s, row, [{"ip_address": "10.8.0.11"}, {"ip_address": "10.8.0.12"}])
    got = sorted(a.ip_address for a in ports.allocations(s, [row.id])[row.id])
    assert got == ["10.8.0.11", "10.8.0.12"]
