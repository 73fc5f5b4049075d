"""Security groups end to end against a live server: openstacksdk for the
everyday path (the default group, CRUD, rules, ports with groups, port
security and allowed address pairs), raw HTTP for bad input (NeutronError
bodies with upstream's types), isolation between the demo and admin
projects, and the security_group / security_group_rule quotas."""
from __future__ import annotations

import httpx
import pytest

from conftest import network_client as neutron, unique

pytestmark = pytest.mark.e2e
MISSING = "00000000-0000-4000-8000-000000000000"


def error(r: httpx.Response, status: int, type_: str, *mentions: str) -> None:
    what = f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:300]}"
    assert r.status_code == status, what
    err = r.json()["NeutronError"]
    assert err["type"] == type_, what
    for m in mentions:
        assert m.lower() in err["message"].lower(), what


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
def sdk(live_cloud):
    return live_cloud.sdk("stratus-demo")


def rule_body(sg_id, **kw):
    return {"security_group_rule": {"security_group_id": sg_id, "direction": "ingress", **kw}}


def test_default_group_crud_and_rules_with_openstacksdk(sdk):
    groups = list(sdk.network.security_groups())
    default = [g for g in groups if g.name == "default"]
    assert len(default) == 1, "the project's default group exists on first use"
    rules = default[0].security_group_rules
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"] is not None)
                  for r in rules) == [("egress", "IPv4", False), ("egress", "IPv6", False),
                                      ("ingress", "IPv4", True), ("ingress", "IPv6", True)]
    sg = sdk.network.create_security_group(name=unique("web"), description="d")
    try:
        assert sg.stateful is True and len(sg.security_group_rules) == 2
        r = sdk.network.create_security_group_rule(
            security_group_id=sg.id, direction="ingress", protocol="tcp",
            port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.1/8")
        assert (r.protocol, r.port_range_min, r.remote_ip_prefix) == ("tcp", 22, "10.0.0.0/8")
        icmp = sdk.network.create_security_group_rule(
            security_group_id=sg.id, direction="ingress", protocol="icmp",
            port_range_min=8, port_range_max=0, remote_group_id=sg.id)
        assert sdk.network.get_security_group_rule(icmp.id).remote_group_id == sg.id
        renamed = sg.name + "-2"
        assert sdk.network.update_security_group(sg, name=renamed).name == renamed
        got = sdk.network.get_security_group(sg.id)
        assert {x["id"] for x in got.security_group_rules} >= {r.id, icmp.id}
        sdk.network.delete_security_group_rule(r.id)
        assert r.id not in {x.id for x in sdk.network.security_group_rules(
            security_group_id=sg.id)}
    finally:
        sdk.network.delete_security_group(sg.id)
    assert sdk.network.find_security_group(sg.id) is None


def test_ports_groups_port_security_and_pairs(sdk, demo):
    net = sdk.network.create_network(name=unique("sgnet"))
    sdk.network.create_subnet(network_id=net.id, cidr="192.168.77.0/24", ip_version=4)
    sg = sdk.network.create_security_group(name=unique("app"))
    try:
        default = sdk.network.find_security_group("default")
        p = sdk.network.create_port(network_id=net.id)
        assert p.security_group_ids == [default.id] and p.is_port_security_enabled is True
        p = sdk.network.update_port(p, security_group_ids=[sg.id], allowed_address_pairs=[
            {"ip_address": "10.5.0.0/24"}])
        assert p.security_group_ids == [sg.id]
        assert p.allowed_address_pairs == [{"ip_address": "10.5.0.0/24",
                                            "mac_address": p.mac_address}]
        error(demo.delete(f"security-groups/{sg.id}"), 409, "SecurityGroupInUse", sg.id)
        error(demo.put(f"ports/{p.id}", json={"port": {"port_security_enabled": False}}),
              409, "PortSecurityPortHasSecurityGroup")
        error(demo.post("ports", json={"port": {"network_id": net.id,
                                                "port_security_enabled": False,
                                                "security_groups": [sg.id]}}),
              400, "PortSecurityAndIPRequiredForSecurityGroups")
        open_ = demo.put(f"ports/{p.id}", json={"port": {
            "port_security_enabled": False, "security_groups": [],
            "allowed_address_pairs": []}}).json()["port"]
        assert open_["port_security_enabled"] is False and open_["security_groups"] == []
        error(demo.put(f"ports/{p.id}", json={"port": {
            "allowed_address_pairs": [{"ip_address": "10.1.1.1"}]}}),
            409, "AddressPairAndPortSecurityRequired")
        none = demo.post("ports", json={"port": {"network_id": net.id,
                                                 "port_security_enabled": False}})
        assert none.status_code == 201 and none.json()["port"]["security_groups"] == []
        sdk.network.delete_port(p.id)
        sdk.network.delete_port(none.json()["port"]["id"])
    finally:
        sdk.network.delete_security_group(sg.id)
        sdk.network.delete_network(net.id)


@pytest.mark.parametrize("extra, status, type_, mention", [
    ({"direction": "up"}, 400, "SecurityGroupRuleInvalidDirection", "direction"),
    ({"ethertype": "IPv7"}, 400, "SecurityGroupRuleInvalidEtherType", "IPv7"),
    ({"protocol": "bogus"}, 400, "SecurityGroupRuleInvalidProtocol", "bogus"),
    ({"port_range_min": 80, "port_range_max": 80}, 400,
     "SecurityGroupProtocolRequiredWithPorts", "protocol"),
    ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, 400,
     "SecurityGroupInvalidPortRange", "port_range_min"),
    ({"protocol": "icmp", "port_range_min": 300}, 400, "SecurityGroupInvalidIcmpValue", "300"),
    ({"protocol": "icmp", "port_range_max": 1}, 400, "SecurityGroupMissingIcmpType", "type"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, 400,
     "SecurityGroupInvalidProtocolForPort", "gre"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": MISSING}, 400,
     "SecurityGroupRemoteGroupAndRemoteIpPrefix", "remote_group_id"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400,
     "SecurityGroupRuleParameterConflict", "10.0.0.0/8"),
    ({"remote_group_id": MISSING}, 404, "SecurityGroupNotFound", MISSING),
])
def test_rule_validation_errors(demo, extra, status, type_, mention):
    sg = demo.post("security-groups", json={"security_group": {"name": unique("v")}})
    sg_id = sg.json()["security_group"]["id"]
    try:
        error(demo.post("security-group-rules", json=rule_body(sg_id, **extra)), status,
              type_, mention)
    finally:
        demo.delete(f"security-groups/{sg_id}")


def test_duplicates_default_protection_and_missing(demo):
    groups = demo.get("security-groups").json()["security_groups"]
    default = next(g for g in groups if g["name"] == "default")
    error(demo.delete(f"security-groups/{default['id']}"), 409,
          "SecurityGroupCannotRemoveDefault")
    error(demo.put(f"security-groups/{default['id']}",
                   json={"security_group": {"name": "x"}}), 409,
          "SecurityGroupCannotUpdateDefault")
    error(demo.post("security-groups", json={"security_group": {"name": "default"}}), 409,
          "SecurityGroupDefaultAlreadyExists")
    rule = demo.post("security-group-rules", json=rule_body(
        default["id"], protocol="tcp", port_range_min=443, port_range_max=443))
    assert rule.status_code == 201, rule.text
    rid = rule.json()["security_group_rule"]["id"]
    error(demo.post("security-group-rules", json=rule_body(
        default["id"], protocol="6", port_range_min=443, port_range_max=443)), 409,
        "SecurityGroupRuleExists", rid)
    assert demo.delete(f"security-group-rules/{rid}").status_code == 204
    error(demo.get(f"security-groups/{MISSING}"), 404, "SecurityGroupNotFound", MISSING)
    error(demo.get(f"security-group-rules/{MISSING}"), 404, "SecurityGroupRuleNotFound")
    error(demo.post("security-groups", json={"security_group": {"bogus": 1}}), 400,
          "HTTPBadRequest", "bogus")


def test_isolation_between_projects(demo, admin):
    theirs = admin.post("security-groups", json={"security_group": {"name": unique("adm")}})
    theirs_id = theirs.json()["security_group"]["id"]
    mine = demo.post("security-groups", json={"security_group": {"name": unique("mine")}})
    mine_id = mine.json()["security_group"]["id"]
    try:
        listed = {g["id"] for g in demo.get("security-groups").json()["security_groups"]}
        assert mine_id in listed and theirs_id not in listed
        assert all(g["project_id"] == mine.json()["security_group"]["project_id"]
                   for g in demo.get("security-groups").json()["security_groups"])
        error(demo.get(f"security-groups/{theirs_id}"), 404, "SecurityGroupNotFound")
        error(demo.delete(f"security-groups/{theirs_id}"), 404, "SecurityGroupNotFound")
        error(demo.post("security-group-rules", json=rule_body(theirs_id)), 404,
              "SecurityGroupNotFound")
        error(demo.post("security-group-rules", json=rule_body(mine_id,
                                                               remote_group_id=theirs_id)),
              404, "SecurityGroupNotFound")
        their_rules = {r["id"] for r in theirs.json()["security_group"]["security_group_rules"]}
        seen = {r["id"] for r in demo.get("security-group-rules").json()[
            "security_group_rules"]}
        assert not their_rules & seen
        admin_sees = {g["id"] for g in admin.get("security-groups").json()["security_groups"]}
        assert {mine_id, theirs_id} <= admin_sees
    finally:
        demo.delete(f"security-groups/{mine_id}")
        admin.delete(f"security-groups/{theirs_id}")


def test_quotas(demo, admin):
    project = demo.get("security-groups").json()["security_groups"][0]["project_id"]
    quota = admin.get(f"quotas/{project}").json()["quota"]
    assert quota["security_group"] == 10 and quota["security_group_rule"] == 100
    used = len(demo.get("security-groups").json()["security_groups"])
    r = admin.put(f"quotas/{project}", json={"quota": {"security_group": used + 1}})
    assert r.status_code == 200, r.text
    made = []
    try:
        one = demo.post("security-groups", json={"security_group": {"name": unique("q")}})
        assert one.status_code == 201
        made.append(one.json()["security_group"]["id"])
        error(demo.post("security-groups", json={"security_group": {"name": unique("q")}}),
              409, "OverQuota", "security_group")
        details = admin.get(f"quotas/{project}/details").json()["quota"]
        assert details["security_group"]["used"] == used + 1
    finally:
        for sg_id in made:
            demo.delete(f"security-groups/{sg_id}")
        admin.delete(f"quotas/{project}")


def test_extensions_listed(demo):
    aliases = {e["alias"] for e in demo.get("extensions").json()["extensions"]}
    assert {"security-group", "port-security", "allowed-address-pairs",
            "stateful-security-group"} <= aliases


def test_network_port_security_is_its_ports_default(demo):
    net = demo.post("networks", json={"network": {"name": unique("open"),
                                                  "port_security_enabled": False}})
    assert net.status_code == 201 and net.json()["network"]["port_security_enabled"] is False
    net_id = net.json()["network"]["id"]
    try:
        demo.post("subnets", json={"subnet": {"network_id": net_id, "ip_version": 4,
                                              "cidr": "192.168.78.0/24"}})
        port = demo.post("ports", json={"port": {"network_id": net_id}}).json()["port"]
        assert port["port_security_enabled"] is False and port["security_groups"] == []
        demo.delete(f"ports/{port['id']}")
        shown = demo.put(f"networks/{net_id}", json={"network": {
            "port_security_enabled": True}}).json()["network"]
        assert shown["port_security_enabled"] is True
    finally:
        demo.delete(f"networks/{net_id}")


def test_openstack_cli_security_group_commands(live_cloud):
    os_ = lambda *a, **kw: live_cloud.openstack(*a, cloud="stratus-demo", **kw)  # noqa: E731
    name = unique("cli")
    sg = os_("security", "group", "create", "--description", "from the CLI", name)
    try:
        assert sg["name"] == name and sg["stateful"] is True
        icmp = os_("security", "group", "rule", "create", "--protocol", "icmp", name)
        tcp = os_("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port",
                  "8000:8080", "--remote-ip", "192.0.2.0/24", "--ingress", name)
        assert (tcp["port_range_min"], tcp["port_range_max"]) == (8000, 8080)
        v6 = os_("security", "group", "rule", "create", "--ethertype", "IPv6", "--protocol",
                 "ipv6-icmp", "--remote-group", name, name)
        listed = {r["ID"] for r in os_("security", "group", "rule", "list", name)}
        assert {icmp["id"], tcp["id"], v6["id"]} <= listed
        assert name in {g["Name"] for g in os_("security", "group", "list")}
        os_("security", "group", "rule", "delete", icmp["id"], json_out=False)
        os_("security", "group", "set", "--name", name + "-r", name, json_out=False)
        assert os_("security", "group", "show", name + "-r")["id"] == sg["id"]
    finally:
        os_("security", "group", "delete", sg["id"], json_out=False)
