"""Routers and floating IPs (Neutron v2.0 L3) end to end against the live
cloud: openstacksdk for the everyday path, raw HTTP for bad input (each a
NeutronError of upstream's type, nothing left half-created), tenant isolation
and quotas.  `stratus up` made `public` and the demo project's `router1`."""
from __future__ import annotations

import time

import httpx
import pytest

from conftest import network_client as neutron, unique

pytestmark = pytest.mark.e2e


def err(r: httpx.Response, status: int, type_: str, *mentions) -> None:
    what = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:400]}"
    assert r.status_code == status, what
    e = r.json()["NeutronError"]
    assert e["type"] == type_, what
    for m in mentions:
        assert m.lower() in e["message"].lower(), f"message lacks {m!r}: {what}"


@pytest.fixture(scope="module")
def demo(live_cloud):
    with neutron(live_cloud, live_cloud.token("demo", live_cloud.demo_password,
                                              project="demo")) as c:
        yield c


@pytest.fixture(scope="module")
def admin(live_cloud):
    with neutron(live_cloud, live_cloud.admin_token()) as c:
        yield c


@pytest.fixture(scope="module")
def public(admin):
    nets = admin.get("networks", params={"name": "public"}).json()["networks"]
    assert len(nets) == 1, nets
    return nets[0]


def make_net(c, cidr: str, **subnet):
    net = c.post("networks", json={"network": {"name": unique("l3")}}).json()["network"]
    r = c.post("subnets", json={"subnet": {"network_id": net["id"], "cidr": cidr,
                                           "ip_version": 4, **subnet}})
    assert r.status_code == 201, r.text
    return net, r.json()["subnet"]


def ports_of(c, network_id: str) -> list:
    return c.get("ports", params={"network_id": network_id}).json()["ports"]


def test_extensions_and_bootstrap(demo, admin, public):
    aliases = {e["alias"] for e in demo.get("extensions").json()["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic",
            "external-net"} <= aliases
    assert public["router:external"] is True and public["shared"] is False
    assert public["provider:network_type"] == "flat"
    assert public["provider:physical_network"] == "public"
    sub = admin.get(f"subnets/{public['subnets'][0]}").json()["subnet"]
    assert sub["cidr"] == "172.24.4.0/24" and sub["gateway_ip"] == "172.24.4.1"
    assert sub["allocation_pools"] == [{"start": "172.24.4.10", "end": "172.24.4.250"}]
    routers = demo.get("routers", params={"name": "router1"}).json()["routers"]
    assert len(routers) == 1
    gw = routers[0]["external_gateway_info"]
    assert gw["network_id"] == public["id"] and gw["enable_snat"] is True
    assert gw["external_fixed_ips"][0]["subnet_id"] == sub["id"]
    private = demo.get("networks", params={"name": "private"}).json()["networks"][0]
    iface = [p for p in ports_of(demo, private["id"])
             if p["device_owner"] == "network:router_interface"]
    assert [p["device_id"] for p in iface] == [routers[0]["id"]]


def test_router_and_floating_ip_lifecycle_sdk(live_cloud, public):
    conn = live_cloud.sdk("stratus-demo")
    net = conn.network.create_network(name=unique("l3sdk"))
    sub = conn.network.create_subnet(network_id=net.id, cidr="10.91.0.0/24", ip_version=4)
    router = conn.network.create_router(name=unique("r"),
                                        external_gateway_info={"network_id": public["id"]})
    try:
        assert router.status == "ACTIVE" and router.routes == []
        gw_ip = router.external_gateway_info["external_fixed_ips"][0]["ip_address"]
        assert gw_ip.startswith("172.24.4.")
        info = conn.network.add_interface_to_router(router, subnet=sub.id)
        assert info["subnet_id"] == sub.id and info["id"] == router.id
        iface = conn.network.get_port(info["port_id"])
        assert iface.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.91.0.1"}]
        assert iface.device_owner == "network:router_interface"
        router = conn.network.update_router(router, routes=[
            {"destination": "192.0.2.0/24", "nexthop": "10.91.0.7"}])
        assert router.routes == [{"destination": "192.0.2.0/24", "nexthop": "10.91.0.7"}]
        router = conn.network.update_router(router, routes=[])
        port = conn.network.create_port(network_id=net.id)
        fip = conn.network.create_ip(floating_network_id=public["id"])
        assert fip.status == "DOWN" and fip.port_id is None and fip.router_id is None
        assert fip.floating_ip_address.startswith("172.24.4.")
        fip = conn.network.update_ip(fip, port_id=port.id)
        assert fip.port_id == port.id and fip.router_id == router.id
        assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
        listed = [f.id for f in conn.network.ips(port_id=port.id)]
        assert listed == [fip.id]
        fip = conn.network.update_ip(fip, port_id=None)
        assert fip.port_id is None and fip.router_id is None and fip.fixed_ip_address is None
        conn.network.delete_ip(fip)
        assert conn.network.find_ip(fip.id) is None
        conn.network.delete_port(port)
        conn.network.remove_interface_from_router(router, subnet=sub.id)
        assert conn.network.find_port(info["port_id"]) is None
    finally:
        conn.network.delete_router(router, ignore_missing=True)
        conn.network.delete_subnet(sub, ignore_missing=True)
        conn.network.delete_network(net, ignore_missing=True)
    assert conn.network.find_router(router.id) is None


def test_floating_ip_created_associated_and_port_delete_disassociates(demo, public):
    net, sub = make_net(demo, "10.92.0.0/24")
    router = demo.post("routers", json={"router": {"external_gateway_info": {
        "network_id": public["id"]}}}).json()["router"]
    try:
        demo.put(f"routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
        port = demo.post("ports", json={"port": {"network_id": net["id"]}}).json()["port"]
        r = demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": port["id"]}})
        assert r.status_code == 201, r.text
        fip = r.json()["floatingip"]
        assert fip["router_id"] == router["id"]
        for _ in range(60):   # ACTIVE once the router is placed on a host (agent registered)
            if fip["status"] == "ACTIVE":
                break
            time.sleep(0.5)
            fip = demo.get(f"floatingips/{fip['id']}").json()["floatingip"]
        assert fip["status"] == "ACTIVE"
        assert demo.delete(f"ports/{port['id']}").status_code == 204
        fip = demo.get(f"floatingips/{fip['id']}").json()["floatingip"]
        assert fip["port_id"] is None and fip["status"] == "DOWN"
        assert demo.delete(f"floatingips/{fip['id']}").status_code == 204
    finally:
        demo.put(f"routers/{router['id']}/remove_router_interface", json={"subnet_id": sub["id"]})
        demo.delete(f"routers/{router['id']}")
        demo.delete(f"networks/{net['id']}")


def test_bad_input_nothing_half_created(demo, admin, public):
    net, sub = make_net(demo, "10.93.0.0/24")
    nogw_net, nogw = make_net(demo, "10.94.0.0/24", gateway_ip=None)
    lone_net, lone = make_net(demo, "10.95.0.0/24")   # no router on it
    router = demo.post("routers", json={"router": {"name": unique("bad"),
                                                   "external_gateway_info": {
                                                       "network_id": public["id"]}}}).json()
    router = router["router"]
    rid = router["id"]
    other = demo.post("routers", json={"router": {"name": unique("other")}}).json()["router"]
    try:
        err(demo.put(f"routers/{rid}/add_router_interface", json={"subnet_id": nogw["id"]}),
            400, "BadRequest", "must have a gateway IP")
        assert ports_of(demo, nogw_net["id"]) == []
        err(demo.put(f"routers/{rid}/add_router_interface", json={}), 400, "BadRequest")
        err(demo.put(f"routers/{rid}/add_router_interface",
                     json={"subnet_id": sub["id"], "port_id": sub["id"]}), 400, "BadRequest",
            "both")
        ok = demo.put(f"routers/{rid}/add_router_interface", json={"subnet_id": sub["id"]})
        assert ok.status_code == 200, ok.text
        err(demo.put(f"routers/{rid}/add_router_interface", json={"subnet_id": sub["id"]}),
            400, "BadRequest", "already has a port on subnet")
        err(demo.put(f"routers/{other['id']}/add_router_interface",
                     json={"subnet_id": sub["id"]}), 409, "IpAddressInUse", "10.93.0.1")
        err(demo.delete(f"routers/{rid}"), 409, "RouterInUse", rid)
        err(demo.delete(f"ports/{ok.json()['port_id']}"), 409, "L3PortInUse",
            "network:router_interface")
        err(demo.put(f"routers/{rid}", json={"router": {"routes": [
            {"destination": "192.0.2.0/24", "nexthop": "10.99.0.5"}]}}), 400, "InvalidRoutes",
            "not connected")
        err(demo.put(f"routers/{rid}", json={"router": {"external_gateway_info": {
            "network_id": net["id"]}}}), 400, "BadRequest", "not an external network")
        err(demo.put(f"routers/{rid}", json={"router": {"external_gateway_info": {
            "network_id": public["id"], "enable_snat": False}}}), 403, "Forbidden",
            "enable_snat")

        # floating IPs: no router path, others' port, non-external network
        fips_before = demo.get("floatingips").json()["floatingips"]
        pub_ports = len(ports_of(admin, public["id"]))
        lone_port = demo.post("ports", json={"port": {"network_id": lone_net["id"]}}).json()
        lone_port = lone_port["port"]
        err(demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": lone_port["id"]}}),
            404, "ExternalGatewayForFloatingIPNotFound", lone["id"])
        admin_net, _ = make_net(admin, "10.96.0.0/24")
        admin_port = admin.post("ports", json={"port": {"network_id": admin_net["id"]}})
        admin_port = admin_port.json()["port"]
        err(demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": admin_port["id"]}}),
            404, "PortNotFound")
        err(demo.post("floatingips", json={"floatingip": {"floating_network_id": net["id"]}}),
            400, "BadRequest", "not a valid external network")
        err(demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "floating_ip_address": "172.24.4.99"}}),
            403, "Forbidden")
        assert demo.get("floatingips").json()["floatingips"] == fips_before
        assert len(ports_of(admin, public["id"])) == pub_ports

        # a floating IP in use keeps the interface; the gateway stays too
        port = demo.post("ports", json={"port": {"network_id": net["id"]}}).json()["port"]
        fip = demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": port["id"]}}).json()["floatingip"]
        err(demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"], "port_id": port["id"]}}),
            409, "FloatingIPPortAlreadyAssociated")
        err(demo.put(f"routers/{rid}/remove_router_interface", json={"subnet_id": sub["id"]}),
            409, "RouterInterfaceInUseByFloatingIP", sub["id"])
        err(demo.put(f"routers/{rid}", json={"router": {"external_gateway_info": {}}}),
            409, "RouterExternalGatewayInUseByFloatingIp", public["id"])
        err(demo.put(f"routers/{rid}/remove_router_interface", json={"subnet_id": lone["id"]}),
            404, "RouterInterfaceNotFoundForSubnet")
        fport = admin.get("ports", params={"device_id": fip["id"]}).json()["ports"]
        assert [p["device_owner"] for p in fport] == ["network:floatingip"]
        err(demo.delete(f"ports/{fport[0]['id']}"), 404, "PortNotFound")  # not the tenant's
        err(admin.delete(f"ports/{fport[0]['id']}"), 409, "L3PortInUse")
        demo.delete(f"floatingips/{fip['id']}")
        demo.delete(f"ports/{port['id']}")
        admin.delete(f"ports/{admin_port['id']}")
        admin.delete(f"networks/{admin_net['id']}")
        demo.delete(f"ports/{lone_port['id']}")
    finally:
        demo.put(f"routers/{rid}/remove_router_interface", json={"subnet_id": sub["id"]})
        for r in (rid, other["id"]):
            demo.delete(f"routers/{r}")
        for n in (net, nogw_net, lone_net):
            demo.delete(f"networks/{n['id']}")


def test_external_network_is_admin_only_and_pool_exhaustion(demo, admin):
    err(demo.post("networks", json={"network": {"router:external": True}}), 403, "Forbidden",
        "router:external")
    name = unique("ext")
    net = admin.post("networks", json={"network": {
        "name": name, "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": name}}).json()["network"]
    try:
        admin.post("subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "198.51.100.0/29", "ip_version": 4,
            "enable_dhcp": False,
            "allocation_pools": [{"start": "198.51.100.2", "end": "198.51.100.3"}]}})
        made = [demo.post("floatingips", json={"floatingip": {
            "floating_network_id": net["id"]}}) for _ in range(2)]
        assert [r.status_code for r in made] == [201, 201]
        before = len(ports_of(admin, net["id"]))
        err(demo.post("floatingips", json={"floatingip": {"floating_network_id": net["id"]}}),
            409, "IpAddressGenerationFailure")
        assert len(ports_of(admin, net["id"])) == before
        for r in made:
            demo.delete(f"floatingips/{r.json()['floatingip']['id']}")
    finally:
        admin.delete(f"networks/{net['id']}")


def test_tenant_isolation(demo, admin, public):
    mine = admin.post("routers", json={"router": {"name": unique("adm")}}).json()["router"]
    fip = admin.post("floatingips", json={"floatingip": {
        "floating_network_id": public["id"]}}).json()["floatingip"]
    try:
        for path in (f"routers/{mine['id']}", f"floatingips/{fip['id']}"):
            kind = "RouterNotFound" if path.startswith("routers") else "FloatingIPNotFound"
            err(demo.get(path), 404, kind)
            err(demo.delete(path), 404, kind)
        err(demo.put(f"routers/{mine['id']}", json={"router": {"name": "x"}}), 404,
            "RouterNotFound")
        err(demo.put(f"routers/{mine['id']}/add_router_interface",
                     json={"subnet_id": public["subnets"][0]}), 404, "RouterNotFound")
        assert mine["id"] not in {r["id"] for r in demo.get("routers").json()["routers"]}
        assert fip["id"] not in {f["id"] for f in
                                 demo.get("floatingips").json()["floatingips"]}
        demo_router = demo.get("routers", params={"name": "router1"}).json()["routers"][0]
        assert demo_router["id"] in {r["id"] for r in admin.get("routers").json()["routers"]}
    finally:
        admin.delete(f"floatingips/{fip['id']}")
        admin.delete(f"routers/{mine['id']}")


def test_quotas(demo, admin, public):
    project = demo.get("routers", params={"name": "router1"}).json()["routers"][0]["project_id"]
    q = admin.get(f"quotas/{project}/default").json()["quota"]
    assert q["router"] == 10 and q["floatingip"] == 50
    used = admin.get(f"quotas/{project}/details").json()["quota"]
    n_routers, n_fips = used["router"]["used"], used["floatingip"]["used"]
    assert n_routers >= 1
    admin.put(f"quotas/{project}", json={"quota": {"router": n_routers + 1,
                                                   "floatingip": n_fips}})
    made = None
    try:
        made = demo.post("routers", json={"router": {"name": unique("q")}})
        assert made.status_code == 201, made.text
        err(demo.post("routers", json={"router": {"name": unique("q")}}), 409, "OverQuota",
            "router")
        err(demo.post("floatingips", json={"floatingip": {
            "floating_network_id": public["id"]}}), 409, "OverQuota", "floatingip")
    finally:
        admin.delete(f"quotas/{project}")
        if made is not None and made.status_code == 201:
            demo.delete(f"routers/{made.json()['router']['id']}")
