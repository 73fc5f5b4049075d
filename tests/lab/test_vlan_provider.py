"""VLAN provider networks for real, as root, inside namespaces this test
creates: a two-host lab built by stratus/lab/fabric.py (host namespaces with
the provider interface ``ph0`` on the fabric's provider bridge ``phys0``),
two VLAN networks of physnet1 with the SAME subnet on both hosts, and fake
VMs (namespaces on veths to the networks' bridges), wired by ``sync_host``
with the lab agents' ``physical_interface_mappings``.

It shows: VMs of one VLAN network on different hosts reach each other across
the provider fabric; the other VLAN's VM with the same address answers only
its own network (isolation by VLAN id); the frames on the fabric carry the
802.1Q tag (a probe on ``phys0.101`` in the fabric namespace answers the
VLAN 101 VM and never the VLAN 102 one); a re-sync changes nothing and a
ping stream through it loses no packet; a network leaving a host removes its
subinterface there only; an empty state removes every subinterface and
leaves the provider interface.  Cleanup runs even when a test fails."""
from __future__ import annotations

import json
import re
import subprocess
import uuid

import pytest

from stratus.dataplane import bridge, netns, vlan
from stratus.dataplane.ip import CommandError, ip, links
from stratus.dataplane.sync import sync_host
from stratus.lab import fabric
from stratus.lab.plan import physical_interface_mappings
from stratus.lab.plan import plan as lab_plan

TAG = uuid.uuid4().hex[:4]
LAB = lab_plan(2, f"tv{TAG}", "10.253.0.0/24")
HOSTS = {"a": LAB.hosts[0].namespace, "b": LAB.hosts[1].namespace}
MAPPINGS = physical_interface_mappings()          # physnet1:ph0, as lab agents get it
SUB = "10.79.0.0/24"
NET_X, NET_Y = str(uuid.uuid4()), str(uuid.uuid4())
VID = {NET_X: 101, NET_Y: 102}


def kernel_has_8021q() -> bool:
    probe = f"tvlq{TAG}"
    try:
        netns.ensure(probe)
        ip(probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
        ip(probe, "link", "add", "link", "p0", "name", "p0.5", "type", "vlan", "id", "5")
        return True
    except CommandError:
        return False
    finally:
        netns.delete(probe)


def net(nid: str) -> dict:
    return {"id": nid, "name": nid[:4], "mtu": 1500, "network_type": "vlan",
            "physical_network": "physnet1", "segmentation_id": VID[nid],
            "subnets": [{"id": "s" + nid[:8], "cidr": SUB, "gateway_ip": "10.79.0.1",
                         "enable_dhcp": False, "dns_nameservers": [], "host_routes": []}]}


def vm(n: int, nid: str, host: str, address: str) -> dict:
    pid = f"{n:02d}{TAG}-" + uuid.uuid4().hex
    return {"id": pid, "network_id": nid, "mac_address": f"fa:16:3e:79:{n:02x}:01",
            "device_owner": "compute:nova", "device_id": f"vm{n}", "host": host,
            "ip": address, "fixed_ips": [{"subnet_id": "s" + nid[:8], "ip_address": address}]}


A1 = vm(1, NET_X, "a", "10.79.0.5")
B1 = vm(2, NET_X, "b", "10.79.0.6")
A2 = vm(3, NET_Y, "a", "10.79.0.7")
B2 = vm(4, NET_Y, "b", "10.79.0.6")      # same address as B1, other VLAN


def host_state(host: str, vms: list[dict]) -> dict:
    """What host_network_state gives ``host`` for ``vms`` (no VXLAN tunnels)."""
    local = [p for p in vms if p["host"] == host]
    return {"networks": [net(n) for n in sorted({p["network_id"] for p in local})],
            "ports": local, "tunnels": {}}


def sync(host: str, vms: list[dict], tmp_path) -> list:
    return sync_host(HOSTS[host], host_state(host, vms), str(tmp_path / host),
                     physical_interface_mappings=MAPPINGS)


def fake_vm(p: dict) -> str:
    host_ns = HOSTS[p["host"]]
    ns = f"tvl{p['device_id']}{TAG}"
    netns.ensure(ns)
    outside = f"tl{TAG}{p['device_id']}"
    ip(host_ns, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip(ns, "link", "set", "eth0", "address", p["mac_address"])
    ip(ns, "addr", "add", p["ip"] + "/24", "dev", "eth0")
    ip(ns, "link", "set", "eth0", "up")
    ip(host_ns, "link", "set", outside, "master", bridge.bridge_name(p["network_id"]))
    ip(host_ns, "link", "set", outside, "up")
    return ns


def ping(ns: str, address: str, count: int = 1, interval: float = 0.2) -> tuple[int, int]:
    cp = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count),
                         "-i", str(interval), "-W", "1", address],
                        capture_output=True, text=True, timeout=30 + count * interval)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", cp.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (count, 0)


def neigh_mac(ns: str, address: str) -> str | None:
    m = re.search(r"lladdr ([0-9a-f:]{17})", ip(ns, "neigh", "show", address, "dev", "eth0"))
    return m.group(1) if m else None


def rx_packets(ns: str, dev: str) -> int:
    return json.loads(ip(ns, "-s", "-j", "link", "show", dev))[0]["stats64"]["rx"]["packets"]


@pytest.fixture
def lab():
    if not kernel_has_8021q():
        pytest.skip("this kernel has no 802.1Q VLAN devices (CONFIG_VLAN_8021Q)")
    try:
        fabric.ensure(LAB)
        yield LAB
    finally:
        for ns in netns.list_all():
            if ns.endswith(TAG):
                netns.delete(ns)
        for h in LAB.hosts:
            netns.delete(h.namespace)
        fabric.remove(LAB)


def test_vlan_networks_span_hosts_isolated_tagged_and_restart_safe(lab, tmp_path):
    everyone = [A1, B1, A2, B2]
    for h in HOSTS:
        sync(h, everyone, tmp_path)
    for h, ns in HOSTS.items():
        found = vlan.observe(ns)
        for nid, vid in VID.items():
            sub = found[f"ph0.{vid}"]
            assert (sub.kind, sub.lower, sub.vid) == ("vlan", "ph0", vid)
            assert sub.master == bridge.bridge_name(nid) and sub.up
    ns = {p["device_id"]: fake_vm(p) for p in everyone}

    # One VLAN network, two hosts: reachable over the provider fabric, B1 answers.
    assert ping(ns["vm1"], "10.79.0.6", count=3)[1] == 3
    assert neigh_mac(ns["vm1"], "10.79.0.6") == B1["mac_address"]
    # The other VLAN's VM with the same address answers its own network only.
    assert ping(ns["vm3"], "10.79.0.6", count=2)[1] == 2
    assert neigh_mac(ns["vm3"], "10.79.0.6") == B2["mac_address"]
    assert ping(ns["vm1"], "10.79.0.7")[1] == 0         # A2: same host, other VLAN

    # On the wire: a probe listening on VLAN 101 of the provider bridge answers
    # the VLAN 101 VM only, so those frames carry tag 101 and VLAN 102's do not.
    fab = LAB.fabric_namespace
    ip(fab, "link", "add", "link", LAB.provider_bridge, "name", "probe101", "type", "vlan",
       "id", "101")
    ip(fab, "addr", "add", "10.79.0.99/24", "dev", "probe101")
    ip(fab, "link", "set", "probe101", "up")
    before = rx_packets(fab, "probe101")
    assert ping(ns["vm1"], "10.79.0.99", count=2)[1] == 2
    assert rx_packets(fab, "probe101") > before
    assert ping(ns["vm3"], "10.79.0.99")[1] == 0
    assert ping(ns["vm2"], "10.79.0.99")[1] == 1        # host b's VLAN 101 as well

    # Restart safety: re-syncing changes nothing, and a stream survives it.
    before_links = {h: links(HOSTS[h]) for h in HOSTS}
    stream = subprocess.Popen(["ip", "netns", "exec", ns["vm1"], "ping", "-n", "-q", "-c",
                               "60", "-i", "0.02", "-W", "1", "10.79.0.6"],
                              stdout=subprocess.PIPE, text=True)
    for _ in range(2):
        for h in HOSTS:
            assert vlan.sync(HOSTS[h], host_state(h, everyone), MAPPINGS) == []
            sync(h, everyone, tmp_path)
    out = stream.communicate(timeout=30)[0]
    sent, got = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    assert sent == 60 and got == 60, out
    for h in HOSTS:
        after = links(HOSTS[h])
        for name in ("ph0.101", "ph0.102"):
            assert after[name]["index"] == before_links[h][name]["index"]   # never recreated

    # B2 goes: host b drops VLAN 102 (bridge and subinterface), host a keeps it.
    remaining = [A1, B1, A2]
    for h in HOSTS:
        sync(h, remaining, tmp_path)
    assert "ph0.102" not in vlan.observe(HOSTS["b"])
    assert {"ph0.101", "ph0.102"} <= set(vlan.observe(HOSTS["a"]))
    assert ping(ns["vm1"], "10.79.0.6")[1] == 1

    # Nothing wanted: every subinterface goes, the provider interface stays.
    for h in HOSTS:
        sync(h, [], tmp_path)
        left = vlan.observe(HOSTS[h])
        assert not [n for n, link in left.items() if link.kind == "vlan"]
        assert "ph0" in left
