"""The host agent's executor and loop (stratus/agent/compute.py, service.py)
against the fake hypervisor and an in-memory double of the agent API that
applies the same rules as the real one (expected_task_state guard, 404 for
gone instances)."""
from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from stratus.agent.compute import Reconciler, config_drive_meta
from stratus.agent.images import ImageCache, ImageVerifyError
from stratus.agent.network import HostNetwork, host_namespace
from stratus.agent.seqstore import SeqStore
from stratus.virt.fake.driver import FakeDriver

IMAGE = b"base image bytes" * 1000
A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "bbbbbbbb-0000-0000-0000-000000000002"


class FakeApi:
    """What the agent API does, in memory."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.revision = 1
        self.reports: list[tuple[str, dict]] = []
        self.deleted_uuids: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.uploads: dict[str, bytes] = {}
        self.downloads = 0
        self.elsewhere: set[str] = set()   # instances live on another host
        self.lock = threading.Lock()

    def add(self, uuid, **kw):
        row = {"uuid": uuid, "name": f"vm-{uuid[:4]}", "hostname": f"vm-{uuid[:4]}",
               "vm_state": "building", "task_state": "spawning", "power_state": 0,
               "action_seq": 0, "vcpus": 1, "memory_mb": 64, "root_gb": 1,
               "image_ref": "img1", "image_checksum": hashlib.md5(IMAGE).hexdigest(),
               "image_os_hash_algo": "sha512",
               "image_os_hash_value": hashlib.sha512(IMAGE).hexdigest(),
               "key_name": "k", "key_data": "ssh-ed25519 AAAA test", "user_data": None,
               "metadata": {}, "ports": [], "project_id": "p", "config_drive": False}
        row.update(kw)
        self.rows[uuid] = row
        self.bump()

    def bump(self):
        self.revision += 1

    def update(self, uuid, **kw):
        self.rows[uuid].update(kw)
        self.bump()

    # client interface
    def register(self, host, info, config, host_ip=None, stats=None, tunnel_ip=None):
        self.tunnel_ip = tunnel_ip
        self.stats = stats
        return {"host": host, "revision": self.revision}

    def state(self, host, since=None):
        with self.lock:
            if since == self.revision:
                return {"revision": since, "changed": False, "instances": []}
            return {"revision": self.revision, "changed": True,
                    "instances": [dict(r) for r in self.rows.values()],
                    "networks": [], "ports": []}

    def status(self, uuid, body):
        with self.lock:
            row = self.rows.get(uuid)
            if row is None:
                return None
            if "expected_task_state" in body and row["task_state"] != body["expected_task_state"]:
                return None
            self.reports.append((uuid, body))
            row["power_state"] = body["power_state"]
            for k in ("vm_state", "task_state"):
                if k in body:
                    row[k] = body[k]
            return row

    def deleted(self, uuid):
        with self.lock:
            self.rows.pop(uuid, None)
            self.deleted_uuids.append(uuid)

    def lookup(self, uuids):
        return {u: {"state": "live" if u in self.elsewhere else "unknown", "host": None}
                for u in uuids}

    def build_failed(self, uuid, reason):
        self.failed.append((uuid, reason))
        self.rows[uuid].update(vm_state="error", task_state=None)

    def download_image(self, image_id):
        self.downloads += 1
        for i in range(0, len(IMAGE), 4096):
            yield IMAGE[i:i + 4096]

    def upload_image(self, image_id, path):
        with open(path, "rb") as f:
            self.uploads[image_id] = f.read()


@pytest.fixture
def env(tmp_path):
    api = FakeApi()
    driver = FakeDriver("h1", state_file=str(tmp_path / "fake.json"))

    def make(**kw):
        return Reconciler(host="h1", client=api, driver=kw.pop("driver", driver),
                          images=ImageCache(api, str(tmp_path / "_base")),
                          network=HostNetwork("h1", str(tmp_path / "net"), enabled=False),
                          seqs=SeqStore(str(tmp_path / "seq.json")), work_dir=str(tmp_path / "w"),
                          force_config_drive=True, **kw)
    return api, driver, make


def converge(api, rec, **kw):
    for _ in range(5):
        if not rec.reconcile(api.state("h1"), **kw):
            return
    raise AssertionError("did not converge")


def test_build_stop_start_reboot_delete(env):
    api, driver, make = env
    rec = make()
    api.add(A)
    converge(api, rec)
    assert api.rows[A]["vm_state"] == "active" and api.rows[A]["power_state"] == 1
    assert driver.list_instances() == {A: 1}
    spec = driver._instances[A]["spec"]
    assert os.path.exists(spec["image_path"]) and spec["config_drive"]["public_keys"] == {
        "k": "ssh-ed25519 AAAA test"}
    api.update(A, task_state="powering-off")
    converge(api, rec)
    assert (api.rows[A]["vm_state"], api.rows[A]["task_state"]) == ("stopped", None)
    assert driver.list_instances() == {A: 4}
    api.update(A, task_state="powering-on")
    converge(api, rec)
    assert api.rows[A]["vm_state"] == "active" and driver.list_instances() == {A: 1}
    console = len(driver._instances[A]["console"])
    api.update(A, task_state="rebooting_hard", action_seq=1)
    converge(api, rec)
    assert len(driver._instances[A]["console"]) == console + 1   # rebooted exactly once
    assert api.rows[A]["task_state"] is None
    api.update(A, task_state="deleting")
    converge(api, rec)
    assert api.deleted_uuids == [A] and driver.list_instances() == {}
    assert api.downloads == 1


def test_restarted_agent_never_repeats_a_reboot(env, tmp_path):
    api, driver, make = env
    api.add(A)
    converge(api, make())
    api.update(A, task_state="rebooting", action_seq=1)
    rec = make()
    # The reboot runs, but its report is lost (the agent died before sending it).
    real_status, api.status = api.status, lambda uuid, body: None
    rec.reconcile(api.state("h1"))
    api.status = real_status
    console = len(driver._instances[A]["console"])
    converge(api, make(), host_boot=True)   # a new agent: re-reads the seq file
    assert len(driver._instances[A]["console"]) == console
    assert api.rows[A]["task_state"] is None and api.rows[A]["vm_state"] == "active"


def test_died_on_its_own_is_shutoff(env):
    api, driver, make = env
    api.add(A)
    rec = make()
    converge(api, rec)
    driver._instances[A]["power_state"] = 6   # crashed behind the agent's back
    converge(api, rec)
    assert (api.rows[A]["vm_state"], api.rows[A]["power_state"]) == ("stopped", 4)
    assert driver.list_instances() == {A: 6}   # not restarted


@pytest.mark.parametrize("resume", [True, False])
def test_resume_guests_state_on_host_boot(env, resume):
    api, driver, make = env
    api.add(A)
    converge(api, make())
    driver._instances[A]["power_state"] = 4   # the host rebooted
    converge(api, make(resume_guests_state_on_host_boot=resume), host_boot=True)
    assert driver.list_instances() == {A: 1 if resume else 4}
    assert api.rows[A]["vm_state"] == ("active" if resume else "stopped")


@pytest.mark.parametrize("how,left", [("noop", {B: 1}), ("log", {B: 1}),
                                      ("shutdown", {B: 4}), ("reap", {})])
def test_unknown_vm(env, how, left):
    api, driver, make = env
    driver._instances[B] = {"spec": {"uuid": B, "image_path": ""}, "power_state": 1,
                            "console": []}
    rec = make(running_deleted_instance_action=how)
    rec.reconcile(api.state("h1"), check_unknown=True)
    assert driver.list_instances() == left
    assert rec.reconcile(api.state("h1"), check_unknown=False) == []


@pytest.mark.parametrize("how", ["shutdown", "reap"])
def test_unknown_vm_whose_instance_is_live_elsewhere_is_left_alone(env, how):
    api, driver, make = env
    driver._instances[B] = {"spec": {"uuid": B, "image_path": ""}, "power_state": 1,
                            "console": []}
    api.elsewhere.add(B)
    acts = make(running_deleted_instance_action=how).reconcile(api.state("h1"),
                                                               check_unknown=True)
    assert [a.kind for a in acts] == ["log_unknown"] and driver.list_instances() == {B: 1}


def test_failed_build_is_rescheduled_and_cleaned(env):
    api, driver, make = env
    api.add(A, image_checksum="0" * 32)   # corrupt download
    rec = make()
    rec.reconcile(api.state("h1"))
    assert api.failed and "checksum" in api.failed[0][1]
    assert driver.list_instances() == {}
    assert os.listdir(rec.images.base_dir) == []   # no half-downloaded file kept


def test_snapshot_uploads_the_disk(env):
    api, driver, make = env
    api.add(A)
    rec = make()
    converge(api, rec)
    api.update(A, task_state="image_snapshot", action_seq=1, snapshot_image_id="snap1")
    converge(api, rec)
    assert api.uploads == {"snap1": IMAGE}
    assert api.rows[A]["task_state"] is None and api.rows[A]["vm_state"] == "active"
    assert os.listdir(rec.work_dir) == []


def test_image_cache_verifies_and_reuses(tmp_path):
    api = FakeApi()
    cache = ImageCache(api, str(tmp_path))
    with pytest.raises(ImageVerifyError):
        cache.ensure("img", os_hash_algo="sha512", os_hash_value="bad")
    assert os.listdir(tmp_path) == []
    p = cache.ensure("img", hashlib.md5(IMAGE).hexdigest())
    assert open(p, "rb").read() == IMAGE
    cache.ensure("img")
    assert api.downloads == 2


def test_config_drive_meta_and_names():
    meta = config_drive_meta({"uuid": A, "name": "vm1", "hostname": "vm1", "key_name": "k",
                              "key_data": "ssh-rsa X", "user_data": "ZWNobyBoaQ==",
                              "metadata": {"a": "b"}, "ports": [
                                  {"port_id": "p" * 36, "tap": "tapppp", "mac": "fa:16:3e:00:00:01",
                                   "network_id": "n1"}]})
    assert meta["user_data_b64"] == "ZWNobyBoaQ==" and meta["public_keys"] == {"k": "ssh-rsa X"}
    assert meta["meta"] == {"a": "b"}
    assert meta["network_data"]["links"][0]["ethernet_mac_address"] == "fa:16:3e:00:00:01"
    assert host_namespace("averyveryverylonghostname") == "shost-averyvery"
    assert len(host_namespace("averyveryverylonghostname")) == 15


def test_agent_loop_runs_and_stops(env, tmp_path):
    from stratus.agent.service import Agent
    from stratus.common.config import Config
    api, driver, make = env
    conf = Config(None, {"DEFAULT": {"state_path": str(tmp_path)},
                         "compute": {"compute_driver": "fake", "agent_poll_interval": 0.05}})
    agent = Agent(conf, host="h1", driver=driver, client=api)
    api.add(A)
    agent.start()
    try:
        deadline = time.monotonic() + 10
        while api.rows[A]["vm_state"] != "active" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.rows[A]["vm_state"] == "active"
        driver._instances[A]["power_state"] = 4   # dies: noticed without any API change
        deadline = time.monotonic() + 10
        while api.rows[A]["vm_state"] != "stopped" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.rows[A]["vm_state"] == "stopped"
    finally:
        api.close = lambda: None
        agent.stop(5)
    assert not agent._thread.is_alive()


def test_uptime_line_as_the_uptime_command_prints_it():
    from stratus.agent.service import format_uptime, host_uptime
    assert format_uptime("22:37:02", 10 * 86400 + 3 * 3600 + 4 * 60, 1, (0, 0.01, 0.05)) == \
        " 22:37:02 up 10 days,  3:04,  1 user,  load average: 0.00, 0.01, 0.05"
    assert format_uptime("08:00:00", 43 * 60 + 59, 2, (2.35, 1.5, 1.0)) == \
        " 08:00:00 up 43 min,  2 users,  load average: 2.35, 1.50, 1.00"
    assert format_uptime("08:00:00", 86400 + 60, 0, (0, 0, 0)).startswith(
        " 08:00:00 up 1 day, 1 min,")
    assert "load average:" in host_uptime()


def test_registration_reports_uptime(env, tmp_path):
    from stratus.agent.service import Agent
    from stratus.common.config import Config
    api, driver, _ = env
    conf = Config(None, {"DEFAULT": {"state_path": str(tmp_path)},
                         "compute": {"compute_driver": "fake", "host": "h1"}})
    Agent(conf, driver=driver, client=api).register()
    assert api.stats["compute_driver"] == "fake"
    assert "up" in api.stats["uptime"] and "load average:" in api.stats["uptime"]


def test_binary_user_data_reaches_the_config_drive_byte_for_byte(monkeypatch, tmp_path):
    """User data travels base64 through the launch spec (JSON) and is decoded
    to bytes only for the drive: no byte is replaced (gzip, \\xff, NUL)."""
    import base64
    import gzip
    import json

    from stratus.virt import configdrive
    from stratus.virt.base import InstanceSpec
    raw = gzip.compress(b"#!/bin/sh\necho hi\n") + bytes(range(256))
    meta = config_drive_meta({"uuid": A, "name": "vm1", "hostname": "vm1",
                              "user_data": base64.b64encode(raw).decode(), "ports": []})
    spec = InstanceSpec(uuid=A, name="vm1", vcpus=1, memory_mb=64, root_gb=1,
                        image_path="/x", image_format="qcow2", taps=[], config_drive=meta)
    launched = InstanceSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    written = {}
    monkeypatch.setattr(configdrive, "write_iso",
                        lambda path, tree: written.update(tree) or path)
    configdrive.make_config_drive(str(tmp_path / "disk.config"), **launched.config_drive)
    assert written["openstack/latest/user_data"] == raw
    # No user data: no file; text that is not base64 is kept as it is.
    written.clear()
    configdrive.make_config_drive("p", **config_drive_meta({"uuid": A, "user_data": None}))
    assert "openstack/latest/user_data" not in written
    assert configdrive.decode_user_data("ZWNo\nbyBoaQ==") == b"echo hi"
    assert configdrive.decode_user_data("echo hi!") == b"echo hi!"
    assert configdrive.decode_user_data(None) is None
    with pytest.raises(configdrive.ConfigDriveError):
        configdrive.make_config_drive("p", uuid=A, name="n", hostname="h", user_data=b"x",
                                      user_data_b64="eA==")
