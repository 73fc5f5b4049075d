"""One real boot of the default guest image under QEMU TCG.

The image (``stratus image build``, cached) boots with a config drive carrying
a hostname, a public key and a user-data script, and one virtio NIC on a tap
in a namespace of our own where dnsmasq serves a static lease.  The console
must show the key, the user-data marker and the ready line with the leased
address; from the namespace the guest answers ping, HTTP and UDP echo.
Also: a forced rebuild gives the same bytes; and (STRATUS_GUEST_TESTS=all, a
second boot) without a config drive the guest reads the metadata service.
"""
from __future__ import annotations

import os
import shutil
import sys

import pytest

from stratus.virt.configdrive import key_fingerprint, make_config_drive

sys.path.insert(0, os.path.dirname(__file__))
from guest_harness import GUEST_IP, GuestLab  # noqa: E402

KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7okWi0dh2l9GKJl "
       "alice@stratus-test")
MARKER = "user-data-marker-7f3a"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, taps)"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq is not installed"),
    pytest.mark.skipif(shutil.which("genisoimage") is None, reason="genisoimage is not installed"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed"),
]

UDP_PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(5):
    s.sendto(b"stratus-echo", (sys.argv[1], 7))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass
"""


@pytest.fixture(scope="module")
def image() -> str:
    from stratus.guestimage.build import build
    return build()


def test_guest_boots_with_config_drive(image):
    with GuestLab() as lab:
        drive = make_config_drive(
            os.path.join(lab.dir, "disk.config"), uuid="6d1c3f7e-5a4b-4c2d-9e8f-0a1b2c3d4e5f",
            name="Guest Boot Test", hostname="sgi-vm1.example",
            public_keys={"alice": KEY},
            user_data=f"#!/bin/sh\necho {MARKER} from $(hostname)\n".encode())
        lab.boot(image, config_drive=drive)
        fields, seconds = lab.wait_ready(timeout=120)
        console = lab.console_text()
        print(f"ready after {seconds:.1f}s: {fields}")

        assert f"addrs=[eth0={GUEST_IP}/24]" in fields
        assert "hostname=sgi-vm1 " in fields
        assert "uuid=6d1c3f7e-5a4b-4c2d-9e8f-0a1b2c3d4e5f" in fields
        assert "metadata from config-drive:" in console
        assert (f"STRATUS: authorized key ssh-ed25519 MD5:{key_fingerprint(KEY)} "
                "alice@stratus-test") in console
        assert f"{MARKER} from sgi-vm1" in console
        assert console.index(MARKER) < console.index("=== STRATUS GUEST READY")

        ping = lab.ns_exec("busybox", "ping", "-c", "3", "-W", "3", GUEST_IP, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        page = lab.ns_exec("timeout", "10", "busybox", "wget", "-q", "-O", "-",
                           f"http://{GUEST_IP}/", check=False)
        assert page.stdout.strip() == "sgi-vm1", page
        echo = lab.ns_exec(sys.executable, "-c", UDP_PROBE, GUEST_IP, check=False)
        assert echo.stdout.strip() == "stratus-echo", echo


def test_build_is_reproducible_and_cached(tmp_path, image):
    """Two forced builds of the same inputs give the same bytes; a third,
    unforced build is a cache hit.  The .debs come from the default cache."""
    import hashlib
    import time

    from stratus.guestimage import build as gb
    os.symlink(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(image))), "debs"),
               tmp_path / "debs")

    def digest(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    first = digest(gb.build(str(tmp_path), force=True))
    started = time.monotonic()
    path = gb.build(str(tmp_path), force=True)
    assert time.monotonic() - started < 60
    assert digest(path) == first
    started = time.monotonic()
    assert gb.build(str(tmp_path)) == path
    assert time.monotonic() - started < 5
    manifest = gb.current(str(tmp_path))
    assert manifest["sha256"] == first and manifest["kernel_release"].endswith("-cloud-amd64")


@pytest.mark.skipif(os.environ.get("STRATUS_GUEST_TESTS") != "all",
                    reason="a second VM boot; set STRATUS_GUEST_TESTS=all")
def test_guest_reads_the_metadata_service_without_config_drive(image):
    from stratus.virt.configdrive import config_drive_tree
    tree = config_drive_tree(uuid="11111111-2222-4333-8444-555555555555", name="md",
                             hostname="sgi-md", public_keys={"alice": KEY},
                             user_data=f"#!/bin/sh\necho {MARKER} via metadata\n")
    with GuestLab() as lab:
        lab.serve_metadata({p: d for p, d in tree.items() if "/latest/" in p})
        lab.boot(image)
        fields, seconds = lab.wait_ready(timeout=120)
        console = lab.console_text()
        print(f"ready after {seconds:.1f}s: {fields}")
        assert "hostname=sgi-md " in fields and f"addrs=[eth0={GUEST_IP}/24]" in fields
        assert "metadata from metadata-service" in console
        assert f"{MARKER} via metadata" in console
        assert "STRATUS: authorized key ssh-ed25519" in console
