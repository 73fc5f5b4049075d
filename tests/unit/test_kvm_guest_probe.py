"""The second stage of the KVM probe (a real boot of the default guest),
against stand-in QEMU binaries: the marker on the serial port means usable,
"KVM internal error" on stderr means not (at once), silence means not."""
from __future__ import annotations

import time

from stratus.virt.qemu import kvm_probe

SCRIPT = """#!/bin/sh
serial=""
for a in "$@"; do case "$a" in file:*) serial="${a#file:}";; esac; done
%s
sleep 30
"""


def fake_qemu(tmp_path, body: str) -> str:
    path = tmp_path / "qemu"
    path.write_text(SCRIPT % body)
    path.chmod(0o755)
    return str(path)


def test_marker_on_the_serial_port_means_usable(tmp_path):
    qemu = fake_qemu(tmp_path, 'printf "SeaBIOS\\nstratus-guest: [1.0] modules loaded\\n" > "$serial"')
    assert kvm_probe.guest_boots(qemu, "host", str(tmp_path / "img"), timeout=10)


def test_kvm_internal_error_fails_at_once(tmp_path):
    qemu = fake_qemu(tmp_path, 'printf "SYSLINUX\\n" > "$serial"; '
                               'echo "KVM internal error. Suberror: 1" >&2')
    t0 = time.monotonic()
    assert not kvm_probe.guest_boots(qemu, "host", str(tmp_path / "img"), timeout=20)
    assert time.monotonic() - t0 < 10         # did not wait for the timeout


def test_no_output_in_time_is_not_usable(tmp_path):
    qemu = fake_qemu(tmp_path, 'printf "SYSLINUX\\n" > "$serial"')
    assert not kvm_probe.guest_boots(qemu, "host", str(tmp_path / "img"), timeout=1)


def test_the_guest_stage_runs_only_after_the_boot_sector_passes(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(kvm_probe, "boots", lambda *a, **k: calls.append("sector") or False)
    monkeypatch.setattr(kvm_probe, "guest_boots",
                        lambda *a, **k: calls.append("guest") or True)
    monkeypatch.setattr(kvm_probe.os, "access", lambda *a: True)
    image = tmp_path / "img"
    image.write_bytes(b"x")
    assert not kvm_probe.kvm_usable("qemu-a", "host", guest_image=str(image))
    assert calls == ["sector"]
    monkeypatch.setattr(kvm_probe, "boots", lambda *a, **k: calls.append("sector") or True)
    assert kvm_probe.kvm_usable("qemu-b", "host", guest_image=str(image))
    assert calls == ["sector", "sector", "guest"]
