"""The fake driver (scale simulation only) and load_driver."""
from __future__ import annotations

import pytest

from stratus.common.config import Config
from stratus.virt import load_driver
from stratus.virt.base import DriverError, InstanceNotFound, InstanceSpec, InvalidState, PowerState
from stratus.virt.fake.driver import FakeDriver
from stratus.virt.qemu.driver import QemuDriver

U1, U2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def spec(uuid=U1, **kw) -> InstanceSpec:
    return InstanceSpec(uuid=uuid, name="vm", vcpus=1, memory_mb=64, root_gb=1,
                        image_path=kw.pop("image_path", "/nonexistent"), **kw)


def test_lifecycle_transitions():
    d = FakeDriver()
    assert d.list_instances() == {}
    d.spawn(spec())
    d.spawn(spec())                      # idempotent
    assert d.list_instances() == {U1: PowerState.RUNNING}
    d.pause(U1)
    assert d.list_instances()[U1] == PowerState.PAUSED
    d.unpause(U1)
    d.suspend(U1)
    assert d.list_instances()[U1] == PowerState.SUSPENDED
    with pytest.raises(InvalidState):
        d.pause(U1)
    d.resume(U1)
    d.power_off(U1)
    d.power_off(U1)                      # idempotent
    assert d.list_instances()[U1] == PowerState.SHUTDOWN
    with pytest.raises(InvalidState):
        d.resume(U1)
    d.power_on(U1)
    d.reboot(U1, hard=True)
    assert d.list_instances()[U1] == PowerState.RUNNING
    d.destroy(U1)
    d.destroy(U1)                        # idempotent
    assert d.list_instances() == {}
    with pytest.raises(InstanceNotFound):
        d.power_on(U1)


def test_console_records_events_and_tails():
    d = FakeDriver()
    d.spawn(spec())
    d.power_off(U1)
    out = d.console_output(U1)
    assert "spawned vm" in out and "powered off" in out
    assert d.console_output(U1, length=1).count("\n") == 1
    assert "powered off" in d.console_output(U1, length=1)


def test_state_file_lets_a_new_driver_readopt(tmp_path):
    f = str(tmp_path / "sub" / "fake.json")
    d = FakeDriver("h", state_file=f)
    d.spawn(spec(U1))
    d.spawn(spec(U2))
    d.pause(U2)
    again = FakeDriver("h", state_file=f)
    assert again.list_instances() == {U1: PowerState.RUNNING, U2: PowerState.PAUSED}
    again.destroy(U1)
    assert FakeDriver("h", state_file=f).list_instances() == {U2: PowerState.PAUSED}


def test_host_info_configurable():
    d = FakeDriver(host_info={"vcpus": 8, "memory_mb": 1024})
    info = d.host_info()
    assert (info["vcpus"], info["memory_mb"], info["hypervisor_type"]) == (8, 1024, "fake")
    assert set(info) == {"vcpus", "memory_mb", "local_gb", "hypervisor_type",
                         "hypervisor_version", "cpu_info"}


def test_snapshot_copies_base_image(tmp_path):
    base = tmp_path / "base"
    base.write_bytes(b"QFI\xfbdata")
    d = FakeDriver()
    d.spawn(spec(image_path=str(base)))
    d.snapshot(U1, str(tmp_path / "snap"))
    assert (tmp_path / "snap").read_bytes() == b"QFI\xfbdata"


def test_rebuild_keeps_identity():
    d = FakeDriver()
    d.spawn(spec())
    d.power_off(U1)
    d.rebuild(spec(image_path="/other"))
    assert d.list_instances() == {U1: PowerState.RUNNING}
    assert "rebuilt from /other" in d.console_output(U1)


def test_load_driver(tmp_path):
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path)},
                             "compute": {"compute_driver": "fake", "fake_host_vcpus": 3}})
    d = load_driver(conf, "h1")
    assert isinstance(d, FakeDriver) and d.host_info()["vcpus"] == 3
    d.spawn(spec())
    assert (tmp_path / "hosts/h1/instances/fake-instances.json").exists()
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    q = load_driver(conf, "h1")
    assert isinstance(q, QemuDriver) and q.root == str(tmp_path / "hosts/h1/instances")
    with pytest.raises(DriverError):
        load_driver(Config(overrides={"compute": {"compute_driver": "xen"}}), "h1")
