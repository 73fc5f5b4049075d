"""VXLAN with l2population for real, as root, inside namespaces this test
creates: two host namespaces joined by an underlay "fabric" bridge (in a
namespace of its own), two tenant networks with the SAME subnet on both
hosts, and fake VMs (namespaces on veths to the bridges).

It shows: VMs of one network on different hosts reach each other over
VXLAN; the other network's VM with the same address is not reachable from
the first network (isolation by VNI); ARP for a remote VM is answered by the
local VXLAN device even when the remote VM is down (no flood-and-learn); a
re-sync changes nothing and a ping stream through it loses no packet;
removing a remote port removes exactly its entries; an empty state removes
the VXLAN devices.  Cleanup runs even when a test fails."""
from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from stratus.dataplane import bridge, netns, vxlan
from stratus.dataplane.ip import ip, links
from stratus.dataplane.sync import sync_host
from stratus.dataplane.vxlan_plan import device_name

TAG = uuid.uuid4().hex[:5]
FABRIC = f"tvfab{TAG}"
HOSTS = {"a": (f"shost-va{TAG}", "10.251.0.11"), "b": (f"shost-vb{TAG}", "10.251.0.12")}
SUB = "10.78.0.0/24"
NET_X, NET_Y = str(uuid.uuid4()), str(uuid.uuid4())
VNI = {NET_X: 4242, NET_Y: 4243}


def net(nid: str) -> dict:
    return {"id": nid, "name": nid[:4], "mtu": 1450, "network_type": "vxlan",
            "segmentation_id": VNI[nid],
            "subnets": [{"id": "s" + nid[:8], "cidr": SUB, "gateway_ip": "10.78.0.1",
                         "enable_dhcp": False, "dns_nameservers": [], "host_routes": []}]}


def vm(n: int, nid: str, host: str, address: str) -> dict:
    pid = f"{n:02d}{TAG}-" + uuid.uuid4().hex
    return {"id": pid, "network_id": nid, "mac_address": f"fa:16:3e:78:{n:02x}:01",
            "device_owner": "compute:nova", "device_id": f"vm{n}", "host": host,
            "tap": "tap" + pid[:11], "ip": address,
            "fixed_ips": [{"subnet_id": "s" + nid[:8], "ip_address": address}]}


A1 = vm(1, NET_X, "a", "10.78.0.5")
B1 = vm(2, NET_X, "b", "10.78.0.6")
A2 = vm(3, NET_Y, "a", "10.78.0.7")
B2 = vm(4, NET_Y, "b", "10.78.0.6")      # same address as B1, other network


def host_state(host: str, vms: list[dict]) -> dict:
    """What host_network_state + l2pop give ``host`` for ``vms`` (all hosts')."""
    local = [p for p in vms if p["host"] == host]
    nets = sorted({p["network_id"] for p in local})
    tunnels = {"local_ip": HOSTS[host][1], "networks": {}}
    for nid in nets:
        remote = [{"mac": p["mac_address"], "ips": [p["ip"]], "fixed_ips": p["fixed_ips"],
                   "vtep": HOSTS[p["host"]][1]}
                  for p in vms if p["network_id"] == nid and p["host"] != host]
        tunnels["networks"][nid] = {"vni": VNI[nid],
                                    "peers": sorted({r["vtep"] for r in remote}),
                                    "remote_ports": sorted(remote, key=lambda r: r["mac"])}
    return {"networks": [net(n) for n in nets], "ports": local, "tunnels": tunnels}


def fake_vm(p: dict) -> str:
    host_ns = HOSTS[p["host"]][0]
    ns = f"tvx{p['device_id']}{TAG}"
    netns.ensure(ns)
    outside = f"tx{TAG}{p['device_id']}"
    ip(host_ns, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip(ns, "link", "set", "eth0", "address", p["mac_address"])
    ip(ns, "link", "set", "eth0", "mtu", "1450")
    ip(ns, "addr", "add", p["ip"] + "/24", "dev", "eth0")
    ip(ns, "link", "set", "eth0", "up")
    ip(host_ns, "link", "set", outside, "master", bridge.bridge_name(p["network_id"]))
    ip(host_ns, "link", "set", outside, "up")
    return ns


def ping(ns: str, address: str, count: int = 1, interval: float = 0.2) -> tuple[int, int]:
    """(sent, received)."""
    cp = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count),
                         "-i", str(interval), "-W", "2", address],
                        capture_output=True, text=True, timeout=60 + count * interval)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", cp.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (count, 0)


def neigh_mac(ns: str, address: str) -> str | None:
    out = ip(ns, "neigh", "show", address, "dev", "eth0")
    m = re.search(r"lladdr ([0-9a-f:]{17})", out)
    return m.group(1) if m else None


@pytest.fixture
def fabric():
    try:
        netns.ensure(FABRIC)
        ip(FABRIC, "link", "add", "fab0", "type", "bridge")
        ip(FABRIC, "link", "set", "fab0", "up")
        for key, (host_ns, underlay) in HOSTS.items():
            netns.ensure(host_ns)
            ip(FABRIC, "link", "add", f"ul-{key}", "type", "veth", "peer", "name", "ul0",
               "netns", host_ns)
            ip(FABRIC, "link", "set", f"ul-{key}", "master", "fab0")
            ip(FABRIC, "link", "set", f"ul-{key}", "up")
            ip(host_ns, "addr", "add", underlay + "/24", "dev", "ul0")
            ip(host_ns, "link", "set", "ul0", "up")
            ip(host_ns, "link", "set", "lo", "up")
        yield
    finally:
        for ns in netns.list_all():
            if ns.endswith(TAG):
                netns.delete(ns)


def sync_all(vms: list[dict], tmp_path) -> dict:
    return {h: sync_host(HOSTS[h][0], host_state(h, vms), str(tmp_path / h))
            for h in HOSTS}


def test_vxlan_l2pop_reach_isolation_arp_and_restart(fabric, tmp_path):
    everyone = [A1, B1, A2, B2]
    sync_all(everyone, tmp_path)
    for h, (host_ns, _) in HOSTS.items():
        found = vxlan.observe(host_ns)
        assert set(found) == {device_name(VNI[NET_X]), device_name(VNI[NET_Y])}
        dev = found[device_name(VNI[NET_X])]
        assert dev.vni == VNI[NET_X] and not dev.learning and dev.proxy
        assert dev.master == bridge.bridge_name(NET_X)
        assert ("00:00:00:00:00:00", HOSTS["b" if h == "a" else "a"][1]) in dev.fdb
    ns = {p["device_id"]: fake_vm(p) for p in everyone}

    # Same network, different hosts: reachable over VXLAN, and the answer is B1's.
    assert ping(ns["vm1"], "10.78.0.6", count=3, interval=0.2)[1] == 3
    assert neigh_mac(ns["vm1"], "10.78.0.6") == B1["mac_address"]
    # The other network's VM with the same address answers its own network only.
    assert ping(ns["vm3"], "10.78.0.6", count=2)[1] == 2
    assert neigh_mac(ns["vm3"], "10.78.0.6") == B2["mac_address"]
    assert ping(ns["vm1"], "10.78.0.7")[1] == 0         # A2 is on another network

    # ARP is answered on host a by its VXLAN device, even with B1 down.
    ip(ns["vm2"], "link", "set", "eth0", "down")
    ip(ns["vm1"], "neigh", "flush", "dev", "eth0")
    assert ping(ns["vm1"], "10.78.0.6")[1] == 0
    assert neigh_mac(ns["vm1"], "10.78.0.6") == B1["mac_address"]
    ip(ns["vm2"], "link", "set", "eth0", "up")

    # Restart safety: re-syncing changes nothing, and a stream survives it.
    before = {h: links(HOSTS[h][0]) for h in HOSTS}
    stream = subprocess.Popen(["ip", "netns", "exec", ns["vm1"], "ping", "-n", "-q", "-c",
                               "150", "-i", "0.02", "-W", "1", "10.78.0.6"],
                              stdout=subprocess.PIPE, text=True)
    for _ in range(3):
        for h in HOSTS:
            assert vxlan.sync(HOSTS[h][0], host_state(h, everyone)) == []
            sync_host(HOSTS[h][0], host_state(h, everyone), str(tmp_path / h))
    out = stream.communicate(timeout=60)[0]
    sent, got = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    assert sent == 150 and got == 150, out
    for h in HOSTS:
        after = links(HOSTS[h][0])
        for name in (device_name(VNI[NET_X]), device_name(VNI[NET_Y])):
            assert after[name]["index"] == before[h][name]["index"]   # never recreated

    # B2 goes away: host a drops exactly its entries, keeps the rest.
    remaining = [A1, B1, A2]
    sync_all(remaining, tmp_path)
    ya = vxlan.observe(HOSTS["a"][0])[device_name(VNI[NET_Y])]
    assert ya.fdb == frozenset() and ya.neigh == frozenset()
    xa = vxlan.observe(HOSTS["a"][0])[device_name(VNI[NET_X])]
    assert xa.neigh == {("10.78.0.6", B1["mac_address"])}
    assert ("00:00:00:00:00:00", HOSTS["b"][1]) in xa.fdb
    assert ping(ns["vm1"], "10.78.0.6")[1] == 1

    # Nothing wanted: the VXLAN devices go too.
    for h in HOSTS:
        sync_host(HOSTS[h][0], {"networks": [], "ports": [], "tunnels": {}},
                  str(tmp_path / h))
        assert vxlan.observe(HOSTS[h][0]) == {}
