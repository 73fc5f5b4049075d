"""``stratus agent --teardown`` with one real QEMU VM: the cloud boots a server
through the API, the cloud is stopped (no API, no agent), and the teardown
removes the host's whole local footprint: QEMU, dnsmasq, the host and DHCP
namespaces, the instance directories and the agent's state; a second run
finds nothing to do.

Needs root (namespaces, taps) and the guest image build; skips otherwise."""
from __future__ import annotations

import contextlib
import os
import subprocess
import uuid as uuidlib
from pathlib import Path

import pytest

from conftest import qemu_conf_or_skip, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real VMs need root (netns, taps)")

HOST = "td" + uuidlib.uuid4().hex[:7]          # shost-tdXXXXXXX: 15 characters


def procs(*markers: str) -> list[int]:
    """Pids whose command line holds every marker."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(m in cmd for m in markers):
            pids.append(int(d.name))
    return pids


def our_namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n == f"shost-{HOST}"
            or (n.startswith("qdhcp-") and n.endswith(f"-{HOST}"))]


def force_cleanup(state_dir: Path) -> None:
    """Remains of a failed run: the test's own processes and namespaces."""
    for pid in procs("qemu-system", str(state_dir)) + procs("dnsmasq", str(state_dir)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    for ns in our_namespaces():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)




@pytest.fixture
def qemu_cloud(stratus_servers):
    cloud = stratus_servers.start(extra_conf=qemu_conf_or_skip(HOST))
    try:
        yield cloud
    finally:
        cloud.server.stop()
        force_cleanup(cloud.state_dir)


def test_teardown_removes_the_hosts_footprint(qemu_cloud):
    c = qemu_cloud
    s = c.openstack("server", "create", "--image", "stratus-guest", "--flavor", "m1.tiny",
                    "--network", "private", "--wait", "td1", cloud="stratus-demo",
                    timeout=300)
    assert s["status"] == "ACTIVE", s
    uuid = s["id"]
    net = c.openstack("network", "show", "private", cloud="stratus-demo")
    dhcp_ns = f"qdhcp-{net['id'][:8]}-{HOST}"
    instances = c.state_dir / "hosts" / HOST / "instances"
    agent_dir = c.state_dir / "hosts" / HOST / "agent"
    # What there is to remove (the DHCP side may lag the VM by a pass).
    assert procs("qemu-system", uuid), "no QEMU runs the server"
    wait_for(lambda: set(our_namespaces()) >= {f"shost-{HOST}", dhcp_ns}, 30,
             "the host and DHCP namespaces")
    wait_for(lambda: procs("dnsmasq", str(c.state_dir)), 30, "dnsmasq")
    assert (instances / uuid).is_dir() and agent_dir.is_dir()

    c.server.stop()          # no API, no agent: the teardown needs neither
    cp = c.stratus("agent", "--teardown", "--host", HOST, timeout=120)
    assert uuid in cp.stdout, cp.stdout

    assert not procs("qemu-system", str(c.state_dir)), "a QEMU of this cloud survived"
    assert not procs("dnsmasq", str(c.state_dir)), "a dnsmasq of this cloud survived"
    assert our_namespaces() == []
    left = [p.name for p in instances.iterdir()] if instances.exists() else []
    assert not [n for n in left if n not in ("_base", "_kvm_probe.json")], left
    assert not agent_dir.exists()

    again = c.stratus("agent", "--teardown", "--host", HOST, timeout=60)
    assert "destroyed 0 instance(s)" in again.stdout, again.stdout
    assert "nothing to remove" in again.stdout, again.stdout
