"""The KVM probe's boot sector really boots (under TCG, which always works)."""
from __future__ import annotations

import shutil

import pytest

from stratus.virt.qemu import kvm_probe


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="no QEMU")
def test_probe_sector_boots_under_tcg_and_unknown_binary_fails():
    assert kvm_probe.boots("qemu-system-x86_64", "tcg", "max", timeout=20)
    assert not kvm_probe.boots("/nonexistent/qemu", "tcg", "max", timeout=2)
