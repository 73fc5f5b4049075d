"""The QEMU driver against real QEMU (TCG here), one guest boot per test.

Skipped unless root with qemu-system-x86_64, qemu-img, ip, dnsmasq and
genisoimage.  The guest is the default Stratus image; it gets its IP from a
dnsmasq in the test's own namespace and its hostname from the config drive.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid as uuidlib

import pytest

from stratus.common.config import Config
from stratus.virt.base import InstanceSpec, PowerState
from stratus.virt.qemu import process
from stratus.virt.qemu.driver import QemuDriver

READY = re.compile(r"=== STRATUS GUEST READY hostname=(\S+) uuid=(\S+) addrs=\[([^\]]*)\]")
BOOT_TIMEOUT = 120


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def make_driver(tmp_path) -> QemuDriver:
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path / "state")},
                             "qemu": {"wait_soft_reboot_seconds": 60}})
    driver = QemuDriver(conf, "svt-host")
    driver.init_host()
    return driver


def make_spec(lab, image: str, name: str) -> InstanceSpec:
    uuid = str(uuidlib.uuid4())
    return InstanceSpec(
        uuid=uuid, name=name, vcpus=1, memory_mb=192, root_gb=1, image_path=image,
        image_format="qcow2", netns=lab.netns,
        taps=[{"port_id": "p1", "tap": lab.tap, "mac": lab.mac}],
        config_drive={"uuid": uuid, "name": name, "hostname": name, "public_keys": {},
                      "user_data": None, "meta": {}, "network_data": None,
                      "availability_zone": "nova", "project_id": "p"})


def ready_lines(driver, uuid) -> list[tuple[str, str, str]]:
    return READY.findall(driver.console_output(uuid))


def test_lifecycle_with_one_boot(tmp_path, lab, guest_image):
    lab, started = lab
    driver = make_driver(tmp_path)
    assert driver.accel in ("kvm", "tcg")
    spec = make_spec(lab, guest_image, "svt-vm1")
    started.append(spec.uuid)
    inst_dir = driver._dir(spec.uuid)

    t0 = time.monotonic()
    driver.spawn(spec)
    launched = time.monotonic() - t0
    assert wait_for(lambda: ready_lines(driver, spec.uuid), BOOT_TIMEOUT), \
        driver.console_output(spec.uuid, 30)
    ready = time.monotonic() - t0
    print(f"\nspawn returned after {launched:.1f}s; guest ready after {ready:.1f}s "
          f"(accel {driver.accel})")
    hostname, uuid, addrs = ready_lines(driver, spec.uuid)[0]
    assert (hostname, uuid) == ("svt-vm1", spec.uuid)        # from the config drive
    assert f"{lab.guest_ip}/24" in addrs                        # from dnsmasq over the tap
    assert lab.http_get().strip() == "svt-vm1"                # the guest answers on its IP
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json",
                                      os.path.join(inst_dir, "disk")],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["virtual-size"] == 1024 ** 3 and info["backing-filename"] == guest_image
    assert driver.list_instances() == {spec.uuid: PowerState.RUNNING}
    # a new driver object (agent restart) re-adopts the running VM
    assert make_driver(tmp_path).list_instances() == {spec.uuid: PowerState.RUNNING}
    assert driver.console_output(spec.uuid, length=1).count("\n") <= 1

    driver.pause(spec.uuid)
    assert driver.list_instances()[spec.uuid] == PowerState.PAUSED
    driver.unpause(spec.uuid)
    assert driver.list_instances()[spec.uuid] == PowerState.RUNNING

    snap = str(tmp_path / "snap.qcow2")
    driver.snapshot(spec.uuid, snap)
    subprocess.run(["qemu-img", "check", snap], check=True, capture_output=True)
    snap_info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", snap],
                                          capture_output=True, text=True).stdout)
    assert snap_info["format"] == "qcow2" and "backing-filename" not in snap_info
    assert driver.list_instances()[spec.uuid] == PowerState.RUNNING   # resumed after

    pid = process.find(os.path.join(inst_dir, "qemu.pid"), spec.uuid)
    t = time.monotonic()
    driver.power_off(spec.uuid, timeout=60)
    print(f"clean ACPI power off took {time.monotonic() - t:.1f}s")
    assert "Power down" in driver.console_output(spec.uuid)          # the guest shut down
    assert driver.list_instances() == {spec.uuid: PowerState.SHUTDOWN}
    assert not process.alive(pid, spec.uuid)

    driver.power_on(spec.uuid)
    assert driver.list_instances() == {spec.uuid: PowerState.RUNNING}
    pid = process.find(os.path.join(inst_dir, "qemu.pid"), spec.uuid)
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: driver.list_instances()[spec.uuid] == PowerState.SHUTDOWN, 10)
    assert len(ready_lines(driver, spec.uuid)) >= 1                    # console log kept

    driver.destroy(spec.uuid)
    driver.destroy(spec.uuid)
    assert driver.list_instances() == {}
    assert not os.path.exists(inst_dir)
    assert not process.alive(pid, spec.uuid)


def test_suspend_resume_and_soft_reboot(tmp_path, lab, guest_image):
    lab, started = lab
    driver = make_driver(tmp_path)
    spec = make_spec(lab, guest_image, "svt-vm2")
    started.append(spec.uuid)
    driver.spawn(spec)
    assert wait_for(lambda: ready_lines(driver, spec.uuid), BOOT_TIMEOUT)

    t = time.monotonic()
    driver.suspend(spec.uuid)
    print(f"\nsuspend took {time.monotonic() - t:.1f}s")
    assert driver.list_instances() == {spec.uuid: PowerState.SUSPENDED}
    assert process.find(driver._file(spec.uuid, "qemu.pid"), spec.uuid) is None
    t = time.monotonic()
    driver.resume(spec.uuid)
    print(f"resume took {time.monotonic() - t:.1f}s")
    assert driver.list_instances() == {spec.uuid: PowerState.RUNNING}
    assert not os.path.exists(driver._file(spec.uuid, "saved-state"))
    assert lab.http_get().strip() == "svt-vm2"    # the same guest, network and all, runs on

    driver.reboot(spec.uuid, hard=False)    # ACPI shutdown, then started again
    assert driver.list_instances() == {spec.uuid: PowerState.RUNNING}
    assert wait_for(lambda: len(ready_lines(driver, spec.uuid)) == 2, BOOT_TIMEOUT)
    driver.reboot(spec.uuid, hard=True)     # system_reset: same process
    assert driver.list_instances() == {spec.uuid: PowerState.RUNNING}
    driver.destroy(spec.uuid)
    assert driver.list_instances() == {}
