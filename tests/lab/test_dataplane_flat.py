"""The flat data plane for real, as root, inside namespaces this test creates:
a host namespace with a network's bridge, two VM ports and DHCP; fake VMs are
namespaces on veth pairs to the bridge carrying the ports' MACs.  They get
their leases from dnsmasq with busybox udhcpc and ping each other; a new port
reaches dnsmasq by SIGHUP (same pid); a re-sync changes nothing; an empty
state removes everything.  Cleanup runs even when the test fails."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from stratus.dataplane import bridge, dnsmasq, netns
from stratus.dataplane.ip import ip, links
from stratus.dataplane.sync import sync_host

TAG = uuid.uuid4().hex[:5]
HOST_NS = f"shost-tl{TAG}"
NET = str(uuid.uuid4())
SUBNET = {"id": "sub-" + TAG, "cidr": "10.77.0.0/24", "gateway_ip": "10.77.0.1",
          "enable_dhcp": True, "dns_nameservers": ["192.0.2.53"], "host_routes": []}
NETWORK = {"id": NET, "name": "lab", "mtu": 1450, "subnets": [SUBNET]}


def port(n: int, owner: str = "compute:nova") -> dict:
    pid = f"{n:02d}{TAG}-" + uuid.uuid4().hex
    return {"id": pid, "network_id": NET, "mac_address": f"fa:16:3e:77:00:{n:02x}",
            "device_owner": owner, "device_id": f"vm{n}", "tap": "tap" + pid[:11],
            "fixed_ips": [{"subnet_id": SUBNET["id"], "ip_address": f"10.77.0.{n}"}]}


DHCP, VM5, VM6, VM7 = port(2, "network:dhcp"), port(5), port(6), port(7)
SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
echo "$ip" > "$LEASE_OUT"
"""


def vm_ns(p) -> str:
    return f"tvm{p['fixed_ips'][0]['ip_address'].split('.')[-1]}{TAG}"


def fake_vm(p) -> str:
    """A namespace standing in for a guest: its eth0 is a veth to the bridge
    with the port's MAC (the port's real tap has no QEMU behind it here)."""
    ns = vm_ns(p)
    netns.ensure(ns)
    outside = f"tv{TAG}{p['fixed_ips'][0]['ip_address'].split('.')[-1]}"
    ip(HOST_NS, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip(ns, "link", "set", "eth0", "address", p["mac_address"])
    ip(ns, "link", "set", "eth0", "up")
    ip(HOST_NS, "link", "set", outside, "master", bridge.bridge_name(NET))
    ip(HOST_NS, "link", "set", outside, "up")
    return ns


def lease(ns: str, tmp_path) -> str:
    script, out = tmp_path / "udhcpc.sh", tmp_path / f"lease-{ns}"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    cp = subprocess.run(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-n",
                         "-q", "-f", "-t", "5", "-T", "2", "-s", str(script)],
                        capture_output=True, text=True, timeout=60,
                        env={**os.environ, "LEASE_OUT": str(out)})
    assert cp.returncode == 0, f"udhcpc in {ns}: {cp.stdout}{cp.stderr}"
    return out.read_text().strip()


def ping(ns: str, address: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", "2",
                           address],
                          capture_output=True).returncode == 0


def state(*ports) -> dict:
    return {"networks": [NETWORK] if ports else [], "ports": list(ports)}


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


def test_flat_network_dhcp_ping_reload_and_cleanup(lab, tmp_path):
    plan = sync_host(HOST_NS, state(DHCP, VM5, VM6), lab, lease_seconds=600)
    assert [a.op for a in plan] == ["ensure_network", "ensure_dhcp", "plug_tap", "plug_tap"]
    host_links = links(HOST_NS)
    br = bridge.bridge_name(NET)
    assert host_links[br]["kind"] == "bridge" and host_links[br]["up"]
    for p in (VM5, VM6):
        tap = host_links[p["tap"]]
        assert tap["kind"] == "tun" and tap["master"] == br and tap["mtu"] == 1450
        assert tap["address"] == "fe" + p["mac_address"][2:]
    assert host_links[DHCP["tap"]]["master"] == br
    pid = dnsmasq.running_pid(lab, NET)
    assert pid is not None

    vm5, vm6 = fake_vm(VM5), fake_vm(VM6)
    assert lease(vm5, tmp_path) == "10.77.0.5"
    assert lease(vm6, tmp_path) == "10.77.0.6"
    assert ping(vm5, "10.77.0.6") and ping(vm6, "10.77.0.5")
    assert ping(dnsmasq.namespace(NET, HOST_NS), "10.77.0.5")   # as one does on neutron

    # A new port: the hosts file changes, dnsmasq is SIGHUPed, not restarted.
    sync_host(HOST_NS, state(DHCP, VM5, VM6, VM7), lab, lease_seconds=600)
    assert dnsmasq.running_pid(lab, NET) == pid
    assert lease(fake_vm(VM7), tmp_path) == "10.77.0.7"

    # Level-triggered: a second sync (an agent restart) touches nothing.
    before = links(HOST_NS)
    sync_host(HOST_NS, state(DHCP, VM5, VM6, VM7), lab, lease_seconds=600)
    assert links(HOST_NS) == before and dnsmasq.running_pid(lab, NET) == pid

    # A port goes away: its tap goes, the rest stays.
    sync_host(HOST_NS, state(DHCP, VM5, VM6), lab, lease_seconds=600)
    assert VM7["tap"] not in links(HOST_NS) and VM5["tap"] in links(HOST_NS)
    assert dnsmasq.running_pid(lab, NET) == pid

    # Nothing wanted: bridge, taps, DHCP namespace and dnsmasq all go.
    plan = sync_host(HOST_NS, state(), lab)
    assert {a.op for a in plan} == {"remove_tap", "remove_dhcp", "remove_bridge"}
    left = [n for n in links(HOST_NS) if n.startswith(("brq", "tap"))]
    assert left == []
    assert not netns.exists(dnsmasq.namespace(NET, HOST_NS))
    assert not os.path.exists(f"/proc/{pid}")


def test_resync_repairs_only_what_is_broken(lab, tmp_path):
    sync_host(HOST_NS, state(DHCP, VM5), lab, lease_seconds=600)
    before = links(HOST_NS)
    pid = dnsmasq.running_pid(lab, NET)
    os.kill(pid, signal.SIGKILL)                      # dnsmasq dies
    ip(HOST_NS, "link", "set", VM5["tap"], "nomaster")  # someone unplugs a tap
    stray = "tap" + TAG + "stray"
    ip(HOST_NS, "tuntap", "add", "dev", stray, "mode", "tap")   # a Stratus-named leftover
    ip(HOST_NS, "link", "add", f"keep{TAG}", "type", "bridge")  # not ours: untouched
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.05)
    sync_host(HOST_NS, state(DHCP, VM5), lab, lease_seconds=600)
    after = links(HOST_NS)
    new_pid = dnsmasq.running_pid(lab, NET)
    assert new_pid is not None and new_pid != pid
    assert after[VM5["tap"]]["master"] == bridge.bridge_name(NET)
    for name in (bridge.bridge_name(NET), VM5["tap"], DHCP["tap"]):   # never recreated
        assert after[name]["index"] == before[name]["index"]
    assert stray not in after and f"keep{TAG}" in after
    assert lease(fake_vm(VM5), tmp_path) == "10.77.0.5"
    sync_host(HOST_NS, state(), lab)
