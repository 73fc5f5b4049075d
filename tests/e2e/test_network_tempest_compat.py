"""Network API behaviours tempest.api.network checks (issue 5), end to end:
neutron's bulk create (all or nothing), ``routes: null`` on a router update,
and deleting an external network releases its floating IPs."""
from __future__ import annotations

import pytest

from conftest import network_client as neutron, unique

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(live_cloud):
    with neutron(live_cloud, live_cloud.token("demo", live_cloud.demo_password,
                                              project="demo")) as c:
        yield c


@pytest.fixture(scope="module")
def admin(live_cloud):
    with neutron(live_cloud, live_cloud.admin_token()) as c:
        yield c


def names(c, collection: str, prefix: str) -> list[str]:
    return sorted(x["name"] for x in c.get(collection).json()[collection]
                  if x["name"].startswith(prefix))


def test_bulk_create_networks_subnets_ports(demo):
    prefix = unique("bulk")
    r = demo.post("networks", json={"networks": [{"name": f"{prefix}-a"},
                                                 {"name": f"{prefix}-b"}]})
    assert r.status_code == 201, r.text
    nets = r.json()["networks"]
    assert [n["name"] for n in nets] == [f"{prefix}-a", f"{prefix}-b"]
    assert names(demo, "networks", prefix) == [f"{prefix}-a", f"{prefix}-b"]
    r = demo.post("subnets", json={"subnets": [
        {"network_id": nets[0]["id"], "cidr": "10.93.0.0/28", "ip_version": 4},
        {"network_id": nets[1]["id"], "cidr": "10.93.1.0/28", "ip_version": 4}]})
    assert r.status_code == 201, r.text
    assert [s["network_id"] for s in r.json()["subnets"]] == [n["id"] for n in nets]
    r = demo.post("ports", json={"ports": [{"network_id": n["id"], "name": f"{prefix}-p"}
                                           for n in nets]})
    assert r.status_code == 201, r.text
    ports = r.json()["ports"]
    assert [p["network_id"] for p in ports] == [n["id"] for n in nets]
    assert all(p["fixed_ips"] for p in ports)
    for p in ports:
        assert demo.delete(f"ports/{p['id']}").status_code == 204
    for n in nets:
        assert demo.delete(f"networks/{n['id']}").status_code == 204


def test_bulk_create_is_all_or_nothing(demo):
    prefix = unique("bulkbad")
    # the second item is bad: the first one must not be left behind
    r = demo.post("networks", json={"networks": [{"name": f"{prefix}-ok"},
                                                 {"name": f"{prefix}-bad", "bogus": 1}]})
    assert r.status_code == 400, r.text
    assert "bogus" in r.json()["NeutronError"]["message"]
    assert names(demo, "networks", prefix) == []
    net = demo.post("networks", json={"network": {"name": prefix}}).json()["network"]
    try:
        r = demo.post("subnets", json={"subnets": [
            {"network_id": net["id"], "cidr": "10.94.0.0/28", "ip_version": 4},
            {"network_id": net["id"], "cidr": "not-a-cidr", "ip_version": 4}]})
        assert r.status_code == 400, r.text
        assert demo.get("subnets", params={"network_id": net["id"]}).json()["subnets"] == []
        for body in ({"networks": []}, {"networks": ["x"]}, {"networks": {"name": "x"}}):
            r = demo.post("networks", json=body)
            assert r.status_code == 400, (body, r.text)
            assert "NeutronError" in r.json()
    finally:
        demo.delete(f"networks/{net['id']}")


def test_router_update_routes_none_clears_routes(demo):
    net = demo.post("networks", json={"network": {"name": unique("rt")}}).json()["network"]
    sub = demo.post("subnets", json={"subnet": {"network_id": net["id"],
                                                "cidr": "10.95.0.0/28",
                                                "ip_version": 4}}).json()["subnet"]
    router = demo.post("routers", json={"router": {"name": unique("rt")}}).json()["router"]
    rid = router["id"]
    try:
        r = demo.put(f"routers/{rid}/add_router_interface", json={"subnet_id": sub["id"]})
        assert r.status_code == 200, r.text
        route = {"destination": "192.0.2.0/24", "nexthop": "10.95.0.5"}
        r = demo.put(f"routers/{rid}", json={"router": {"routes": [route]}})
        assert r.status_code == 200 and r.json()["router"]["routes"] == [route], r.text
        r = demo.put(f"routers/{rid}", json={"router": {"routes": None}})
        assert r.status_code == 200, r.text
        assert r.json()["router"]["routes"] == []
        # with the routes gone, the interface can go
        r = demo.put(f"routers/{rid}/remove_router_interface", json={"subnet_id": sub["id"]})
        assert r.status_code == 200, r.text
    finally:
        demo.delete(f"routers/{rid}")
        demo.delete(f"networks/{net['id']}")


def test_deleting_an_external_network_releases_its_floating_ips(admin):
    net = admin.post("networks", json={"network": {
        "name": unique("ext"), "router:external": True}}).json()["network"]
    r = admin.post("subnets", json={"subnet": {"network_id": net["id"],
                                               "cidr": "10.96.0.0/28", "ip_version": 4}})
    assert r.status_code == 201, r.text
    r = admin.post("floatingips", json={"floatingip": {"floating_network_id": net["id"]}})
    assert r.status_code == 201, r.text
    fip = r.json()["floatingip"]
    r = admin.delete(f"networks/{net['id']}")
    assert r.status_code == 204, r.text
    assert admin.get(f"floatingips/{fip['id']}").status_code == 404
    assert admin.get(f"networks/{net['id']}").status_code == 404
    assert admin.get("ports", params={"network_id": net["id"]}).json()["ports"] == []
