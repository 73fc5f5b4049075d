"""The host agent inside ``stratus up`` with the fake hypervisor: the server
life cycle through the real ``openstack`` CLI, and an agent restart that
keeps the instances (re-adopted, never rebooted)."""
from __future__ import annotations

import json
import time

import pytest

from conftest import wait_for

FAKE_CONF = """
[compute]
compute_driver = fake
host = fakehost1
agent_poll_interval = 0.2
report_interval = 2
resync_interval = 5
"""




def server(cloud, name):
    return cloud.openstack("server", "show", name, cloud="stratus-demo")


def wait_status(cloud, name, status, timeout=30.0):
    # The API shows the target at once; the agent clears the task when done.
    def done():
        s = server(cloud, name)
        return s if s["status"] == status and s["OS-EXT-STS:task_state"] is None else None
    return wait_for(done, timeout, f"{name} {status}")


@pytest.fixture(scope="module")
def fake_cloud(module_servers, tmp_path_factory):
    cloud = module_servers.start(extra_conf=FAKE_CONF)
    data = tmp_path_factory.mktemp("img") / "tiny.img"
    data.write_bytes(b"\0" * 65536 + b"stratus fake image")
    cloud.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                    "--container-format", "bare", "--public", "fake-img")
    # The agent registers its host shortly after the API answers.
    wait_for(lambda: cloud.openstack("hypervisor", "list"), what="the agent's host")
    return cloud


def fake_state(cloud) -> dict:
    path = cloud.state_dir / "hosts" / "fakehost1" / "instances" / "fake-instances.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_host_registered_as_hypervisor(fake_cloud):
    hvs = fake_cloud.openstack("hypervisor", "list")
    assert [h["Hypervisor Hostname"] for h in hvs] == ["fakehost1"], hvs


def test_server_life_cycle(fake_cloud):
    c = fake_cloud
    s = c.openstack("server", "create", "--image", "fake-img", "--flavor", "m1.tiny",
                    "--network", "private", "--wait", "life1", cloud="stratus-demo")
    assert s["status"] == "ACTIVE", s
    s = server(c, "life1")
    assert s["OS-EXT-STS:power_state"] in (1, "Running"), s
    uuid = s["id"]
    assert uuid in str(fake_state(c)), "the fake driver runs no such instance"

    c.openstack("server", "stop", "life1", cloud="stratus-demo", json_out=False)
    s = wait_status(c, "life1", "SHUTOFF")
    assert s["OS-EXT-STS:power_state"] in (4, "Shutdown"), s

    c.openstack("server", "start", "life1", cloud="stratus-demo", json_out=False)
    wait_status(c, "life1", "ACTIVE")

    c.openstack("server", "reboot", "--wait", "life1", cloud="stratus-demo", json_out=False)
    s = wait_status(c, "life1", "ACTIVE")
    actions = c.openstack("server", "event", "list", "life1", cloud="stratus-demo")
    assert {a["Action"] for a in actions} >= {"create", "stop", "start", "reboot"}, actions

    c.openstack("server", "delete", "--wait", "life1", cloud="stratus-demo", json_out=False)
    listed = c.openstack("server", "list", "--name", "life1", cloud="stratus-demo")
    assert listed == [], listed
    assert uuid not in str(fake_state(c))
    ports = c.openstack("port", "list", "--device-id", uuid)
    assert ports == [], ports


def test_agent_restart_keeps_instances(fake_cloud):
    c = fake_cloud
    s = c.openstack("server", "create", "--image", "fake-img", "--flavor", "m1.tiny",
                    "--network", "private", "--wait", "keep1", cloud="stratus-demo")
    assert s["status"] == "ACTIVE"
    before = fake_state(c)
    c.server.restart()      # the whole `stratus up`, agent included
    time.sleep(2)           # several agent passes
    s = server(c, "keep1")
    assert s["status"] == "ACTIVE", s
    assert fake_state(c) == before, "the restarted agent touched a running VM"
    c.openstack("server", "delete", "--wait", "keep1", cloud="stratus-demo", json_out=False)


def test_pause_suspend_rebuild_snapshot(fake_cloud):
    c = fake_cloud
    s = c.openstack("server", "create", "--image", "fake-img", "--flavor", "m1.tiny",
                    "--network", "private", "--wait", "acts1", cloud="stratus-demo")
    uuid = s["id"]
    for verb, status, power in [("pause", "PAUSED", 3), ("unpause", "ACTIVE", 1),
                                ("suspend", "SUSPENDED", 7), ("resume", "ACTIVE", 1)]:
        c.openstack("server", verb, "acts1", cloud="stratus-demo", json_out=False)
        wait_status(c, "acts1", status)
        assert fake_state(c)[uuid]["power_state"] == power, verb
    lines = len(fake_state(c)[uuid]["console"])
    c.openstack("server", "rebuild", "--image", "fake-img", "--wait", "acts1",
                cloud="stratus-demo", json_out=False)
    wait_status(c, "acts1", "ACTIVE")
    assert "rebuilt" in fake_state(c)[uuid]["console"][-1]
    assert len(fake_state(c)[uuid]["console"]) == lines + 1   # rebuilt exactly once
    img = c.openstack("server", "image", "create", "--name", "acts1-snap", "--wait", "acts1",
                      cloud="stratus-demo")
    shown = c.openstack("image", "show", img["id"], cloud="stratus-demo")
    assert shown["status"] == "active" and shown["size"] > 0, shown
    wait_for(lambda: server(c, "acts1")["OS-EXT-STS:task_state"] is None, what="task cleared")
    c.openstack("server", "delete", "--wait", "acts1", cloud="stratus-demo", json_out=False)
