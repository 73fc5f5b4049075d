"""l2population on a database: what each host learns about the other hosts'
ports on its VXLAN networks, and which hosts are told when a port moves."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models.compute import ComputeNode
from stratus.network import networks, notify, ports, subnets

_ids = itertools.count(1)


@pytest.fixture
def s(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/l2.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        yield session
    db.dispose()


@pytest.fixture
def conf():
    return Config(overrides={"network": {"vni_ranges": "100:200"}})


def host(s, name, tunnel_ip):
    n = next(_ids)
    s.add(ComputeNode(uuid=f"u{n}", host=name, service_id=n, tunnel_ip=tunnel_ip))
    s.flush()


def vm_port(s, net, device, on):
    ports.create_port(s, network_id=net.id, project_id="p", device_id=device,
                      device_owner="compute:nova")
    ports.bind_ports(s, device, on)


def revision(s, name):
    return s.scalar(select(ComputeNode.revision).where(ComputeNode.host == name))


def test_each_host_learns_the_other_hosts_ports(s, conf):
    host(s, "h1", "10.0.0.1"), host(s, "h2", "10.0.0.2"), host(s, "h3", None)
    net = networks.create_network(s, conf, project_id="p")
    subnets.create_subnet(s, net, project_id="p", cidr="10.9.0.0/24")
    other = networks.create_network(s, conf, project_id="p")
    subnets.create_subnet(s, other, project_id="p", cidr="10.9.0.0/24")
    vm_port(s, net, "vm1", "h1")
    vm_port(s, net, "vm2", "h2")
    vm_port(s, net, "vm3", "h3")            # a host without a tunnel endpoint
    vm_port(s, other, "vm4", "h2")          # another network: not h1's business

    st = ports.host_network_state(s, "h1")
    t = st["tunnels"]
    assert t["local_ip"] == "10.0.0.1" and set(t["networks"]) == {net.id}
    seen = t["networks"][net.id]
    assert seen["vni"] == net.segmentation_id and seen["peers"] == ["10.0.0.2"]
    # h2's VM and h2's DHCP port, each with its address and subnet
    assert len(seen["remote_ports"]) == 2
    assert {p["vtep"] for p in seen["remote_ports"]} == {"10.0.0.2"}
    for p in seen["remote_ports"]:
        assert p["ips"] and p["fixed_ips"][0]["ip_address"] == p["ips"][0]

    # h3 has no endpoint: it takes part in no tunnels
    assert ports.host_network_state(s, "h3")["tunnels"]["networks"] == {}


def test_binding_and_deleting_a_port_bumps_every_host_on_the_network(s, conf):
    host(s, "h1", "10.0.0.1"), host(s, "h2", "10.0.0.2"), host(s, "h4", "10.0.0.4")
    net = networks.create_network(s, conf, project_id="p")
    subnets.create_subnet(s, net, project_id="p", cidr="10.9.1.0/24")
    vm_port(s, net, "vm1", "h1")
    r1, r4 = revision(s, "h1"), revision(s, "h4")
    vm_port(s, net, "vm2", "h2")
    assert revision(s, "h1") > r1            # h1 must program vm2's entries
    assert revision(s, "h4") == r4           # h4 carries nothing of this network
    r1, r2 = revision(s, "h1"), revision(s, "h2")
    ports.delete_ports_for_device(s, "vm2")
    assert revision(s, "h1") > r1 and revision(s, "h2") > r2
    assert notify.hosts_of_networks(s, [net.id]) == {"h1"}
