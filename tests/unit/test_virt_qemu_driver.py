"""QemuDriver logic that needs no QEMU: state from the instance directories,
idempotence and errors for unknown or stopped instances."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stratus.common.config import Config
from stratus.virt import paths
from stratus.virt.base import InstanceNotFound, InstanceSpec, InvalidState, PowerState
from stratus.virt.qemu.driver import QemuDriver

U1, U2, U3 = ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
              "33333333-3333-3333-3333-333333333333")


@pytest.fixture
def driver(tmp_path):
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    return QemuDriver(conf, "h1")


def adopt(driver, uuid, *files: str) -> str:
    d = driver._dir(uuid)
    os.makedirs(d)
    spec = InstanceSpec(uuid=uuid, name="vm", vcpus=1, memory_mb=64, root_gb=1, image_path="/x")
    with open(os.path.join(d, paths.LAUNCH_SPEC), "w") as f:
        json.dump(spec.to_dict(), f)
    for name in files:
        open(os.path.join(d, name), "w").close()
    return d


def test_list_instances_from_directories(driver):
    assert driver.list_instances() == {}
    adopt(driver, U1)
    adopt(driver, U2, paths.SAVED_STATE)
    os.makedirs(driver._dir(U3))                          # no launch spec yet: not an instance
    os.makedirs(os.path.join(driver.root, "_base"))
    assert driver.list_instances() == {U1: PowerState.SHUTDOWN, U2: PowerState.SUSPENDED}


def test_stale_pidfile_of_another_process_is_not_the_vm(driver):
    d = adopt(driver, U1)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with open(os.path.join(d, paths.PIDFILE), "w") as f:
            f.write(str(sleeper.pid))                     # pid reused by something else
        assert driver.list_instances() == {U1: PowerState.SHUTDOWN}
        driver.destroy(U1)
        assert sleeper.poll() is None                     # never killed a stranger
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not os.path.exists(d)


def test_operations_on_unknown_or_stopped_instances(driver):
    driver.destroy(U1)                                    # idempotent on unknown
    with pytest.raises(InstanceNotFound):
        driver.power_off(U1)
    with pytest.raises(InstanceNotFound):
        driver.console_output(U1)
    with pytest.raises(InstanceNotFound):
        driver.pause(U1)
    adopt(driver, U1)
    driver.power_off(U1)                                  # already off: no-op
    with pytest.raises(InvalidState):
        driver.pause(U1)
    with pytest.raises(InvalidState):
        driver.suspend(U1)
    with pytest.raises(InvalidState):
        driver.resume(U1)
    assert driver.console_output(U1) == ""


def test_power_off_discards_saved_state(driver):
    d = adopt(driver, U1, paths.SAVED_STATE)
    driver.power_off(U1)
    assert not os.path.exists(os.path.join(d, paths.SAVED_STATE))
    assert driver.list_instances() == {U1: PowerState.SHUTDOWN}


def test_console_output_tails_the_serial_log(driver):
    d = adopt(driver, U1)
    with open(os.path.join(d, paths.CONSOLE_LOG), "wb") as f:
        f.write(b"one\ntwo\nthree \xff\n")
    assert driver.console_output(U1, 2) == "two\nthree \ufffd\n"
    assert driver.console_output(U1).startswith("one\n")


def test_rebuild_replaces_disk_and_config_drive_keeps_console(driver, monkeypatch):
    from stratus.virt.qemu import disks
    d = adopt(driver, U1, paths.DISK, paths.CONFIG_DRIVE, paths.CONSOLE_LOG)
    with open(os.path.join(d, paths.DISK), "w") as f:
        f.write("old disk")
    created, launched = [], []
    monkeypatch.setattr(disks, "create_overlay",
                        lambda base, fmt, out, gb: created.append((base, fmt, gb)) or
                        open(out, "w").close())
    monkeypatch.setattr(driver, "_launch", lambda spec, incoming=None: launched.append(spec))
    spec = InstanceSpec(uuid=U1, name="vm", vcpus=2, memory_mb=128, root_gb=3,
                        image_path="/images/new", image_format="raw")
    driver.rebuild(spec)
    assert created == [("/images/new", "raw", 3)]
    assert launched == [spec]
    assert open(os.path.join(d, paths.DISK)).read() == ""
    assert not os.path.exists(os.path.join(d, paths.CONFIG_DRIVE))   # spec has none
    assert os.path.exists(os.path.join(d, paths.CONSOLE_LOG))
    with open(os.path.join(d, paths.LAUNCH_SPEC)) as f:
        assert json.load(f)["image_path"] == "/images/new"


def test_host_info_keys(tmp_path):
    import shutil
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 not installed")
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path)},
                             "qemu": {"virt_type": "qemu"}})
    d = QemuDriver(conf, "h1")
    os.makedirs(d.root)
    info = d.host_info()
    assert set(info) == {"vcpus", "memory_mb", "local_gb", "hypervisor_type",
                         "hypervisor_version", "cpu_info"}
    assert info["vcpus"] >= 1 and info["memory_mb"] > 0 and info["hypervisor_version"] > 0
    assert info["cpu_info"]["accel"] == "tcg"
