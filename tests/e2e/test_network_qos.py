"""QoS end to end against a live server: openstacksdk for policies, rules
and rule types; raw HTTP for errors (NeutronError bodies with upstream's
types), admin-only writes, tenant isolation (private vs shared policies),
qos_policy_id on networks and ports, the in-use check and ``is_default``."""
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
    return live_cloud.sdk("stratus")


def test_extensions_and_rule_types(sdk, admin):
    aliases = {e["alias"] for e in admin.get("extensions").json()["extensions"]}
    assert {"qos", "qos-bw-limit-direction", "qos-default", "qos-rule-type-details"} <= aliases
    assert [t.type for t in sdk.network.qos_rule_types()] == ["bandwidth_limit"]
    detail = admin.get("qos/rule-types/bandwidth_limit").json()["rule_type"]
    params = {p["parameter_name"] for p in detail["drivers"][0]["supported_parameters"]}
    assert params == {"max_kbps", "max_burst_kbps", "direction"}
    error(admin.get("qos/rule-types/dscp_marking"), 404, "NotFound", "dscp_marking")


def test_policy_and_rule_crud_with_openstacksdk(sdk):
    pol = sdk.network.create_qos_policy(name=unique("qos"), description="d")
    try:
        assert pol.rules == [] and pol.is_shared is False and pol.is_default is False
        r1 = sdk.network.create_qos_bandwidth_limit_rule(pol, max_kbps=10000,
                                                         max_burst_kbps=1000)
        r2 = sdk.network.create_qos_bandwidth_limit_rule(pol, max_kbps=2000,
                                                         direction="ingress")
        assert (r1.direction, r2.max_burst_kbps) == ("egress", 0)
        got = sdk.network.get_qos_policy(pol.id)
        assert sorted((r["direction"], r["max_kbps"], r["type"]) for r in got.rules) == [
            ("egress", 10000, "bandwidth_limit"), ("ingress", 2000, "bandwidth_limit")]
        r1 = sdk.network.update_qos_bandwidth_limit_rule(r1, pol, max_kbps=5000)
        assert sdk.network.get_qos_bandwidth_limit_rule(r1, pol).max_kbps == 5000
        assert {r.id for r in sdk.network.qos_bandwidth_limit_rules(pol)} == {r1.id, r2.id}
        sdk.network.delete_qos_bandwidth_limit_rule(r2, pol)
        assert [r.id for r in sdk.network.qos_bandwidth_limit_rules(pol)] == [r1.id]
        pol = sdk.network.update_qos_policy(pol, name="renamed", shared=True)
        assert pol.name == "renamed" and pol.is_shared is True
        assert pol.id in {p.id for p in sdk.network.qos_policies()}
    finally:
        sdk.network.delete_qos_policy(pol, ignore_missing=True)
    assert sdk.network.find_qos_policy(pol.id) is None


def test_errors(admin):
    pid = admin.post("qos/policies", json={"policy": {"name": unique("qe")}}).json()["policy"]["id"]
    try:
        base = f"qos/policies/{pid}/bandwidth_limit_rules"
        ok = admin.post(base, json={"bandwidth_limit_rule": {"max_kbps": 100}})
        assert ok.status_code == 201
        error(admin.post(base, json={"bandwidth_limit_rule": {"max_kbps": 200}}), 409,
              "QoSRulesConflict", ok.json()["bandwidth_limit_rule"]["id"])
        error(admin.post(base, json={"bandwidth_limit_rule": {"max_kbps": 1,
                                                              "direction": "up"}}),
              400, "InvalidInput", "direction")
        error(admin.post(base, json={"bandwidth_limit_rule": {"max_kbps": -1}}), 400,
              "InvalidInput", "max_kbps")
        error(admin.post(base, json={"bandwidth_limit_rule": {"max_burst_kbps": 1}}), 400,
              "InvalidInput", "max_kbps")
        error(admin.get(f"{base}/{MISSING}"), 404, "QosRuleNotFound", MISSING)
        error(admin.get(f"qos/policies/{MISSING}"), 404, "QosPolicyNotFound", MISSING)
        error(admin.post("qos/policies", json={"policy": {"bogus": 1}}), 400, "HTTPBadRequest",
              "bogus")
    finally:
        assert admin.delete(f"qos/policies/{pid}").status_code == 204


def test_tenant_isolation_and_admin_only_writes(admin, demo, live_cloud):
    private = admin.post("qos/policies", json={"policy": {"name": unique("priv")}}).json()
    shared = admin.post("qos/policies", json={"policy": {"name": unique("sh"),
                                                         "shared": True}}).json()
    private, shared = private["policy"]["id"], shared["policy"]["id"]
    try:
        seen = {p["id"] for p in demo.get("qos/policies").json()["policies"]}
        assert shared in seen and private not in seen
        error(demo.get(f"qos/policies/{private}"), 404, "QosPolicyNotFound")
        error(demo.post("qos/policies", json={"policy": {"name": "x"}}), 403, "Forbidden")
        error(demo.put(f"qos/policies/{shared}", json={"policy": {"name": "x"}}), 403,
              "Forbidden")
        error(demo.post(f"qos/policies/{shared}/bandwidth_limit_rules",
                        json={"bandwidth_limit_rule": {"max_kbps": 1}}), 403, "Forbidden")
        # a user attaches the shared policy to their network, not the private one
        net = demo.post("networks", json={"network": {"name": unique("qn"),
                                                      "qos_policy_id": shared}})
        assert net.status_code == 201 and net.json()["network"]["qos_policy_id"] == shared
        net_id = net.json()["network"]["id"]
        error(demo.put(f"networks/{net_id}", json={"network": {"qos_policy_id": private}}),
              404, "QosPolicyNotFound")
        port = demo.post("ports", json={"port": {"network_id": net_id,
                                                 "qos_policy_id": shared}}).json()["port"]
        assert port["qos_policy_id"] == shared
        error(admin.delete(f"qos/policies/{shared}"), 409, "QosPolicyInUse", port["id"])
        cleared = demo.put(f"ports/{port['id']}", json={"port": {"qos_policy_id": None}})
        assert cleared.json()["port"]["qos_policy_id"] is None
        error(admin.delete(f"qos/policies/{shared}"), 409, "QosPolicyInUse", net_id)
        assert demo.delete(f"ports/{port['id']}").status_code == 204
        assert demo.delete(f"networks/{net_id}").status_code == 204
    finally:
        admin.delete(f"qos/policies/{private}")
        admin.delete(f"qos/policies/{shared}")


def test_is_default_applies_to_new_networks(admin):
    project = admin.get("networks").json()["networks"][0]["project_id"]
    body = {"policy": {"name": unique("def"), "is_default": True, "project_id": project}}
    first = admin.post("qos/policies", json=body)
    assert first.status_code == 201, first.text
    pid = first.json()["policy"]["id"]
    try:
        error(admin.post("qos/policies", json={"policy": {**body["policy"],
                                                          "name": unique("def2")}}),
              409, "QoSPolicyDefaultAlreadyExists", project)
        net = admin.post("networks", json={"network": {"name": unique("dn"),
                                                       "project_id": project}}).json()
        assert net["network"]["qos_policy_id"] == pid
        admin.delete(f"networks/{net['network']['id']}")
    finally:
        admin.put(f"qos/policies/{pid}", json={"policy": {"is_default": False}})
        admin.delete(f"qos/policies/{pid}")
