"""A deleted port's address given to a new port (another MAC) gets a DHCP
lease at once: dnsmasq keeps leases in memory and refuses a configured
address still leased to another MAC, so the data plane releases the old
lease (DHCPRELEASE from the DHCP namespace) when the entry leaves the hosts
file — without restarting dnsmasq.  Found by bench/network (a third boot
waited 3 minutes for DHCP).  Root only; namespaces ``*<tag>`` of its own."""
from __future__ import annotations

import os
import signal
import subprocess
import uuid

import pytest

from stratus.dataplane import bridge, dnsmasq, netns
from stratus.dataplane.ip import ip
from stratus.dataplane.sync import sync_host

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns)")

TAG = uuid.uuid4().hex[:5]
HOST_NS = f"shost-dr{TAG}"
NET = str(uuid.uuid4())
SUBNET = {"id": "sub-" + TAG, "cidr": "10.78.0.0/24", "gateway_ip": "10.78.0.1",
          "enable_dhcp": True, "dns_nameservers": [], "host_routes": []}
NETWORK = {"id": NET, "name": "dr", "mtu": 1450, "subnets": [SUBNET]}


def port(n: int, mac_byte: int, owner: str = "compute:nova") -> dict:
    pid = f"{mac_byte:02x}{TAG}-" + uuid.uuid4().hex
    return {"id": pid, "network_id": NET, "mac_address": f"fa:16:3e:78:00:{mac_byte:02x}",
            "device_owner": owner, "device_id": f"vm{mac_byte}", "tap": "tap" + pid[:11],
            "fixed_ips": [{"subnet_id": SUBNET["id"], "ip_address": f"10.78.0.{n}"}]}


def state(*ports) -> dict:
    return {"networks": [NETWORK], "ports": list(ports)}


def fake_vm(p: dict, k: int) -> str:
    ns = f"drvm{k}{TAG}"
    netns.ensure(ns)
    outside = f"dr{TAG}v{k}"
    ip(HOST_NS, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip(ns, "link", "set", "eth0", "address", p["mac_address"])
    ip(ns, "link", "set", "eth0", "up")
    ip(HOST_NS, "link", "set", outside, "master", bridge.bridge_name(NET))
    ip(HOST_NS, "link", "set", outside, "up")
    return ns


def lease(ns: str) -> tuple[int, str]:
    cp = subprocess.run(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-n",
                         "-q", "-f", "-t", "4", "-T", "1", "-s", "/bin/true"],
                        capture_output=True, text=True, timeout=60)
    return cp.returncode, cp.stdout + cp.stderr


@pytest.fixture
def lab(tmp_path):
    state_dir = str(tmp_path / "agent")
    try:
        yield state_dir
    finally:
        pid = dnsmasq.running_pid(state_dir, NET)
        if pid:
            os.kill(pid, signal.SIGKILL)
        for ns in netns.list_all():
            if ns.endswith(TAG) or ns == dnsmasq.namespace(NET, HOST_NS):
                netns.delete(ns)


def test_reused_address_gets_a_lease_after_its_port_is_deleted(lab):
    dhcp, old = port(2, 2, "network:dhcp"), port(5, 5)
    sync_host(HOST_NS, state(dhcp, old), lab, lease_seconds=600)
    pid = dnsmasq.running_pid(lab, NET)
    rc, out = lease(fake_vm(old, 1))
    assert rc == 0 and "lease of 10.78.0.5" in out, out

    new = port(5, 6)             # same address, another MAC: the old port was deleted
    sync_host(HOST_NS, state(dhcp, new), lab, lease_seconds=600)
    assert dnsmasq.running_pid(lab, NET) == pid        # reloaded, not restarted
    rc, out = lease(fake_vm(new, 2))
    assert rc == 0 and "lease of 10.78.0.5" in out, out
    assert dnsmasq.hosts_entries(f"{old['mac_address']},x,10.78.0.5\n") == \
        {(old["mac_address"], "10.78.0.5")}
