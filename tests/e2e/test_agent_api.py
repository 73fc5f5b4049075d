"""The agent API (/agent/v1) on a live ``stratus up --no-agent``: admin only,
register + heartbeat, the state with ``since``, 404s for unknown hosts and
instances, validation.  Hosts registered here have no agent, so this cloud is
the module's own (the scheduler must never pick them in other tests)."""
from __future__ import annotations

import httpx
import pytest

from conftest import assert_error, ok

INFO = {"vcpus": 8, "memory_mb": 16384, "local_gb": 100, "hypervisor_type": "QEMU",
        "hypervisor_version": 8002000, "cpu_info": {"arch": "x86_64"}}
CONFIG = {"cpu_allocation_ratio": 4.0, "ram_allocation_ratio": 1.0,
          "reserved_host_memory_mb": 1024}


@pytest.fixture(scope="module")
def cloud(module_servers):
    return module_servers.start(extra_args=("--no-agent",))


@pytest.fixture
def agent_http(cloud):
    with httpx.Client(base_url=f"{cloud.base_url}/agent/v1/", trust_env=False, timeout=30,
                      headers={"X-Auth-Token": cloud.admin_token()}) as http:
        yield http


def test_no_agent_registers_no_host(cloud):
    assert cloud.openstack("hypervisor", "list") == []


def test_register_heartbeat_and_state(cloud, agent_http, uniq):
    host = uniq("h")
    body = ok(agent_http.put(f"hosts/{host}", json={"host_info": INFO, "config": CONFIG,
                                                   "host_ip": "192.0.2.7"}))
    assert body["host"] == host and isinstance(body["revision"], int)
    hv = cloud.openstack("hypervisor", "show", host)
    assert hv["vcpus"] == 8 and hv["memory_mb"] == 16384 and hv["host_ip"] == "192.0.2.7", hv
    # A heartbeat with new inventory updates the same node (no second one).
    ok(agent_http.put(f"hosts/{host}", json={"host_info": {**INFO, "vcpus": 12},
                                             "config": CONFIG}))
    hvs = [h for h in cloud.openstack("hypervisor", "list") if h["Hypervisor Hostname"] == host]
    assert len(hvs) == 1
    assert cloud.openstack("hypervisor", "show", host)["vcpus"] == 12
    state = ok(agent_http.get(f"hosts/{host}/state"))
    assert state["changed"] is True and state["instances"] == []
    assert {"revision", "changed", "instances", "networks", "ports", "tunnels", "routers",
            "firewall"} <= set(state)
    again = ok(agent_http.get(f"hosts/{host}/state", params={"since": state["revision"]}))
    assert again["changed"] is False and again["revision"] == state["revision"]
    stale = ok(agent_http.get(f"hosts/{host}/state", params={"since": state["revision"] - 1}))
    assert stale["changed"] is True


def test_unknown_host_and_instance_are_404(agent_http):
    assert_error(agent_http.get("hosts/no-such-host/state"), 404, "no-such-host")
    uuid = "00000000-0000-0000-0000-00000000dead"
    assert_error(agent_http.post(f"instances/{uuid}/status", json={"power_state": 1}), 404, uuid)
    assert_error(agent_http.post(f"instances/{uuid}/deleted"), 404, uuid)
    assert_error(agent_http.post(f"instances/{uuid}/build-failed", json={"reason": "x"}),
                 404, uuid)


@pytest.mark.parametrize("body,mention", [
    ({"host_info": {"vcpus": -1}}, "vcpus"), ({"host_info": {"vcpus": "many"}}, "vcpus"),
    ({"host_info": [1]}, "host_info"), ({"config": {"ram_allocation_ratio": True}},
                                        "ram_allocation_ratio")])
def test_register_validation(agent_http, body, mention, uniq):
    assert_error(agent_http.put(f"hosts/{uniq('bad')}", json=body), 400, mention)


def test_lookup(agent_http):
    uuid = "00000000-0000-0000-0000-00000000f00d"
    body = ok(agent_http.post("instances/lookup", json={"uuids": [uuid]}))
    assert body == {"instances": {uuid: {"state": "unknown", "host": None}}}
    assert_error(agent_http.post("instances/lookup", json={"uuids": "x"}), 400, "uuids")


def test_status_validation(agent_http):
    uuid = "00000000-0000-0000-0000-00000000beef"
    assert_error(agent_http.post(f"instances/{uuid}/status", json={"power_state": 2}), 400,
                 "power_state")
    assert_error(agent_http.post(f"instances/{uuid}/status",
                                 json={"power_state": 1, "vm_state": "dancing"}), 400, "vm_state")
    assert_error(agent_http.get("hosts/x/state", params={"since": "abc"}), 400, "since")


def test_admin_only(cloud, uniq):
    demo = cloud.token("demo", cloud.demo_password, project="demo")
    with httpx.Client(base_url=f"{cloud.base_url}/agent/v1/", trust_env=False,
                      timeout=30) as http:
        assert_error(http.put(f"hosts/{uniq('x')}", json={"host_info": INFO}), 401)
        r = http.put(f"hosts/{uniq('x')}", json={"host_info": INFO},
                     headers={"X-Auth-Token": demo})
        assert_error(r, 403)
        assert_error(http.get("hosts/x/state", headers={"X-Auth-Token": demo}), 403)


def test_hosts_registering_at_the_same_moment_all_get_their_own_service(cloud, agent_http,
                                                                       uniq):
    import concurrent.futures
    names = [uniq("race") for _ in range(12)]

    def register(host):
        return agent_http.put(f"hosts/{host}", json={"host_info": INFO, "config": CONFIG})
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(register, names))
    assert [r.status_code for r in answers] == [200] * 12, [r.text for r in answers]
    ids = [r.json()["service_id"] for r in answers]
    assert len(set(ids)) == 12
    again = ok(register(names[0]))           # a heartbeat keeps the same record
    assert again["service_id"] == ids[0]
