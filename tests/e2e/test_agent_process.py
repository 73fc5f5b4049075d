"""``stratus agent`` as a process of its own beside ``stratus up --no-agent``
(as on a second host): it registers, boots a server (fake driver), and a
restart of the agent alone (SIGTERM, start again) re-adopts the instance
without touching it.  Also the status report's expected_task_state guard."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import httpx
import pytest

from conftest import STRATUS, assert_error, clean_env, ok, wait_for

HOST = "agentproc1"
CONF = f"""
[compute]
compute_driver = fake
host = {HOST}
agent_poll_interval = 0.2
report_interval = 2
"""




class AgentProcess:
    def __init__(self, cloud):
        self.cloud = cloud
        self.proc = None
        self.out = cloud.state_dir / "agent.out"

    def start(self):
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(
                [STRATUS, "agent", "--state-dir", str(self.cloud.state_dir),
                 "--endpoint", self.cloud.base_url],
                stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
                cwd=self.cloud.state_dir, start_new_session=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else None


@pytest.fixture(scope="module")
def setup(module_servers, tmp_path_factory):
    cloud = module_servers.start(extra_conf=CONF, extra_args=("--no-agent",))
    data = tmp_path_factory.mktemp("img") / "tiny.img"
    data.write_bytes(b"agent process image" * 100)
    cloud.openstack("image", "create", "--file", str(data), "--disk-format", "raw",
                    "--container-format", "bare", "--public", "proc-img")
    agent = AgentProcess(cloud)
    agent.start()
    try:
        yield cloud, agent
    finally:
        agent.stop()


def fake_state(cloud) -> dict:
    path = cloud.state_dir / "hosts" / HOST / "instances" / "fake-instances.json"
    return json.loads(path.read_text()) if path.exists() else {}


def show(cloud, name):
    return cloud.openstack("server", "show", name, cloud="stratus-demo")


def test_agent_process_boots_and_restarts_without_touching_vms(setup):
    cloud, agent = setup
    wait_for(lambda: cloud.openstack("hypervisor", "list"), what="the agent's host")
    s = cloud.openstack("server", "create", "--image", "proc-img", "--flavor", "m1.tiny",
                        "--network", "private", "--wait", "p1", cloud="stratus-demo")
    assert s["status"] == "ACTIVE", s
    assert cloud.openstack("server", "show", s["id"])["OS-EXT-SRV-ATTR:host"] == HOST
    before = fake_state(cloud)
    assert agent.stop() == 0, agent.out.read_text()
    assert "stopped" in agent.out.read_text()
    # While the agent is down the API still records intent: a stop waits for it.
    cloud.openstack("server", "stop", "p1", cloud="stratus-demo", json_out=False)
    time.sleep(1)
    assert show(cloud, "p1")["OS-EXT-STS:task_state"] == "powering-off"
    assert fake_state(cloud) == before, "a VM changed with no agent running"
    agent.start()
    wait_for(lambda: show(cloud, "p1")["OS-EXT-STS:task_state"] is None,
             what="the stop done after the restart")
    assert show(cloud, "p1")["status"] == "SHUTOFF"
    state = fake_state(cloud)
    assert list(state) == list(before) and state[s["id"]]["power_state"] == 4
    # Exactly one new console line: the power-off; the VM was re-adopted, not rebuilt.
    assert len(state[s["id"]]["console"]) == len(before[s["id"]]["console"]) + 1
    cloud.openstack("server", "delete", "--wait", "p1", cloud="stratus-demo", json_out=False)
    assert fake_state(cloud) == {}


def test_status_report_refused_when_the_task_changed(setup):
    cloud, _ = setup
    s = cloud.openstack("server", "create", "--image", "proc-img", "--flavor", "m1.tiny",
                        "--network", "private", "--wait", "p2", cloud="stratus-demo")
    with httpx.Client(base_url=f"{cloud.base_url}/agent/v1/", trust_env=False, timeout=30,
                      headers={"X-Auth-Token": cloud.admin_token()}) as http:
        r = http.post(f"instances/{s['id']}/status",
                      json={"power_state": 4, "vm_state": "stopped", "task_state": None,
                            "expected_task_state": "powering-off"})
        assert_error(r, 409, "task_state")
        assert show(cloud, "p2")["status"] == "ACTIVE"
        # A report with the right expectation is recorded, with its event.
        body = ok(http.post(f"instances/{s['id']}/status",
                            json={"power_state": 1, "expected_task_state": None}))
        assert body["vm_state"] == "active"
        assert_error(http.post(f"instances/{s['id']}/deleted"), 409, "not being deleted")
    cloud.openstack("server", "delete", "--wait", "p2", cloud="stratus-demo", json_out=False)
