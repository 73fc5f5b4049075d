"""QEMU command-line construction (stratus.virt.qemu.cmdline) and the KVM probe's
pure parts."""
from __future__ import annotations

import pytest

from stratus.virt.base import InstanceSpec
from stratus.virt.qemu import cmdline, kvm_probe

UUID = "6f1c2a4e-0d7b-4b8e-9a51-3c2f0e9d1a77"


def spec(**kw) -> InstanceSpec:
    base = dict(uuid=UUID, name="vm1", vcpus=2, memory_mb=256, root_gb=1,
                image_path="/base/img", taps=[
                    {"port_id": "p1", "tap": "tapaaaaaaaa-aa", "mac": "fa:16:3e:00:00:01"},
                    {"port_id": "p2", "tap": "tapbbbbbbbb-bb", "mac": "fa:16:3e:00:00:02"}])
    base.update(kw)
    return InstanceSpec(**base)


def layout(d: str = "/i/" + UUID, config_drive: bool = True) -> cmdline.Layout:
    return cmdline.Layout(dir=d, disk=f"{d}/disk",
                          config_drive=f"{d}/disk.config" if config_drive else None,
                          console_log=f"{d}/console.log", qmp_socket=f"{d}/qmp.sock",
                          pidfile=f"{d}/qemu.pid")


def opt_values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def test_tcg_command_has_every_required_piece():
    argv = cmdline.build_command(spec(), layout(), binary="qemu-system-x86_64", accel="tcg")
    assert argv[0] == "qemu-system-x86_64"
    assert "-no-user-config" in argv and "-nodefaults" in argv
    assert opt_values(argv, "-accel") == ["tcg"]
    assert opt_values(argv, "-cpu") == ["max"]
    assert opt_values(argv, "-smp") == ["2"] and opt_values(argv, "-m") == ["256"]
    assert opt_values(argv, "-uuid") == [UUID]
    assert opt_values(argv, "-display") == ["none"]
    assert "-daemonize" in argv and opt_values(argv, "-pidfile") == [f"/i/{UUID}/qemu.pid"]
    chardevs = opt_values(argv, "-chardev")
    assert f"file,id=serial0,path=/i/{UUID}/console.log,append=on" in chardevs
    assert f"socket,id=qmp,path=/i/{UUID}/qmp.sock,server=on,wait=off" in chardevs
    assert opt_values(argv, "-serial") == ["chardev:serial0"]
    assert opt_values(argv, "-mon") == ["chardev=qmp,mode=control"]
    drives = opt_values(argv, "-drive")
    assert drives[0].startswith(f"file=/i/{UUID}/disk,format=qcow2,")
    assert "media=cdrom" in drives[1] and drives[1].startswith(f"file=/i/{UUID}/disk.config,")
    devices = opt_values(argv, "-device")
    assert "virtio-blk-pci,drive=disk0,bootindex=0" in devices
    assert "ide-cd,drive=cd0,bus=ide.1" in devices
    assert opt_values(argv, "-netdev") == [
        "tap,id=net0,ifname=tapaaaaaaaa-aa,script=no,downscript=no",
        "tap,id=net1,ifname=tapbbbbbbbb-bb,script=no,downscript=no"]
    assert "virtio-net-pci,netdev=net0,mac=fa:16:3e:00:00:01" in devices
    assert "virtio-net-pci,netdev=net1,mac=fa:16:3e:00:00:02" in devices
    assert "-incoming" not in argv
    assert "-nographic" not in argv      # incompatible with -daemonize


def test_kvm_uses_host_cpu_and_operator_cpu_mode_wins():
    argv = cmdline.build_command(spec(), layout(), binary="q", accel="kvm")
    assert opt_values(argv, "-accel") == ["kvm"] and opt_values(argv, "-cpu") == ["host"]
    argv = cmdline.build_command(spec(), layout(), binary="q", accel="tcg", cpu_mode="qemu64")
    assert opt_values(argv, "-cpu") == ["qemu64"]
    with pytest.raises(ValueError):
        cmdline.build_command(spec(), layout(), binary="q", accel="xen")


def test_netns_wraps_and_no_config_drive_no_cdrom():
    argv = cmdline.build_command(spec(netns="shost-h1", taps=[]), layout(config_drive=False),
                                 binary="qemu-system-x86_64", accel="tcg")
    assert argv[:5] == ["ip", "netns", "exec", "shost-h1", "qemu-system-x86_64"]
    assert not any("cdrom" in d for d in opt_values(argv, "-drive"))
    assert "-netdev" not in argv


def test_incoming_and_outgoing_uris_quote_paths():
    argv = cmdline.build_command(spec(), layout(), binary="q", accel="tcg",
                                 incoming=cmdline.incoming_uri("/i/x y/saved-state"))
    assert opt_values(argv, "-incoming") == ["exec:cat '/i/x y/saved-state'"]
    assert cmdline.outgoing_uri("/a/s") == "exec:cat > /a/s"


def test_commas_in_names_and_paths_are_escaped():
    argv = cmdline.build_command(spec(name="a,b"), layout(d="/i,j"), binary="q", accel="tcg")
    assert "guest=a,,b" in argv
    assert opt_values(argv, "-drive")[0].startswith("file=/i,,j/disk,format")


def test_long_socket_path_is_bound_relative_to_the_instance_dir():
    d = "/" + "x" * 120 + "/" + UUID
    argv = cmdline.build_command(spec(), layout(d=d), binary="q", accel="tcg")
    assert "socket,id=qmp,path=qmp.sock,server=on,wait=off" in opt_values(argv, "-chardev")
    assert cmdline.socket_arg("/short/qmp.sock", "/short") == "/short/qmp.sock"


def test_is_qemu_of_matches_uuid_argument_only():
    argv = cmdline.build_command(spec(), layout(), binary="q", accel="tcg")
    assert cmdline.is_qemu_of(argv, UUID)
    assert not cmdline.is_qemu_of(argv, "another")
    assert not cmdline.is_qemu_of(["sleep", UUID], UUID)
    assert not cmdline.is_qemu_of([], UUID)


def test_boot_sector_layout():
    sector = kvm_probe.boot_sector(b"HI")
    assert len(sector) == 512 and sector[510:] == b"\x55\xaa"
    assert sector[:3] == b"\xba\xf8\x03"                     # mov dx, 0x3f8
    assert sector[3:9] == b"\xb0H\xee\xb0I\xee"               # mov al,'H'; out; mov al,'I'; out
    with pytest.raises(ValueError):
        kvm_probe.boot_sector(b"x" * 200)


def test_probe_command_uses_the_guest_cpu_model():
    argv = kvm_probe.probe_command("q", "kvm", "host", "/t/b.img", "/t/o")
    assert argv[argv.index("-cpu") + 1] == "host" and argv[argv.index("-accel") + 1] == "kvm"
    assert "file=/t/b.img,format=raw,if=ide" in argv and "file:/t/o" in argv


@pytest.mark.parametrize("virt_type,ok,expected", [
    ("auto", True, "kvm"), ("auto", False, "tcg"), ("qemu", True, "tcg"),
    ("kvm", False, "kvm")])
def test_choose_accel(virt_type, ok, expected):
    assert kvm_probe.choose_accel(virt_type, ok) == expected


def test_choose_accel_rejects_unknown():
    with pytest.raises(ValueError):
        kvm_probe.choose_accel("xen", True)


def test_kvm_usable_caches_answer_in_memory_and_file(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(kvm_probe, "_cache", {})
    monkeypatch.setattr(kvm_probe.os, "access", lambda p, m: True)
    monkeypatch.setattr(kvm_probe, "_cache_key", lambda b, c: f"{b}|{c}|v1")
    monkeypatch.setattr(kvm_probe, "boots", lambda b, a, c, t: calls.append(a) or False)
    cache = str(tmp_path / "probe.json")
    assert kvm_probe.kvm_usable("q", "host", 1, cache) is False
    assert kvm_probe.kvm_usable("q", "host", 1, cache) is False
    assert calls == ["kvm"]
    monkeypatch.setattr(kvm_probe, "_cache", {})         # a new process: reads the file
    assert kvm_probe.kvm_usable("q", "host", 1, cache) is False
    assert calls == ["kvm"]
    monkeypatch.setattr(kvm_probe, "_cache", {})         # another QEMU version: probes again
    monkeypatch.setattr(kvm_probe, "_cache_key", lambda b, c: f"{b}|{c}|v2")
    kvm_probe.kvm_usable("q", "host", 1, cache)
    assert calls == ["kvm", "kvm"]
