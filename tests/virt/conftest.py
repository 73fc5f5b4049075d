"""Fixtures for real-QEMU driver tests: a private network namespace with a tap
and dnsmasq (prefix ``svt-``), the guest image, and cleanup of every QEMU the
test started, even when the test fails."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid as uuidlib
from dataclasses import dataclass

import pytest

from stratus.virt.qemu import process

NEEDS = ("qemu-system-x86_64", "qemu-img", "ip", "dnsmasq", "genisoimage")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "real QEMU driver tests need root (network namespaces, taps)"
    missing = [b for b in NEEDS if shutil.which(b) is None]
    if missing:
        return f"missing host tools: {', '.join(missing)}"
    return None


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


@dataclass
class Lab:
    netns: str
    tap: str
    mac: str
    guest_ip: str
    host_ip: str

    def http_get(self, timeout: float = 10.0) -> str | None:
        """GET / from the guest's httpd, from inside the namespace (no ping here)."""
        code = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
                f"'http://{self.guest_ip}/', timeout={timeout}).read().decode())")
        res = sh("ip", "netns", "exec", self.netns, "python3", "-c", code, check=False)
        return res.stdout if res.returncode == 0 else None


@pytest.fixture(scope="session")
def guest_image():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        from stratus.guestimage.build import build
    except ImportError:
        pytest.skip("stratus.guestimage.build is not available")
    return build()


def _kill_qemus(uuids: list[str]) -> None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            argv = process.proc_cmdline(int(entry))
            if any(process.is_qemu_of(argv, u) for u in uuids):
                os.kill(int(entry), signal.SIGKILL)


@pytest.fixture
def lab(tmp_path):
    """Namespace ``svt-<rand>`` with tap ``svt-tap0`` (10.251.7.1/24) and dnsmasq
    giving the guest MAC 10.251.7.10; removed afterwards whatever happens."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    ns = f"svt-{uuidlib.uuid4().hex[:8]}"
    lab = Lab(netns=ns, tap="svt-tap0", mac="fa:16:3e:5a:7e:01",
              guest_ip="10.251.7.10", host_ip="10.251.7.1")
    started: list[str] = []
    dnsmasq = None
    sh("ip", "netns", "add", ns)
    try:
        nsx = ("ip", "netns", "exec", ns)
        sh(*nsx, "ip", "link", "set", "lo", "up")
        sh(*nsx, "ip", "tuntap", "add", "dev", lab.tap, "mode", "tap")
        sh(*nsx, "ip", "addr", "add", f"{lab.host_ip}/24", "dev", lab.tap)
        sh(*nsx, "ip", "link", "set", lab.tap, "up")
        dnsmasq = subprocess.Popen(
            [*nsx, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
             "--port=0", f"--interface={lab.tap}", "--bind-interfaces", "--leasefile-ro",
             f"--pid-file={tmp_path / 'dnsmasq.pid'}",
             "--dhcp-range=10.251.7.10,10.251.7.20,255.255.255.0,1h",
             f"--dhcp-host={lab.mac},{lab.guest_ip}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield lab, started
    finally:
        _kill_qemus(started)
        if dnsmasq is not None:
            dnsmasq.kill()
            dnsmasq.wait()
        sh("ip", "netns", "delete", ns, check=False)

