"""The L3 domain on a real (SQLite) database: placement of routers, gateway,
interfaces, routes and floating IPs with neutron's errors, and the
``routers`` the host agent converges to."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from stratus.common.config import Config
from stratus.db.base import Base, Database
from stratus.db.models import network as m
from stratus.db.models.compute import ComputeNode
from stratus.db.models.router import FloatingIP, Router
from stratus.network import bootstrap, floating_ips, l3_errors as l3, networks, ports, routers
from stratus.network import exceptions as exc
from stratus.network import subnets


@pytest.fixture
def conf():
    return Config(overrides={"network": {"vni_ranges": "5:9"}})


@pytest.fixture
def s(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/l3.sqlite", 1)
    import stratus.db.models  # noqa: F401
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        yield session
    db.dispose()


def node(s, host, seen=0, disabled=False):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    n = ComputeNode(uuid=host, host=host, service_id=abs(hash(host)) % 10 ** 6,
                    disabled=disabled, last_seen_up=now - dt.timedelta(seconds=seen))
    s.add(n)
    s.flush()
    return n


def ext_net(s, conf, cidr="172.24.4.0/24", pool=("172.24.4.10", "172.24.4.250"), phys="public"):
    net = networks.create_network(s, conf, project_id="admin", name="pub-" + cidr,
                                  external=True, network_type="flat", physical_network=phys)
    sub = subnets.create_subnet(s, net, project_id="admin", cidr=cidr, enable_dhcp=False,
                                allocation_pools=[{"start": pool[0], "end": pool[1]}])
    return net, sub


def int_net(s, conf, cidr="10.0.0.0/24", project="p1", **kw):
    net = networks.create_network(s, conf, project_id=project, name="n-" + cidr)
    return net, subnets.create_subnet(s, net, project_id=project, cidr=cidr, **kw)


def test_placement_is_deterministic_among_up_hosts(s, conf):
    assert routers.pick_host(s, conf) is None
    node(s, "b")
    node(s, "a")
    node(s, "down", seen=3600)
    node(s, "off", disabled=True)
    r1 = routers.create_router(s, conf, project_id="p1")
    r2 = routers.create_router(s, conf, project_id="p1")
    assert (r1.host, r2.host) == ("a", "b")     # fewest routers, then by name
    assert s.scalar(select(ComputeNode.revision).where(ComputeNode.host == "a")) >= 1


def test_unplaced_router_is_placed_with_its_ports(s, conf):
    ext, _ = ext_net(s, conf)
    _, sub = int_net(s, conf)
    r = routers.create_router(s, conf, project_id="p1", gateway={"network_id": ext.id},
                              is_admin=True)
    routers.add_interface(s, r, subnet=sub)
    assert r.host is None
    assert routers.place_unplaced(s, conf) == 0
    node(s, "h1")
    assert routers.place_unplaced(s, conf) == 1
    assert r.host == "h1"
    assert {p.host_id for p in routers.router_ports(s, r.id)} == {"h1"}


def test_interfaces_and_their_errors(s, conf):
    node(s, "h1")
    _, sub = int_net(s, conf)
    _, nogw = int_net(s, conf, "10.1.0.0/24", gateway_ip=None)
    _, overlap = int_net(s, conf, "10.0.0.0/16")
    r = routers.create_router(s, conf, project_id="p1")
    with pytest.raises(l3.BadRequest, match="must have a gateway IP"):
        routers.add_interface(s, r, subnet=nogw)
    info = routers.add_interface(s, r, subnet=sub)
    assert info["subnet_ids"] == [sub.id] and info["id"] == r.id
    port = s.get(m.Port, info["port_id"])
    assert (port.device_owner, port.host_id) == (routers.ROUTER_INTERFACE, "h1")
    assert [a.ip_address for a in ports.allocations(s, [port.id])[port.id]] == ["10.0.0.1"]
    with pytest.raises(l3.BadRequest, match="already has a port on subnet"):
        routers.add_interface(s, r, subnet=sub)
    with pytest.raises(l3.BadRequest, match="overlaps"):
        routers.add_interface(s, r, subnet=overlap)
    other = routers.create_router(s, conf, project_id="p1")
    with pytest.raises(l3.IpAddressInUse):
        routers.add_interface(s, other, subnet=sub)
    with pytest.raises(l3.RouterInUse):
        routers.delete_router(s, r)
    with pytest.raises(l3.RouterInterfaceNotFound):
        routers.remove_interface(s, r, port_id="nope")
    with pytest.raises(l3.RouterInterfaceNotFoundForSubnet):
        routers.remove_interface(s, r, subnet_id=nogw.id)
    routers.remove_interface(s, r, subnet_id=sub.id)
    assert s.get(m.Port, info["port_id"]) is None
    routers.delete_router(s, r)


def test_interface_by_port(s, conf):
    net, sub = int_net(s, conf)
    r = routers.create_router(s, conf, project_id="p1")
    used = ports.new_port(s, network_id=net.id, project_id="p1", device_id="vm1",
                          device_owner="compute:nova")
    with pytest.raises(l3.PortInUse):
        routers.add_interface(s, r, port=used)
    free = ports.new_port(s, network_id=net.id, project_id="p1")
    info = routers.add_interface(s, r, port=free)
    assert info["port_id"] == free.id and free.device_owner == routers.ROUTER_INTERFACE


def test_gateway_snat_and_routes(s, conf):
    ext, esub = ext_net(s, conf)
    net, sub = int_net(s, conf)
    r = routers.create_router(s, conf, project_id="p1")
    with pytest.raises(l3.BadRequest, match="not an external network"):
        routers.set_gateway(s, r, {"network_id": net.id}, is_admin=True)
    with pytest.raises(exc.errors.Forbidden):
        routers.set_gateway(s, r, {"network_id": ext.id, "enable_snat": False}, is_admin=False)
    routers.set_gateway(s, r, {"network_id": ext.id, "enable_snat": False,
                               "external_fixed_ips": [{"ip_address": "172.24.4.100"}]},
                        is_admin=True)
    gw = routers.gateway_port(s, r)
    assert gw.project_id == "" and r.enable_snat is False
    assert [a.ip_address for a in ports.allocations(s, [gw.id])[gw.id]] == ["172.24.4.100"]
    routers.add_interface(s, r, subnet=sub)
    routers.set_routes(s, r, [{"destination": "192.0.2.0/24", "nexthop": "10.0.0.9"},
                              {"destination": "192.0.2.0/24", "nexthop": "10.0.0.9"}])
    assert r.routes == [{"destination": "192.0.2.0/24", "nexthop": "10.0.0.9"}]
    with pytest.raises(l3.InvalidRoutes, match="not connected"):
        routers.set_routes(s, r, [{"destination": "0.0.0.0/0", "nexthop": "10.9.0.1"}])
    with pytest.raises(l3.InvalidRoutes, match="used by router"):
        routers.set_routes(s, r, [{"destination": "1.0.0.0/8", "nexthop": "10.0.0.1"}])
    with pytest.raises(l3.RouterInterfaceInUseByRoute):
        routers.remove_interface(s, r, subnet_id=sub.id)
    routers.set_gateway(s, r, None, is_admin=False)
    assert r.gw_port_id is None and s.get(m.Port, gw.id) is None


def _fip_setup(s, conf, pool=("172.24.4.10", "172.24.4.250")):
    node(s, "h1")
    ext, _ = ext_net(s, conf, pool=pool)
    net, sub = int_net(s, conf)
    r = routers.create_router(s, conf, project_id="p1", gateway={"network_id": ext.id})
    routers.add_interface(s, r, subnet=sub)
    vm = ports.new_port(s, network_id=net.id, project_id="p1", device_id="vm",
                        device_owner="compute:nova", host_id="h1")
    return ext, net, sub, r, vm


def test_floating_ip_association_and_errors(s, conf):
    ext, net, sub, r, vm = _fip_setup(s, conf)
    fip = floating_ips.create(s, project_id="p1", network_id=ext.id, port=vm)
    assert (fip.router_id, fip.fixed_port_id, fip.status) == (r.id, vm.id, "ACTIVE")
    assert fip.fixed_ip_address == ports.allocations(s, [vm.id])[vm.id][0].ip_address
    with pytest.raises(l3.FloatingIPPortAlreadyAssociated):
        floating_ips.create(s, project_id="p1", network_id=ext.id, port=vm)
    with pytest.raises(l3.RouterInterfaceInUseByFloatingIP):
        routers.remove_interface(s, r, subnet_id=sub.id)
    with pytest.raises(l3.RouterExternalGatewayInUseByFloatingIp):
        routers.set_gateway(s, r, None, is_admin=True)
    with pytest.raises(l3.BadRequest, match="does not have fixed ip"):
        floating_ips.associate(s, fip, vm, "10.0.0.200")
    lone_net, lone = int_net(s, conf, "10.5.0.0/24")
    lone_vm = ports.new_port(s, network_id=lone_net.id, project_id="p1")
    with pytest.raises(l3.ExternalGatewayForFloatingIPNotFound):
        floating_ips.associate(s, fip, lone_vm)
    assert fip.fixed_port_id == vm.id         # unchanged by the failed association
    with pytest.raises(l3.BadRequest, match="not a valid external network"):
        floating_ips.create(s, project_id="p1", network_id=net.id)
    ports.delete_ports(s, [vm])                # the port goes: the FIP stays, unassociated
    assert (fip.fixed_port_id, fip.router_id, fip.status) == (None, None, "DOWN")
    fport = fip.floating_port_id
    floating_ips.release(s, fip)
    assert s.get(m.Port, fport) is None and s.get(FloatingIP, fip.id) is None


def test_pool_exhaustion(s, conf):
    ext, *_ = _fip_setup(s, conf, pool=("172.24.4.10", "172.24.4.11"))
    floating_ips.create(s, project_id="p1", network_id=ext.id)   # .10 is the gateway's
    with pytest.raises(exc.IpAddressGenerationFailure):
        floating_ips.create(s, project_id="p1", network_id=ext.id)


def test_host_state_has_routers_and_not_their_ports(s, conf):
    ext, net, sub, r, vm = _fip_setup(s, conf)
    fip = floating_ips.create(s, project_id="p1", network_id=ext.id, port=vm)
    state = ports.host_network_state(s, "h1")
    assert {n["id"] for n in state["networks"]} == {ext.id, net.id}
    assert all(p["device_owner"] not in routers.ROUTER_OWNERS for p in state["ports"])
    [rs] = state["routers"]
    assert rs["id"] == r.id and rs["gateway"]["gateway_ip"] == "172.24.4.1"
    assert rs["gateway"]["fixed_ips"][0]["prefixlen"] == 24
    assert [i["fixed_ips"][0]["ip_address"] for i in rs["interfaces"]] == ["10.0.0.1"]
    assert rs["floating_ips"] == [{"id": fip.id, "floating_ip_address": fip.floating_ip_address,
                                   "fixed_ip_address": fip.fixed_ip_address}]
    assert ports.host_network_state(s, "other")["routers"] == []


def test_bootstrap_public_and_router1_idempotent(s, conf):
    bootstrap.ensure_private_network(s, conf, "demo")
    r = bootstrap.ensure_public_network(s, conf, "admin", "demo")
    assert r.name == "router1" and r.project_id == "demo"
    pub = s.scalar(select(m.Network).where(m.Network.name == "public"))
    assert pub.external and not pub.shared and pub.physical_network == "public"
    assert len(routers.interface_subnets(s, r.id)) == 1
    assert bootstrap.ensure_public_network(s, conf, "admin", "demo") is None
    assert s.scalar(select(func.count()).select_from(Router)) == 1
