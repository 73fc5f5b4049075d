"""The Network API (Neutron v2.0) end to end: the real `openstack` CLI for the
everyday path, raw HTTP for bad input (every case a NeutronError naming the
problem, never a 500) and tenant isolation between demo and admin."""
from __future__ import annotations

import httpx
import pytest

from conftest import network_client as neutron, unique

pytestmark = pytest.mark.e2e
MISSING = "00000000-0000-4000-8000-000000000000"


def assert_neutron_error(r: httpx.Response, status: int, type_: str | None, *mentions):
    what = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:400]}"
    assert r.status_code == status, what
    err = r.json()["NeutronError"]
    assert set(err) == {"type", "message", "detail"}, what
    if type_:
        assert err["type"] == type_, what
    for m in mentions:
        assert m.lower() in err["message"].lower(), f"message lacks {m!r}: {what}"


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
def demo_net(demo):
    net = demo.post("networks", json={"network": {"name": unique("bad")}}).json()["network"]
    sub = demo.post("subnets", json={"subnet": {
        "network_id": net["id"], "cidr": "192.168.50.0/28", "ip_version": 4}}).json()["subnet"]
    return net, sub


def test_version_documents_and_extensions(live_cloud, demo):
    with httpx.Client(trust_env=False) as h:
        doc = h.get(f"{live_cloud.base_url}/network/").json()
    assert doc["versions"][0]["id"] == "v2.0"
    aliases = {e["alias"] for e in demo.get("extensions").json()["extensions"]}
    assert {"provider", "external-net", "binding", "net-mtu"} <= aliases
    assert "dvr" not in aliases
    assert_neutron_error(demo.get("extensions/dvr"), 404, "NotFound", "dvr")


def test_cli_network_subnet_port_lifecycle(live_cloud):
    os_ = lambda *a, **kw: live_cloud.openstack(*a, cloud="stratus-demo", **kw)  # noqa: E731
    names = [n["Name"] for n in os_("network", "list")]
    assert "private" in names, "the demo project's private network exists at first start"
    name = unique("net")
    net = os_("network", "create", name)
    assert net["status"] == "ACTIVE" and net["mtu"] == 1450 and net["shared"] is False
    sub = os_("subnet", "create", "--network", name, "--subnet-range", "172.16.5.0/24",
              "--allocation-pool", "start=172.16.5.10,end=172.16.5.20",
              "--dns-nameserver", "192.0.2.53", "--gateway", "172.16.5.1", name + "-sub")
    assert sub["cidr"] == "172.16.5.0/24" and sub["gateway_ip"] == "172.16.5.1"
    assert sub["allocation_pools"] == [{"start": "172.16.5.10", "end": "172.16.5.20"}]
    assert sub["dns_nameservers"] == ["192.0.2.53"] and sub["enable_dhcp"] is True
    auto = os_("port", "create", "--network", name, name + "-p1")
    assert auto["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "172.16.5.10"}]
    assert auto["mac_address"].startswith("fa:16:3e:") and auto["status"] == "DOWN"
    fixed = os_("port", "create", "--network", name, "--fixed-ip",
                f"subnet={sub['id']},ip-address=172.16.5.99", name + "-p2")
    assert fixed["fixed_ips"][0]["ip_address"] == "172.16.5.99"   # outside pools: allowed
    listed = os_("port", "list", "--network", name)
    assert sorted(p["ID"] for p in listed) == sorted([auto["id"], fixed["id"]])
    shown = os_("network", "show", name)
    assert shown["subnets"] == [sub["id"]]
    busy = os_("network", "delete", name, json_out=False, check=False)
    assert busy.returncode != 0 and "in use" in (busy.stderr + busy.stdout).lower()
    os_("port", "delete", auto["id"], fixed["id"], json_out=False)
    os_("subnet", "delete", sub["id"], json_out=False)
    os_("network", "delete", name, json_out=False)
    assert name not in [n["Name"] for n in os_("network", "list")]


def test_tenant_isolation(live_cloud, demo, admin):
    mine = admin.post("networks", json={"network": {"name": unique("adm")}}).json()["network"]
    try:
        assert_neutron_error(demo.get(f"networks/{mine['id']}"), 404, "NetworkNotFound")
        assert mine["id"] not in [n["id"] for n in demo.get("networks").json()["networks"]]
        assert_neutron_error(demo.delete(f"networks/{mine['id']}"), 404, "NetworkNotFound")
        assert_neutron_error(demo.post("ports", json={"port": {"network_id": mine["id"]}}),
                             404, "NetworkNotFound")
        demo_nets = demo.get("networks").json()["networks"]
        assert "provider:network_type" not in demo_nets[0]        # admin-only attribute
        all_ids = [n["id"] for n in admin.get("networks").json()["networks"]]
        assert {n["id"] for n in demo_nets} <= set(all_ids)        # admin sees everything
        assert "provider:segmentation_id" in admin.get(f"networks/{mine['id']}").json()["network"]
        shared = admin.put(f"networks/{mine['id']}", json={"network": {"shared": True}})
        assert shared.status_code == 200, shared.text
        assert demo.get(f"networks/{mine['id']}").status_code == 200   # shared: visible
        assert_neutron_error(demo.delete(f"networks/{mine['id']}"), 403, "Forbidden")
        admin.put(f"networks/{mine['id']}", json={"network": {"shared": False,
                                                              "router:external": True}})
        assert demo.get(f"networks/{mine['id']}").status_code == 200   # external: visible
        r = demo.post("ports", json={"port": {"network_id": mine["id"]}})
        assert_neutron_error(r, 403, "Forbidden", mine["id"])          # but not for ports
        ext = demo.get("networks", params={"router:external": "True"}).json()["networks"]
        # (`public`, made by `stratus up` as DevStack does, is external too)
        assert [n["id"] for n in ext if n["name"] != "public"] == [mine["id"]]
    finally:
        admin.delete(f"networks/{mine['id']}")


def test_admin_only_attributes(demo):
    r = demo.post("networks", json={"network": {"name": "x", "shared": True}})
    assert_neutron_error(r, 403, "Forbidden", "shared")
    r = demo.post("networks", json={"network": {"provider:network_type": "flat"}})
    assert_neutron_error(r, 403, "Forbidden", "provider:network_type")


@pytest.mark.parametrize("body, status, type_, mention", [
    ({"cidr": "10.300.0.0/24"}, 400, "HTTPBadRequest", "10.300.0.0/24"),
    ({"cidr": "10.20.0.5/24"}, 400, "HTTPBadRequest", "10.20.0.0/24"),
    ({"cidr": "10.20.0.0/24", "gateway_ip": "10.21.0.1"}, 400, "InvalidInput", "10.21.0.1"),
    ({"cidr": "10.20.0.0/24", "allocation_pools": [{"start": "10.20.0.1", "end": "10.20.0.9"}]},
     409, "GatewayConflictWithAllocationPools", "gateway"),
    ({"cidr": "10.20.0.0/24", "allocation_pools": [{"start": "10.20.0.5", "end": "10.20.1.9"}]},
     400, "OutOfBoundsAllocationPool", "spans beyond"),
    ({"cidr": "10.20.0.0/24", "allocation_pools": [{"start": "10.20.0.5", "end": "10.20.0.9"},
                                                   {"start": "10.20.0.8", "end": "10.20.0.12"}]},
     409, "OverlappingAllocationPools", "overlapping"),
    ({"cidr": "10.20.0.0/24", "dns_nameservers": ["nope"]}, 400, "HTTPBadRequest", "nope"),
    ({"cidr": "192.168.50.0/25"}, 400, "InvalidInput", "overlaps"),
    ({"cidr": "10.20.0.0/24", "color": "red"}, 400, "HTTPBadRequest", "color"),
    ({"cidr": "10.20.0.0/24", "ip_version": 6}, 400, "InvalidInput", "ip_version"),
])
def test_bad_subnets(demo, demo_net, body, status, type_, mention):
    net, _ = demo_net
    r = demo.post("subnets", json={"subnet": {"network_id": net["id"], **body}})
    assert_neutron_error(r, status, type_, mention)


def test_bad_ports_and_in_use(demo, demo_net):
    net, sub = demo_net
    r = demo.post("ports", json={"port": {"network_id": net["id"],
                                          "fixed_ips": [{"ip_address": "10.99.0.5"}]}})
    assert_neutron_error(r, 400, "InvalidIpForSubnet", "10.99.0.5")
    ok = demo.post("ports", json={"port": {"network_id": net["id"], "device_id": "vm-x",
                                           "fixed_ips": [{"ip_address": "192.168.50.7"}]}})
    assert ok.status_code == 201, ok.text
    port = ok.json()["port"]
    r = demo.post("ports", json={"port": {"network_id": net["id"],
                                          "fixed_ips": [{"ip_address": "192.168.50.7"}]}})
    assert_neutron_error(r, 409, "IpAddressAlreadyAllocated", "192.168.50.7")
    r = demo.post("ports", json={"port": {"network_id": net["id"],
                                          "fixed_ips": [{"subnet_id": MISSING}]}})
    assert_neutron_error(r, 400, "InvalidInput", MISSING)
    r = demo.post("ports", json={"port": {"network_id": net["id"], "mac_address": "zz"}})
    assert_neutron_error(r, 400, "InvalidInput", "zz")
    r = demo.post("ports", json={"port": {"network_id": net["id"], "binding:host_id": "h"}})
    assert_neutron_error(r, 403, "Forbidden", "binding:host_id")
    r = demo.post("ports", json={"port": {"network_id": MISSING}})
    assert_neutron_error(r, 404, "NetworkNotFound", MISSING)
    assert_neutron_error(demo.delete(f"subnets/{sub['id']}"), 409, "SubnetInUse", sub["id"])
    assert_neutron_error(demo.delete(f"networks/{net['id']}"), 409, "NetworkInUse", net["id"])
    # Filters: by device_id, by fixed IP; fields= trims the body.
    got = demo.get("ports", params={"device_id": "vm-x", "fields": ["id", "fixed_ips"]})
    assert got.json()["ports"] == [{"id": port["id"], "fixed_ips": port["fixed_ips"]}]
    got = demo.get("ports", params={"fixed_ips": "ip_address=192.168.50.7"}).json()["ports"]
    assert [p["id"] for p in got] == [port["id"]]
    assert "binding:host_id" not in got[0]
    # Exhaust the /28 (pool .2-.14 minus .7): the next automatic port is a 409.
    for _ in range(12):
        assert demo.post("ports", json={"port": {"network_id": net["id"]}}).status_code == 201
    count = len(demo.get("ports", params={"network_id": net["id"]}).json()["ports"])
    r = demo.post("ports", json={"port": {"network_id": net["id"]}})
    assert_neutron_error(r, 409, "IpAddressGenerationFailure", net["id"])
    assert len(demo.get("ports", params={"network_id": net["id"]}).json()["ports"]) == count


def test_pagination_and_sorting(demo):
    ids = sorted(demo.post("networks", json={"network": {"name": unique("pg")}}).json()
                 ["network"]["id"] for _ in range(3))
    page = demo.get("networks", params={"limit": 2, "sort_key": "id", "sort_dir": "asc"}).json()
    assert len(page["networks"]) == 2
    nxt = [link for link in page["networks_links"] if link["rel"] == "next"][0]["href"]
    seen = [n["id"] for n in page["networks"]]
    second = demo.get(nxt).json()
    prev = [link for link in second["networks_links"] if link["rel"] == "previous"][0]["href"]
    assert [n["id"] for n in demo.get(prev).json()["networks"]] == seen   # page_reverse
    while nxt:
        page = demo.get(nxt).json()
        seen += [n["id"] for n in page["networks"]]
        nxt = next((link["href"] for link in page.get("networks_links", [])
                    if link["rel"] == "next"), None)
    assert seen == sorted(seen) and set(ids) <= set(seen) and len(seen) == len(set(seen))
    desc = demo.get("networks", params={"sort_key": "id", "sort_dir": "desc"}).json()
    assert [n["id"] for n in desc["networks"]] == sorted(seen, reverse=True)
    assert_neutron_error(demo.get("networks", params={"sort_key": "bogus"}), 400,
                         "BadRequest", "bogus")
    for i in ids:
        demo.delete(f"networks/{i}")


def test_quotas_count_resources_and_admin_overrides(live_cloud, demo, admin):
    project = live_cloud.openstack("project", "show", "demo")["id"]
    q = demo.get(f"quotas/{project}/details").json()["quota"]
    assert q["network"]["limit"] == 100 and q["network"]["used"] >= 1
    assert_neutron_error(demo.put(f"quotas/{project}", json={"quota": {"network": 500}}),
                         403, "Forbidden")
    r = admin.put(f"quotas/{project}", json={"quota": {"network": q["network"]["used"]}})
    assert r.status_code == 200, r.text
    try:
        over = demo.post("networks", json={"network": {"name": unique("over")}})
        assert_neutron_error(over, 409, "OverQuota", "network")
        assert demo.get(f"quotas/{project}").json()["quota"]["network"] == q["network"]["used"]
        assert_neutron_error(admin.put(f"quotas/{project}", json={"quota": {"cars": 1}}),
                             400, "HTTPBadRequest", "cars")
    finally:
        assert admin.delete(f"quotas/{project}").status_code == 204
    assert demo.get(f"quotas/{project}").json()["quota"]["network"] == 100


def test_default_quotas_and_the_cli(live_cloud, demo, admin):
    """``GET /v2.0/quotas/{project}/default`` (``openstack quota show
    --default``) gives the configured defaults, whatever the overrides; the
    quota details extension backs ``openstack quota show --usage``."""
    project = live_cloud.openstack("project", "show", "demo")["id"]
    r = admin.put(f"quotas/{project}", json={"quota": {"subnet": 7}})
    assert r.status_code == 200, r.text
    try:
        default = demo.get(f"quotas/{project}/default")
        assert default.status_code == 200, default.text
        q = default.json()["quota"]
        assert {k: q[k] for k in ("network", "subnet", "port", "router", "floatingip")} == \
            {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50}
        assert demo.get(f"quotas/{project}").json()["quota"]["subnet"] == 7
        shown = live_cloud.openstack("quota", "show", "--default", "demo")
        shown = {row["Resource"]: row["Limit"] for row in shown} \
            if isinstance(shown, list) else shown
        assert shown["networks"] == 100 and shown["subnets"] == 100, shown
        usage = live_cloud.openstack("quota", "show", "--usage", "demo")
        rows = {row["Resource"]: row for row in usage} if isinstance(usage, list) else usage
        assert rows["subnets"]["Limit"] == 7 and rows["networks"]["In Use"] >= 1, rows
    finally:
        assert admin.delete(f"quotas/{project}").status_code == 204


def test_quota_set_with_the_cli_checks_the_limit_against_usage(live_cloud, admin):
    """``openstack quota set --networks N`` sends ``check_limit`` (the
    quota-check-limit extension): accepted, and a limit below usage is a 400."""
    project = live_cloud.openstack("project", "show", "demo")["id"]
    try:
        live_cloud.openstack("quota", "set", "--networks", "42", "demo", json_out=False)
        assert admin.get(f"quotas/{project}").json()["quota"]["network"] == 42
        r = admin.put(f"quotas/{project}", json={"quota": {"network": 0, "check_limit": True}})
        assert r.status_code == 400 and "already used" in r.text, r.text
        assert admin.get(f"quotas/{project}").json()["quota"]["network"] == 42
    finally:
        assert admin.delete(f"quotas/{project}").status_code == 204


def test_binding_creates_and_removes_the_dhcp_port(admin, demo):
    net = demo.post("networks", json={"network": {"name": unique("bind")}}).json()["network"]
    demo.post("subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.55.0.0/24",
                                          "ip_version": 4}})
    r = admin.post("ports", json={"port": {"network_id": net["id"], "device_id": "vm-b",
                                           "binding:host_id": "labhost"}})
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    assert (port["binding:vif_type"], port["status"]) == ("tap", "ACTIVE")
    dhcp = admin.get("ports", params={"network_id": net["id"],
                                      "device_owner": "network:dhcp"}).json()["ports"]
    assert [d["binding:host_id"] for d in dhcp] == ["labhost"]
    assert port["fixed_ips"][0]["ip_address"] == "10.55.0.2"        # first come, first served
    assert dhcp[0]["fixed_ips"][0]["ip_address"] == "10.55.0.3"
    as_demo = demo.get(f"ports/{port['id']}").json()["port"]       # the network owner sees it
    assert "binding:host_id" not in as_demo
    assert admin.delete(f"ports/{port['id']}").status_code == 204
    assert admin.get("ports", params={"network_id": net["id"]}).json()["ports"] == []
    assert demo.delete(f"networks/{net['id']}").status_code == 204


def test_cli_updates(live_cloud):
    os_ = lambda *a, **kw: live_cloud.openstack(*a, cloud="stratus-demo", **kw)  # noqa: E731
    name = unique("upd")
    os_("network", "create", name)
    sub = os_("subnet", "create", "--network", name, "--subnet-range", "10.66.0.0/24", name)
    os_("subnet", "set", "--dns-nameserver", "192.0.2.1", "--name", name + "-x", sub["id"],
        json_out=False)
    shown = os_("subnet", "show", sub["id"])
    assert shown["dns_nameservers"] == ["192.0.2.1"] and shown["name"] == name + "-x"
    port = os_("port", "create", "--network", name, name)
    os_("port", "set", "--name", "renamed", "--fixed-ip", "ip-address=10.66.0.50",
        port["id"], json_out=False)
    shown = os_("port", "show", port["id"])
    assert shown["name"] == "renamed"
    assert sorted(f["ip_address"] for f in shown["fixed_ips"]) == \
        sorted([port["fixed_ips"][0]["ip_address"], "10.66.0.50"])
    os_("port", "delete", port["id"], json_out=False)
    os_("network", "delete", name, json_out=False)


def test_cli_admin_provider_networks(live_cloud):
    name = unique("flat")
    net = live_cloud.openstack("network", "create", "--provider-network-type", "flat",
                               "--provider-physical-network", name, "--external", "--share",
                               name)
    try:
        assert net["provider:network_type"] == "flat" and net["mtu"] == 1500
        assert net["provider:physical_network"] == name and net["router:external"] is True
        dup = live_cloud.openstack("network", "create", "--provider-network-type", "flat",
                                   "--provider-physical-network", name, name + "-2",
                                   json_out=False, check=False)
        assert dup.returncode != 0 and "in use" in dup.stderr.lower()
        vx = live_cloud.openstack("network", "create", "--provider-network-type", "vxlan",
                                  "--provider-segment", "4242", name + "-vx")
        assert vx["provider:segmentation_id"] == 4242 and vx["mtu"] == 1450
        live_cloud.openstack("network", "delete", vx["id"], json_out=False)
        bad = live_cloud.openstack("network", "create", "--provider-network-type", "gre",
                                   name + "-gre", json_out=False, check=False)
        assert bad.returncode != 0 and "gre" in bad.stderr.lower()
    finally:
        live_cloud.openstack("network", "delete", net["id"], json_out=False)
