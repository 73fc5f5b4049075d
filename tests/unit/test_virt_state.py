"""Power-state mapping, paths, disk commands and host info parsing (pure)."""
from __future__ import annotations

import pytest

from stratus.common.config import Config
from stratus.virt import paths
from stratus.virt.base import InstanceSpec, PowerState, tail_lines
from stratus.virt.qemu import disks, hostinfo
from stratus.virt.qemu.state import power_state

UUID = "6f1c2a4e-0d7b-4b8e-9a51-3c2f0e9d1a77"


@pytest.mark.parametrize("alive,status,saved,expected", [
    (True, "running", False, PowerState.RUNNING),
    (True, "paused", False, PowerState.PAUSED),
    (True, "postmigrate", True, PowerState.SUSPENDED),
    (True, "inmigrate", True, PowerState.NOSTATE),
    (True, "guest-panicked", False, PowerState.CRASHED),
    (True, "internal-error", False, PowerState.CRASHED),
    (True, "shutdown", False, PowerState.SHUTDOWN),
    (True, None, False, PowerState.NOSTATE),
    (True, "something-new", False, PowerState.NOSTATE),
    (False, None, False, PowerState.SHUTDOWN),
    (False, "running", False, PowerState.SHUTDOWN),   # stale answer, dead process
    (False, None, True, PowerState.SUSPENDED),
])
def test_power_state(alive, status, saved, expected):
    assert power_state(alive, status, saved) == expected


def test_paths_default_per_host(tmp_path):
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    assert paths.instances_path(conf, "h1") == str(tmp_path / "hosts" / "h1" / "instances")
    assert paths.instance_dir(conf, "h2", UUID) == str(tmp_path / "hosts/h2/instances" / UUID)
    assert paths.console_log(conf, "h1", UUID).endswith(f"h1/instances/{UUID}/console.log")
    assert paths.base_images_path(conf, "h1") == str(tmp_path / "hosts/h1/instances/_base")


def test_paths_explicit(tmp_path):
    conf = Config(overrides={"compute": {"instances_path": str(tmp_path / "inst")},
                             "qemu": {"base_images_path": str(tmp_path / "base")}})
    assert paths.instances_path(conf, "h1") == str(tmp_path / "inst")
    assert paths.base_images_path(conf, "h1") == str(tmp_path / "base")


def test_paths_reject_traversal(tmp_path):
    conf = Config(overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    for bad in ("../etc", "a/b", "_base", ""):
        with pytest.raises(ValueError):
            paths.instance_dir(conf, "h1", bad)
    assert not paths.is_instance_dir_name("_base")
    assert paths.is_instance_dir_name(UUID)


def test_tail_lines():
    assert tail_lines("a\nb\nc\n", 2) == "b\nc\n"
    assert tail_lines("a\nb\nc", None) == "a\nb\nc"
    assert tail_lines("a\nb\n", 10) == "a\nb\n"
    assert tail_lines("a\nb\n", 0) == ""


def test_spec_round_trip_ignores_unknown_keys():
    s = InstanceSpec(uuid=UUID, name="n", vcpus=1, memory_mb=64, root_gb=1, image_path="/x",
                     netns="shost-h", config_drive={"uuid": UUID})
    d = s.to_dict()
    d["future_field"] = 1
    assert InstanceSpec.from_dict(d) == s


def test_disk_sizes_and_commands():
    G = disks.GiB
    assert disks.target_size(50 * 1024 ** 2, 1) == G
    assert disks.target_size(3 * G, 1) == 3 * G
    assert disks.target_size(12345, 0) == 12345
    assert disks.overlay_command("/b/img", "raw", "/i/disk", G) == [
        "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/b/img", "/i/disk", str(G)]
    with pytest.raises(ValueError):
        disks.overlay_command("/b/img", "vmdk", "/i/disk", G)
    assert disks.convert_command("/i/disk", "/o.qcow2") == [
        "qemu-img", "convert", "-U", "-O", "qcow2", "/i/disk", "/o.qcow2"]


def test_host_info_parsers():
    assert hostinfo.parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2)") == 7002022
    assert hostinfo.parse_qemu_version("QEMU emulator version 8.1") == 8001000
    assert hostinfo.parse_qemu_version("garbage") == 0
    assert hostinfo.parse_meminfo_mb("MemTotal:        8041236 kB\nMemFree: 1 kB\n") == 7852
    cpu = hostinfo.parse_cpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                                 "model name\t: Xeon\nflags\t\t: sse2 fpu\n\nprocessor\t: 1\n")
    assert cpu == {"vendor": "GenuineIntel", "model": "Xeon", "features": ["fpu", "sse2"]}
