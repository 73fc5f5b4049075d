"""``stratus agent --teardown`` (stratus/agent/teardown.py) with the fake
driver: no root, no kernel objects; the real thing is tests/e2e/test_agent_teardown.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid as uuidlib

from stratus.agent import teardown as td
from stratus.common.config import Config
from stratus.virt import load_driver, paths
from stratus.virt.base import InstanceSpec

A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "bbbbbbbb-0000-0000-0000-000000000002"
C = "cccccccc-0000-0000-0000-000000000003"


def conf_for(tmp_path, host):
    return Config(None, {"DEFAULT": {"state_path": str(tmp_path)},
                         "compute": {"compute_driver": "fake", "host": host}})


def test_teardown_destroys_instances_and_removes_agent_state(tmp_path):
    host = "ut" + uuidlib.uuid4().hex[:7]   # no namespace of this name exists
    conf = conf_for(tmp_path, host)
    driver = load_driver(conf, host)
    for u in (A, B):
        driver.spawn(InstanceSpec(uuid=u, name=u[:4], vcpus=1, memory_mb=64, root_gb=1,
                                  image_path="/x", image_format="qcow2", taps=[]))
    os.makedirs(paths.instance_dir(conf, host, C))       # a spawn that failed early
    os.makedirs(paths.base_images_path(conf, host))
    agent_dir = tmp_path / "hosts" / host / "agent"
    (agent_dir / "network").mkdir(parents=True)
    (agent_dir / "action_seq.json").write_text(json.dumps({A: 2}))

    report = td.teardown(conf)
    assert report.ok, report.errors
    assert report.destroyed == [A, B, C]
    assert report.dataplane == [] and report.namespaces == []
    assert load_driver(conf, host).list_instances() == {}
    assert not os.path.exists(paths.instance_dir(conf, host, C))
    assert os.path.isdir(paths.base_images_path(conf, host))   # the image cache stays
    assert not agent_dir.exists() and report.state_removed
    # Idempotent: nothing left to do.
    again = td.teardown(conf)
    assert again.ok and again.destroyed == [] and not again.state_removed
    assert "destroyed 0 instance(s)" in td.describe(again)


def test_teardown_keeps_the_agent_state_when_something_is_left(tmp_path):
    host = "ut" + uuidlib.uuid4().hex[:7]
    conf = conf_for(tmp_path, host)

    class Stuck:
        name = "fake"

        def list_instances(self):
            return {A: 1}

        def destroy(self, uuid):
            raise RuntimeError("busy")

    agent_dir = tmp_path / "hosts" / host / "agent"
    agent_dir.mkdir(parents=True)
    report = td.teardown(conf, host, driver=Stuck())
    assert not report.ok and "busy" in report.errors[0]
    assert agent_dir.exists() and "ERROR: destroying" in td.describe(report)


def test_cli_teardown_needs_no_api(tmp_path):
    host = "ut" + uuidlib.uuid4().hex[:7]
    (tmp_path / "stratus.conf").write_text(f"[compute]\ncompute_driver = fake\nhost = {host}\n"
                                           "[api]\npublic_endpoint = http://127.0.0.1:9\n")
    (tmp_path / "hosts" / host / "agent").mkdir(parents=True)
    cp = subprocess.run([os.path.join(os.path.dirname(sys.executable), "stratus"), "agent",
                         "--teardown", "--state-dir", str(tmp_path)],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f"host {host}: destroyed 0 instance(s)" in cp.stdout
    assert not (tmp_path / "hosts" / host / "agent").exists()
